"""HTTP triggers of the Document Intelligence batch API: thin adapters over `jobs.service`.

Routes (under the app's route prefix, so an SDK endpoint of `http://host:7071/api` works):
  POST   documentintelligence/documentModels/{modelId}:analyzeBatch              -> 202
  GET    documentintelligence/documentModels/{modelId}/analyzeBatchResults       -> 200 list
  GET    documentintelligence/documentModels/{modelId}/analyzeBatchResults/{id}  -> 200
  DELETE documentintelligence/documentModels/{modelId}/analyzeBatchResults/{id}  -> 204
  POST   documentintelligence/documentModels/{modelId}/analyzeBatchResults/{id}:cancel -> 202
"""
from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import quote, urlencode

import azure.durable_functions as df
import azure.functions as func
from pydantic import ValidationError

from batchinfer.api.document_intelligence.schemas import (
    API_VERSION,
    AnalyzeBatchDocumentsRequest,
    batch_operation_body,
)
from batchinfer.api.auth import require_api_key
from batchinfer.api.errors import (
    ApiError,
    api_base,
    guarded,
    bad_request,
    from_validation_error,
    json_response,
    not_found,
    parse_json_body,
    wrapped_error_response,
)
from batchinfer.jobs import service
from batchinfer.jobs.model import ANALYZE_OPTIONS, DOCUMENT_ANALYSIS, JobSpec
from batchinfer.models.ocr.options import AnalyzeOptions, OptionError, parse_options
from batchinfer.services import Services, get_services
from batchinfer.storage import InvalidPathError, UrlNotAllowedError, validate_blob_name
from batchinfer.storage.paths import validate_prefix

log = logging.getLogger("batchinfer.api.documentintelligence")
blueprint = df.Blueprint()

BASE = "documentintelligence/documentModels"
MODEL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._~-]{1,63}$")
REPEATABILITY_NAMESPACE = uuid.UUID("6f0c2d0e-3a4b-4f57-9a58-2b9f4f0c9d11")
PAGE_SIZE = 100
ANONYMOUS = func.AuthLevel.ANONYMOUS


def instance_id_for(model_id: str, result_id: str) -> str:
    """Orchestration ids encode the model, so listing one model's results is a prefix query."""
    return f"docbatch:{model_id}:{result_id}"


def _result_id_of(instance_id: str) -> str:
    return instance_id.rsplit(":", 1)[-1]


def _api_base(req: func.HttpRequest) -> str:
    return api_base(req, "documentintelligence")


def _operation_url(req: func.HttpRequest, model_id: str, result_id: str) -> str:
    return (f"{_api_base(req)}/{BASE}/{quote(model_id)}/analyzeBatchResults/{result_id}"
            f"?api-version={API_VERSION}")


async def _guarded(req: func.HttpRequest,
                   handler: Callable[[], Awaitable[func.HttpResponse]]) -> func.HttpResponse:
    async def authorised() -> func.HttpResponse:
        require_api_key(req, get_services().settings.api_keys)
        return await handler()

    return await guarded(authorised, wrapped_error_response, log)


def _model(req: func.HttpRequest, services: Services) -> str:
    model_id = req.route_params.get("modelId", "")
    if not MODEL_ID.match(model_id) or model_id not in services.registry:
        raise not_found(f"Model '{model_id}' was not found.", "ModelNotFound")
    return model_id


def _result_id(req: func.HttpRequest) -> str:
    raw = req.route_params.get("resultId", "")
    try:
        return str(uuid.UUID(raw))
    except ValueError:
        raise not_found(f"Analyze batch result '{raw}' was not found.") from None


ANALYSIS_OPTIONS = ("pages", "locale", "stringIndexType", "features", "queryFields",
                    "outputContentFormat", "output")
"""Analysis options: query parameters (what the official client sends) or body fields."""


def analysis_options(services: Services, model_id: str, request: AnalyzeBatchDocumentsRequest,
                     query: Mapping[str, str] | None = None) -> AnalyzeOptions:
    """The options the model is asked to honour; anything it cannot honour is a 400."""
    extra = dict(request.model_extra or {})
    unknown = sorted(set(extra) - set(ANALYSIS_OPTIONS))
    if unknown:
        raise ApiError(400, "InvalidArgument", "Invalid argument.", inner_code="InvalidParameter",
                       inner_message=f"Unknown request field '{unknown[0]}'.")
    raw = {**extra, **{k: v for k, v in (query or {}).items() if k in ANALYSIS_OPTIONS}}
    spec = services.registry.get(model_id)
    try:
        return parse_options(raw, spec.features, model_id, spec.content_formats)
    except OptionError as exc:
        raise ApiError(400, "InvalidArgument", "Invalid argument.", inner_code="InvalidParameter",
                       inner_message=exc.message) from None


def build_spec(services: Services, model_id: str, result_id: str,
               request: AnalyzeBatchDocumentsRequest,
               query: Mapping[str, str] | None = None) -> JobSpec:
    """Validate locations (allow-list, paths) and options before anything is stored or started."""
    options = analysis_options(services, model_id, request, query)
    source = request.azureBlobSource or request.azureBlobFileListSource
    assert source is not None
    try:
        services.policy.check(source.containerUrl)
        services.policy.check(request.resultContainerUrl)
    except UrlNotAllowedError as exc:
        raise bad_request("Invalid request.", "InvalidContentSourceFormat", exc.message) from None
    try:
        prefix = validate_prefix(getattr(source, "prefix", None) or "")
        file_list = getattr(source, "fileList", None)
        if file_list is not None:
            validate_blob_name(file_list)
        result_prefix = validate_prefix(request.resultPrefix or "")
    except InvalidPathError as exc:
        raise bad_request("Invalid request.", "InvalidParameter", exc.message) from None
    return JobSpec(
        job_id=result_id, kind=DOCUMENT_ANALYSIS, model_id=model_id,
        source_url=source.containerUrl, source_prefix=prefix, file_list=file_list,
        result_url=request.resultContainerUrl, result_prefix=result_prefix,
        overwrite=request.overwriteExisting, created=service.iso_z(None),
        options={ANALYZE_OPTIONS: options.to_json()},
    )


