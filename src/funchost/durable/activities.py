"""Running activities: dedicated threads, batched hand-back of completions to the loop.

One thread per concurrent activity pulls work items from a thread-safe queue and runs sync
activities right there (async ones go to the event loop), so a no-op activity costs no
event-loop round trip; completions are collected and the loop is woken once per batch, where the
engine records them in one transaction. Built-in HTTP calls (`call_http`) run on the loop.

The pool starts with as many threads as the CPUs can keep busy and grows towards
`maxConcurrentActivityFunctions` only while every thread has been held by one activity for a
while and work is waiting (activities blocked on I/O or sleeping). Why: with 64 threads taking
short CPU-bound activities, the threads mostly contend for the GIL, and throughput fell as the
setting rose; grown lazily, a higher setting costs nothing until activities need the threads.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from typing import Any

import azure.functions as func
from azure.functions.meta import Datum

from funchost.app_index import FunctionSpec
from funchost.durable import history as h
from funchost.durable.store import WorkItem
from funchost.durable.work_queue import FairWorkQueue, GroupOf, PageLoader
from funchost.invoker import Invoker

Completion = tuple[WorkItem, dict[str, Any]]

log = logging.getLogger("funchost.durable.activities")

GROW_INTERVAL = 0.05  # seconds between checks whether the pool should grow
# every thread held this long by one activity, and work waiting: the activities are blocked,
# not merely waiting for the GIL behind a big commit (which takes ~0.1 s of CPU at 10k items)
BUSY_BEFORE_GROWING = 0.25


def initial_threads(size: int, cpus: int | None = None) -> int:
    """Threads a pool of `size` starts with: enough for every CPU twice over (an activity
    that releases the GIL in native code leaves its core to another thread), at least 4."""
    cpus = cpus if cpus is not None else (os.cpu_count() or 1)
    return max(1, min(size, max(4, 2 * cpus)))


class ActivityRunner:
    """Executes work items on `size` threads and hands their result events to `on_batch`."""

    def __init__(
        self,
        *,
        activities: dict[str, FunctionSpec],
        invoker: Invoker,
        size: int,
        is_live: Callable[[WorkItem], bool],
        on_batch: Callable[[list[Completion]], None],
        timeout: float | None = None,
        load_page: PageLoader | None = None,
        read_page: PageLoader | None = None,
        group_of: GroupOf | None = None,
    ) -> None:
        self._activities = activities
        self._timeout = timeout
        self._invoker = invoker
        self._size = max(1, size)
        self._is_live = is_live
        self._on_batch = on_batch
        # per-instance lines served in turn, by group; `window` items per instance in memory
        self.window = max(256, 8 * self._size)
        self._queue = FairWorkQueue(
            window=self.window, load_page=load_page, read_page=read_page, group_of=group_of
        )
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._completions: list[Completion] = []
        self._wake_pending = False
        self._stopping = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        # azure.functions leaves get_binding_registry unannotated
        self._converter = func.get_binding_registry().get(  # type: ignore[no-untyped-call]
            "activityTrigger"
        )
        self._running: dict[threading.Thread, tuple[WorkItem, float]] = {}
        self._abandoned: set[threading.Thread] = set()
        self._spawned = 0

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._queue.bind(loop)
        for _ in range(initial_threads(self._size)):
            self._spawn()
        if len(self._threads) < self._size:
            loop.call_later(GROW_INTERVAL, self._grow)
        if self._timeout is not None:
            loop.call_later(self._watch_interval(), self._watch)

    @property
    def threads(self) -> int:
        """Threads the pool has now (it grows up to its size, never shrinks)."""
        return len(self._threads)

    def _grow(self) -> None:
        """Add a thread when every thread has been busy on one activity for a while and work
        is waiting (on the loop thread, every `GROW_INTERVAL`, until the pool is full)."""
        assert self._loop is not None
        if self._stopping.is_set():
            return
        now = time.monotonic()
        with self._lock:
            held = len(self._running) >= len(self._threads) and all(
                now - started >= BUSY_BEFORE_GROWING for _, started in self._running.values()
            )
        if held and self._queue.has_waiting():
            self._spawn()
            log.debug("Activity pool grown to %d of %d threads", len(self._threads), self._size)
        if len(self._threads) < self._size:
            self._loop.call_later(GROW_INTERVAL, self._grow)

    def _spawn(self) -> None:
        thread = threading.Thread(target=self._work, name=f"activity-{self._spawned}", daemon=True)
        self._spawned += 1
        self._threads.append(thread)
        thread.start()

    def _watch_interval(self) -> float:
        assert self._timeout is not None
        return max(0.05, min(1.0, self._timeout / 4))

    def _watch(self) -> None:
        """functionTimeout: fail an activity that overran it and give its slot to a new thread.

        A Python thread cannot be killed; the overrunning one is abandoned (its eventual result
        is dropped) and a fresh thread takes its place, so the pool keeps its size.
        """
        assert self._timeout is not None and self._loop is not None
        if self._stopping.is_set():
            return
        now = time.monotonic()
        expired: list[WorkItem] = []
        with self._lock:
            for thread, (item, started) in list(self._running.items()):
                if now - started > self._timeout:
                    del self._running[thread]
                    self._abandoned.add(thread)
                    self._threads.remove(thread)
                    expired.append(item)
            for item in expired:
                self._completions.append((item, self._timed_out(item)))
        for _ in expired:
            self._spawn()
        if expired:
            self.flush()
        self._loop.call_later(self._watch_interval(), self._watch)

    def _timed_out(self, item: WorkItem) -> dict[str, Any]:
        assert self._timeout is not None
        spec = self._activities.get(item.name.lower())
        name = spec.name if spec is not None else item.name
        limit = _timespan(self._timeout)
        message = f"Timeout value of {limit} was exceeded by function: Functions.{name}"
        log.error(
            "Activity '%s' (instance %s, task %d) failed: %s",
            name,
            item.instance_id,
            item.task_id,
            message,
        )
        return h.task_failed(
            h.utcnow(),
            item.task_id,
            f"Activity function '{name}' failed: FunctionTimeoutException: {message}",
            message,
        )

    def submit(self, item: WorkItem) -> None:
        """Queue a stored work item (it may stay in the store until its line runs low)."""
        self._queue.put(item)

    def submit_many(self, items: Iterable[WorkItem]) -> None:
        self._queue.put_many(items)

    def forget(self, instance_id: str) -> None:
        self._queue.forget(instance_id)

    async def stop(self, drain_seconds: float) -> None:
        """Let running activities finish (a native library still computing in a thread while
        the interpreter exits can abort the process); queued work stays in the store."""
        self._stopping.set()
        self._queue.close()
        log.info("Activity pool: %d of %d threads used", len(self._threads), self._size)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + drain_seconds
        for thread in list(self._threads):
            await loop.run_in_executor(None, thread.join, max(0.0, deadline - loop.time()))
        self.flush()

    def flush(self) -> None:
        """Hand the collected completions to the engine (on the loop thread)."""
        with self._lock:
            self._wake_pending = False
            batch, self._completions = self._completions, []
        if batch:
            self._on_batch(batch)

    # ---------------------------------------------------------------------------- threads
    def _work(self) -> None:
        loop = self._loop
        assert loop is not None
        while True:
            item = self._queue.get()
            if item is None or self._stopping.is_set():
                return  # work not started stays in the store and runs after a restart
            if not self._is_live(item):
                continue  # its orchestration ended; the work row went with it
            me = threading.current_thread()
            with self._lock:
                self._running[me] = (item, time.monotonic())
            try:
                event = self._execute(item, loop)
            except BaseException as exc:  # a slot must never die with its task
                event = self._failure(item, exc)
            with self._lock:
                if me in self._abandoned:  # timed out: its failure is recorded, a new thread
                    self._abandoned.discard(me)  # holds the slot
                    return
                self._running.pop(me, None)
                self._completions.append((item, event))
                wake = not self._wake_pending
                self._wake_pending = True
            if wake:
                try:
                    loop.call_soon_threadsafe(self.flush)
                except RuntimeError:  # the loop closed during shutdown
                    return

    def _execute(self, item: WorkItem, loop: asyncio.AbstractEventLoop) -> dict[str, Any]:
        if item.kind == "http":
            return asyncio.run_coroutine_threadsafe(_execute_http(item), loop).result()
        spec = self._activities.get(item.name.lower())
        if spec is None:
            return h.task_failed(
                h.utcnow(), item.task_id, f"The function '{item.name}' doesn't exist.", ""
            )
        try:
            value = self._converter.decode(Datum(item.input, "string"), trigger_metadata=None)
            result = self._invoker.invoke_in_thread(spec, {spec.trigger_param: value}, loop)
            encoded = self._converter.encode(result, expected_type=None).value
            return h.task_completed(h.utcnow(), item.task_id, encoded)
        except BaseException as exc:  # SystemExit from a library is a failure too
            return self._failure(item, exc, spec.name)

    @staticmethod
    def _failure(item: WorkItem, exc: BaseException, name: str | None = None) -> dict[str, Any]:
        """A TaskFailed for `exc`, logged at ERROR with the function's own traceback."""
        name = name or item.name
        details = "".join(traceback.format_exception(exc)) or repr(exc)
        # the invocation's own ERROR line carries the traceback; this one ties it to the task
        log.error(
            "Activity '%s' (instance %s, task %d) failed: %s: %s",
            name,
            item.instance_id,
            item.task_id,
            type(exc).__name__,
            exc,
        )
        return h.task_failed(
            h.utcnow(),
            item.task_id,
            f"Activity function '{name}' failed: {type(exc).__name__}: {exc}",
            details,
        )


def _timespan(seconds: float) -> str:
    """`hh:mm:ss[.fffffff]`, as .NET prints a TimeSpan."""
    whole = int(seconds)
    text = f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"
    ticks = round((seconds - whole) * 10_000_000)
    return f"{text}.{ticks:07d}" if ticks else text


async def _execute_http(item: WorkItem) -> dict[str, Any]:
    """The built-in HTTP activity behind `context.call_http`."""
    import aiohttp

    request = json.loads(item.input or "{}")
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.request(
                str(request.get("method", "GET")),
                str(request.get("uri")),
                data=request.get("content"),
                headers=request.get("headers") or {},
            ) as resp,
        ):
            content = await resp.text()
            result = {"statusCode": resp.status, "headers": dict(resp.headers), "content": content}
        return h.task_completed(h.utcnow(), item.task_id, json.dumps(result, separators=(",", ":")))
    except Exception as exc:
        return h.task_failed(
            h.utcnow(), item.task_id, f"HTTP request failed: {type(exc).__name__}: {exc}", repr(exc)
        )
