"""Job routes: get/list, cancel, retry, results (with a signed download URL), result rows,
and the signed download itself (no bearer header: the URL's signature and expiry stand in).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from batchinfer.api.woodwide.common import (
    ANONYMOUS,
    BASE,
    MAX_LIMIT,
    base_url,
    blueprint,
    fail,
    handle,
    int_param,
    offload,
    ok,
    page,
)
from batchinfer.api.woodwide.signing import RESULT_TTL_SECONDS, signed_query, verify
from batchinfer.jobs.service import SWEEP_INTERVAL_SECONDS
from batchinfer.orchestration.names import WW_INFER, WW_INGEST, WW_TRAIN
from batchinfer.tabular.assembly import page_rows
from batchinfer.tabular.catalog import Catalog, new_job
from batchinfer.wiring import Services, get_services

TERMINAL_DURABLE = ("Completed", "Failed", "Terminated", "Canceled")
ORCHESTRATION = {"dataset_ingest": WW_INGEST, "train": WW_TRAIN, "infer_batch": WW_INFER}
RUNNING_DURABLE = ("Pending", "Running", "Suspended")


def job_or_404(catalog: Catalog, job_id: str) -> dict[str, Any]:
    record = catalog.job(job_id)
    if record is None:
        raise fail(404, f"Job {job_id!r} not found.")
    return record


async def sweep_histories(client: Any, services: Services) -> int:
    """Purge the durable histories of jobs that ended more than the retention period ago,
    at most once per sweep interval. The job records and results stay: users list and
    download them later; only the orchestration bookkeeping goes."""
    if not services.sweep_due("ww:", SWEEP_INTERVAL_SECONDS):
        return 0
    cutoff = datetime.now(timezone.utc) - timedelta(hours=services.settings.status_retention_hours)
    purged = 0
    for status in await client.get_status_by(instance_id_prefix="ww:"):
        updated = status.last_updated_time
        if updated is not None and updated.tzinfo is None:
            updated = updated.replace(tzinfo=timezone.utc)
        if status.runtime_status.value in TERMINAL_DURABLE and updated and updated < cutoff:
            await client.purge_instance_history(status.instance_id)
            purged += 1
    return purged


@blueprint.route(route=BASE + "/jobs", methods=["GET"], auth_level=ANONYMOUS)
@blueprint.durable_client_input(client_name="client")
async def ww_jobs(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    async def run(catalog: Catalog) -> func.HttpResponse:
        await sweep_histories(client, get_services())
        filters = {
            name: req.params.get(name) for name in ("status", "type", "model_id", "dataset_id")
        }
        model_version = req.params.get("model_version_id")
        data_version = req.params.get("dataset_version_id")

        def items() -> list[dict[str, Any]]:
            found = []
            for job in reversed(catalog.jobs()):
                if any(value and job.get(name) != value for name, value in filters.items()):
                    continue
                internal = job.get("internal", {})
                if model_version and internal.get("model_version_id") != model_version:
                    continue
                if data_version and internal.get("dataset_version_id") != data_version:
                    continue
                found.append(job)
            return found

        result = page(req, await offload(items))
        result["items"] = [catalog.job_view(j) for j in result["items"]]
        return ok(result)

    return await handle(req, run)


@blueprint.route(route=BASE + "/jobs/{job_id}", methods=["GET"], auth_level=ANONYMOUS)
async def ww_job(req: func.HttpRequest) -> func.HttpResponse:
    async def run(catalog: Catalog) -> func.HttpResponse:
        job_id = req.route_params.get("job_id", "")
        return ok(await offload(lambda: catalog.job_view(job_or_404(catalog, job_id))))

    return await handle(req, run)


def cancel_job_record(catalog: Catalog, job_id: str) -> dict[str, Any]:
    """Mark the job canceled (an ended job stays as it ended, and says so); a canceled ingest
    fails its dataset version. Shared by the API and the dashboard."""
    job_or_404(catalog, job_id)
    job = catalog.cancel_job(job_id)
    if job is None:
        raise fail(404, f"Job {job_id!r} not found.")
    if job["type"] == "dataset_ingest" and job["status"] == "canceled":
        version = catalog.dataset_version(job["internal"]["dataset_version_id"])
        if version is not None and version["status"] == "processing":
            version.update(status="failed", error_message="The ingest was canceled.")
            catalog.save_dataset_version(version)
    return job


@blueprint.route(route=BASE + "/jobs/{job_id}/cancel", methods=["POST"], auth_level=ANONYMOUS)
@blueprint.durable_client_input(client_name="client")
async def ww_job_cancel(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    async def run(catalog: Catalog) -> func.HttpResponse:
        job_id = req.route_params.get("job_id", "")

        job = await offload(cancel_job_record, catalog, job_id)
        status = await client.get_status(f"ww:{job_id}")
        if status and status.runtime_status and status.runtime_status.value in RUNNING_DURABLE:
            await client.terminate(f"ww:{job_id}", "canceled by the user")
        return ok({"id": job["id"], "status": job["status"]})

    return await handle(req, run)


@blueprint.route(route=BASE + "/jobs/{job_id}/retry", methods=["POST"], auth_level=ANONYMOUS)
@blueprint.durable_client_input(client_name="client")
async def ww_job_retry(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    async def run(catalog: Catalog) -> func.HttpResponse:
        job_id = req.route_params.get("job_id", "")

        def again() -> dict[str, Any]:
            job = job_or_404(catalog, job_id)
            if job["status"] not in ("failed", "canceled"):
                raise fail(
                    400,
                    f"Only failed or canceled jobs can be retried; this one is {job['status']}.",
                )
            if job["type"] not in ORCHESTRATION:
                raise fail(400, f"Jobs of type {job['type']!r} cannot be retried.")
            internal = dict(job.get("internal", {}))
            fresh = new_job(
                job["type"],
                **{
                    k: job.get(k)
                    for k in (
                        "model_id",
                        "model_type",
                        "dataset_id",
                        "dataset_name",
                        "input",
                        "resources",
                        "input_filename",
                    )
                    if job.get(k) is not None
                },
                parent_job_id=job["id"],
                internal={},
            )
            _rearm(catalog, job, fresh, internal)
            catalog.save_job(fresh)
            return fresh

        fresh = await offload(again)
        await client.start_new(
            ORCHESTRATION[fresh["type"]], f"ww:{fresh['id']}", {"job_id": fresh["id"]}
        )
        return ok({"id": fresh["id"], "status": fresh["status"]}, 201)

    return await handle(req, run)


def _rearm(
    catalog: Catalog, old: dict[str, Any], fresh: dict[str, Any], internal: dict[str, Any]
) -> None:
    """Point the new job at what the old one worked on, resetting that work's status."""
    if old["type"] == "dataset_ingest":
        version = catalog.dataset_version(internal["dataset_version_id"])
        if version is None or not catalog.store.exists(catalog.upload_blob(version)):
            raise fail(400, "The uploaded file of this ingest is gone; upload it again.")
        version.update(status="processing", ingest_job_id=fresh["id"], error_message=None)
        catalog.save_dataset_version(version)
        fresh["internal"] = {"dataset_version_id": version["id"]}
    elif old["type"] == "train":
        version = catalog.model_version(old["model_id"], internal["model_version_id"])
        if version is None:
            raise fail(400, "The model version of this training job was deleted.")
        version.update(status="training", training_job_id=fresh["id"], error_message=None)
        catalog.save_model_version(version)
        fresh["internal"] = {
            k: internal[k] for k in ("request", "model_version_id", "dataset_version_id")
        }
    else:
        if (
            internal.get("upload_blob")
            and not catalog.store.exists(internal["upload_blob"])
            and not catalog.store.exists(internal.get("input_blob") or "-")
        ):
            raise fail(400, "The uploaded file of this job is gone; submit it again.")
        keep = ("request", "model_version_id", "dataset_version_id", "upload_blob")
        fresh["internal"] = {k: internal[k] for k in keep if internal.get(k)}
        if internal.get("upload_blob") and not catalog.store.exists(internal["upload_blob"]):
            data = catalog.store.get_bytes(internal["input_blob"])
            fresh["internal"]["upload_blob"] = f"jobs/{fresh['id']}/upload.bin"
            catalog.store.put_bytes(fresh["internal"]["upload_blob"], data)


