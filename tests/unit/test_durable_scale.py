"""The engine's behaviour for large fan-outs: paced episodes, history read from the store,
compact stored state, work paged in off the loop, and recovery of all of it after a restart.

In-process against a SQLite file (so the store's second, read-only connection is used), with
the real SDK replay; nothing here asserts a timing.
"""

from __future__ import annotations

import asyncio
import json
import threading
import types
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import azure.durable_functions as df
import azure.functions as func
import pytest

from funchost.app_index import index_app
from funchost.durable import engine as engine_module
from funchost.durable import history as h
from funchost.durable import sdk_speedups
from funchost.durable.activities import initial_threads
from funchost.durable.engine import DurableEngine, EngineState, _played
from funchost.durable.store import DurableStore, InboxEvent, WorkItem
from funchost.durable.work_queue import FairWorkQueue
from funchost.invoker import Invoker

GATE = threading.Event()  # holds `gated` activities until a test opens it


def _build_app() -> types.ModuleType:
    app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)

    @app.orchestration_trigger(context_name="context")
    def fan_out(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
        count, activity = context.get_input()
        results = yield context.task_all([context.call_activity(activity, i) for i in range(count)])
        return sum(results)

    @app.orchestration_trigger(context_name="context")
    def chain(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
        total = 0
        for i in range(context.get_input()):
            total += yield context.call_activity("double", i)
        return total

    @app.activity_trigger(input_name="value")
    def double(value: int) -> int:
        return value * 2

    @app.activity_trigger(input_name="value")
    def gated(value: int) -> int:
        GATE.wait(30)
        return value * 2

    module = types.ModuleType("scale_test_app")
    module.app = app  # type: ignore[attr-defined]
    return module


def _engine(db: Path, *, slots: int = 4) -> tuple[DurableEngine, DurableStore]:
    store = DurableStore(db)
    engine = DurableEngine(
        store=store,
        functions=index_app(_build_app()),
        invoker=Invoker(Path("."), ThreadPoolExecutor(2)),
        max_activities=slots,
        max_orchestrators=2,
    )
    return engine, store


async def _wait(
    engine: DurableEngine, instance_id: str, done: Callable[[Any], bool], timeout: float = 60
) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        row = engine.get_instance(instance_id)
        if row is not None and done(row):
            return row
        assert asyncio.get_running_loop().time() < deadline, "orchestration stalled"
        await asyncio.sleep(0.01)


def _finished(row: Any) -> bool:
    return row.status in ("Completed", "Failed", "Terminated")


def _run(coro: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # a duplicate-completion warning fails
        return asyncio.run(coro)


def test_a_paced_fan_out_takes_two_episodes_and_its_history_stays_in_the_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # with a long gap, the fan-out's next episode waits until every activity has reported
    monkeypatch.setattr(engine_module, "EPISODE_GAP_FACTOR", 1000.0)

    async def scenario() -> tuple[Any, list[dict[str, Any]], int]:
        engine, store = _engine(tmp_path / "durable.db")
        await engine.start()
        try:
            instance_id = engine.start_orchestration("fan_out", None, json.dumps([600, "double"]))
            row = await _wait(engine, instance_id, _finished)
            return row, engine.history_of(instance_id), row.engine_state
        finally:
            await engine.stop()
            store.close()

    row, history, _ = _run(scenario())
    assert row.status == "Completed", row.output
    assert json.loads(row.output) == sum(2 * i for i in range(600))
    starts = [e for e in history if e["EventType"] == h.EventType.OrchestratorStarted]
    assert len(starts) == 2  # schedule everything, then one episode with all 600 results
    completed = sorted(e["TaskScheduledId"] for e in history if e["EventType"] == 5)
    assert completed == list(range(600))  # each result recorded once
    assert all(e["IsPlayed"] for e in history)


def test_pacing_never_delays_an_orchestration_that_waits_for_one_task_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine_module, "EPISODE_GAP_FACTOR", 1000.0)
    monkeypatch.setattr(engine_module, "EPISODE_GAP_MAX", 3600.0)

    async def scenario() -> Any:
        engine, store = _engine(tmp_path / "durable.db")
        await engine.start()
        try:
            instance_id = engine.start_orchestration("chain", None, "8")
            # an hour's gap would stall it if each single completion waited for its gap
            return await _wait(engine, instance_id, _finished, timeout=30)
        finally:
            await engine.stop()
            store.close()

    row = _run(scenario())
    assert row.status == "Completed", row.output
    assert json.loads(row.output) == sum(2 * i for i in range(8))


def test_a_restart_mid_fan_out_reloads_history_and_state_from_the_store(tmp_path: Path) -> None:
    db = tmp_path / "durable.db"
    GATE.clear()

    async def first_host() -> str:
        # "crashes" once the fan-out is scheduled: never stopped, its two activity threads
        # stay blocked on the gate, and nothing it held in memory reaches the second host
        engine, _ = _engine(db, slots=2)
        await engine.start()
        instance_id = engine.start_orchestration("fan_out", "big", json.dumps([300, "gated"]))
        await _wait(engine, instance_id, lambda row: row.status == "Running")
        return instance_id

    async def second_host(instance_id: str) -> tuple[Any, list[dict[str, Any]]]:
        engine, store = _engine(db)
        await engine.start()
        try:
            GATE.set()
            row = await _wait(engine, instance_id, _finished)
            return row, engine.history_of(instance_id)
        finally:
            await engine.stop()
            store.close()

    try:
        instance_id = _run(first_host())
        stored = DurableStore(db)
        try:
            state = stored.get_instance(instance_id)
            assert state is not None
            # the open tasks and action positions are stored as runs, not one entry each
            assert state.engine_state["open_runs"] == [[0, 300, "activity"]]
            assert state.engine_state["action_runs"] == [["CallActivity|gated", 300]]
            assert "open_tasks" not in state.engine_state
        finally:
            stored.close()
        row, history = _run(second_host(instance_id))
    finally:
        GATE.set()
    assert row.status == "Completed", row.output
    assert json.loads(row.output) == sum(2 * i for i in range(300))
    scheduled = [e["EventId"] for e in history if e["EventType"] == h.EventType.TaskScheduled]
    assert scheduled == list(range(300))  # nothing scheduled twice across the restart
    completed = sorted(e["TaskScheduledId"] for e in history if e["EventType"] == 5)
    assert completed == list(range(300))


def test_engine_state_runs_round_trip_and_old_stored_forms_still_load() -> None:
    state = EngineState(
        next_id=7,
        action_count=7,
        open_tasks={0: "activity", 1: "activity", 2: "timer", 4: "activity", 5: "activity"},
        action_sigs=["CallActivity|a"] * 5 + ["CreateTimer|", "CallActivity|a"],
        episodes=3,
    )
    stored = state.to_json()
    assert stored["open_runs"] == [[0, 2, "activity"], [2, 3, "timer"], [4, 6, "activity"]]
    assert stored["action_runs"] == [
        ["CallActivity|a", 5],
        ["CreateTimer|", 1],
        ["CallActivity|a", 1],
    ]
    again = EngineState.from_json(json.loads(json.dumps(stored)))
    assert again == state
    legacy = {
        "next_id": 2,
        "action_count": 2,
        "open_tasks": {"1": "activity"},
        "action_sigs": ["CallActivity|a", "CallActivity|b"],
    }
    old = EngineState.from_json(legacy)
    assert old.open_tasks == {1: "activity"}
    assert old.action_sigs == ["CallActivity|a", "CallActivity|b"]


def test_inbox_text_becomes_the_played_history_event_unchanged_otherwise() -> None:
    event = h.task_completed(h.utcnow(), 3, json.dumps('"IsPlayed":false'))
    item = InboxEvent(1, "i", "e", event)
    assert item.event == event
    assert json.loads(_played(item.text)) == {**event, "IsPlayed": True}
    assert json.loads(_played(event)) == {**event, "IsPlayed": True}
    spaced = json.dumps(event)  # not the compact form: parsed and rewritten instead
    assert json.loads(_played(spaced)) == {**event, "IsPlayed": True}


def test_history_json_is_the_stored_events_in_order(tmp_path: Path) -> None:
    store = DurableStore(tmp_path / "durable.db")
    try:
        events = [json.dumps({"EventType": 4, "EventId": i}) for i in range(5000)]
        with store.transaction():
            store.append_history("i", "e", 0, events[:10])
            store.append_history("i", "e", 10, events[10:])
            store.append_history("other", "e", 0, events[:3])
        assert json.loads(f"[{store.history_json('i')}]") == [json.loads(e) for e in events]
        assert store.history_length("i") == 5000
        assert store.history_json("nobody") == ""
    finally:
        store.close()


def test_activity_threads_page_work_in_themselves_each_item_once_in_order() -> None:
    rows = {seq: WorkItem(seq, "big", "exec", seq, "activity", "noop", None) for seq in range(3000)}
    lock = threading.Lock()
    callers: set[str] = set()

    def read_page(instance: str, start: int, limit: int) -> list[WorkItem]:
        callers.add(threading.current_thread().name)
        with lock:
            return [rows[s] for s in sorted(rows) if s >= start][:limit]

    def no_loop_page(instance: str, start: int, limit: int) -> list[WorkItem]:
        raise AssertionError("the loop's loader is not needed when threads page in")

    queue = FairWorkQueue(window=20, load_page=no_loop_page, read_page=read_page)
    queue.put_many([rows[seq] for seq in range(3000)])
    seen: list[int] = []

    def worker() -> None:
        while True:
            item = queue.get()
            if item is None:
                return
            with lock:
                seen.append(item.seq)
                del rows[item.seq]  # its completion was recorded
                if not rows:
                    queue.close()

    threads = [threading.Thread(target=worker, name=f"w{i}") for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(seen) == list(range(3000))  # each item exactly once
    assert callers and all(name.startswith("w") for name in callers)


def test_the_sdk_parses_history_timestamps_with_the_fast_parser() -> None:
    import importlib

    sdk_speedups.install()
    module = importlib.import_module("azure.durable_functions.models.history.HistoryEvent")
    assert module.dt_parse is sdk_speedups.parse_history_timestamp
    event = module.HistoryEvent(
        EventType=12, EventId=-1, IsPlayed=False, Timestamp="2026-01-02T03:04:05.123456Z"
    )
    assert event.timestamp.isoformat() == "2026-01-02T03:04:05.123456+00:00"


def test_the_activity_pool_starts_small_and_grows_while_activities_hold_its_threads(
    tmp_path: Path,
) -> None:
    """Short activities do not need every slot (threads beyond the CPUs contend for the GIL);
    activities that block do: the pool grows until all `slots` of them run at once."""
    slots = initial_threads(1_000) + 3
    GATE.clear()

    async def scenario() -> tuple[int, int, Any]:
        engine, store = _engine(tmp_path / "durable.db", slots=slots)
        await engine.start()
        try:
            started_with = engine._runner.threads
            instance_id = engine.start_orchestration("fan_out", None, json.dumps([slots, "gated"]))
            deadline = asyncio.get_running_loop().time() + 30
            while len(engine._runner._running) < slots:  # every gated activity holds a thread
                assert asyncio.get_running_loop().time() < deadline, "the pool did not grow"
                await asyncio.sleep(0.01)
            grown = engine._runner.threads
            GATE.set()
            return started_with, grown, await _wait(engine, instance_id, _finished)
        finally:
            GATE.set()
            await engine.stop()
            store.close()

    started_with, grown, row = _run(scenario())
    assert started_with == initial_threads(slots) < slots
    assert grown == slots
    assert row.status == "Completed" and json.loads(row.output) == sum(2 * i for i in range(slots))


def test_initial_threads_cover_the_cpus_twice_within_the_setting() -> None:
    assert initial_threads(64, cpus=2) == 4
    assert initial_threads(64, cpus=8) == 16
    assert initial_threads(3, cpus=8) == 3  # never more than the setting
    assert initial_threads(1, cpus=1) == 1
