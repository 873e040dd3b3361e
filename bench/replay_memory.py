"""Memory the azure-functions-durable SDK needs to replay one fan-out (prints; asserts nothing).

The embedded host hands each episode's whole history to the SDK's own `handle()`, as the
Functions host does. For one orchestration × N activities the last episode's history holds
2N + 5 events, and the SDK parses all of it into dicts, then `HistoryEvent` objects, and
builds N tasks and actions before it returns. This script measures that part alone, outside
the host: the history the host would send (same event shapes), the context JSON's size, the
peak memory Python allocates inside `handle()` (tracemalloc), and its wall time, so the host's
peak RSS in `bench/fanout.py` can be read against what the SDK needs anyway.

    .venv/bin/python bench/replay_memory.py [--sizes 10000,100000]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import tracemalloc
from datetime import timedelta
from pathlib import Path

import azure.durable_functions as df

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from funchost.durable import history as h  # noqa: E402
from funchost.durable import sdk_speedups  # noqa: E402


def _fan_out(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    count = context.get_input()
    results = yield context.task_all([context.call_activity("noop", i) for i in range(count)])
    return len(results)


def _context_json(size: int) -> str:
    """The last episode's context for a 1 × size fan-out, as the host builds it."""
    now = h.utcnow()
    later = now + timedelta(seconds=1)
    played = [
        h.event(h.EventType.OrchestratorStarted, now),
        h.execution_started(
            now,
            name="fan_out",
            context_input=json.dumps(size),
            instance_id="bench",
            execution_id="exec",
            parent=None,
        ),
        *(
            h.event(h.EventType.TaskScheduled, now, i, Name="noop", Input=str(i))
            for i in range(size)
        ),
        h.event(h.EventType.OrchestratorCompleted, now),
    ]
    for event in played:
        event["IsPlayed"] = True
    fresh = [
        h.event(h.EventType.OrchestratorStarted, later),
        *(h.task_completed(later, i, str(i)) for i in range(size)),
    ]
    return json.dumps(
        {
            "history": played + fresh,
            "instanceId": "bench",
            "isReplaying": False,
            "parentInstanceId": None,
            "input": json.dumps(size),
            "upperSchemaVersion": 1,
            "upperSchemaVersionNew": 2,
        },
        separators=(",", ":"),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10000,100000")
    args = parser.parse_args()
    sdk_speedups.install()
    handle = df.Orchestrator.create(_fan_out)
    for size in (int(s) for s in args.sizes.split(",") if s):
        context = _context_json(size)
        started = time.perf_counter()
        state = json.loads(handle(context))
        seconds = time.perf_counter() - started
        assert state["isDone"] and state["output"] == size, state.get("error")
        tracemalloc.start()
        tracemalloc.reset_peak()
        handle(context)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(
            f"1 x {size}: {2 * size + 4} events, context JSON {len(context) / 2**20:.1f} MiB, "
            f"SDK replay peak {peak / 2**20:.0f} MiB allocated (tracemalloc), "
            f"{seconds:.2f} s per replay"
        )


if __name__ == "__main__":
    main()
