"""The per-item list of a document batch, in plan order, paged without reading the whole job.

A job of 10,000+ items stores its outcomes per activity chunk; a page of the unfiltered list
reads only the chunks it covers. Filtering by status reads every chunk (still one small file
per 8 items, never the whole report in memory at once). Items whose chunk has no outcome yet are
`pending` while the job runs, and reported like the final report does once it ended: failed
`NotProcessed` (omitted when the job was canceled).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from batchinfer.jobs.model import ItemOutcome, Plan
from batchinfer.jobs.planning import chunk_slices
from batchinfer.jobs.store import JobStore
from batchinfer.storage import BlobNotFoundError, StorageError

PENDING = "pending"


@dataclass(frozen=True)
class ItemRow:
    """One input of a job as the dashboard lists it."""

    index: int
    name: str
    status: str  # succeeded | failed | skipped | pending
    result: str | None = None
    error: dict[str, Any] | None = None
    pages: int = 0

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "index": self.index,
            "name": self.name,
            "status": self.status,
            "pages": self.pages,
        }
        if self.result is not None:
            body["result"] = self.result
        if self.error is not None:
            body["error"] = self.error
        return body


@dataclass(frozen=True)
class ItemPage:
    rows: list[ItemRow]
    total: int  # items matching the filter


@dataclass(frozen=True)
class _Chunk:
    shard: int
    chunk: int
    first: int  # index of its first item in the job
    count: int
    offset: int  # position of its first item within its shard's item list


def _chunks(plan: Plan) -> Iterator[_Chunk]:
    for shard in range(plan.shards):
        in_shard = max(0, min(plan.shard_size, plan.total - shard * plan.shard_size))
        for chunk, (start, stop) in enumerate(chunk_slices(in_shard, plan.items_per_activity)):
            yield _Chunk(shard, chunk, shard * plan.shard_size + start, stop - start, start)


def load_plan(store: JobStore, job_id: str) -> Plan | None:
    try:
        return store.load_plan(job_id)
    except (BlobNotFoundError, StorageError):
        return None


class _Reader:
    """Reads a chunk's rows, loading each shard's item names at most once."""

    def __init__(self, store: JobStore, job_id: str, finished: bool, canceled: bool) -> None:
        self._store, self._job = store, job_id
        self._finished, self._canceled = finished, canceled
        self._names: dict[int, list[str]] = {}

    def rows(self, chunk: _Chunk) -> list[ItemRow]:
        outcomes = self._store.load_outcomes(self._job, chunk.shard, chunk.chunk)
        if outcomes is not None:
            return [_row(chunk.first + i, o) for i, o in enumerate(outcomes)]
        if self._finished and self._canceled:
            return []  # never started: a canceled job reports what it did
        names = self._shard_names(chunk.shard)[chunk.offset : chunk.offset + chunk.count]
        if not self._finished:
            return [ItemRow(chunk.first + i, n, PENDING) for i, n in enumerate(names)]
        return [
            ItemRow(
                chunk.first + i,
                n,
                "failed",
                error={
                    "code": "InternalServerError",
                    "message": "The document was not processed.",
                    "innererror": {
                        "code": "NotProcessed",
                        "message": "Its activity failed after all retries.",
                    },
                },
            )
            for i, n in enumerate(names)
        ]

    def _shard_names(self, shard: int) -> list[str]:
        if shard not in self._names:
            self._names[shard] = self._store.load_shard_items(self._job, shard)
        return self._names[shard]


def _row(index: int, outcome: ItemOutcome) -> ItemRow:
    return ItemRow(
        index,
        outcome.source,
        outcome.status,
        outcome.result,
        outcome.error.to_json() if outcome.error else None,
        outcome.pages,
    )


def item_page(
    store: JobStore,
    job_id: str,
    plan: Plan,
    *,
    skip: int,
    top: int,
    status: str | None,
    finished: bool,
    canceled: bool,
) -> ItemPage:
    """Rows `skip .. skip+top` of the items (those with `status`, when given)."""
    reader = _Reader(store, job_id, finished, canceled)
    if status is None and not (finished and canceled):
        stop = skip + top
        rows = [
            row
            for chunk in _chunks(plan)
            if chunk.first < stop and chunk.first + chunk.count > skip
            for row in reader.rows(chunk)
            if skip <= row.index < stop
        ]
        return ItemPage(rows, plan.total)
    matching = [
        row
        for chunk in _chunks(plan)
        for row in reader.rows(chunk)
        if status is None or row.status == status
    ]
    return ItemPage(matching[skip : skip + top], len(matching))


def item_at(store: JobStore, job_id: str, plan: Plan, index: int) -> ItemRow | None:
    """The row of one item by its index in the job (None when out of range)."""
    if not 0 <= index < plan.total:
        return None
    reader = _Reader(store, job_id, finished=False, canceled=False)
    for chunk in _chunks(plan):
        if chunk.first <= index < chunk.first + chunk.count:
            return next((r for r in reader.rows(chunk) if r.index == index), None)
    return None


def failed_names(store: JobStore, job_id: str, plan: Plan, canceled: bool) -> list[str]:
    """Blob names of every failed item of a finished job, in plan order."""
    reader = _Reader(store, job_id, finished=True, canceled=canceled)
    return [
        row.name for chunk in _chunks(plan) for row in reader.rows(chunk) if row.status == "failed"
    ]
