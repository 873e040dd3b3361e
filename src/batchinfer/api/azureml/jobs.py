"""Batch endpoint invoke and batch jobs, ARM-shaped.

  POST .../batchEndpoints/{endpoint}/jobs    the endpoint's scoringUri: invoke → 201 (200 when
                                             `repeatability_request-id` names a job already made)
  GET  .../batchEndpoints/{endpoint}/jobs    that endpoint's jobs
  GET  .../jobs[?$skiptoken=N]               every batch job, 100 per page, absolute nextLink
  GET  .../jobs/{name}                       one job: properties.status NotStarted → Running →
                                             Completed | Failed | Canceled
  POST .../jobs/{name}/cancel                202; CancelRequested until it stops

Invoke validates everything (endpoint, deployment, model, inputs, output, allow-list) before a
job exists, answers 4xx in ARM shape for a bad request and never a 5xx (azure-ai-ml would POST
again). A job runs on the generic `batch_job` orchestration with the scoring steps.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import quote

import azure.durable_functions as df
import azure.functions as func

from batchinfer.api.azureml.arm import (
    ANONYMOUS,
    WORKSPACE_ROUTE,
    arm_error,
    base_url,
    handle,
    parse,
    resource_name,
    workspace_id,
)
from batchinfer.api.azureml.schemas import InvokeProperties, InvokeRequest
from batchinfer.api.errors import ApiError, json_response
from batchinfer.endpoints.catalog import Catalog, CatalogError
from batchinfer.endpoints.config import format_timeout
from batchinfer.endpoints.steps import (
    INPUT_DISPLAY_OPTION,
    LOG_PREFIX_OPTION,
    LOG_URL_OPTION,
    OUTPUT_DISPLAY_OPTION,
    SCORING_OPTION,
    log_uri,
)
from batchinfer.endpoints.uris import DataUri, DataUriError
from batchinfer.endpoints.workspace import DEFAULT_DATASTORE
from batchinfer.jobs import service
from batchinfer.jobs.model import ITEMS_OPTION, JobSpec, JobStatus
from batchinfer.orchestration.client import DurableClient
from batchinfer.orchestration.instance_ids import (
    AZUREML_JOB_PREFIX,
    azureml_job_id,
    azureml_job_name,
    azureml_job_name_for,
)
from batchinfer.orchestration.names import AZUREML_BATCH_SCORING
from batchinfer.orchestration.sdk_client import SdkDurableClient
from batchinfer.storage import StorageError, UrlNotAllowedError
from batchinfer.wiring import Services, get_services

log = logging.getLogger("batchinfer.api.azureml")
blueprint = df.Blueprint()
WS = WORKSPACE_ROUTE
META = "azureml.json"
PAGE_SIZE = 100
STATUSES = {
    JobStatus.NOT_STARTED: "NotStarted",
    JobStatus.RUNNING: "Running",
    JobStatus.SUCCEEDED: "Completed",
    JobStatus.FAILED: "Failed",
    JobStatus.CANCELED: "Canceled",
}


def _bad(message: str, code: str = "BadRequest") -> ApiError:
    return arm_error(400, code, message)


def _check(services: Services, resolved: DataUri) -> None:
    try:
        services.locate(resolved.container_url)
    except UrlNotAllowedError as exc:
        raise _bad(f"{resolved.display}: {exc.message}") from None


def _input(
    services: Services, catalog: Catalog, props: InvokeProperties
) -> tuple[DataUri, bool, dict[str, Any]]:
    """The one file or folder input: (location, is folder, what the job GET shows)."""
    data = {k: v for k, v in (props.inputData or {}).items() if v.jobInputType != "Literal"}
    if not data and props.dataset is not None:
        raise _bad("V1 datasets are not supported; send inputData with a UriFolder or UriFile.")
    if len(data) != 1:
        raise _bad(
            "A batch endpoint job takes exactly one UriFolder or UriFile input in "
            f"properties.inputData; got {len(data)}."
        )
    key, job_input = next(iter(data.items()))
    if job_input.jobInputType not in ("UriFolder", "UriFile"):
        raise _bad(
            f"Input '{key}': jobInputType {job_input.jobInputType} is not supported; "
            "use UriFolder or UriFile."
        )
    if not job_input.uri:
        raise _bad(f"Input '{key}' needs a uri.")
    folder = job_input.jobInputType == "UriFolder"
    try:
        resolved = catalog.resolve(job_input.uri, is_folder=folder)
    except DataUriError as exc:
        raise _bad(f"Input '{key}': {exc.message}") from None
    if not folder and not resolved.path:
        raise _bad(f"Input '{key}': a UriFile input must name a file.")
    _check(services, resolved)
    return (
        resolved,
        folder,
        {key: {"jobInputType": job_input.jobInputType, "uri": resolved.display}},
    )


def _output(
    services: Services, catalog: Catalog, props: InvokeProperties, job_name: str, file_name: str
) -> DataUri:
    """Where predictions go: outputData's UriFile, a v1 outputDataset, or the default folder."""
    outputs = props.outputData or {}
    if len(outputs) > 1:
        raise _bad("properties.outputData takes at most one output.")
    try:
        if outputs:
            key, out = next(iter(outputs.items()))
            if out.jobOutputType != "UriFile" or not out.uri:
                raise _bad(f"Output '{key}': only a UriFile output with a uri is supported.")
            resolved = catalog.resolve(out.uri, is_folder=False)
            if not resolved.path:
                raise _bad(f"Output '{key}' must name a file.")
        elif props.outputDataset is not None and props.outputDataset.datastoreId:
            store = props.outputDataset.datastoreId.rstrip("/").rsplit("/", 1)[-1]
            path = (props.outputDataset.path or "").strip("/")
            folder = f"{path}/" if path else ""
            resolved = catalog.resolve(
                f"azureml://datastores/{store}/paths/{folder}{file_name}", is_folder=False
            )
        else:
            resolved = catalog.resolve(
                f"azureml://datastores/{DEFAULT_DATASTORE}/paths/azureml/"
                f"{job_name}/score/{file_name}",
                is_folder=False,
            )
    except DataUriError as exc:
        raise _bad(f"Output: {exc.message}") from None
    _check(services, resolved)
    return resolved


