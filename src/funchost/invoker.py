"""Calling user functions as the Python worker does, and logging one line per invocation.

Async functions run on the host's single long-lived event loop (the durable SDK caches one
aiohttp session there); sync functions run in thread pools, one per kind of work, so activities
cannot starve HTTP requests and orchestrator replays stay bounded by their own concurrency setting.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from funchost.app_index import FunctionSpec

log = logging.getLogger("funchost.invocations")


@dataclass
class InvocationContext:
    """What the worker passes as `context` when no binding owns that parameter."""

    invocation_id: str
    function_name: str
    function_directory: str
    trace_context: Any = None
    retry_context: Any = None
    thread_local_storage: threading.local = field(default_factory=threading.local)


def wants_context(spec: FunctionSpec, kwargs: dict[str, Any]) -> bool:
    return "context" in spec.parameters and "context" not in kwargs


class Invoker:
    """Runs user functions with keyword arguments and logs their outcome and duration."""

    def __init__(self, app_dir: Path, default_pool: Executor) -> None:
        self._app_dir = str(app_dir)
        self._default_pool = default_pool
        # Invocation ids need uniqueness, not secrecy: a seeded PRNG avoids a syscall per call.
        self._ids = random.Random(uuid.uuid4().int)

    def new_invocation_id(self) -> str:
        return str(uuid.UUID(int=self._ids.getrandbits(128), version=4))

    def context_for(self, spec: FunctionSpec, invocation_id: str) -> InvocationContext:
        return InvocationContext(invocation_id, spec.name, self._app_dir)

    async def invoke(
        self,
        spec: FunctionSpec,
        kwargs: dict[str, Any],
        *,
        pool: Executor | None = None,
        invocation_id: str | None = None,
    ) -> Any:
        """Invoke and return the function's result; exceptions propagate after being logged."""
        invocation_id = invocation_id or self.new_invocation_id()
        if wants_context(spec, kwargs):
            kwargs = {**kwargs, "context": self.context_for(spec, invocation_id)}
        started = time.perf_counter()
        try:
            if spec.is_async:
                result = await spec.func(**kwargs)
            else:
                loop = asyncio.get_running_loop()
                call: Callable[[], Any] = functools.partial(spec.func, **kwargs)
                result = await loop.run_in_executor(pool or self._default_pool, call)
        except BaseException as exc:
            self._log_failure(spec, invocation_id, started, exc)
            raise
        self._log(spec, invocation_id, started, "Succeeded")
        return result

    def invoke_in_thread(
        self, spec: FunctionSpec, kwargs: dict[str, Any], loop: asyncio.AbstractEventLoop
    ) -> Any:
        """Invoke from a worker thread: sync functions run right here, async ones on the loop."""
        if spec.is_async:
            future = asyncio.run_coroutine_threadsafe(self._contained(spec, kwargs), loop)
            try:
                return future.result()
            except _Escaped as wrapped:
                raise wrapped.original from None
        invocation_id = self.new_invocation_id()
        if wants_context(spec, kwargs):
            kwargs = {**kwargs, "context": self.context_for(spec, invocation_id)}
        started = time.perf_counter()
        try:
            result = spec.func(**kwargs)
        except BaseException as exc:
            self._log_failure(spec, invocation_id, started, exc)
            raise
        self._log(spec, invocation_id, started, "Succeeded")
        return result

    async def _contained(self, spec: FunctionSpec, kwargs: dict[str, Any]) -> Any:
        """Keep a SystemExit/KeyboardInterrupt raised by async user code off the event loop
        (where it would stop the host); the calling thread re-raises the original."""
        try:
            return await self.invoke(spec, kwargs)
        except (SystemExit, KeyboardInterrupt) as exc:
            raise _Escaped(exc) from exc

    def _log_failure(
        self, spec: FunctionSpec, invocation_id: str, started: float, exc: BaseException
    ) -> None:
        """A failure is an ERROR with the function's own traceback, as the Functions host logs."""
        if isinstance(exc, asyncio.CancelledError):
            self._log(spec, invocation_id, started, "Cancelled")
            return
        duration_ms = (time.perf_counter() - started) * 1000
        log.error(
            "Executed 'Functions.%s' (Failed, Id=%s, Duration=%.0fms)\n%s",
            spec.name,
            invocation_id,
            duration_ms,
            "".join(traceback.format_exception(exc)).rstrip(),
        )

    def _log(self, spec: FunctionSpec, invocation_id: str, started: float, outcome: str) -> None:
        duration_ms = (time.perf_counter() - started) * 1000
        log.info(
            "Executed 'Functions.%s' (%s, Id=%s, Duration=%.0fms)",
            spec.name,
            outcome,
            invocation_id,
            duration_ms,
        )


class _Escaped(Exception):
    """Carries a BaseException out of the event loop to the thread that awaits it."""

    def __init__(self, original: BaseException) -> None:
        super().__init__(repr(original))
        self.original = original
