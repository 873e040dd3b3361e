"""One process-wide budget of bytes for pages being decoded and analyzed.

Why: a 349-byte PDF can declare a page that renders to 10^8 pixels, and a 120 KB PNG can hold
9,999 x 9,999 of them; each activity thread decoding one such page at once used to take the host
past 5 GB. Every page now holds an estimate of its cost from before it is decoded until the
analysis moves on to the next page, and the pages in flight across all threads together never
hold more than the budget: others wait. A page costing more than the whole budget runs alone.
So decode memory is bounded by `BATCHINFER_DECODE_BUDGET_MB` whatever the inputs are.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator

DEFAULT_BUDGET_MB = 1024


class ByteBudget:
    """A counting gate: `hold(n)` blocks until n bytes (at most the whole budget) are free."""

    def __init__(self, limit_bytes: int) -> None:
        self.limit = max(1, int(limit_bytes))
        self._in_use = 0
        self._peak = 0
        self._free = threading.Condition()

    @property
    def in_use(self) -> int:
        return self._in_use

    @property
    def peak(self) -> int:
        """The most bytes ever held at once (for tests and benchmarks)."""
        return self._peak

    @contextlib.contextmanager
    def hold(self, cost: int) -> Iterator[None]:
        amount = min(max(0, int(cost)), self.limit)
        with self._free:
            self._free.wait_for(lambda: self._in_use + amount <= self.limit)
            self._in_use += amount
            self._peak = max(self._peak, self._in_use)
        try:
            yield
        finally:
            with self._free:
                self._in_use -= amount
                self._free.notify_all()


def _from_env() -> ByteBudget:
    raw = os.environ.get("BATCHINFER_DECODE_BUDGET_MB", "").strip()
    try:
        megabytes = float(raw) if raw else DEFAULT_BUDGET_MB
    except ValueError:
        megabytes = DEFAULT_BUDGET_MB
    return ByteBudget(int(max(1.0, megabytes) * 1024 * 1024))


M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_BYTES = 1024 * 1024


def return_large_frees_to_the_os() -> bool:
    """Pin glibc's mmap threshold at 1 MiB, so page-sized buffers are mapped and unmapped
    instead of staying in the per-thread malloc arenas of every activity thread that once held
    one (by default the threshold climbs to 32 MiB after the first large free, and freed pages
    then stay resident per thread: 8 threads held 1.3 GB for pages budgeted at 0.7 GB).
    Best effort: False where the C library has no `mallopt`."""
    try:
        import ctypes
        import ctypes.util

        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))
    except (OSError, AttributeError):
        return False


return_large_frees_to_the_os()
DECODE_BUDGET = _from_env()
"""The budget every page of this process draws on."""
