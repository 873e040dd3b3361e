"""Training: closed-form ridge residual model, calibrated on a held-out tail. Deterministic.

Method (see docs/mvad-model.md):
1. Standardise each variable with its training mean/std.
2. Features per timestamp t (features.py): every variable's current value, lags 1 and 2 and a
   window mean → D = 4V columns.
3. For each variable i, ridge-regress x_i[t] on all features except x_i[t] itself. All V
   regressions come from ONE D×D inverse: with A = cov(features) + λI and P = A⁻¹, the
   residual of variable i is (P (f - μ))_i / P_ii (the Gaussian-graphical-model identity;
   -P_{-i,i}/P_ii are exactly ridge coefficients). Using other variables' *current* values is
   what exposes correlation breaks; the lags expose spikes on smooth signals.
4. Fit on the first 80 % of windows, pick λ by held-out MSE, and calibrate on the last 20 %:
   residual scale per variable (MAD), score thresholds (quantile × margin), correlation-change
   threshold. Calibrating out of sample keeps thresholds honest when D is large next to T.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from batchinfer.models.mvad.data import AlignPolicy, align
from batchinfer.models.mvad.errors import (
    INVALID_SLIDING_WINDOW,
    NOT_ENOUGH_DATA,
    MvadDataError,
)
from batchinfer.models.mvad.export import build_onnx
from batchinfer.models.mvad.features import (
    CoreParams,
    iter_feature_blocks,
    mean_taps,
    standardize,
)
from batchinfer.models.mvad.model import (
    InterpretationParams,
    ScoringParams,
    TrainedModel,
)
from batchinfer.models.mvad.scoring import row_statistics
from batchinfer.models.mvad.series import MultivariateSeries

MIN_SLIDING_WINDOW = 28
MAX_SLIDING_WINDOW = 2880
_MAD_TO_STD = 1.4826


@dataclass(frozen=True)
class TrainConfig:
    """Knobs with defaults measured on synthetic data (bench/mvad_quality.py)."""

    ridge_grid: tuple[float, ...] = (1e-3, 1e-2, 1e-1, 1.0)
    calibration_fraction: float = 0.2
    score_quantile: float = 0.995
    threshold_margin: float = 1.25
    correlation_quantile: float = 0.999
    correlation_windows: int = 48
    min_change_threshold: float = 0.3
    max_changed_variables: int = 10
    min_windows: int = 200
    min_residual_scale: float = 1e-3


def _check_window(sliding_window: int) -> None:
    if not MIN_SLIDING_WINDOW <= sliding_window <= MAX_SLIDING_WINDOW:
        raise MvadDataError(
            INVALID_SLIDING_WINDOW,
            f"slidingWindow must be between {MIN_SLIDING_WINDOW} and "
            f"{MAX_SLIDING_WINDOW}; got {sliding_window}.",
        )


def _moments(xs: np.ndarray, w: int, first: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
    """Feature mean μ [D] and covariance [D, D] over windows [first, stop), block by block."""
    d = 4 * xs.shape[1]
    total = np.zeros(d)
    outer = np.zeros((d, d))
    for feats in iter_feature_blocks(xs, w, first, stop):
        total += feats.sum(axis=0)
        outer += feats.T @ feats
    n = stop - first
    mu = total / n
    return mu, outer / n - np.outer(mu, mu)


def _residual_maps(cov: np.ndarray, n_vars: int, lam: float) -> tuple[np.ndarray, float]:
    """Leave-own-current-value-out ridge: residual r = (f - μ) @ M, M [D, V]; and the mean
    squared residual over the fit windows themselves (the training loss).

    The training loss needs no second pass over the data: with P = (C + λI)⁻¹ and
    r_i = (P (f - μ))_i / P_ii, E[r_i²] = (P C P)_ii / P_ii² and P C P = P − λP², so
    E[r_i²] = (P_ii − λ Σ_j P_ij²) / P_ii².
    """
    precision = np.linalg.inv(cov + lam * np.eye(cov.shape[0]))
    precision = (precision + precision.T) / 2
    rows = precision[:n_vars]
    diag = np.diag(precision)[:n_vars]
    train_mse = float(np.mean((diag - lam * (rows * rows).sum(axis=1)) / (diag * diag)))
    return (rows / diag[:, None]).T, train_mse


def _residuals(
    xs: np.ndarray, w: int, first: int, stop: int, mu: np.ndarray, maps: list[np.ndarray]
) -> tuple[list[np.ndarray], list[float], float]:
    """Held-out residuals per map, the seconds each map's products took, and the seconds the
    shared feature building took."""
    out: list[list[np.ndarray]] = [[] for _ in maps]
    seconds = [0.0] * len(maps)
    shared = 0.0
    clock = time.perf_counter()
    for feats in iter_feature_blocks(xs, w, first, stop):
        centred = feats - mu
        now = time.perf_counter()
        shared += now - clock
        for k, m in enumerate(maps):
            out[k].append(centred @ m)
            done = time.perf_counter()
            seconds[k] += done - now
            now = done
        clock = now
    shared += time.perf_counter() - clock
    return [np.concatenate(parts) for parts in out], seconds, shared


def _correlation_threshold(xs: np.ndarray, w: int, corr: np.ndarray, cfg: TrainConfig) -> float:
    """|window corr − training corr| quantile over evenly spaced training windows."""
    starts = np.linspace(
        0, xs.shape[0] - w, num=min(cfg.correlation_windows, xs.shape[0] - w + 1)
    ).astype(int)
    deltas = []
    upper = np.triu_indices(xs.shape[1], k=1)
    for s in np.unique(starts):
        with np.errstate(invalid="ignore", divide="ignore"):
            win = np.corrcoef(xs[s : s + w], rowvar=False)
        deltas.append(np.abs(np.nan_to_num(win, nan=0.0) - corr)[upper])
    if not deltas or deltas[0].size == 0:
        return 1.0
    q = float(np.quantile(np.concatenate(deltas), cfg.correlation_quantile))
    return round(min(1.0, max(cfg.min_change_threshold, q)), 4)


def train(
    series: MultivariateSeries,
    sliding_window: int = 300,
    align_policy: AlignPolicy | None = None,
    config: TrainConfig | None = None,
) -> TrainedModel:
    """Train on `series` (aligned here with `align_policy`; already-aligned data is unchanged)."""
    cfg = config or TrainConfig()
    policy = align_policy or AlignPolicy()
    _check_window(sliding_window)
    aligned, states = align(series, policy.align_mode, policy.fill_na_method, policy.padding_value)
    w = sliding_window
    t_len, n_vars = aligned.values.shape
    n_windows = t_len - w + 1
    if n_windows < cfg.min_windows:
        raise MvadDataError(
            NOT_ENOUGH_DATA,
            f"Training needs at least slidingWindow + {cfg.min_windows - 1} = "
            f"{w + cfg.min_windows - 1} timestamps after alignment; got {t_len}.",
        )

    raw = aligned.values.astype(np.float64)
    mean = raw.mean(axis=0)
    std = raw.std(axis=0)
    constant = std <= 1e-9 * np.maximum(1.0, np.abs(mean))
    std = np.where(constant, 1.0, std)
    mean32, std32 = mean.astype(np.float32), std.astype(np.float32)
    xs = standardize(aligned.values, mean32, std32)

    n_cal = max(1, int(round(n_windows * cfg.calibration_fraction)))
    n_fit = n_windows - n_cal
    clock = time.perf_counter()
    mu, cov = _moments(xs, w, 0, n_fit)
    shared = time.perf_counter() - clock
    maps, train_mse, fit_seconds = [], [], []
    for lam in cfg.ridge_grid:  # one candidate per λ: fitted on the fit windows ...
        clock = time.perf_counter()
        m, loss = _residual_maps(cov, n_vars, lam)
        fit_seconds.append(time.perf_counter() - clock)
        maps.append(m)
        train_mse.append(loss)
    # ... and validated on the held-out windows
    residuals, eval_seconds, eval_shared = _residuals(xs, w, n_fit, n_windows, mu, maps)
    clock = time.perf_counter()
    mse = [float(np.mean(r * r)) for r in residuals]
    eval_seconds = [s + (time.perf_counter() - clock) / len(maps) for s in eval_seconds]
    share = (shared + eval_shared) / len(maps)  # passes every candidate needed, split evenly
    candidate_seconds = [
        round(f + e + share, 6) for f, e in zip(fit_seconds, eval_seconds, strict=False)
    ]
    best = int(np.argmin(mse))
    lam, m_best, r_cal = cfg.ridge_grid[best], maps[best], residuals[best]

    centre = np.median(r_cal, axis=0)
    scale = _MAD_TO_STD * np.median(np.abs(r_cal - centre), axis=0)
    scale = np.maximum(scale, cfg.min_residual_scale)
    weight = m_best / scale[None, :]
    bias = -(mu @ weight)
    core = CoreParams(w, mean32, std32, weight.astype(np.float32), bias.astype(np.float32))

    z_cal = (r_cal / scale).astype(np.float32)
    peak, rms = row_statistics(z_cal)
    scoring = ScoringParams(
        max_threshold=float(np.quantile(peak, cfg.score_quantile) * cfg.threshold_margin),
        rms_threshold=float(np.quantile(rms, cfg.score_quantile) * cfg.threshold_margin),
        quantile=cfg.score_quantile,
        margin=cfg.threshold_margin,
    )

    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.corrcoef(xs, rowvar=False) if n_vars > 1 else np.ones((1, 1))
    corr = np.round(np.nan_to_num(np.atleast_2d(corr), nan=0.0), 4)
    interp = InterpretationParams(
        corr, _correlation_threshold(xs, w, corr, cfg), cfg.max_changed_variables
    )
    raw_cal = np.maximum(peak / scoring.max_threshold, rms / scoring.rms_threshold)
    taps, dilation = mean_taps(w)
    diagnostics = {
        "timestamps": int(t_len),
        "windows": int(n_windows),
        "fitWindows": int(n_fit),
        "calibrationWindows": int(n_cal),
        "ridgeLambda": lam,
        "ridgeGridHeldOutMse": dict(
            zip([repr(x) for x in cfg.ridge_grid], [round(x, 8) for x in mse], strict=False)
        ),
        "ridgeGridTrainMse": dict(
            zip([repr(x) for x in cfg.ridge_grid], [round(x, 8) for x in train_mse], strict=False)
        ),
        "heldOutResidualScale": {
            "min": round(float(scale.min()), 8),
            "median": round(float(np.median(scale)), 8),
            "max": round(float(scale.max()), 8),
        },
        "calibrationAnomalyRate": round(float(np.mean(raw_cal > 1.0)), 6),
        "constantVariables": [aligned.variables[i] for i in np.flatnonzero(constant)],
        "variableStates": states,
        "meanTaps": taps,
        "meanDilation": dilation,
    }
    model = TrainedModel(aligned.variables, w, policy, scoring, interp, diagnostics, core=core)
    model.onnx_bytes = build_onnx(core)
    model.training_seconds = candidate_seconds
    return model