def _job_name(req: func.HttpRequest, props: InvokeProperties, endpoint: str) -> tuple[str, bool]:
    """(job name, whether it came from an idempotency key)."""
    repeat = (
        req.headers.get("repeatability_request-id")
        or req.headers.get("repeatability-request-id")
        or ""
    ).strip()
    if props.name:
        return props.name, bool(repeat)
    return azureml_job_name_for(endpoint, repeat or None), bool(repeat)


def job_body(
    req: func.HttpRequest,
    view: service.JobView | None,
    meta: dict[str, Any],
    *,
    cancel_requested: bool = False,
    log_link: str | None = None,
) -> dict[str, Any]:
    """The job in the REST shape `jobs.get` parses (a pipeline job) plus batch details;
    `log_link` is the finished job's log URI."""
    name = meta["name"]
    status = STATUSES.get(view.status, "Running") if view else "NotStarted"
    if cancel_requested and status == "Running":
        status = "CancelRequested"
    report = view.report if view else None
    details: dict[str, str] = {
        "azureml.batchrun": "true",
        "EndpointName": meta["endpoint"],
        "DeploymentName": meta["deployment"],
        "OutputAction": meta["outputAction"],
        "InputUri": meta["input"],
        "PercentCompleted": str(view.percent_completed if view else 0),
    }
    if meta.get("output"):
        details["OutputUri"] = meta["output"]
    if report is not None:
        details["TotalFiles"] = str(report.counts.done)
        details["SucceededFiles"] = str(report.counts.succeeded)
        details["FailedFiles"] = str(report.counts.failed)
    if log_link:
        details["LogUri"] = log_link
    error = (view.error if view else None) if status == "Failed" else None
    if error:
        details["ErrorCode"], details["ErrorMessage"] = error.code, error.message
    created = service.iso_z(view.created) if view else meta["created"]
    properties: dict[str, Any] = {
        "jobType": "Pipeline",
        "status": status,
        "displayName": name,
        "experimentName": meta.get("experimentName") or meta["endpoint"],
        "description": f"Batch scoring job of {meta['endpoint']}/{meta['deployment']}",
        "properties": details,
        "tags": {},
        "isArchived": False,
        "inputs": {},
        "outputs": {},
        "jobs": {},
        "settings": {},
        "computeId": None,
        "services": {},
    }
    if error:
        properties["error"] = {"code": error.code, "message": error.message}
    failures = [
        {"file": d.source_url or "", "code": d.error.code, "message": d.error.message}
        for d in (report.details if report else ())
        if d.error is not None
    ]
    if failures:
        properties["failedFiles"] = failures
    updated = service.iso_z(view.updated) if view else created
    return {
        "id": f"{workspace_id(req)}/jobs/{name}",
        "name": name,
        "type": "Microsoft.MachineLearningServices/workspaces/jobs",
        "properties": properties,
        "systemData": {
            "createdAt": created,
            "createdBy": "batchinfer",
            "createdByType": "Application",
            "lastModifiedAt": updated,
        },
    }


