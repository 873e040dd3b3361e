"""Post-processing in numpy, over whole blocks: residuals → score, severity, interpretation.

Why every reduction here has a fixed order: batch results are computed chunk by chunk and must
equal a single pass bit for bit, so a timestamp's numbers may depend only on its own residual
row and its own window, never on how many rows (or anomalies) are processed together. Row sums
therefore run column by column in a fixed order (a compensated sum, which gives the correctly
rounded `math.fsum` value on every row we have compared), and window sums run row by row;
numpy's pairwise/SIMD reductions, whose rounding can depend on array shapes, are not used.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from batchinfer.models.mvad.model import InterpretationParams, ScoringParams

_FLOAT32_MAX = float(np.finfo(np.float32).max)
# anomalies whose windows are gathered at once: bounds the [w, a, V] float64 gather (~32 MB)
_WINDOW_ELEMENTS = 4_000_000


def finite_residuals(z: np.ndarray) -> np.ndarray:
    """z with NaN/±inf (overflow on extreme inputs) replaced by ±float32 max.

    Why: results are JSON, which has no NaN or Infinity; an overflowing residual is as
    anomalous as a residual can be, so it becomes the largest finite one. Finite input is
    returned unchanged (the same array).
    """
    if np.isfinite(z).all():
        return z
    return np.nan_to_num(z, nan=_FLOAT32_MAX, posinf=_FLOAT32_MAX, neginf=-_FLOAT32_MAX)


def row_sums(x: np.ndarray) -> np.ndarray:
    """Σ_j x[i, j] per row, float64, in a fixed order: left to right with the rounding error
    of each addition carried along (Knuth's TwoSum), so each row's value depends on that row
    only and equals the correctly rounded sum except in pathological near-tie cases."""
    cols = np.asfortranarray(x, dtype=np.float64)
    total = cols[:, 0].copy()
    carry = np.zeros_like(total)
    for j in range(1, cols.shape[1]):
        term = cols[:, j]
        summed = total + term
        back = summed - total
        carry += (total - (summed - back)) + (term - back)
        total = summed
    return total + carry


def row_statistics(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(max |z|, rms z) per row of z [N, V], in float64."""
    z64 = np.abs(z.astype(np.float64))
    peak = z64.max(axis=1)
    rms = np.sqrt(row_sums(z64 * z64) / z.shape[1])
    return peak, rms


def raw_scores(z: np.ndarray, scoring: ScoringParams) -> np.ndarray:
    """Threshold-relative score per row: > 1 means anomalous."""
    peak, rms = row_statistics(z)
    return np.maximum(peak / scoring.max_threshold, rms / scoring.rms_threshold)


def score_arrays(raw: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(isAnomaly, severity, score) per row: score = raw/(1+raw) ∈ [0, 1], 0.5 at the
    threshold; severity = (raw-1)/raw ∈ (0, 1] for anomalies and exactly 0 otherwise."""
    is_anomaly = raw > 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        severity = np.where(is_anomaly, (raw - 1.0) / raw, 0.0)
        score = raw / (1.0 + raw)
    return is_anomaly, severity, score


@dataclass(frozen=True)
class Interpretations:
    """Contributors of a set of anomalous rows, as arrays (a rows, k contributors each).

    `changed_offsets[i * k + c] : changed_offsets[i * k + c + 1]` slices `changed` and
    `changed_values` for contributor c of anomaly i.
    """

    top: np.ndarray  # int [a, k] variable indices, largest |z| first
    share: np.ndarray  # float64 [a, k] contributionScore, sums to 1 per row
    changed_offsets: np.ndarray  # int64 [a * k + 1]
    changed: np.ndarray  # int [m] variable indices, largest change first
    changed_values: np.ndarray  # float64 [m] |window − training| correlation

    @classmethod
    def empty(cls, k: int) -> Interpretations:
        return cls(
            np.zeros((0, k), dtype=np.int64),
            np.zeros((0, k)),
            np.zeros(1, dtype=np.int64),
            np.zeros(0, dtype=np.int64),
            np.zeros(0),
        )


def interpret(
    z_rows: np.ndarray,
    values: np.ndarray,
    rows: np.ndarray,
    sliding_window: int,
    params: InterpretationParams,
    top_k: int,
) -> Interpretations:
    """Top-k contributors and their correlation changes for anomalous rows.

    z_rows [a, V] are the rows' residuals; row `rows[i]` of `values` [T, V] is the last of its
    window (w rows ending there). Contributors are the k largest |z| (ties by column order);
    `contributionScore` is each one's share of |z| over the k returned, so they sum to 1 as in
    the reference. For each, `changedVariables` are the variables whose Pearson correlation
    with it over the window moved more than the training threshold away from the training
    correlation, largest change first, at most `max_changed_variables`; `changedValues` are
    those changes.
    """
    n_anomalies, n_vars = z_rows.shape
    k = min(top_k, n_vars)
    if n_anomalies == 0:
        return Interpretations.empty(k)
    mag = np.abs(z_rows.astype(np.float64))
    top = np.argsort(-mag, axis=1, kind="stable")[:, :k]
    share = _shares(np.take_along_axis(mag, top, axis=1))
    batch = max(1, _WINDOW_ELEMENTS // (sliding_window * n_vars))
    deltas = [
        _correlation_changes(
            values, rows[lo : lo + batch], top[lo : lo + batch], sliding_window, params
        )
        for lo in range(0, n_anomalies, batch)
    ]
    delta = np.concatenate(deltas)  # [a, k, V]
    order = np.argsort(-delta, axis=2, kind="stable")[:, :, : params.max_changed_variables]
    ranked = np.take_along_axis(delta, order, axis=2)
    keep = ranked > params.change_threshold  # sorted descending: a prefix of each list
    counts = keep.sum(axis=2).reshape(-1)
    offsets = np.zeros(counts.size + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return Interpretations(top, share, offsets, order[keep], ranked[keep])


def _shares(top_mag: np.ndarray) -> np.ndarray:
    """Each returned contributor's |z| as a fraction of their correctly rounded sum (uniform
    when all are 0). A Python loop over the anomalies only, which are rare."""
    out = np.empty_like(top_mag)
    for i, row in enumerate(top_mag):
        total = math.fsum(row.tolist())
        out[i] = row / total if total > 0.0 else 1.0 / row.size
    return out


def _correlation_changes(
    values: np.ndarray,
    rows: np.ndarray,
    top: np.ndarray,
    sliding_window: int,
    params: InterpretationParams,
) -> np.ndarray:
    """|window correlation − training correlation| [a, k, V] of each contributor with every
    variable (0 with itself, and where a variable is constant in the window)."""
    w = sliding_window
    offsets = np.arange(-w + 1, 1)
    windows = values[rows[None, :] + offsets[:, None]].astype(np.float64)  # [w, a, V]
    total = windows[0].copy()
    for r in range(1, w):
        total += windows[r]
    centred = windows - total / w
    squares = centred[0] * centred[0]
    for r in range(1, w):
        squares += centred[r] * centred[r]
    norms = np.sqrt(squares)  # [a, V]
    picked = np.take_along_axis(centred, top[None, :, :], axis=2)  # [w, a, k]
    cov = picked[0][:, :, None] * centred[0][:, None, :]
    for r in range(1, w):
        cov += picked[r][:, :, None] * centred[r][:, None, :]  # [a, k, V]
    top_norms = np.take_along_axis(norms, top, axis=1)  # [a, k]
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = cov / (top_norms[:, :, None] * norms[:, None, :])
    corr[np.broadcast_to((norms == 0.0)[:, None, :], corr.shape)] = np.nan
    delta = np.abs(corr - params.correlation[top])  # training rows of the contributors
    np.put_along_axis(delta, top[:, :, None], 0.0, axis=2)
    return np.nan_to_num(delta, nan=0.0)
