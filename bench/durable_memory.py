"""Where the embedded Durable engine's memory goes in a big fan-out (prints figures; asserts
nothing).

Runs the engine in-process (no HTTP) against a SQLite file under `tracemalloc`, with one
no-op fan-out of `--size` activities, in two phases:

1. *waiting*: the orchestration is suspended once its activities are scheduled, so every
   completion waits in the inbox (the state between two paced episodes, or of episodes queued
   behind others); the Python memory the engine holds then, by file, is printed;
2. *episode*: it is resumed and its one big episode runs (replay of the whole history); the
   peak traced memory and, from a snapshot taken near that peak, the largest holders by file.

tracemalloc slows the run several times over: the timings it prints are not throughput
figures (bench/fanout.py gives those).

    .venv/bin/python bench/durable_memory.py [--size 100000] [--slots 8] [--top 8]
        [--key filename|lineno]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import sqlite3
import sys
import tempfile
import threading
import time
import tracemalloc
import types
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import azure.durable_functions as df
import azure.functions as func

from funchost.app_index import index_app
from funchost.durable.engine import DurableEngine
from funchost.durable.store import DurableStore
from funchost.invoker import Invoker

REPO = Path(__file__).resolve().parents[1]


def _app() -> types.ModuleType:
    app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)

    @app.orchestration_trigger(context_name="context")
    def fan_out(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
        results = yield context.task_all(
            [context.call_activity("noop", i) for i in range(context.get_input())]
        )
        return len(results)

    @app.activity_trigger(input_name="value")
    def noop(value: int) -> int:
        return value

    module = types.ModuleType("memory_bench_app")
    module.app = app  # type: ignore[attr-defined]
    return module


def _rss_mib() -> tuple[float, float]:
    """(current, peak) resident memory of this process in MiB (Linux)."""
    status = Path("/proc/self/status").read_text()
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    return (
        int(fields["VmRSS"].split()[0]) / 1024,
        int(fields["VmHWM"].split()[0]) / 1024,
    )


def _by_file(snapshot: tracemalloc.Snapshot, top: int, key: str = "filename") -> list[str]:
    stats = snapshot.statistics(key)
    total = sum(s.size for s in stats)
    lines = [f"    total traced {total / 2**20:8.1f} MiB"]
    for stat in stats[:top]:
        name = stat.traceback[0].filename
        for marker in ("site-packages/", "src/", "lib/python3"):
            if marker in name:
                name = name.split(marker, 1)[1]
                break
        line = f":{stat.traceback[0].lineno}" if key == "lineno" else ""
        lines.append(f"    {stat.size / 2**20:8.1f} MiB  {stat.count:>9} blocks  {name}{line}")
    return lines


class _PeakSampler(threading.Thread):
    """Takes a snapshot whenever traced memory has grown 10% past the last one taken."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.stop = threading.Event()
        self.best = 0
        self.snapshot: tracemalloc.Snapshot | None = None

    def run(self) -> None:
        while not self.stop.wait(0.2):
            current, _ = tracemalloc.get_traced_memory()
            if current > self.best * 1.1:
                self.best = current
                self.snapshot = tracemalloc.take_snapshot()


def _count(db: Path, instance_id: str) -> int:
    with sqlite3.connect(str(db)) as conn:
        return int(
            conn.execute(
                "SELECT count(*) FROM inbox WHERE instance_id = ?", (instance_id,)
            ).fetchone()[0]
        )


def _status(store: DurableStore, instance_id: str) -> str | None:
    row = store.get_instance(instance_id)
    return row.status if row is not None else None


async def _until(check: Callable[[], bool], timeout: float = 3600) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("the fan-out stalled")
        await asyncio.sleep(0.05)


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "durable.db"
        store = DurableStore(db)
        engine = DurableEngine(
            store=store,
            functions=index_app(_app()),
            invoker=Invoker(REPO, ThreadPoolExecutor(2)),
            max_activities=args.slots,
            max_orchestrators=2,
        )
        await engine.start()
        try:
            tracemalloc.start()
            started = time.perf_counter()
            instance_id = engine.start_orchestration("fan_out", "big", json.dumps(args.size))
            await _until(lambda: _status(store, instance_id) == "Running")
            engine.suspend(instance_id, "let every completion wait in the inbox")
            await _until(lambda: _count(db, instance_id) >= args.size)
            await asyncio.sleep(0.5)  # the last batch handed over to the loop
            waiting = tracemalloc.take_snapshot()
            current, peak = tracemalloc.get_traced_memory()
            rss, hwm = _rss_mib()
            print(
                f"waiting: {args.size} completions in the inbox after "
                f"{time.perf_counter() - started:.0f}s (traced); traced now {current / 2**20:.1f}"
                f" MiB (peak so far {peak / 2**20:.1f}); RSS {rss:.0f} MiB (peak {hwm:.0f})"
            )
            print("\n".join(_by_file(waiting, args.top, args.key)))
            del waiting
            unreachable = gc.collect()
            print(
                f"  gc.collect() found {unreachable} unreachable objects; traced now "
                f"{tracemalloc.get_traced_memory()[0] / 2**20:.1f} MiB"
            )
            tracemalloc.reset_peak()
            sampler = _PeakSampler()
            sampler.start()
            episode = time.perf_counter()
            engine.resume(instance_id, "go on")
            await _until(lambda: _status(store, instance_id) == "Completed")
            sampler.stop.set()
            sampler.join()
            _, peak = tracemalloc.get_traced_memory()
            rss, hwm = _rss_mib()
            print(
                f"episode: completed in {time.perf_counter() - episode:.1f}s (traced); traced "
                f"peak {peak / 2**20:.1f} MiB; RSS now {rss:.0f} MiB, peak {hwm:.0f} MiB"
            )
            if sampler.snapshot is not None:
                print(f"  near the peak ({sampler.best / 2**20:.1f} MiB traced):")
                print("\n".join(_by_file(sampler.snapshot, args.top, args.key)))
        finally:
            tracemalloc.stop()
            await engine.stop()
            store.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--slots", type=int, default=8)
    parser.add_argument("--top", type=int, default=8)
    parser.add_argument("--key", choices=("filename", "lineno"), default="filename")
    print(f"Python {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version}")
    asyncio.run(main(parser.parse_args()))
