"""Fairness between orchestration trees: a job's sub-orchestrations share one turn.

A job that fans out into many sub-orchestrations used to get one turn per sub-orchestration in
both queues (episodes and activities), so a small orchestration started after it waited for
all of them: ~12 s behind 100 sub-orchestrations of 1,000 activities (bench/fanout.py
--nested). The queues now take turns between trees (an orchestration and its descendants).
"""

from __future__ import annotations

import asyncio
import types
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import azure.durable_functions as df
import azure.functions as func

from funchost.app_index import index_app
from funchost.durable.engine import DurableEngine
from funchost.durable.ready_queue import ReadyQueue
from funchost.durable.store import DurableStore, WorkItem
from funchost.durable.work_queue import FairWorkQueue
from funchost.invoker import Invoker


def _item(seq: int, instance: str) -> WorkItem:
    return WorkItem(seq, instance, "exec", seq, "activity", "noop", None)


def test_ready_queue_takes_groups_in_turn_and_each_group_in_order() -> None:
    async def scenario() -> list[str]:
        queue = ReadyQueue()
        for child in ("c1", "c2", "c3"):
            queue.put_nowait("job", child)
        queue.put_nowait("small", "s1")
        queue.put_nowait("job", "c4")
        assert queue.qsize() == 5
        return [await queue.get() for _ in range(5)]

    assert asyncio.run(scenario()) == ["c1", "s1", "c2", "c3", "c4"]


def test_ready_queue_get_waits_for_a_put() -> None:
    async def scenario() -> str:
        queue = ReadyQueue()
        waiter = asyncio.create_task(queue.get())
        await asyncio.sleep(0)
        assert not waiter.done()
        queue.put_nowait("g", "late")
        return await asyncio.wait_for(waiter, 1)

    assert asyncio.run(scenario()) == "late"


def test_activity_queue_serves_a_small_tree_between_a_big_trees_sub_orchestrations() -> None:
    groups = {"child-1": "job", "child-2": "job", "child-3": "job", "small": "small"}
    asked: list[str] = []

    def group_of(instance: str) -> str:
        asked.append(instance)
        return groups[instance]

    q = FairWorkQueue(window=1000, load_page=None, group_of=group_of)
    seq = 0
    for child in ("child-1", "child-2", "child-3"):
        for _ in range(3):
            q.put(_item(seq, child))
            seq += 1
    q.put(_item(seq, "small"))
    taken = [q.get() for _ in range(10)]
    order = [i.instance_id for i in taken if i is not None]
    # the job's children share a turn with the small tree, and take turns among themselves
    assert order[:4] == ["child-1", "small", "child-2", "child-3"]
    assert order[4:] == ["child-1", "child-2", "child-3"] * 2
    assert sorted(asked) == sorted(groups)  # asked once per line opened, not per item


def test_activity_queue_forget_removes_an_instance_from_its_group() -> None:
    q = FairWorkQueue(window=10, load_page=None, group_of=lambda i: "job")
    q.put(_item(1, "a"))
    q.put(_item(2, "b"))
    q.forget("a")
    assert q.get().instance_id == "b"  # type: ignore[union-attr]
    assert not q.has_waiting()
    q.forget("b")  # nothing queued: a no-op
    q.put(_item(3, "a"))
    assert q.get().instance_id == "a"  # type: ignore[union-attr]


def _tree_app() -> types.ModuleType:
    app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)

    @app.orchestration_trigger(context_name="context")
    def tree_root(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
        results = yield context.task_all(
            [context.call_sub_orchestrator("tree_mid", i) for i in range(2)]
        )
        return sum(results)

    @app.orchestration_trigger(context_name="context")
    def tree_mid(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
        return (yield context.call_sub_orchestrator("tree_leaf", context.get_input()))

    @app.orchestration_trigger(context_name="context")
    def tree_leaf(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
        value = yield context.wait_for_external_event("go")
        return int(value) + context.get_input()

    module = types.ModuleType("tree_test_app")
    module.app = app  # type: ignore[attr-defined]
    return module


def _engine(store: DurableStore) -> DurableEngine:
    return DurableEngine(
        store=store,
        functions=index_app(_tree_app()),
        invoker=Invoker(Path("."), ThreadPoolExecutor(2)),
        max_activities=2,
        max_orchestrators=2,
    )


async def _until(predicate, timeout: float = 20) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


def test_sub_orchestrations_at_any_depth_share_their_roots_turn_across_a_restart(
    tmp_path: Path,
) -> None:
    db = tmp_path / "durable.db"

    def running_leaves(engine: DurableEngine) -> list[str]:
        return [
            iid
            for iid in engine._active
            if (row := engine.get_instance(iid)) is not None
            and row.name == "tree_leaf"
            and row.status == "Running"
        ]

    async def first_host() -> tuple[str, str, list[str]]:
        store = DurableStore(db)
        engine = _engine(store)
        await engine.start()
        try:
            root = engine.start_orchestration("tree_root", None, None)
            alone = engine.start_orchestration("tree_leaf", None, "5")
            await _until(lambda: len(running_leaves(engine)) == 3)
            trees = {iid: engine._tree_of_id(iid) for iid in engine._active}
            assert trees[alone] == alone  # a top-level orchestration is its own tree
            assert {trees[iid] for iid in trees if iid != alone} == {
                root
            }  # children, grandchildren
            return root, alone, sorted(trees)
        finally:
            await engine.stop()
            store.close()

    async def second_host(root: str, alone: str, before: list[str]) -> None:
        store = DurableStore(db)  # recovery rebuilds the trees from the stored parents
        engine = _engine(store)
        await engine.start()
        try:
            assert sorted(engine._active) == before
            assert {engine._tree_of_id(iid) for iid in engine._active if iid != alone} == {root}
            for leaf in running_leaves(engine):
                engine.raise_event(leaf, "go", "10")
            await _until(
                lambda: all(
                    (row := engine.get_instance(i)) is not None and row.status == "Completed"
                    for i in (root, alone)
                )
            )
            root_row, alone_row = engine.get_instance(root), engine.get_instance(alone)
            assert root_row is not None and root_row.output == "21"  # (10 + 0) + (10 + 1)
            assert alone_row is not None and alone_row.output == "15"
        finally:
            await engine.stop()
            store.close()

    root, alone, before = asyncio.run(first_host())
    asyncio.run(second_host(root, alone, before))
