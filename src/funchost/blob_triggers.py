"""Wiring blob-triggered functions to the polling emulation.

For each `blobTrigger` function, the binding's `connection` names an app setting: Azurite
(`UseDevelopmentStorage=true`), an Azure Storage connection string, or a local folder
(`file:///path` or a directory path, whose sub-folders are the containers). Both `source` kinds
(`EventGrid`, `LogsAndContainerScan`) are emulated by polling, which is what a local host can do.
A function whose connection cannot be resolved is reported in the log and left idle; it never
stops the host.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
import re
from collections.abc import Callable
from typing import Any

from funchost.app_index import FunctionSpec
from funchost.blobs.pattern import BlobPathPattern
from funchost.blobs.poller import BlobTriggerBinding, BlobTriggerPoller, ReceiptStore
from funchost.blobs.sources import source_for_connection
from funchost.invoker import Invoker
from funchost.settings import HostSettings

log = logging.getLogger("funchost.blobs")


class BlobTriggerRunner:
    """Runs one poller over every blob-triggered function of the app."""

    def __init__(self, poller: BlobTriggerPoller) -> None:
        self._poller = poller
        self._task: asyncio.Task[None] | None = None

    @classmethod
    def for_functions(
        cls,
        functions: list[FunctionSpec],
        invoker: Invoker,
        settings: HostSettings,
        *,
        receipts: ReceiptStore,
        durable_client: Callable[[], str] | None,
    ) -> BlobTriggerRunner | None:
        specs = {s.name: s for s in functions if s.trigger_type == "blobTrigger"}
        bindings = [b for b in (_binding_for(s) for s in specs.values()) if b is not None]
        if not bindings:
            return None

        async def invoke(
            binding: BlobTriggerBinding, value: object, captures: dict[str, str]
        ) -> None:
            spec = specs[binding.function_name]
            kwargs: dict[str, Any] = {binding.param_name: value}
            if spec.client_param:
                if durable_client is None:
                    raise RuntimeError("durable client binding without durable functions")
                kwargs[spec.client_param] = durable_client()
            for name, captured in captures.items():  # binding data the function asks for
                if name in spec.parameters and name not in kwargs:
                    kwargs[name] = captured
            await invoker.invoke(spec, kwargs)

        return cls(
            BlobTriggerPoller(bindings, receipts, invoke, interval=settings.blob_poll_seconds)
        )

    async def start(self) -> None:
        self._task = asyncio.create_task(self._poller.run())

    async def stop(self) -> None:
        self._poller.stop()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, timeout=10)
            except (TimeoutError, asyncio.CancelledError):
                self._task.cancel()


_APP_SETTING = re.compile(r"%([A-Za-z0-9_.:-]+)%")


def resolve_app_settings(path: str) -> str:
    """Replace `%NAME%` binding expressions with app setting values, as the Functions host does."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in os.environ:
            raise ValueError(f"the blob path refers to app setting {name!r}, which is not set")
        return os.environ[name]

    return _APP_SETTING.sub(value, path)


def _binding_for(spec: FunctionSpec) -> BlobTriggerBinding | None:
    trigger = spec.trigger
    setting = str(trigger.get("connection") or "AzureWebJobsStorage")
    try:
        pattern = BlobPathPattern.parse(resolve_app_settings(str(trigger.get("path") or "")))
        source = source_for_connection(setting, os.environ.get(setting), pattern.container)
    except ValueError as exc:
        log.error("Blob trigger %s is disabled: %s", spec.name, exc)
        return None
    parameter = spec.parameters.get(spec.trigger_param)
    annotation = parameter.annotation if parameter is not None else inspect.Parameter.empty
    return BlobTriggerBinding(
        function_name=spec.name,
        param_name=spec.trigger_param,
        pattern=pattern,
        source=source,
        data_type=trigger.get("dataType"),
        annotation=annotation,
    )
