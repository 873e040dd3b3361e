"""HTTP triggers of Anomaly Detector multivariate v1.1 (thin adapters over `anomaly.steps`).

Routes, under the app's route prefix (SDK endpoint `http://host:7071/api`):
  POST   anomalydetector/v1.1/multivariate/models                        -> 201 + Location
  GET    anomalydetector/v1.1/multivariate/models?skip=&top=             -> 200 list
  GET    anomalydetector/v1.1/multivariate/models/{modelId}              -> 200
  DELETE anomalydetector/v1.1/multivariate/models/{modelId}              -> 204
  POST   anomalydetector/v1.1/multivariate/models/{modelId}:detect-batch -> 202 + Operation-Location
  GET    anomalydetector/v1.1/multivariate/detect-batch/{resultId}       -> 200
  POST   anomalydetector/v1.1/multivariate/models/{modelId}:detect-last  -> 200
Errors are top-level `{"code", "message"}`, as the service answers.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

import azure.durable_functions as df
import azure.functions as func
from pydantic import ValidationError

from batchinfer.anomaly import steps
from batchinfer.anomaly.data_source import check_data_source
from batchinfer.anomaly.status import MvadStatus
from batchinfer.api.anomaly_detector.last_body import read_last_request
from batchinfer.api.anomaly_detector.schemas import (
    DetectBatchRequest,
    DetectLastRequest,
    ModelInfoRequest,
)
from batchinfer.api.auth import require_api_key
from batchinfer.api.errors import (
    ApiError,
    api_base,
    guarded,
    json_response,
    parse_json_body,
    top_level_error_response,
)
from batchinfer.api.openapi import operation
from batchinfer.api.openapi.shapes import TopLevelError
from batchinfer.jobs.retention import sweep_expired
from batchinfer.models.mvad import MvadDataError, detect_last
from batchinfer.models.mvad.series import parse_time
from batchinfer.orchestration.client import DurableClient, InstanceStatus, RuntimeStatus
from batchinfer.orchestration.instance_ids import (
    MVAD_DETECT_PREFIX,
    mvad_detect_id,
    mvad_detect_result_id,
    mvad_train_id,
)
from batchinfer.orchestration.names import MVAD_DETECT, MVAD_TRAIN
from batchinfer.orchestration.sdk_client import SdkDurableClient
from batchinfer.storage import UrlNotAllowedError
from batchinfer.wiring import Services, get_services

log = logging.getLogger("batchinfer.api.anomalydetector")
blueprint = df.Blueprint()

BASE = "anomalydetector/v1.1/multivariate"
MAX_MODELS = 1000
ANONYMOUS = func.AuthLevel.ANONYMOUS
ACTIVE = (RuntimeStatus.PENDING, RuntimeStatus.RUNNING, RuntimeStatus.SUSPENDED)


def _api_base(req: func.HttpRequest) -> str:
    return api_base(req, "anomalydetector")


async def _guarded(
    req: func.HttpRequest, handler: Callable[[], Awaitable[func.HttpResponse]]
) -> func.HttpResponse:
    async def with_data_errors() -> func.HttpResponse:
        try:
            require_api_key(req, get_services().settings.api_keys)
            return await handler()
        except MvadDataError as error:  # the model package's own codes, reported as they are
            return json_response(400, error.to_json())

    return await guarded(with_data_errors, top_level_error_response, log)


def _invalid(exc: ValidationError) -> ApiError:
    first = exc.errors()[0]
    path = ".".join(str(p) for p in first.get("loc", ())) or "body"
    return ApiError(
        400,
        "InvalidParameter",
        f"{path}: {first.get('msg', 'invalid value')}",
        inner_code="InvalidParameter",
    )


def _body(req: func.HttpRequest, model: type[Any]) -> Any:
    try:
        return model.model_validate(parse_json_body(req))
    except ValidationError as exc:
        raise _invalid(exc) from None


def _body_json(req: func.HttpRequest, model: type[Any]) -> Any:
    """Parse and validate straight from the body bytes (pydantic's parser, not json.loads)."""
    body = req.get_body()
    if not body:
        raise ApiError(
            400, "InvalidParameter", "The request body is empty.", inner_code="InvalidParameter"
        )
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        raise _invalid(exc) from None


def _time_range(start: str, end: str) -> None:
    first, last = parse_time(start, "startTime"), parse_time(end, "endTime")
    if first is not None and last is not None and last < first:
        raise MvadDataError("InvalidTimeRange", "endTime must be later than or equal to startTime.")


def _checked_source(services: Services, url: str) -> str:
    try:
        return check_data_source(url, services.policy).redacted
    except UrlNotAllowedError as exc:
        raise ApiError(
            400, "InvalidDataSource", exc.message, inner_code="InvalidDataSource"
        ) from None


def _model_id(req: func.HttpRequest) -> str:
    raw = req.route_params.get("modelId", "")
    try:
        return str(uuid.UUID(raw))
    except ValueError:
        raise ApiError(
            404, "ModelNotExist", f"Model '{raw}' does not exist.", inner_code="ModelNotExist"
        ) from None


def _record(services: Services, model_id: str) -> dict[str, Any]:
    record = services.models.load_record(model_id)
    if record is None:
        raise ApiError(
            404, "ModelNotExist", f"Model '{model_id}' does not exist.", inner_code="ModelNotExist"
        )
    return record


def _ready_model(services: Services, model_id: str) -> dict[str, Any]:
    record = _record(services, model_id)
    status = record["modelInfo"]["status"]
    if status != MvadStatus.READY:
        raise ApiError(
            400,
            "ModelNotReady",
            f"Model '{model_id}' is {status}, not READY.",
            inner_code="ModelNotReady",
        )
    return record


# ------------------------------------------------------------------------------------ models
@blueprint.route(route=BASE + "/models", methods=["POST", "GET"], auth_level=ANONYMOUS)
@blueprint.durable_client_input(client_name="client")
@operation(
    method="POST",
    summary="Train a model",
    tags=("anomalydetector",),
    request=ModelInfoRequest,
    errors=TopLevelError,
    responses={201: {"type": "object", "required": ["modelId", "modelInfo"]}},
)
@operation(
    method="GET",
    summary="List models",
    tags=("anomalydetector",),
    errors=TopLevelError,
    responses={200: {"type": "object", "required": ["models", "currentCount", "maxCount"]}},
    query={"skip": {"type": "integer"}, "top": {"type": "integer"}},
)
async def multivariate_models(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    async def train() -> func.HttpResponse:
        services = get_services()
        request = _body(req, ModelInfoRequest)
        _time_range(request.startTime, request.endTime)
        redacted = _checked_source(services, request.dataSource)
        if len(await asyncio.to_thread(services.models.list_records)) >= MAX_MODELS:
            raise ApiError(
                400,
                "ModelCountLimitExceeded",
                f"At most {MAX_MODELS} models can exist; delete some first.",
            )
        model_id = str(uuid.uuid4())
        now = steps.now_iso()
        info = request.model_dump(mode="json")
        info.update(
            {
                "dataSource": redacted,
                "status": MvadStatus.CREATED,
                "errors": [],
                "diagnosticsInfo": {
                    "modelState": {
                        "epochIds": [],
                        "trainLosses": [],
                        "validationLosses": [],
                        "latenciesInSeconds": [],
                    },
                    "variableStates": [],
                },
            }
        )
        record = {
            "modelId": model_id,
            "createdTime": now,
            "lastUpdatedTime": now,
            "modelInfo": info,
        }
        await asyncio.to_thread(services.models.save_record, model_id, record)
        await asyncio.to_thread(
            services.job_store.save_document,
            steps.train_job_id(model_id),
            "request.json",
            {"dataSource": request.dataSource},
        )
        await SdkDurableClient(client).start(
            orchestration=MVAD_TRAIN,
            instance_id=mvad_train_id(model_id),
            payload={"modelId": model_id},
        )
        location = f"{_api_base(req)}/{BASE}/models/{model_id}"
        return json_response(201, record, {"Location": location})

    async def listing() -> func.HttpResponse:
        services = get_services()
        try:
            skip = int(req.params.get("skip", "0"))
            top = int(req.params.get("top", "10"))
        except ValueError:
            raise ApiError(400, "InvalidParameter", "skip and top must be integers.") from None
        if skip < 0 or not 1 <= top <= 1000:
            raise ApiError(400, "InvalidParameter", "skip must be >= 0 and top 1..1000.")
        records = await asyncio.to_thread(services.models.list_records)
        body: dict[str, Any] = {
            "models": records[skip : skip + top],
            "currentCount": len(records),
            "maxCount": MAX_MODELS,
        }
        if skip + top < len(records):
            query = urlencode({"skip": skip + top, "top": top})
            body["nextLink"] = f"{_api_base(req)}/{BASE}/models?{query}"
        return json_response(200, body)

    return await _guarded(req, train if req.method.upper() == "POST" else listing)


@blueprint.route(route=BASE + "/models/{modelId}", methods=["GET", "DELETE"], auth_level=ANONYMOUS)
@blueprint.durable_client_input(client_name="client")
@operation(
    method="GET",
    summary="A model",
    tags=("anomalydetector",),
    errors=TopLevelError,
    responses={200: {"type": "object", "required": ["modelId", "modelInfo"]}},
)
@operation(
    method="DELETE",
    summary="Delete a model",
    tags=("anomalydetector",),
    responses={204: None},
    errors=TopLevelError,
)
async def multivariate_model(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    async def handle() -> func.HttpResponse:
        services = get_services()
        model_id = _model_id(req)
        record = await asyncio.to_thread(_record, services, model_id)
        if req.method.upper() == "GET":
            return json_response(200, record)
        durable = SdkDurableClient(client)
        instance = mvad_train_id(model_id)
        status = await durable.get_status(instance_id=instance)
        if status is not None and status.runtime_status in ACTIVE:
            await durable.terminate(instance_id=instance, reason="model deleted")
        await asyncio.to_thread(services.models.delete, model_id)
        if status is not None:
            for _ in range(50):
                current = await durable.get_status(instance_id=instance)
                if current is None or current.runtime_status not in ACTIVE:
                    break
                await asyncio.sleep(0.1)
            await durable.purge(instance_id=instance)
        return func.HttpResponse(status_code=204)

    return await _guarded(req, handle)


# ------------------------------------------------------------------------------ detect-batch
@blueprint.route(
    route=BASE + "/models/{modelId}:detect-batch", methods=["POST"], auth_level=ANONYMOUS
)
@blueprint.durable_client_input(client_name="client")
@operation(
    summary="Start batch detection",
    tags=("anomalydetector",),
    request=DetectBatchRequest,
    responses={202: {"type": "object", "required": ["resultId", "summary"]}},
    errors=TopLevelError,
)
async def detect_batch(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    async def handle() -> func.HttpResponse:
        services = get_services()
        model_id = _model_id(req)
        await asyncio.to_thread(_ready_model, services, model_id)
        request = _body(req, DetectBatchRequest)
        _time_range(request.startTime, request.endTime)
        redacted = _checked_source(services, request.dataSource)
        result_id = str(uuid.uuid4())
        setup = {
            "dataSource": redacted,
            "topContributorCount": request.topContributorCount,
            "startTime": request.startTime,
            "endTime": request.endTime,
        }
        summary = {
            "status": MvadStatus.CREATED,
            "errors": [],
            "variableStates": [],
            "setupInfo": setup,
            "modelId": model_id,
        }
        job = steps.detect_job_id(result_id)
        await asyncio.to_thread(services.job_store.save_document, job, "summary.json", summary)
        await asyncio.to_thread(
            services.job_store.save_document,
            job,
            "request.json",
            {"modelId": model_id, "dataSource": request.dataSource},
        )
        durable = SdkDurableClient(client)
        await durable.start(
            orchestration=MVAD_DETECT,
            instance_id=mvad_detect_id(result_id),
            payload={"resultId": result_id},
        )
        await sweep_expired_detections(durable, services)
        location = f"{_api_base(req)}/{BASE}/detect-batch/{result_id}"
        body = {"resultId": result_id, "summary": _public(summary), "results": []}
        return json_response(202, body, {"Operation-Location": location, "Operation-Id": result_id})

    return await _guarded(req, handle)


async def sweep_expired_detections(client: DurableClient, services: Services) -> int:
    """Delete detection results (stored state and durable history) past the retention period.

    Runs with detect-batch submissions, at most once per interval; models stay until deleted.
    """

    async def remove(status: InstanceStatus) -> None:
        result_id = mvad_detect_result_id(status.instance_id)
        await asyncio.to_thread(services.job_store.delete_job, steps.detect_job_id(result_id))
        await client.purge(instance_id=status.instance_id)

    return await sweep_expired(
        client, services, instance_prefix=MVAD_DETECT_PREFIX, orchestration=None, remove=remove
    )


def _public(summary: dict[str, Any]) -> dict[str, Any]:
    return {key: summary[key] for key in ("status", "errors", "variableStates", "setupInfo")}


@blueprint.route(route=BASE + "/detect-batch/{resultId}", methods=["GET"], auth_level=ANONYMOUS)
@operation(
    summary="A batch detection result",
    tags=("anomalydetector",),
    errors=TopLevelError,
    responses={200: {"type": "object", "required": ["resultId", "summary", "results"]}},
    query={"skip": {"type": "integer"}, "top": {"type": "integer"}},
)
async def detect_batch_result(req: func.HttpRequest) -> func.HttpResponse:
    async def handle() -> func.HttpResponse:
        services = get_services()
        raw = req.route_params.get("resultId", "")
        try:
            result_id = str(uuid.UUID(raw))
            summary = await asyncio.to_thread(steps.load_summary, services, result_id)
        except (ValueError, LookupError):
            raise ApiError(
                404,
                "ResultNotExist",
                f"Result '{raw}' does not exist.",
                inner_code="ResultNotExist",
            ) from None
        try:  # our extension: page through very long ranges with ?skip=&top=
            skip = max(0, int(req.params.get("skip", "0")))
            top = int(req.params["top"]) if "top" in req.params else None
        except ValueError:
            raise ApiError(400, "InvalidParameter", "skip and top must be integers.") from None
        results: list[str] = []
        if summary["status"] == MvadStatus.READY:  # each result already JSON: see ChunkScores
            results = await asyncio.to_thread(
                steps.detection_results_json,
                services,
                result_id,
                skip,
                None if top is None else max(0, top),
            )
        head = json.dumps({"resultId": result_id, "summary": _public(summary)})
        body = f'{head[:-1]}, "results": [{", ".join(results)}]}}'
        return func.HttpResponse(body, status_code=200, mimetype="application/json")

    return await _guarded(req, handle)


# ------------------------------------------------------------------------------- detect-last
@blueprint.route(
    route=BASE + "/models/{modelId}:detect-last", methods=["POST"], auth_level=ANONYMOUS
)
@operation(
    summary="Detect the last timestamp",
    tags=("anomalydetector",),
    request=DetectLastRequest,
    errors=TopLevelError,
    responses={200: {"type": "object", "required": ["variableStates", "results"]}},
)
async def detect_last_point(req: func.HttpRequest) -> func.HttpResponse:
    async def handle() -> func.HttpResponse:
        services = get_services()
        model_id = _model_id(req)
        await asyncio.to_thread(_ready_model, services, model_id)
        body = req.get_body()
        if not body:
            raise ApiError(
                400, "InvalidParameter", "The request body is empty.", inner_code="InvalidParameter"
            )

        def run() -> dict[str, Any]:
            try:  # bodies reach ~38 MB: see last_body for how they are read fast
                request = read_last_request(body)
            except ValidationError as exc:
                raise _invalid(exc) from None
            model = services.models.load_model(model_id, steps.MODEL_VERSION)
            series = steps.series_from_variables(request.variables)
            result = detect_last(model, series, request.top_contributor_count)
            return {"variableStates": result.variable_states, "results": result.results}

        return json_response(200, await asyncio.to_thread(run))

    return await _guarded(req, handle)
