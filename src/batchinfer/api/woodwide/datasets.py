"""Dataset routes: multipart create, signed large-file upload + complete, list/get/patch/delete,
versions, preview, rows:lookup, the models trained on a dataset.

A new version is `processing` while its `dataset_ingest` job runs, then `ready` or `failed`;
large uploads wait (`waiting_for_upload`) until `complete` is called after the PUT.
"""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df
import azure.functions as func
import pyarrow.parquet as pq

from batchinfer.api.woodwide.common import (
    ANONYMOUS,
    BASE,
    base_url,
    blueprint,
    body,
    bool_value,
    fail,
    handle,
    int_param,
    multipart,
    offload,
    ok,
    page,
)
from batchinfer.api.woodwide.schemas import DatasetPatch, RowsLookup, UploadRequest
from batchinfer.api.woodwide.signing import UPLOAD_TTL_SECONDS, signed_query, verify
from batchinfer.orchestration.names import WW_INGEST
from batchinfer.tabular.catalog import Catalog, now, request_key
from batchinfer.tabular.ingest import preview_rows

MAX_UPLOAD_BYTES = 100 * 1024 * 1024  # the Functions host's request size limit
MAX_PREVIEW_ROWS = 1000


# ------------------------------------------------------------------------------- helpers
def dataset_or_404(catalog: Catalog, dataset_id: str) -> dict[str, Any]:
    record = catalog.dataset(dataset_id)
    if record is None:
        raise fail(404, f"Dataset {dataset_id!r} not found.")
    return record


def _target_dataset(
    catalog: Catalog,
    dataset_id: str | None,
    name: str | None,
    description: str | None,
    override: bool,
    filename: str,
) -> dict[str, Any]:
    """The dataset a new version goes to: the given id, an existing name with override, or new."""
    if dataset_id:
        return dataset_or_404(catalog, dataset_id)
    name = (name or filename.rsplit("/", 1)[-1].rsplit(".", 1)[0] or "dataset").strip()
    existing = [d for d in catalog.datasets() if d["name"] == name]
    if existing:
        if not override:
            raise fail(
                400,
                f"A dataset named {name!r} exists ({existing[0]['id']}); pass "
                "override=true to add a new version, or choose another name.",
            )
        return existing[-1]
    return catalog.new_dataset(name, description)


