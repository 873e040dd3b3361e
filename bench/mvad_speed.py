"""Anomaly detection speed: detect-batch through the service vs. the model alone; detect-last.

In one run (prints, asserts nothing):
  1. points/s of detect-batch through the service (HTTP submit -> READY, data in a local
     folder) versus, over the same data and model, (a) an in-process single pass `detect()`
     (the same ONNX core plus the same post-processing) and (b) the raw ONNX core alone;
  2. detect-last latency (p50/p99) for 300 variables at slidingWindow 300, over HTTP and
     in-process.

    .venv/bin/python bench/mvad_speed.py [--timestamps 100000] [--variables 20]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.host import HostProcess  # noqa: E402

API = "/api/anomalydetector/v1.1/multivariate"
WIDE = "2000-01-01T00:00:00Z", "2100-01-01T00:00:00Z"


def _train(base: str, csv: Path, window: int) -> str:
    r = requests.post(f"{base}{API}/models", json={
        "dataSource": csv.as_uri(), "slidingWindow": window,
        "startTime": WIDE[0], "endTime": WIDE[1]}, timeout=60)
    model_id = r.json()["modelId"]
    while True:
        info = requests.get(f"{base}{API}/models/{model_id}", timeout=60).json()["modelInfo"]
        if info["status"] in ("READY", "FAILED"):
            assert info["status"] == "READY", info
            return model_id
        time.sleep(0.1)


def _concat_blocks(blocks):  # type: ignore[no-untyped-def]
    import numpy as np

    from batchinfer.models.mvad import MultivariateSeries

    parts = list(blocks)
    return MultivariateSeries(np.concatenate([p.timestamps for p in parts]), parts[0].variables,
                              np.concatenate([p.values for p in parts]))


def _percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))]
    return f"p50 {statistics.median(ordered):6.1f} ms  p99 {p99:6.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--timestamps", type=int, default=100_000)
    parser.add_argument("--variables", type=int, default=20)
    parser.add_argument("--window", type=int, default=300)
    parser.add_argument("--last-calls", type=int, default=200)
    args = parser.parse_args()
    from batchinfer.anomaly.model_store import MODEL_FILES  # noqa: F401 - layout documented there
    from batchinfer.models.mvad import TrainedModel, detect, detect_last
    from batchinfer.models.mvad.core import run_core
    from batchinfer.anomaly.streaming import csv_blocks
    from batchinfer.models.mvad.series import format_timestamps
    from batchinfer.models.mvad.synthetic import make_correlated_series, write_one_table_csv

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        data = root / "storage" / "data"
        data.mkdir(parents=True)
        series = make_correlated_series(20_000 + args.timestamps, args.variables, seed=1)
        write_one_table_csv(series.rows(0, 20_000), str(data / "train.csv"))
        write_one_table_csv(series.rows(20_000, 20_000 + args.timestamps), str(data / "d.csv"))
        wide = make_correlated_series(20_000, 300, seed=3)
        write_one_table_csv(wide.rows(0, 10_000), str(data / "wide.csv"))
        host = HostProcess(REPO, root / "host", env={
            "BATCHINFER_DATA_ROOT": str(root), "FUNCHOST_LOG_LEVEL": "WARNING",
            "BATCHINFER_MAX_DETECT_TIMESTAMPS": "100000000"}).start()
        try:
            model_id = _train(host.base_url, data / "train.csv", args.window)
            wide_id = _train(host.base_url, data / "wide.csv", 300)
            started = time.perf_counter()
            r = requests.post(f"{host.base_url}{API}/models/{model_id}:detect-batch", json={
                "dataSource": (data / "d.csv").as_uri(), "startTime": WIDE[0],
                "endTime": WIDE[1], "topContributorCount": 5}, timeout=60)
            location = r.headers["Operation-Location"]
            while requests.get(f"{location}?top=0", timeout=60).json()["summary"][
                    "status"] not in ("READY", "FAILED"):
                time.sleep(0.05)
            service_s = time.perf_counter() - started
            # detect-last over HTTP: 300 variables x 300 timestamps per call
            rows = wide.rows(10_000, 20_000)
            http_ms = []
            for call in range(args.last_calls):
                window = rows.rows(call * 7, call * 7 + 300)
                stamps = format_timestamps(window.timestamps)
                body = {"variables": [{"variable": name, "timestamps": stamps,
                                       "values": window.values[:, i].tolist()}
                                      for i, name in enumerate(window.variables)],
                        "topContributorCount": 10}
                payload = json.dumps(body).encode()  # client-side encoding is not timed
                t0 = time.perf_counter()
                reply = requests.post(f"{host.base_url}{API}/models/{wide_id}:detect-last",
                                      data=payload, timeout=60,
                                      headers={"Content-Type": "application/json"})
                http_ms.append((time.perf_counter() - t0) * 1000)
                assert reply.status_code == 200, reply.text
        finally:
            host.stop()
        points = args.timestamps * args.variables
        model = TrainedModel.load(root / "models" / "mvad" / model_id / "v1")
        t0 = time.perf_counter()
        with open(data / "d.csv", encoding="utf-8") as handle:  # the service's CSV parser
            detect_data = _concat_blocks(csv_blocks(handle, "d.csv"))
        load_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        detect(model, detect_data, None, None, top_k=5)
        single_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        for lo in range(0, detect_data.n_timestamps, 4096):
            block = detect_data.values[max(0, lo - model.sliding_window + 1): lo + 4096]
            if len(block) >= model.sliding_window:
                run_core(model.session(), block, model.sliding_window)
        raw_s = time.perf_counter() - t0
        print(f"detect-batch {args.timestamps} x {args.variables} (slidingWindow {args.window}):")
        print(f"  through the service:     {service_s:7.2f} s  {points / service_s / 1e6:7.2f} M points/s")
        print(f"  in-process read CSV + detect(): {load_s + single_s:7.2f} s  "
              f"{points / (load_s + single_s) / 1e6:7.2f} M points/s"
              f"  (service ratio {(load_s + single_s) / service_s:.2f})")
        print(f"  in-process detect() alone:      {single_s:7.2f} s  {points / single_s / 1e6:7.2f} M points/s"
              f"  (service ratio {single_s / service_s:.2f})")
        print(f"  raw ONNX core only:      {raw_s:7.2f} s  {points / raw_s / 1e6:7.2f} M points/s"
              f"  (service ratio {raw_s / service_s:.2f})")
        wide_model = TrainedModel.load(root / "models" / "mvad" / wide_id / "v1")
        local_ms = []
        for call in range(args.last_calls):
            window = rows.rows(call * 7, call * 7 + 300)
            t0 = time.perf_counter()
            detect_last(wide_model, window, 10)
            local_ms.append((time.perf_counter() - t0) * 1000)
        print("detect-last, 300 variables x slidingWindow 300:")
        print(f"  over HTTP (a {len(payload) / 1e6:.1f} MB JSON body): {_percentiles(http_ms)}")
        print(f"  in-process detect_last:                 {_percentiles(local_ms)}")


if __name__ == "__main__":
    main()