async def _load_meta(services: Services, name: str) -> dict[str, Any] | None:
    return await asyncio.to_thread(services.job_store.load_document, name, META)


async def _view(
    client: DurableClient, services: Services, name: str
) -> tuple[service.JobView | None, dict[str, Any]]:
    meta = await _load_meta(services, name)
    if meta is None:
        raise arm_error(404, "UserError", f"Job '{name}' was not found.")
    view = await service.get_job(client, services, azureml_job_id(name), name)
    return view, meta


async def _cancel_requested(services: Services, name: str) -> bool:
    return await asyncio.to_thread(services.job_store.cancel_requested, name)


async def _body_of(
    req: func.HttpRequest, client: DurableClient, services: Services, name: str
) -> dict[str, Any]:
    view, meta = await _view(client, services, name)
    flagged = bool(view and not view.finished and await _cancel_requested(services, name))
    link = None
    if view is not None and view.report is not None:
        link = await asyncio.to_thread(log_uri, services, name)
    return job_body(req, view, meta, cancel_requested=flagged, log_link=link)


async def _invoke(req: func.HttpRequest, client: DurableClient) -> func.HttpResponse:
    services = get_services()
    catalog: Catalog = services.catalog()
    endpoint = resource_name(req, "endpoint", "batch endpoint")
    props = parse(req, InvokeRequest).properties
    wanted = (req.headers.get("azureml-model-deployment") or "").strip() or None
    try:
        deployment = catalog.deployment(endpoint, wanted)
    except CatalogError as exc:
        status = 404 if exc.code in ("EndpointNotFound", "DeploymentNotFound") else 400
        raise arm_error(
            status, "UserError" if status == 404 else "BadRequest", exc.message
        ) from None
    name, idempotent = _job_name(req, props, endpoint)
    existing = await _load_meta(services, name)
    if existing is not None:
        if not idempotent:
            raise arm_error(409, "Conflict", f"A job named '{name}' already exists.")
        return json_response(200, await _body_of(req, client, services, name))
    resolved_input, folder, inputs = _input(services, catalog, props)
    overrides: dict[str, Any] = {
        "miniBatchSize": props.miniBatchSize,
        "errorThreshold": props.errorThreshold,
        "outputFileName": props.outputFileName,
        "loggingLevel": props.loggingLevel,
    }
    if props.retrySettings is not None:
        base = dict(deployment.properties.get("retrySettings") or {})
        if props.retrySettings.maxRetries is not None:
            base["maxRetries"] = props.retrySettings.maxRetries
        if props.retrySettings.timeout is not None:
            base["timeout"] = props.retrySettings.timeout
        overrides["retrySettings"] = base
    try:
        config = await asyncio.to_thread(catalog.scoring_config, endpoint, deployment, overrides)
    except CatalogError as exc:
        raise _bad(exc.message) from None
    except ValueError as exc:
        raise _bad(str(exc)) from None
    output = _output(services, catalog, props, name, config.output_file_name)
    log_folder = f"azureml/{name}/logs/"
    try:
        log_url = catalog.datastore_url(DEFAULT_DATASTORE)
        services.locate(log_url)
    except (DataUriError, UrlNotAllowedError):
        log_url = ""
    spec = JobSpec(
        job_id=name,
        kind=AZUREML_BATCH_SCORING,
        model_id=f"{endpoint}/{deployment.name}",
        source_url=resolved_input.container_url,
        source_prefix=f"{resolved_input.path}/" if folder and resolved_input.path else "",
        file_list=None,
        result_url=output.container_url,
        result_prefix=output.path,
        overwrite=False,
        created=service.now_iso_z(),
        options={
            SCORING_OPTION: config.to_json(),
            LOG_URL_OPTION: log_url,
            LOG_PREFIX_OPTION: log_folder,
            INPUT_DISPLAY_OPTION: resolved_input.display,
            OUTPUT_DISPLAY_OPTION: output.display,
            **({} if folder else {ITEMS_OPTION: [resolved_input.path]}),
        },
    )
    meta = {
        "name": name,
        "endpoint": endpoint,
        "deployment": deployment.name,
        "created": spec.created,
        "input": resolved_input.display,
        "inputs": inputs,
        "output": output.display if config.output_action == "AppendRow" else None,
        "outputAction": config.output_action,
        "miniBatchSize": config.mini_batch_size,
        "errorThreshold": config.error_threshold,
        "retrySettings": {
            "maxRetries": config.max_retries,
            "timeout": format_timeout(config.timeout_s),
        },
        "experimentName": (props.properties or {}).get("experimentName"),
    }
    await asyncio.to_thread(services.job_store.save_document, name, META, meta)
    stop = {"stop_after_failures": config.error_threshold} if config.error_threshold >= 0 else {}
    await service.submit_job(client, services, spec, azureml_job_id(name), stop)
    await service.sweep_expired_jobs(client, services, AZUREML_JOB_PREFIX, azureml_job_name)
    view = await service.get_job(client, services, azureml_job_id(name), name)
    return json_response(201, job_body(req, view, meta))


