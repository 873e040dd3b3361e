"""The unmodified `azure-ai-documentintelligence` client against the host, data in Azurite.

Users point the official SDK at this service; these tests run its batch calls as a user would,
with inputs and results in Azurite containers addressed by container SAS URLs.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, quote

import pytest
from azure.ai.documentintelligence import DocumentIntelligenceClient
from azure.ai.documentintelligence.models import (
    AnalyzeBatchDocumentsRequest,
    AzureBlobContentSource,
    AzureBlobFileListContentSource,
)
from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.storage.blob import (
    BlobServiceClient,
    ContainerClient,
    ContainerSasPermissions,
    generate_container_sas,
)

from batchinfer.samples import SampleDoc, generate_sample_documents
from tests.support.azurite import DEV_ACCOUNT, DEV_KEY, REPO_ROOT, Azurite
from tests.support.host import HostProcess

pytestmark = pytest.mark.azurite

MODEL = "prebuilt-read"
POLL = 0.2


@dataclass
class Setup:
    host: HostProcess
    client: DocumentIntelligenceClient
    samples: list[SampleDoc]
    blob_endpoint: str
    inputs: ContainerClient
    results: ContainerClient
    signatures: set[str] = field(default_factory=set)  # every SAS `sig` handed to the host

    def sas_url(self, container: ContainerClient) -> str:
        sas = generate_container_sas(
            account_name=DEV_ACCOUNT,
            container_name=container.container_name,
            account_key=DEV_KEY,
            expiry=datetime.now(UTC) + timedelta(hours=1),
            permission=ContainerSasPermissions(read=True, write=True, list=True, create=True),
        )
        self.signatures.add(parse_qs(sas)["sig"][0])
        return f"{self.blob_endpoint}/{container.container_name}?{sas}"

    def request(
        self, *, prefix: str = "docs/", result_prefix: str = "results/", overwrite: bool = False
    ) -> AnalyzeBatchDocumentsRequest:
        return AnalyzeBatchDocumentsRequest(
            azure_blob_source=AzureBlobContentSource(
                container_url=self.sas_url(self.inputs), prefix=prefix
            ),
            result_container_url=self.sas_url(self.results),
            result_prefix=result_prefix,
            overwrite_existing=overwrite,
        )


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory, azurite: Azurite) -> Iterator[Setup]:
    root = tmp_path_factory.mktemp("docclient")
    samples = generate_sample_documents(root / "samples")
    service = BlobServiceClient.from_connection_string(azurite.connection_string)
    suffix = uuid.uuid4().hex[:12]
    inputs = service.create_container(f"inputs{suffix}")
    results = service.create_container(f"results{suffix}")
    for doc in samples:
        inputs.upload_blob(f"docs/{doc.path.name}", doc.path.read_bytes())
    inputs.upload_blob("elsewhere/ignored.png", samples[0].path.read_bytes())
    host = HostProcess(
        REPO_ROOT,
        root / "host",
        env={
            "BATCHINFER_DATA_ROOT": str(root),
            "BATCHINFER_AZURITE_ENDPOINTS": azurite.blob_endpoint,
        },
    )
    host.start()
    client = DocumentIntelligenceClient(
        endpoint=f"{host.base_url}/api", credential=AzureKeyCredential("any")
    )
    try:
        yield Setup(host, client, samples, azurite.blob_endpoint, inputs, results)
    finally:
        client.close()
        code = host.stop()
        inputs.delete_container()
        results.delete_container()
        assert code == 0, f"host did not shut down cleanly ({code}):\n{host.log()[-5000:]}"


@dataclass
class FirstBatch:
    result: object
    continuation_token: str
    result_id: str


@pytest.fixture(scope="module")
def first_batch(setup: Setup) -> FirstBatch:
    known = {op.result_id for op in setup.client.list_analyze_batch_results(model_id=MODEL)}
    poller = setup.client.begin_analyze_batch_documents(
        model_id=MODEL, body=setup.request(), polling_interval=POLL
    )
    result = poller.result(timeout=120)
    assert poller.done() and poller.status().lower() == "succeeded"
    token = poller.continuation_token()
    (result_id,) = {
        op.result_id for op in setup.client.list_analyze_batch_results(model_id=MODEL)
    } - known
    assert str(uuid.UUID(result_id)) == result_id
    return FirstBatch(result, token, result_id)


def _by_name(details: list) -> dict[str, object]:  # type: ignore[type-arg]
    return {d.source_url.rsplit("/", 1)[-1]: d for d in details}


def test_batch_returns_counts_and_details(setup: Setup, first_batch: FirstBatch) -> None:
    result = first_batch.result
    expected_ok = [s for s in setup.samples if s.expected_error is None]
    expected_bad = {s.path.name: s.expected_error for s in setup.samples if s.expected_error}
    assert (
        (result.succeeded_count, result.failed_count, result.skipped_count)
        == (len(expected_ok), len(expected_bad), 0)
        == (5, 2, 0)
    )
    details = _by_name(result.details)
    assert set(details) == {s.path.name for s in setup.samples}  # elsewhere/ is not included
    container = f"{setup.blob_endpoint}/{setup.inputs.container_name}"
    out = f"{setup.blob_endpoint}/{setup.results.container_name}"
    for doc in setup.samples:
        detail = details[doc.path.name]
        assert detail.source_url == f"{container}/docs/{doc.path.name}"
        if doc.expected_error:
            assert detail.status == "failed"
            assert detail.error.code == doc.expected_error
            assert detail.result_url is None
        else:
            assert detail.status == "succeeded"
            assert detail.result_url == f"{out}/results/{doc.path.name}.ocr.json"
            assert detail.error is None
        assert "?" not in detail.source_url and "?" not in (detail.result_url or "")


def test_result_blobs_exist_in_azurite(setup: Setup, first_batch: FirstBatch) -> None:
    import json

    names = sorted(b.name for b in setup.results.list_blobs())
    assert names == sorted(
        f"results/{s.path.name}.ocr.json" for s in setup.samples if s.expected_error is None
    )
    for doc in setup.samples:
        if doc.expected_error:
            continue
        body = json.loads(
            setup.results.download_blob(f"results/{doc.path.name}.ocr.json").readall()
        )
        assert body["modelId"] == MODEL
        assert len(body["pages"]) == len(doc.pages)
        assert body["pages"][0]["lines"][0]["content"] in doc.expected_text


def test_list_get_and_delete(setup: Setup, first_batch: FirstBatch) -> None:
    operations = list(setup.client.list_analyze_batch_results(model_id=MODEL))
    mine = [op for op in operations if op.result_id == first_batch.result_id]
    assert len(mine) == 1
    assert mine[0].status == "succeeded"
    assert mine[0].percent_completed == 100
    assert mine[0].created_date_time <= mine[0].last_updated_date_time

    again = setup.client.get_analyze_batch_result(first_batch.continuation_token)
    fetched = again.result(timeout=30)
    assert fetched.succeeded_count == first_batch.result.succeeded_count
    assert len(fetched.details) == len(first_batch.result.details)

    # delete a separate batch so the others keep theirs
    poller = setup.client.begin_analyze_batch_documents(
        model_id=MODEL,
        body=setup.request(prefix="elsewhere/", result_prefix="other/"),
        polling_interval=POLL,
    )
    assert poller.result(timeout=120).succeeded_count == 1
    victim = _newest(setup, exclude={first_batch.result_id})
    setup.client.delete_analyze_batch_result(model_id=MODEL, result_id=victim)
    remaining = {op.result_id for op in setup.client.list_analyze_batch_results(model_id=MODEL)}
    assert victim not in remaining and first_batch.result_id in remaining
    with pytest.raises(ResourceNotFoundError):
        setup.client.delete_analyze_batch_result(model_id=MODEL, result_id=victim)


def _newest(setup: Setup, exclude: set[str]) -> str:
    operations = [
        op
        for op in setup.client.list_analyze_batch_results(model_id=MODEL)
        if op.result_id not in exclude
    ]
    return max(operations, key=lambda op: op.created_date_time).result_id


def test_second_batch_skips_existing_outputs(setup: Setup, first_batch: FirstBatch) -> None:
    before = {b.name: b.etag for b in setup.results.list_blobs(name_starts_with="results/")}
    poller = setup.client.begin_analyze_batch_documents(
        model_id=MODEL, body=setup.request(overwrite=False), polling_interval=POLL
    )
    result = poller.result(timeout=120)
    assert (result.succeeded_count, result.failed_count, result.skipped_count) == (0, 2, 5)
    for detail in result.details:
        if detail.status == "skipped":
            assert detail.error.code == "OutputExists"
            assert detail.result_url is None
    after = {b.name: b.etag for b in setup.results.list_blobs(name_starts_with="results/")}
    assert after == before  # nothing rewritten


def test_file_list_source(setup: Setup, first_batch: FirstBatch) -> None:
    setup.inputs.upload_blob(
        "lists/two.jsonl",
        b'{"file": "docs/invoice.png"}\n{"file": "docs/notes.txt"}\n',
        overwrite=True,
    )
    body = AnalyzeBatchDocumentsRequest(
        azure_blob_file_list_source=AzureBlobFileListContentSource(
            container_url=setup.sas_url(setup.inputs), file_list="lists/two.jsonl"
        ),
        result_container_url=setup.sas_url(setup.results),
        result_prefix="listed/",
    )
    result = setup.client.begin_analyze_batch_documents(
        model_id=MODEL, body=body, polling_interval=POLL
    ).result(timeout=120)
    assert (result.succeeded_count, result.failed_count) == (1, 1)
    assert setup.results.get_blob_client("listed/docs/invoice.png.ocr.json").exists()


def test_errors_surface_as_sdk_exceptions(setup: Setup) -> None:
    with pytest.raises(ResourceNotFoundError) as missing_model:
        setup.client.begin_analyze_batch_documents(
            model_id="prebuilt-nope", body=setup.request(), polling_interval=POLL
        )
    assert missing_model.value.error.code == "ModelNotFound"
    bad = AnalyzeBatchDocumentsRequest(
        azure_blob_source=AzureBlobContentSource(container_url="https://evil.example.com/c"),
        result_container_url=setup.sas_url(setup.results),
    )
    with pytest.raises(HttpResponseError) as refused:
        setup.client.begin_analyze_batch_documents(model_id=MODEL, body=bad, polling_interval=POLL)
    assert refused.value.status_code == 400
    assert refused.value.error.code == "InvalidRequest"
    with pytest.raises(ResourceNotFoundError):
        setup.client.delete_analyze_batch_result(model_id=MODEL, result_id=str(uuid.uuid4()))


def test_sas_not_in_host_log(setup: Setup, first_batch: FirstBatch) -> None:
    log = setup.host.log()
    assert log and setup.signatures
    for signature in setup.signatures:
        assert signature not in log and quote(signature, safe="") not in log
