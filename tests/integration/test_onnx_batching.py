"""Batched ONNX runs with the real models: tabular (every model kind, the infer-batch step),
anomaly chunks and the batch endpoint tasks give exactly the unbatched results, one run per
batch, and a file the model rejects still fails alone."""

from __future__ import annotations

import io
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from batchinfer.endpoints.digits import train_digits_onnx, write_digit_folder
from batchinfer.endpoints.tasks import IMAGE_CLASSIFICATION, TABULAR, ScoreError, TaskCache
from batchinfer.inference.batching import batch_spans
from batchinfer.inference.runtime import (
    InferenceSessionPort,
    RuntimeSettings,
    SessionCache,
)
from batchinfer.models.mvad.detect import score_chunk as score_mvad_chunk
from batchinfer.models.mvad.model import TrainedModel
from batchinfer.models.mvad.synthetic import inject_anomalies, make_correlated_series
from batchinfer.models.mvad.train import train as train_mvad
from batchinfer.tabular import steps
from batchinfer.tabular.catalog import Catalog, new_job
from batchinfer.tabular.scoring import score_table
from batchinfer.tabular.store import tabular_store
from batchinfer.tabular.training import train

CACHE = SessionCache(RuntimeSettings(providers=("CPUExecutionProvider",), intra_op_threads=1))


class Counting:
    """A real session that records the rows of every run (and can refuse marked rows)."""

    def __init__(self, inner: InferenceSessionPort, refuse_above: float | None = None) -> None:
        self.inner = inner
        self.runs: list[int] = []
        self.refuse_above = refuse_above

    input_names = property(lambda self: self.inner.input_names)
    provider = property(lambda self: self.inner.provider)
    metadata = property(lambda self: self.inner.metadata)

    def run(self, inputs: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        first = next(iter(inputs.values()))
        self.runs.append(len(first))
        if self.refuse_above is not None and np.max(first) > self.refuse_above:
            raise RuntimeError("[ONNXRuntimeError] : 6 : RUNTIME_EXCEPTION : value out of range")
        return self.inner.run(inputs)


class CountingSource:
    """A SessionSource handing out `Counting` sessions over the shared test cache."""

    def __init__(self, refuse_above: float | None = None) -> None:
        self.sessions: list[Counting] = []
        self.refuse_above = refuse_above

    def get(self, model_path: Any, providers: Sequence[str] | None = None) -> Counting:
        session = Counting(CACHE.get(model_path, providers), self.refuse_above)
        self.sessions.append(session)
        return session

    @property
    def runs(self) -> list[int]:
        return [n for s in self.sessions for n in s.runs]


# --------------------------------------------------------------------------------- tabular
def _mixed_table(rows: int, seed: int = 5) -> pa.Table:
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=rows), rng.normal(size=rows)
    city = rng.choice(["oslo", "lima", "pune", None], size=rows)
    return pa.table(
        {
            "a": [None if i % 13 == 0 else float(v) for i, v in enumerate(a)],
            "b": b,
            "city": list(city),
            "label": np.where(a + (city == "oslo") > 0.3, "yes", "no"),
            "colour": rng.choice(["red", "green", "blue"], size=rows),
            "amount": a * 3 + b,
        }
    )


KINDS = [
    ("prediction", "label", {"n_estimators": 10}),
    ("prediction", "colour", {"n_estimators": 10}),
    ("prediction", "amount", {"n_estimators": 10}),
    ("anomaly", None, {"n_estimators": 10}),
    ("clustering", None, {"n_clusters": 3}),
    ("embedding", None, {"n_components": 2}),
]


@pytest.mark.parametrize("model_type,label,params", KINDS)
def test_tabular_batches_equal_one_run_for_every_model_kind(
    tmp_path: Path, model_type: str, label: str | None, params: dict[str, Any]
) -> None:
    table = _mixed_table(301)
    model = train(
        table, model_type, label_column=label, input_columns=["a", "b", "city"], params=params
    )
    path = tmp_path / "m.onnx"
    path.write_bytes(model.onnx)
    whole = score_table(CACHE.get(path), model.meta, table, 1000)
    for size in (2, 7, 100):
        counting = Counting(CACHE.get(path))
        batched = score_table(counting, model.meta, table, 1000, batch_rows=size)
        assert batched.equals(whole), (model_type, label, size)
        assert counting.runs == [hi - lo for lo, hi in batch_spans(301, size)]
    assert whole.column("id").to_pylist() == list(range(1000, 1301))


