"""Run a trained model's ONNX graph over one chunk of rows and shape the output columns.

Output columns per model type (one row per input row, `id` = the row's position in the input):
prediction `id, prediction` + `prediction_prob` (binary) or `prediction_probs` (multiclass);
anomaly `id, is_anomaly, anomaly_score` (higher = more anomalous, > 0 = flagged);
clustering `id, cluster_label`; embedding `id, dim_0..dim_N`.

The rows run through ONNX in batches of at most `batch_rows` (`BATCHINFER_ONNX_BATCH_ROWS`): by
default one activity's row group is one run, and an operator can cap a run to fit a device's
memory. Every model here is row-wise, so the outputs equal one unbatched run.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from batchinfer.inference.batching import DEFAULT_BATCH_ROWS, run_batched
from batchinfer.inference.runtime import InferenceSessionPort
from batchinfer.tabular.features import FeatureInput, feature_arrays


def score_table(
    session: InferenceSessionPort,
    meta: dict[str, Any],
    table: pa.Table,
    first_id: int,
    batch_rows: int = DEFAULT_BATCH_ROWS,
) -> pa.Table:
    """The output columns for `table`, whose first row has id `first_id`."""
    inputs = [FeatureInput.from_json(i) for i in meta["inputs"]]
    feeds = feature_arrays(table, inputs)
    outputs = run_batched(session, feeds, batch_rows)
    ids = pa.array(np.arange(first_id, first_id + table.num_rows, dtype=np.int64))
    model_type = meta["model_type"]
    if model_type == "prediction":
        return _prediction(meta, outputs, ids)
    if model_type == "anomaly":
        labels, scores = outputs[0].reshape(-1), outputs[1].reshape(-1)
        return pa.table(
            {
                "id": ids,
                "is_anomaly": pa.array(labels == -1),
                "anomaly_score": pa.array((-scores).astype(np.float64)),
            }
        )
    if model_type == "clustering":
        return pa.table(
            {"id": ids, "cluster_label": pa.array(outputs[0].reshape(-1).astype(np.int64))}
        )
    values = np.asarray(outputs[0], dtype=np.float64)
    columns: dict[str, Any] = {"id": ids}
    for dim in range(values.shape[1]):
        columns[f"dim_{dim}"] = pa.array(values[:, dim])
    return pa.table(columns)


def _prediction(meta: dict[str, Any], outputs: list[np.ndarray], ids: pa.Array) -> pa.Table:
    if meta["task"] == "regression":
        return pa.table(
            {
                "id": ids,
                "prediction": pa.array(np.asarray(outputs[0], dtype=np.float64).reshape(-1)),
            }
        )
    classes = pa.array(meta["classes"])
    index = np.asarray(outputs[0]).reshape(-1).astype(np.int64)
    probabilities = np.asarray(outputs[1], dtype=np.float64)
    columns: dict[str, Any] = {"id": ids, "prediction": classes.take(pa.array(index))}
    if meta["task"] == "binary":
        columns["prediction_prob"] = pa.array(probabilities[:, 1])
    else:
        width = probabilities.shape[1]
        columns["prediction_probs"] = pa.FixedSizeListArray.from_arrays(
            pa.array(probabilities.reshape(-1)), width
        ).cast(pa.list_(pa.float64()))
    return pa.table(columns)
