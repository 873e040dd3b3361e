"""Synthetic multivariate data with labelled anomalies, for tests and the quality bench.

Why latent factors: real MVAD workloads (sensors on one machine, KPIs of one service) are many
noisy views of a few underlying drivers. Mixing a few smooth factors linearly gives exactly the
cross-variable structure the detector must learn, and lets us break it on purpose.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from batchinfer.models.mvad.series import MultivariateSeries

START_MS = 1_609_459_200_000  # 2021-01-01T00:00:00Z
STEP_MS = 60_000  # one minute
ANOMALY_KINDS = ("spike", "level_shift", "correlation_break")


@dataclass(frozen=True)
class AnomalyLabel:
    """One injected anomaly: rows [start, stop) of `variable`, timestamps inclusive."""

    kind: str
    variable: str
    start: int
    stop: int
    start_ms: int
    end_ms: int


def make_correlated_series(
    n_timestamps: int, n_variables: int, seed: int = 0, n_factors: int = 4, noise: float = 0.15
) -> MultivariateSeries:
    """Each variable = offset + scale · (mixing · factors + noise). Factors: sines with random
    periods (30–600 steps) plus a smooth AR(1) drift; one-minute timestamps from 2021-01-01."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_timestamps, dtype=np.float64)
    factors = np.empty((n_timestamps, n_factors))
    for k in range(n_factors):
        period = rng.uniform(30, 600)
        factors[:, k] = np.sin(2 * np.pi * t / period + rng.uniform(0, 2 * np.pi))
        ar = np.zeros(n_timestamps)
        shocks = rng.normal(0, 0.05, n_timestamps)
        for i in range(1, n_timestamps):
            ar[i] = 0.98 * ar[i - 1] + shocks[i]
        factors[:, k] += ar
    mixing = rng.normal(0, 1, (n_factors, n_variables))
    signal = factors @ mixing
    signal /= signal.std(axis=0, keepdims=True)
    values = signal + rng.normal(0, noise, signal.shape)
    offset = rng.uniform(-50, 50, n_variables)
    scale = rng.uniform(0.5, 20, n_variables)
    values = offset + scale * values
    timestamps = START_MS + STEP_MS * np.arange(n_timestamps, dtype=np.int64)
    names = tuple(f"series_{i}" for i in range(n_variables))
    return MultivariateSeries(timestamps, names, values.astype(np.float32))


def inject_anomalies(
    series: MultivariateSeries,
    kinds: Sequence[str] = ANOMALY_KINDS,
    seed: int = 0,
    n_per_kind: int = 5,
    margin: int = 0,
    gap: int = 100,
    magnitude: float = 1.0,
) -> tuple[MultivariateSeries, list[AnomalyLabel]]:
    """Copy of `series` with anomalies, and their labels (sorted by start).

    spike:             1–3 rows, ±(6–10) × the variable's std.
    level_shift:       20–60 rows, ±(2–4) × std added.
    correlation_break: 30–80 rows where the variable's deviation from its mean is replaced by
                       that of its least-correlated variable (same marginal scale, wrong
                       partners; the switch itself may cause a jump at both ends).
    Events do not overlap and keep `gap` rows apart; none starts before row `margin`.
    `magnitude` scales spike and shift sizes (the bench's "hard" setting uses < 1).
    """
    rng = np.random.default_rng(seed)
    values = series.values.astype(np.float64).copy()
    t_len, n_vars = values.shape
    mean = values.mean(axis=0)
    std = values.std(axis=0)
    plan = [k for k in kinds for _ in range(n_per_kind)]
    rng.shuffle(plan)
    taken: list[tuple[int, int]] = []
    labels: list[AnomalyLabel] = []
    for kind in plan:
        length = {
            "spike": rng.integers(1, 4),
            "level_shift": rng.integers(20, 61),
            "correlation_break": rng.integers(30, 81),
        }[kind]
        for _ in range(1000):
            start = int(rng.integers(margin, t_len - length))
            if all(start + length + gap <= a or start >= b + gap for a, b in taken):
                break
        else:
            raise ValueError("series too short for the requested anomalies")
        stop = start + int(length)
        var = int(rng.integers(n_vars))
        sign = rng.choice([-1.0, 1.0])
        if kind == "spike":
            values[start:stop, var] += sign * magnitude * rng.uniform(6, 10) * std[var]
        elif kind == "level_shift":
            values[start:stop, var] += sign * magnitude * rng.uniform(2, 4) * std[var]
        elif kind == "correlation_break":
            other = _least_correlated(series.values, var)
            donor = (values[start:stop, other] - mean[other]) / max(std[other], 1e-12)
            values[start:stop, var] = mean[var] + donor * std[var]
        else:
            raise ValueError(f"unknown anomaly kind {kind!r}")
        taken.append((start, stop))
        labels.append(
            AnomalyLabel(
                kind,
                series.variables[var],
                start,
                stop,
                int(series.timestamps[start]),
                int(series.timestamps[stop - 1]),
            )
        )
    labels.sort(key=lambda a: a.start)
    out = MultivariateSeries(series.timestamps.copy(), series.variables, values.astype(np.float32))
    return out, labels


def _least_correlated(values: np.ndarray, var: int) -> int:
    """The variable whose correlation with `var` is closest to 0 (`var` itself if alone)."""
    if values.shape[1] == 1:
        return var
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.asarray(np.corrcoef(values.astype(np.float64), rowvar=False))[var]
    corr = np.abs(np.nan_to_num(corr, nan=0.0))
    corr[var] = np.inf
    return int(np.argmin(corr))


def to_one_table_csv(series: MultivariateSeries) -> str:
    """The series as a OneTable CSV (`timestamp` + one column per variable), for samples/tests."""
    from batchinfer.models.mvad.series import format_timestamps

    header = ",".join(("timestamp", *series.variables))
    stamps = format_timestamps(series.timestamps)
    rows = [
        ",".join((ts, *(repr(float(v)) for v in row)))
        for ts, row in zip(stamps, series.values, strict=False)
    ]
    return "\n".join((header, *rows)) + "\n"


def write_one_table_csv(series: MultivariateSeries, path: str, block: int = 50_000) -> None:
    """Write a OneTable CSV block by block (for data too large to format as one string)."""
    import io as _io

    from batchinfer.models.mvad.series import format_timestamps

    with open(path, "w", encoding="utf-8") as handle:
        handle.write(",".join(("timestamp", *series.variables)) + "\n")
        for lo in range(0, series.n_timestamps, block):
            buffer = _io.StringIO()
            np.savetxt(buffer, series.values[lo : lo + block], fmt="%.7g", delimiter=",")
            stamps = format_timestamps(series.timestamps[lo : lo + block])
            lines = buffer.getvalue().splitlines()
            handle.write("".join(f"{ts},{line}\n" for ts, line in zip(stamps, lines, strict=False)))