def test_infer_batch_chunks_run_in_batches_with_the_same_output(tmp_path: Path) -> None:
    catalog = Catalog(tabular_store(tmp_path.resolve()))
    rng = np.random.default_rng(0)
    frame = {"a": rng.normal(size=500), "b": rng.normal(size=500)}
    csv = "a,b,y\n" + "\n".join(
        f"{a},{b},{'hi' if a > 0 else 'lo'}" for a, b in zip(frame["a"], frame["b"], strict=True)
    )
    dataset = catalog.new_dataset("d", None)
    version, job = catalog.new_dataset_version(dataset, "d.csv", "upload", "queued")
    catalog.store.put_bytes(catalog.upload_blob(version), csv.encode())
    assert steps.ingest(catalog, job["id"]) == "succeeded"
    data = catalog.dataset_version(version["id"]) or {}
    model = catalog.new_model("prediction", "y", dataset)
    request = {"model_type": "prediction", "label_column": "y", "params": {"n_estimators": 10}}
    model_version, train_job = catalog.new_model_version(model, dataset, data, request)
    assert steps.train_version(catalog, train_job["id"]) == "succeeded"

    def run_job(batch_rows: int) -> bytes:
        job = new_job(
            "infer_batch",
            model_id=model["id"],
            model_type="prediction",
            internal={
                "request": {"output_type": "csv", "anomaly_format": "ids_only"},
                "model_version_id": model_version["id"],
                "dataset_version_id": data["id"],
            },
        )
        catalog.save_job(job)
        chunks = steps.prepare_inference(catalog, job["id"])
        assert chunks > 1
        for index in range(chunks):
            assert steps.score_chunk(catalog, job["id"], index, batch_rows)["rows"] > 0
        assert steps.finish_inference(catalog, job["id"], []) == "succeeded"
        return catalog.store.get_bytes(f"jobs/{job['id']}/result.csv")

    unbatched = run_job(1_000_000)
    assert run_job(3) == unbatched
    assert len(unbatched.decode().splitlines()) == 501  # header + one line per row


# --------------------------------------------------------------------------------- anomaly
W = 32


@pytest.fixture(scope="module")
def mvad_model(tmp_path_factory: pytest.TempPathFactory) -> TrainedModel:
    model = train_mvad(make_correlated_series(1200, 6, seed=3), W)
    model.save(tmp_path_factory.mktemp("mvad_batching"))
    return model


@pytest.mark.parametrize("batch_rows", [1, 2, 5, W, 97, 10_000])
def test_anomaly_chunk_batches_are_bitwise_one_run(
    mvad_model: TrainedModel, batch_rows: int
) -> None:
    clean = make_correlated_series(1200 + 400, 6, seed=3).rows(1200, 1600)
    block, _ = inject_anomalies(clean, seed=2, n_per_kind=2, gap=10, margin=W)
    history = W - 1
    whole = score_mvad_chunk(mvad_model, block, history, 5)
    batched = score_mvad_chunk(mvad_model, block, history, 5, batch_rows)
    assert json.dumps(batched.render(mvad_model.variables)) == json.dumps(
        whole.render(mvad_model.variables)
    )
    assert whole.n_rows == 400 - history


