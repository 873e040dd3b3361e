"""What the durable activities of the dataset inference API do: ids in, records updated.

Each step reloads the job record and does nothing once the job has ended (canceled by the
user, or deleted), so a canceled job's remaining chunks stop early. User errors (unreadable
file, unusable column) fail the job with a clear `error_message`; unexpected errors propagate
so the durable retry policy can try again, and the orchestration then fails the job.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from batchinfer.inference.batching import DEFAULT_BATCH_ROWS
from batchinfer.inference.runtime import default_session_cache
from batchinfer.tabular.assembly import CONTENT_TYPES, assemble
from batchinfer.tabular.catalog import Catalog, now
from batchinfer.tabular.features import FeatureError
from batchinfer.tabular.ingest import IngestError, read_upload, write_version
from batchinfer.tabular.scoring import score_table
from batchinfer.tabular.training import TrainError, train

log = logging.getLogger("batchinfer.tabular.steps")


def _fail(catalog: Catalog, job_id: str, message: str) -> str:
    catalog.update_job(job_id, status="failed", error_message=message, finished_at=now())
    return "failed"


def _start(catalog: Catalog, job_id: str) -> dict[str, Any] | None:
    record = catalog.job(job_id)
    if record is None or record["status"] in ("succeeded", "failed", "canceled", "rejected"):
        return None
    if record["status"] != "running":
        record = catalog.update_job(job_id, status="running", started_at=now(), progress=5.0)
    return record


# ------------------------------------------------------------------------------------ ingest
def ingest(catalog: Catalog, job_id: str) -> str:
    """Validate the stored upload and write the version as Parquet; mark it ready or failed."""
    job = _start(catalog, job_id)
    if job is None:
        return "skipped"
    version = catalog.dataset_version(job["internal"]["dataset_version_id"])
    if version is None:
        return _fail(catalog, job_id, "The dataset version was deleted before ingestion.")
    store = catalog.store
    try:
        table = read_upload(store.local_path(catalog.upload_blob(version)))
        scratch = store.scratch_file(".parquet")
        stored = write_version(table, scratch)
        store.put_file(catalog.data_blob(version), scratch)
    except (IngestError, pa.ArrowException) as error:
        version.update(status="failed", error_message=str(error).splitlines()[0])
        catalog.save_dataset_version(version)
        return _fail(catalog, job_id, str(error))
    if catalog.dataset(version["dataset_id"]) is None:  # deleted while we were ingesting
        catalog.delete_dataset(version["dataset_id"])
        return _fail(catalog, job_id, "The dataset was deleted during ingestion.")
    version.update(
        status="ready",
        ready_at=now(),
        row_count=stored.row_count,
        byte_size=stored.byte_size,
        schema_json=stored.schema,
        row_groups=stored.row_groups,
        error_message=None,
    )
    catalog.save_dataset_version(version)
    store.delete(catalog.upload_blob(version))
    catalog.update_job(
        job_id,
        status="succeeded",
        finished_at=now(),
        progress=100.0,
        output={"row_count": stored.row_count, "schema_json": stored.schema},
    )
    return "succeeded"


# ------------------------------------------------------------------------------------- train
def train_version(catalog: Catalog, job_id: str) -> str:
    """Train the job's model version on its dataset version; write ONNX and metrics."""
    job = _start(catalog, job_id)
    if job is None:
        return "skipped"
    request = job["internal"]["request"]
    version = catalog.model_version(job["model_id"], job["internal"]["model_version_id"])
    data = catalog.dataset_version(job["internal"]["dataset_version_id"])
    if version is None or data is None:
        return _fail(catalog, job_id, "The model or dataset was deleted before training.")
    store = catalog.store
    try:
        table = pq.read_table(store.local_path(catalog.data_blob(data)))
        trained = train(
            table,
            request["model_type"],
            label_column=request.get("label_column"),
            input_columns=request.get("input_columns"),
            params=request.get("params"),
            training_mode=request.get("training_mode") or "fast",
        )
    except (TrainError, FeatureError, ValueError) as error:  # sklearn's data errors too
        version.update(status="failed", error_message=str(error))
        catalog.save_model_version(version)
        return _fail(catalog, job_id, str(error))
    if catalog.model(job["model_id"]) is None:  # deleted while training: write nothing
        return _fail(catalog, job_id, "The model was deleted during training.")
    store.put_bytes(catalog.model_file(version, "model.onnx"), trained.onnx)
    store.put_bytes(catalog.model_file(version, "meta.json"), json.dumps(trained.meta).encode())
    version.update(
        status="ready",
        ready_at=now(),
        metrics=trained.metrics,
        performance=trained.performance,
        task_type=trained.meta.get("task"),
        input_columns=trained.meta["input_columns"],
    )
    catalog.save_model_version(version)
    model = catalog.model(job["model_id"])
    if model is not None:
        model.update(updated_at=now(), task_type=trained.meta.get("task"))
        catalog.save_model(model)
    catalog.update_job(
        job_id,
        status="succeeded",
        finished_at=now(),
        progress=100.0,
        output={"metrics": trained.metrics},
    )
    return "succeeded"


# ----------------------------------------------------------------------------- infer-batch
def load_meta(catalog: Catalog, version: dict[str, Any]) -> dict[str, Any]:
    meta: dict[str, Any] = json.loads(
        catalog.store.get_bytes(catalog.model_file(version, "meta.json"))
    )
    return meta


