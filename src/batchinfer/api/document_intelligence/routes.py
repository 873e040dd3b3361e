"""HTTP triggers of the Document Intelligence batch API: thin adapters over `jobs.service`.

Routes (under the app's route prefix, so an SDK endpoint of `http://host:7071/api` works):
  POST   documentintelligence/documentModels/{modelId}:analyzeBatch              -> 202
  GET    documentintelligence/documentModels/{modelId}/analyzeBatchResults       -> 200 list
  GET    documentintelligence/documentModels/{modelId}/analyzeBatchResults/{id}  -> 200
  DELETE documentintelligence/documentModels/{modelId}/analyzeBatchResults/{id}  -> 204
  POST   documentintelligence/documentModels/{modelId}/analyzeBatchResults/{id}:cancel -> 202
  GET    documentintelligence/documentModels/{modelId}/analyzeBatchResults/{id}/details -> 200
         (extension: the details past the status body's first 10,000, in pages)
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote, urlencode

import azure.durable_functions as df
import azure.functions as func
from pydantic import ValidationError

from batchinfer.api.auth import require_api_key
from batchinfer.api.document_intelligence.requests import build_spec, check_model
from batchinfer.api.document_intelligence.schemas import (
    API_VERSION,
    AnalyzeBatchDocumentsRequest,
    batch_operation_body,
    batch_result_body,
    details_page_body,
)
from batchinfer.api.errors import (
    ApiError,
    api_base,
    bad_request,
    from_validation_error,
    guarded,
    json_response,
    not_found,
    parse_json_body,
    wrapped_error_response,
)
from batchinfer.api.openapi import operation
from batchinfer.api.openapi.shapes import WrappedError
from batchinfer.jobs import service
from batchinfer.jobs.details import DETAILS_PAGE_SIZE, read_details
from batchinfer.jobs.model import JobStatus
from batchinfer.orchestration.client import DurableClient
from batchinfer.orchestration.instance_ids import (
    document_batch_id,
    document_batch_prefix,
    repeatable_result_id,
    result_id_of,
)
from batchinfer.orchestration.sdk_client import SdkDurableClient
from batchinfer.wiring import Services, get_services

log = logging.getLogger("batchinfer.api.documentintelligence")
blueprint = df.Blueprint()

BASE = "documentintelligence/documentModels"
PAGE_SIZE = 100
ANONYMOUS = func.AuthLevel.ANONYMOUS


def _api_base(req: func.HttpRequest) -> str:
    return api_base(req, "documentintelligence")


def _operation_url(req: func.HttpRequest, model_id: str, result_id: str) -> str:
    return (
        f"{_api_base(req)}/{BASE}/{quote(model_id)}/analyzeBatchResults/{result_id}"
        f"?api-version={API_VERSION}"
    )


async def _guarded(
    req: func.HttpRequest, handler: Callable[[], Awaitable[func.HttpResponse]]
) -> func.HttpResponse:
    async def authorised() -> func.HttpResponse:
        require_api_key(req, get_services().settings.api_keys)
        _check_api_version(req)
        return await handler()

    return await guarded(authorised, wrapped_error_response, log)


SUPPORTED_API_VERSIONS = frozenset({API_VERSION})


def _check_api_version(req: func.HttpRequest) -> None:
    """The service answers only the versions it implements (what azure-ai-documentintelligence
    1.0.2 sends is 2024-11-30); anything else, or none, is a 400."""
    version = req.params.get("api-version")
    if version not in SUPPORTED_API_VERSIONS:
        shown = "missing" if version is None else "not supported"
        raise ApiError(
            400,
            "InvalidRequest",
            f"The api-version query parameter is {shown}.",
            inner_code="UnsupportedApiVersion",
            inner_message=f"Supported versions: {', '.join(sorted(SUPPORTED_API_VERSIONS))}.",
        )


def _model(req: func.HttpRequest, services: Services) -> str:
    return check_model(services, req.route_params.get("modelId", ""))


def _result_id(req: func.HttpRequest) -> str:
    raw = req.route_params.get("resultId", "")
    try:
        return str(uuid.UUID(raw))
    except ValueError:
        raise not_found(f"Analyze batch result '{raw}' was not found.") from None


def _repeatability_id(req: func.HttpRequest) -> str | None:
    """The client's retry id: printable ASCII, at most 256 characters, else a 400."""
    value: str | None = req.headers.get("Repeatability-Request-ID")
    if value is None:
        return None
    if not value or len(value) > 256 or not (value.isascii() and value.isprintable()):
        raise bad_request(
            "Invalid request.",
            "InvalidParameter",
            "Repeatability-Request-ID must be 1 to 256 printable ASCII characters.",
        )
    return value


