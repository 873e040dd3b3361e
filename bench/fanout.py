"""Fan-out throughput of the embedded Durable host (prints figures; asserts nothing).

Runs the host as a subprocess on the generic sample app and measures, from HTTP submit to
`Completed`, no-op fan-outs of 1,000 and 10,000 activities in one orchestration, and 100
concurrent orchestrations x 100 activities. Prints activities/s and time(10k)/time(1k).

    .venv/bin/python bench/fanout.py [--sizes 1000,10000] [--concurrent 100x100]
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

APP = REPO / "tests" / "apps" / "durable_app"


def _start(base: str, payload: int) -> str:
    r = requests.post(f"{base}/api/orchestrators/noop_fan_out", json=payload, timeout=30)
    r.raise_for_status()
    return str(r.json()["statusQueryGetUri"])


def _wait(urls: list[str], timeout: float = 1800) -> None:
    pending = list(urls)
    deadline = time.monotonic() + timeout
    while pending:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(pending)} orchestrations still running")
        still = []
        for url in pending:
            body = requests.get(url, timeout=30).json()
            if body["runtimeStatus"] == "Failed":
                raise RuntimeError(f"orchestration failed: {body['output']}")
            if body["runtimeStatus"] != "Completed":
                still.append(url)
        pending = still
        if pending:
            time.sleep(0.05)


def run_single(base: str, size: int) -> float:
    started = time.perf_counter()
    _wait([_start(base, size)])
    return time.perf_counter() - started


def run_concurrent(base: str, orchestrations: int, size: int) -> float:
    started = time.perf_counter()
    urls = [_start(base, size) for _ in range(orchestrations)]
    _wait(urls)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--concurrent", default="100x100")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    orchestrations, per = (int(x) for x in args.concurrent.lower().split("x"))

    with tempfile.TemporaryDirectory() as tmp:
        host = HostProcess(APP, Path(tmp) / "data", env={"SAMPLE_OUTPUT_DIR": tmp,
                                                       "FUNCHOST_LOG_LEVEL": "WARNING"})
        host.start()
        try:
            print(f"machine: {platform.machine()}, {os.cpu_count()} cores, "
                  f"Python {platform.python_version()}")
            run_single(host.base_url, 50)  # warm-up
            times: dict[int, float] = {}
            for size in sizes:
                elapsed = run_single(host.base_url, size)
                times[size] = elapsed
                print(f"one orchestration x {size:>6} activities: {elapsed:7.2f} s  "
                      f"{size / elapsed:8.0f} activities/s")
            elapsed = run_concurrent(host.base_url, orchestrations, per)
            total = orchestrations * per
            print(f"{orchestrations} orchestrations x {per} activities:  {elapsed:7.2f} s  "
                  f"{total / elapsed:8.0f} activities/s")
            if len(sizes) >= 2:
                small, large = sizes[0], sizes[-1]
                print(f"ratio time({large})/time({small}): {times[large] / times[small]:.2f} "
                      f"(linear would be {large / small:.0f})")
        finally:
            host.stop()


if __name__ == "__main__":
    main()
