"""detect-batch far past the reference's 20,000-timestamp cap: time and peak memory vs range.

Trains a model on 20,000 timestamps × V variables, then runs detect-batch through the service
(embedded host, data in a local folder) over ranges of increasing length, each on a fresh host,
and prints wall time, points/s and the host's peak resident memory. The preparation streams the
CSV and the chunks are scored in parallel activities, so memory should not grow with the range.
Prints, asserts nothing.

    .venv/bin/python bench/mvad_scale.py [--sizes 100000,1000000] [--variables 20]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.host import HostProcess  # noqa: E402
from tests.support.scale import peak_rss_mib  # noqa: E402

API = "/api/anomalydetector/v1.1/multivariate"


def _host(root: Path) -> HostProcess:
    return HostProcess(
        REPO,
        root / "host",
        env={  # default logging, as users run it
            "BATCHINFER_DATA_ROOT": str(root),
            "BATCHINFER_MAX_DETECT_TIMESTAMPS": "100000000",
        },
    ).start()


def _wait_model(base: str, model_id: str) -> None:
    while True:
        status = requests.get(f"{base}{API}/models/{model_id}", timeout=60).json()
        if status["modelInfo"]["status"] in ("READY", "FAILED"):
            assert status["modelInfo"]["status"] == "READY", status
            return
        time.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--variables", type=int, default=20)
    parser.add_argument("--window", type=int, default=300)
    args = parser.parse_args()
    from batchinfer.models.mvad.synthetic import make_correlated_series, write_one_table_csv

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; {args.variables} variables, "
        f"slidingWindow {args.window}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        data = root / "storage" / "data"
        data.mkdir(parents=True)
        sizes = [int(s) for s in args.sizes.split(",")]
        # one system: train on its first 20,000 timestamps, detect over the ones after them
        series = make_correlated_series(20_000 + max(sizes), args.variables, seed=1)
        write_one_table_csv(series.rows(0, 20_000), str(data / "train.csv"))
        host = _host(root)
        try:
            r = requests.post(
                f"{host.base_url}{API}/models",
                json={
                    "dataSource": (data / "train.csv").as_uri(),
                    "slidingWindow": args.window,
                    "startTime": "2000-01-01T00:00:00Z",
                    "endTime": "2100-01-01T00:00:00Z",
                },
                timeout=60,
            )
            model_id = r.json()["modelId"]
            _wait_model(host.base_url, model_id)
        finally:
            host.stop()
        for size in sizes:
            path = data / f"detect-{size}.csv"
            write_one_table_csv(series.rows(20_000, 20_000 + size), str(path))
            host = _host(root)
            try:
                started = time.perf_counter()
                r = requests.post(
                    f"{host.base_url}{API}/models/{model_id}:detect-batch",
                    json={
                        "dataSource": path.as_uri(),
                        "startTime": "2000-01-01T00:00:00Z",
                        "endTime": "2100-01-01T00:00:00Z",
                        "topContributorCount": 5,
                    },
                    timeout=60,
                )
                location = r.headers["Operation-Location"]
                while True:
                    body = requests.get(f"{location}?top=0", timeout=60).json()
                    if body["summary"]["status"] in ("READY", "FAILED"):
                        break
                    time.sleep(0.5)
                elapsed = time.perf_counter() - started
                assert host.proc is not None
                rss = peak_rss_mib(host.proc.pid)
            finally:
                host.stop()
            points = size * args.variables
            print(
                f"{size:>9} timestamps: {body['summary']['status']:6} {elapsed:7.1f} s  "
                f"{points / elapsed / 1e6:6.2f} M points/s  peak RSS {rss:6.0f} MiB"
            )
            path.unlink()


if __name__ == "__main__":
    main()
