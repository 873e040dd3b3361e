"""HTTP triggers of the dashboard: its JSON API (`dashboard/...`) and its static pages (`ui/`).

The JSON API needs the same keys as the product APIs (`Ocp-Apim-Subscription-Key`); the pages
hold no data and are served to anyone, reading the key the user types into session storage.
Errors use the wrapped `{"error": {"code", "message"}}` shape. Static files are read relative
to this module (`static/`, shipped as package data), so they work under the Functions worker.
Handlers hand the job sources the `DurableClient` port (`SdkDurableClient` over the binding).
"""

from __future__ import annotations

import logging
import mimetypes
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from batchinfer.api.auth import require_api_key
from batchinfer.api.errors import ApiError, guarded, json_response, wrapped_error_response
from batchinfer.api.openapi import operation
from batchinfer.api.openapi.shapes import WrappedError
from batchinfer.api.ui import catalog, schemas
from batchinfer.api.ui.anomaly_jobs import AnomalyDetection, AnomalyTraining
from batchinfer.api.ui.catalog import JobActionError
from batchinfer.api.ui.dataset_jobs import DatasetJobs
from batchinfer.api.ui.document_jobs import DocumentBatches
from batchinfer.api.ui.endpoint_jobs import EndpointJobs
from batchinfer.orchestration.sdk_client import SdkDurableClient
from batchinfer.wiring import get_services

log = logging.getLogger("batchinfer.api.dashboard")
blueprint = df.Blueprint()
ANONYMOUS = func.AuthLevel.ANONYMOUS
STATIC = Path(__file__).resolve().parent / "static"
JOB = "dashboard/jobs/{kind}/{jobId}"
MAX_TOP = 500
MAX_JOBS = 1000  # newest first; older ones are reached by filtering

catalog.register_job_source(DocumentBatches())
catalog.register_job_source(AnomalyTraining())
catalog.register_job_source(AnomalyDetection())
catalog.register_job_source(DatasetJobs())
catalog.register_job_source(EndpointJobs())


async def _guarded(
    req: func.HttpRequest, handler: Callable[[], Awaitable[func.HttpResponse]]
) -> func.HttpResponse:
    async def authorised() -> func.HttpResponse:
        require_api_key(req, get_services().settings.api_keys)
        try:
            return await handler()
        except JobActionError as error:
            raise ApiError(error.status, error.code, error.message) from None

    return await guarded(authorised, wrapped_error_response, log)


def _choice(req: func.HttpRequest, name: str, allowed: tuple[str, ...]) -> str | None:
    value = req.params.get(name) or None
    if value is not None and value not in allowed:
        raise ApiError(400, "InvalidRequest", f"{name} must be one of {', '.join(allowed)}.")
    return value


def _int(req: func.HttpRequest, name: str, default: int, low: int, high: int) -> int:
    raw = req.params.get(name)
    try:
        value = default if raw in (None, "") else int(raw)
    except ValueError:
        raise ApiError(400, "InvalidRequest", f"{name} must be an integer.") from None
    if not low <= value <= high:
        raise ApiError(400, "InvalidRequest", f"{name} must be between {low} and {high}.")
    return value


def _source(req: func.HttpRequest) -> catalog.JobSource:
    return catalog.job_source(req.route_params.get("kind", ""))