def model_session(catalog: Catalog, version: dict[str, Any]) -> Any:
    path = catalog.store.local_path(catalog.model_file(version, "model.onnx"))
    return default_session_cache().get(path)


def prepare_inference(catalog: Catalog, job_id: str) -> int:
    """Find (or ingest, for infer-async uploads) the input; return its chunk count (0: stop)."""
    job = _start(catalog, job_id)
    if job is None:
        return 0
    internal = job["internal"]
    store = catalog.store
    if internal.get("upload_blob"):
        try:
            table = read_upload(store.local_path(internal["upload_blob"]))
            scratch = store.scratch_file(".parquet")
            write_version(table, scratch)
            input_blob = f"jobs/{job_id}/input.parquet"
            store.put_file(input_blob, scratch)
            store.delete(internal["upload_blob"])
        except IngestError as error:
            _fail(catalog, job_id, str(error))
            return 0
    else:
        data = catalog.dataset_version(internal["dataset_version_id"])
        if data is None:
            _fail(catalog, job_id, "The dataset version was deleted before inference.")
            return 0
        input_blob = catalog.data_blob(data)
    metadata = pq.ParquetFile(store.local_path(input_blob)).metadata
    firsts, row = [], 0
    for group in range(metadata.num_row_groups):
        firsts.append(row)
        row += metadata.row_group(group).num_rows
    version = catalog.model_version(job["model_id"], internal["model_version_id"])
    if version is None:
        _fail(catalog, job_id, "The model version was deleted before inference.")
        return 0
    missing = [
        c
        for c in load_meta(catalog, version)["input_columns"]
        if c not in metadata.schema.to_arrow_schema().names
    ]
    if missing:
        _fail(catalog, job_id, f"The data lacks the model's input columns: {missing}.")
        return 0
    catalog.update_job(
        job_id,
        internal={
            "input_blob": input_blob,
            "chunks": len(firsts),
            "first_ids": firsts,
            "rows": row,
        },
    )
    return len(firsts)


def chunk_blob(job_id: str, index: int) -> str:
    return f"jobs/{job_id}/chunks/{index:06d}.parquet"


def score_chunk(
    catalog: Catalog, job_id: str, index: int, batch_rows: int = DEFAULT_BATCH_ROWS
) -> dict[str, Any]:
    """Score one row group (in ONNX runs of ≤ batch_rows rows) and store its output;
    `{"error": ...}` for a data error."""
    job = catalog.job(job_id)
    if job is None or job["status"] != "running":
        return {"skipped": True}
    internal = job["internal"]
    store = catalog.store
    version = catalog.model_version(job["model_id"], internal["model_version_id"])
    if version is None:
        return {"error": "The model version was deleted during inference."}
    table = pq.ParquetFile(store.local_path(internal["input_blob"])).read_row_group(index)
    try:
        output = score_table(
            model_session(catalog, version),
            load_meta(catalog, version),
            table,
            int(internal["first_ids"][index]),
            batch_rows,
        )
    except FeatureError as error:
        return {"error": f"chunk {index + 1} of {internal['chunks']}: {error}"}
    scratch = store.scratch_file(".parquet")
    pq.write_table(output, scratch)
    store.put_file(chunk_blob(job_id, index), scratch)
    return {"rows": output.num_rows}


def finish_inference(catalog: Catalog, job_id: str, errors: list[str]) -> str:
    """Assemble the results in input order, or fail the job and keep no partial result."""
    job = catalog.job(job_id)
    if job is None or job["status"] != "running":
        return "skipped"
    store = catalog.store
    internal = job["internal"]
    if errors:
        store.delete_prefix(f"jobs/{job_id}/chunks/")
        return _fail(
            catalog,
            job_id,
            errors[0] if len(errors) == 1 else f"{len(errors)} chunks failed; first: {errors[0]}",
        )
    request = internal["request"]
    output_type = request["output_type"]
    paths = [store.local_path(chunk_blob(job_id, i)) for i in range(int(internal["chunks"]))]
    rows, result = store.scratch_file(".parquet"), store.scratch_file("." + output_type)
    header = {
        "model_id": job["model_id"],
        "model_version_id": internal["model_version_id"],
        "model_type": job["model_type"],
    }
    summary = assemble(
        paths,
        rows,
        result,
        output_type=output_type,
        anomaly_format=request["anomaly_format"],
        header=header,
    )
    store.put_file(f"jobs/{job_id}/rows.parquet", rows)
    store.put_file(f"jobs/{job_id}/result.{output_type}", result)
    store.delete_prefix(f"jobs/{job_id}/chunks/")
    catalog.update_job(
        job_id,
        status="succeeded",
        finished_at=now(),
        progress=100.0,
        output={"summary": summary},
        internal={
            "result_blob": f"jobs/{job_id}/result.{output_type}",
            "content_type": CONTENT_TYPES[output_type],
            "summary": summary,
        },
    )
    return "succeeded"


def fail_unexpectedly(catalog: Catalog, job_id: str) -> str:
    """The orchestration's last word after a step failed beyond its retries."""
    log.error("tabular job %s failed in an unexpected way; see the activity log", job_id)
    return _fail(catalog, job_id, "The job failed unexpectedly; see the service log.")
