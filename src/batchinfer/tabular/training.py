"""Fit a scikit-learn pipeline for a model type, measure it on a held-out split, export ONNX.

Estimators: gradient-boosted trees (prediction), IsolationForest (anomaly), KMeans
(clustering), PCA (embedding), after a preprocessing step that imputes and scales numbers and
one-hot encodes text. GradientBoosting (not HistGradientBoosting) because skl2onnx cannot
export the latter with the project's onnx pin. Inputs are float32 on both sides, so the ONNX
graph reproduces scikit-learn's outputs within float tolerance.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from batchinfer.tabular.features import (
    CATEGORICAL,
    NUMERIC,
    FeatureInput,
    feature_arrays,
    feature_frame,
    plan_inputs,
)
from batchinfer.tabular.ingest import column_kind

MODEL_TYPES = ("prediction", "anomaly", "clustering", "embedding")
MAX_TRAIN_ROWS = 200_000
MAX_CLASSES = 100
MAX_DISCRETE_INTEGER_CLASSES = 20
DEFAULT_CONTAMINATION = 0.02
OPSET = {"": 18, "ai.onnx.ml": 3}


class TrainError(ValueError):
    """Training cannot proceed with this data or these parameters (a user error)."""


@dataclass
class TrainedTabularModel:
    """What a training run produced: the fitted pipeline, its ONNX bytes and its metadata."""

    pipeline: Any
    onnx: bytes
    meta: dict[str, Any]
    metrics: dict[str, float]
    performance: dict[str, Any] | None


def choose_task(label: pa.ChunkedArray, requested: str | None = None) -> str:
    """binary / multiclass / regression from the label column (or the user's `params.task`)."""
    if requested in ("binary", "multiclass", "regression"):
        return requested
    kind = column_kind(label.type)
    distinct = pc.count_distinct(label.drop_null()).as_py()
    if kind in ("string", "boolean") or (
        kind == "integer" and distinct <= MAX_DISCRETE_INTEGER_CLASSES
    ):
        return "binary" if distinct == 2 else "multiclass"
    return "regression"


def _preprocessor(inputs: list[FeatureInput]) -> Any:
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric = [i.name for i in inputs if i.kind == NUMERIC]
    text = [i.name for i in inputs if i.kind == CATEGORICAL]
    parts = []
    if numeric:
        parts.append(
            (
                "num",
                Pipeline(
                    [
                        ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
                        ("scale", StandardScaler()),
                    ]
                ),
                numeric,
            )
        )
    if text:
        parts.append(("cat", OneHotEncoder(handle_unknown="ignore", max_categories=50), text))
    return ColumnTransformer(parts, sparse_threshold=0)


def _int_param(params: dict[str, Any], key: str, default: int, low: int, high: int) -> int:
    value = params.get(key, default)
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or int(value) != value
        or not low <= int(value) <= high
    ):
        raise TrainError(f"params.{key} must be an integer from {low} to {high}.")
    return int(value)


def _estimator(
    model_type: str, task: str | None, params: dict[str, Any], mode: str, n_features: int
) -> Any:
    from sklearn.cluster import KMeans
    from sklearn.decomposition import PCA
    from sklearn.ensemble import (
        GradientBoostingClassifier,
        GradientBoostingRegressor,
        IsolationForest,
    )

    seed = _int_param(params, "random_state", 0, 0, 2**31 - 1)
    if model_type == "prediction":
        trees = _int_param(params, "n_estimators", 300 if mode == "best" else 100, 1, 2000)
        depth = _int_param(params, "max_depth", 3, 1, 12)
        cls = GradientBoostingRegressor if task == "regression" else GradientBoostingClassifier
        return cls(n_estimators=trees, max_depth=depth, random_state=seed)
    if model_type == "anomaly":
        share = params.get("contamination", DEFAULT_CONTAMINATION)
        if (
            isinstance(share, bool)
            or not isinstance(share, (int, float))
            or not 0 < float(share) <= 0.5
        ):
            raise TrainError("params.contamination must be a share in (0, 0.5].")
        return IsolationForest(
            n_estimators=_int_param(params, "n_estimators", 100, 1, 2000),
            contamination=float(share),
            random_state=seed,
        )
    if model_type == "clustering":
        return KMeans(
            n_clusters=_int_param(params, "n_clusters", 8, 2, 1000), n_init=3, random_state=seed
        )
    return PCA(
        n_components=_int_param(params, "n_components", min(8, n_features), 1, max(1, n_features)),
        random_state=seed,
    )


