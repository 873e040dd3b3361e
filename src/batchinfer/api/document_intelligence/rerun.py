"""Our extension of the batch API: rerun the failed items of a finished batch as a new batch.

  POST documentintelligence/documentModels/{modelId}/analyzeBatchResults/{resultId}:rerunFailed
       optional body {"azureBlobSource": {"containerUrl"}, "resultContainerUrl"}  -> 202

The new batch has its own result id (in `Operation-Location`, like analyzeBatch) and processes
exactly the items the original reported `failed`, writing results where the original did.
Container URLs default to the original's (without SAS); send them again when a SAS is needed.
"""

from __future__ import annotations

import azure.durable_functions as df
import azure.functions as func
from pydantic import BaseModel, ConfigDict, StrictStr, ValidationError

from batchinfer.api.document_intelligence.routes import _existing, _guarded, _operation_url
from batchinfer.api.errors import ApiError, bad_request, from_validation_error, parse_json_body
from batchinfer.api.openapi import operation
from batchinfer.api.openapi.shapes import WrappedError
from batchinfer.jobs.rerun import RerunRefused, RerunRequest, rerun_failed
from batchinfer.orchestration.sdk_client import SdkDurableClient
from batchinfer.storage import UrlNotAllowedError
from batchinfer.wiring import get_services

blueprint = df.Blueprint()
ROUTE = "documentintelligence/documentModels/{modelId}/analyzeBatchResults/{resultId}:rerunFailed"


class RerunSource(BaseModel):
    model_config = ConfigDict(extra="ignore")

    containerUrl: StrictStr


class RerunFailedRequest(BaseModel):
    """Optional body: the containers again (with a SAS) when the original's need one."""

    model_config = ConfigDict(extra="ignore")

    azureBlobSource: RerunSource | None = None
    resultContainerUrl: StrictStr | None = None


@blueprint.route(route=ROUTE, methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@blueprint.durable_client_input(client_name="client")
@operation(
    summary="Rerun the failed items of a finished batch as a new batch (extension)",
    tags=("documentintelligence",),
    request=RerunFailedRequest,
    request_required=False,
    responses={202: None},
    errors=WrappedError,
    query={"api-version": {"type": "string"}},
)
async def rerun_failed_items(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    async def handle() -> func.HttpResponse:
        services = get_services()
        durable = SdkDurableClient(client)
        view = await _existing(req, durable, services, with_report=False)
        body = RerunFailedRequest()
        if req.get_body():
            try:
                body = RerunFailedRequest.model_validate(parse_json_body(req))
            except ValidationError as exc:
                raise from_validation_error(exc) from None
        request = RerunRequest(
            source_url=body.azureBlobSource.containerUrl if body.azureBlobSource else None,
            result_url=body.resultContainerUrl,
        )
        try:
            spec = await rerun_failed(durable, services, view, request)
        except RerunRefused as refused:
            raise ApiError(refused.status, refused.code, refused.message) from None
        except UrlNotAllowedError as exc:
            raise bad_request(
                "Invalid request.", "InvalidContentSourceFormat", exc.message
            ) from None
        return func.HttpResponse(
            status_code=202,
            headers={"Operation-Location": _operation_url(req, spec.model_id, spec.job_id)},
        )

    return await _guarded(req, handle)
