"""Post-processing in numpy: residuals → score, isAnomaly, severity, interpretation.

Why per-timestamp and fsum: batch results are computed chunk by chunk and must equal a single
pass bit for bit. Everything here reads only one timestamp's residual row and its own window,
and row sums use `math.fsum` (correctly rounded, so independent of summation order and of how
numpy would vectorise a reduction for a given array shape).
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from batchinfer.models.mvad.model import InterpretationParams, ScoringParams

_FLOAT32_MAX = float(np.finfo(np.float32).max)


def finite_residuals(z: np.ndarray) -> np.ndarray:
    """z with NaN/±inf (overflow on extreme inputs) replaced by ±float32 max.

    Why: results are JSON, which has no NaN or Infinity; an overflowing residual is as
    anomalous as a residual can be, so it becomes the largest finite one. Finite input rows
    are returned unchanged (same array when nothing overflowed).
    """
    if np.isfinite(z).all():
        return z
    return np.nan_to_num(z, nan=_FLOAT32_MAX, posinf=_FLOAT32_MAX, neginf=-_FLOAT32_MAX)


def row_statistics(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(max |z|, rms z) per row of z [N, V], in float64."""
    z64 = np.abs(z.astype(np.float64))
    peak = z64.max(axis=1)
    squares = (z64 * z64).tolist()
    rms = np.sqrt(np.array([math.fsum(row) for row in squares]) / z.shape[1])
    return peak, rms


def raw_scores(z: np.ndarray, scoring: ScoringParams) -> np.ndarray:
    """Threshold-relative score per row: > 1 means anomalous."""
    peak, rms = row_statistics(z)
    return np.maximum(peak / scoring.max_threshold, rms / scoring.rms_threshold)


def score_fields(raw: float) -> tuple[bool, float, float]:
    """(isAnomaly, severity, score): score = raw/(1+raw) ∈ [0, 1), 0.5 at the threshold;
    severity = (raw-1)/raw ∈ (0, 1) for anomalies and exactly 0 otherwise."""
    is_anomaly = raw > 1.0
    severity = (raw - 1.0) / raw if is_anomaly else 0.0
    return is_anomaly, severity, raw / (1.0 + raw)


def window_correlations(window: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """Pearson correlation of each variable in `columns` with every variable, over one window
    [w, V]; rows [len(columns), V]. NaN where a variable is constant in the window.

    Sums run along axis 0 of C-ordered float64 arrays (a fixed sequential order), not BLAS,
    so the same window always gives the same bits.
    """
    x = np.array(window, dtype=np.float64)
    centred = x - x.sum(axis=0) / x.shape[0]
    norms = np.sqrt((centred * centred).sum(axis=0))
    out = np.empty((columns.size, x.shape[1]), dtype=np.float64)
    for row, col in enumerate(columns.tolist()):
        cov = (centred[:, col:col + 1] * centred).sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[row] = cov / (norms[col] * norms)
    out[:, norms == 0.0] = np.nan
    return out


def interpretation(z_row: np.ndarray, window: np.ndarray, variables: tuple[str, ...],
                   params: InterpretationParams, top_k: int) -> list[dict[str, Any]]:
    """Top-k contributors (largest |z| first, ties by column order) and, for each, the
    variables whose correlation with it moved more than the training threshold.

    `contributionScore` is each contributor's share of |z| over the *returned* contributors,
    so the list sums to 1 as in the reference; `changedValues` holds |window correlation −
    training correlation| for each `changedVariables` entry, in the same (descending) order.
    """
    mag = np.abs(z_row.astype(np.float64))
    top = np.argsort(-mag, kind="stable")[:top_k]
    share = _shares(mag[top])
    corr = window_correlations(window, top)
    items = []
    for row, col in enumerate(top.tolist()):
        delta = np.abs(corr[row] - params.correlation[col])
        delta[col] = 0.0
        delta = np.nan_to_num(delta, nan=0.0)
        changed = np.flatnonzero(delta > params.change_threshold)
        ranked = changed[np.argsort(-delta[changed], kind="stable")]
        ranked = ranked[:params.max_changed_variables]
        items.append({
            "variable": variables[col],
            "contributionScore": float(share[row]),
            "correlationChanges": {
                "changedVariables": [variables[j] for j in ranked.tolist()],
                "changedValues": [float(delta[j]) for j in ranked.tolist()],
            },
        })
    return items


def _shares(top_mag: np.ndarray) -> np.ndarray:
    """The returned contributors' |z| as fractions of their sum (uniform when all are 0)."""
    total = math.fsum(top_mag.tolist())
    if not total > 0.0 or not math.isfinite(total):
        finite = np.isfinite(top_mag)
        if not finite.all():  # overflowing residuals: the infinite ones share equally
            return np.where(finite, 0.0, 1.0 / np.count_nonzero(~finite))
        return np.full(top_mag.shape, 1.0 / top_mag.size)
    return top_mag / total
