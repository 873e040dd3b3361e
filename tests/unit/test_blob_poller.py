"""BlobTriggerPoller against an in-memory source and receipt store."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

import azure.functions.blob as azblob
import pytest

from funchost.blobs.pattern import BlobPathPattern
from funchost.blobs.poller import BlobTriggerBinding, BlobTriggerPoller
from funchost.blobs.sources import BlobItem


class MemorySource:
    """A container held in a dict: name -> (data, etag)."""

    def __init__(self) -> None:
        self.blobs: dict[str, tuple[bytes, str]] = {}
        self.list_prefixes: list[str] = []
        self.fail_listing = False
        self.fail_reading: set[str] = set()
        self.vanish_on_read: set[str] = set()

    def put(self, name: str, data: bytes, etag: str) -> None:
        self.blobs[name] = (data, etag)

    def list_blobs(self, prefix: str = "") -> list[BlobItem]:
        self.list_prefixes.append(prefix)
        if self.fail_listing:
            raise ConnectionError("storage down")
        return [
            BlobItem(name, etag, len(data), datetime(2024, 1, 1, tzinfo=UTC))
            for name, (data, etag) in sorted(self.blobs.items())
            if name.startswith(prefix)
        ]

    def read_blob(self, name: str) -> bytes:
        if name in self.fail_reading:
            raise ConnectionError("read failed")
        if name in self.vanish_on_read or name not in self.blobs:
            raise FileNotFoundError(name)
        return self.blobs[name][0]

    def blob_uri(self, name: str) -> str:
        return f"memory://uploads/{name}"


@dataclass
class MemoryReceipts:
    receipts: dict[tuple[str, str, str], str] = field(default_factory=dict)
    failures: dict[tuple[str, str, str], int] = field(default_factory=dict)

    def has_receipt(self, function_name: str, blob_name: str, etag: str) -> bool:
        return (function_name, blob_name, etag) in self.receipts

    def record_receipt(self, function_name: str, blob_name: str, etag: str, outcome: str) -> None:
        self.receipts[(function_name, blob_name, etag)] = outcome

    def failure_count(self, function_name: str, blob_name: str, etag: str) -> int:
        return self.failures.get((function_name, blob_name, etag), 0)

    def record_failure(self, function_name: str, blob_name: str, etag: str) -> int:
        key = (function_name, blob_name, etag)
        self.failures[key] = self.failures.get(key, 0) + 1
        return self.failures[key]


class Recorder:
    def __init__(self, fail_times: int = 0) -> None:
        self.calls: list[tuple[str, object, dict[str, str]]] = []
        self.fail_times = fail_times

    async def __call__(
        self, binding: BlobTriggerBinding, value: object, captures: dict[str, str]
    ) -> None:
        self.calls.append((binding.function_name, value, captures))
        if self.fail_times > 0:
            self.fail_times -= 1
            raise RuntimeError("function failed")


def make(
    path: str = "uploads/in/{name}",
    annotation: object = None,
    fail_times: int = 0,
    max_attempts: int = 3,
    function_name: str = "on_upload",
) -> tuple[BlobTriggerPoller, MemorySource, MemoryReceipts, Recorder]:
    source = MemorySource()
    receipts = MemoryReceipts()
    recorder = Recorder(fail_times)
    binding = BlobTriggerBinding(
        function_name=function_name,
        param_name="blob",
        pattern=BlobPathPattern.parse(path),
        source=source,
        data_type=None,
        annotation=annotation,
    )
    poller = BlobTriggerPoller(
        [binding], receipts, recorder, interval=0.01, max_attempts=max_attempts
    )
    return poller, source, receipts, recorder


def poll(poller: BlobTriggerPoller) -> int:
    return asyncio.run(poller.poll_once())


def test_fires_once_per_etag() -> None:
    poller, source, receipts, recorder = make()
    source.put("in/a.txt", b"hello", '"1"')
    assert poll(poller) == 1
    assert poll(poller) == 0
    assert len(recorder.calls) == 1
    name, value, captures = recorder.calls[0]
    assert name == "on_upload"
    assert captures == {"name": "a.txt"}
    assert isinstance(value, azblob.InputStream)
    assert value.name == "uploads/in/a.txt"
    assert value.uri == "memory://uploads/in/a.txt"
    assert value.read() == b"hello"
    assert receipts.receipts == {("on_upload", "in/a.txt", '"1"'): "succeeded"}


def test_refires_on_new_etag() -> None:
    poller, source, _, recorder = make(annotation=bytes)
    source.put("in/a.txt", b"v1", '"1"')
    poll(poller)
    source.put("in/a.txt", b"v2", '"2"')
    assert poll(poller) == 1
    assert [call[1] for call in recorder.calls] == [b"v1", b"v2"]


def test_lists_with_literal_prefix_and_ignores_non_matching() -> None:
    poller, source, _, recorder = make(path="uploads/in/{name}.pdf", annotation=bytes)
    source.put("in/doc.pdf", b"pdf", '"1"')
    source.put("in/doc.txt", b"txt", '"1"')
    source.put("out/doc.pdf", b"other", '"1"')
    assert poll(poller) == 1
    assert source.list_prefixes == ["in/"]
    assert recorder.calls == [("on_upload", b"pdf", {"name": "doc"})]


def test_retries_failures_then_poisons(caplog: pytest.LogCaptureFixture) -> None:
    poller, source, receipts, recorder = make(fail_times=10, max_attempts=3)
    source.put("in/bad.txt", b"x", '"1"')
    key = ("on_upload", "in/bad.txt", '"1"')
    with caplog.at_level(logging.WARNING, logger="funchost.blobs"):
        assert poll(poller) == 1
        assert receipts.failures[key] == 1 and key not in receipts.receipts
        assert poll(poller) == 1
        assert poll(poller) == 1
        assert receipts.receipts[key] == "poisoned"
        assert poll(poller) == 0
    assert len(recorder.calls) == 3
    assert receipts.failures[key] == 3
    assert any("poisoned" in r.getMessage() for r in caplog.records)


def test_failure_then_success() -> None:
    poller, source, receipts, recorder = make(fail_times=1)
    source.put("in/a.txt", b"x", '"1"')
    poll(poller)
    poll(poller)
    poll(poller)
    assert len(recorder.calls) == 2
    assert receipts.receipts[("on_upload", "in/a.txt", '"1"')] == "succeeded"


def test_already_exhausted_failures_are_poisoned_without_invoking() -> None:
    poller, source, receipts, recorder = make(max_attempts=2)
    source.put("in/a.txt", b"x", '"1"')
    receipts.failures[("on_upload", "in/a.txt", '"1"')] = 2
    assert poll(poller) == 0
    assert recorder.calls == []
    assert receipts.receipts[("on_upload", "in/a.txt", '"1"')] == "poisoned"


def test_value_build_failure_counts_as_attempt() -> None:
    poller, source, receipts, recorder = make(annotation=str, max_attempts=1)
    source.put("in/bin.dat", b"\xff\xfe", '"1"')
    assert poll(poller) == 0
    assert recorder.calls == []
    assert receipts.receipts[("on_upload", "in/bin.dat", '"1"')] == "poisoned"


def test_listing_errors_are_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    poller, source, _, _ = make()
    source.put("in/a.txt", b"x", '"1"')
    source.fail_listing = True
    with caplog.at_level(logging.WARNING, logger="funchost.blobs"):
        assert poll(poller) == 0
    assert "storage down" in caplog.text
    source.fail_listing = False
    assert poll(poller) == 1


def test_read_errors_skip_without_counting() -> None:
    poller, source, receipts, _ = make()
    source.put("in/a.txt", b"x", '"1"')
    source.put("in/b.txt", b"y", '"1"')
    source.fail_reading.add("in/a.txt")
    source.vanish_on_read.add("in/b.txt")
    assert poll(poller) == 0
    assert receipts.failures == {} and receipts.receipts == {}
    source.fail_reading.clear()
    source.vanish_on_read.clear()
    assert poll(poller) == 2


def test_each_function_gets_its_own_receipts() -> None:
    source = MemorySource()
    receipts = MemoryReceipts()
    recorder = Recorder()
    bindings = [
        BlobTriggerBinding(
            name, "blob", BlobPathPattern.parse("uploads/{name}"), source, None, bytes
        )
        for name in ("first", "second")
    ]
    poller = BlobTriggerPoller(bindings, receipts, recorder, interval=0.01)
    source.put("a.txt", b"x", '"1"')
    assert poll(poller) == 2
    assert poll(poller) == 0
    assert sorted(call[0] for call in recorder.calls) == ["first", "second"]


def test_run_loop_polls_until_stopped() -> None:
    poller, source, _, recorder = make(annotation=bytes)
    source.put("in/a.txt", b"1", '"1"')

    async def scenario() -> None:
        task = asyncio.create_task(poller.run())
        await asyncio.sleep(0.05)
        source.put("in/b.txt", b"2", '"1"')
        await asyncio.sleep(0.05)
        poller.stop()
        await asyncio.wait_for(task, timeout=2)

    asyncio.run(scenario())
    assert [call[1] for call in recorder.calls] == [b"1", b"2"]


def test_run_survives_unexpected_errors() -> None:
    poller, source, receipts, recorder = make(annotation=bytes)
    source.put("in/a.txt", b"1", '"1"')
    calls = {"n": 0}
    original = receipts.has_receipt

    def flaky(function_name: str, blob_name: str, etag: str) -> bool:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("db locked")
        return original(function_name, blob_name, etag)

    receipts.has_receipt = flaky  # type: ignore[method-assign]

    async def scenario() -> None:
        task = asyncio.create_task(poller.run())
        await asyncio.sleep(0.1)
        poller.stop()
        await asyncio.wait_for(task, timeout=2)

    asyncio.run(scenario())
    assert [call[1] for call in recorder.calls] == [b"1"]


def test_invalid_max_attempts() -> None:
    with pytest.raises(ValueError):
        make(max_attempts=0)
