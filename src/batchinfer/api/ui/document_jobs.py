"""Document batches (Document Intelligence analyzeBatch and inbox jobs) as dashboard jobs.

Views: `document` (an item's `.ocr.json` result: pages, lines with polygons, text) and
`page` (a page of an item's source rendered as PNG, at most `MAX_PAGE_SIDE` pixels a side).
Both read through the job's redacted origin, so they work where the service can read without
the job's SAS (local folders, identity-based accounts) and say so otherwise.
"""

from __future__ import annotations

import asyncio
import io
import json
import uuid
from dataclasses import replace
from datetime import datetime
from typing import Any

from batchinfer.api.ui.catalog import (
    Counts,
    JobActionError,
    JobDetail,
    JobSummary,
    ViewContent,
)
from batchinfer.jobs import service
from batchinfer.jobs.items import ItemPage, item_at, item_page, load_plan
from batchinfer.jobs.model import Counts as ItemCounts
from batchinfer.jobs.model import ItemStatus, JobStatus, Plan
from batchinfer.jobs.origin import JobOrigin, load_origin
from batchinfer.jobs.rerun import RerunRefused, RerunRequest, rerun_failed
from batchinfer.orchestration.client import DurableClient, InstanceStatus, RuntimeStatus
from batchinfer.orchestration.instance_ids import (
    document_batch_id,
    document_batch_parts,
    document_batch_prefix,
    result_id_of,
)
from batchinfer.storage import StorageError, UrlNotAllowedError
from batchinfer.wiring import Services

KIND = "document-analysis"
MAX_PAGE_SIDE = 1600
MAX_RESULT_BYTES = 64 * 1024 * 1024


def _summary(view: service.JobView, model_id: str, custom: dict[str, Any]) -> JobSummary:
    total = custom.get("total")
    # the final report once there is one; the running counts of the custom status before
    done = view.report.counts if view.report is not None else ItemCounts.from_json(custom)
    counts = Counts(
        done.succeeded,
        done.failed,
        done.skipped,
        int(total) if isinstance(total, int) else None,
        "documents",
    )
    actions = ["cancel", "delete"] if not view.finished else ["delete"]
    if view.finished and counts.failed:
        actions.append("rerunFailed")
    return JobSummary(
        kind=KIND,
        job_id=view.job_id,
        model=model_id,
        status=view.status,
        percent=view.percent_completed,
        created=view.created,
        updated=view.updated,
        counts=counts,
        actions=tuple(actions),
        views=("document",),
        error=view.error.to_json() if view.error else None,
        title="Document batch",
    )


