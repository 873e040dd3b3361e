"""Scoring tasks: how a deployment turns files into prediction rows with its ONNX model.

Azure ML runs the user's scoring script; this service instead offers small declared tasks
(running user code is out of scope), chosen by the deployment's or model's `task` property or
the ONNX model's `task` metadata:

- `image-classification`: one image file → one row `[file, prediction, probability]`. Images
  are decoded with Pillow, converted to grey or RGB and resized to the model's input (NCHW,
  NHWC, or flat `[N, H*W]`), scaled so white is `pixel_max` (default 1.0).
- `tabular`: one CSV (or Parquet, when pyarrow is installed) file → one row per data row
  `[file, row, prediction]`; numeric feature columns in file order, header optional.

A file that cannot be decoded or scored fails alone (`ScoreError`); the others of its
mini-batch are scored together, in ONNX runs of at most `BATCHINFER_ONNX_BATCH_IMAGES` images
or `BATCHINFER_ONNX_BATCH_ROWS` table rows (the rows of several files share a run). When a
batched run fails, its files are run one by one so only the file the model rejects fails.
Sessions come from the shared session cache.
"""

from __future__ import annotations

import csv
import io
import math
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

import numpy as np

from batchinfer.inference.batching import (
    DEFAULT_BATCH_IMAGES,
    DEFAULT_BATCH_ROWS,
    batch_spans,
    run_batched,
)
from batchinfer.inference.runtime import SessionSource

IMAGE_CLASSIFICATION = "image-classification"
TABULAR = "tabular"
TASKS = (IMAGE_CLASSIFICATION, TABULAR)


class ScoreError(Exception):
    """One file could not be scored; `code` and `message` go into the job's log."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


Rows = list[list[str]]
_Result = TypeVar("_Result")


class ScoringTask(Protocol):
    def score(self, files: list[tuple[str, bytes]]) -> list[Rows | ScoreError]:
        """Rows (without the file column) or the error, for each (name, bytes), in order."""
        ...


@dataclass(frozen=True)
class InputSpec:
    name: str
    shape: tuple[int | None, ...]
    dtype: Any


def model_input(path: str | Path) -> InputSpec:
    """The model's first input, read from the file's graph (weights are not loaded)."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    initializers = {i.name for i in model.graph.initializer}
    graph_input = next(i for i in model.graph.input if i.name not in initializers)
    tensor = graph_input.type.tensor_type
    shape = tuple(d.dim_value if d.HasField("dim_value") else None for d in tensor.shape.dim)
    return InputSpec(
        graph_input.name, shape, onnx.helper.tensor_dtype_to_np_dtype(tensor.elem_type)
    )


def model_metadata(path: str | Path) -> dict[str, str]:
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    return {p.key: p.value for p in model.metadata_props}


def _labels(options: Mapping[str, str]) -> list[str] | None:
    raw = options.get("labels", "")
    return [label.strip() for label in raw.split(",")] if raw else None


def _as_probabilities(scores: np.ndarray) -> np.ndarray:
    if scores.ndim != 2:
        scores = scores.reshape(len(scores), -1)
    sums = scores.sum(axis=1)
    if np.all(scores >= 0) and np.allclose(sums, 1.0, atol=1e-3):
        return scores
    shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
    probabilities: np.ndarray = shifted / shifted.sum(axis=1, keepdims=True)
    return probabilities


def _format(value: Any) -> str:
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.6g}"
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    return str(value.item() if isinstance(value, np.generic) else value)


def _isolating(
    group: Sequence[int], run: Callable[[Sequence[int]], _Result]
) -> list[tuple[Sequence[int], _Result | ScoreError]]:
    """`run` over a group of files together: [(group, result)] when that works.

    When it fails, each file runs alone, so only the file the model rejects fails
    (`ScoringFailed`). If every file fails alone as well, the model itself is failing: the first
    error is raised, and the mini-batch is retried as a whole.
    """
    try:
        return [(group, run(group))]
    except Exception:  # onnxruntime raises its own exception types
        if len(group) == 1:
            raise
    parts: list[tuple[Sequence[int], _Result | ScoreError]] = []
    errors: list[Exception] = []
    for member in group:
        try:
            parts.append(([member], run([member])))
        except Exception as exc:
            errors.append(exc)
            message = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
            parts.append(
                ([member], ScoreError("ScoringFailed", f"the model rejected it: {message}"))
            )
    if len(errors) == len(group):
        raise errors[0]
    return parts