def _operation_body(view: service.JobView, *, with_result: bool = True) -> dict[str, Any]:
    result = None
    if with_result and view.report is not None:
        result = {key: view.report[key] for key in
                  ("succeededCount", "failedCount", "skippedCount", "details")}
    return batch_operation_body(
        result_id=view.job_id, status=view.status, percent=view.percent_completed,
        created=service.iso_z(view.created), updated=service.iso_z(view.updated),
        result=result, error=view.error if view.status == "failed" else None)


@blueprint.route(route=BASE + "/{modelId}:analyzeBatch", methods=["POST"], auth_level=ANONYMOUS)
@blueprint.durable_client_input(client_name="client")
async def analyze_batch(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    async def handle() -> func.HttpResponse:
        services = get_services()
        model_id = _model(req, services)
        try:
            request = AnalyzeBatchDocumentsRequest.model_validate(parse_json_body(req))
        except ValidationError as exc:
            raise from_validation_error(exc) from None
        repeat_id = req.headers.get("Repeatability-Request-ID")
        result_id = str(uuid.uuid5(REPEATABILITY_NAMESPACE, f"{model_id}|{repeat_id}")
                        if repeat_id else uuid.uuid4())
        spec = build_spec(services, model_id, result_id, request, dict(req.params))
        await service.submit_job(client, services, spec, instance_id_for(model_id, result_id))
        await service.sweep_expired_jobs(client, services, "docbatch:", _result_id_of)
        headers = {"Operation-Location": _operation_url(req, model_id, result_id)}
        if repeat_id:
            headers["Repeatability-Result"] = "accepted"
        return func.HttpResponse(status_code=202, headers=headers)

    return await _guarded(req, handle)


@blueprint.route(route=BASE + "/{modelId}/analyzeBatchResults", methods=["GET"],
                 auth_level=ANONYMOUS)
@blueprint.durable_client_input(client_name="client")
async def list_analyze_batch_results(req: func.HttpRequest,
                                     client: df.DurableOrchestrationClient) -> func.HttpResponse:
    async def handle() -> func.HttpResponse:
        services = get_services()
        model_id = _model(req, services)
        try:
            skip = max(0, int(req.params.get("skip", "0")))
        except ValueError:
            raise bad_request("Invalid request.", "InvalidParameter",
                              "skip must be a non-negative integer.") from None
        await service.sweep_expired_jobs(client, services, "docbatch:", _result_id_of)
        statuses = await service.list_jobs(client, instance_id_for(model_id, ""))
        page = statuses[skip: skip + PAGE_SIZE]
        body: dict[str, Any] = {"value": [
            _operation_body(service.view_from_status(s, _result_id_of(s.instance_id), None),
                            with_result=False) for s in page]}
        if skip + PAGE_SIZE < len(statuses):
            query = urlencode({"api-version": API_VERSION, "skip": skip + PAGE_SIZE})
            body["nextLink"] = f"{_api_base(req)}/{BASE}/{quote(model_id)}/analyzeBatchResults?{query}"
        return json_response(200, body)

    return await _guarded(req, handle)


async def _existing(req: func.HttpRequest, client: Any, services: Services,
                    *, with_report: bool = True) -> service.JobView:
    model_id = _model(req, services)
    result_id = _result_id(req)
    view = await service.get_job(client, services, instance_id_for(model_id, result_id),
                                 result_id, with_report=with_report)
    if view is None:
        raise not_found(f"Analyze batch result '{result_id}' was not found.")
    return view


@blueprint.route(route=BASE + "/{modelId}/analyzeBatchResults/{resultId}",
                 methods=["GET", "DELETE"], auth_level=ANONYMOUS)
@blueprint.durable_client_input(client_name="client")
async def analyze_batch_result(req: func.HttpRequest,
                               client: df.DurableOrchestrationClient) -> func.HttpResponse:
    async def handle() -> func.HttpResponse:
        services = get_services()
        if req.method.upper() == "DELETE":
            view = await _existing(req, client, services, with_report=False)
            await service.delete_job(client, services, view)
            return func.HttpResponse(status_code=204)
        view = await _existing(req, client, services)
        return json_response(200, _operation_body(view))

    return await _guarded(req, handle)


@blueprint.route(route=BASE + "/{modelId}/analyzeBatchResults/{resultId}:cancel",
                 methods=["POST"], auth_level=ANONYMOUS)
@blueprint.durable_client_input(client_name="client")
async def cancel_analyze_batch(req: func.HttpRequest,
                               client: df.DurableOrchestrationClient) -> func.HttpResponse:
    async def handle() -> func.HttpResponse:
        services = get_services()
        view = await _existing(req, client, services, with_report=False)
        if view.finished:
            raise ApiError(409, "Conflict", f"The operation already finished ({view.status}).")
        await service.cancel_job(client, services, view)
        model_id = req.route_params["modelId"]
        return func.HttpResponse(status_code=202, headers={
            "Operation-Location": _operation_url(req, model_id, view.job_id)})

    return await _guarded(req, handle)
