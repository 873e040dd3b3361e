"""Durable semantics that must match Azure, driven in-process through the SDK's own replay.

Each test runs a small DFApp defined here on a fresh engine over an in-memory store: final
episodes still deliver their signals, changed orchestrator code is reported as nondeterminism,
events raised during continue-as-new reach the new generation, an activity raising a
BaseException fails its task without losing the slot, and a failed commit never leaves the engine
ahead of its store.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import threading
import time
import types
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import azure.durable_functions as df
import azure.functions as func
import pytest

from funchost.app_index import index_app
from funchost.durable.engine import DurableEngine
from funchost.durable.store import DurableStore, InstanceRow
from funchost.invoker import Invoker
from funchost.settings import DurableOptions

SWITCH: dict[str, str] = {}
CHILD_RUNS: list[str] = []
EPISODE_RUNNING = threading.Event()


def _build_app() -> types.ModuleType:
    app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)

    @app.orchestration_trigger(context_name="context")
    def signal_and_return(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
        mode = context.get_input()
        context.signal_entity(df.EntityId("tally", mode), "add", 5)
        if mode == "raise":
            raise ValueError("failing after the signal")
        if mode == "again":
            generation = 0
            if False:  # pragma: no cover - makes this a generator
                yield
            context.continue_as_new("last")
            return generation
        return "returned"
        yield  # pragma: no cover

    @app.orchestration_trigger(context_name="context")
    def changing(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
        mode = SWITCH.get("mode", "v1")
        if mode == "fewer":
            return "gave up early"
        name = "double" if mode == "v1" else "triple"
        first = yield context.call_activity(name, 1)
        approval = yield context.wait_for_external_event("go")
        return [first, approval]

    @app.orchestration_trigger(context_name="context")
    def generations(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
        if context.get_input() == 0:
            if not context.is_replaying:
                EPISODE_RUNNING.set()
                time.sleep(0.8)  # the final episode is still running when the event arrives
            context.continue_as_new(1)
            return None
        return (yield context.wait_for_external_event("ping"))

    @app.orchestration_trigger(context_name="context")
    def fan_out(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
        outcomes = []
        for item in context.get_input():
            try:
                outcomes.append((yield context.call_activity("blow_up", item)))
            except Exception as exc:
                outcomes.append(str(exc).split(" \n")[0])
        return outcomes

    @app.orchestration_trigger(context_name="context")
    def versioned(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
        explicit = yield context.call_sub_orchestrator("report_version", version="0.9")
        default = yield context.call_sub_orchestrator("report_version")
        return [context.version, explicit, default]

    @app.orchestration_trigger(context_name="context")
    def report_version(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
        return context.version
        yield  # pragma: no cover

    @app.orchestration_trigger(context_name="context")
    def retried_child(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
        try:
            yield context.call_sub_orchestrator_with_retry(
                "failing_child", df.RetryOptions(10, 3), None, "my-child-id"
            )
        except Exception as exc:
            return str(exc).split(":")[0]
        return "unexpected success"

    @app.orchestration_trigger(context_name="context")
    def failing_child(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
        CHILD_RUNS.append(context.instance_id)
        raise RuntimeError("child always fails")
        yield  # pragma: no cover

    @app.orchestration_trigger(context_name="context")
    def slow_then_fast(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
        try:
            yield context.call_activity("sleepy", 3)
            first = "finished"
        except Exception as exc:
            first = str(exc).split(" \n")[0]
        second = yield context.call_activity("double", 21)
        return [first, second]

    @app.orchestration_trigger(context_name="context")
    def wide(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
        count = context.get_input()
        results = yield context.task_all([context.call_activity("nap", i) for i in range(count)])
        return sum(results)

    @app.activity_trigger(input_name="value")
    def nap(value: int) -> int:
        time.sleep(0.005)  # long enough that the big fan-out is still running at the check
        return value * 2

    @app.activity_trigger(input_name="seconds")
    def sleepy(seconds: float) -> str:
        time.sleep(seconds)
        return "slept"

    @app.activity_trigger(input_name="value")
    def double(value: int) -> int:
        return value * 2

    @app.activity_trigger(input_name="value")
    def triple(value: int) -> int:
        return value * 3

    @app.activity_trigger(input_name="kind")
    def blow_up(kind: str) -> str:
        if kind == "exit":
            raise SystemExit(3)
        if kind == "interrupt":
            raise KeyboardInterrupt
        return f"ok {kind}"

    @app.entity_trigger(context_name="context")
    def tally(context: df.DurableEntityContext) -> None:
        value = context.get_state(lambda: 0)
        if context.operation_name == "add":
            value += context.get_input()
        context.set_state(value)

    module = types.ModuleType("fidelity_test_app")
    module.app = app  # type: ignore[attr-defined]
    return module


def sdk_input(value: Any) -> str:
    """The raw input as the SDK client sends it: JSON text inside a JSON string."""
    return json.dumps(json.dumps(value))


class Harness:
    """A started engine plus helpers to wait for instances and entities."""

    def __init__(self, engine: DurableEngine) -> None:
        self.engine = engine

    async def until(self, check: Callable[[], Any], timeout: float = 15) -> Any:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            value = check()
            if value:
                return value
            assert asyncio.get_running_loop().time() < deadline, "condition not reached"
            await asyncio.sleep(0.01)

    async def done(self, instance_id: str) -> InstanceRow:
        def finished() -> InstanceRow | None:
            row = self.engine.get_instance(instance_id)
            assert row is not None
            return row if row.status in ("Completed", "Failed", "Terminated") else None

        return await self.until(finished)

    async def entity(self, name: str, key: str, expected: Any) -> None:
        await self.until(
            lambda: self.engine.entities.read_state(name, key) == (True, json.dumps(expected))
        )


def run(
    test: Callable[[Harness], Awaitable[None]],
    *,
    max_activities: int = 2,
    on_fatal: Callable[[str], None] | None = None,
    patch: Callable[[DurableStore], None] | None = None,
    options: DurableOptions | None = None,
    store: DurableStore | None = None,
) -> None:
    async def main() -> None:
        db = store or DurableStore(Path(":memory:"))
        engine = DurableEngine(
            store=db,
            functions=index_app(_build_app()),
            invoker=Invoker(Path("."), ThreadPoolExecutor(2)),
            max_activities=max_activities,
            max_orchestrators=2,
            on_fatal=on_fatal,
            options=options,
        )
        await engine.start()
        if patch is not None:
            patch(db)
        try:
            await test(Harness(engine))
        finally:
            await engine.stop()
            if store is None:
                db.close()

    asyncio.run(main())


@pytest.mark.parametrize(
    "mode,status",
    [
        ("plain", "Completed"),
        ("raise", "Failed"),
        ("again", "Completed"),
    ],
)
def test_signals_of_the_final_episode_are_delivered(mode: str, status: str) -> None:
    async def scenario(t: Harness) -> None:
        instance_id = t.engine.start_orchestration("signal_and_return", None, sdk_input(mode))
        row = await t.done(instance_id)
        assert row.status == status, row.output
        await t.entity("tally", mode, 5)
        if mode == "again":  # the generation after continue-as-new signalled too
            await t.entity("tally", "last", 5)

    run(scenario)


def test_a_different_activity_at_a_scheduled_position_fails_as_nondeterministic() -> None:
    async def scenario(t: Harness) -> None:
        SWITCH["mode"] = "v1"
        instance_id = t.engine.start_orchestration("changing", None, None)
        await t.until(lambda: any(e["EventType"] == 5 for e in t.engine.history_of(instance_id)))
        SWITCH["mode"] = "v2"  # the code "changed" while the instance waits for its event
        t.engine.raise_event(instance_id, "go", '"yes"')
        row = await t.done(instance_id)
        assert row.status == "Failed"
        message = json.loads(row.output or "null")
        assert "Non-Deterministic workflow detected" in message
        assert "CallActivity 'double'" in message and "CallActivity 'triple'" in message

    run(scenario)


def test_fewer_actions_than_scheduled_fail_as_nondeterministic() -> None:
    async def scenario(t: Harness) -> None:
        SWITCH["mode"] = "v1"
        instance_id = t.engine.start_orchestration("changing", None, None)
        await t.until(lambda: any(e["EventType"] == 5 for e in t.engine.history_of(instance_id)))
        SWITCH["mode"] = "fewer"
        t.engine.raise_event(instance_id, "go", '"yes"')
        row = await t.done(instance_id)
        assert row.status == "Failed"
        message = json.loads(row.output or "null")
        assert "Non-Deterministic workflow detected" in message
        assert "CallActivity 'double'" in message and "yielded only 0 action(s)" in message

    run(scenario)


def test_unchanged_code_still_completes() -> None:
    async def scenario(t: Harness) -> None:
        SWITCH["mode"] = "v1"
        instance_id = t.engine.start_orchestration("changing", None, None)
        await t.until(lambda: any(e["EventType"] == 5 for e in t.engine.history_of(instance_id)))
        t.engine.raise_event(instance_id, "go", '"yes"')
        row = await t.done(instance_id)
        assert row.status == "Completed"
        assert json.loads(row.output or "null") == [2, "yes"]

    run(scenario)


def test_event_raised_while_continuing_as_new_reaches_the_new_generation() -> None:
    async def scenario(t: Harness) -> None:
        EPISODE_RUNNING.clear()
        instance_id = t.engine.start_orchestration("generations", None, sdk_input(0))
        await t.until(EPISODE_RUNNING.is_set)  # generation 0's (final) episode is running
        t.engine.raise_event(instance_id, "ping", '"hello"')
        row = await t.done(instance_id)
        assert row.status == "Completed"
        assert json.loads(row.output or "null") == "hello"

    run(scenario)


def test_base_exceptions_in_activities_fail_the_task_and_keep_the_slot(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def scenario(t: Harness) -> None:
        instance_id = t.engine.start_orchestration(
            "fan_out", None, sdk_input(["exit", "interrupt", "after"])
        )
        row = await t.done(instance_id)
        assert row.status == "Completed", row.output
        assert json.loads(row.output or "null") == [
            "Activity function 'blow_up' failed: SystemExit: 3",
            "Activity function 'blow_up' failed: KeyboardInterrupt: ",
            "ok after",  # ran on the only activity slot, after both blew up on it
        ]

    with caplog.at_level(logging.ERROR):
        run(scenario, max_activities=1)
    task_errors = [
        r.getMessage()
        for r in caplog.records
        if r.name == "funchost.durable.activities" and r.levelno == logging.ERROR
    ]
    assert len(task_errors) == 2 and "SystemExit" in task_errors[0]
    invocation_errors = [
        r.getMessage()
        for r in caplog.records
        if r.name == "funchost.invocations" and r.levelno == logging.ERROR
    ]
    assert len(invocation_errors) == 2
    assert "Traceback" in invocation_errors[0] and "in blow_up" in invocation_errors[0]


def _fail_writes(store: DurableStore, method: str, times: int) -> list[int]:
    """Make `store.<method>` raise 'disk full' for its next `times` calls."""
    original = getattr(store, method)
    calls = [0]

    def failing(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        if calls[0] <= times:
            raise sqlite3.OperationalError("database or disk is full")
        return original(*args, **kwargs)

    setattr(store, method, failing)
    return calls


def test_a_failed_commit_reloads_the_instance_and_retries(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario(t: Harness) -> None:
        calls = _fail_writes(t.engine.store, "append_history", 2)
        SWITCH["mode"] = "v1"
        instance_id = t.engine.start_orchestration("changing", None, None)
        await t.until(
            lambda: any(e["EventType"] == 5 for e in t.engine.history_of(instance_id)), timeout=20
        )
        assert calls[0] >= 3
        t.engine.raise_event(instance_id, "go", '"yes"')
        row = await t.done(instance_id)
        assert row.status == "Completed", row.output
        assert json.loads(row.output or "null") == [2, "yes"]
        history = t.engine.history_of(instance_id)
        # the failed attempts left nothing behind: one ExecutionStarted, one scheduled task
        assert [e["EventType"] for e in history].count(0) == 1
        assert [e["EventType"] for e in history].count(4) == 1

    with caplog.at_level(logging.ERROR, logger="funchost.durable"):
        run(scenario)
    assert any(
        "disk is full" in r.getMessage() for r in caplog.records if r.levelno == logging.ERROR
    )


def test_an_unreadable_store_stops_the_engine_loudly() -> None:
    fatal: list[str] = []

    async def scenario(t: Harness) -> None:
        t.engine.start_orchestration("changing", None, None)
        _fail_writes(t.engine.store, "append_history", 100)
        _fail_writes(t.engine.store, "get_instance", 100)
        await t.until(lambda: fatal)

    run(scenario, on_fatal=fatal.append)
    assert "durable store is unusable" in fatal[0] and "disk is full" in fatal[0]


def test_versions_from_host_json_start_and_sub_orchestrations() -> None:
    async def scenario(t: Harness) -> None:
        default_id = t.engine.start_orchestration("versioned", None, None)
        pinned_id = t.engine.start_orchestration("versioned", None, None, version="0.5")
        default_row, pinned_row = await t.done(default_id), await t.done(pinned_id)
        assert json.loads(default_row.output or "null") == ["1.0", "0.9", "1.0"]
        assert json.loads(pinned_row.output or "null") == ["0.5", "0.9", "1.0"]

    run(scenario, options=DurableOptions(default_version="1.0"))


@pytest.mark.parametrize("failure", ["Reject", "Fail"])
def test_a_newer_instance_is_left_or_failed_by_an_older_worker(failure: str) -> None:
    store = DurableStore(Path(":memory:"))
    started: list[str] = []

    async def newer_worker(t: Harness) -> None:  # a 2.0 host starts it, then stops at once
        started.append(t.engine.start_orchestration("report_version", None, None))

    async def older_worker(t: Harness) -> None:
        if failure == "Fail":
            row = await t.done(started[0])
            assert row.status == "Failed"
            assert "version '2.0' is greater than the worker version '1.0'" in (row.output or "")
        else:
            await asyncio.sleep(0.3)
            row = t.engine.get_instance(started[0])
            assert row is not None and row.status == "Pending"  # untouched, for a newer worker

    async def newer_again(t: Harness) -> None:
        row = await t.done(started[0])
        assert row.status == "Completed" and json.loads(row.output or "null") == "2.0"

    import unittest.mock

    with unittest.mock.patch.object(DurableEngine, "_enqueue", lambda self, inst: None):
        run(newer_worker, store=store, options=DurableOptions(default_version="2.0"))
    run(
        older_worker,
        store=store,
        options=DurableOptions(default_version="1.0", version_failure=failure),
    )
    if failure == "Reject":
        run(newer_again, store=store, options=DurableOptions(default_version="2.0"))
    store.close()


def test_compare_versions_follows_the_extension_rules() -> None:
    from funchost.durable.versioning import compare_versions

    assert compare_versions(None, "") == 0
    assert compare_versions(None, "1.0") == -1
    assert compare_versions("1.10", "1.9") == 1  # numeric, not textual
    assert compare_versions("v2-B", "v2-a") == 1  # case-insensitive text
    assert compare_versions("2.0", "2.0") == 0


def test_sub_orchestration_retries_keep_the_explicit_instance_id() -> None:
    async def scenario(t: Harness) -> None:
        CHILD_RUNS.clear()
        instance_id = t.engine.start_orchestration("retried_child", None, None)
        row = await t.done(instance_id)
        assert row.status == "Completed", row.output
        assert CHILD_RUNS == ["my-child-id"] * 3

    run(scenario)


def test_function_timeout_fails_the_activity_and_frees_its_slot() -> None:
    async def scenario(t: Harness) -> None:
        started = asyncio.get_running_loop().time()
        instance_id = t.engine.start_orchestration("slow_then_fast", None, None)
        row = await t.done(instance_id)
        assert row.status == "Completed", row.output
        first, second = json.loads(row.output or "null")
        assert first == (
            "Activity function 'sleepy' failed: FunctionTimeoutException: Timeout "
            "value of 00:00:00.3000000 was exceeded by function: Functions.sleepy"
        )
        assert second == 42  # ran on the only slot while 'sleepy' was still sleeping
        assert asyncio.get_running_loop().time() - started < 3

    run(scenario, max_activities=1, options=DurableOptions(function_timeout=0.3))


def test_retention_purges_only_instances_finished_long_enough_ago(tmp_path: Path) -> None:
    from datetime import timedelta

    from funchost.durable import history as h

    store = DurableStore(tmp_path / "durable.sqlite3")

    async def scenario(t: Harness) -> None:
        done = t.engine.start_orchestration("report_version", None, None)
        waiting = t.engine.start_orchestration("generations", None, sdk_input(1))
        await t.done(done)
        assert t.engine.sweep_retention() == 0  # finished just now: kept
        later = h.utcnow() + timedelta(hours=3)
        assert t.engine.sweep_retention(later) == 1
        assert t.engine.get_instance(done) is None
        assert t.engine.get_instance(waiting) is not None  # still running: never purged

    run(scenario, store=store, options=DurableOptions(retention_hours=2))
    assert store._conn.execute("PRAGMA auto_vacuum").fetchone()[0] == 2  # incremental
    store.close()


def test_replies_to_finished_instances_are_dropped_not_kept() -> None:
    async def scenario(t: Harness) -> None:
        instance_id = t.engine.start_orchestration("generations", None, sdk_input(1))
        await t.until(lambda: t.engine.get_instance(instance_id).status == "Running")
        t.engine.terminate(instance_id, "stop")
        from funchost.durable import history as h
        from funchost.durable.engine import _Commit

        # a child's completion addressed to the terminated instance arrives late
        late = _Commit(
            outbox=[(instance_id, None, h.suborchestration_completed(h.utcnow(), 0, '"late"'))]
        )
        with t.engine.store.transaction():
            t.engine._write_side_effects(late)
        assert t.engine.store.load_inbox_for(instance_id) == []

    run(scenario)


def test_state_saved_before_signatures_were_kept_is_not_flagged() -> None:
    from funchost.durable.engine import UNKNOWN_ACTION, EngineState

    legacy = EngineState.from_json({"next_id": 2, "action_count": 2})
    assert legacy.action_sigs == [UNKNOWN_ACTION, UNKNOWN_ACTION]
    current = EngineState.from_json(legacy.to_json())
    assert current.action_sigs == legacy.action_sigs


def test_a_fan_out_beyond_the_memory_window_pages_its_work_and_stays_fair() -> None:
    async def scenario(t: Harness) -> None:
        window = t.engine._runner.window
        count = window + 100
        big = t.engine.start_orchestration("wide", None, sdk_input(count))
        await t.until(lambda: t.engine.store.load_work_page(big, 0, 1))
        assert len(t.engine._runner._queue) <= window  # the rest waits in SQLite
        small = t.engine.start_orchestration("wide", None, sdk_input(1))
        small_row = await t.done(small)
        big_row = t.engine.get_instance(big)
        assert big_row is not None and big_row.status == "Running"  # served in turn
        assert json.loads(small_row.output or "null") == 0
        big_row = await t.done(big)
        assert json.loads(big_row.output or "null") == 2 * sum(range(count))

    run(scenario, max_activities=2)