class ImageClassifier:
    """`image-classification` on one ONNX model."""

    def __init__(
        self,
        sessions: SessionSource,
        model_path: str,
        options: Mapping[str, str],
        batch_images: int = DEFAULT_BATCH_IMAGES,
    ) -> None:
        self._batch_images = max(1, batch_images)
        self._session = sessions.get(model_path)
        self._input = model_input(model_path)
        self._labels = _labels(options)
        self._pixel_max = float(options.get("pixel_max", "1.0"))
        self._layout = self._pick_layout(self._input.shape)

    @staticmethod
    def _pick_layout(shape: tuple[int | None, ...]) -> tuple[str, int, int, int]:
        """(layout, channels, height, width) from the input shape."""
        dims = shape[1:]
        if len(dims) == 3 and dims[0] in (1, 3):
            return "nchw", int(dims[0]), int(dims[1] or 0), int(dims[2] or 0)
        if len(dims) == 3 and dims[2] in (1, 3):
            return "nhwc", int(dims[2]), int(dims[0] or 0), int(dims[1] or 0)
        if len(dims) == 2:
            return "nhw", 1, int(dims[0] or 0), int(dims[1] or 0)
        if len(dims) == 1 and dims[0]:
            side = math.isqrt(int(dims[0]))
            if side * side == dims[0]:
                return "flat", 1, side, side
            side = math.isqrt(int(dims[0]) // 3)
            if 3 * side * side == dims[0]:
                return "flat", 3, side, side
        raise ScoreError(
            "UnsupportedModel", f"cannot read an image input from the model's input shape {shape}"
        )

    def _pixels(self, data: bytes) -> np.ndarray:
        from PIL import Image, UnidentifiedImageError

        layout, channels, height, width = self._layout
        try:
            with Image.open(io.BytesIO(data)) as image:
                image.load()
                converted = image.convert("L" if channels == 1 else "RGB")
        except (UnidentifiedImageError, OSError, ValueError) as exc:
            raise ScoreError("InvalidImage", f"not a readable image ({exc})") from None
        if height and width and converted.size != (width, height):
            converted = converted.resize((width, height), Image.Resampling.BILINEAR)
        array = np.asarray(converted, dtype=np.float32) * (self._pixel_max / 255.0)
        if channels == 1 and array.ndim == 2:
            array = array[:, :, None]
        if layout == "nchw":
            array = array.transpose(2, 0, 1)
        elif layout == "nhw":
            array = array[:, :, 0]
        elif layout == "flat":
            array = array.reshape(-1) if channels == 1 else array.transpose(2, 0, 1).reshape(-1)
        return array.astype(self._input.dtype, copy=False)

    def score(self, files: list[tuple[str, bytes]]) -> list[Rows | ScoreError]:
        results: list[Rows | ScoreError] = []
        batch: list[np.ndarray] = []
        slots: list[int] = []
        for _name, data in files:
            try:
                batch.append(self._pixels(data))
                slots.append(len(results))
                results.append([])
            except ScoreError as exc:
                results.append(exc)
        if not batch:
            return results
        fixed_batch = self._input.shape and self._input.shape[0] == 1
        if fixed_batch:  # the model takes one image per run
            groups = [range(i, i + 1) for i in range(len(batch))]
        else:
            groups = [range(lo, hi) for lo, hi in batch_spans(len(batch), self._batch_images)]

        def run(members: Sequence[int]) -> list[list[str]]:
            outputs = self._session.run({self._input.name: np.stack([batch[i] for i in members])})
            return self._rows(outputs, len(members))

        for group in groups:
            for members, outcome in _isolating(group, run):
                if isinstance(outcome, ScoreError):
                    results[slots[members[0]]] = outcome
                    continue
                for position, row in zip(members, outcome, strict=True):
                    results[slots[position]] = [row]
        return results

    def _rows(self, outputs: list[np.ndarray], count: int) -> list[list[str]]:
        if len(outputs) >= 2 and outputs[0].ndim == 1:  # (label, probabilities), as skl2onnx
            labels = outputs[0]
            probabilities = _as_probabilities(np.asarray(outputs[1], dtype=np.float64))
        else:
            probabilities = _as_probabilities(np.asarray(outputs[0], dtype=np.float64))
            labels = probabilities.argmax(axis=1)
        rows = []
        for i in range(count):
            label: Any = labels[i]
            index = int(probabilities[i].argmax())
            if (
                self._labels
                and not isinstance(label, (str, bytes))
                and 0 <= int(label) < len(self._labels)
            ):
                label = self._labels[int(label)]
            rows.append([_format(label), _format(probabilities[i][index])])
        return rows


class TabularScorer:
    """`tabular`: numeric CSV (or Parquet) rows → one prediction per row."""

    def __init__(
        self,
        sessions: SessionSource,
        model_path: str,
        options: Mapping[str, str],
        batch_rows: int = DEFAULT_BATCH_ROWS,
    ) -> None:
        self._batch_rows = max(1, batch_rows)
        self._session = sessions.get(model_path)
        self._input = model_input(model_path)
        self._labels = _labels(options)
        width = self._input.shape[1] if len(self._input.shape) == 2 else None
        self._width = int(width) if width else None

    def _table(self, name: str, data: bytes) -> np.ndarray:
        if name.lower().endswith(".parquet"):
            try:
                import pyarrow.parquet as pq
            except ImportError:
                raise ScoreError("UnsupportedContent", "Parquet needs pyarrow installed") from None
            table = pq.read_table(io.BytesIO(data))
            return np.column_stack([np.asarray(c, dtype=np.float64) for c in table.columns])
        try:
            lines = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
        except UnicodeDecodeError:
            raise ScoreError("InvalidContent", "the CSV file is not UTF-8 text") from None
        lines = [line for line in lines if line]
        if lines and not _numeric(lines[0]):
            lines = lines[1:]  # a header row
        try:
            return np.asarray([[float(v) for v in line] for line in lines], dtype=np.float64)
        except ValueError:
            raise ScoreError("InvalidContent", "the CSV file has non-numeric values") from None

    def _checked_table(self, name: str, data: bytes) -> np.ndarray:
        table = self._table(name, data)
        if table.ndim != 2 or not len(table):
            raise ScoreError("InvalidContent", "the file holds no data rows")
        if self._width and table.shape[1] != self._width:
            raise ScoreError(
                "InvalidContent",
                f"the file has {table.shape[1]} columns; the model expects {self._width}",
            )
        return table.astype(self._input.dtype, copy=False)

    def score(self, files: list[tuple[str, bytes]]) -> list[Rows | ScoreError]:
        """Decode each file alone, then run the good files' rows together in batches."""
        results: list[Rows | ScoreError] = []
        tables: dict[int, np.ndarray] = {}
        for name, data in files:
            try:
                tables[len(results)] = self._checked_table(name, data)
                results.append([])
            except ScoreError as exc:
                results.append(exc)
        by_width: dict[int, list[int]] = {}
        for slot, table in tables.items():  # files of one width share runs
            by_width.setdefault(table.shape[1], []).append(slot)
        for slots in by_width.values():
            for group in self._groups(slots, tables):
                self._score_group(group, tables, results)
        return results

    def _groups(self, slots: list[int], tables: dict[int, np.ndarray]) -> list[list[int]]:
        """Consecutive files whose rows add up to about `batch_rows` (a larger file is alone;
        `_predict` cuts it into runs of `batch_rows`)."""
        groups: list[list[int]] = [[]]
        rows = 0
        for slot in slots:
            if groups[-1] and rows + len(tables[slot]) > self._batch_rows:
                groups.append([])
                rows = 0
            groups[-1].append(slot)
            rows += len(tables[slot])
        return groups

    def _predict(self, members: Sequence[int], tables: dict[int, np.ndarray]) -> np.ndarray:
        rows = np.concatenate([tables[m] for m in members])
        outputs = run_batched(self._session, {self._input.name: rows}, self._batch_rows)
        return np.asarray(outputs[0]).reshape(len(rows), -1)

    def _score_group(
        self, group: list[int], tables: dict[int, np.ndarray], results: list[Rows | ScoreError]
    ) -> None:
        for members, outcome in _isolating(group, lambda m: self._predict(m, tables)):
            if isinstance(outcome, ScoreError):
                results[members[0]] = outcome
                continue
            start = 0
            for slot in members:
                stop = start + len(tables[slot])
                results[slot] = self._rows(outcome[start:stop])
                start = stop

    def _rows(self, predictions: np.ndarray) -> Rows:
        rows: Rows = []
        for index, prediction in enumerate(predictions):
            value: Any = prediction[0] if len(prediction) == 1 else prediction.argmax()
            if self._labels and len(prediction) > 1:
                value = self._labels[int(value)]
            rows.append([str(index), _format(value)])
        return rows


def _numeric(cells: list[str]) -> bool:
    try:
        [float(c) for c in cells]
    except ValueError:
        return False
    return True


class TaskCache:
    """One task object per (task, model file, options, batch size) per process: inputs are
    read once."""

    def __init__(self, sessions: SessionSource) -> None:
        self._sessions = sessions
        self._tasks: dict[tuple[str, str, tuple[tuple[str, str], ...], int], ScoringTask] = {}
        self._lock = threading.Lock()

    def get(
        self,
        task: str,
        model_path: str,
        options: Mapping[str, str],
        batch_size: int | None = None,
    ) -> ScoringTask:
        """The task; `batch_size` is images (image models) or table rows per ONNX run
        (default: `DEFAULT_BATCH_IMAGES` / `DEFAULT_BATCH_ROWS`)."""
        if task == IMAGE_CLASSIFICATION:
            size = batch_size or DEFAULT_BATCH_IMAGES
        elif task == TABULAR:
            size = batch_size or DEFAULT_BATCH_ROWS
        else:
            raise ScoreError("UnsupportedTask", f"unknown task {task!r}; use one of {TASKS}")
        key = (task, model_path, tuple(sorted(options.items())), size)
        with self._lock:
            found = self._tasks.get(key)
        if found is not None:
            return found
        made: ScoringTask
        if task == IMAGE_CLASSIFICATION:
            made = ImageClassifier(self._sessions, model_path, options, size)
        else:
            made = TabularScorer(self._sessions, model_path, options, size)
        with self._lock:
            return self._tasks.setdefault(key, made)
