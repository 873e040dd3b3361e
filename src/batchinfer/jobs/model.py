"""The job and its report as plain data.

A `JobSpec` holds everything a job needs, including container URLs with their SAS; it lives in
the job store only while the job runs and never crosses an orchestration boundary (durable
histories are stored in plain text). Orchestrations carry a `JobRef` (ids only) and counts.

One report type travels the whole way: chunks record `ItemOutcome`s, finalize turns them into
a `JobReport` (stored as JSON), the status body and the inbox report are rendered from it by
their dialect. Errors of an item or of a whole job are one `ItemError`. Statuses are `StrEnum`s,
so they compare and serialise as the wire strings they always were.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class JobStatus(StrEnum):
    """A job's status, as every API dialect reports it."""

    NOT_STARTED = "notStarted"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"

    @property
    def finished(self) -> bool:
        """Nothing more will happen to the job (`canceled` is finished)."""
        return self in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELED)


class ItemStatus(StrEnum):
    """What happened to one input."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"


DOCUMENT_ANALYSIS = "document-analysis"
ITEMS_OPTION = "items"
"""`JobSpec.options` key: an explicit list of blob names to process (see `JobSpec.items`)."""
INSTANCE_OPTION = "instanceId"
"""`JobSpec.options` key: the orchestration running the job (so orphaned requests are found)."""
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
        return cls(
            job_id=str(data["job_id"]), kind=str(data["kind"]), model_id=str(data["model_id"])
        )


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
            body["innererror"] = {
                "code": self.inner_code,
                "message": self.inner_message or self.message,
            }
        return body

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ItemError:
        inner = data.get("innererror") or {}
        return cls(str(data["code"]), str(data["message"]), inner.get("code"), inner.get("message"))

    @classmethod
    def optional(cls, data: dict[str, Any] | None) -> ItemError | None:
        """`from_json` of a field that may be absent."""
        return cls.from_json(data) if data else None


INTERNAL_ERROR = ItemError(
    "InternalServerError", "The batch job failed unexpectedly; see the service log."
)
"""The error of a job whose orchestration crashed (never the crash's own text: it may hold
URLs with their SAS)."""


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
        return cls(
            source=str(data["source"]),
            status=ItemStatus(data["status"]),
            result=data.get("result"),
            error=ItemError.optional(data.get("error")),
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
        return Counts(
            self.succeeded + other.succeeded,
            self.failed + other.failed,
            self.skipped + other.skipped,
            self.pages + other.pages,
        )

    def record(self, outcome: ItemOutcome) -> None:
        if outcome.status == ItemStatus.SUCCEEDED:
            self.succeeded += 1
        elif outcome.status == ItemStatus.FAILED:
            self.failed += 1
        else:
            self.skipped += 1
        self.pages += outcome.pages

    def to_json(self) -> dict[str, int]:
        return {
            "succeeded": self.succeeded,
            "failed": self.failed,
            "skipped": self.skipped,
            "pages": self.pages,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Counts:
        data = data or {}
        return cls(
            int(data.get("succeeded", 0)),
            int(data.get("failed", 0)),
            int(data.get("skipped", 0)),
            int(data.get("pages", 0)),
        )


@dataclass(frozen=True)
class Plan:
    """How a job's items were cut: shards of whole activities, each a stored item list."""

    total: int
    shard_size: int
    items_per_activity: int
    shards: int
    error: ItemError | None = None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "total": self.total,
            "shard_size": self.shard_size,
            "items_per_activity": self.items_per_activity,
            "shards": self.shards,
        }
        if self.error:
            body["error"] = self.error.to_json()
        return body

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Plan:
        return cls(
            int(data["total"]),
            int(data["shard_size"]),
            int(data["items_per_activity"]),
            int(data["shards"]),
            ItemError.optional(data.get("error")),
        )

    def chunks_in_shard(self, shard: int) -> int:
        first = shard * self.shard_size
        items = max(0, min(self.shard_size, self.total - first))
        return -(-items // self.items_per_activity)


_ITEM_STATUSES = {status.value: status for status in ItemStatus}


@dataclass(frozen=True)
class ItemDetail:
    """One input in the report: its status, where it was read and written (URLs without SAS)
    and its error."""

    status: ItemStatus
    source_url: str | None = None
    result_url: str | None = None
    error: ItemError | None = None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"status": self.status}  # a str: JSON writes its value
        if self.source_url is not None:
            body["sourceUrl"] = self.source_url
        if self.result_url is not None:
            body["resultUrl"] = self.result_url
        if self.error is not None:
            body["error"] = self.error.to_json()
        return body

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ItemDetail:
        # a dict lookup, not ItemStatus(...): reports of 10^5 items are parsed per status call
        error = data.get("error")
        return cls(
            _ITEM_STATUSES[data["status"]],
            data.get("sourceUrl"),
            data.get("resultUrl"),
            ItemError.from_json(error) if error else None,
        )


@dataclass(frozen=True)
class JobReport:
    """A finished job: its verdict, counts, item details and the job's own error.

    `to_json` is the stored form (the job store's `report.json`); API dialects render their
    own wire shape from the fields. `summary` is what the orchestration returns (no details).

    A paged report (`details_page_size` set; see `jobs.details`) holds only the first page of
    details here, `details_total` says how many there are, and the later pages are stored
    beside it. Otherwise `details` is every item's detail.
    """

    status: JobStatus
    counts: Counts = field(default_factory=Counts)
    details: tuple[ItemDetail, ...] = ()
    error: ItemError | None = None
    details_total: int | None = None
    details_page_size: int | None = None

    @property
    def total_details(self) -> int:
        """How many items the report lists, including those in pages not loaded."""
        return len(self.details) if self.details_total is None else self.details_total

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "status": str(self.status),
            "succeededCount": self.counts.succeeded,
            "failedCount": self.counts.failed,
            "skippedCount": self.counts.skipped,
            "pages": self.counts.pages,
            "details": [d.to_json() for d in self.details],
        }
        if self.error is not None:
            body["error"] = self.error.to_json()
        if self.details_page_size is not None:
            body["detailsTotal"] = self.total_details
            body["detailsPageSize"] = self.details_page_size
        return body

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> JobReport:
        counts = Counts(
            int(data.get("succeededCount", 0)),
            int(data.get("failedCount", 0)),
            int(data.get("skippedCount", 0)),
            int(data.get("pages", 0)),
        )
        return cls(
            JobStatus(data["status"]),
            counts,
            tuple(ItemDetail.from_json(d) for d in data.get("details") or ()),
            ItemError.optional(data.get("error")),
            _optional_int(data.get("detailsTotal")),
            _optional_int(data.get("detailsPageSize")),
        )

    def summary(self) -> dict[str, Any]:
        """`{status, succeeded, failed, skipped, pages}`: the orchestration's output."""
        return {"status": str(self.status), **self.counts.to_json()}


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)
