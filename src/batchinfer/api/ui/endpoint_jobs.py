"""Azure ML batch endpoint jobs (`amlbatch:<name>` runs of `batch_job`) as dashboard jobs.

They run on the same generic orchestration as document batches, so status, counts, cancel,
delete and the per-file item list all come from `batchinfer.jobs` (the service the Azure ML
routes use too); the endpoint, deployment and input come from the invoke's stored
`azureml.json`. A job whose invoke stored nothing is not an endpoint job and is left out.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from batchinfer.api.azureml.jobs import META
from batchinfer.api.ui.catalog import (
    Counts,
    JobActionError,
    JobDetail,
    JobSummary,
    ViewContent,
)
from batchinfer.endpoints.workspace import NAME
from batchinfer.jobs import service
from batchinfer.jobs.items import ItemPage, ItemRow, item_page, load_plan
from batchinfer.jobs.model import Counts as ItemCounts
from batchinfer.jobs.model import JobStatus, Plan
from batchinfer.orchestration.client import DurableClient
from batchinfer.orchestration.instance_ids import (
    AZUREML_JOB_PREFIX,
    azureml_job_id,
    azureml_job_name,
)
from batchinfer.wiring import Services

KIND = "batch-endpoint"
META_KEYS = (
    "endpoint",
    "deployment",
    "input",
    "output",
    "outputAction",
    "miniBatchSize",
    "errorThreshold",
    "retrySettings",
    "experimentName",
)


def _summary(view: service.JobView, meta: dict[str, Any], custom: dict[str, Any]) -> JobSummary:
    total = custom.get("total")
    done = view.report.counts if view.report is not None else ItemCounts.from_json(custom)
    counts = Counts(
        done.succeeded,
        done.failed,
        done.skipped,
        int(total) if isinstance(total, int) else None,
        "files",
    )
    return JobSummary(
        kind=KIND,
        job_id=view.job_id,
        model=f"{meta.get('endpoint', '')}/{meta.get('deployment', '')}",
        status=view.status,
        percent=view.percent_completed,
        created=view.created,
        updated=view.updated,
        counts=counts,
        actions=("delete",) if view.finished else ("cancel", "delete"),
        views=(),
        error=view.error.to_json() if view.error else None,
        title="Batch endpoint job",
    )


class EndpointJobs:
    """Batch endpoint invokes, listed by their instance-id prefix."""

    kind = KIND
    title = "Batch endpoint job"

    async def list_jobs(self, client: DurableClient, services: Services) -> list[JobSummary]:
        jobs = []
        for status in await service.list_jobs(client, AZUREML_JOB_PREFIX):
            name = azureml_job_name(status.instance_id)
            meta = await asyncio.to_thread(services.job_store.load_document, name, META)
            if meta is None:
                continue
            view = service.view_from_status(status, name, None)
            custom = status.custom_status if isinstance(status.custom_status, dict) else {}
            jobs.append(_summary(view, meta, custom))
        return jobs

    async def _find(
        self, client: DurableClient, services: Services, name: str, with_report: bool = False
    ) -> tuple[service.JobView, dict[str, Any]]:
        """The job's view and invoke record; 404 unless both exist. Names are checked as the
        Azure ML routes check them before anything reaches the job store."""
        meta = None
        if NAME.match(name):
            meta = await asyncio.to_thread(services.job_store.load_document, name, META)
        view = None
        if meta is not None:
            view = await service.get_job(
                client, services, azureml_job_id(name), name, with_report=with_report
            )
        if view is None or meta is None:
            raise JobActionError(404, "NotFound", f"Job '{name}' was not found.")
        return view, meta

    async def get_job(
        self, client: DurableClient, services: Services, job_id: str
    ) -> JobDetail | None:
        view, meta = await self._find(client, services, job_id, with_report=True)
        status = await client.get_status(instance_id=view.instance_id)
        if status is None:
            raise JobActionError(404, "NotFound", f"Job '{job_id}' was not found.")
        custom = status.custom_status if isinstance(status.custom_status, dict) else {}
        summary = _summary(view, meta, custom)
        progress: list[tuple[datetime, int]] = [(view.created, 0)]
        if view.finished:
            progress.append((view.updated, view.percent_completed))
        sections = {
            "invoke": {key: meta.get(key) for key in META_KEYS},
            "phase": custom.get("phase"),
        }
        return JobDetail(summary, progress, sections, has_items=True)

    async def cancel(self, client: DurableClient, services: Services, job_id: str) -> None:
        view, _ = await self._find(client, services, job_id)
        if view.finished:
            raise JobActionError(409, "Conflict", f"The job already finished ({view.status}).")
        await service.cancel_job(client, services, view)

    async def delete(self, client: DurableClient, services: Services, job_id: str) -> None:
        view, _ = await self._find(client, services, job_id)
        await service.delete_job(client, services, view)

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
        """A finished job's items are the files its report names, which for scoring are the
        failed ones (the steps keep no per-file outcome of a success, only the counts); a
        running job's files are listed from its plan, as pending."""
        view, _ = await self._find(client, services, job_id, with_report=True)
        if view.finished and view.report is not None:
            rows = [
                ItemRow(
                    index,
                    detail.source_url or "",
                    str(detail.status),
                    detail.result_url,
                    detail.error.to_json() if detail.error else None,
                )
                for index, detail in enumerate(view.report.details)
            ]
            matching = [row for row in rows if status is None or row.status == status]
            return ItemPage(matching[skip : skip + top], len(matching))
        plan = await asyncio.to_thread(load_plan, services.job_store, view.job_id)
        return await asyncio.to_thread(
            item_page,
            services.job_store,
            view.job_id,
            plan if plan is not None else Plan(0, 1, 1, 0),
            skip=skip,
            top=top,
            status=status,
            finished=view.finished,
            canceled=view.status == JobStatus.CANCELED,
        )

    async def view(
        self,
        client: DurableClient,
        services: Services,
        job_id: str,
        name: str,
        params: dict[str, str],
    ) -> ViewContent:
        raise JobActionError(404, "NotFound", f"No view '{name}' for batch endpoint jobs.")
