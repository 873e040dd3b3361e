"""The blocks a detect-batch is cut into: their sizes, and storing them for the chunk activities.

Why chunks grow: each chunk costs a few storage round trips (its block, its scores) besides
its compute, which dominate for small chunks; but a short range must still fan out (and
report progress in steps). So the first two chunks hold `FIRST_CHUNK_TIMESTAMPS` and later
ones double up to about `CHUNK_POINTS` values (timestamps × variables).

Why blocks are written behind: the preparation parses and aligns on one thread while the
storage writes (each one durable, so they wait on the disk or the network) go on beside it,
a bounded number at a time so memory stays bounded whatever the range's length.
"""

from __future__ import annotations

import io
import threading
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

from batchinfer.jobs.store import JobStore
from batchinfer.models.mvad import MultivariateSeries

FIRST_CHUNK_TIMESTAMPS = 5000
CHUNK_POINTS = 400_000
WRITERS = 4
MAX_PENDING_WRITES = 8


def chunk_timestamps(index: int, n_variables: int) -> int:
    """Rows of chunk `index`: 5,000, 5,000, 10,000, ... up to ~CHUNK_POINTS values."""
    cap = max(FIRST_CHUNK_TIMESTAMPS, CHUNK_POINTS // max(1, n_variables))
    return min(cap, FIRST_CHUNK_TIMESTAMPS << max(0, min(index - 1, 20)))


def plan_rows(n_timestamps: int, n_variables: int) -> list[tuple[int, int]]:
    """[start, stop) of each chunk of a range of n timestamps, with `chunk_timestamps` sizes."""
    spans, start, index = [], 0, 0
    while start < n_timestamps:
        stop = min(n_timestamps, start + chunk_timestamps(index, n_variables))
        spans.append((start, stop))
        start, index = stop, index + 1
    return spans


def block_name(index: int) -> str:
    return f"blocks/{index:06d}.npz"


def save_block(store: JobStore, job: str, index: int, block: MultivariateSeries) -> None:
    buffer = io.BytesIO()
    np.savez(buffer, timestamps=block.timestamps, values=block.values)
    store.save_bytes(job, block_name(index), buffer.getvalue())


def load_block(
    store: JobStore, job: str, index: int, variables: tuple[str, ...]
) -> MultivariateSeries:
    with np.load(io.BytesIO(store.load_bytes(job, block_name(index)))) as data:
        return MultivariateSeries(data["timestamps"], variables, data["values"])


class BlockWriter:
    """Writes blocks on worker threads; `wait()` raises the first failure, `discard()` waits
    and removes every block it wrote (a failed preparation leaves none behind)."""

    def __init__(self, store: JobStore, job: str) -> None:
        self._store = store
        self._job = job
        self._pool = ThreadPoolExecutor(max_workers=WRITERS, thread_name_prefix="mvad-blocks")
        self._slots = threading.BoundedSemaphore(MAX_PENDING_WRITES)
        self._futures: list[Future[None]] = []
        self.indices: set[int] = set()

    def write(self, index: int, block: MultivariateSeries) -> None:
        failed = next((f for f in self._futures if f.done() and f.exception()), None)
        if failed is not None:
            failed.result()  # raise now rather than after the whole file
        self._slots.acquire()
        self.indices.add(index)
        future = self._pool.submit(save_block, self._store, self._job, index, block)
        future.add_done_callback(lambda _f: self._slots.release())
        self._futures.append(future)

    def drain(self) -> None:
        """Wait for the writes in flight (before blocks are written again from the start)."""
        for future in self._futures:
            future.result()

    def wait(self) -> None:
        try:
            self.drain()
        finally:
            self._pool.shutdown(wait=True)

    def discard(self) -> None:
        self._pool.shutdown(wait=True)
        for index in self.indices:
            self._store.delete_document(self._job, block_name(index))