@blueprint.route(route=BASE + "/jobs/{job_id}/results", methods=["GET"], auth_level=ANONYMOUS)
async def ww_job_results(req: func.HttpRequest) -> func.HttpResponse:
    async def run(catalog: Catalog) -> func.HttpResponse:
        job_id = req.route_params.get("job_id", "")
        job = await offload(job_or_404, catalog, job_id)
        if job["status"] != "succeeded":
            raise fail(
                400, f"Results are available once the job has succeeded; it is {job['status']}."
            )
        answer: dict[str, Any] = {"job_type": job["type"], "row_paginatable": False}
        output = job.get("output") or {}
        if job["type"] == "dataset_ingest":
            answer["dataset_ingest_results"] = output
        elif job["type"] == "train":
            answer["training_results"] = output
        else:
            internal = job["internal"]
            path = f"/{BASE}/signed/results/{job_id}"
            key = await offload(catalog.store.signing_key)
            query = signed_query(key, "GET", path, RESULT_TTL_SECONDS)
            answer.update(
                inference_results_uri=f"{base_url(req)}/signed/results/{job_id}?{query}",
                summary=internal.get("summary"),
                row_paginatable=True,
                output_type=internal["request"]["output_type"],
                anomaly_format=internal["request"]["anomaly_format"],
            )
        return ok(answer)

    return await handle(req, run)


