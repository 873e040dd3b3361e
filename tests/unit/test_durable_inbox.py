"""Pending inbox events live in the store only: the engine holds their seqs, not their text.

`PendingInbox` on its own, then the engine with a suspended fan-out whose completions wait in
the inbox: what memory holds, and that a restarted host reads the same events back from the
store and records the same history. In-process against a SQLite file; nothing is timed.
"""

from __future__ import annotations

import asyncio
import gc
import json
import threading
import types
import warnings
from array import array
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from funchost.app_index import index_app
from funchost.durable import history as h
from funchost.durable.engine import DurableEngine
from funchost.durable.inbox import PendingInbox
from funchost.durable.store import DurableStore
from funchost.invoker import Invoker

GATE = threading.Event()  # holds `held` activities until a test opens it
FAN_OUT = 40


def _build_app() -> types.ModuleType:
    app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)

    @app.orchestration_trigger(context_name="context")
    def fan_out(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
        results = yield context.task_all(
            [context.call_activity("held", i) for i in range(context.get_input())]
        )
        return sum(results)

    @app.activity_trigger(input_name="value")
    def held(value: int) -> int:
        GATE.wait(30)
        return value * 3

    module = types.ModuleType("inbox_test_app")
    module.app = app  # type: ignore[attr-defined]
    return module


def _engine(db: Path) -> tuple[DurableEngine, DurableStore]:
    store = DurableStore(db)
    engine = DurableEngine(
        store=store,
        functions=index_app(_build_app()),
        invoker=Invoker(Path("."), ThreadPoolExecutor(2)),
        max_activities=4,
        max_orchestrators=2,
    )
    return engine, store


async def _until(check: Callable[[], bool], timeout: float = 60) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "condition never held"
        await asyncio.sleep(0.01)


def _status(store: DurableStore, instance_id: str) -> str | None:
    row = store.get_instance(instance_id)
    return row.status if row is not None else None


def _run(coro: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # a duplicate-completion warning fails
        return asyncio.run(coro)


def _holds_no_text(inbox: PendingInbox) -> bool:
    """Whether nothing an inbox references is event JSON: only arrays and execution ids."""
    for part in gc.get_referents(inbox):
        if isinstance(part, (array, type)):
            continue  # seqs and execution codes, and the object's own class
        assert isinstance(part, list), type(part)
        if any(isinstance(x, str) and x.startswith("{") for x in part):
            return False
    return True


# ----------------------------------------------------------------------------- PendingInbox
def test_pending_inbox_keeps_seq_order_and_its_executions() -> None:
    inbox = PendingInbox([(5, "e1"), (7, None), (9, "e1")])
    inbox.add(6, "e0")  # delivered out of order: placed where the store has it
    inbox.add(9, "e1")  # the same event twice: held once
    inbox.add(12, "e1")
    assert list(inbox) == [(5, "e1"), (6, "e0"), (7, None), (9, "e1"), (12, "e1")]
    assert len(inbox) == 5 and inbox
    assert inbox.span() == (5, 12)
    assert inbox.unbound(excluding=set()) == [7]
    assert inbox.unbound(excluding={7}) == []
    inbox.discard([5, 6, 100])
    assert list(inbox) == [(7, None), (9, "e1"), (12, "e1")]
    assert inbox.seqs() == [7, 9, 12]
    inbox.discard(inbox.seqs())
    assert not inbox and len(inbox) == 0 and list(inbox) == []


def test_pending_inbox_stores_one_copy_of_each_execution_id_however_many_events() -> None:
    inbox = PendingInbox()
    for seq in range(10_000):
        # a fresh string object per event, as rows read from the store are
        inbox.add(seq, "".join(["exec", "-", "a"]) if seq % 2 else "".join(["exec", "-", "b"]))
    executions = [p for p in gc.get_referents(inbox) if isinstance(p, list)]
    assert executions == [[None, "exec-b", "exec-a"]]
    assert list(inbox)[:3] == [(0, "exec-b"), (1, "exec-a"), (2, "exec-b")]
    inbox.discard(range(0, 10_000, 2))  # every exec-b event consumed: its id is dropped too
    assert [p for p in gc.get_referents(inbox) if isinstance(p, list)] == [[None, "exec-a"]]
    assert inbox.seqs() == list(range(1, 10_000, 2))


# ---------------------------------------------------------------------------------- engine
def test_waiting_completions_stay_in_the_store_and_a_restart_replays_the_same_events(
    tmp_path: Path,
) -> None:
    db = tmp_path / "durable.db"
    GATE.clear()

    async def first_host() -> tuple[str, list[tuple[int, str]]]:
        # the fan-out is suspended while its activities are held, so every completion waits
        # in the inbox; then the host "crashes" (never stopped, nothing handed over)
        engine, store = _engine(db)
        await engine.start()
        instance_id = engine.start_orchestration("fan_out", "big", json.dumps(FAN_OUT))
        await _until(lambda: _status(store, instance_id) == "Running")
        engine.suspend(instance_id, "hold the completions")
        GATE.set()
        await _until(lambda: len(store.inbox_index_for(instance_id)) == FAN_OUT)
        inbox = engine._active[instance_id].inbox
        stored = store.inbox_index_for(instance_id)
        assert list(inbox) == stored  # the same events, in the store's order
        row = store.get_instance(instance_id)
        assert row is not None
        assert {execution for _, execution in inbox} == {row.execution_id}
        assert _holds_no_text(inbox)
        texts = [(e.seq, e.text) for e in store.load_inbox_for(instance_id)]
        return instance_id, texts

    async def second_host(instance_id: str) -> tuple[Any, list[dict[str, Any]], list[int]]:
        engine, store = _engine(db)
        await engine.start()
        try:
            recovered = engine._active[instance_id].inbox
            seqs = recovered.seqs()
            assert _holds_no_text(recovered)
            engine.resume(instance_id, "go on")
            await _until(lambda: _status(store, instance_id) == "Completed")
            assert store.inbox_index_for(instance_id) == []  # consumed with the episode
            return engine.get_instance(instance_id), engine.history_of(instance_id), seqs
        finally:
            await engine.stop()
            store.close()

    try:
        instance_id, waiting = _run(first_host())
        row, history, recovered_seqs = _run(second_host(instance_id))
    finally:
        GATE.set()
    assert recovered_seqs == [seq for seq, _ in waiting]
    assert row.status == "Completed", row.output
    assert json.loads(row.output) == sum(3 * i for i in range(FAN_OUT))
    completions = [e for e in history if e["EventType"] == h.EventType.TaskCompleted]
    # the history holds exactly the stored events, in seq order, now marked as played
    assert completions == [{**json.loads(text), "IsPlayed": True} for _, text in waiting]
    assert sorted(e["TaskScheduledId"] for e in completions) == list(range(FAN_OUT))


def test_an_event_held_in_memory_but_gone_from_the_store_is_consumed_not_delivered(
    tmp_path: Path,
) -> None:
    # the store is the truth: an inbox event deleted behind the engine's back never reaches
    # the orchestration, and the rest of the episode's events still do
    db = tmp_path / "durable.db"
    GATE.clear()

    async def scenario() -> tuple[Any, list[dict[str, Any]], int]:
        engine, store = _engine(db)
        await engine.start()
        try:
            instance_id = engine.start_orchestration("fan_out", "lossy", json.dumps(3))
            await _until(lambda: _status(store, instance_id) == "Running")
            engine.suspend(instance_id, "hold")
            GATE.set()
            await _until(lambda: len(store.inbox_index_for(instance_id)) == 3)
            lost = store.inbox_index_for(instance_id)[1][0]
            with store.transaction():
                store.delete_inbox_events([lost])
            engine.resume(instance_id, "go on")
            await _until(lambda: not engine._active[instance_id].inbox)
            return engine.get_instance(instance_id), engine.history_of(instance_id), lost
        finally:
            await engine.stop()
            store.close()

    try:
        row, history, _ = _run(scenario())
    finally:
        GATE.set()
    assert row.status == "Running"  # still waiting for the lost completion
    completions = [e for e in history if e["EventType"] == h.EventType.TaskCompleted]
    assert len(completions) == 2
