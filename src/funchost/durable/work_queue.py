"""The activity work queue: one line per orchestration, served round-robin, paged from SQLite.

A single FIFO let a 10,000-activity fan-out hold up a one-activity orchestration started just
after it, and kept every pending work item in memory. Here each orchestration instance has its
own line, and threads take from the lines in turn, two levels deep: first between *groups*
(the engine groups an orchestration with its sub-orchestrations, so a job that fans out into
256 sub-orchestrations gets the same share as a job of one), then between the group's
instances. At most `window` items per instance are held
in memory: the rest stay in the store (where they already are) and are paged in when the
instance's line runs low. With `read_page` (a store that reads on a connection of its own) the
activity thread that drains the line loads the next page itself: waiting for the event loop,
which is busy with a big episode's bookkeeping, left the activity threads idle.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from collections.abc import Callable, Iterable

from funchost.durable.store import WorkItem

log = logging.getLogger("funchost.durable.activities")

PageLoader = Callable[[str, int, int], list[WorkItem]]  # (instance, from seq, limit) -> items
GroupOf = Callable[[str], str]  # instance id -> the group it is served in (its own id: alone)


class FairWorkQueue:
    """Thread-safe round-robin over per-instance lines; `put`/`refill` run on the loop thread."""

    def __init__(
        self,
        *,
        window: int,
        load_page: PageLoader | None,
        read_page: PageLoader | None = None,
        group_of: GroupOf | None = None,
    ) -> None:
        """`load_page` runs on the event loop; `read_page`, if given, on any thread.

        `group_of` is asked once when an instance's line opens, under this queue's lock (it must
        not call back into the queue); without it every instance is a group of its own.
        """
        self._window = max(2, window)
        self._load_page = load_page
        self._read_page = read_page
        self._group_of = group_of
        self._cond = threading.Condition(threading.Lock())  # cheaper than the default RLock
        self._lines: dict[str, deque[WorkItem]] = {}  # instance -> its queued items (never empty)
        self._group: dict[str, str] = {}  # instance with a line -> its group
        self._members: dict[str, deque[str]] = {}  # group -> its instances with a line, in turn
        self._ring: deque[str] = deque()  # groups with a line, in turn
        self._spilled: dict[str, int] = {}  # instance -> first seq held only in the store
        self._refilling: set[str] = set()
        self._closed = False
        self._loop: asyncio.AbstractEventLoop | None = None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def __len__(self) -> int:
        with self._cond:
            return sum(len(line) for line in self._lines.values())

    def has_waiting(self) -> bool:
        """Whether any item waits for a thread (cheap: no count)."""
        with self._cond:
            return bool(self._ring)

    def put(self, item: WorkItem) -> None:
        """Queue a stored work item, or leave it in the store if its instance's line is full."""
        self.put_many([item])

    def put_many(self, items: Iterable[WorkItem]) -> None:
        """`put` for a whole episode's work under one lock acquisition (items may be a
        generator: those past a full line are dropped as they come, never all held)."""
        added = 0
        with self._cond:
            for item in items:
                instance = item.instance_id
                if instance in self._spilled:
                    continue  # paged in later, in order, with the rest of its line
                line = self._lines.get(instance)
                if line is None:
                    line = self._open_line(instance)
                if len(line) >= self._window and self._load_page is not None:
                    self._spilled[instance] = item.seq
                    continue
                line.append(item)
                added += 1
            if added:
                self._cond.notify(added)

    def get(self) -> WorkItem | None:
        """The next item, taking instances in turn; None once closed."""
        refill: str | None = None
        with self._cond:
            while not self._ring and not self._closed:
                self._cond.wait()
            if self._closed:
                return None
            group = self._ring.popleft()
            members = self._members[group]
            instance = members.popleft()
            line = self._lines[instance]
            item = line.popleft()
            if line:
                members.append(instance)
            else:
                del self._lines[instance], self._group[instance]
            if members:
                self._ring.append(group)
            else:
                del self._members[group]
            low = len(line) <= self._window // 2
            if low and instance in self._spilled and instance not in self._refilling:
                self._refilling.add(instance)
                refill = instance
        if refill is not None:
            if self._read_page is not None:
                try:  # here, outside the lock; other threads keep taking items meanwhile
                    self.refill(refill, self._read_page)
                except Exception:  # the reader failed: the loop's connection pages it in
                    log.warning(
                        "Paging work in off the loop failed; the loop does it", exc_info=True
                    )
                    with self._cond:
                        self._refilling.add(refill)
                    self._request_refill(refill)
            else:
                self._request_refill(refill)
        return item

    def forget(self, instance_id: str) -> None:
        """Drop an instance's queued items (it ended; its work rows are gone)."""
        with self._cond:
            self._spilled.pop(instance_id, None)
            if self._lines.pop(instance_id, None) is not None:
                group = self._group.pop(instance_id)
                members = self._members[group]
                members.remove(instance_id)
                if not members:
                    del self._members[group]
                    self._ring.remove(group)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def _open_line(self, instance: str) -> deque[WorkItem]:
        """A new (empty) line for `instance`, in its group's turn; caller holds the lock and
        puts an item in it before releasing it."""
        group = self._group_of(instance) if self._group_of is not None else instance
        line = self._lines[instance] = deque()
        self._group[instance] = group
        members = self._members.get(group)
        if members is None:
            members = self._members[group] = deque()
            self._ring.append(group)
        members.append(instance)
        return line

    # ------------------------------------------------------------------------------ paging
    def _request_refill(self, instance: str) -> None:
        loop = self._loop
        if loop is None:
            return
        try:
            loop.call_soon_threadsafe(self.refill, instance)
        except RuntimeError:  # the loop closed during shutdown; the rows stay in the store
            pass

    def refill(self, instance: str, loader: PageLoader | None = None) -> None:
        """Page an instance's next items in from the store.

        On the event-loop thread (`load_page`), or on the activity thread that found the line
        low (`read_page`). `_refilling` is cleared only at the end, so one instance never has
        two refills loading the same page.
        """
        load = loader or self._load_page
        assert load is not None
        with self._cond:
            start = self._spilled.get(instance)
            held = len(self._lines.get(instance, ()))
            if start is None:
                self._refilling.discard(instance)
                return
        room = self._window - held
        try:
            items = load(instance, start, room) if room > 0 else []
        except BaseException:
            with self._cond:
                self._refilling.discard(instance)
            raise
        with self._cond:
            self._refilling.discard(instance)
            if self._spilled.get(instance) != start:
                return  # forgotten meanwhile
            if len(items) < room:
                del self._spilled[instance]  # everything left is in memory now
            else:
                self._spilled[instance] = items[-1].seq + 1
            if items:
                line = self._lines.get(instance)
                if line is None:
                    line = self._open_line(instance)
                line.extend(items)
                self._cond.notify(len(items))
