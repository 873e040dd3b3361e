"""The activity work queue: round-robin between orchestrations, bounded memory, paging."""

from __future__ import annotations

import asyncio

from funchost.durable.store import WorkItem
from funchost.durable.work_queue import FairWorkQueue


def _item(seq: int, instance: str) -> WorkItem:
    return WorkItem(seq, instance, "exec", seq, "activity", "noop", None)


def test_a_small_orchestration_is_served_between_a_big_ones_items() -> None:
    q = FairWorkQueue(window=1000, load_page=None)
    for seq in range(100):
        q.put(_item(seq, "big"))
    q.put(_item(100, "small"))
    taken = [q.get() for _ in range(3)]
    assert [i.instance_id for i in taken if i] == ["big", "small", "big"]


def test_memory_holds_a_window_per_instance_and_pages_the_rest_in_order() -> None:
    store = {seq: _item(seq, "big") for seq in range(1000)}
    loads: list[tuple[int, int]] = []

    def load_page(instance: str, start: int, limit: int) -> list[WorkItem]:
        loads.append((start, limit))
        return [store[s] for s in sorted(store) if s >= start][:limit]

    async def scenario() -> list[int]:
        q = FairWorkQueue(window=10, load_page=load_page)
        q.bind(asyncio.get_running_loop())
        for seq in range(1000):  # the engine submits everything it committed
            q.put(store[seq])
        assert len(q) == 10  # the rest stayed in the store
        seen = []
        while len(seen) < 1000:
            item = q.get() if len(q) else None
            if item is None:
                await asyncio.sleep(0)  # let the requested refill run on the loop
                continue
            seen.append(item.seq)
            del store[item.seq]  # its completion was recorded
            assert len(q) <= 10
        return seen

    seen = asyncio.run(scenario())
    assert seen == list(range(1000))  # each item once, in order
    assert loads and all(limit <= 10 for _, limit in loads)


def test_forget_drops_an_instances_line_and_close_releases_waiters() -> None:
    q = FairWorkQueue(window=10, load_page=None)
    q.put(_item(1, "gone"))
    q.put(_item(2, "kept"))
    q.forget("gone")
    assert q.get().instance_id == "kept"  # type: ignore[union-attr]
    q.close()
    assert q.get() is None
