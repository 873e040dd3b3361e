"""The durable steps run in-process: ingest → train → prepare → chunks → finish, and cancel
or chunk failures leave a job that reads canceled/failed with nothing published."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from batchinfer.tabular import steps
from batchinfer.tabular.catalog import Catalog, new_job
from batchinfer.tabular.store import tabular_store


def _catalog(tmp_path: Path) -> Catalog:
    return Catalog(tabular_store(tmp_path.resolve()))


def _ready_model(
    catalog: Catalog, rows: int = 400
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], dict[str, Any]]:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=rows), "b": rng.normal(size=rows)})
    frame["y"] = np.where(frame["a"] > 0, "hi", "lo")
    dataset = catalog.new_dataset("d", None)
    version, job = catalog.new_dataset_version(dataset, "d.csv", "upload", "queued")
    catalog.store.put_bytes(catalog.upload_blob(version), frame.to_csv(index=False).encode())
    assert steps.ingest(catalog, job["id"]) == "succeeded"
    data = catalog.dataset_version(version["id"]) or {}
    assert data["status"] == "ready" and data["row_groups"] > 1
    assert not catalog.store.exists(catalog.upload_blob(version))  # the raw upload is dropped
    model = catalog.new_model("prediction", "y", dataset)
    request = {"model_type": "prediction", "label_column": "y", "params": {"n_estimators": 10}}
    model_version, train_job = catalog.new_model_version(model, dataset, data, request)
    assert steps.train_version(catalog, train_job["id"]) == "succeeded"
    return dataset, data, model, catalog.model_version(model["id"], model_version["id"]) or {}


def _infer_job(
    catalog: Catalog, model: dict[str, Any], data: dict[str, Any], version: dict[str, Any]
) -> str:
    request = {"output_type": "csv", "anomaly_format": "ids_only"}
    job = new_job(
        "infer_batch",
        model_id=model["id"],
        model_type="prediction",
        internal={
            "request": request,
            "model_version_id": version["id"],
            "dataset_version_id": data["id"],
        },
    )
    catalog.save_job(job)
    return str(job["id"])


def test_steps_produce_results_in_input_order(tmp_path: Path) -> None:
    catalog = _catalog(tmp_path)
    _, data, model, version = _ready_model(catalog)
    job_id = _infer_job(catalog, model, data, version)
    chunks = steps.prepare_inference(catalog, job_id)
    assert chunks == data["row_groups"]
    for index in reversed(range(chunks)):  # completion order does not matter
        assert steps.score_chunk(catalog, job_id, index)["rows"] > 0
    assert catalog.job_view(catalog.job(job_id) or {})["progress"] == 95.0
    assert steps.finish_inference(catalog, job_id, []) == "succeeded"
    job = catalog.job(job_id) or {}
    assert job["status"] == "succeeded" and job["output"]["summary"]["total_row_count"] == 400
    rows = pq.read_table(catalog.store.local_path(f"jobs/{job_id}/rows.parquet"))
    assert rows.column("id").to_pylist() == list(range(400))
    assert list(catalog.store.names(f"jobs/{job_id}/chunks/")) == []


def test_cancel_wins_over_steps_still_running(tmp_path: Path) -> None:
    catalog = _catalog(tmp_path)
    _, data, model, version = _ready_model(catalog)
    job_id = _infer_job(catalog, model, data, version)
    chunks = steps.prepare_inference(catalog, job_id)
    steps.score_chunk(catalog, job_id, 0)
    stale = catalog.job(job_id) or {}
    assert (catalog.cancel_job(job_id) or {})["status"] == "canceled"
    catalog.save_job(dict(stale, status="running"))  # a step that read the job before cancel
    assert steps.score_chunk(catalog, job_id, 1) == {"skipped": True}
    assert steps.finish_inference(catalog, job_id, []) == "skipped"
    job = catalog.job(job_id) or {}
    assert job["status"] == "canceled" and chunks > 1
    assert not catalog.store.exists(f"jobs/{job_id}/result.csv")
    assert (catalog.cancel_job(job_id) or {})["status"] == "canceled"


def test_chunk_errors_fail_the_job_and_drop_partial_outputs(tmp_path: Path) -> None:
    catalog = _catalog(tmp_path)
    _, data, model, version = _ready_model(catalog)
    job_id = _infer_job(catalog, model, data, version)
    steps.prepare_inference(catalog, job_id)
    steps.score_chunk(catalog, job_id, 0)
    assert steps.finish_inference(catalog, job_id, ["chunk 2 of 7: bad column"]) == "failed"
    job = catalog.job(job_id) or {}
    assert job["status"] == "failed" and job["error_message"] == "chunk 2 of 7: bad column"
    assert list(catalog.store.names(f"jobs/{job_id}/chunks/")) == []
    assert not catalog.store.exists(f"jobs/{job_id}/result.csv")
    assert steps.finish_inference(catalog, job_id, []) == "skipped"  # ended jobs stay ended


def test_ingest_failure_marks_version_failed(tmp_path: Path) -> None:
    catalog = _catalog(tmp_path)
    dataset = catalog.new_dataset("bad", None)
    version, job = catalog.new_dataset_version(dataset, "bad.csv", "upload", "queued")
    catalog.store.put_bytes(catalog.upload_blob(version), b"a,a\n1,2\n")
    assert steps.ingest(catalog, job["id"]) == "failed"
    assert (catalog.dataset_version(version["id"]) or {})["status"] == "failed"
    assert "Duplicate column" in (catalog.job(job["id"]) or {})["error_message"]
    assert catalog.store.exists(catalog.upload_blob(version))  # kept, so retry can re-read it


def test_deleting_during_ingest_or_training_leaves_nothing(tmp_path: Path) -> None:
    catalog = _catalog(tmp_path)
    dataset = catalog.new_dataset("gone", None)
    version, job = catalog.new_dataset_version(dataset, "g.csv", "upload", "queued")
    catalog.store.put_bytes(catalog.upload_blob(version), b"a,b\n1,2\n3,4\n")
    catalog.store.delete(f"datasets/{dataset['id']}/dataset.json")  # deleted mid-ingest
    assert steps.ingest(catalog, job["id"]) == "failed"
    assert list(catalog.store.names(f"datasets/{dataset['id']}/")) == []
    assert catalog.dataset_version(version["id"]) is None
    _, data, model, _ = _ready_model(catalog)
    request = {"model_type": "prediction", "label_column": "y", "params": {"n_estimators": 5}}
    dataset2 = catalog.dataset(data["dataset_id"]) or {}
    version2, train_job = catalog.new_model_version(model, dataset2, data, request)
    catalog.store.delete(f"models/{model['id']}/model.json")  # deleted mid-training
    assert steps.train_version(catalog, train_job["id"]) == "failed"
    assert not catalog.store.exists(catalog.model_file(version2, "model.onnx"))


def test_a_canceled_job_lists_as_canceled_even_after_a_running_step_wrote(tmp_path: Path) -> None:
    catalog = _catalog(tmp_path)
    job = new_job("infer_batch", status="running")
    catalog.save_job(job)
    catalog.cancel_job(job["id"])
    catalog.save_job({**job, "progress": 50.0})  # a step still running rewrites its record
    listed = {j["id"]: j for j in catalog.jobs()}
    assert listed[job["id"]]["status"] == "canceled"
    assert listed[job["id"]]["error_message"] == "Canceled by the user."
