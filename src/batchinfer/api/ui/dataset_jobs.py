"""Woodwide dataset-inference jobs (dataset_ingest, train, infer_batch) as dashboard jobs.

These jobs live in the tabular catalog as records, not as `batch_job` orchestrations, so the
source reads the catalog (through its own `job_view`, which computes a running inference's
progress) and acts through the woodwide API's own functions: cancel is
`cancel_job_record` plus terminating the `ww:` orchestration, as `POST /jobs/{id}/cancel` does.
Their work is a table, not a list of items, so the item list is empty.
"""

from __future__ import annotations

import asyncio
from typing import Any

from batchinfer.api.errors import ApiError
from batchinfer.api.ui.catalog import (
    Counts,
    JobActionError,
    JobDetail,
    JobSummary,
    ViewContent,
    parse_time,
)
from batchinfer.api.woodwide.jobs import RUNNING_DURABLE, cancel_job_record
from batchinfer.jobs.items import ItemPage
from batchinfer.jobs.model import JobStatus
from batchinfer.orchestration.client import DurableClient, InstanceStatus
from batchinfer.tabular.catalog import TERMINAL, Catalog
from batchinfer.tabular.wiring import get_catalog
from batchinfer.wiring import Services

KIND = "dataset-job"
INSTANCE_PREFIX = "ww:"  # the woodwide routes start each job's orchestration as ww:<job id>
STATUS: dict[str, JobStatus] = {
    "queued": JobStatus.NOT_STARTED,
    "running": JobStatus.RUNNING,
    "succeeded": JobStatus.SUCCEEDED,
    "failed": JobStatus.FAILED,
    "rejected": JobStatus.FAILED,
    "canceled": JobStatus.CANCELED,
}
SECTION_KEYS = (
    "type",
    "dataset_id",
    "dataset_name",
    "model_id",
    "model_type",
    "input_filename",
    "parent_job_id",
    "started_at",
    "finished_at",
    "error_message",
    "output",
)


def _percent(view: dict[str, Any], status: JobStatus) -> int:
    if status == JobStatus.SUCCEEDED:
        return 100
    try:
        progress = float(view.get("progress") or 0.0)
    except (TypeError, ValueError):
        return 0
    return max(0, min(100, int(progress)))


def _counts(record: dict[str, Any]) -> Counts | None:
    """Rows scored, for an inference that reported its summary; nothing else has counts."""
    summary = record.get("internal", {}).get("summary")
    if record.get("type") != "infer_batch" or not isinstance(summary, dict):
        return None
    rows = summary.get("total_row_count")
    if not isinstance(rows, int):
        return None
    return Counts(succeeded=rows, total=rows, unit="rows")


def _summary(record: dict[str, Any], view: dict[str, Any]) -> JobSummary:
    status = STATUS.get(str(record.get("status")), JobStatus.RUNNING)
    ended = str(record.get("status")) in TERMINAL
    model = str(record.get("model_type") or record.get("model_id") or record.get("type"))
    error = (
        {"code": str(record.get("status")), "message": str(record["error_message"])}
        if record.get("error_message") and status in (JobStatus.FAILED, JobStatus.CANCELED)
        else None
    )
    updated = record.get("finished_at") or record.get("started_at") or record.get("created_at")
    return JobSummary(
        kind=KIND,
        job_id=str(record["id"]),
        model=model,
        status=status,
        percent=_percent(view, status),
        created=parse_time(record.get("created_at")),
        updated=parse_time(updated),
        counts=_counts(record),
        actions=("delete",) if ended else ("cancel",),
        views=(),
        error=error,
        title=f"Dataset job ({record.get('type')})",
    )


async def _until_inactive(client: DurableClient, instance_id: str) -> InstanceStatus | None:
    """The orchestration's status once it stopped (a just-canceled job's orchestration takes
    its terminate a moment later), waiting up to 5 s; its history can be purged only then."""
    status = await client.get_status(instance_id=instance_id)
    for _ in range(50):
        if status is None or str(status.runtime_status) not in RUNNING_DURABLE:
            break
        await asyncio.sleep(0.1)
        status = await client.get_status(instance_id=instance_id)
    return status


