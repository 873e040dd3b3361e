"""Fan-out throughput and fairness of the embedded Durable host (prints figures; asserts nothing).

Runs the host as a subprocess on a copy of the generic sample app, with the logging users get by
default (INFO, one line per invocation) unless `--log-level` says otherwise, and measures from
HTTP submit to `Completed`:

* no-op fan-outs of each `--sizes` in one orchestration, and `--concurrent` orchestrations at
  once, for each `maxConcurrentActivityFunctions` in `--slots` (a sweep), `--repeat` times each
  (median and worst printed);
* fairness: a 1-activity orchestration started while the largest fan-out runs, and how long it
  took (head-of-line blocking shows up here);
* episodes per orchestration (replays of the big fan-out), from the host's log, and the
  host's peak RSS after each size (sizes run in order, so 1x100000 after 1x10000 shows growth);
* the host's own CPU time per activity (from /proc, so it holds on a busy machine too), and the
  load average before and after;
* with `--contention`, one CPU-bound process per core runs beside the host;
* with `--nested PER`, each `--sizes` fan-out is one orchestration that calls sub-orchestrations
  of PER no-op activities (the shape that keeps every replayed history small).

    .venv/bin/python bench/fanout.py [--sizes 1000,10000] [--concurrent 100x100]
        [--slots 8] [--repeat 1] [--contention] [--nested PER] [--log-level INFO|WARNING]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.host import HostProcess  # noqa: E402

APP = REPO / "tests" / "apps" / "durable_app"


def _start(base: str, payload: object, name: str = "noop_fan_out") -> str:
    r = requests.post(f"{base}/api/orchestrators/{name}", json=payload, timeout=30)
    r.raise_for_status()
    return str(r.json()["statusQueryGetUri"])


def _wait(urls: list[str], timeout: float = 1800) -> dict[str, float]:
    """Wait for all; returns when (perf_counter) each URL was first seen Completed."""
    pending = list(urls)
    done: dict[str, float] = {}
    deadline = time.monotonic() + timeout
    while pending:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(pending)} orchestrations still running")
        still = []
        for url in pending:
            body = requests.get(url, timeout=30).json()
            if body["runtimeStatus"] == "Failed":
                raise RuntimeError(f"orchestration failed: {body['output']}")
            if body["runtimeStatus"] == "Completed":
                done[url] = time.perf_counter()
            else:
                still.append(url)
        pending = still
        if pending:
            time.sleep(0.02)
    return done


def _episodes(host: HostProcess, url: str) -> int | None:
    """Episodes the host ran for an orchestration (from its completion log line)."""
    instance_id = url.split("/instances/")[1].split("?")[0]
    match = re.search(rf"\({instance_id}\) completed \(episodes=(\d+)\)", host.log())
    return int(match.group(1)) if match else None


def _peak_rss_mib(host: HostProcess) -> float | None:
    """The host process's peak resident memory so far (Linux VmHWM), in MiB."""
    try:
        status = Path(f"/proc/{host.proc.pid}/status").read_text()  # type: ignore[union-attr]
    except OSError:
        return None
    match = re.search(r"VmHWM:\s+(\d+) kB", status)
    return int(match.group(1)) / 1024 if match else None


def _cpu_seconds(host: HostProcess) -> float | None:
    """CPU time (user + system, all threads) the host process has used so far (Linux)."""
    try:
        stat = Path(f"/proc/{host.proc.pid}/stat").read_text()  # type: ignore[union-attr]
        fields = stat.rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_single(base: str, size: int, nested: int = 0) -> tuple[float, float | None, str]:
    """Seconds for one fan-out of `size`, the latency of a 1-activity orchestration started
    0.3 s into it (None for small fan-outs), and the fan-out's status URL.

    With `nested`, the fan-out is cut into sub-orchestrations of `nested` activities each, the
    shape that keeps every replayed history small."""
    started = time.perf_counter()
    if nested:
        big = _start(base, {"count": size, "per": nested}, "noop_nested_fan_out")
    else:
        big = _start(base, size)
    if size >= 1000:
        time.sleep(0.3)
        small_started = time.perf_counter()
        small = _start(base, 1)
        done = _wait([small, big])
        return done[big] - started, done[small] - small_started, big
    _wait([big])
    return time.perf_counter() - started, None, big


def run_concurrent(base: str, orchestrations: int, size: int) -> float:
    started = time.perf_counter()
    urls = [_start(base, size) for _ in range(orchestrations)]
    _wait(urls)
    return time.perf_counter() - started


def _burn(stop: multiprocessing.synchronize.Event) -> None:  # type: ignore[name-defined]
    x = 0
    while not stop.is_set():
        for i in range(100_000):
            x += i * i


def _app_copy(root: Path, slots: int) -> Path:
    app = root / f"app-{slots}"
    shutil.rmtree(app, ignore_errors=True)  # --repeat: a fresh copy per host
    shutil.copytree(APP, app, ignore=shutil.ignore_patterns(".data", "__pycache__"))
    host_json = json.loads((app / "host.json").read_text())
    host_json["extensions"]["durableTask"]["maxConcurrentActivityFunctions"] = slots
    (app / "host.json").write_text(json.dumps(host_json))
    return app


def measure(root: Path, slots: int, args: argparse.Namespace) -> dict[str, list[float]]:
    env = {"SAMPLE_OUTPUT_DIR": str(root)}
    if args.log_level:
        env["FUNCHOST_LOG_LEVEL"] = args.log_level
    results: dict[str, list[float]] = {}
    for run in range(args.repeat):
        host = HostProcess(_app_copy(root, slots), root / f"data-{slots}-{run}", env=env)
        host.start()
        try:
            run_single(host.base_url, 50)  # warm-up
            for size in args.size_list:
                cpu_before = _cpu_seconds(host)
                elapsed, small, url = run_single(host.base_url, size, args.nested)
                cpu_after = _cpu_seconds(host)
                if cpu_before is not None and cpu_after is not None:
                    # what the host spent, whatever else the machine runs: µs per activity
                    results.setdefault(f"host CPU/activity 1x{size} (us)", []).append(
                        (cpu_after - cpu_before) / size * 1e6
                    )
                peak = _peak_rss_mib(host)
                if peak is not None:
                    results.setdefault(f"peak RSS after 1x{size} (MiB)", []).append(peak)
                episodes = _episodes(host, url)
                if episodes is not None:
                    results.setdefault(f"episodes 1x{size} (n)", []).append(episodes)
                results.setdefault(f"1x{size}", []).append(size / elapsed)
                results.setdefault(f"time 1x{size}", []).append(elapsed)
                if small is not None:
                    results.setdefault(f"small during 1x{size} (s)", []).append(small)
            total = args.orchestrations * args.per
            elapsed = run_concurrent(host.base_url, args.orchestrations, args.per)
            results.setdefault(f"{args.orchestrations}x{args.per}", []).append(total / elapsed)
        finally:
            host.stop()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--concurrent", default="100x100")
    parser.add_argument("--slots", default="8", help="maxConcurrentActivityFunctions values")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument(
        "--contention",
        action="store_true",
        help="run one CPU-bound process per core beside the host",
    )
    parser.add_argument(
        "--nested",
        type=int,
        default=0,
        help="cut each --sizes fan-out into sub-orchestrations of this many activities",
    )
    parser.add_argument(
        "--log-level",
        default=None,
        help="FUNCHOST_LOG_LEVEL for the host (default: the host's, INFO)",
    )
    args = parser.parse_args()
    args.size_list = [int(s) for s in args.sizes.split(",") if s]
    args.orchestrations, args.per = (int(x) for x in args.concurrent.lower().split("x"))

    stop = multiprocessing.Event()
    burners = []
    if args.contention:
        burners = [
            multiprocessing.Process(target=_burn, args=(stop,), daemon=True)
            for _ in range(os.cpu_count() or 1)
        ]
        for proc in burners:
            proc.start()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; logging {args.log_level or 'INFO (default)'}; "
        f"contention {'on' if args.contention else 'off'}; repeat {args.repeat}; "
        f"fan-out {f'in sub-orchestrations of {args.nested}' if args.nested else 'flat'}; "
        f"load average at start {os.getloadavg()[0]:.1f}"
    )
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for slots in (int(s) for s in args.slots.split(",") if s):
                results = measure(Path(tmp), slots, args)
                for key, values in results.items():
                    unit = (
                        ""
                        if any(unit in key for unit in ("(s)", "(n)", "(MiB)", "(us)"))
                        or key.startswith("time")
                        else " activities/s"
                    )
                    print(
                        f"slots {slots:>3}  {key:<30} median {statistics.median(values):9.2f}"
                        f"{unit}  worst {min(values) if unit else max(values):9.2f}"
                    )
                times = {s: statistics.median(results[f"time 1x{s}"]) for s in args.size_list}
                if len(times) >= 2:
                    small, large = args.size_list[0], args.size_list[-1]
                    print(
                        f"slots {slots:>3}  ratio time({large})/time({small}): "
                        f"{times[large] / times[small]:.2f} (linear: {large / small:.0f})"
                    )
    finally:
        stop.set()
        for proc in burners:
            proc.join(timeout=5)
        print(f"load average at end {os.getloadavg()[0]:.1f} (other processes share the machine)")


if __name__ == "__main__":
    main()
