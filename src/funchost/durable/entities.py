"""Durable entities: queued operations, one batch per entity at a time, replies as events.

Orchestrations (`call_entity`, `signal_entity`) and clients (`signal_entity`) queue operations in
the store; an entity with pending operations runs them as one batch through the SDK's own
`Entity.create(...).handle`, and its new state, the consumed operations and the replies to
calling orchestrations (an `EventRaised` named after the request id) commit in one transaction.
The entity handle's input and output are the extension's (protocol note §7).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any

from funchost.app_index import FunctionSpec
from funchost.durable import history as h
from funchost.durable.store import DurableStore, EntityOp, InboxEvent, StoreError

log = logging.getLogger("funchost.durable.entities")

BATCH_LIMIT = 100
STORE_RETRY_SECONDS = 1.0


def parse_entity_instance(instance_id: str) -> tuple[str, str] | None:
    """`@name@key` (the SDK's scheduler id) → (lower-cased name, key)."""
    if not instance_id.startswith("@"):
        return None
    name, found, key = instance_id[1:].partition("@")
    return (name.lower(), key) if found and name else None


class EntityDispatcher:
    """Runs entity batches on the event loop (handles in the replay pool), one per entity."""

    def __init__(
        self,
        *,
        store: DurableStore,
        functions: list[FunctionSpec],
        pool: Executor,
        deliver: Callable[[str, InboxEvent], None],
        notify: Callable[[], None],
        accepts: Callable[[str], bool] = lambda _instance_id: True,
    ) -> None:
        self._store = store
        self._accepts = accepts
        self._specs = {
            s.durable_name.lower(): s
            for s in functions
            if s.trigger_type == "entityTrigger" and s.durable_name
        }
        self._pool = pool
        self._deliver = deliver
        self._notify = notify
        self._queue: asyncio.Queue[tuple[str, str]] | None = None
        self._queued: set[tuple[str, str]] = set()
        self._task: asyncio.Task[None] | None = None

    def known(self, name: str) -> bool:
        return name.lower() in self._specs

    def start(self) -> None:
        self._queue = asyncio.Queue()
        for name, key in self._store.entities_with_ops():
            self.enqueue(name, key)
        self._task = asyncio.create_task(self._worker())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass

    def enqueue(self, name: str, key: str) -> None:
        if (name, key) not in self._queued and self._queue is not None:
            self._queued.add((name, key))
            self._queue.put_nowait((name, key))

    def signal(self, name: str, key: str, operation: str, op_input: str | None) -> None:
        """A client's signal: queue the operation, no reply."""
        with self._store.transaction():
            self._store.add_entity_op(EntityOp(name.lower(), key, operation, op_input, True))
        self.enqueue(name.lower(), key)

    def read_state(self, name: str, key: str) -> tuple[bool, str | None]:
        return self._store.get_entity(name.lower(), key)

    async def _worker(self) -> None:
        assert self._queue is not None
        while True:
            name, key = await self._queue.get()
            self._queued.discard((name, key))
            try:
                more = await self._run_batch(name, key)
            except StoreError as exc:  # nothing was recorded: the same batch runs again later
                log.error(
                    "Could not record a batch of entity @%s@%s (%s: %s); retrying",
                    name,
                    key,
                    type(exc).__name__,
                    exc,
                )
                asyncio.get_running_loop().call_later(STORE_RETRY_SECONDS, self.enqueue, name, key)
                more = False
            except Exception:
                log.exception("Entity @%s@%s failed inside the host", name, key)
                more = False
            if more:
                self.enqueue(name, key)

    async def _run_batch(self, name: str, key: str) -> bool:
        ops = self._store.load_entity_ops(name, key, BATCH_LIMIT)
        if not ops:
            return False
        exists, state = self._store.get_entity(name, key)
        spec = self._specs.get(name)
        context = json.dumps(
            {
                "self": {"name": name, "key": key},
                "exists": exists,
                "state": state,
                # the SDK's get_input() parses the input text, so "no input" travels as "null"
                "batch": [
                    {
                        "name": op.operation,
                        "input": op.input if op.input is not None else "null",
                        "isSignal": op.is_signal,
                    }
                    for _, op in ops
                ],
            }
        )
        results: list[dict[str, Any]]
        if spec is None:
            results = [
                {
                    "isError": True,
                    "result": json.dumps(f"The entity '{name}' does not exist in the app."),
                }
                for _ in ops
            ]
        else:
            loop = asyncio.get_running_loop()
            try:
                output = json.loads(await loop.run_in_executor(self._pool, spec.func, context))
                exists = bool(output.get("entityExists"))
                state = output.get("entityState")
                results = list(output.get("results") or [])
            except Exception as exc:  # the handle itself failed: callers get the error
                log.exception("Entity @%s@%s batch failed", name, key)
                results = [
                    {"isError": True, "result": json.dumps(f"{type(exc).__name__}: {exc}")}
                    for _ in ops
                ]
        self._log_operations(name, key, ops, results)
        replies: list[tuple[int, EntityOp, dict[str, Any]]] = []
        now = h.utcnow()
        with self._store.transaction():
            self._store.put_entity(name, key, exists, state, h.iso_timestamp(now))
            self._store.delete_entity_ops([seq for seq, _ in ops])
            for (_, op), result in zip(ops, results, strict=False):
                if op.is_signal or not op.reply_instance or not op.request_id:
                    continue
                if not self._accepts(op.reply_instance):
                    log.info(
                        "Dropped the reply of @%s@%s to %s: that instance is no longer running",
                        name,
                        key,
                        op.reply_instance,
                    )
                    continue
                payload: dict[str, Any] = {"result": result.get("result")}
                if result.get("isError"):
                    payload["exceptionType"] = "Exception"
                event = h.event_raised(now, op.request_id, json.dumps(payload))
                seq = self._store.add_inbox_event(op.reply_instance, op.reply_execution, event)
                replies.append((seq, op, event))
        for seq, op, event in replies:
            assert op.reply_instance is not None
            self._deliver(
                op.reply_instance, InboxEvent(seq, op.reply_instance, op.reply_execution, event)
            )
        self._notify()
        return len(ops) == BATCH_LIMIT

    def _log_operations(
        self, name: str, key: str, ops: list[tuple[int, EntityOp]], results: list[dict[str, Any]]
    ) -> None:
        """One line per operation, as the Functions host logs an entity's operations."""
        spec_name = self._specs[name].name if name in self._specs else name
        for (_, op), result in zip(ops, results, strict=False):
            if result.get("isError"):
                log.error(
                    "Executed 'Functions.%s' (Failed, operation '%s' on @%s@%s): %s",
                    spec_name,
                    op.operation,
                    name,
                    key,
                    result.get("result"),
                )
            else:
                log.info(
                    "Executed 'Functions.%s' (Succeeded, operation '%s' on @%s@%s)",
                    spec_name,
                    op.operation,
                    name,
                    key,
                )
