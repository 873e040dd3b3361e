"""The jobs read model: every dialect's jobs in one shape, from sources that register here.

A `JobSource` knows one kind of job (document batches, anomaly training, anomaly detection,
and whatever a new dialect adds): how to list them, read one, cancel or delete it, page its
items, and serve its kind-specific views. The dashboard API only talks to this registry, so a
new dialect appears in the dashboard by calling `register_job_source(MySource())` when its
module is imported. Everything a source returns is rendered as is: it must hold no secrets.
Sources reach orchestrations through the `DurableClient` port, never the SDK client.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Protocol

from batchinfer.jobs.items import ItemPage
from batchinfer.jobs.model import JobStatus
from batchinfer.jobs.service import iso_z
from batchinfer.orchestration.client import DurableClient
from batchinfer.wiring import Services

STATUSES = tuple(str(status) for status in JobStatus)


class JobActionError(Exception):
    """A dashboard action the job refuses (404 unknown, 409 wrong state, 400 bad input)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass(frozen=True)
class Counts:
    succeeded: int = 0
    failed: int = 0
    skipped: int = 0
    total: int | None = None
    unit: str = "items"

    def to_json(self) -> dict[str, Any]:
        return {
            "succeeded": self.succeeded,
            "failed": self.failed,
            "skipped": self.skipped,
            "total": self.total,
            "unit": self.unit,
        }


@dataclass(frozen=True)
class JobSummary:
    """One row of the jobs table."""

    kind: str
    job_id: str
    model: str
    status: JobStatus
    percent: int
    created: datetime | None
    updated: datetime | None
    counts: Counts | None = None
    actions: tuple[str, ...] = ()  # cancel | delete | rerunFailed
    views: tuple[str, ...] = ()  # kind-specific views the UI can open
    error: dict[str, Any] | None = None
    title: str = ""

    @property
    def running(self) -> bool:
        return not self.status.finished

    def duration_seconds(self) -> float | None:
        if self.created is None or self.updated is None:
            return None
        return max(0.0, (self.updated - self.created).total_seconds())

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "id": self.job_id,
            "model": self.model,
            "title": self.title,
            "status": str(self.status),
            "percentCompleted": self.percent,
            "counts": self.counts.to_json() if self.counts else None,
            "createdDateTime": _iso(self.created),
            "lastUpdatedDateTime": _iso(self.updated),
            "durationSeconds": self.duration_seconds(),
            "actions": list(self.actions),
            "views": list(self.views),
            "error": self.error,
        }


@dataclass(frozen=True)
class JobDetail:
    """A job with its progress over time and kind-specific sections (plain JSON)."""

    summary: JobSummary
    progress: list[tuple[datetime, int]] = field(default_factory=list)
    sections: dict[str, Any] = field(default_factory=dict)
    has_items: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            **self.summary.to_json(),
            "hasItems": self.has_items,
            "progress": [{"time": _iso(t), "percent": p} for t, p in self.progress],
            "sections": self.sections,
        }


@dataclass(frozen=True)
class ViewContent:
    """A view's answer: JSON, or bytes with their content type (page images)."""

    json: Any = None
    data: bytes | None = None
    content_type: str = "application/json"


class JobSource(Protocol):
    """One kind of job, as the dashboard sees it."""

    kind: str
    title: str

    async def list_jobs(self, client: DurableClient, services: Services) -> list[JobSummary]: ...

    async def get_job(
        self, client: DurableClient, services: Services, job_id: str
    ) -> JobDetail | None: ...

    async def cancel(self, client: DurableClient, services: Services, job_id: str) -> None: ...

    async def delete(self, client: DurableClient, services: Services, job_id: str) -> None: ...

    async def items(
        self,
        client: DurableClient,
        services: Services,
        job_id: str,
        *,
        skip: int,
        top: int,
        status: str | None,
    ) -> ItemPage: ...

    async def view(
        self,
        client: DurableClient,
        services: Services,
        job_id: str,
        name: str,
        params: dict[str, str],
    ) -> ViewContent: ...


_SOURCES: dict[str, JobSource] = {}


def register_job_source(source: JobSource) -> None:
    """Make a kind of job visible in the dashboard (re-registering a kind replaces it)."""
    _SOURCES[source.kind] = source


def job_sources() -> list[JobSource]:
    return list(_SOURCES.values())


def job_source(kind: str) -> JobSource:
    if kind not in _SOURCES:
        raise JobActionError(404, "NotFound", f"Unknown job kind '{kind}'.")
    return _SOURCES[kind]


async def all_jobs(
    client: DurableClient, services: Services, *, status: str | None = None, kind: str | None = None
) -> list[JobSummary]:
    """Every registered kind's jobs, newest first, optionally filtered."""
    jobs: list[JobSummary] = []
    for source in job_sources():
        if kind is None or source.kind == kind:
            jobs.extend(await source.list_jobs(client, services))
    if status is not None:
        jobs = [j for j in jobs if j.status == status]
    return sorted(jobs, key=lambda j: (_iso(j.created), j.job_id), reverse=True)


def _iso(moment: datetime | None) -> str:
    return "" if moment is None else iso_z(moment)


def parse_time(text: str | None) -> datetime | None:
    """ISO-8601 (with Z) to an aware datetime; None for empty or unreadable text."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment
