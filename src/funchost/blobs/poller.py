"""Blob trigger emulation by polling, with receipts so each blob version fires once.

Why: the Functions host scans containers and keeps "blob receipts" so a function runs once per
(function, blob name, ETag), retrying a failing blob up to 5 times before poisoning it. This
poller does the same against any `BlobSource`, on asyncio, with the blocking storage calls in
worker threads so the event loop (HTTP server, durable engine) stays responsive.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from funchost.blobs.pattern import BlobPathPattern
from funchost.blobs.sources import BlobItem, BlobSource

__all__ = [
    "BlobTriggerBinding",
    "BlobTriggerPoller",
    "Invoke",
    "ReceiptStore",
    "blob_properties",
    "build_trigger_value",
]

log = logging.getLogger("funchost.blobs")

SUCCEEDED = "succeeded"
POISONED = "poisoned"


@dataclass(frozen=True)
class BlobTriggerBinding:
    """One `blobTrigger` function: what to watch and how to hand the blob to the function."""

    function_name: str
    param_name: str
    pattern: BlobPathPattern
    source: BlobSource
    data_type: str | None = None
    annotation: object = None


class ReceiptStore(Protocol):
    """Durable memory of which blob versions were handled (the host's blob receipts)."""

    def has_receipt(self, function_name: str, blob_name: str, etag: str) -> bool: ...

    def record_receipt(
        self, function_name: str, blob_name: str, etag: str, outcome: str
    ) -> None: ...

    def failure_count(self, function_name: str, blob_name: str, etag: str) -> int: ...

    def record_failure(self, function_name: str, blob_name: str, etag: str) -> int: ...


Invoke = Callable[[BlobTriggerBinding, object, dict[str, str]], Awaitable[None]]


# --------------------------------------------------------------------------------------------
# The value the user function receives
# --------------------------------------------------------------------------------------------


def blob_properties(item: BlobItem) -> dict[str, Any]:
    """The `Properties` trigger metadata, named as the .NET BlobProperties serialize."""
    return {
        "ContentLength": item.size,
        "Length": item.size,
        "ContentType": item.content_type,
        "LastModified": item.last_modified.isoformat(),
        "ETag": item.etag,
        "BlobType": "BlockBlob",
    }


def _trigger_metadata(
    item: BlobItem, container: str, uri: str, captures: dict[str, str]
) -> dict[str, Any]:
    from azure.functions.meta import Datum

    metadata: dict[str, Any] = {k: Datum(v, "string") for k, v in captures.items()}
    metadata.update(
        {
            "BlobTrigger": Datum(f"{container}/{item.name}", "string"),
            "Uri": Datum(uri, "string"),
            "Properties": Datum(json.dumps(blob_properties(item)), "json"),
            "Metadata": Datum(json.dumps(item.metadata), "json"),
        }
    )
    return metadata


def build_trigger_value(
    data: bytes,
    item: BlobItem,
    container: str,
    uri: str,
    captures: dict[str, str],
    annotation: object,
    data_type: str | None,
) -> object:
    """Build the argument exactly as the Python worker would.

    `bytes`/`str` annotations get the raw content (the worker's generic binding); anything else
    (`func.InputStream`, no annotation) goes through the registered `blobTrigger` converter,
    giving an `azure.functions.blob.InputStream`. `data_type` does not change the value: the
    worker only uses it to validate the annotation.
    """
    del data_type
    if annotation is bytes:
        return bytes(data)
    if annotation is str:
        return data.decode("utf-8")
    import azure.functions as func
    from azure.functions.meta import Datum

    registry: Any = func.get_binding_registry()  # type: ignore[no-untyped-call]
    converter = registry.get("blobTrigger")
    metadata = _trigger_metadata(item, container, uri, captures)
    return converter.decode(Datum(bytes(data), "bytes"), trigger_metadata=metadata)


# --------------------------------------------------------------------------------------------
# The poller
# --------------------------------------------------------------------------------------------


class BlobTriggerPoller:
    """Polls every binding's container; fires once per (function, blob name, ETag)."""

    def __init__(
        self,
        bindings: Sequence[BlobTriggerBinding],
        receipts: ReceiptStore,
        invoke: Invoke,
        interval: float = 2.0,
        max_attempts: int = 5,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.bindings = list(bindings)
        self.receipts = receipts
        self.invoke = invoke
        self.interval = interval
        self.max_attempts = max_attempts
        self._stopping = False
        self._wakeup: asyncio.Event | None = None

    async def run(self) -> None:
        """Poll until `stop()`; errors in one pass are logged and the loop goes on."""
        self._stopping = False
        self._wakeup = asyncio.Event()  # created here so it belongs to the running loop
        while not self._stopping:
            try:
                await self.poll_once()
            except Exception:
                log.exception("Blob trigger poll failed")
            if self._stopping:  # stop() may have set it while poll_once() awaited
                break  # type: ignore[unreachable]  # mypy keeps the narrowing across the await
            try:
                await asyncio.wait_for(self._wakeup.wait(), timeout=self.interval)
            except TimeoutError:
                pass

    def stop(self) -> None:
        """Ask `run()` to return after the current pass (call on the event loop's thread)."""
        self._stopping = True
        if self._wakeup is not None:
            self._wakeup.set()

    async def poll_once(self) -> int:
        """One pass over all bindings; returns how many invocations were made."""
        count = 0
        for binding in self.bindings:
            count += await self._poll_binding(binding)
        return count

    async def _poll_binding(self, binding: BlobTriggerBinding) -> int:
        try:
            items = await asyncio.to_thread(
                binding.source.list_blobs, binding.pattern.literal_prefix
            )
        except Exception as exc:  # storage errors must not stop polling
            log.warning(
                "Blob trigger %s: listing container %r failed: %s",
                binding.function_name,
                binding.pattern.container,
                exc,
            )
            return 0
        count = 0
        for item in items:
            captures = binding.pattern.match(item.name)
            if captures is None or self._already_done(binding, item):
                continue
            if await self._fire(binding, item, captures):
                count += 1
        return count

    def _already_done(self, binding: BlobTriggerBinding, item: BlobItem) -> bool:
        fn = binding.function_name
        if self.receipts.has_receipt(fn, item.name, item.etag):
            return True
        if self.receipts.failure_count(fn, item.name, item.etag) >= self.max_attempts:
            self.receipts.record_receipt(fn, item.name, item.etag, POISONED)
            return True
        return False

    async def _read(self, binding: BlobTriggerBinding, item: BlobItem) -> bytes | None:
        try:
            return await asyncio.to_thread(binding.source.read_blob, item.name)
        except FileNotFoundError:
            log.debug("Blob %r vanished before it could be read", item.name)
        except Exception as exc:  # retried on a later poll
            log.warning(
                "Blob trigger %s: reading blob %r failed: %s", binding.function_name, item.name, exc
            )
        return None

    async def _fire(
        self, binding: BlobTriggerBinding, item: BlobItem, captures: dict[str, str]
    ) -> bool:
        """Read, build and invoke; returns True when the function was invoked."""
        data = await self._read(binding, item)
        if data is None:
            return False
        invoked = False
        try:
            uri = binding.source.blob_uri(item.name)
            value = build_trigger_value(
                data,
                item,
                binding.pattern.container,
                uri,
                captures,
                binding.annotation,
                binding.data_type,
            )
            invoked = True
            await self.invoke(binding, value, dict(captures))
        except Exception as exc:  # a failing function is a failed attempt
            self._on_failure(binding, item, exc)
            return invoked
        self.receipts.record_receipt(binding.function_name, item.name, item.etag, SUCCEEDED)
        return True

    def _on_failure(self, binding: BlobTriggerBinding, item: BlobItem, exc: BaseException) -> None:
        fn = binding.function_name
        attempts = self.receipts.record_failure(fn, item.name, item.etag)
        if attempts >= self.max_attempts:
            self.receipts.record_receipt(fn, item.name, item.etag, POISONED)
            log.warning(
                "Blob trigger %s: blob %r (ETag %s) failed %d times and is poisoned: %s",
                fn,
                item.name,
                item.etag,
                attempts,
                exc,
            )
        else:
            log.warning(
                "Blob trigger %s: blob %r failed (attempt %d of %d), will retry: %s",
                fn,
                item.name,
                attempts,
                self.max_attempts,
                exc,
            )
