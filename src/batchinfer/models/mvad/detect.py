"""Detection: batch ranges (chunked), the streaming last point, and variable checks.

The API layer owns blob I/O and orchestration; it calls `plan_chunks` to split a range,
`detect_chunk` per chunk (possibly in parallel activities), and concatenates the lists. Each
chunk carries slidingWindow-1 rows of history, every timestamp is scored from its own window
only, and post-processing is per timestamp, so the merged lists equal `detect`'s single pass
exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from batchinfer.models.mvad.core import run_core
from batchinfer.models.mvad.data import align, slice_time
from batchinfer.models.mvad.errors import (
    INVALID_TOP_CONTRIBUTOR_COUNT,
    NOT_ENOUGH_DATA,
    UNEXPECTED_VARIABLE,
    VARIABLE_NOT_FOUND,
    MvadDataError,
)
from batchinfer.models.mvad.model import TrainedModel
from batchinfer.models.mvad.results import ChunkScores, collector_paused
from batchinfer.models.mvad.scoring import (
    Interpretations,
    finite_residuals,
    interpret,
    raw_scores,
    score_arrays,
)
from batchinfer.models.mvad.series import MultivariateSeries, format_timestamps

DEFAULT_TOP_K = 10
MAX_TOP_K = 30
DEFAULT_CHUNK_SIZE = 4096  # timestamps per ONNX run: bounds memory at ~ chunk × 4V floats


@dataclass(frozen=True)
class Chunk:
    """Rows [start, stop) of the range are reported; rows [history_start, stop) are read."""

    start: int
    stop: int
    history_start: int

    @property
    def history_len(self) -> int:
        return self.start - self.history_start


@dataclass
class DetectionResult:
    """v1.1 `results` entries plus the `variableStates` of the detected range."""

    results: list[dict[str, Any]]
    variable_states: list[dict[str, Any]] = field(default_factory=list)


def verify_variables(model: TrainedModel, series: MultivariateSeries) -> list[dict[str, str]]:
    """Errors when the data's variables are not exactly the model's (order does not matter)."""
    have, want = set(series.variables), set(model.variables)
    errors = []
    missing = [v for v in model.variables if v not in have]
    extra = [v for v in series.variables if v not in want]
    if missing:
        errors.append(
            {
                "code": VARIABLE_NOT_FOUND,
                "message": f"{len(missing)} variable(s) of the model are missing from the "
                f"data: {_names(missing)}.",
            }
        )
    if extra:
        errors.append(
            {
                "code": UNEXPECTED_VARIABLE,
                "message": f"{len(extra)} variable(s) in the data are not in the model: "
                f"{_names(extra)}. Inference needs exactly the training "
                "variables.",
            }
        )
    return errors


def _names(names: list[str], limit: int = 20) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" (and {len(names) - limit} more)" if len(names) > limit else "")


def _checked_top_k(top_k: int) -> int:
    if not 1 <= top_k <= MAX_TOP_K:
        raise MvadDataError(
            INVALID_TOP_CONTRIBUTOR_COUNT,
            f"topContributorCount must be between 1 and {MAX_TOP_K}; got {top_k}.",
        )
    return top_k


def prepare(
    model: TrainedModel, series: MultivariateSeries
) -> tuple[MultivariateSeries, list[dict[str, Any]]]:
    """Check variables, put columns in model order, align with the model's policy."""
    errors = verify_variables(model, series)
    if errors:
        raise MvadDataError(errors[0]["code"], " ".join(e["message"] for e in errors))
    ordered = series.select(model.variables)
    policy = model.align_policy
    return align(ordered, policy.align_mode, policy.fill_na_method, policy.padding_value)


def plan_chunks(n_timestamps: int, chunk_size: int, sliding_window: int) -> list[Chunk]:
    """Consecutive chunks of ≤ chunk_size timestamps, each with up to w-1 rows of history."""
    if chunk_size < 1:
        raise ValueError("chunk_size must be positive")
    return [
        Chunk(lo, min(n_timestamps, lo + chunk_size), max(0, lo - (sliding_window - 1)))
        for lo in range(0, n_timestamps, chunk_size)
    ]


