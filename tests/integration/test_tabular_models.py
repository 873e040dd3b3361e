"""Tabular models: quality on scikit-learn's bundled datasets against the same estimator run
in-process, ONNX outputs equal scikit-learn's, and chunked inference equal to a single pass."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sklearn import datasets as skdata
from sklearn.ensemble import GradientBoostingClassifier, GradientBoostingRegressor
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split

from batchinfer.inference.runtime import RuntimeSettings, SessionCache
from batchinfer.tabular.assembly import assemble
from batchinfer.tabular.features import FeatureInput, feature_arrays, feature_frame
from batchinfer.tabular.ingest import rows_per_chunk, write_version
from batchinfer.tabular.scoring import score_table
from batchinfer.tabular.training import TrainError, train

CACHE = SessionCache(RuntimeSettings(providers=("CPUExecutionProvider",), intra_op_threads=1))


def _session(tmp_path: Path, onnx: bytes, name: str = "m.onnx") -> Any:
    path = tmp_path / name
    path.write_bytes(onnx)
    return CACHE.get(path)


def _frame_table(loader: Any) -> tuple[pa.Table, str]:
    frame = loader(as_frame=True).frame
    return pa.Table.from_pandas(frame, preserve_index=False), "target"


def _in_process_split(table: pa.Table, label: str, stratify: bool) -> Any:
    y = np.asarray(table.column(label).to_numpy())
    index = np.arange(len(y))
    return train_test_split(index, test_size=0.2, random_state=0, stratify=y if stratify else None)


@pytest.mark.parametrize(
    "loader,task", [(skdata.load_breast_cancer, "binary"), (skdata.load_wine, "multiclass")]
)
def test_classification_quality_matches_sklearn(tmp_path: Path, loader: Any, task: str) -> None:
    table, label = _frame_table(loader)
    model = train(table, "prediction", label_column=label)
    assert model.meta["task"] == task
    # the same estimator, fitted in-process on the raw features and the same split
    features = table.drop([label]).to_pandas().to_numpy(np.float32)
    y = table.column(label).to_numpy()
    train_idx, val_idx = _in_process_split(table, label, stratify=True)
    reference = GradientBoostingClassifier(n_estimators=100, max_depth=3, random_state=0)
    reference.fit(features[train_idx], y[train_idx])
    expected = accuracy_score(y[val_idx], reference.predict(features[val_idx]))
    print(
        f"{loader.__name__}: service accuracy {model.metrics['accuracy']:.3f}, "
        f"in-process sklearn {expected:.3f}"
    )
    assert model.metrics["accuracy"] >= expected - 0.03
    assert model.metrics["accuracy"] > (0.9 if task == "binary" else 0.85)
    performance = model.performance or {}
    assert performance["n_val"] == len(val_idx)
    assert np.sum(performance["confusion_matrix"]) == len(val_idx)
    assert [c["label"] for c in performance["per_class"]] == performance["class_order"]


def test_regression_quality_matches_sklearn(tmp_path: Path) -> None:
    table, label = _frame_table(skdata.load_diabetes)
    model = train(table, "prediction", label_column=label)
    assert model.meta["task"] == "regression"
    features = table.drop([label]).to_pandas().to_numpy(np.float32)
    y = table.column(label).to_numpy()
    train_idx, val_idx = _in_process_split(table, label, stratify=False)
    reference = GradientBoostingRegressor(n_estimators=100, max_depth=3, random_state=0)
    reference.fit(features[train_idx], y[train_idx])
    expected = r2_score(y[val_idx], reference.predict(features[val_idx]))
    print(f"diabetes: service R2 {model.metrics['r2']:.3f}, in-process sklearn {expected:.3f}")
    assert model.metrics["r2"] >= expected - 0.05 and model.metrics["r2"] > 0.15
    assert len(model.performance["residual_sample"]) == len(val_idx)


def _mixed_table(rows: int, seed: int = 3) -> pa.Table:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=rows)
    b = rng.normal(size=rows)
    city = rng.choice(["oslo", "lima", "pune", None], size=rows)
    a_with_gaps = [None if i % 17 == 0 else float(v) for i, v in enumerate(a)]
    label = np.where(a + (city == "oslo") > 0.3, "yes", "no")
    colour = rng.choice(["red", "green", "blue"], size=rows)
    return pa.table(
        {
            "a": a_with_gaps,
            "b": b,
            "city": list(city),
            "label": label,
            "colour": colour,
            "amount": a * 3 + b,
        }
    )


ALL_KINDS = [
    ("prediction", "label", {"n_estimators": 20}),
    ("prediction", "colour", {"n_estimators": 20}),
    ("prediction", "amount", {"n_estimators": 20}),
    ("anomaly", None, {"n_estimators": 25}),
    ("clustering", None, {"n_clusters": 4}),
    ("embedding", None, {"n_components": 3}),
]


@pytest.mark.parametrize("model_type,label,params", ALL_KINDS)
def test_onnx_equals_sklearn(
    tmp_path: Path, model_type: str, label: str | None, params: dict[str, Any]
) -> None:
    table = _mixed_table(600)
    inputs = ["a", "b", "city"]
    model = train(table, model_type, label_column=label, input_columns=inputs, params=params)
    feeds = feature_arrays(table, [FeatureInput.from_json(i) for i in model.meta["inputs"]])
    frame = feature_frame(feeds)
    out = score_table(_session(tmp_path, model.onnx), model.meta, table, 0)
    pipeline = model.pipeline
    if model_type == "prediction" and model.meta["task"] != "regression":
        expected = [model.meta["classes"][i] for i in pipeline.predict(frame)]
        assert out.column("prediction").to_pylist() == expected
        probs = pipeline.predict_proba(frame)
        got = (
            out.column("prediction_prob").to_numpy()
            if model.meta["task"] == "binary"
            else np.asarray(out.column("prediction_probs").to_pylist())
        )
        want = probs[:, 1] if model.meta["task"] == "binary" else probs
        np.testing.assert_allclose(got, want, atol=1e-5)
    elif model_type == "prediction":
        np.testing.assert_allclose(
            out.column("prediction").to_numpy(), pipeline.predict(frame), rtol=1e-4, atol=1e-3
        )
    elif model_type == "anomaly":
        np.testing.assert_allclose(
            out.column("anomaly_score").to_numpy(), -pipeline.decision_function(frame), atol=1e-5
        )
        assert out.column("is_anomaly").to_pylist() == (pipeline.predict(frame) == -1).tolist()
        share = float(np.mean(out.column("is_anomaly").to_numpy(zero_copy_only=False)))
        assert 0 < share < 0.1  # a few percent of typical data, never half of it
    elif model_type == "clustering":
        assert out.column("cluster_label").to_pylist() == pipeline.predict(frame).tolist()
    else:
        got = np.column_stack([out.column(f"dim_{d}").to_numpy() for d in range(3)])
        np.testing.assert_allclose(got, pipeline.transform(frame), atol=1e-4)
    assert out.column("id").to_pylist() == list(range(600))


def test_anomaly_share_is_tunable(tmp_path: Path) -> None:
    table = _mixed_table(1000)
    model = train(
        table,
        "anomaly",
        input_columns=["a", "b"],
        params={"contamination": 0.1, "n_estimators": 25},
    )
    out = score_table(_session(tmp_path, model.onnx, "a.onnx"), model.meta, table, 0)
    share = float(np.mean(out.column("is_anomaly").to_numpy(zero_copy_only=False)))
    assert 0.06 < share < 0.14


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"model_type": "search"}, "not supported"),
        ({"model_type": "prediction"}, "label_column is required"),
        ({"model_type": "prediction", "label_column": "nope"}, "not in the dataset"),
        ({"model_type": "clustering", "params": {"n_clusters": "many"}}, "params.n_clusters"),
        ({"model_type": "anomaly", "params": {"contamination": 0.9}}, "contamination"),
        (
            {
                "model_type": "prediction",
                "label_column": "amount",
                "params": {"task": "regression"},
                "input_columns": ["zzz"],
            },
            "not in the dataset",
        ),
    ],
)
def test_training_refuses_bad_requests(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises((TrainError, ValueError), match=message):
        train(_mixed_table(50), **kwargs)


@pytest.mark.parametrize(
    "model_type,label,params,output_type,anomaly_format",
    [
        ("prediction", "colour", {"n_estimators": 20}, "json", "ids_only"),
        ("prediction", "label", {"n_estimators": 20}, "csv", "ids_only"),
        ("prediction", "amount", {"n_estimators": 20}, "parquet", "ids_only"),
        ("anomaly", None, {"contamination": 0.05, "n_estimators": 25}, "json", "ids_only"),
        ("anomaly", None, {"contamination": 0.05, "n_estimators": 25}, "csv", "per_row"),
        ("clustering", None, {"n_clusters": 3}, "parquet", "per_row"),
        ("embedding", None, {"n_components": 2}, "csv", "per_row"),
    ],
)
def test_chunked_results_equal_a_single_pass(
    tmp_path: Path,
    model_type: str,
    label: str | None,
    params: dict[str, Any],
    output_type: str,
    anomaly_format: str,
) -> None:
    table = _mixed_table(1000)
    model = train(
        table, model_type, label_column=label, input_columns=["a", "b", "city"], params=params
    )
    session = _session(tmp_path, model.onnx)
    stored = write_version(table, tmp_path / "data.parquet")
    assert stored.row_groups == -(-1000 // rows_per_chunk(1000)) > 1
    parquet = pq.ParquetFile(tmp_path / "data.parquet")
    chunk_paths, first = [], 0
    for group in range(parquet.metadata.num_row_groups):
        rows = parquet.read_row_group(group)
        path = tmp_path / f"chunk{group}.parquet"
        pq.write_table(score_table(session, model.meta, rows, first), path)
        chunk_paths.append(path)
        first += rows.num_rows
    whole = tmp_path / "whole.parquet"
    pq.write_table(score_table(session, model.meta, table, 0), whole)
    header = {"model_id": "mdl_x", "model_version_id": "mdlv_y", "model_type": model_type}
    outputs = {}
    for name, paths in (("chunked", chunk_paths), ("single", [whole])):
        outputs[name] = (tmp_path / f"{name}.rows.parquet", tmp_path / f"{name}.{output_type}")
        summary = assemble(
            paths,
            *outputs[name],
            output_type=output_type,
            anomaly_format=anomaly_format,
            header=header,
        )
        assert summary["total_row_count"] == 1000
        outputs[name] += (summary,)
    assert outputs["chunked"][2] == outputs["single"][2]
    assert pq.read_table(outputs["chunked"][0]).equals(pq.read_table(outputs["single"][0]))
    chunked, single = outputs["chunked"][1], outputs["single"][1]
    if output_type == "parquet":
        left, right = pq.read_table(chunked), pq.read_table(single)
        assert left.equals(right)
        assert left.schema.metadata[b"woodwide.model_version_id"] == b"mdlv_y"
    else:
        assert chunked.read_bytes() == single.read_bytes()
    if output_type == "json":
        document = json.loads(chunked.read_text())
        assert document["model_id"] == "mdl_x" and document["model_type"] == model_type
        if model_type == "anomaly":
            assert list(document["data"]) == ["anomalous_ids"]
            assert document["data"]["anomalous_ids"] == sorted(document["data"]["anomalous_ids"])
        else:
            assert document["data"]["id"] == list(range(1000))
