"""The numeric core in numpy: standardise → window features → linear map → residuals.

Why a numpy twin of the ONNX graph: training needs the same features in float64 (closed-form
ridge), and tests check the exported graph against it. Keep the two in lock-step: any change
to the feature layout here must be mirrored in `export.py` (and bumps FORMAT_VERSION).

Features for the timestamp t, per variable (standardised values x):
    cur   x[t]                         (the target itself; the model never uses a variable's own
                                        cur to predict it, see train.py)
    lag1  x[t-1]
    lag2  x[t-2]
    wmean mean of `taps` samples x[t-1], x[t-1-d], ..., spread over the sliding window
Layout: [cur(V), lag1(V), lag2(V), wmean(V)] → D = 4·V columns.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

FEATURE_GROUPS: tuple[str, ...] = ("cur", "lag1", "lag2", "wmean")
MAX_MEAN_TAPS = 32


def mean_taps(sliding_window: int) -> tuple[int, int]:
    """(taps, dilation) of the window mean: at most MAX_MEAN_TAPS samples of the w-1 history.

    A dilated sample mean instead of the full mean keeps the cost per timestamp independent of
    the window (2880 at most) and, unlike a running cumulative sum, every timestamp's value is
    computed from its own window only, so results do not depend on where a chunk starts.
    """
    history = sliding_window - 1
    taps = min(history, MAX_MEAN_TAPS)
    dilation = 1 if taps <= 1 else max(1, (history - 1) // (taps - 1))
    return taps, dilation


@dataclass(frozen=True)
class CoreParams:
    """Everything the ONNX graph bakes in. weight maps features [D] → normalised residuals [V]."""

    sliding_window: int
    mean: np.ndarray  # float32 [V], training mean per variable
    std: np.ndarray  # float32 [V], training std per variable (1 for constant variables)
    weight: np.ndarray  # float32 [D, V]
    bias: np.ndarray  # float32 [V]

    @property
    def n_variables(self) -> int:
        return int(self.mean.shape[0])

    @property
    def taps(self) -> tuple[int, int]:
        return mean_taps(self.sliding_window)


def standardize(values: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """(x - mean) / std in float64 (training and the reference); the graph does it in float32."""
    return (values.astype(np.float64) - mean.astype(np.float64)) / std.astype(np.float64)


def window_features(xs: np.ndarray, sliding_window: int) -> np.ndarray:
    """Features [T-w+1, 4V] for every t ≥ w-1 of a standardised block xs [T, V]."""
    w = sliding_window
    t_len = xs.shape[0]
    n = t_len - w + 1
    if n <= 0:
        raise ValueError(f"block of {t_len} rows is shorter than the sliding window {w}")
    taps, dilation = mean_taps(w)
    wsum = np.zeros((n, xs.shape[1]), dtype=xs.dtype)
    for k in range(taps):
        start = w - 2 - k * dilation
        wsum += xs[start : start + n]
    return np.concatenate(
        [xs[w - 1 :], xs[w - 2 : t_len - 1], xs[w - 3 : t_len - 2], wsum / taps], axis=1
    )


def iter_feature_blocks(
    xs: np.ndarray, sliding_window: int, first: int, stop: int, rows: int = 2048
) -> Iterator[np.ndarray]:
    """Features for windows [first, stop) (window i ends at row i + w - 1), `rows` at a time.

    Bounds training memory: all features at once would be T × 4V float64 (190 MB at 20k × 300).
    """
    w = sliding_window
    for lo in range(first, stop, rows):
        hi = min(stop, lo + rows)
        yield window_features(xs[lo : hi + w - 1], w)


def core_numpy(params: CoreParams, values: np.ndarray) -> np.ndarray:
    """Reference for the ONNX graph: normalised residuals z [T-w+1, V] (float64)."""
    xs = standardize(values, params.mean, params.std)
    feats = window_features(xs, params.sliding_window)
    return feats @ params.weight.astype(np.float64) + params.bias.astype(np.float64)
