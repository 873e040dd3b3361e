"""The inbox blob trigger on the embedded host, with real OCR: a folder inbox and an Azurite one.

Uploading a document yields its `.ocr.json` in the results container; uploading a manifest runs
its batch and writes `<name>.report.json` next to it; an invalid manifest gets a `failed` report;
a blob version is processed once (counted as `batch_job` instances through the durable
management API), and a new version of the blob is processed again.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
import requests

from batchinfer.samples import SampleDoc, generate_sample_documents
from tests.support.azurite import REPO_ROOT, Azurite
from tests.support.host import HostProcess

MODEL = "prebuilt-read"
T = TypeVar("T")


def wait_for(predicate: Callable[[], T | None], timeout: float = 120, what: str = "") -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"not reached in {timeout}s: {what}")


def batch_jobs(host: HostProcess) -> list[dict[str, Any]]:
    """Every `batch_job` instance the host knows, via the durable management API."""
    response = requests.get(
        f"{host.base_url}/runtime/webhooks/durabletask/instances",
        headers={"x-functions-key": host.admin_key},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return [i for i in response.json() if (i.get("name") or "").lower() == "batch_job"]


def put_file(path: Path, data: bytes) -> None:
    """Write as an upload would appear: all at once (the poller skips hidden temp files)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.parent / f".upload-{uuid.uuid4().hex}"
    temp.write_bytes(data)
    os.replace(temp, path)


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> list[SampleDoc]:
    return generate_sample_documents(tmp_path_factory.mktemp("samples"))


def sample(samples: list[SampleDoc], name: str) -> SampleDoc:
    return next(s for s in samples if s.path.name == name)


def manifest_body(storage: Path, **extra: Any) -> bytes:
    return json.dumps(
        {
            "azureBlobSource": {"containerUrl": (storage / "in").as_uri(), "prefix": "docs/"},
            "resultContainerUrl": (storage / "out").as_uri(),
            "resultPrefix": "nightly/",
            **extra,
        }
    ).encode()


def check_manifest_report(report: dict[str, Any], samples: list[SampleDoc]) -> None:
    ok = [s for s in samples if s.expected_error is None]
    assert report["status"] == "succeeded", report
    assert (report["succeededCount"], report["failedCount"], report["skippedCount"]) == (
        len(ok),
        len(samples) - len(ok),
        0,
    )
    assert report["modelId"] == MODEL
    assert len(report["details"]) == len(samples)
    assert "error" not in report


def check_ocr(raw: bytes, doc: SampleDoc) -> None:
    result = json.loads(raw)
    assert result["modelId"] == MODEL
    assert len(result["pages"]) == len(doc.pages)
    expected = set(doc.expected_text.split())
    assert len(set(result["content"].split()) & expected) >= 0.8 * len(expected)


def host_env(root: Path, storage: Path, **extra: str) -> dict[str, str]:
    return {
        "BATCHINFER_DATA_ROOT": str(root),
        "BATCHINFER_LOCAL_ROOTS": str(storage),
        "BATCHINFER_ITEMS_PER_ACTIVITY": "4",
        "BATCHINFER_INBOX_MODEL": MODEL,
        "FUNCHOST_BLOB_POLL_SECONDS": "0.2",
        **extra,
    }


# ----------------------------------------------------------------------------- folder inbox


@dataclass
class FolderInbox:
    host: HostProcess
    storage: Path

    @property
    def inbox(self) -> Path:
        return self.storage / "inbox"

    @property
    def results(self) -> Path:
        return self.storage / "results"


@pytest.fixture
def folder_inbox(tmp_path: Path) -> Iterator[FolderInbox]:
    storage = tmp_path / "storage"
    (storage / "inbox").mkdir(parents=True)
    host = HostProcess(
        REPO_ROOT,
        tmp_path / "host",
        env=host_env(
            tmp_path,
            storage,
            BATCHINFER_INBOX_CONTAINER="inbox",
            BATCHINFER_INBOX_STORAGE=storage.as_uri(),
            BATCHINFER_RESULTS_CONTAINER_URL=(storage / "results").as_uri(),
        ),
    )
    host.start()
    try:
        yield FolderInbox(host, storage)
    finally:
        code = host.stop()
        assert code == 0, f"host did not shut down cleanly ({code}):\n{host.log()[-5000:]}"


