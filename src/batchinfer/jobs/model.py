"""The job and its report as plain data.

A `JobSpec` holds everything a job needs, including container URLs with their SAS; it lives in
the job store only while the job runs and never crosses an orchestration boundary (durable
histories are stored in plain text). Orchestrations carry a `JobRef` (ids only) and counts.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

ItemStatus = Literal["succeeded", "failed", "skipped"]

DOCUMENT_ANALYSIS = "document-analysis"
ITEMS_OPTION = "items"
"""`JobSpec.options` key: an explicit list of blob names to process (see `JobSpec.items`)."""
ANALYZE_OPTIONS = "analyze"
"""`JobSpec.options` key: the model's analysis options (`AnalyzeOptions.to_json()`)."""


@dataclass(frozen=True)
class JobSpec:
    """A batch request, validated and normalised by its API dialect."""

    job_id: str
    kind: str
    model_id: str
    source_url: str
    source_prefix: str
    file_list: str | None
    result_url: str
    result_prefix: str
    overwrite: bool
    created: str
    options: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> JobSpec:
        return cls(**data)

    @property
    def items(self) -> list[str] | None:
        """The blob names (relative to the source container) set in `options["items"]`, which a
        job processes instead of listing `source_prefix` or reading `file_list`; None if unset.

        For callers that already know their inputs (the inbox trigger: the one uploaded blob);
        API requests never set it. Names are validated when the job is planned.
        """
        items = self.options.get(ITEMS_OPTION)
        return None if items is None else [str(name) for name in items]


@dataclass(frozen=True)
class JobRef:
    """What orchestrations and activities pass around: no secrets, just ids."""

    job_id: str
    kind: str
    model_id: str

    def to_json(self) -> dict[str, str]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> JobRef:
        return cls(job_id=str(data["job_id"]), kind=str(data["kind"]),
                   model_id=str(data["model_id"]))


@dataclass(frozen=True)
class ItemError:
    """A per-item error in the shape the APIs report: `{code, message, innererror}`."""

    code: str
    message: str
    inner_code: str | None = None
    inner_message: str | None = None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.inner_code:
            body["innererror"] = {"code": self.inner_code,
                                  "message": self.inner_message or self.message}
        return body


@dataclass(frozen=True)
class ItemOutcome:
    """What happened to one input: its blob name, status, result blob and error."""

    source: str
    status: ItemStatus
    result: str | None = None
    error: ItemError | None = None
    pages: int = 0

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"source": self.source, "status": self.status}
        if self.result is not None:
            body["result"] = self.result
        if self.error is not None:
            body["error"] = self.error.to_json()
        if self.pages:
            body["pages"] = self.pages
        return body

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ItemOutcome:
        error = data.get("error")
        inner = (error or {}).get("innererror") or {}
        return cls(
            source=str(data["source"]),
            status=data["status"],
            result=data.get("result"),
            error=ItemError(error["code"], error["message"], inner.get("code"),
                            inner.get("message")) if error else None,
            pages=int(data.get("pages", 0)),
        )


@dataclass
class Counts:
    """Running totals; shards and activities return these instead of item lists."""

    succeeded: int = 0
    failed: int = 0
    skipped: int = 0
    pages: int = 0

    @property
    def done(self) -> int:
        return self.succeeded + self.failed + self.skipped

    def add(self, other: Counts) -> Counts:
        return Counts(self.succeeded + other.succeeded, self.failed + other.failed,
                      self.skipped + other.skipped, self.pages + other.pages)

    def record(self, outcome: ItemOutcome) -> None:
        if outcome.status == "succeeded":
            self.succeeded += 1
        elif outcome.status == "failed":
            self.failed += 1
        else:
            self.skipped += 1
        self.pages += outcome.pages

    def to_json(self) -> dict[str, int]:
        return {"succeeded": self.succeeded, "failed": self.failed, "skipped": self.skipped,
                "pages": self.pages}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Counts:
        data = data or {}
        return cls(int(data.get("succeeded", 0)), int(data.get("failed", 0)),
                   int(data.get("skipped", 0)), int(data.get("pages", 0)))


@dataclass(frozen=True)
class Plan:
    """How a job's items were cut: shards of whole activities, each a stored item list."""

    total: int
    shard_size: int
    items_per_activity: int
    shards: int
    error: ItemError | None = None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"total": self.total, "shard_size": self.shard_size,
                                "items_per_activity": self.items_per_activity,
                                "shards": self.shards}
        if self.error:
            body["error"] = self.error.to_json()
        return body

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Plan:
        error = data.get("error")
        inner = (error or {}).get("innererror") or {}
        return cls(int(data["total"]), int(data["shard_size"]), int(data["items_per_activity"]),
                   int(data["shards"]),
                   ItemError(error["code"], error["message"], inner.get("code"),
                             inner.get("message")) if error else None)

    def chunks_in_shard(self, shard: int) -> int:
        first = shard * self.shard_size
        items = max(0, min(self.shard_size, self.total - first))
        return -(-items // self.items_per_activity)