@blueprint.route(route=BASE + "/jobs/{job_id}/results/rows", methods=["GET"], auth_level=ANONYMOUS)
async def ww_job_result_rows(req: func.HttpRequest) -> func.HttpResponse:
    async def run(catalog: Catalog) -> func.HttpResponse:
        job_id = req.route_params.get("job_id", "")
        limit = int_param(req, "limit", 100, 1, MAX_LIMIT)
        offset = int_param(req, "offset", 0, 0, 2**62)
        columns = [c.strip() for c in (req.params.get("columns") or "").split(",") if c.strip()]
        sort_dir = (req.params.get("sort_dir") or "asc").lower()
        if sort_dir not in ("asc", "desc"):
            raise fail(422, "sort_dir must be asc or desc.")

        def read() -> dict[str, Any]:
            job = job_or_404(catalog, job_id)
            if job["type"] != "infer_batch" or job["status"] != "succeeded":
                raise fail(400, "Result rows exist for succeeded inference jobs only.")
            try:
                return page_rows(
                    catalog.store.local_path(f"jobs/{job_id}/rows.parquet"),
                    columns=columns or None,
                    limit=limit,
                    offset=offset,
                    sort_by=req.params.get("sort_by") or None,
                    sort_dir=sort_dir,
                    filter_column=req.params.get("filter_column") or None,
                    filter_value=req.params.get("filter_value"),
                    search=req.params.get("search") or None,
                )
            except KeyError as error:
                raise fail(400, f"Unknown column {error.args[0]!r}.") from None

        return ok(await offload(read))

    return await handle(req, run)


@blueprint.route(route=BASE + "/signed/results/{job_id}", methods=["GET"], auth_level=ANONYMOUS)
async def ww_signed_results(req: func.HttpRequest) -> func.HttpResponse:
    async def run(catalog: Catalog) -> func.HttpResponse:
        job_id = req.route_params.get("job_id", "")
        problem = verify(
            await offload(catalog.store.signing_key),
            "GET",
            f"/{BASE}/signed/results/{job_id}",
            req.params.get("expires"),
            req.params.get("sig"),
        )
        if problem:
            raise fail(403, problem)
        job = await offload(job_or_404, catalog, job_id)
        internal = job.get("internal", {})
        if not internal.get("result_blob"):
            raise fail(404, "This job has no result file.")
        data = await offload(catalog.store.get_bytes, internal["result_blob"])
        name = internal["result_blob"].rsplit("/", 1)[-1]
        return func.HttpResponse(
            data,
            status_code=200,
            headers={
                "Content-Type": internal["content_type"],
                "Content-Disposition": f'attachment; filename="{job_id}-{name}"',
            },
        )

    return await handle(req, run, auth=False)