async def _invoke_never_5xx(req: func.HttpRequest, client: DurableClient) -> func.HttpResponse:
    try:
        return await _invoke(req, client)
    except (ApiError, StorageError):
        raise
    except Exception:  # azure-ai-ml re-POSTs on 5xx: report a failure it won't repeat blindly
        log.exception("invoke failed")
        raise arm_error(
            400,
            "JobNotCreated",
            "The batch job could not be created; see the "
            "service log. Retry with the same repeatability_request-id.",
        ) from None


@blueprint.route(
    route=WS + "/batchEndpoints/{endpoint}/jobs", methods=["POST", "GET"], auth_level=ANONYMOUS
)
@blueprint.durable_client_input(client_name="client")
async def batch_endpoint_jobs(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    durable = SdkDurableClient(client)

    async def run() -> func.HttpResponse:
        if req.method.upper() == "POST":
            try:
                return await _invoke_never_5xx(req, durable)
            except StorageError as exc:
                raise _bad(exc.message) from None
        endpoint = resource_name(req, "endpoint", "batch endpoint")
        return await _list(req, durable, endpoint)

    return await handle(req, run)


async def _list(
    req: func.HttpRequest, client: DurableClient, endpoint: str | None
) -> func.HttpResponse:
    services = get_services()
    try:
        skip = max(0, int(req.params.get("$skiptoken") or req.params.get("$skipToken") or 0))
    except ValueError:
        raise _bad("$skiptoken must be a number.") from None
    await service.sweep_expired_jobs(client, services, AZUREML_JOB_PREFIX, azureml_job_name)
    statuses = await service.list_jobs(client, AZUREML_JOB_PREFIX)
    items: list[dict[str, Any]] = []
    matched = 0
    more = False
    for status in statuses:
        name = azureml_job_name(status.instance_id)
        meta = await _load_meta(services, name)
        if meta is None or (endpoint and meta["endpoint"] != endpoint):
            continue
        matched += 1
        if matched <= skip:
            continue
        if len(items) == PAGE_SIZE:
            more = True
            break
        view = service.view_from_status(status, name, None)
        items.append(job_body(req, view, meta))
    body: dict[str, Any] = {"value": items}
    if more:
        url = req.url.split("?", 1)[0]
        version = req.params.get("api-version", "2024-01-01-preview")
        body["nextLink"] = f"{url}?api-version={quote(version)}&$skiptoken={skip + PAGE_SIZE}"
    return json_response(200, body)


@blueprint.route(route=WS + "/jobs", methods=["GET"], auth_level=ANONYMOUS)
@blueprint.durable_client_input(client_name="client")
async def list_batch_jobs(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    return await handle(req, lambda: _list(req, SdkDurableClient(client), None))


@blueprint.route(route=WS + "/jobs/{name}", methods=["GET"], auth_level=ANONYMOUS)
@blueprint.durable_client_input(client_name="client")
async def batch_job_resource(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    async def run() -> func.HttpResponse:
        name = resource_name(req, "name", "job")
        return json_response(
            200, await _body_of(req, SdkDurableClient(client), get_services(), name)
        )

    return await handle(req, run)


@blueprint.route(route=WS + "/jobs/{name}/cancel", methods=["POST"], auth_level=ANONYMOUS)
@blueprint.durable_client_input(client_name="client")
async def cancel_batch_job(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    async def run() -> func.HttpResponse:
        services = get_services()
        durable = SdkDurableClient(client)
        name = resource_name(req, "name", "job")
        view, _ = await _view(durable, services, name)
        if view is not None and not view.finished:
            await service.cancel_job(durable, services, view)
        location = f"{base_url(req)}{quote(workspace_id(req))}/jobs/{name}"
        return func.HttpResponse(status_code=202, headers={"Location": location})

    return await handle(req, run)
