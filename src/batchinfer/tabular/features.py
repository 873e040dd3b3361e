"""Model inputs from table columns: the one conversion both training and inference use.

Numbers, booleans and timestamps become float32 (nulls NaN, imputed inside the model); text
becomes strings (nulls ""). scikit-learn is trained on exactly these arrays and the exported
ONNX graph is fed exactly these arrays, so both see the same values.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from batchinfer.tabular.ingest import column_kind

NUMERIC = "numeric"
CATEGORICAL = "categorical"


class FeatureError(ValueError):
    """The table does not fit the model's inputs (missing or unusable column)."""


@dataclass(frozen=True)
class FeatureInput:
    """One model input: the ONNX input name, the dataset column it reads, and how."""

    name: str
    column: str
    kind: str

    def to_json(self) -> dict[str, str]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FeatureInput:
        return cls(str(data["name"]), str(data["column"]), str(data["kind"]))


def plan_inputs(schema: pa.Schema, columns: list[str]) -> list[FeatureInput]:
    """Inputs for the chosen columns, named f0..fN (safe ONNX names whatever the headers)."""
    inputs = []
    for index, column in enumerate(columns):
        if column not in schema.names:
            raise FeatureError(f"Column {column!r} is not in the dataset.")
        kind = column_kind(schema.field(column).type)
        inputs.append(
            FeatureInput(f"f{index}", column, CATEGORICAL if kind == "string" else NUMERIC)
        )
    return inputs


def _numeric(column: pa.ChunkedArray) -> np.ndarray:
    dtype = column.type
    if pa.types.is_temporal(dtype):
        column = pc.cast(
            pc.cast(column, pa.timestamp("s")) if not pa.types.is_timestamp(dtype) else column,
            pa.int64(),
        )
    elif pa.types.is_boolean(dtype) or pa.types.is_null(dtype):
        column = pc.cast(column, pa.float64())
    elif pa.types.is_string(dtype) or pa.types.is_large_string(dtype):
        column = pc.cast(column, pa.float64())  # schema said numeric: a retyped column
    values = column.to_numpy(zero_copy_only=False)
    return np.asarray(values, dtype=np.float64).astype(np.float32, copy=False)


def _text(column: pa.ChunkedArray) -> np.ndarray:
    strings = pc.fill_null(pc.cast(column, pa.string()), "")
    return np.asarray(strings.to_numpy(zero_copy_only=False), dtype=object)


def feature_arrays(table: pa.Table, inputs: list[FeatureInput]) -> dict[str, np.ndarray]:
    """ONNX feeds: one (n, 1) array per input."""
    feeds = {}
    for item in inputs:
        if item.column not in table.column_names:
            raise FeatureError(f"The data lacks the model's input column {item.column!r}.")
        column = table.column(item.column)
        try:
            values = _numeric(column) if item.kind == NUMERIC else _text(column)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError) as exc:
            raise FeatureError(
                f"Column {item.column!r} cannot be read as {item.kind}: {str(exc).splitlines()[0]}"
            ) from None
        feeds[item.name] = values.reshape(-1, 1)
    return feeds


def feature_frame(feeds: dict[str, np.ndarray]) -> Any:
    """The same values as a pandas frame, for scikit-learn."""
    import pandas as pd

    return pd.DataFrame({name: values[:, 0] for name, values in feeds.items()})
