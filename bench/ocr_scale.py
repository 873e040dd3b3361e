"""Peak memory of the embedded host versus job size (prints, asserts nothing).

Runs one analyzeBatch job of N tiny documents on a fresh host for each N (default 1,000 and
10,000) and prints the wall time, items/s and the host's peak resident memory (VmHWM), so one
can see that memory does not grow with the job size.

    .venv/bin/python bench/ocr_scale.py [--sizes 1000,10000]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.host import HostProcess  # noqa: E402
from tests.support.scale import peak_rss_mib, run_batch, write_documents  # noqa: E402


def measure(count: int) -> tuple[float, float, dict]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        container = root / "storage" / "scale"
        write_documents(container / "in", count)
        host = HostProcess(
            REPO,
            root / "host",
            env={"BATCHINFER_DATA_ROOT": str(root), "FUNCHOST_LOG_LEVEL": "WARNING"},
        )
        host.start()
        try:
            started = time.perf_counter()
            job = run_batch(host.base_url, container, "in/", "out/")
            elapsed = time.perf_counter() - started
            assert host.proc is not None
            return elapsed, peak_rss_mib(host.proc.pid), job
        finally:
            host.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1000,10000")
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    for count in (int(s) for s in args.sizes.split(",")):
        elapsed, rss, job = measure(count)
        result = job["result"]
        print(
            f"{count:>7} documents: {elapsed:7.1f} s  {count / elapsed:7.1f} docs/s  "
            f"peak RSS {rss:6.0f} MiB  ({result['succeededCount']} succeeded)"
        )


if __name__ == "__main__":
    main()