class DatasetJobs:
    """The tabular catalog's job records, newest first like every source."""

    kind = KIND
    title = "Dataset job"

    def __init__(self, catalog: Catalog | None = None) -> None:
        self._catalog = catalog  # None: the process-wide catalog, built when first needed

    def catalog(self) -> Catalog:
        return self._catalog if self._catalog is not None else get_catalog()

    def _rows(self) -> list[JobSummary]:
        """`Catalog.jobs` reads the raw records; one that has not ended is read again through
        `Catalog.job`, which applies an acknowledged cancel (its marker is a separate blob)."""
        catalog = self.catalog()
        rows = []
        for record in catalog.jobs():
            if str(record.get("status")) not in TERMINAL:
                record = catalog.job(str(record["id"])) or record
            rows.append(_summary(record, catalog.job_view(record)))
        return rows

    async def list_jobs(self, client: DurableClient, services: Services) -> list[JobSummary]:
        return await asyncio.to_thread(self._rows)

    def _record(self, job_id: str) -> dict[str, Any]:
        record = self.catalog().job(job_id)  # refuses ids that are not letters, digits, _
        if record is None:
            raise JobActionError(404, "NotFound", f"Job '{job_id}' was not found.")
        return record

    async def get_job(
        self, client: DurableClient, services: Services, job_id: str
    ) -> JobDetail | None:
        def read() -> tuple[dict[str, Any], dict[str, Any]]:
            record = self._record(job_id)
            return record, self.catalog().job_view(record)

        record, view = await asyncio.to_thread(read)
        summary = _summary(record, view)
        progress = [(summary.created, 0)] if summary.created else []
        if summary.updated and summary.status.finished:
            progress.append((summary.updated, summary.percent))
        sections = {"job": {key: view.get(key) for key in SECTION_KEYS}}
        return JobDetail(summary, progress, sections)

    async def cancel(self, client: DurableClient, services: Services, job_id: str) -> None:
        record = await asyncio.to_thread(self._record, job_id)
        if str(record.get("status")) in TERMINAL:
            raise JobActionError(
                409, "Conflict", f"The job already finished ({record.get('status')})."
            )
        try:
            job = await asyncio.to_thread(cancel_job_record, self.catalog(), job_id)
        except ApiError as error:
            raise JobActionError(error.status, error.code, error.message) from None
        if job.get("status") != "canceled":  # it ended between the check above and the cancel
            raise JobActionError(
                409, "Conflict", f"The job already finished ({job.get('status')})."
            )
        instance = f"{INSTANCE_PREFIX}{job_id}"
        status = await client.get_status(instance_id=instance)
        if status is not None and str(status.runtime_status) in RUNNING_DURABLE:
            await client.terminate(instance_id=instance, reason="canceled by the user")

    async def delete(self, client: DurableClient, services: Services, job_id: str) -> None:
        """Only an ended job: its record and results go, then its orchestration history."""
        record = await asyncio.to_thread(self._record, job_id)
        if str(record.get("status")) not in TERMINAL:
            raise JobActionError(409, "Conflict", "Cancel the job before deleting it.")
        instance = f"{INSTANCE_PREFIX}{job_id}"
        status = await _until_inactive(client, instance)
        if status is not None and str(status.runtime_status) in RUNNING_DURABLE:
            raise JobActionError(409, "Conflict", "The job is still stopping; try again.")
        await asyncio.to_thread(self.catalog().delete_job, job_id)
        if status is not None:
            await client.purge(instance_id=instance)

    async def items(
        self,
        client: DurableClient,
        services: Services,
        job_id: str,
        *,
        skip: int,
        top: int,
        status: str | None,
    ) -> ItemPage:
        await asyncio.to_thread(self._record, job_id)
        return ItemPage([], 0)

    async def view(
        self,
        client: DurableClient,
        services: Services,
        job_id: str,
        name: str,
        params: dict[str, str],
    ) -> ViewContent:
        raise JobActionError(404, "NotFound", f"No view '{name}' for dataset jobs.")
