"""Model routes: train (new model or new version), list/get/delete, versions, and inference:
`infer` (synchronous, small files), `infer-async` (upload → job) and `infer-batch` (over a
dataset version, fanned out per row group; identical requests reuse their job).
"""

from __future__ import annotations

import json
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from batchinfer.api.woodwide.common import (
    ANONYMOUS,
    BASE,
    blueprint,
    body,
    fail,
    handle,
    multipart,
    offload,
    ok,
    page,
)
from batchinfer.api.woodwide.datasets import dataset_or_404
from batchinfer.api.woodwide.schemas import InferBatchRequest, TrainRequest
from batchinfer.orchestration.names import WW_INFER, WW_TRAIN
from batchinfer.tabular import steps
from batchinfer.tabular.assembly import ANOMALY_FORMATS, OUTPUT_TYPES
from batchinfer.tabular.catalog import Catalog, new_job, request_key
from batchinfer.tabular.features import FeatureError
from batchinfer.tabular.ingest import IngestError, table_from_bytes
from batchinfer.tabular.scoring import score_table
from batchinfer.tabular.training import MODEL_TYPES
from batchinfer.wiring import get_services

MAX_SYNC_BYTES = 10 * 1024 * 1024
MAX_SYNC_ROWS = 100_000
MAX_ASYNC_BYTES = 100 * 1024 * 1024


def model_or_404(catalog: Catalog, model_id: str) -> dict[str, Any]:
    record = catalog.model(model_id)
    if record is None:
        raise fail(404, f"Model {model_id!r} not found.")
    return record