def _progress(
    status: InstanceStatus, total: int | None, created: datetime
) -> list[tuple[datetime, int]]:
    """Percent done after each finished unit, from the orchestration's own history."""
    points: list[tuple[datetime, int]] = [(created, 0)]
    done = 0
    for event in status.history:
        kind, moment = event.event_type, event.timestamp
        if kind == "SubOrchestrationInstanceCompleted" and total:
            result = event.result
            if isinstance(result, str):
                try:
                    result = json.loads(result)
                except ValueError:
                    result = None
            counts = (result or {}).get("counts") if isinstance(result, dict) else None
            if isinstance(counts, dict):
                done += sum(int(counts.get(k, 0)) for k in ("succeeded", "failed", "skipped"))
                points.append((moment, min(100, done * 100 // total)))
        elif kind == "ExecutionCompleted":
            points.append(
                (
                    moment,
                    100
                    if status.runtime_status == RuntimeStatus.COMPLETED and done >= (total or 0)
                    else points[-1][1],
                )
            )
    return points


class DocumentBatches:
    """Jobs of the `batch_job` orchestration, listed by their instance-id prefix."""

    kind = KIND
    title = "Document batch"

    async def list_jobs(self, client: DurableClient, services: Services) -> list[JobSummary]:
        jobs = []
        for status in await service.list_jobs(client, document_batch_prefix()):
            model_id, job_id = document_batch_parts(status.instance_id)
            view = service.view_from_status(status, job_id, None)
            custom = status.custom_status if isinstance(status.custom_status, dict) else {}
            jobs.append(_summary(view, model_id, custom))
        return jobs

    async def _find(
        self, client: DurableClient, services: Services, job_id: str, with_report: bool = False
    ) -> tuple[service.JobView, str]:
        """The job's view and model; 404 unless it exists. Job ids are UUIDs (API result
        ids and inbox job ids alike), so nothing else reaches the job store."""
        try:
            job_id = str(uuid.UUID(job_id))
        except ValueError:
            raise JobActionError(404, "NotFound", f"Job '{job_id}' was not found.") from None
        origin = await asyncio.to_thread(load_origin, services.job_store, job_id)
        instance = document_batch_id(origin.model_id, job_id) if origin else None
        if instance is None:  # not planned yet: find it by listing
            matches = [
                s.instance_id
                for s in await service.list_jobs(client, document_batch_prefix())
                if result_id_of(s.instance_id) == job_id
            ]
            instance = matches[0] if matches else None
        view = None
        if instance is not None:
            view = await service.get_job(
                client, services, instance, job_id, with_report=with_report
            )
        if view is None or instance is None:
            raise JobActionError(404, "NotFound", f"Job '{job_id}' was not found.")
        return view, document_batch_parts(instance)[0]

    async def get_job(
        self, client: DurableClient, services: Services, job_id: str
    ) -> JobDetail | None:
        view, model_id = await self._find(client, services, job_id)
        if view.status == JobStatus.FAILED:  # the report says why (e.g. source not listable)
            view, model_id = await self._find(client, services, job_id, with_report=True)
        status = await client.get_status(instance_id=view.instance_id, show_history=True)
        if status is None:  # deleted meanwhile
            raise JobActionError(404, "NotFound", f"Job '{job_id}' was not found.")
        custom = status.custom_status if isinstance(status.custom_status, dict) else {}
        summary = _summary(view, model_id, custom)
        origin = await asyncio.to_thread(load_origin, services.job_store, view.job_id)
        total = custom.get("total") if isinstance(custom.get("total"), int) else None
        sections: dict[str, Any] = {"phase": custom.get("phase")}
        if origin is not None:
            sections["origin"] = {
                "source": origin.source_url,
                "sourcePrefix": origin.source_prefix,
                "results": origin.result_url,
                "resultPrefix": origin.result_prefix,
                "overwriteExisting": origin.overwrite,
                "rerunOf": origin.rerun_of,
            }
        if origin is not None and origin.needs_sas and "rerunFailed" in summary.actions:
            # the page cannot supply a SAS; the API extension takes the URLs again
            summary = replace(
                summary, actions=tuple(a for a in summary.actions if a != "rerunFailed")
            )
        return JobDetail(summary, _progress(status, total, view.created), sections, has_items=True)

    async def cancel(self, client: DurableClient, services: Services, job_id: str) -> None:
        view, _ = await self._find(client, services, job_id)
        if view.finished:
            raise JobActionError(409, "Conflict", f"The job already finished ({view.status}).")
        await service.cancel_job(client, services, view)

    async def delete(self, client: DurableClient, services: Services, job_id: str) -> None:
        view, _ = await self._find(client, services, job_id)
        await service.delete_job(client, services, view)

    async def rerun_failed(
        self,
        client: DurableClient,
        services: Services,
        job_id: str,
        request: RerunRequest | None = None,
    ) -> str:
        view, _ = await self._find(client, services, job_id)
        try:
            spec = await rerun_failed(client, services, view, request)
        except RerunRefused as refused:
            raise JobActionError(refused.status, refused.code, refused.message) from None
        except UrlNotAllowedError as exc:
            raise JobActionError(400, "InvalidRequest", exc.message) from None
        return spec.job_id

    async def _plan(self, services: Services, job_id: str) -> Plan:
        plan = await asyncio.to_thread(load_plan, services.job_store, job_id)
        if plan is None:
            return Plan(0, 1, 1, 0)
        return plan

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
        view, _ = await self._find(client, services, job_id)
        plan = await self._plan(services, view.job_id)
        return await asyncio.to_thread(
            item_page,
            services.job_store,
            view.job_id,
            plan,
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
        if name not in ("document", "page"):
            raise JobActionError(404, "NotFound", f"No view '{name}' for document batches.")
        try:
            index = int(params.get("item", ""))
            page = int(params.get("page", "1"))
        except ValueError:
            raise JobActionError(400, "InvalidRequest", "item and page must be integers.") from None
        job_id = (await self._find(client, services, job_id))[0].job_id
        origin = await asyncio.to_thread(load_origin, services.job_store, job_id)
        plan = await self._plan(services, job_id)
        row = await asyncio.to_thread(item_at, services.job_store, job_id, plan, index)
        if origin is None or row is None:
            raise JobActionError(404, "NotFound", f"Item {index} of job '{job_id}' was not found.")
        if name == "page":
            data = await asyncio.to_thread(_page_png, services, origin, row.name, page)
            return ViewContent(data=data, content_type="image/png")
        if row.result is None or row.status != ItemStatus.SUCCEEDED:
            raise JobActionError(404, "NoResult", f"Item {index} has no result ({row.status}).")
        result = await asyncio.to_thread(_read_json, services, origin.result_url, row.result)
        return ViewContent(
            json={
                "index": index,
                "name": row.name,
                "result": row.result,
                "analyzeResult": _lines_only(result),
            }
        )


def _read(services: Services, container_url: str, name: str) -> bytes:
    try:
        return services.open_container(container_url).read_blob(
            name=name, max_bytes=MAX_RESULT_BYTES
        )
    except UrlNotAllowedError as exc:
        raise JobActionError(409, "NotReadable", exc.message) from None
    except StorageError as exc:
        raise JobActionError(
            409,
            "NotReadable",
            f"The blob could not be read ({exc.code}); a "
            "container that needs a SAS is not readable after its job ended.",
        ) from None


def _read_json(services: Services, container_url: str, name: str) -> Any:
    try:
        return json.loads(_read(services, container_url, name))
    except ValueError:
        raise JobActionError(409, "NotReadable", "The result is not JSON.") from None


def _lines_only(result: Any) -> dict[str, Any]:
    """The parts the document view draws: pages with their size, unit and lines."""
    pages = []
    for page in (result or {}).get("pages", []) if isinstance(result, dict) else []:
        pages.append(
            {key: page.get(key) for key in ("pageNumber", "width", "height", "unit", "angle")}
            | {
                "lines": [
                    {"content": line.get("content", ""), "polygon": line.get("polygon", [])}
                    for line in page.get("lines", [])
                ]
            }
        )
    return {
        "modelId": (result or {}).get("modelId"),
        "content": (result or {}).get("content", ""),
        "pages": pages,
    }


def _page_png(services: Services, origin: JobOrigin, name: str, page: int) -> bytes:
    from PIL import Image

    from batchinfer.models.ocr.decode import iter_pages

    data = _read(services, origin.source_url, name)
    try:
        for image in iter_pages(data, name):
            if image.number == page:
                picture = Image.fromarray(image.rgb)
                picture.thumbnail((MAX_PAGE_SIDE, MAX_PAGE_SIDE))
                buffer = io.BytesIO()
                picture.save(buffer, format="PNG")
                return buffer.getvalue()
    except Exception as exc:  # undecodable input: the item itself failed for this reason
        raise JobActionError(
            409, "NotRenderable", f"The document cannot be rendered ({type(exc).__name__})."
        ) from None
    raise JobActionError(404, "NotFound", f"Page {page} of item '{name}' was not found.")
