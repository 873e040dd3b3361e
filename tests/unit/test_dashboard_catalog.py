"""The jobs read model: sources register by kind; listing merges, filters and sorts them."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from batchinfer.api.ui import catalog
from batchinfer.api.ui.catalog import Counts, JobActionError, JobSummary
from batchinfer.jobs.items import ItemPage
from batchinfer.jobs.model import JobStatus

T0 = datetime(2026, 1, 1, tzinfo=UTC)


class FakeSource:
    def __init__(self, kind: str, jobs: list[JobSummary]) -> None:
        self.kind, self.title, self._jobs = kind, kind.title(), jobs

    async def list_jobs(self, client: Any, services: Any) -> list[JobSummary]:
        return self._jobs

    async def get_job(self, client: Any, services: Any, job_id: str) -> None:
        return None

    async def cancel(self, client: Any, services: Any, job_id: str) -> None: ...

    async def delete(self, client: Any, services: Any, job_id: str) -> None: ...

    async def items(
        self, client: Any, services: Any, job_id: str, *, skip: int, top: int, status: str | None
    ) -> ItemPage:
        return ItemPage([], 0)

    async def view(self, *args: Any) -> Any: ...


def _job(kind: str, job_id: str, status: str, minutes: int) -> JobSummary:
    return JobSummary(
        kind=kind,
        job_id=job_id,
        model="m",
        status=JobStatus(status),
        percent=50,
        created=T0 + timedelta(minutes=minutes),
        updated=T0 + timedelta(minutes=minutes + 2),
        counts=Counts(1, 2, 3, 10),
    )


@pytest.fixture()
def registry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(catalog, "_SOURCES", {})
    catalog.register_job_source(
        FakeSource("alpha", [_job("alpha", "a1", "running", 1), _job("alpha", "a2", "failed", 5)])
    )
    catalog.register_job_source(FakeSource("beta", [_job("beta", "b1", "succeeded", 3)]))


def test_all_jobs_are_merged_newest_first_and_filtered(registry: None) -> None:
    jobs = asyncio.run(catalog.all_jobs(None, None))
    assert [j.job_id for j in jobs] == ["a2", "b1", "a1"]
    assert [j.job_id for j in asyncio.run(catalog.all_jobs(None, None, kind="alpha"))] == [
        "a2",
        "a1",
    ]
    assert [j.job_id for j in asyncio.run(catalog.all_jobs(None, None, status="failed"))] == ["a2"]


def test_rows_serialise_with_duration_and_unknown_kinds_are_404(registry: None) -> None:
    row = _job("beta", "b1", "succeeded", 3).to_json()
    assert row["durationSeconds"] == 120.0
    assert row["createdDateTime"] == "2026-01-01T00:03:00Z"
    assert row["counts"] == {
        "succeeded": 1,
        "failed": 2,
        "skipped": 3,
        "total": 10,
        "unit": "items",
    }
    with pytest.raises(JobActionError) as error:
        catalog.job_source("gamma")
    assert error.value.status == 404
    catalog.register_job_source(FakeSource("gamma", []))  # a new dialect plugs in
    assert [s.kind for s in catalog.job_sources()] == ["alpha", "beta", "gamma"]
