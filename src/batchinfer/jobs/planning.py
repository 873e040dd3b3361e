"""Cutting a job's inputs into shards and activity-sized chunks, without holding them all.

Inputs are listed as a stream and written shard by shard, so planning 10,000 or 1,000,000 items
uses the same memory. A shard is `items_per_activity * activities_per_shard` items and runs as
one sub-orchestration, which keeps every orchestration history to a few hundred tasks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from batchinfer.jobs.model import Plan


def shard_size(items_per_activity: int, activities_per_shard: int) -> int:
    return max(1, items_per_activity) * max(1, activities_per_shard)


def write_shards(names: Iterable[str], size: int, save: Callable[[int, list[str]], None]) -> int:
    """Group `names` into lists of `size`, saving each as it fills; returns the item count."""
    total = 0
    shard: list[str] = []
    index = 0
    for name in names:
        shard.append(name)
        total += 1
        if len(shard) == size:
            save(index, shard)
            index += 1
            shard = []
    if shard:
        save(index, shard)
    return total


def make_plan(total: int, items_per_activity: int, activities_per_shard: int) -> Plan:
    size = shard_size(items_per_activity, activities_per_shard)
    return Plan(
        total=total,
        shard_size=size,
        items_per_activity=max(1, items_per_activity),
        shards=-(-total // size),
    )


MIN_SPREAD_ITEMS = 2


def spread_small_job(plan: Plan, activities: int) -> Plan:
    """A job too small to give `activities` activities their full share of items is cut into
    smaller chunks, so that it still runs on that many activities at once.

    Why: with 8 items per activity a 10-page job ran as one 8-item and one 2-item activity,
    so most of it ran one page at a time on a machine that analyses two at once faster (the
    models' Python steps are single-threaded). Chunks keep at least `MIN_SPREAD_ITEMS` items,
    since each activity has fixed costs (scheduling, history, its claims and outcomes). Only
    chunking within a shard changes; the stored shard lists do not, so this applies after
    listing, once the total is known.
    """
    if plan.error is not None or plan.total <= 0 or activities <= 1:
        return plan
    wanted = -(-plan.total // activities)
    if wanted >= plan.items_per_activity or wanted < MIN_SPREAD_ITEMS:
        return plan
    return Plan(plan.total, plan.shard_size, wanted, plan.shards)


def chunk_slices(count: int, items_per_activity: int) -> Iterator[tuple[int, int]]:
    """(start, stop) of each activity's items within a shard of `count` items."""
    step = max(1, items_per_activity)
    for start in range(0, count, step):
        yield start, min(count, start + step)


def percent_completed(done: int, total: int | None) -> int:
    """Progress as an integer percentage; 0 until the total is known, 100 only when all done."""
    if not total:
        return 0
    return min(100, (done * 100) // total)


Segment = tuple[int, int, int]  # (shard, first chunk, stop chunk)


def work_units(
    total: int, shard_size: int, items_per_activity: int, min_units: int = 16, max_units: int = 256
) -> list[tuple[list[Segment], int]]:
    """Sub-orchestration units as (segments, items), covering every chunk exactly once.

    One unit per stored shard in the usual case. A job with fewer than `min_units` shards has
    its shards split along chunk boundaries, so small jobs report progress in steps (progress
    advances when a unit finishes); a job with more than `max_units` shards gets consecutive
    shards grouped per unit, so the job's own history stays bounded too. Pure and
    deterministic: orchestrators call it on every replay.
    """
    shards = -(-total // shard_size) if total else 0
    parts = -(-min_units // shards) if 0 < shards < min_units else 1
    segments: list[tuple[Segment, int]] = []
    for shard in range(shards):
        items = min(shard_size, total - shard * shard_size)
        chunks = -(-items // items_per_activity)
        per_part = max(1, -(-chunks // parts))
        for first in range(0, chunks, per_part):
            stop = min(chunks, first + per_part)
            segment_items = min(items, stop * items_per_activity) - first * items_per_activity
            segments.append(((shard, first, stop), segment_items))
    group = max(1, -(-len(segments) // max_units))
    return [
        ([seg for seg, _ in segments[i : i + group]], sum(n for _, n in segments[i : i + group]))
        for i in range(0, len(segments), group)
    ]