def test_folder_inbox_documents_and_manifests(
    folder_inbox: FolderInbox, samples: list[SampleDoc]
) -> None:
    box = folder_inbox
    invoice, receipt = sample(samples, "invoice.png"), sample(samples, "receipt.jpg")
    for doc in samples:  # the manifest's source, outside the inbox
        put_file(box.storage / "in" / "docs" / doc.path.name, doc.path.read_bytes())

    # a document: its result appears under the same relative path in the results container
    put_file(box.inbox / "scans" / "invoice.png", invoice.path.read_bytes())
    result = box.results / "scans" / "invoice.png.ocr.json"
    wait_for(result.exists, what=f"{result}\n{box.host.log()[-3000:]}")
    check_ocr(result.read_bytes(), invoice)

    # a manifest: the batch runs and its report appears next to it
    put_file(box.inbox / "jobs" / "nightly.batch.json", manifest_body(box.storage))
    report_path = box.inbox / "jobs" / "nightly.report.json"
    wait_for(report_path.exists, what=f"{report_path}\n{box.host.log()[-3000:]}")
    report = json.loads(report_path.read_bytes())
    check_manifest_report(report, samples)
    assert (box.storage / "out" / "nightly" / "invoice.png.ocr.json").exists()
    # ...and it is an ordinary job the Document Intelligence API can read
    operation = requests.get(
        f"{box.host.base_url}/api/documentintelligence/documentModels/{MODEL}/"
        f"analyzeBatchResults/{report['resultId']}?api-version=2024-11-30",
        timeout=30,
    ).json()
    assert operation["status"] == "succeeded"
    assert operation["result"]["succeededCount"] == report["succeededCount"]

    # an invalid manifest (a source outside the allow-list): a failed report, no job
    put_file(
        box.inbox / "bad.batch.json",
        json.dumps(
            {
                "azureBlobSource": {"containerUrl": "https://attacker.example.com/c"},
                "resultContainerUrl": (box.storage / "out").as_uri(),
            }
        ).encode(),
    )
    put_file(box.inbox / "broken.batch.json", b"{not json")
    bad = wait_for(
        lambda: (
            (box.inbox / "bad.report.json").exists()
            and json.loads((box.inbox / "bad.report.json").read_bytes())
        )
    )
    assert bad["status"] == "failed"
    assert bad["error"]["code"] == "InvalidRequest"
    assert bad["error"]["innererror"]["code"] == "InvalidContentSourceFormat"
    broken = wait_for(
        lambda: (
            (box.inbox / "broken.report.json").exists()
            and json.loads((box.inbox / "broken.report.json").read_bytes())
        )
    )
    assert broken["status"] == "failed"
    assert broken["error"]["innererror"]["code"] == "InvalidJson"

    # touching nothing: several polls later, still one job per upload and untouched outputs
    stamps = (result.stat().st_mtime_ns, report_path.stat().st_mtime_ns)
    time.sleep(2)
    jobs = batch_jobs(box.host)
    assert len(jobs) == 2, jobs
    assert all(j["runtimeStatus"] == "Completed" for j in jobs), jobs
    assert (result.stat().st_mtime_ns, report_path.stat().st_mtime_ns) == stamps
    assert not list(box.results.rglob("*.report.json")) and not list(
        box.inbox.rglob("*.ocr.json")
    ), "outputs must not be processed as inputs"

    # a new version of the document is processed again and replaces the result
    put_file(box.inbox / "scans" / "invoice.png", receipt.path.read_bytes())
    wait_for(
        lambda: (
            result.stat().st_mtime_ns != stamps[0]
            and json.loads(result.read_bytes())["content"] != ""
        ),
        what="re-analysis",
    )
    wait_for(
        lambda: (
            len(batch_jobs(box.host)) == 3
            and all(j["runtimeStatus"] == "Completed" for j in batch_jobs(box.host))
        )
    )
    check_ocr(result.read_bytes(), receipt)


# ---------------------------------------------------------------------------- Azurite inbox


@pytest.mark.azurite
def test_azurite_inbox_documents_and_manifests(
    tmp_path: Path, azurite: Azurite, samples: list[SampleDoc]
) -> None:
    from azure.storage.blob import BlobServiceClient

    container = f"inbox{uuid.uuid4().hex[:8]}"
    results_container = f"results{uuid.uuid4().hex[:8]}"
    storage = tmp_path / "storage"
    for doc in samples:
        put_file(storage / "in" / "docs" / doc.path.name, doc.path.read_bytes())
    blobs = BlobServiceClient.from_connection_string(azurite.connection_string)
    inbox = blobs.get_container_client(container)
    inbox.create_container()
    results = blobs.get_container_client(results_container)
    results.create_container()  # operator-configured, so provisioned (as infra/ does in Azure)

    host = HostProcess(
        REPO_ROOT,
        tmp_path / "host",
        env=host_env(
            tmp_path,
            storage,
            BATCHINFER_INBOX_CONTAINER=container,
            BATCHINFER_INBOX_STORAGE=azurite.connection_string,
            BATCHINFER_RESULTS_CONTAINER_URL=f"{azurite.blob_endpoint}/{results_container}",
        ),
    )
    host.start()
    try:
        invoice = sample(samples, "invoice.png")
        inbox.upload_blob("scans/invoice.png", invoice.path.read_bytes())
        inbox.upload_blob("jobs/nightly.batch.json", manifest_body(storage))
        inbox.upload_blob("bad.batch.json", json.dumps({"resultContainerUrl": "x"}).encode())

        def blob(client: Any, name: str) -> bytes | None:
            item = client.get_blob_client(name)
            return item.download_blob().readall() if item.exists() else None

        raw = wait_for(
            lambda: blob(results, "scans/invoice.png.ocr.json"),
            what=f"document result\n{host.log()[-3000:]}",
        )
        check_ocr(raw, invoice)
        report = json.loads(
            wait_for(
                lambda: blob(inbox, "jobs/nightly.report.json"),
                what=f"manifest report\n{host.log()[-3000:]}",
            )
        )
        check_manifest_report(report, samples)
        bad = json.loads(wait_for(lambda: blob(inbox, "bad.report.json")))
        assert bad["status"] == "failed"
        assert bad["error"]["innererror"]["code"] == "InvalidArgument"

        time.sleep(2)  # several polls: no duplicate work
        jobs = batch_jobs(host)
        assert len(jobs) == 2, jobs
        assert sorted(b.name for b in inbox.list_blobs()) == sorted(
            [
                "bad.batch.json",
                "bad.report.json",
                "jobs/nightly.batch.json",
                "jobs/nightly.report.json",
                "scans/invoice.png",
            ]
        )
        assert [b.name for b in results.list_blobs()] == ["scans/invoice.png.ocr.json"]
    finally:
        code = host.stop()
        shutil.rmtree(storage, ignore_errors=True)
        assert code == 0, f"host did not shut down cleanly ({code}):\n{host.log()[-5000:]}"
