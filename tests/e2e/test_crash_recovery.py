"""SIGKILL the host in the middle of a fan-out; the restarted host must finish it correctly.

At-least-once activities (a killed activity runs again) but exactly-once completions: the
orchestration's history holds one TaskCompleted per task, and its result counts each item once.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.e2e.conftest import SAMPLE_APP
from tests.support.host import HostProcess, SdkClient

COUNT = 300


def _ledger(out: Path) -> list[int]:
    path = out / "ledger.txt"
    if not path.exists():
        return []
    return [int(line) for line in path.read_text().splitlines() if line.strip()]


def _wait_ledger(out: Path, at_least: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while len(_ledger(out)) < at_least:
        assert time.monotonic() < deadline, f"ledger stuck at {len(_ledger(out))}"
        time.sleep(0.02)


@contextmanager
def _ledger_host(tmp_path: Path) -> Iterator[tuple[HostProcess, SdkClient, Path]]:
    """The sample app on a fresh data folder, with the SDK client and the ledger folder."""
    out = tmp_path / "out"
    host = HostProcess(SAMPLE_APP, tmp_path / "data", env={"SAMPLE_OUTPUT_DIR": str(out)})
    host.start()
    sdk = host.sdk()
    try:
        yield host, sdk, out
    finally:
        sdk.close()
        host.stop()


def test_sigkill_during_fan_out_resumes_and_applies_each_completion_once(tmp_path: Path) -> None:
    with _ledger_host(tmp_path) as (host, sdk, out):
        instance_id = sdk.run(
            lambda c: c.start_new("ledger_fan_out", None, {"count": COUNT, "delay": 0.03})
        )
        for threshold in (40, 120, 200):  # three crashes at different points of the fan-out
            _wait_ledger(out, threshold)
            host.kill()
            assert len(_ledger(out)) < COUNT, "the fan-out finished before the crash"
            host.start()
        status = sdk.wait_done(instance_id, timeout=120)
        assert status.runtime_status.value == "Completed", host.log()
        assert status.output == {"count": COUNT, "sum": sum(range(COUNT))}

        history = sdk.run(lambda c: c.get_status(instance_id, show_history=True)).historyEvents
        # condensed as the extension renders it: each completion carries its scheduling, so a
        # task scheduled twice or completed twice would show up as an extra event here
        pending = [e for e in history if e["EventType"] == "TaskScheduled"]
        completed = [e for e in history if e["EventType"] == "TaskCompleted"]
        assert pending == []
        assert len(completed) == COUNT
        assert all(e["FunctionName"] and e["ScheduledTime"] for e in completed)

        runs = Counter(_ledger(out))
        assert set(runs) == set(range(COUNT))  # every item ran
        reruns = sum(n - 1 for n in runs.values())
        assert reruns <= 3 * 8  # only activities in flight at a crash may run twice
        assert "Potential duplicate Task completion" not in host.log()


def test_sigterm_during_activities_exits_cleanly_and_resumes(tmp_path: Path) -> None:
    with _ledger_host(tmp_path) as (host, sdk, out):
        instance_id = sdk.run(
            lambda c: c.start_new("ledger_fan_out", None, {"count": 60, "delay": 0.2})
        )
        _wait_ledger(out, 10)
        assert host.stop() == 0, host.log()  # running activities finish, queued ones wait
        assert len(_ledger(out)) < 60
        host.start()
        status = sdk.wait_done(instance_id, timeout=120)
        assert status.output == {"count": 60, "sum": sum(range(60))}
