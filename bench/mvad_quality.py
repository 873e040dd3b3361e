"""MVAD quality and speed on synthetic data (prints, asserts nothing).

Quality: event-level precision / recall / F1 of isAnomaly per anomaly kind (one test series per
kind) and overall (all kinds mixed), plus top-contributor accuracy; see
batchinfer.models.mvad.evaluate for the exact definitions. Speed: detect_last p50/p99 at
V=300, w=300 and raw ONNX core throughput (points = timestamps × variables per second).

Run: .venv/bin/python bench/mvad_quality.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np

from batchinfer.models.mvad.core import run_core
from batchinfer.models.mvad.detect import detect, detect_last
from batchinfer.models.mvad.evaluate import EventMetrics, event_metrics
from batchinfer.models.mvad.model import TrainedModel
from batchinfer.models.mvad.synthetic import (
    ANOMALY_KINDS,
    inject_anomalies,
    make_correlated_series,
)
from batchinfer.models.mvad.train import train

SETTINGS = [
    # (label, variables, window, train rows, test rows per kind, noise, magnitude)
    ("V=20  w=100 default", 20, 100, 8000, 6000, 0.15, 1.0),
    ("V=20  w=100 hard   ", 20, 100, 8000, 6000, 0.30, 0.35),
    ("V=300 w=300 default", 300, 300, 10000, 6000, 0.15, 1.0),
    ("V=300 w=300 hard   ", 300, 300, 10000, 6000, 0.30, 0.35),
]


def _fmt(name: str, m: EventMetrics) -> str:
    return (
        f"  {name:<18} P={m.precision:5.3f} R={m.recall:5.3f} F1={m.f1:5.3f} "
        f"top1={m.top_contributor_accuracy:5.3f} (labels {m.labels}, found {m.found}, "
        f"predicted events {m.predicted_events}, correct {m.correct_events}, "
        f"changedVariables non-empty {m.changed_variables_reported}/{m.found})"
    )


def quality(
    label: str,
    n_vars: int,
    w: int,
    n_train: int,
    n_test: int,
    noise: float,
    magnitude: float,
    n_per_kind: int,
    workdir: str,
) -> None:
    total_rows = n_train + n_test * (len(ANOMALY_KINDS) + 1)
    series = make_correlated_series(total_rows, n_vars, seed=7, noise=noise)
    started = time.perf_counter()
    model = train(series.rows(0, n_train), w)
    train_s = time.perf_counter() - started
    model.save(os.path.join(workdir, label.replace(" ", "_").replace("=", "")))
    print(
        f"{label}: trained in {train_s:.2f} s, lambda={model.diagnostics['ridgeLambda']}, "
        f"calibration anomaly rate {model.diagnostics['calibrationAnomalyRate']:.4f}, "
        f"corr-change threshold {model.interpretation.change_threshold}"
    )
    cases = [(kind, (kind,)) for kind in ANOMALY_KINDS] + [("overall (mixed)", ANOMALY_KINDS)]
    for i, (name, kinds) in enumerate(cases):
        lo = n_train + i * n_test
        clean = series.rows(lo, lo + n_test)
        per_kind = n_per_kind if len(kinds) == 1 else max(1, n_per_kind // 2)
        bad, labels = inject_anomalies(
            clean,
            kinds=kinds,
            seed=100 + i,
            n_per_kind=per_kind,
            margin=w,
            gap=60,
            magnitude=magnitude,
        )
        started = time.perf_counter()
        results = detect(model, bad, top_k=10).results
        elapsed = time.perf_counter() - started
        print(_fmt(name, event_metrics(results, labels)) + f" [{elapsed:.2f} s]")


def speed(workdir: str, n_calls: int) -> None:
    n_vars, w = 300, 300
    series = make_correlated_series(6000 + 20000, n_vars, seed=3)
    model = train(series.rows(0, 6000), w)
    model.save(os.path.join(workdir, "speed"))
    model = TrainedModel.load(os.path.join(workdir, "speed"))
    test = series.rows(6000, 26000)
    detect_last(model, test.rows(0, w))  # warm the session
    latencies = []
    for i in range(n_calls):
        window = test.rows(i, i + w)
        started = time.perf_counter()
        detect_last(model, window, top_k=10)
        latencies.append((time.perf_counter() - started) * 1000)
    lat = np.array(latencies)
    print(
        f"detect_last V=300 w=300: p50 {np.percentile(lat, 50):.2f} ms, "
        f"p99 {np.percentile(lat, 99):.2f} ms, max {lat.max():.2f} ms over {n_calls} calls "
        f"(cores available: {len(os.sched_getaffinity(0))})"
    )
    session = model.session()
    for rows in (4096, 20000):
        block = test.values[:rows]
        run_core(session, block, w)
        started = time.perf_counter()
        repeats = 3
        for _ in range(repeats):
            run_core(session, block, w)
        per_run = (time.perf_counter() - started) / repeats
        points = (rows - w + 1) * n_vars
        print(
            f"ONNX core, block {rows}×{n_vars}: {per_run * 1000:.1f} ms/run, "
            f"{points / per_run / 1e6:.2f} M points/s"
        )
    started = time.perf_counter()
    results = detect(model, test, top_k=10).results
    elapsed = time.perf_counter() - started
    print(
        f"detect() end to end, 20000×300 (all post-processing): {elapsed:.2f} s, "
        f"{(len(results) - w + 1) * n_vars / elapsed / 1e6:.2f} M points/s, "
        f"{sum(bool(r.get('value', {}).get('isAnomaly')) for r in results)} flagged"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small V=20 settings only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        for setting in SETTINGS[:2] if args.quick else SETTINGS:
            quality(*setting, n_per_kind=12, workdir=workdir)
        speed(workdir, n_calls=200 if args.quick else 1000)


if __name__ == "__main__":
    main()