def score_chunk(
    model: TrainedModel,
    block: MultivariateSeries,
    history_len: int,
    top_k: int = DEFAULT_TOP_K,
    batch_rows: int | None = None,
) -> ChunkScores:
    """Scores for rows history_len.. of an aligned block in model variable order, as columns.

    Row i of the block is scored when i ≥ w-1 (a full window inside the block); earlier rows
    are the range's first timestamps: InsufficientHistoricalData, not scored. The block is one
    ONNX run, or runs of ≤ batch_rows timestamps when given (the same results either way).
    """
    _checked_top_k(top_k)
    if block.variables != model.variables:
        raise ValueError("block columns must be the model's variables, in the model's order")
    if np.isnan(block.values).any():
        raise ValueError("block must be aligned (no NaN); call prepare/align first")
    w = model.sliding_window
    values = block.values
    n = block.n_timestamps - history_len
    first_scored = max(history_len, w - 1)
    unscored = min(n, first_scored - history_len)
    score = np.zeros(n)
    severity = np.zeros(n)
    k = min(top_k, model.n_variables)
    if first_scored >= block.n_timestamps:
        return ChunkScores(
            block.timestamps[history_len:],
            unscored,
            score,
            severity,
            np.zeros(0, dtype=np.int64),
            Interpretations.empty(k),
            w,
        )
    z = finite_residuals(run_core(model.session(), values[first_scored - (w - 1) :], w, batch_rows))
    is_anomaly, severity[unscored:], score[unscored:] = score_arrays(raw_scores(z, model.scoring))
    flagged = np.flatnonzero(is_anomaly)
    interpretations = interpret(
        z[flagged], values, flagged + first_scored, w, model.interpretation, k
    )
    return ChunkScores(
        block.timestamps[history_len:],
        unscored,
        score,
        severity,
        flagged + unscored,
        interpretations,
        w,
    )


def detect_chunk(
    model: TrainedModel, block: MultivariateSeries, history_len: int, top_k: int = DEFAULT_TOP_K
) -> list[dict[str, Any]]:
    """`score_chunk` rendered as v1.1 `results` entries."""
    return score_chunk(model, block, history_len, top_k).render(model.variables)


def detect(
    model: TrainedModel,
    series: MultivariateSeries,
    start: str | int | None = None,
    end: str | int | None = None,
    top_k: int = DEFAULT_TOP_K,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> DetectionResult:
    """Batch detection over [start, end] (clamped to the data), as one call.

    Data before `start` is not used as history, as in the service: the range's first w-1
    timestamps get InsufficientHistoricalData.
    """
    _checked_top_k(top_k)
    ranged = slice_time(series, start, end)
    aligned, states = prepare(model, ranged)
    results: list[dict[str, Any]] = []
    with collector_paused():  # one dict per timestamp: see results.collector_paused
        for chunk in plan_chunks(aligned.n_timestamps, chunk_size, model.sliding_window):
            block = aligned.rows(chunk.history_start, chunk.stop)
            results.extend(detect_chunk(model, block, chunk.history_len, top_k))
    return DetectionResult(results, states)


def detect_last(
    model: TrainedModel, series: MultivariateSeries, top_k: int = DEFAULT_TOP_K
) -> DetectionResult:
    """Streaming detection of the last timestamp; needs ≥ slidingWindow timestamps.

    Only the last w rows are aligned and scored. variableStates describe the detected
    timestamp, as the reference does: effectiveCount 1 (0 when the variable had no value
    there and it was filled), filledNARatio 0 (1 when filled), first = last = that timestamp.
    """
    _checked_top_k(top_k)
    w = model.sliding_window
    if series.n_timestamps < w:
        raise MvadDataError(
            NOT_ENOUGH_DATA,
            f"detect-last needs at least slidingWindow = {w} timestamps; got "
            f"{series.n_timestamps}.",
        )
    window = series.rows(series.n_timestamps - w, series.n_timestamps)
    aligned, _ = prepare(model, window)
    if aligned.n_timestamps < w:
        raise MvadDataError(
            NOT_ENOUGH_DATA,
            f"After alignment ({model.align_policy.align_mode}) only "
            f"{aligned.n_timestamps} of the last {w} timestamps remain.",
        )
    results = detect_chunk(model, aligned, w - 1, top_k)
    return DetectionResult(results, _last_point_states(model, window, aligned))


def _last_point_states(
    model: TrainedModel, window: MultivariateSeries, aligned: MultivariateSeries
) -> list[dict[str, Any]]:
    """variableStates of the one detected (last aligned) timestamp."""
    last = int(aligned.timestamps[-1])
    row = int(np.searchsorted(window.timestamps, last))
    raw = window.select(model.variables).values[row]
    stamp = format_timestamps(aligned.timestamps[-1:])[0]
    return [
        {
            "variable": name,
            "filledNARatio": 0.0 if observed else 1.0,
            "effectiveCount": int(observed),
            "firstTimestamp": stamp,
            "lastTimestamp": stamp,
        }
        for name, observed in zip(model.variables, (~np.isnan(raw)).tolist(), strict=False)
    ]
