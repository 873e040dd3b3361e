"""The unmodified `woodwide` 0.9.0 client against the host: datasets (multipart and signed
large-file uploads), training every model type, infer-batch in every output format, results
downloaded with the client's own helper, result-row paging, cancel, retry, delete, sync and
async inference, and bearer-key auth. Data is small so the module runs in well under a minute
of work; the chunking itself is exercised (several row groups per dataset)."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import requests
from woodwide import APIStatusError, BadRequestError, NotFoundError, WoodWide
from woodwide.lib import (
    download_job_results,
    ingest_dataset,
    ingest_large_dataset,
    iter_result_rows,
    train_model,
    wait_for_job,
)
from woodwide.lib.inference import infer_batch_and_wait

from tests.support.azurite import REPO_ROOT
from tests.support.host import HostProcess

KEY = "ww-test-key"
ROWS = 700
POLL = 0.1
FAST = {"n_estimators": 20}


def _table(rows: int = ROWS, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=rows), rng.normal(size=rows)
    city = rng.choice(["oslo", "lima", "pune"], size=rows)
    return pd.DataFrame(
        {
            "a": a,
            "b": b,
            "city": city,
            "churn": np.where(a + (city == "oslo") > 0.4, "yes", "no"),
            "tier": rng.choice(["gold", "silver", "bronze"], size=rows),
            "spend": a * 10 + b * 3 + rng.normal(scale=0.1, size=rows),
        }
    )


@dataclass
class Env:
    host: HostProcess
    client: WoodWide
    base: str
    frame: pd.DataFrame
    dataset_id: str
    version_id: str


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    root = tmp_path_factory.mktemp("woodwide")
    host = HostProcess(
        REPO_ROOT,
        root / "host",
        env={"BATCHINFER_DATA_ROOT": str(root), "BATCHINFER_API_KEYS": KEY},
    )
    host.start()
    base = f"{host.base_url}/api/woodwide"
    client = WoodWide(base_url=base, api_key=KEY)
    frame = _table()
    try:
        ingested = ingest_dataset(
            client,
            file=("customers.csv", frame.to_csv(index=False).encode(), "text/csv"),
            dataset_name="customers",
            description="synthetic",
            poll_interval=POLL,
            timeout=120,
        )
        yield Env(
            host, client, base, frame, ingested.submission.id, ingested.submission.version_id or ""
        )
    finally:
        client.close()
        code = host.stop()
        log = host.log()
        assert "Unhandled error" not in log, log[-5000:]
        assert "sig=" not in log and KEY not in log  # signatures and keys are never logged
        assert code == 0, f"host did not shut down cleanly ({code}):\n{log[-5000:]}"


def _train(env: Env, model_type: str, **kwargs: Any) -> Any:
    return train_model(
        env.client,
        model_type=model_type,
        dataset_id=env.dataset_id,
        poll_interval=POLL,
        timeout=180,
        **kwargs,
    )


@pytest.fixture(scope="module")
def models(env: Env) -> dict[str, str]:
    inputs = ["a", "b", "city"]
    made = {
        "binary": _train(
            env, "prediction", label_column="churn", input_columns=inputs, params=FAST
        ),
        "multiclass": _train(
            env, "prediction", label_column="tier", input_columns=inputs, params=FAST
        ),
        "regression": _train(
            env, "prediction", label_column="spend", input_columns=inputs, params=FAST
        ),
        "anomaly": _train(
            env, "anomaly", input_columns=inputs, params={"n_estimators": 25, "contamination": 0.05}
        ),
        "clustering": _train(env, "clustering", input_columns=inputs, params={"n_clusters": 3}),
        "embedding": _train(env, "embedding", input_columns=inputs, params={"n_components": 2}),
    }
    for result in made.values():
        assert result.job.status == "succeeded" and result.job.type == "train"
    return {name: result.submission.id for name, result in made.items()}


# ------------------------------------------------------------------------------- datasets
def test_dataset_ingested_with_schema_and_versions(env: Env) -> None:
    dataset = env.client.datasets.retrieve(env.dataset_id)
    version = dataset.current_version
    assert dataset.name == "customers" and dataset.description == "synthetic"
    assert version is not None and version.status == "ready" and version.row_count == ROWS
    kinds = {c["name"]: c["type"] for c in version.schema_json_["columns"]}
    assert kinds == {
        "a": "number",
        "b": "number",
        "city": "string",
        "churn": "string",
        "tier": "string",
        "spend": "number",
    }
    job = env.client.jobs.retrieve(version.ingest_job_id)
    assert job.type == "dataset_ingest" and job.status == "succeeded" and job.progress == 100
    listed = env.client.datasets.list(q="custom")
    assert [d.id for d in listed.items] == [env.dataset_id]
    assert env.client.datasets.list(q="nothing-like-it").items == []
    versions = env.client.datasets.versions.list(env.dataset_id)
    assert [v.id for v in versions.items] == [env.version_id]
    one = env.client.datasets.versions.retrieve(env.version_id, dataset_id=env.dataset_id)
    assert one.row_count == ROWS and one.dataset_id == env.dataset_id


def test_preview_lookup_and_patch(env: Env) -> None:
    preview = env.client.datasets.retrieve_preview(env.dataset_id, max_rows=5)
    assert preview.headers == list(env.frame.columns) and len(preview.rows) == 5
    assert preview.rows[2]["a"] == pytest.approx(env.frame["a"][2])
    found = env.client.datasets.rows_lookup(env.dataset_id, ids=[699, 0, 5, 5000])
    assert [r["id"] for r in found.rows] == [0, 5, 699]
    assert found.rows[2]["city"] == env.frame["city"][699]
    patched = env.client.datasets.update(env.dataset_id, description="renamed")
    assert patched.description == "renamed" and patched.name == "customers"
    env.client.datasets.update(env.dataset_id, description="synthetic")


def test_name_conflict_needs_override_then_adds_a_version(env: Env) -> None:
    small = env.frame.head(100).to_csv(index=False).encode()
    first = ingest_dataset(
        env.client, file=("other.csv", small), dataset_name="other", poll_interval=POLL
    )
    with pytest.raises(BadRequestError) as refused:
        env.client.datasets.create(file=("other.csv", small), dataset_name="other")
    assert "override" in refused.value.body["detail"]
    second = ingest_dataset(
        env.client,
        file=("other.csv", small),
        dataset_name="other",
        override=True,
        poll_interval=POLL,
    )
    assert second.submission.id == first.submission.id
    versions = env.client.datasets.versions.list(first.submission.id).items
    assert sorted(v.version for v in versions) == [1, 2]
    env.client.datasets.delete(first.submission.id)
    with pytest.raises(NotFoundError):
        env.client.datasets.retrieve(first.submission.id)


def test_large_file_path_with_signed_upload(env: Env) -> None:
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(env.frame, preserve_index=False), buffer)
    result = ingest_large_dataset(
        env.client,
        file=buffer.getvalue(),
        filename="big.parquet",
        dataset_name="big",
        poll_interval=POLL,
        timeout=120,
    )
    assert result.job.status == "succeeded" and result.completion is not None
    upload_url = result.submission.upload.upload_url
    assert KEY not in upload_url and "sig=" in upload_url
    version = env.client.datasets.retrieve(result.submission.id).current_version
    assert version.row_count == ROWS and version.status == "ready"
    tampered = upload_url.replace("sig=", "sig=0")
    answer = requests.put(
        tampered, data=b"x", headers={"Content-Type": "application/octet-stream"}, timeout=10
    )
    assert answer.status_code == 403 and "signature" in answer.json()["detail"]


@pytest.mark.parametrize(
    "content,message",
    [
        (b"a,a\n1,2\n", "Duplicate column name"),
        (b"n\n1\n2\n3\nabc\n", "mixes numbers and text"),
        (b"a,b\n", "no data rows"),
    ],
)
def test_bad_files_fail_their_job_clearly(env: Env, content: bytes, message: str) -> None:
    with pytest.raises(RuntimeError, match=message):
        ingest_dataset(
            env.client, file=("bad.csv", content), dataset_name=f"bad {message}", poll_interval=POLL
        )
    found = env.client.datasets.list(q=f"bad {message}").items
    assert found[0].current_version.status == "failed"


def test_empty_upload_is_refused(env: Env) -> None:
    with pytest.raises(BadRequestError):
        env.client.datasets.create(file=("empty.csv", b""), dataset_name="empty")


# --------------------------------------------------------------------------------- models
def test_every_model_type_trains_with_metrics(env: Env, models: dict[str, str]) -> None:
    expected = {
        "binary": "accuracy",
        "multiclass": "accuracy",
        "regression": "r2",
        "anomaly": "anomaly_rate",
        "clustering": "inertia",
        "embedding": "explained_variance",
    }
    for name, model_id in models.items():
        model = env.client.models.retrieve(model_id)
        assert model.status == "ready" and model.current_version.version == 1
        assert expected[name] in model.current_version.metrics
        version = env.client.models.versions.retrieve(
            model.current_version.version_id, model_id=model_id
        )
        assert version.dataset_id == env.dataset_id
        if name in ("binary", "multiclass", "regression"):
            assert version.performance.task_type == name
    binary = env.client.models.versions.list(models["binary"]).items[0]
    assert binary.metrics["accuracy"] > 0.8
    assert np.sum(binary.performance.confusion_matrix) == binary.performance.n_val
    regression = env.client.models.versions.list(models["regression"]).items[0]
    assert regression.metrics["r2"] > 0.9 and regression.performance.residual_sample


def test_unsupported_model_type_and_missing_label(env: Env) -> None:
    with pytest.raises(BadRequestError) as unsupported:
        env.client.models.train(model_type="search", dataset_id=env.dataset_id)
    assert "not supported" in unsupported.value.body["detail"]
    with pytest.raises(APIStatusError) as missing:
        env.client.models.train(model_type="prediction", dataset_id=env.dataset_id)
    assert missing.value.status_code == 422


def test_retrain_adds_a_version_and_pins_work(env: Env, models: dict[str, str]) -> None:
    first = env.client.models.retrieve(models["clustering"]).current_version.version_id
    again = _train(
        env,
        "clustering",
        model_id=models["clustering"],
        input_columns=["a", "b"],
        params={"n_clusters": 2},
    )
    assert again.submission.id == models["clustering"]
    model = env.client.models.retrieve(models["clustering"])
    assert model.current_version.version == 2
    pinned = infer_batch_and_wait(
        env.client,
        models["clustering"],
        dataset_id=env.dataset_id,
        model_version_id=first,
        output_type="json",
        poll_interval=POLL,
    )
    assert pinned.submission.api_model_version_id == first
    assert set(pinned.results.summary["cluster_counts"]) == {"0", "1", "2"}


# ------------------------------------------------------------------------------ inference
def _download(env: Env, job_id: str, tmp_path: Path, suffix: str) -> Path:
    return download_job_results(env.client, job_id, tmp_path / f"result.{suffix}")


@pytest.mark.parametrize("output_type", ["json", "csv", "parquet"])
def test_infer_batch_in_every_format(
    env: Env, models: dict[str, str], tmp_path: Path, output_type: str
) -> None:
    done = infer_batch_and_wait(
        env.client,
        models["binary"],
        dataset_id=env.dataset_id,
        output_type=output_type,
        poll_interval=POLL,
    )
    assert done.job.type == "infer_batch" and done.results.row_paginatable
    assert done.results.summary["total_row_count"] == ROWS
    path = _download(env, done.submission.job_id, tmp_path, output_type)
    if output_type == "json":
        document = json.loads(path.read_text())
        assert document["model_id"] == models["binary"] and document["model_type"] == "prediction"
        data = pd.DataFrame(document["data"])
    elif output_type == "csv":
        data = pd.read_csv(path)
    else:
        table = pq.read_table(path)
        assert table.schema.metadata[b"woodwide.model_id"].decode() == models["binary"]
        data = table.to_pandas()
    assert list(data.columns) == ["id", "prediction", "prediction_prob"]
    assert data["id"].tolist() == list(range(ROWS))
    agreement = (data["prediction"] == env.frame["churn"]).mean()
    assert agreement > 0.85
    assert ((data["prediction_prob"] > 0.5) == (data["prediction"] == "yes")).all()


def test_multiclass_regression_clustering_embedding_outputs(
    env: Env, models: dict[str, str], tmp_path: Path
) -> None:
    expected = {
        "multiclass": ["id", "prediction", "prediction_probs"],
        "regression": ["id", "prediction"],
        "clustering": ["id", "cluster_label"],
        "embedding": ["id", "dim_0", "dim_1"],
    }
    for name, columns in expected.items():
        done = infer_batch_and_wait(
            env.client,
            models[name],
            dataset_id=env.dataset_id,
            output_type="parquet",
            poll_interval=POLL,
        )
        table = pq.read_table(_download(env, done.submission.job_id, tmp_path, name))
        assert table.column_names == columns and table.num_rows == ROWS
        if name == "multiclass":
            sums = [sum(p) for p in table.column("prediction_probs").to_pylist()]
            assert np.allclose(sums, 1.0, atol=1e-5)
        if name == "regression":
            error = np.abs(table.column("prediction").to_numpy() - env.frame["spend"])
            assert np.median(error) < 2.0


def test_anomaly_formats_agree(env: Env, models: dict[str, str], tmp_path: Path) -> None:
    per_row = infer_batch_and_wait(
        env.client,
        models["anomaly"],
        dataset_id=env.dataset_id,
        output_type="csv",
        anomaly_format="per_row",
        poll_interval=POLL,
    )
    rows = pd.read_csv(_download(env, per_row.submission.job_id, tmp_path, "csv"))
    assert list(rows.columns) == ["id", "is_anomaly", "anomaly_score"] and len(rows) == ROWS
    ids = infer_batch_and_wait(
        env.client,
        models["anomaly"],
        dataset_id=env.dataset_id,
        output_type="json",
        poll_interval=POLL,
    )
    document = json.loads(_download(env, ids.submission.job_id, tmp_path, "json").read_text())
    flagged = rows.loc[rows["is_anomaly"], "id"].tolist()
    assert document["data"] == {"anomalous_ids": flagged}
    assert 0 < len(flagged) < ROWS * 0.1
    assert ids.results.summary["anomaly_count"] == len(flagged)


def test_result_rows_paging_sort_and_filter(env: Env, models: dict[str, str]) -> None:
    done = infer_batch_and_wait(
        env.client,
        models["binary"],
        dataset_id=env.dataset_id,
        output_type="json",
        poll_interval=POLL,
    )
    job_id = done.submission.job_id
    rows = list(iter_result_rows(env.client, job_id, page_size=128))
    assert [r["id"] for r in rows] == list(range(ROWS))
    page = env.client.jobs.retrieve_result_rows(
        job_id,
        columns=["id", "prediction_prob"],
        limit=10,
        offset=0,
        sort_by="prediction_prob",
        sort_dir="desc",
    )
    probs = [r["prediction_prob"] for r in page.rows]
    assert probs == sorted(probs, reverse=True) and set(page.rows[0]) == {"id", "prediction_prob"}
    assert page.total == ROWS
    yes = env.client.jobs.retrieve_result_rows(
        job_id, filter_column="prediction", filter_value="yes", limit=500
    )
    assert yes.total_filtered == sum(r["prediction"] == "yes" for r in rows)
    with pytest.raises(BadRequestError):
        env.client.jobs.retrieve_result_rows(job_id, columns=["nope"])


def test_identical_requests_reuse_the_job(env: Env, models: dict[str, str]) -> None:
    first = env.client.models.infer_batch(
        models["regression"], dataset_id=env.dataset_id, output_type="csv"
    )
    second = env.client.models.infer_batch(
        models["regression"], dataset_version_id=env.version_id, output_type="csv"
    )
    assert second.job_id == first.job_id
    forced = env.client.models.infer_batch(
        models["regression"], dataset_id=env.dataset_id, output_type="csv", force_rerun=True
    )
    assert forced.job_id != first.job_id
    for job_id in (first.job_id, forced.job_id):
        assert wait_for_job(env.client, job_id, poll_interval=POLL).status == "succeeded"


def test_results_need_a_signature_but_no_key(env: Env, models: dict[str, str]) -> None:
    done = infer_batch_and_wait(
        env.client,
        models["regression"],
        dataset_id=env.dataset_id,
        output_type="json",
        poll_interval=POLL,
    )
    url = done.results.inference_results_uri
    assert KEY not in url
    assert requests.get(url, timeout=10).status_code == 200
    assert requests.get(url.replace("sig=", "sig=1"), timeout=10).status_code == 403
    unsigned = requests.get(f"{env.base}/jobs/{done.submission.job_id}", timeout=10)
    assert unsigned.status_code == 401 and "Bearer" in unsigned.json()["detail"]
    wrong = WoodWide(base_url=env.base, api_key="wrong", max_retries=0)
    with pytest.raises(APIStatusError) as denied:
        wrong.jobs.list()
    assert denied.value.status_code == 401


# ----------------------------------------------------------------- cancel / retry / delete
def test_cancel_a_waiting_upload(env: Env) -> None:
    prepared = env.client.datasets.upload(
        file={"filename": "later.csv", "bytes": 10, "content_type": "text/csv"},
        dataset_name="later",
        idempotency_key="later-1",
    )
    again = env.client.datasets.upload(
        file={"filename": "later.csv", "bytes": 10, "content_type": "text/csv"},
        dataset_name="later",
        idempotency_key="later-1",
    )
    assert again.job_id == prepared.job_id  # a retried request gets the same upload
    assert env.client.jobs.retrieve(prepared.job_id).status == "waiting_for_upload"
    canceled = env.client.jobs.cancel(prepared.job_id)
    assert canceled.status == "canceled"
    with pytest.raises(RuntimeError, match="canceled"):
        wait_for_job(env.client, prepared.job_id, poll_interval=POLL)
    assert env.client.jobs.cancel(prepared.job_id).status == "canceled"
    with pytest.raises(BadRequestError, match="upload"):
        env.client.jobs.retry(prepared.job_id)


def test_cancel_running_inference_then_retry(
    env: Env, models: dict[str, str], tmp_path: Path
) -> None:
    submitted = env.client.models.infer_batch(
        models["anomaly"],
        dataset_id=env.dataset_id,
        output_type="parquet",
        anomaly_format="per_row",
        force_rerun=True,
    )
    canceled = env.client.jobs.cancel(submitted.job_id)
    time.sleep(1.0)  # any chunk still running finishes; the job must stay as cancel left it
    job = env.client.jobs.retrieve(submitted.job_id)
    assert job.status == canceled.status
    if canceled.status == "succeeded":  # it won the race: retrying a success is refused
        with pytest.raises(BadRequestError):
            env.client.jobs.retry(submitted.job_id)
        return
    assert canceled.status == "canceled" and job.error_message
    with pytest.raises(BadRequestError):
        env.client.jobs.retrieve_results(submitted.job_id)
    retried = env.client.jobs.retry(submitted.job_id)
    assert retried.id != submitted.job_id
    finished = wait_for_job(env.client, retried.id, poll_interval=POLL)
    assert finished.parent_job_id == submitted.job_id and finished.type == "infer_batch"
    table = pq.read_table(_download(env, retried.id, tmp_path, "parquet"))
    assert table.num_rows == ROWS


def test_retry_failed_training(env: Env) -> None:
    with pytest.raises(RuntimeError, match="params.n_clusters"):
        _train(env, "clustering", params={"n_clusters": 10_000})
    failed = [j for j in env.client.jobs.list(type="train", status="failed").items]
    assert failed and failed[0].type == "train"
    retried = env.client.jobs.retry(failed[0].id)
    with pytest.raises(RuntimeError, match="params.n_clusters"):
        wait_for_job(env.client, retried.id, poll_interval=POLL)


def test_jobs_list_filters_and_cursor(env: Env, models: dict[str, str]) -> None:
    trains = env.client.jobs.list(type="train", model_id=models["binary"])
    assert [j.api_model_id for j in trains.items] == [models["binary"]]
    first = env.client.jobs.list(limit=2)
    assert len(first.items) == 2 and first.next_cursor
    second = env.client.jobs.list(limit=2, cursor=first.next_cursor)
    assert {j.id for j in first.items}.isdisjoint(j.id for j in second.items)


def test_delete_model(env: Env) -> None:
    made = _train(env, "embedding", input_columns=["a", "b"], params={"n_components": 1})
    env.client.models.delete(made.submission.id)
    with pytest.raises(NotFoundError):
        env.client.models.retrieve(made.submission.id)
    with pytest.raises(NotFoundError):
        env.client.models.infer_batch(made.submission.id, dataset_id=env.dataset_id)


# ----------------------------------------------------------------------- sync and async
def test_sync_infer_and_its_size_limit(env: Env, models: dict[str, str]) -> None:
    head = env.frame.head(20).to_csv(index=False).encode()
    answer = env.client.models.infer(models["binary"], file=("rows.csv", head))
    assert answer["data"]["id"] == list(range(20)) and len(answer["data"]["prediction"]) == 20
    huge = b"a,b,city\n" + b"1.0,2.0,oslo\n" * 900_000
    with pytest.raises(APIStatusError) as too_big:
        env.client.models.infer(models["binary"], file=("huge.csv", huge))
    assert too_big.value.status_code == 413
    with pytest.raises(BadRequestError, match="lacks"):
        env.client.models.infer(models["binary"], file=("x.csv", b"zzz\n1\n"))


def test_infer_async(env: Env, models: dict[str, str], tmp_path: Path) -> None:
    data = env.frame.head(300).drop(columns=["churn"]).to_csv(index=False).encode()
    submitted = env.client.models.infer_async(
        models["clustering"], file=("q.csv", data), output_type="csv"
    )
    done = wait_for_job(env.client, submitted.job_id, poll_interval=POLL)
    assert done.type == "infer_batch"
    rows = pd.read_csv(_download(env, submitted.job_id, tmp_path, "csv"))
    assert rows["id"].tolist() == list(range(300))


# ----------------------------------------------------------------------------- bad input
def test_bad_requests_get_a_4xx_detail_never_a_5xx(env: Env, models: dict[str, str]) -> None:
    auth = {"Authorization": f"Bearer {KEY}"}
    model = models["binary"]
    cases: list[tuple[str, str, dict[str, Any], int]] = [
        ("POST", "/models/train", {"data": b"not json"}, 422),
        ("POST", "/models/train", {"json": {}}, 422),
        (
            "POST",
            "/models/train",
            {"json": {"model_type": "anomaly", "dataset_id": "ds_missing"}},
            404,
        ),
        (
            "POST",
            "/models/train",
            {
                "json": {
                    "model_type": "prediction",
                    "label_column": "nope",
                    "dataset_id": env.dataset_id,
                }
            },
            400,
        ),
        ("POST", "/models/mdl_missing/infer-batch", {"json": {"dataset_id": env.dataset_id}}, 404),
        (
            "POST",
            f"/models/{model}/infer-batch",
            {"json": {"dataset_id": env.dataset_id, "output_type": "xml"}},
            422,
        ),
        ("POST", f"/models/{model}/infer-batch", {"json": {}}, 422),
        ("POST", f"/models/{model}/infer-batch", {"json": {"dataset_version_id": "dsv_x"}}, 404),
        ("POST", "/datasets", {"json": {"file": "x"}}, 422),
        ("POST", "/datasets", {"files": {"other": ("a.csv", b"a\n1\n")}}, 422),
        (
            "POST",
            "/datasets",
            {"files": {"file": ("a.csv", b"a\n1\n")}, "data": {"override": "maybe"}},
            422,
        ),
        ("POST", "/datasets/upload", {"json": {"file": {"filename": "a.csv", "bytes": 0}}}, 422),
        (
            "POST",
            "/datasets/upload",
            {"json": {"file": {"filename": "a.csv", "bytes": 10**12}}},
            413,
        ),
        ("POST", "/datasets/dsv_missing/complete", {}, 404),
        ("GET", "/jobs?limit=abc", {}, 422),
        ("GET", "/jobs?cursor=xyz", {}, 422),
        ("GET", "/jobs/job_missing", {}, 404),
        ("GET", "/jobs/a.b/results", {}, 404),
        ("POST", f"/datasets/{env.dataset_id}/rows:lookup", {"json": {"ids": "x"}}, 422),
        ("GET", f"/datasets/{env.dataset_id}/preview?max_rows=0", {}, 422),
        ("PATCH", f"/datasets/{env.dataset_id}", {"json": {"name": ""}}, 422),
        ("POST", f"/models/{model}/infer", {"files": {"file": ("x.csv", b"")}}, 400),
        ("GET", f"/jobs/{env.client.jobs.list(type='train').items[0].id}/results/rows", {}, 400),
    ]
    for method, path, kwargs, status in cases:
        answer = requests.request(method, env.base + path, headers=auth, timeout=30, **kwargs)
        assert answer.status_code == status, (method, path, answer.status_code, answer.text)
        assert isinstance(answer.json()["detail"], str) and answer.json()["detail"]


def test_failing_chunks_fail_the_job_and_publish_nothing(env: Env, models: dict[str, str]) -> None:
    frame = env.frame.copy()
    frame["a"] = ["unknown"] * 600 + [str(v) for v in frame["a"][600:]]  # text: chunks 1-10 fail
    data = ingest_dataset(
        env.client,
        file=("text.csv", frame.to_csv(index=False).encode()),
        dataset_name="a-as-text",
        poll_interval=POLL,
    )
    submitted = env.client.models.infer_batch(
        models["binary"], dataset_id=data.submission.id, output_type="csv"
    )
    with pytest.raises(RuntimeError, match="cannot be read as numeric"):
        wait_for_job(env.client, submitted.job_id, poll_interval=POLL)
    job = env.client.jobs.retrieve(submitted.job_id)
    assert job.status == "failed" and "chunks failed" in (job.error_message or "")
    with pytest.raises(BadRequestError):
        env.client.jobs.retrieve_results(submitted.job_id)
    with pytest.raises(BadRequestError):
        env.client.jobs.retrieve_result_rows(submitted.job_id)
