"""Multivariate anomaly detection (a replacement for Anomaly Detector MVAD v1.1).

Pure data and model functions; the API, blob I/O and orchestration call these:
    data      load_one_table_csv, load_multi_table, align, slice_time
    train     train → TrainedModel (save/load: model.onnx + meta.json)
    detect    detect, plan_chunks, detect_chunk, detect_last, verify_variables
    synthetic make_correlated_series, inject_anomalies
Method and limits: docs/mvad-model.md.
"""

from batchinfer.models.mvad.data import (
    AlignPolicy,
    align,
    load_multi_table,
    load_one_table_csv,
    slice_time,
)
from batchinfer.models.mvad.detect import (
    Chunk,
    DetectionResult,
    detect,
    detect_chunk,
    detect_last,
    plan_chunks,
    prepare,
    verify_variables,
)
from batchinfer.models.mvad.errors import MvadDataError
from batchinfer.models.mvad.model import TrainedModel
from batchinfer.models.mvad.series import MultivariateSeries
from batchinfer.models.mvad.train import TrainConfig, train

__all__ = [
    "AlignPolicy",
    "Chunk",
    "DetectionResult",
    "MultivariateSeries",
    "MvadDataError",
    "TrainConfig",
    "TrainedModel",
    "align",
    "detect",
    "detect_chunk",
    "detect_last",
    "load_multi_table",
    "load_one_table_csv",
    "plan_chunks",
    "prepare",
    "slice_time",
    "train",
    "verify_variables",
]