def resolve_data(
    catalog: Catalog, dataset_id: str | None, version_id: str | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(dataset, ready version) from a pinned version id or a dataset's latest ready one."""
    if version_id:
        version = catalog.dataset_version(version_id)
        if version is None:
            raise fail(404, f"Dataset version {version_id!r} not found.")
        if dataset_id and version["dataset_id"] != dataset_id:
            raise fail(400, f"Version {version_id!r} does not belong to dataset {dataset_id!r}.")
        if version["status"] != "ready":
            raise fail(400, f"Dataset version {version_id!r} is {version['status']}, not ready.")
        return dataset_or_404(catalog, version["dataset_id"]), version
    if not dataset_id:
        raise fail(422, "Give dataset_id or dataset_version_id.")
    dataset = dataset_or_404(catalog, dataset_id)
    version = catalog.latest_ready_version(dataset_id)
    if version is None:
        raise fail(400, f"Dataset {dataset_id!r} has no ready version yet.")
    return dataset, version


def resolve_model_version(
    catalog: Catalog, model: dict[str, Any], version_id: str | None
) -> dict[str, Any]:
    if version_id:
        version = catalog.model_version(model["id"], version_id)
        if version is None:
            raise fail(404, f"Model version {version_id!r} not found in {model['id']!r}.")
        if version["status"] != "ready":
            raise fail(400, f"Model version {version_id!r} is {version['status']}, not ready.")
        return version
    ready = [v for v in catalog.model_versions(model["id"]) if v["status"] == "ready"]
    if not ready:
        raise fail(400, f"Model {model['id']!r} has no ready version yet.")
    return ready[-1]


def model_ref(version: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": version["model_id"],
        "version_id": version["id"],
        "version_number": version["version"],
    }


# -------------------------------------------------------------------------------- train
@blueprint.route(route=BASE + "/models/train", methods=["POST"], auth_level=ANONYMOUS)
@blueprint.durable_client_input(client_name="client")
async def ww_models_train(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    async def run(catalog: Catalog) -> func.HttpResponse:
        request = body(req, TrainRequest)
        if request.model_type not in MODEL_TYPES:
            raise fail(
                400,
                f"model_type {request.model_type!r} is not supported by this "
                f"service (supported: {', '.join(MODEL_TYPES)}).",
            )
        if request.model_type == "prediction" and not request.label_column:
            raise fail(422, "label_column is required for prediction models.")
        if request.filters or request.parent_job_id:
            raise fail(400, "filters and parent_job_id (compound workflows) are not supported.")

        def create() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
            dataset, data = resolve_data(catalog, request.dataset_id, request.dataset_version_id)
            columns = [c["name"] for c in (data.get("schema_json") or {}).get("columns", [])]
            wanted = [request.label_column] if request.label_column else []
            wanted += request.input_columns or []
            unknown = [c for c in wanted if c not in columns]
            if unknown:
                raise fail(400, f"Columns not in the dataset: {unknown}.")
            if request.model_id:
                model = model_or_404(catalog, request.model_id)
                if model["model_type"] != request.model_type:
                    raise fail(
                        400,
                        f"Model {model['id']!r} is a {model['model_type']} model; "
                        "retrain it with the same model_type.",
                    )
            else:
                model = catalog.new_model(request.model_type, request.label_column, dataset)
            version, job = catalog.new_model_version(model, dataset, data, request.model_dump())
            return model, version, job

        model, version, job = await offload(create)
        await client.start_new(WW_TRAIN, f"ww:{job['id']}", {"job_id": job["id"]})
        return ok(
            {
                "id": model["id"],
                "version_id": version["id"],
                "job_id": job["id"],
                "status": job["status"],
                "woodwide_runtime_version": job["woodwide_runtime_version"],
            },
            201,
        )

    return await handle(req, run)


# ------------------------------------------------------------------------ list / get / delete
@blueprint.route(route=BASE + "/models", methods=["GET"], auth_level=ANONYMOUS)
async def ww_models(req: func.HttpRequest) -> func.HttpResponse:
    async def run(catalog: Catalog) -> func.HttpResponse:
        query = (req.params.get("q") or "").lower()

        def items() -> list[dict[str, Any]]:
            return [
                m for m in reversed(catalog.models()) if not query or query in json.dumps(m).lower()
            ]

        result = page(req, await offload(items))
        result["items"] = await offload(lambda: [catalog.model_view(m) for m in result["items"]])
        return ok(result)

    return await handle(req, run)


@blueprint.route(route=BASE + "/models/{model_id}", methods=["GET", "DELETE"], auth_level=ANONYMOUS)
async def ww_model(req: func.HttpRequest) -> func.HttpResponse:
    async def run(catalog: Catalog) -> func.HttpResponse:
        model_id = req.route_params.get("model_id", "")

        def act() -> dict[str, Any] | None:
            record = model_or_404(catalog, model_id)
            if req.method.upper() == "GET":
                return catalog.model_view(record)
            catalog.delete_model(model_id)
            return None

        view = await offload(act)
        return func.HttpResponse(status_code=204) if view is None else ok(view)

    return await handle(req, run)


@blueprint.route(route=BASE + "/models/{model_id}/versions", methods=["GET"], auth_level=ANONYMOUS)
async def ww_model_versions(req: func.HttpRequest) -> func.HttpResponse:
    async def run(catalog: Catalog) -> func.HttpResponse:
        model_id = req.route_params.get("model_id", "")

        def items() -> list[dict[str, Any]]:
            model_or_404(catalog, model_id)
            return list(reversed(catalog.model_versions(model_id)))

        return ok({"items": await offload(items)})

    return await handle(req, run)


@blueprint.route(
    route=BASE + "/models/{model_id}/versions/{version_id}", methods=["GET"], auth_level=ANONYMOUS
)
async def ww_model_version(req: func.HttpRequest) -> func.HttpResponse:
    async def run(catalog: Catalog) -> func.HttpResponse:
        model_id = req.route_params.get("model_id", "")
        version_id = req.route_params.get("version_id", "")
        version = await offload(catalog.model_version, model_id, version_id)
        if version is None:
            raise fail(404, f"Model version {version_id!r} not found in {model_id!r}.")
        return ok(version)

    return await handle(req, run)


# ------------------------------------------------------------------------------ inference
def _check_columns(catalog: Catalog, model_version: dict[str, Any], data: dict[str, Any]) -> None:
    meta = steps.load_meta(catalog, model_version)
    have = {c["name"] for c in (data.get("schema_json") or {}).get("columns", [])}
    missing = [c for c in meta["input_columns"] if c not in have]
    if missing:
        raise fail(400, f"The dataset lacks the model's input columns: {missing}.")


def _infer_job(
    model: dict[str, Any],
    version: dict[str, Any],
    request: dict[str, Any],
    dataset: dict[str, Any] | None,
    data: dict[str, Any] | None,
    **internal: Any,
) -> dict[str, Any]:
    resources: dict[str, Any] = {"type": "infer_batch", "model": model_ref(version)}
    fields: dict[str, Any] = {}
    if dataset is not None and data is not None:
        resources["dataset"] = {
            "id": dataset["id"],
            "version_id": data["id"],
            "version_number": data["version"],
        }
        fields = {"dataset_id": dataset["id"], "dataset_name": dataset["name"]}
    return new_job(
        "infer_batch",
        model_id=model["id"],
        model_type=model["model_type"],
        input=request,
        resources=resources,
        **fields,
        internal={"request": request, "model_version_id": version["id"], **internal},
    )


def _submitted(job: dict[str, Any], version: dict[str, Any]) -> dict[str, Any]:
    return {
        "job_id": job["id"],
        "status": job["status"],
        "model_version_id": version["id"],
        "model": model_ref(version),
    }


@blueprint.route(
    route=BASE + "/models/{model_id}/infer-batch", methods=["POST"], auth_level=ANONYMOUS
)
@blueprint.durable_client_input(client_name="client")
async def ww_model_infer_batch(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    async def run(catalog: Catalog) -> func.HttpResponse:
        model_id = req.route_params.get("model_id", "")
        request = body(req, InferBatchRequest)
        if request.filters or request.parent_job_id:
            raise fail(400, "filters and parent_job_id (compound workflows) are not supported.")

        def submit() -> tuple[dict[str, Any], dict[str, Any], bool]:
            model = model_or_404(catalog, model_id)
            version = resolve_model_version(catalog, model, request.model_version_id)
            dataset, data = resolve_data(catalog, request.dataset_id, request.dataset_version_id)
            _check_columns(catalog, version, data)
            shape = {"output_type": request.output_type, "anomaly_format": request.anomaly_format}
            key = request_key("infer", version["id"], data["id"], shape)
            if not request.force_rerun:
                known = catalog.lookup("infer", key)
                previous = catalog.job(known["job_id"]) if known else None
                if previous is not None and previous["status"] not in ("failed", "canceled"):
                    return previous, version, False
            job = _infer_job(
                model,
                version,
                {**shape, "dataset_version_id": data["id"], "model_version_id": version["id"]},
                dataset,
                data,
                dataset_version_id=data["id"],
            )
            catalog.save_job(job)
            catalog.remember("infer", key, {"job_id": job["id"]})
            return job, version, True

        job, version, fresh = await offload(submit)
        if fresh:
            await client.start_new(WW_INFER, f"ww:{job['id']}", {"job_id": job["id"]})
        return ok(_submitted(job, version), 202 if fresh else 200)

    return await handle(req, run)


def _form_choice(form: dict[str, str], name: str, allowed: tuple[str, ...], default: str) -> str:
    value = form.get(name) or default
    if value not in allowed:
        raise fail(422, f"{name} must be one of {', '.join(allowed)}.")
    return value


@blueprint.route(
    route=BASE + "/models/{model_id}/infer-async", methods=["POST"], auth_level=ANONYMOUS
)
@blueprint.durable_client_input(client_name="client")
async def ww_model_infer_async(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    async def run(catalog: Catalog) -> func.HttpResponse:
        model_id = req.route_params.get("model_id", "")
        form, upload = multipart(req)
        data = upload.read()
        if not data:
            raise fail(400, "The uploaded file is empty.")
        if len(data) > MAX_ASYNC_BYTES:
            raise fail(
                413,
                f"The file is larger than {MAX_ASYNC_BYTES} bytes; upload it as a "
                "dataset and use infer-batch.",
            )
        shape = {
            "output_type": _form_choice(form, "output_type", OUTPUT_TYPES, "parquet"),
            "anomaly_format": _form_choice(form, "anomaly_format", ANOMALY_FORMATS, "ids_only"),
        }

        def submit() -> tuple[dict[str, Any], dict[str, Any]]:
            model = model_or_404(catalog, model_id)
            version = resolve_model_version(catalog, model, form.get("model_version_id"))
            job = _infer_job(
                model, version, {**shape, "model_version_id": version["id"]}, None, None
            )
            job["input_filename"] = upload.filename
            upload_blob = f"jobs/{job['id']}/upload.bin"
            job["internal"]["upload_blob"] = upload_blob
            catalog.store.put_bytes(upload_blob, data)
            catalog.save_job(job)
            return job, version

        job, version = await offload(submit)
        await client.start_new(WW_INFER, f"ww:{job['id']}", {"job_id": job["id"]})
        return ok(_submitted(job, version), 202)

    return await handle(req, run)


@blueprint.route(route=BASE + "/models/{model_id}/infer", methods=["POST"], auth_level=ANONYMOUS)
async def ww_model_infer(req: func.HttpRequest) -> func.HttpResponse:
    async def run(catalog: Catalog) -> func.HttpResponse:
        model_id = req.route_params.get("model_id", "")
        if len(req.get_body()) > MAX_SYNC_BYTES + 64 * 1024:
            raise fail(
                413,
                f"Synchronous inference takes files up to {MAX_SYNC_BYTES} bytes; "
                "use infer-async or infer-batch for larger ones.",
            )
        form, upload = multipart(req)
        data = upload.read()
        if len(data) > MAX_SYNC_BYTES:
            raise fail(
                413,
                f"Synchronous inference takes files up to {MAX_SYNC_BYTES} bytes; "
                "use infer-async or infer-batch for larger ones.",
            )
        anomaly_format = _form_choice(form, "anomaly_format", ANOMALY_FORMATS, "ids_only")

        def infer() -> dict[str, Any]:
            model = model_or_404(catalog, model_id)
            version = resolve_model_version(catalog, model, form.get("model_version_id"))
            try:
                table = table_from_bytes(data)
                if table.num_rows > MAX_SYNC_ROWS:
                    raise fail(
                        413,
                        f"Synchronous inference takes up to {MAX_SYNC_ROWS} rows; "
                        "use infer-async or infer-batch.",
                    )
                output = score_table(
                    steps.model_session(catalog, version),
                    steps.load_meta(catalog, version),
                    table,
                    0,
                    get_services().settings.onnx_batch_rows,
                )
            except (IngestError, FeatureError) as error:
                raise fail(400, str(error)) from None
            if model["model_type"] == "anomaly" and anomaly_format == "ids_only":
                flagged = output.filter(output.column("is_anomaly"))
                columns = {"anomalous_ids": flagged.column("id").to_pylist()}
            else:
                columns = {name: output.column(name).to_pylist() for name in output.column_names}
            return {
                "model_id": model["id"],
                "model_version_id": version["id"],
                "model_type": model["model_type"],
                "data": columns,
                "total_row_count": table.num_rows,
            }

        return ok(await offload(infer))

    return await handle(req, run)
