"""Peak memory of the embedded host on hostile-but-tiny documents (prints, asserts nothing).

Three jobs, each on a fresh host with one document per activity (8 activities in parallel, as
host.json allows): 32 tiny blank PNGs (the baseline), 32 PDFs of a few hundred bytes that each
declare a 200 x 200 inch page, and 4 blank 9,999 x 9,999 PNGs. Prints each job's wall time and
the host's peak resident memory (VmHWM); the decode budget (`BATCHINFER_DECODE_BUDGET_MB`,
default 1024) is what bounds the last two.

    .venv/bin/python bench/decode_memory.py [--budget-mb 1024]
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.host import HostProcess  # noqa: E402
from tests.support.scale import peak_rss_mib, run_batch, tiny_png  # noqa: E402
from tests.unit.test_decode_memory import huge_page_pdf  # noqa: E402


def huge_png() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (9_999, 9_999), "white").save(buffer, format="PNG")
    return buffer.getvalue()


def measure(name: str, make: Callable[[], bytes], suffix: str, count: int, budget_mb: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        folder = root / "storage" / "c" / "in"
        folder.mkdir(parents=True)
        data = make()
        for index in range(count):
            (folder / f"doc-{index:03d}{suffix}").write_bytes(data)
        host = HostProcess(
            REPO,
            root / "host",
            env={
                "BATCHINFER_DATA_ROOT": str(root),
                "BATCHINFER_ITEMS_PER_ACTIVITY": "1",
                "BATCHINFER_DECODE_BUDGET_MB": str(budget_mb),
                "FUNCHOST_LOG_LEVEL": "WARNING",
            },
        )
        host.start()
        try:
            started = time.perf_counter()
            job = run_batch(host.base_url, root / "storage" / "c", "in/", "out/")
            elapsed = time.perf_counter() - started
            assert host.proc is not None
            peak = peak_rss_mib(host.proc.pid)
        finally:
            host.stop()
        result = job.get("result") or {}
        print(
            f"{name:<44} {count:>3} x {len(data):>9,} B  {elapsed:7.1f} s  peak RSS "
            f"{peak:7.0f} MiB  ({result.get('succeededCount')} ok, "
            f"{result.get('failedCount')} failed)",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--budget-mb", type=int, default=1024)
    args = parser.parse_args()
    print(
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"decode budget {args.budget_mb} MiB"
    )
    measure("baseline: 32 x 32x32 blank PNG", tiny_png, ".png", 32, args.budget_mb)
    measure("32 PDFs declaring a 200x200 in page", huge_page_pdf, ".pdf", 32, args.budget_mb)
    measure("4 blank 9,999 x 9,999 PNGs", huge_png, ".png", 4, args.budget_mb)


if __name__ == "__main__":
    main()