def _onnx(pipeline: Any, inputs: list[FeatureInput], estimator: Any) -> bytes:
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    types = [
        (i.name, FloatTensorType([None, 1]) if i.kind == NUMERIC else StringTensorType([None, 1]))
        for i in inputs
    ]
    options = {id(estimator): {"zipmap": False}} if hasattr(estimator, "predict_proba") else None
    model = convert_sklearn(pipeline, initial_types=types, options=options, target_opset=OPSET)
    return model.SerializeToString()


def _split(n: int, seed: int, stratify: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.model_selection import train_test_split

    index = np.arange(n)
    if n < 10:
        return index, index  # too small to hold out: measured on the training rows
    try:
        return train_test_split(index, test_size=0.2, random_state=seed, stratify=stratify)
    except ValueError:  # a class with a single row cannot be stratified
        return train_test_split(index, test_size=0.2, random_state=seed)


def _sample(table: pa.Table, seed: int) -> pa.Table:
    if table.num_rows <= MAX_TRAIN_ROWS:
        return table
    rng = np.random.default_rng(seed)
    return table.take(np.sort(rng.choice(table.num_rows, MAX_TRAIN_ROWS, replace=False)))


def train(
    table: pa.Table,
    model_type: str,
    *,
    label_column: str | None = None,
    input_columns: list[str] | None = None,
    params: dict[str, Any] | None = None,
    training_mode: str = "fast",
) -> TrainedTabularModel:
    """Train one model version on a table; raises TrainError for unusable data or params."""
    params = dict(params or {})
    if model_type not in MODEL_TYPES:
        raise TrainError(
            f"model_type {model_type!r} is not supported here "
            f"(supported: {', '.join(MODEL_TYPES)})."
        )
    seed = _int_param(params, "random_state", 0, 0, 2**31 - 1)
    if model_type == "prediction":
        if not label_column:
            raise TrainError("label_column is required for prediction models.")
        if label_column not in table.column_names:
            raise TrainError(f"label_column {label_column!r} is not in the dataset.")
        table = table.filter(pc.is_valid(table.column(label_column)))
        if table.num_rows < 2:
            raise TrainError(f"label_column {label_column!r} has fewer than 2 non-empty values.")
    elif label_column and label_column not in table.column_names:
        raise TrainError(f"label_column {label_column!r} is not in the dataset.")
    columns = (
        list(input_columns)
        if input_columns
        else [c for c in table.column_names if c != label_column]
    )
    if not columns:
        raise TrainError("No input columns to train on.")
    if label_column and label_column in columns and model_type == "prediction":
        raise TrainError("label_column cannot also be an input column.")
    table = _sample(table, seed)
    inputs = plan_inputs(table.schema, columns)
    feeds = feature_arrays(table, inputs)
    frame = feature_frame(feeds)
    meta: dict[str, Any] = {
        "model_type": model_type,
        "label_column": label_column,
        "input_columns": columns,
        "inputs": [i.to_json() for i in inputs],
        "training_mode": training_mode,
        "params": params,
        "train_rows": table.num_rows,
    }
    if model_type == "prediction":
        return _train_prediction(
            table, label_column or "", frame, inputs, params, training_mode, meta, seed
        )
    return _train_unsupervised(frame, inputs, model_type, params, training_mode, meta, seed)


def _train_prediction(
    table: pa.Table,
    label_column: str,
    frame: Any,
    inputs: list[FeatureInput],
    params: dict[str, Any],
    mode: str,
    meta: dict[str, Any],
    seed: int,
) -> TrainedTabularModel:
    from sklearn.pipeline import Pipeline

    label = table.column(label_column)
    task = choose_task(label, params.get("task"))
    meta["task"] = task
    if task == "regression":
        if column_kind(label.type) not in ("integer", "number", "boolean"):
            raise TrainError(
                f"label_column {label_column!r} is not numeric: regression needs numbers."
            )
        y = np.asarray(pc.cast(label, pa.float64()).to_numpy(zero_copy_only=False))
        train_idx, val_idx = _split(len(y), seed, None)
    else:
        raw = label.to_pylist()
        classes = sorted(set(raw), key=lambda v: (str(type(v)), v))
        if len(classes) < 2:
            raise TrainError(
                f"label_column {label_column!r} has a single class; "
                "classification needs at least two."
            )
        if len(classes) > MAX_CLASSES:
            raise TrainError(
                f"label_column {label_column!r} has {len(classes)} classes (at most {MAX_CLASSES})."
            )
        lookup = {value: index for index, value in enumerate(classes)}
        y = np.asarray([lookup[v] for v in raw], dtype=np.int64)
        meta["classes"] = [_native(c) for c in classes]
        train_idx, val_idx = _split(len(y), seed, y)
    estimator = _estimator("prediction", task, params, mode, len(inputs))
    pipeline = Pipeline([("prep", _preprocessor(inputs)), ("model", estimator)])
    pipeline.fit(frame.iloc[train_idx], y[train_idx])
    metrics, performance = _prediction_metrics(
        pipeline, frame.iloc[val_idx], y[val_idx], task, meta.get("classes")
    )
    return TrainedTabularModel(
        pipeline, _onnx(pipeline, inputs, estimator), meta, metrics, performance
    )


def _native(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def _prediction_metrics(
    pipeline: Any, frame: Any, y: np.ndarray, task: str, classes: list[Any] | None
) -> tuple[dict[str, float], dict[str, Any]]:
    from sklearn import metrics as skm

    predicted = pipeline.predict(frame)
    if task == "regression":
        residuals = [
            {"actual": float(a), "predicted": float(p)}
            for a, p in zip(y[:200], predicted[:200], strict=False)
        ]
        scores = {
            "r2": float(skm.r2_score(y, predicted)) if len(y) > 1 else 0.0,
            "rmse": float(np.sqrt(skm.mean_squared_error(y, predicted))),
            "mae": float(skm.mean_absolute_error(y, predicted)),
        }
        return scores, {
            "n_val": len(y),
            "task_type": task,
            "residual_sample": residuals,
            "residual_sample_truncated": len(y) > 200,
        }
    classes = classes or []
    labels = list(range(len(classes)))
    matrix = skm.confusion_matrix(y, predicted, labels=labels)
    precision, recall, _, support = skm.precision_recall_fscore_support(
        y, predicted, labels=labels, zero_division=0
    )
    scores = {
        "accuracy": float(skm.accuracy_score(y, predicted)),
        "f1_macro": float(
            skm.f1_score(y, predicted, labels=labels, average="macro", zero_division=0)
        ),
    }
    if task == "binary" and len(set(y.tolist())) == 2:
        scores["roc_auc"] = float(skm.roc_auc_score(y, pipeline.predict_proba(frame)[:, 1]))
    per_class = [
        {
            "label": str(classes[i]),
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "support": int(support[i]),
        }
        for i in labels
    ]
    return scores, {
        "n_val": len(y),
        "task_type": task,
        "class_order": [str(c) for c in classes or []],
        "confusion_matrix": matrix.astype(int).tolist(),
        "per_class": per_class,
        "classes_truncated": False,
    }


def _train_unsupervised(
    frame: Any,
    inputs: list[FeatureInput],
    model_type: str,
    params: dict[str, Any],
    mode: str,
    meta: dict[str, Any],
    seed: int,
) -> TrainedTabularModel:
    from sklearn.pipeline import Pipeline

    train_idx, val_idx = _split(len(frame), seed, None)
    prep = _preprocessor(inputs)
    width = prep.fit(frame.iloc[train_idx]).transform(frame.iloc[:1]).shape[1]
    estimator = _estimator(model_type, None, params, mode, width)
    if model_type == "clustering" and estimator.n_clusters > len(train_idx):
        raise TrainError(
            f"params.n_clusters ({estimator.n_clusters}) exceeds the "
            f"{len(train_idx)} training rows."
        )
    if model_type == "embedding" and estimator.n_components > min(width, len(train_idx)):
        raise TrainError(f"params.n_components must be at most {min(width, len(train_idx))}.")
    pipeline = Pipeline([("prep", _preprocessor(inputs)), ("model", estimator)])
    pipeline.fit(frame.iloc[train_idx])
    val = frame.iloc[val_idx]
    metrics: dict[str, float]
    if model_type == "anomaly":
        flagged = pipeline.predict(val) == -1
        metrics = {
            "anomaly_rate": float(flagged.mean()),
            "contamination": float(estimator.contamination),
        }
    elif model_type == "clustering":
        from sklearn.metrics import silhouette_score

        labels = pipeline.predict(val)
        points = pipeline[:-1].transform(val)
        sample = min(len(val), 2000)
        metrics = {"n_clusters": float(estimator.n_clusters), "inertia": float(estimator.inertia_)}
        if 1 < len(set(labels[:sample].tolist())) < sample:
            metrics["silhouette"] = float(silhouette_score(points[:sample], labels[:sample]))
        meta["n_clusters"] = int(estimator.n_clusters)
    else:
        metrics = {
            "explained_variance": float(np.sum(estimator.explained_variance_ratio_)),
            "n_components": float(estimator.n_components_),
        }
        meta["n_components"] = int(estimator.n_components_)
    return TrainedTabularModel(
        pipeline,
        _onnx(pipeline, inputs, estimator),
        meta,
        metrics,
        {"n_val": len(val_idx), "task_type": model_type},
    )
