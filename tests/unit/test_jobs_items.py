"""Paging a job's items in plan order: 10,000+ items, failures filter, pending and canceled."""

from __future__ import annotations

from pathlib import Path

import pytest

from batchinfer.jobs.items import failed_names, item_at, item_page
from batchinfer.jobs.model import ItemError, ItemOutcome
from batchinfer.jobs.planning import make_plan, write_shards
from batchinfer.jobs.store import JobStore
from batchinfer.storage.local import LocalFolderStore

TOTAL = 10_050
JOB = "job-1"


@pytest.fixture()
def store(tmp_path: Path) -> JobStore:
    return JobStore(LocalFolderStore(tmp_path / "jobs"))


def _run(store: JobStore, total: int, *, skip_chunks: set[tuple[int, int]] = frozenset()):  # type: ignore[assignment]
    """Plan `total` items and record outcomes: every 7th item fails, chunks in skip_chunks
    never ran."""
    plan = make_plan(total, 8, 50)
    write_shards(
        (f"docs/{i:05d}.png" for i in range(total)),
        plan.shard_size,
        lambda shard, names: store.save_shard_items(JOB, shard, names),
    )
    store.save_plan(JOB, plan)
    for shard in range(plan.shards):
        names = store.load_shard_items(JOB, shard)
        for chunk in range(plan.chunks_in_shard(shard)):
            if (shard, chunk) in skip_chunks:
                continue
            part = names[chunk * 8 : (chunk + 1) * 8]
            store.save_outcomes(
                JOB,
                shard,
                chunk,
                [
                    ItemOutcome(n, "failed", error=ItemError("InvalidContent", "bad"))
                    if int(n[5:10]) % 7 == 0
                    else ItemOutcome(n, "succeeded", result=n + ".ocr.json")
                    for n in part
                ],
            )
    return plan


def test_pages_cover_every_item_once_in_order(store: JobStore) -> None:
    plan = _run(store, TOTAL)
    seen: list[int] = []
    for skip in range(0, TOTAL, 500):
        page = item_page(
            store, JOB, plan, skip=skip, top=500, status=None, finished=True, canceled=False
        )
        assert page.total == TOTAL
        seen.extend(r.index for r in page.rows)
    assert seen == list(range(TOTAL))
    last = item_page(
        store, JOB, plan, skip=10_000, top=100, status=None, finished=True, canceled=False
    )
    assert [r.name for r in last.rows] == [f"docs/{i:05d}.png" for i in range(10_000, TOTAL)]


def test_failures_filter_counts_and_pages(store: JobStore) -> None:
    plan = _run(store, TOTAL)
    expected = [i for i in range(TOTAL) if i % 7 == 0]
    page = item_page(
        store, JOB, plan, skip=100, top=50, status="failed", finished=True, canceled=False
    )
    assert page.total == len(expected)
    assert [r.index for r in page.rows] == expected[100:150]
    assert all(r.error and r.error["code"] == "InvalidContent" for r in page.rows)
    assert failed_names(store, JOB, plan, canceled=False) == [f"docs/{i:05d}.png" for i in expected]


def test_missing_chunks_are_pending_then_not_processed_or_omitted(store: JobStore) -> None:
    plan = _run(store, 40, skip_chunks={(0, 1)})
    running = item_page(
        store, JOB, plan, skip=8, top=8, status=None, finished=False, canceled=False
    )
    assert {r.status for r in running.rows} == {"pending"}
    ended = item_page(store, JOB, plan, skip=8, top=8, status=None, finished=True, canceled=False)
    assert [r.error["innererror"]["code"] for r in ended.rows if r.error] == ["NotProcessed"] * 8
    canceled = item_page(
        store, JOB, plan, skip=0, top=100, status=None, finished=True, canceled=True
    )
    assert canceled.total == 32 and all(not 8 <= r.index < 16 for r in canceled.rows)
    assert item_at(store, JOB, plan, 17) is not None and item_at(store, JOB, plan, 17).index == 17
    assert item_at(store, JOB, plan, 40) is None