@blueprint.route(route="dashboard/jobs", methods=["GET"], auth_level=ANONYMOUS)
@blueprint.durable_client_input(client_name="client")
@operation(
    summary="All jobs of every kind",
    tags=("dashboard",),
    responses={200: schemas.JobList},
    errors=WrappedError,
    query={
        "status": {"type": "string"},
        "kind": {"type": "string"},
        "top": {"type": "integer", "minimum": 1, "maximum": MAX_JOBS},
    },
)
async def dashboard_jobs(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    """All jobs of every registered kind, newest first; `?status=` and `?kind=` filter."""

    async def handle() -> func.HttpResponse:
        kinds = tuple(s.kind for s in catalog.job_sources())
        status = _choice(req, "status", catalog.STATUSES)
        kind = _choice(req, "kind", kinds)
        top = _int(req, "top", MAX_JOBS, 1, MAX_JOBS)
        jobs = await catalog.all_jobs(
            SdkDurableClient(client), get_services(), status=status, kind=kind
        )
        return json_response(
            200,
            {
                "jobs": [j.to_json() for j in jobs[:top]],
                "total": len(jobs),
                "kinds": [{"kind": s.kind, "title": s.title} for s in catalog.job_sources()],
                "statuses": list(catalog.STATUSES),
                "running": sum(1 for j in jobs if j.running),
            },
        )

    return await _guarded(req, handle)


@blueprint.route(route=JOB, methods=["GET", "DELETE"], auth_level=ANONYMOUS)
@blueprint.durable_client_input(client_name="client")
@operation(
    method="GET",
    summary="A job with its progress over time",
    tags=("dashboard",),
    responses={200: schemas.JobDetailBody},
    errors=WrappedError,
)
@operation(
    method="DELETE",
    summary="Delete a job and its stored state",
    tags=("dashboard",),
    responses={204: None},
    errors=WrappedError,
)
async def dashboard_job(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    """One job with its progress over time (GET), or delete it with its stored state."""

    async def handle() -> func.HttpResponse:
        source, job_id = _source(req), req.route_params.get("jobId", "")
        durable = SdkDurableClient(client)
        if req.method.upper() == "DELETE":
            await source.delete(durable, get_services(), job_id)
            return func.HttpResponse(status_code=204)
        detail = await source.get_job(durable, get_services(), job_id)
        if detail is None:
            raise ApiError(404, "NotFound", f"Job '{job_id}' was not found.")
        return json_response(200, detail.to_json())

    return await _guarded(req, handle)


@blueprint.route(route=JOB + ":cancel", methods=["POST"], auth_level=ANONYMOUS)
@blueprint.durable_client_input(client_name="client")
@operation(
    summary="Cancel a running job",
    tags=("dashboard",),
    request=None,
    responses={202: schemas.Canceling},
    errors=WrappedError,
)
async def dashboard_cancel_job(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    async def handle() -> func.HttpResponse:
        await _source(req).cancel(
            SdkDurableClient(client), get_services(), req.route_params.get("jobId", "")
        )
        return json_response(202, {"status": "canceling"})

    return await _guarded(req, handle)


@blueprint.route(route=JOB + ":rerun-failed", methods=["POST"], auth_level=ANONYMOUS)
@blueprint.durable_client_input(client_name="client")
@operation(
    summary="Rerun the failed items of a finished job as a new job",
    tags=("dashboard",),
    responses={202: schemas.RerunStarted},
    errors=WrappedError,
)
async def dashboard_rerun_failed(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    """A new job over exactly the failed items of a finished one (kinds that support it)."""

    async def handle() -> func.HttpResponse:
        source = _source(req)
        rerun = getattr(source, "rerun_failed", None)
        if rerun is None:
            raise ApiError(409, "NotSupported", f"{source.title} jobs cannot be rerun.")
        job_id = await rerun(
            SdkDurableClient(client), get_services(), req.route_params.get("jobId", "")
        )
        return json_response(202, {"kind": source.kind, "id": job_id})

    return await _guarded(req, handle)


@blueprint.route(route=JOB + "/items", methods=["GET"], auth_level=ANONYMOUS)
@blueprint.durable_client_input(client_name="client")
@operation(
    summary="A page of a job's items",
    tags=("dashboard",),
    responses={200: schemas.ItemList},
    errors=WrappedError,
    query={
        "skip": {"type": "integer", "minimum": 0},
        "top": {"type": "integer", "minimum": 1, "maximum": 500},
        "status": {"type": "string"},
    },
)
async def dashboard_job_items(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    """A page of a job's items (`?skip=&top=`, `?status=failed` for failures only)."""

    async def handle() -> func.HttpResponse:
        skip = _int(req, "skip", 0, 0, 10**9)
        top = _int(req, "top", 100, 1, MAX_TOP)
        status = _choice(req, "status", ("succeeded", "failed", "skipped", "pending"))
        page = await _source(req).items(
            SdkDurableClient(client),
            get_services(),
            req.route_params.get("jobId", ""),
            skip=skip,
            top=top,
            status=status,
        )
        return json_response(
            200,
            {
                "items": [r.to_json() for r in page.rows],
                "total": page.total,
                "skip": skip,
                "top": top,
            },
        )

    return await _guarded(req, handle)


@blueprint.route(route=JOB + "/views/{view}", methods=["GET"], auth_level=ANONYMOUS)
@blueprint.durable_client_input(client_name="client")
@operation(
    summary="A kind-specific view (document, page, series, training)",
    tags=("dashboard",),
    responses={200: {}},
    errors=WrappedError,
    response_types={200: "*/*"},
    query={"item": {"type": "integer"}, "page": {"type": "integer"}},
)
async def dashboard_job_view(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    """A kind-specific view of a job: `document`/`page`, `series`, `training`."""

    async def handle() -> func.HttpResponse:
        params: dict[str, Any] = dict(req.params)
        content = await _source(req).view(
            SdkDurableClient(client),
            get_services(),
            req.route_params.get("jobId", ""),
            req.route_params.get("view", ""),
            params,
        )
        if content.data is not None:
            return func.HttpResponse(
                content.data,
                status_code=200,
                mimetype=content.content_type,
                headers={"Cache-Control": "no-store"},
            )
        return json_response(200, content.json)

    return await _guarded(req, handle)


# ------------------------------------------------------------------------------ static pages
def static_file(relative: str) -> tuple[bytes, str] | None:
    """A file under `static/` (index.html for the root); None for anything outside it."""
    relative = relative.strip("/") or "index.html"
    path = (STATIC / relative).resolve()
    if STATIC not in path.parents or not path.is_file():
        return None
    kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return path.read_bytes(), kind


@blueprint.route(route="ui/{*path}", methods=["GET"], auth_level=ANONYMOUS)
@operation(
    summary="The dashboard's static files",
    tags=("dashboard",),
    responses={200: {}, 302: None},
    response_types={200: "*/*"},
)
def dashboard_ui(req: func.HttpRequest) -> func.HttpResponse:
    """The dashboard's pages, scripts and styles (no data; no key needed)."""
    if req.url.split("?", 1)[0].endswith("/ui"):  # relative asset URLs need the slash
        return func.HttpResponse(status_code=302, headers={"Location": "ui/"})
    found = static_file(req.route_params.get("path") or "")
    if found is None:
        return json_response(404, {"error": {"code": "NotFound", "message": "No such file."}})
    data, kind = found
    charset = "; charset=utf-8" if kind.startswith("text/") or kind.endswith("javascript") else ""
    return func.HttpResponse(
        data,
        status_code=200,
        headers={
            "Content-Type": kind + charset,
            "Cache-Control": "no-cache",
            "X-Content-Type-Options": "nosniff",
        },
    )