def _new_version(
    catalog: Catalog, dataset: dict[str, Any], filename: str, source: str, status: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    return catalog.new_dataset_version(dataset, filename, source, status)


async def start_ingest(client: df.DurableOrchestrationClient, job_id: str) -> None:
    await client.start_new(WW_INGEST, f"ww:{job_id}", {"job_id": job_id})


# ------------------------------------------------------------------------- create / list
@blueprint.route(route=BASE + "/datasets", methods=["POST", "GET"], auth_level=ANONYMOUS)
@blueprint.durable_client_input(client_name="client")
async def ww_datasets(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    async def create(catalog: Catalog) -> func.HttpResponse:
        form, upload = multipart(req)
        data = upload.read()
        if not data:
            raise fail(400, "The uploaded file is empty.")
        if len(data) > MAX_UPLOAD_BYTES:
            raise fail(
                413,
                f"The file is larger than {MAX_UPLOAD_BYTES} bytes; use "
                "POST /datasets/upload for large files.",
            )
        filename = upload.filename or "upload"

        def prepare() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
            dataset = _target_dataset(
                catalog,
                form.get("dataset_id"),
                form.get("dataset_name"),
                form.get("description"),
                bool_value(form.get("override"), "override"),
                filename,
            )
            version, job = _new_version(catalog, dataset, filename, "upload", "queued")
            catalog.store.put_bytes(catalog.upload_blob(version), data)
            return dataset, version, job

        dataset, version, job = await offload(prepare)
        await start_ingest(client, job["id"])
        return ok(
            {
                "id": dataset["id"],
                "version_id": version["id"],
                "job_id": job["id"],
                "status": job["status"],
            },
            201,
        )

    async def listing(catalog: Catalog) -> func.HttpResponse:
        query = (req.params.get("q") or "").lower()
        archived = bool_value(req.params.get("include_archived"), "include_archived")

        def items() -> list[dict[str, Any]]:
            found = [
                d
                for d in reversed(catalog.datasets())
                if (archived or not d.get("is_archived"))
                and (
                    not query
                    or query in d["name"].lower()
                    or query in (d.get("description") or "").lower()
                )
            ]
            return found

        found = await offload(items)
        result = page(req, found)
        result["items"] = await offload(lambda: [catalog.dataset_view(d) for d in result["items"]])
        return ok(result)

    return await handle(req, create if req.method.upper() == "POST" else listing)


@blueprint.route(route=BASE + "/datasets/upload", methods=["POST"], auth_level=ANONYMOUS)
async def ww_dataset_upload(req: func.HttpRequest) -> func.HttpResponse:
    async def run(catalog: Catalog) -> func.HttpResponse:
        request = body(req, UploadRequest)
        if request.file.bytes > MAX_UPLOAD_BYTES:
            raise fail(413, f"Uploads are limited to {MAX_UPLOAD_BYTES} bytes per file.")
        key = req.headers.get("Idempotency-Key")
        remembered = request_key("upload", key, request.model_dump()) if key else None

        def prepare() -> dict[str, Any]:
            if remembered:
                previous = catalog.lookup("upload", remembered)
                if previous is not None:
                    return previous
            dataset = _target_dataset(
                catalog,
                request.dataset_id,
                request.dataset_name,
                request.description,
                request.override,
                request.file.filename,
            )
            version, job = _new_version(
                catalog, dataset, request.file.filename, "upload", "waiting_for_upload"
            )
            job["internal"]["upload"] = request.file.model_dump()
            catalog.save_job(job)
            answer = {
                "id": dataset["id"],
                "version_id": version["id"],
                "job_id": job["id"],
                "upload": request.file.model_dump(),
            }
            if remembered:
                catalog.remember("upload", remembered, answer)
            return answer

        answer = await offload(prepare)
        path = f"/{BASE}/signed/uploads/{answer['version_id']}"
        key_bytes = await offload(catalog.store.signing_key)
        query = signed_query(
            key_bytes, "PUT", path, UPLOAD_TTL_SECONDS, answer["upload"]["content_type"]
        )
        upload = dict(
            answer["upload"],
            upload_url=f"{base_url(req)}/signed/uploads/{answer['version_id']}?{query}",
        )
        return ok({**answer, "upload": upload}, 201)

    return await handle(req, run)


@blueprint.route(route=BASE + "/signed/uploads/{version_id}", methods=["PUT"], auth_level=ANONYMOUS)
async def ww_signed_upload(req: func.HttpRequest) -> func.HttpResponse:
    async def run(catalog: Catalog) -> func.HttpResponse:
        version_id = req.route_params.get("version_id", "")
        content_type = req.params.get("ct") or ""
        problem = verify(
            await offload(catalog.store.signing_key),
            "PUT",
            f"/{BASE}/signed/uploads/{version_id}",
            req.params.get("expires"),
            req.params.get("sig"),
            content_type,
        )
        if problem:
            raise fail(403, problem)
        sent_type = (req.headers.get("Content-Type") or "").split(";")[0].strip()
        if sent_type and sent_type != content_type.split(";")[0].strip():
            raise fail(403, f"Content-Type {sent_type!r} differs from the signed {content_type!r}.")
        data = req.get_body()

        def store() -> None:
            version = catalog.dataset_version(version_id)
            if version is None:
                raise fail(404, "The dataset version no longer exists.")
            job = catalog.job(version["ingest_job_id"])
            if job is None or job["status"] != "waiting_for_upload":
                raise fail(400, "This upload was already completed.")
            declared = int(job["internal"]["upload"]["bytes"])
            if len(data) != declared:
                raise fail(400, f"Received {len(data)} bytes; the upload declared {declared}.")
            catalog.store.put_bytes(catalog.upload_blob(version), data)

        await offload(store)
        return func.HttpResponse(status_code=200)

    return await handle(req, run, auth=False)


@blueprint.route(
    route=BASE + "/datasets/{version_id}/complete", methods=["POST"], auth_level=ANONYMOUS
)
@blueprint.durable_client_input(client_name="client")
async def ww_dataset_complete(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    async def run(catalog: Catalog) -> func.HttpResponse:
        version_id = req.route_params.get("version_id", "")

        def queue() -> tuple[dict[str, Any], dict[str, Any], bool]:
            version = catalog.dataset_version(version_id)
            if version is None:
                raise fail(404, f"Dataset version {version_id!r} not found.")
            job = catalog.job(version["ingest_job_id"])
            if job is None:
                raise fail(404, "The version's ingest job no longer exists.")
            if job["status"] != "waiting_for_upload":
                return version, job, False  # completed before: the same answer again
            if not catalog.store.exists(catalog.upload_blob(version)):
                raise fail(400, "Nothing was uploaded yet: PUT the file to upload_url first.")
            job["status"] = "queued"
            catalog.save_job(job)
            return version, job, True

        version, job, fresh = await offload(queue)
        if fresh:
            await start_ingest(client, job["id"])
        return ok(
            {
                "id": version["dataset_id"],
                "version_id": version["id"],
                "job_id": job["id"],
                "status": job["status"],
            }
        )

    return await handle(req, run)


# --------------------------------------------------------------------- get / patch / delete
@blueprint.route(
    route=BASE + "/datasets/{dataset_id}", methods=["GET", "PATCH", "DELETE"], auth_level=ANONYMOUS
)
async def ww_dataset(req: func.HttpRequest) -> func.HttpResponse:
    async def run(catalog: Catalog) -> func.HttpResponse:
        dataset_id = req.route_params.get("dataset_id", "")
        method = req.method.upper()
        if method == "PATCH":
            patch = body(req, DatasetPatch)

        def act() -> dict[str, Any] | None:
            record = dataset_or_404(catalog, dataset_id)
            if method == "GET":
                return catalog.dataset_view(record)
            if method == "DELETE":
                catalog.delete_dataset(dataset_id)
                return None
            changes = patch.model_dump(exclude_unset=True, exclude_none=True)
            record.update(changes, updated_at=now())
            catalog.save_dataset(record)
            return catalog.dataset_view(record)

        view = await offload(act)
        return func.HttpResponse(status_code=204) if view is None else ok(view)

    return await handle(req, run)


@blueprint.route(
    route=BASE + "/datasets/{dataset_id}/versions", methods=["GET"], auth_level=ANONYMOUS
)
async def ww_dataset_versions(req: func.HttpRequest) -> func.HttpResponse:
    async def run(catalog: Catalog) -> func.HttpResponse:
        dataset_id = req.route_params.get("dataset_id", "")

        def items() -> list[dict[str, Any]]:
            dataset_or_404(catalog, dataset_id)
            return [_version_view(v) for v in reversed(catalog.dataset_versions(dataset_id))]

        return ok({"items": await offload(items)})

    return await handle(req, run)


@blueprint.route(
    route=BASE + "/datasets/{dataset_id}/versions/{version_id}",
    methods=["GET"],
    auth_level=ANONYMOUS,
)
async def ww_dataset_version(req: func.HttpRequest) -> func.HttpResponse:
    async def run(catalog: Catalog) -> func.HttpResponse:
        dataset_id = req.route_params.get("dataset_id", "")
        version_id = req.route_params.get("version_id", "")
        version = await offload(catalog.dataset_version, version_id)
        if version is None or version["dataset_id"] != dataset_id:
            raise fail(404, f"Dataset version {version_id!r} not found in {dataset_id!r}.")
        return ok(_version_view(version))

    return await handle(req, run)


def _version_view(version: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in version.items() if k != "internal"}


# --------------------------------------------------------------------------- reading rows
def ready_version_or_400(catalog: Catalog, dataset_id: str) -> dict[str, Any]:
    dataset_or_404(catalog, dataset_id)
    version = catalog.latest_ready_version(dataset_id)
    if version is None:
        raise fail(400, f"Dataset {dataset_id!r} has no ready version yet.")
    return version


@blueprint.route(
    route=BASE + "/datasets/{dataset_id}/preview", methods=["GET"], auth_level=ANONYMOUS
)
async def ww_dataset_preview(req: func.HttpRequest) -> func.HttpResponse:
    async def run(catalog: Catalog) -> func.HttpResponse:
        dataset_id = req.route_params.get("dataset_id", "")
        rows = int_param(req, "max_rows", 20, 1, MAX_PREVIEW_ROWS)

        def read() -> dict[str, Any]:
            version = ready_version_or_400(catalog, dataset_id)
            parquet = pq.ParquetFile(catalog.store.local_path(catalog.data_blob(version)))
            head = next(parquet.iter_batches(batch_size=rows), None)
            names = parquet.schema_arrow.names
            table = head if head is not None else parquet.schema_arrow.empty_table()
            return {
                "headers": names,
                "rows": preview_rows(table),
                "version_id": version["id"],
                "total_rows": version["row_count"],
            }

        return ok(await offload(read))

    return await handle(req, run)


@blueprint.route(
    route=BASE + "/datasets/{dataset_id}/rows:lookup", methods=["POST"], auth_level=ANONYMOUS
)
async def ww_dataset_rows_lookup(req: func.HttpRequest) -> func.HttpResponse:
    async def run(catalog: Catalog) -> func.HttpResponse:
        dataset_id = req.route_params.get("dataset_id", "")
        ids = sorted(set(body(req, RowsLookup).ids))

        def read() -> dict[str, Any]:
            version = ready_version_or_400(catalog, dataset_id)
            table = pq.read_table(catalog.store.local_path(catalog.data_blob(version)))
            wanted = [i for i in ids if 0 <= i < table.num_rows]
            picked = table.take(wanted) if wanted else table.slice(0, 0)
            rows = preview_rows(picked)
            for row_id, row in zip(wanted, rows, strict=False):
                row.setdefault("id", row_id)
            return {
                "headers": table.column_names,
                "rows": rows,
                "missing_ids": [i for i in ids if i not in set(wanted)],
            }

        return ok(await offload(read))

    return await handle(req, run)


@blueprint.route(
    route=BASE + "/datasets/{dataset_id}/models", methods=["GET"], auth_level=ANONYMOUS
)
async def ww_dataset_models(req: func.HttpRequest) -> func.HttpResponse:
    async def run(catalog: Catalog) -> func.HttpResponse:
        dataset_id = req.route_params.get("dataset_id", "")

        def items() -> list[dict[str, Any]]:
            dataset_or_404(catalog, dataset_id)
            return [
                catalog.model_view(m)
                for m in reversed(catalog.models())
                if m.get("training_dataset_id") == dataset_id
            ]

        result = page(req, await offload(items))
        return ok(result)

    return await handle(req, run)
