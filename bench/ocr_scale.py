"""Peak memory of the embedded host versus job size (prints, asserts nothing).

Runs one analyzeBatch job of N tiny documents on a fresh host for each N and prints the wall
time, items/s, the host's peak resident memory (VmHWM), the size and fetch time of the final
status body, and how long paging through every detail (`detailsNextLink`, then each page's
`nextLink`) took, checking each page against the counts. Documents are copies of one 32x32
blank PNG, `--per-folder` to a folder (hard links are refused by the storage policy, so each is a
file of its own); a million take ~4 GiB of disk with their results and the job's state, checked
with `df` before anything is written. While a job runs, a progress line is printed every
`--progress` seconds (percent, docs/s, current and peak RSS), so a long run that is stopped
still says how far it got; `--max-seconds` ends a run that is still going (with what it got
to), and a SIGTERM stops the host and removes the files as the end of a run does.

    .venv/bin/python bench/ocr_scale.py [--sizes 1000,10000,100000,1000000] [--root DIR]

The host runs with its default logging unless `--log-level` is given.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.host import HostProcess  # noqa: E402
from tests.support.scale import peak_rss_mib, tiny_png  # noqa: E402

BYTES_PER_DOCUMENT = 4 * 4096  # input, result, and the job's share of claims/outcomes, in blocks
TERMINAL = ("succeeded", "failed", "canceled", "completed")


def write_tiny_documents(folder: Path, count: int, per_folder: int) -> float:
    """`count` copies of one tiny PNG, `per_folder` to a sub-folder; returns the seconds taken."""
    started = time.perf_counter()
    data = tiny_png()
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    for first in range(0, count, per_folder):
        sub = folder / f"{first // per_folder:05d}"
        sub.mkdir(parents=True, exist_ok=True)
        base = os.fspath(sub)
        for index in range(first, min(count, first + per_folder)):
            fd = os.open(f"{base}/doc-{index:07d}.png", flags, 0o644)
            try:
                os.write(fd, data)
            finally:
                os.close(fd)
    return time.perf_counter() - started


def current_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def submit(base_url: str, container: Path) -> str:
    url = (
        f"{base_url}/api/documentintelligence/documentModels/prebuilt-read:analyzeBatch"
        "?api-version=2024-11-30"
    )
    body = {
        "azureBlobSource": {"containerUrl": container.as_uri(), "prefix": "in/"},
        "resultContainerUrl": container.as_uri(),
        "resultPrefix": "out/",
    }
    response = requests.post(url, json=body, timeout=120)
    response.raise_for_status()
    return str(response.headers["Operation-Location"])


def wait(
    operation: str, pid: int, count: int, progress: float, started: float, limit: float
) -> bool:
    """Poll until the job ends (True) or `limit` seconds passed (False), printing a progress
    line every `progress` seconds."""
    last = 0.0
    while True:
        job = requests.get(operation, timeout=300).json()
        now = time.perf_counter()
        if job["status"] in TERMINAL:
            return True
        if now - started > limit:
            done = count * job.get("percentCompleted", 0) / 100
            print(
                f"{count:>9,} documents: stopped after {now - started:.0f} s at "
                f"{job.get('percentCompleted', 0)}% (~{done:,.0f} documents, "
                f"~{done / (now - started):.1f} docs/s), peak RSS {peak_rss_mib(pid):.0f} MiB",
                flush=True,
            )
            return False
        if now - last >= progress:
            last = now
            done = count * job.get("percentCompleted", 0) / 100
            elapsed = now - started
            print(
                f"    {elapsed:8.0f} s  {job['status']:>10} {job.get('percentCompleted', 0):3d}%  "
                f"~{done / max(elapsed, 1e-9):6.1f} docs/s  RSS {current_rss_mib(pid):6.0f} MiB  "
                f"peak {peak_rss_mib(pid):6.0f} MiB",
                flush=True,
            )
        time.sleep(2.0)


def pages(first_link: str | None) -> Iterator[list[dict[str, Any]]]:
    link = first_link
    while link:
        body = requests.get(link, timeout=300).json()
        yield body["value"]
        link = body.get("nextLink")


def measure(
    root: Path,
    count: int,
    per_folder: int,
    log_level: str | None,
    progress: float,
    limit: float,
) -> None:
    container = root / "storage" / "scale"
    written = write_tiny_documents(container / "in", count, per_folder)
    print(f"  wrote {count:,} documents in {written:.1f} s", flush=True)
    env = {"BATCHINFER_DATA_ROOT": str(root)}
    if log_level:
        env["FUNCHOST_LOG_LEVEL"] = log_level
    host = HostProcess(REPO, root / "host", env=env)
    host.start(timeout=300)
    try:
        assert host.proc is not None
        pid = host.proc.pid
        started = time.perf_counter()
        operation = submit(host.base_url, container)
        if not wait(operation, pid, count, progress, started, limit):
            return
        elapsed = time.perf_counter() - started
        rss = peak_rss_mib(pid)
        fetched = time.perf_counter()
        response = requests.get(operation, timeout=300)
        status_seconds = time.perf_counter() - fetched
        job = response.json()
        result = job.get("result") or {}
        total = sum(result.get(k, 0) for k in ("succeededCount", "failedCount", "skippedCount"))
        print(
            f"{count:>9,} documents: {elapsed:8.1f} s  {count / elapsed:7.1f} docs/s  "
            f"peak RSS {rss:6.0f} MiB  ({job['status']}, {result.get('succeededCount')} "
            f"succeeded, {result.get('failedCount')} failed)",
            flush=True,
        )
        print(
            f"  status body {len(response.content) / 2**20:.1f} MiB with "
            f"{len(result.get('details', [])):,} details, fetched in {status_seconds:.2f} s",
            flush=True,
        )
        paged = time.perf_counter()
        by_status: dict[str, int] = {}
        for page in [result.get("details", []), *pages(result.get("detailsNextLink"))]:
            for detail in page:
                by_status[detail["status"]] = by_status.get(detail["status"], 0) + 1
        listed = sum(by_status.values())
        agrees = by_status.get("succeeded", 0) == result.get("succeededCount") and listed == total
        print(
            f"  paged through {listed:,} of {total:,} details ({'agree' if agrees else 'DISAGREE'}"
            f" with the counts) in "
            f"{time.perf_counter() - paged:.1f} s; peak RSS after paging "
            f"{peak_rss_mib(pid):6.0f} MiB",
            flush=True,
        )
    finally:
        host.stop()


def main() -> None:
    # a SIGTERM stops the run like Ctrl-C: the host is stopped and the files are removed
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--per-folder", type=int, default=1000)
    parser.add_argument(
        "--root", type=Path, default=None, help="where to write (default: a temp dir)"
    )
    parser.add_argument("--log-level", default=None, help="host log level (default: the host's)")
    parser.add_argument("--progress", type=float, default=60.0, help="seconds between lines")
    parser.add_argument(
        "--max-seconds", type=float, default=float("inf"), help="stop a job still running then"
    )
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    base = args.root or Path(tempfile.gettempdir())
    base.mkdir(parents=True, exist_ok=True)
    for count in (int(s) for s in args.sizes.split(",")):
        free = shutil.disk_usage(base).free
        needed = count * BYTES_PER_DOCUMENT
        print(f"{count:,} documents: {free / 2**30:.1f} GiB free, ~{needed / 2**30:.1f} GiB needed")
        if free < 2 * needed:
            print("  skipped: not enough free disk space", flush=True)
            continue
        root = Path(tempfile.mkdtemp(prefix=f"ocr-scale-{count}-", dir=base))
        try:
            measure(root, count, args.per_folder, args.log_level, args.progress, args.max_seconds)
        finally:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
