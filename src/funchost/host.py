"""The host: loads the app, wires the durable engine, HTTP front door and blob pollers, runs.

`FunctionHost` is what `python -m funchost start` runs and what tests embed. It owns the single
long-lived event loop on which async user code, the aiohttp server and the engine all run.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor

from aiohttp import web

from funchost.app_index import FunctionSpec, load_functions
from funchost.blob_triggers import BlobTriggerRunner
from funchost.data_lock import DataDirLock
from funchost.durable.engine import DurableEngine
from funchost.durable.management import ManagementApi
from funchost.durable.store import DurableStore
from funchost.host_secrets import load_host_secrets
from funchost.http_server import HttpFrontDoor
from funchost.invoker import Invoker
from funchost.settings import HostSettings

log = logging.getLogger("funchost")

DURABLE_TYPES = {"orchestrationTrigger", "activityTrigger", "entityTrigger", "durableClient"}


def uses_durable(functions: list[FunctionSpec]) -> bool:
    return any(b.get("type") in DURABLE_TYPES for s in functions for b in s.bindings)


class FunctionHost:
    """One app served on one port with one durable store."""

    def __init__(self, settings: HostSettings) -> None:
        self.settings = settings
        self.functions: list[FunctionSpec] = []
        self.engine: DurableEngine | None = None
        self._store: DurableStore | None = None
        self._runner: web.AppRunner | None = None
        self._blobs: BlobTriggerRunner | None = None
        self._pool = ThreadPoolExecutor(max(4, settings.max_activities), "function")
        self._lock = DataDirLock(settings.data_dir)
        self.fatal = asyncio.Event()  # set when the engine cannot go on (its store failed)
        self.fatal_reason: str | None = None

    def _on_fatal(self, reason: str) -> None:
        self.fatal_reason = reason
        self.fatal.set()

    async def start(self) -> None:
        settings = self.settings
        self.functions = load_functions(settings.app_dir)
        invoker = Invoker(settings.app_dir, self._pool)
        management = None
        self._lock.acquire()  # before the store: two hosts must never share one data dir
        secrets = load_host_secrets(settings.data_dir, settings.master_key)
        self._store = DurableStore(settings.data_dir / "durable.sqlite3")
        if uses_durable(self.functions):
            self.engine = DurableEngine(
                store=self._store,
                functions=self.functions,
                invoker=invoker,
                max_activities=settings.max_activities,
                max_orchestrators=settings.max_orchestrators,
                on_fatal=self._on_fatal,
                options=settings.durable,
            )
            await self.engine.start()
            management = ManagementApi(self.engine, settings.hub_name, secrets.admin_key)
        front_door = HttpFrontDoor(settings, self.functions, invoker, management, secrets)
        self._runner = web.AppRunner(
            front_door.application(), access_log=None, handle_signals=False
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, settings.listen_host, settings.port, reuse_address=True)
        await site.start()
        self._blobs = BlobTriggerRunner.for_functions(
            self.functions,
            invoker,
            settings,
            receipts=self._store,
            durable_client=(
                lambda: management.client_binding(
                    f"http://127.0.0.1:{settings.port}", front_door.rpc_base_url
                )
            )
            if management is not None
            else None,
        )
        if self._blobs is not None:
            await self._blobs.start()
        self._log_functions(front_door)
        if secrets.admin_key_derived:
            log.info(
                "No FUNCHOST_MASTER_KEY: the management API needs the derived admin key in %s",
                settings.data_dir / "host-secrets.json",
            )

    def _log_functions(self, front_door: HttpFrontDoor) -> None:
        base = f"http://{self.settings.listen_host}:{self.settings.port}"
        prefix = f"/{self.settings.route_prefix}" if self.settings.route_prefix else ""
        lines = [f"Functions ({len(self.functions)}):"]
        for route in front_door.routes:
            methods = ",".join(sorted(route.methods)) if route.methods else "ALL"
            template = route.template.template
            lines.append(f"  {route.spec.name}: [{methods}] {base}{prefix}/{template}")
        for spec in self.functions:
            if spec.trigger_type != "httpTrigger":
                lines.append(f"  {spec.name}: {spec.trigger_type}")
        log.info("\n".join(lines))
        log.info("Host started on %s (data in %s)", base, self.settings.data_dir)

    async def stop(self) -> None:
        if self._blobs is not None:
            await self._blobs.stop()
        if self._runner is not None:
            await self._runner.cleanup()
        if self.engine is not None:
            await self.engine.stop()
        if self._store is not None:
            self._store.close()
        self._lock.release()
        await _close_durable_client_session()
        self._pool.shutdown(wait=False, cancel_futures=True)
        log.info("Host stopped")


async def _close_durable_client_session() -> None:
    """Close the aiohttp session the durable SDK caches globally (it has no shutdown hook)."""
    try:
        from azure.durable_functions.models.utils import http_utils

        await http_utils._close_session()
    except Exception:  # a private helper of the SDK: absence only costs a warning at exit
        pass


async def serve_forever(settings: HostSettings, stop: asyncio.Event) -> int:
    """Start the host, wait for `stop` (or a fatal engine error), shut down; the exit code."""
    host = FunctionHost(settings)
    await host.start()
    try:
        waiters = [asyncio.create_task(stop.wait()), asyncio.create_task(host.fatal.wait())]
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        for waiter in waiters:
            waiter.cancel()
    finally:
        await host.stop()
    if host.fatal_reason is not None:
        log.critical("Host stopped: %s", host.fatal_reason)
        return 1
    return 0
