"""Anomaly detection speed: detect-batch through the service vs. the model alone; detect-last.

In one run (prints, asserts nothing), each measurement repeated and interleaved, medians:
  1. points/s of detect-batch through the service (HTTP submit -> READY, data in a local
     folder; and, separately, READY plus receiving every result as JSON in one GET, not
     counting the client's own parsing of it) versus, over the same
     data and model, (a) an in-process loop that reads the CSV with the service's reader and
     calls `detect()`, (b) `detect()` alone on data already in memory, and (c) the raw ONNX
     core alone;
  2. detect-last latency (p50/p99) for 300 variables at slidingWindow 300, over HTTP and
     in-process, with one window (300 timestamps) and with the largest body the API takes
     (2,880 timestamps).
The host runs with its default settings (logging included), as `make run` does.

    .venv/bin/python bench/mvad_speed.py [--timestamps 100000] [--variables 20] [--repeat 3]
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
    r = requests.post(
        f"{base}{API}/models",
        json={
            "dataSource": csv.as_uri(),
            "slidingWindow": window,
            "startTime": WIDE[0],
            "endTime": WIDE[1],
        },
        timeout=60,
    )
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
    return MultivariateSeries(
        np.concatenate([p.timestamps for p in parts]),
        parts[0].variables,
        np.concatenate([p.values for p in parts]),
    )


def _percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))]
    return f"p50 {statistics.median(ordered):7.1f} ms  p99 {p99:7.1f} ms  ({len(ordered)} calls)"


def _detect_batch(base: str, model_id: str, csv: Path, fetch: bool) -> float:
    started = time.perf_counter()
    r = requests.post(
        f"{base}{API}/models/{model_id}:detect-batch",
        json={
            "dataSource": csv.as_uri(),
            "startTime": WIDE[0],
            "endTime": WIDE[1],
            "topContributorCount": 5,
        },
        timeout=60,
    )
    location = r.headers["Operation-Location"]
    while True:
        status = requests.get(f"{location}?top=0", timeout=60).json()["summary"]["status"]
        if status in ("READY", "FAILED"):
            assert status == "READY", status
            break
        time.sleep(0.02)
    if fetch:  # the response bytes; parsing 15 MB of JSON is the client's own cost
        body = requests.get(location, timeout=600).content
        assert b'"results": [{"timestamp"' in body, "results came back"
    return time.perf_counter() - started


def _last_body(window, stamps: list[str]) -> bytes:  # type: ignore[no-untyped-def]
    return json.dumps(
        {
            "variables": [
                {"variable": name, "timestamps": stamps, "values": window.values[:, i].tolist()}
                for i, name in enumerate(window.variables)
            ],
            "topContributorCount": 10,
        }
    ).encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--timestamps", type=int, default=100_000)
    parser.add_argument("--variables", type=int, default=20)
    parser.add_argument("--window", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--last-calls", type=int, default=200)
    parser.add_argument("--long-last-calls", type=int, default=40)
    parser.add_argument(
        "--no-fetch",
        action="store_true",
        help="skip timing the GET of every result (a 150 MB body at 1M)",
    )
    args = parser.parse_args()
    from batchinfer.anomaly.columnar import arrow_blocks
    from batchinfer.models.mvad import TrainedModel, detect, detect_last
    from batchinfer.models.mvad.core import run_core
    from batchinfer.models.mvad.series import format_timestamps
    from batchinfer.models.mvad.synthetic import make_correlated_series, write_one_table_csv

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        data = root / "storage" / "data"
        data.mkdir(parents=True)
        series = make_correlated_series(20_000 + args.timestamps, args.variables, seed=1)
        write_one_table_csv(series.rows(0, 20_000), str(data / "train.csv"))
        csv = data / "d.csv"
        write_one_table_csv(series.rows(20_000, 20_000 + args.timestamps), str(csv))
        wide = make_correlated_series(20_000, 300, seed=3)
        write_one_table_csv(wide.rows(0, 10_000), str(data / "wide.csv"))
        host = HostProcess(
            REPO,
            root / "host",
            env={
                "BATCHINFER_DATA_ROOT": str(root),
                "BATCHINFER_MAX_DETECT_TIMESTAMPS": "100000000",
            },
        ).start()
        service_s, fetched_s, loop_s, detect_s, raw_s = [], [], [], [], []
        try:
            model_id = _train(host.base_url, data / "train.csv", args.window)
            wide_id = _train(host.base_url, data / "wide.csv", 300)
            model = TrainedModel.load(root / "models" / "mvad" / model_id / "v1")
            _detect_batch(host.base_url, model_id, csv, fetch=False)  # warm-up
            for _ in range(args.repeat):  # interleaved, so load changes hit every figure
                service_s.append(_detect_batch(host.base_url, model_id, csv, fetch=False))
                if not args.no_fetch:
                    fetched_s.append(_detect_batch(host.base_url, model_id, csv, fetch=True))
                t0 = time.perf_counter()
                with open(csv, "rb") as handle:  # the service's reader
                    detect_data = _concat_blocks(arrow_blocks(handle))
                detect(model, detect_data, None, None, top_k=5)
                loop_s.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                detect(model, detect_data, None, None, top_k=5)
                detect_s.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                for lo in range(0, detect_data.n_timestamps, 4096):
                    block = detect_data.values[max(0, lo - model.sliding_window + 1) : lo + 4096]
                    if len(block) >= model.sliding_window:
                        run_core(model.session(), block, model.sliding_window)
                raw_s.append(time.perf_counter() - t0)
            # detect-last over HTTP, 300 variables: one window, and the largest body
            rows = wide.rows(10_000, 20_000)
            http = {}
            for length, calls in ((300, args.last_calls), (2880, args.long_last_calls)):
                samples = []
                for call in range(calls):
                    window = rows.rows(call * 7, call * 7 + length)
                    payload = _last_body(window, format_timestamps(window.timestamps))
                    t0 = time.perf_counter()
                    reply = requests.post(
                        f"{host.base_url}{API}/models/{wide_id}:detect-last",
                        data=payload,
                        timeout=60,
                        headers={"Content-Type": "application/json"},
                    )
                    samples.append((time.perf_counter() - t0) * 1000)
                    assert reply.status_code == 200, reply.text
                http[length] = (samples, len(payload))
        finally:
            host.stop()
        points = args.timestamps * args.variables
        med = statistics.median
        service, loop, alone, raw = (med(x) for x in (service_s, loop_s, detect_s, raw_s))

        def line(label: str, seconds: float, ratio_of: float | None = None) -> str:
            text = f"  {label:<44} {seconds:7.2f} s  {points / seconds / 1e6:7.2f} M points/s"
            return text + (f"  (service ratio {ratio_of / service:.2f})" if ratio_of else "")

        print(
            f"detect-batch {args.timestamps} x {args.variables} (slidingWindow {args.window}),"
            f" median of {args.repeat}:"
        )
        print(line("through the service (submit -> READY)", service))
        if fetched_s:
            print(line("through the service + GET of all results", med(fetched_s)))
        print(line("in-process: read the CSV + detect()", loop, loop))
        print(line("in-process: detect() on data in memory", alone, alone))
        print(line("raw ONNX core only", raw, raw))
        if fetched_s:
            print(
                f"  with the results fetched: ratio to read+detect {loop / med(fetched_s):.2f},"
                f" to detect() {alone / med(fetched_s):.2f}"
            )
        wide_model = TrainedModel.load(root / "models" / "mvad" / wide_id / "v1")
        local_ms = []
        for call in range(args.last_calls):
            window = rows.rows(call * 7, call * 7 + 300)
            t0 = time.perf_counter()
            detect_last(wide_model, window, 10)
            local_ms.append((time.perf_counter() - t0) * 1000)
        print("detect-last, 300 variables, slidingWindow 300:")
        for length, (samples, size) in http.items():
            print(
                f"  over HTTP, {length:>4} timestamps ({size / 1e6:4.1f} MB JSON): "
                f"{_percentiles(samples)}"
            )
        print(f"  in-process detect_last, 300 timestamps:     {_percentiles(local_ms)}")


if __name__ == "__main__":
    main()
