"""Blob triggers on the embedded host: a local folder and an Azurite container, by polling."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import SAMPLE_APP
from tests.support.azurite import Azurite
from tests.support.host import HostProcess


def _receipts(out: Path, pattern: str) -> list[dict]:
    found = []
    for path in sorted(out.glob(pattern)):
        found += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return found


def _wait_for(predicate, timeout: float = 30):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("condition not reached in time")


@pytest.fixture
def blob_host(tmp_path: Path, azurite: Azurite) -> Iterator[tuple[HostProcess, Path, Path]]:
    storage = tmp_path / "storage"
    (storage / "inbox").mkdir(parents=True)
    out = tmp_path / "out"
    host = HostProcess(
        SAMPLE_APP,
        tmp_path / "data",
        env={
            "SAMPLE_OUTPUT_DIR": str(out),
            "SAMPLE_FOLDER_STORAGE": storage.as_uri(),
            "SAMPLE_AZURITE_STORAGE": azurite.connection_string,
            "FUNCHOST_BLOB_POLL_SECONDS": "0.2",
        },
    )
    host.start()
    try:
        yield host, storage, out
    finally:
        assert host.stop() == 0


def test_folder_blob_fires_once_per_version(blob_host: tuple[HostProcess, Path, Path]) -> None:
    host, storage, out = blob_host
    target = storage / "inbox" / "docs" / "a.txt"
    target.parent.mkdir()
    target.write_text("hello")
    first = _wait_for(lambda: _receipts(out, "folder-*.json"))
    assert first == [
        {"name": "inbox/docs/a.txt", "length": 5, "uri": target.as_uri(), "content": "hello"}
    ]
    time.sleep(1.0)  # several polls: no second invocation for the same version
    assert len(_receipts(out, "folder-*.json")) == 1
    time.sleep(0.05)
    target.write_text("hello again")  # a new version (new ETag) fires again
    second = _wait_for(
        lambda: len(_receipts(out, "folder-*.json")) == 2 and _receipts(out, "folder-*.json")
    )
    assert second[1]["content"] == "hello again"


def test_azurite_blob_fires_and_receipts_survive_restart(
    blob_host: tuple[HostProcess, Path, Path], azurite: Azurite
) -> None:
    from azure.storage.blob import BlobServiceClient

    host, _, out = blob_host
    service = BlobServiceClient.from_connection_string(azurite.connection_string)
    container = service.get_container_client("uploads")
    if not container.exists():
        container.create_container()
    container.upload_blob("report.csv", b"a,b\n1,2\n", overwrite=True)
    got = _wait_for(lambda: _receipts(out, "azurite-*.json"))
    assert got[0]["name"] == "uploads/report.csv"
    assert got[0]["length"] == 8
    assert got[0]["uri"].endswith("/devstoreaccount1/uploads/report.csv")
    # receipts are durable: a restarted host does not fire again for the same blob version
    assert host.stop() == 0
    host.start()
    time.sleep(1.5)
    assert len(_receipts(out, "azurite-*.json")) == 1
