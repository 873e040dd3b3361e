"""A batch larger than the status body's bound, read with the official client.

The service's batches hold at most 10,000 documents and its status body lists every one; a job
here may be larger, so the body lists the first 10,000 and `result.detailsNextLink` (our
extension) leads through the rest, page by page. This runs a real job of 10,100 files (tiny
PNGs, with corrupt and unsupported files mixed in) on the embedded host and reads every detail
through `azure-ai-documentintelligence` (`send_request` follows the links). Slow (a minute or
two on 2 cores), like the 10,000-file test.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from azure.ai.documentintelligence import DocumentIntelligenceClient
from azure.ai.documentintelligence.models import (
    AnalyzeBatchDocumentsRequest,
    AzureBlobContentSource,
)
from azure.core.credentials import AzureKeyCredential
from azure.core.rest import HttpRequest

from tests.support.azurite import REPO_ROOT
from tests.support.host import HostProcess
from tests.support.scale import tiny_png

GOOD, CORRUPT, UNSUPPORTED = 10_000, 60, 40
BOUND = 10_000


def _write_inputs(folder: Path) -> dict[str, tuple[str, str | None]]:
    """Every input's name and its expected (status, error code), in listing order."""
    folder.mkdir(parents=True)
    png = tiny_png()
    expected: dict[str, tuple[str, str | None]] = {}
    total = GOOD + CORRUPT + UNSUPPORTED
    # failures spread over the whole job: some within the first 10,000, some after them
    corrupt = {7 + 168 * k for k in range(CORRUPT - 1)} | {10_050}
    unsupported = {13 + 250 * k for k in range(UNSUPPORTED - 1)} | {10_090}
    assert not corrupt & unsupported and max(corrupt | unsupported) < total
    for i in range(total):
        name = f"doc-{i:05d}.{'txt' if i in unsupported else 'png'}"
        if i in corrupt:
            data, outcome = png[: len(png) // 2], ("failed", "InvalidContent")
        elif i in unsupported:
            data, outcome = b"plain text", ("failed", "UnsupportedContent")
        else:
            data, outcome = png, ("succeeded", None)
        (folder / name).write_bytes(data)
        expected[name] = outcome
    return expected


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_details_past_the_bound_are_paged_with_the_official_client(tmp_path: Path) -> None:
    container = tmp_path / "storage" / "paging"
    expected = _write_inputs(container / "in")
    failed = sum(1 for status, _ in expected.values() if status == "failed")
    assert len(expected) > BOUND and failed > 0
    host = HostProcess(
        REPO_ROOT,
        tmp_path / "host",
        env={
            "BATCHINFER_DATA_ROOT": str(tmp_path),
            "BATCHINFER_ITEMS_PER_ACTIVITY": "50",
            "FUNCHOST_LOG_LEVEL": "WARNING",
        },
    )
    host.start()
    client = DocumentIntelligenceClient(f"{host.base_url}/api", AzureKeyCredential("local"))
    try:
        poller = client.begin_analyze_batch_documents(
            "prebuilt-read",
            AnalyzeBatchDocumentsRequest(
                azure_blob_source=AzureBlobContentSource(
                    container_url=container.as_uri(), prefix="in/"
                ),
                result_container_url=container.as_uri(),
                result_prefix="out/",
            ),
            polling_interval=1,
        )
        result = poller.result(timeout=1500)
        assert (result.succeeded_count, result.failed_count, result.skipped_count) == (
            len(expected) - failed,
            failed,
            0,
        )
        assert result.details is not None and len(result.details) == BOUND
        link = result.get("detailsNextLink")
        assert isinstance(link, str) and "skip=10000" in link

        details: list[dict[str, Any]] = [d.as_dict() for d in result.details]
        pages = 0
        while link:
            response = client.send_request(HttpRequest("GET", link))
            response.raise_for_status()
            page = response.json()
            details.extend(page["value"])
            link = page.get("nextLink")
            pages += 1
        assert pages == 1  # 100 details left: one page
    finally:
        client.close()
        assert host.stop() == 0

    assert len(details) == len(expected)
    names = [d["sourceUrl"].rsplit("/", 1)[-1] for d in details]
    assert names == list(expected)  # every input once, in listing order
    for name, detail in zip(names, details, strict=True):
        status, code = expected[name]
        assert detail["status"] == status, detail
        if code is None:
            assert detail["resultUrl"].endswith(f"/out/{name}.ocr.json")
        else:
            assert detail["error"]["code"] == code
            assert "resultUrl" not in detail