def test_anomaly_runs_one_onnx_call_per_batch(
    mvad_model: TrainedModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    counting = Counting(mvad_model.session())
    monkeypatch.setattr(mvad_model, "session", lambda: counting)
    block = make_correlated_series(1200 + 300, 6, seed=3).rows(1200, 1500)
    score_mvad_chunk(mvad_model, block, W - 1, 5, 50)
    scored = 300 - (W - 1)
    assert counting.runs == [hi - lo + W - 1 for lo, hi in batch_spans(scored, 50)]
    counting.runs.clear()
    score_mvad_chunk(mvad_model, block, W - 1, 5)
    assert counting.runs == [300]  # unset: the whole chunk is one run, as before


# ------------------------------------------------------------------------------- endpoints
@pytest.fixture(scope="module")
def digits_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("digits") / "digits.onnx"
    path.write_bytes(train_digits_onnx())
    return path


def test_image_mini_batch_runs_in_batches_and_a_corrupt_file_fails_alone(
    tmp_path: Path, digits_model: Path
) -> None:
    digits = write_digit_folder(tmp_path / "in", 23)
    files = [(d.name, d.png) for d in digits]
    files.insert(5, ("broken.png", b"not a png"))
    options = {"pixel_max": "16"}
    whole = TaskCache(CACHE).get(IMAGE_CLASSIFICATION, str(digits_model), options, 1000)
    expected = whole.score(files)
    source = CountingSource()
    batched = TaskCache(source).get(IMAGE_CLASSIFICATION, str(digits_model), options, 4)
    got = batched.score(files)
    assert isinstance(got[5], ScoreError) and got[5].code == "InvalidImage"
    good = [r for r in got if not isinstance(r, ScoreError)]
    assert good == [r for r in expected if not isinstance(r, ScoreError)] and len(good) == 23
    assert source.runs == [hi - lo for lo, hi in batch_spans(23, 4)]  # 4,4,4,4,4,3
    assert sum(int(r[0][0] == str(d.label)) for r, d in zip(good, digits, strict=True)) >= 20


def _plain(results: list[Any]) -> list[Any]:
    """Results with each ScoreError as (code, message), so lists compare by value."""
    return [(r.code, r.message) if isinstance(r, ScoreError) else r for r in results]


def _csv(rows: np.ndarray) -> bytes:
    return ("\n".join(",".join(f"{v:g}" for v in row) for row in rows)).encode()


def test_tabular_files_share_runs_and_a_rejected_file_fails_alone(
    tmp_path: Path, digits_model: Path
) -> None:
    from sklearn.datasets import load_digits

    features = load_digits().data[1000:1060]
    files = [(f"f{i}.csv", _csv(features[i * 6 : i * 6 + 6])) for i in range(10)]
    files[3] = ("bad.csv", b"1,2\n3,4\n")  # wrong width: refused before any run
    flat = {"task": TABULAR}
    whole = TaskCache(CACHE).get(TABULAR, str(digits_model), flat, 10_000).score(files)
    source = CountingSource()
    got = TaskCache(source).get(TABULAR, str(digits_model), flat, 20).score(files)
    assert _plain(got) == _plain(whole)
    assert isinstance(got[3], ScoreError) and got[3].code == "InvalidContent"
    assert sum(source.runs) == 54 and max(source.runs) <= 20
    assert len(source.runs) == math.ceil(54 / 18)  # three files (18 rows) per batch of ≤ 20

    # the model refuses one file's values at run time: that file fails, the others are scored
    poisoned = list(files)
    poisoned[7] = ("hot.csv", _csv(features[42:48] + 100))
    refusing = CountingSource(refuse_above=50)
    scored = TaskCache(refusing).get(TABULAR, str(digits_model), flat, 20).score(poisoned)
    assert isinstance(scored[7], ScoreError) and scored[7].code == "ScoringFailed"
    assert [r for i, r in enumerate(scored) if i not in (3, 7)] == [
        r for i, r in enumerate(whole) if i not in (3, 7)
    ]


def test_a_model_that_fails_every_file_raises_so_the_mini_batch_is_retried(
    tmp_path: Path, digits_model: Path
) -> None:
    digits = write_digit_folder(tmp_path / "in", 6)
    refusing = CountingSource(refuse_above=-1.0)  # every image has a pixel above -1
    task = TaskCache(refusing).get(IMAGE_CLASSIFICATION, str(digits_model), {"pixel_max": "16"}, 3)
    with pytest.raises(RuntimeError, match="RUNTIME_EXCEPTION"):
        task.score([(d.name, d.png) for d in digits])


def test_parquet_table_file_scores_like_its_csv(tmp_path: Path, digits_model: Path) -> None:
    from sklearn.datasets import load_digits

    features = load_digits().data[:9]
    buffer = io.BytesIO()
    pq.write_table(pa.table({f"c{i}": features[:, i] for i in range(64)}), buffer)
    task = TaskCache(CACHE).get(TABULAR, str(digits_model), {}, 4)
    got = task.score([("a.parquet", buffer.getvalue()), ("a.csv", _csv(features))])
    assert got[0] == got[1] and len(got[0]) == 9