def _details_link(req: func.HttpRequest, model_id: str, result_id: str) -> str:
    """The details extension's URL for a job, `api-version` set (paging adds skip and top)."""
    return (
        f"{_api_base(req)}/{BASE}/{quote(model_id)}/analyzeBatchResults/{result_id}/details"
        f"?api-version={API_VERSION}"
    )


def _operation_body(
    view: service.JobView, *, with_result: bool = True, details_link: str | None = None
) -> dict[str, Any]:
    result = None
    if with_result and view.report is not None:
        result = batch_result_body(view.report, details_link)
    error = view.error.to_json() if view.error and view.status == JobStatus.FAILED else None
    return batch_operation_body(
        result_id=view.job_id,
        status=view.status,
        percent=view.percent_completed,
        created=service.iso_z(view.created),
        updated=service.iso_z(view.updated),
        result=result,
        error=error,
    )


@blueprint.route(route=BASE + "/{modelId}:analyzeBatch", methods=["POST"], auth_level=ANONYMOUS)
@blueprint.durable_client_input(client_name="client")
@operation(
    summary="Start a batch analysis",
    tags=("documentintelligence",),
    request=AnalyzeBatchDocumentsRequest,
    responses={202: None},
    errors=WrappedError,
    query={"api-version": {"type": "string"}},
)
async def analyze_batch(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    async def handle() -> func.HttpResponse:
        services = get_services()
        model_id = _model(req, services)
        try:
            request = AnalyzeBatchDocumentsRequest.model_validate(parse_json_body(req))
        except ValidationError as exc:
            raise from_validation_error(exc) from None
        repeat_id = _repeatability_id(req)
        result_id = repeatable_result_id(model_id, repeat_id) if repeat_id else str(uuid.uuid4())
        spec = build_spec(services, model_id, result_id, request, dict(req.params))
        durable = SdkDurableClient(client)
        await service.submit_job(durable, services, spec, document_batch_id(model_id, result_id))
        await service.sweep_expired_jobs(durable, services, document_batch_prefix(), result_id_of)
        headers = {"Operation-Location": _operation_url(req, model_id, result_id)}
        if repeat_id:
            headers["Repeatability-Result"] = "accepted"
        return func.HttpResponse(status_code=202, headers=headers)

    return await _guarded(req, handle)


@blueprint.route(
    route=BASE + "/{modelId}/analyzeBatchResults", methods=["GET"], auth_level=ANONYMOUS
)
@blueprint.durable_client_input(client_name="client")
@operation(
    summary="List batch analyses of a model",
    tags=("documentintelligence",),
    responses={200: {"type": "object", "required": ["value"]}},
    errors=WrappedError,
    query={"api-version": {"type": "string"}, "skip": {"type": "integer", "minimum": 0}},
)
async def list_analyze_batch_results(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    async def handle() -> func.HttpResponse:
        services = get_services()
        model_id = _model(req, services)
        try:
            skip = max(0, int(req.params.get("skip", "0")))
        except ValueError:
            raise bad_request(
                "Invalid request.", "InvalidParameter", "skip must be a non-negative integer."
            ) from None
        durable = SdkDurableClient(client)
        await service.sweep_expired_jobs(durable, services, document_batch_prefix(), result_id_of)
        statuses = await service.list_jobs(durable, document_batch_prefix(model_id))
        page = statuses[skip : skip + PAGE_SIZE]
        body: dict[str, Any] = {
            "value": [
                _operation_body(
                    service.view_from_status(s, result_id_of(s.instance_id), None),
                    with_result=False,
                )
                for s in page
            ]
        }
        if skip + PAGE_SIZE < len(statuses):
            query = urlencode({"api-version": API_VERSION, "skip": skip + PAGE_SIZE})
            results = f"{_api_base(req)}/{BASE}/{quote(model_id)}/analyzeBatchResults"
            body["nextLink"] = f"{results}?{query}"
        return json_response(200, body)

    return await _guarded(req, handle)


async def _existing(
    req: func.HttpRequest, client: DurableClient, services: Services, *, with_report: bool = True
) -> service.JobView:
    model_id = _model(req, services)
    result_id = _result_id(req)
    view = await service.get_job(
        client, services, document_batch_id(model_id, result_id), result_id, with_report=with_report
    )
    if view is None:
        raise not_found(f"Analyze batch result '{result_id}' was not found.")
    return view


@blueprint.route(
    route=BASE + "/{modelId}/analyzeBatchResults/{resultId}",
    methods=["GET", "DELETE"],
    auth_level=ANONYMOUS,
)
@blueprint.durable_client_input(client_name="client")
@operation(
    method="GET",
    summary="A batch analysis and its report",
    tags=("documentintelligence",),
    responses={200: {"type": "object", "required": ["resultId", "status"]}},
    errors=WrappedError,
    query={"api-version": {"type": "string"}},
)
@operation(
    method="DELETE",
    summary="Delete a batch analysis",
    tags=("documentintelligence",),
    responses={204: None},
    errors=WrappedError,
    query={"api-version": {"type": "string"}},
)
async def analyze_batch_result(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    async def handle() -> func.HttpResponse:
        services = get_services()
        durable = SdkDurableClient(client)
        if req.method.upper() == "DELETE":
            view = await _existing(req, durable, services, with_report=False)
            await service.delete_job(durable, services, view)
            return func.HttpResponse(status_code=204)
        view = await _existing(req, durable, services)
        link = _details_link(req, _model(req, services), view.job_id)
        return json_response(200, _operation_body(view, details_link=link))

    return await _guarded(req, handle)


def _paging(req: func.HttpRequest) -> tuple[int, int]:
    """`skip` (default 0) and `top` (default and at most 10,000) of a details page, or a 400."""
    try:
        skip = int(req.params.get("skip", "0"))
        top = int(req.params.get("top", str(DETAILS_PAGE_SIZE)))
    except ValueError:
        skip = top = -1
    if skip < 0 or not 1 <= top <= DETAILS_PAGE_SIZE:
        raise bad_request(
            "Invalid request.",
            "InvalidParameter",
            f"skip must be a non-negative integer and top an integer from 1 to "
            f"{DETAILS_PAGE_SIZE}.",
        )
    return skip, top


@blueprint.route(
    route=BASE + "/{modelId}/analyzeBatchResults/{resultId}/details",
    methods=["GET"],
    auth_level=ANONYMOUS,
)
@blueprint.durable_client_input(client_name="client")
@operation(
    summary="A page of a finished batch analysis's details (extension)",
    tags=("documentintelligence",),
    responses={200: {"type": "object", "required": ["value"]}},
    errors=WrappedError,
    query={
        "api-version": {"type": "string"},
        "skip": {"type": "integer", "minimum": 0},
        "top": {"type": "integer", "minimum": 1, "maximum": DETAILS_PAGE_SIZE},
    },
)
async def analyze_batch_details(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    """Every document's detail of a job of any size, in pages: the status body lists the first
    10,000 (the most the service's batches hold) and links here for the rest."""

    async def handle() -> func.HttpResponse:
        services = get_services()
        skip, top = _paging(req)
        view = await _existing(req, SdkDurableClient(client), services)
        if not view.finished:
            raise ApiError(
                409,
                "Conflict",
                f"The operation has not finished ({view.status}): details are reported when "
                "it has.",
            )
        if view.report is None:  # ended without a report (the orchestration itself failed)
            return json_response(200, {"value": []})
        report = view.report
        details = await asyncio.to_thread(
            read_details, services.job_store, view.job_id, report, skip, top
        )
        link = _details_link(req, _model(req, services), view.job_id)
        return json_response(200, details_page_body(details, skip, report.total_details, link))

    return await _guarded(req, handle)


@blueprint.route(
    route=BASE + "/{modelId}/analyzeBatchResults/{resultId}:cancel",
    methods=["POST"],
    auth_level=ANONYMOUS,
)
@blueprint.durable_client_input(client_name="client")
@operation(
    summary="Cancel a running batch analysis (extension)",
    tags=("documentintelligence",),
    responses={202: None},
    errors=WrappedError,
    query={"api-version": {"type": "string"}},
)
async def cancel_analyze_batch(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    async def handle() -> func.HttpResponse:
        services = get_services()
        durable = SdkDurableClient(client)
        view = await _existing(req, durable, services, with_report=False)
        if view.finished:
            raise ApiError(409, "Conflict", f"The operation already finished ({view.status}).")
        await service.cancel_job(durable, services, view)
        model_id = req.route_params["modelId"]
        return func.HttpResponse(
            status_code=202,
            headers={"Operation-Location": _operation_url(req, model_id, view.job_id)},
        )

    return await _guarded(req, handle)
