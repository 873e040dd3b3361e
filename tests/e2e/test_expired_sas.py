"""An expired SAS, as the official clients see it: `InvalidSasToken` in `innererror`.

Both dialects run in one host with their data in Azurite; every URL carries a container SAS
that expired five minutes ago (or, for the document results, a valid source and an expired
result container). Storage refuses each request; the job reports why without the token.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

import pytest
from azure.ai.anomalydetector import AnomalyDetectorClient
from azure.ai.anomalydetector.models import ModelInfo, MultivariateBatchDetectionOptions
from azure.ai.documentintelligence import DocumentIntelligenceClient
from azure.ai.documentintelligence.models import (
    AnalyzeBatchDocumentsRequest,
    AzureBlobContentSource,
)
from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import HttpResponseError
from azure.storage.blob import (
    BlobServiceClient,
    ContainerClient,
    ContainerSasPermissions,
    generate_container_sas,
)

from batchinfer.models.mvad.synthetic import START_MS, make_correlated_series, to_one_table_csv
from batchinfer.samples import generate_sample_documents
from tests.support.azurite import DEV_ACCOUNT, DEV_KEY, REPO_ROOT, Azurite
from tests.support.host import HostProcess

pytestmark = pytest.mark.azurite

POLL = 0.1


@dataclass
class Setup:
    host: HostProcess
    blob_endpoint: str
    container: ContainerClient
    anomaly: AnomalyDetectorClient
    documents: DocumentIntelligenceClient
    signatures: set[str]

    def url(self, path: str, *, expired: bool) -> str:
        delta = timedelta(minutes=-5) if expired else timedelta(hours=1)
        sas = generate_container_sas(
            account_name=DEV_ACCOUNT,
            container_name=self.container.container_name,
            account_key=DEV_KEY,
            expiry=datetime.now(UTC) + delta,
            permission=ContainerSasPermissions(read=True, write=True, list=True, create=True),
        )
        self.signatures.add(parse_qs(sas)["sig"][0])
        return f"{self.blob_endpoint}/{self.container.container_name}{path}?{sas}"


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory, azurite: Azurite) -> Iterator[Setup]:
    root = tmp_path_factory.mktemp("expiredsas")
    service = BlobServiceClient.from_connection_string(azurite.connection_string)
    container = service.create_container(f"sas{uuid.uuid4().hex[:12]}")
    container.upload_blob(
        "mvad/series.csv", to_one_table_csv(make_correlated_series(800, 3, seed=5)).encode()
    )
    sample = next(
        s for s in generate_sample_documents(root / "samples") if s.expected_error is None
    )
    container.upload_blob(f"docs/{sample.path.name}", sample.path.read_bytes())
    host = HostProcess(
        REPO_ROOT,
        root / "host",
        env={
            "BATCHINFER_DATA_ROOT": str(root),
            "BATCHINFER_AZURITE_ENDPOINTS": azurite.blob_endpoint,
        },
    )
    host.start()
    endpoint = f"{host.base_url}/api"
    anomaly = AnomalyDetectorClient(endpoint, AzureKeyCredential("k"))
    documents = DocumentIntelligenceClient(endpoint, AzureKeyCredential("k"))
    try:
        yield Setup(host, azurite.blob_endpoint, container, anomaly, documents, set())
    finally:
        anomaly.close()
        documents.close()
        code = host.stop()
        container.delete_container()
        assert code == 0, f"host did not shut down cleanly ({code}):\n{host.log()[-5000:]}"


def _at(row: int) -> datetime:
    return datetime.fromtimestamp((START_MS + 60_000 * row) / 1000, tz=UTC)


def _assert_invalid_sas(error: Any, setup: Setup) -> None:
    """A `{code, message, innererror}` error naming the expired token, never showing it."""
    inner = error["innererror"]
    assert inner["code"] == "InvalidSasToken", error
    assert "expired" in inner["message"]
    text = str(dict(error))
    assert "sig=" not in text and not any(s in text for s in setup.signatures)


def _wait(fetch: Any, done: Any, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = fetch()
        if done(value):
            return value
        time.sleep(POLL)
    raise AssertionError("did not finish")


def test_training_from_an_expired_sas_fails_with_invalid_sas_token(setup: Setup) -> None:
    created = setup.anomaly.train_multivariate_model(
        ModelInfo(
            data_source=setup.url("/mvad/series.csv", expired=True),
            start_time=_at(0),
            end_time=_at(799),
            sliding_window=30,
        )
    )
    model = _wait(
        lambda: setup.anomaly.get_multivariate_model(created.model_id),
        lambda m: m.model_info.status in ("READY", "FAILED"),
    )
    assert model.model_info.status == "FAILED"
    (error,) = model.model_info.errors
    assert error.code == "DataSourceNotAccessible"
    _assert_invalid_sas(error, setup)


def test_detection_from_an_expired_sas_fails_with_invalid_sas_token(setup: Setup) -> None:
    created = setup.anomaly.train_multivariate_model(
        ModelInfo(
            data_source=setup.url("/mvad/series.csv", expired=False),
            start_time=_at(0),
            end_time=_at(599),
            sliding_window=30,
        )
    )
    model = _wait(
        lambda: setup.anomaly.get_multivariate_model(created.model_id),
        lambda m: m.model_info.status in ("READY", "FAILED"),
    )
    assert model.model_info.status == "READY", model.model_info.errors
    accepted = setup.anomaly.detect_multivariate_batch_anomaly(
        created.model_id,
        MultivariateBatchDetectionOptions(
            data_source=setup.url("/mvad/series.csv", expired=True),
            start_time=_at(600),
            end_time=_at(799),
            top_contributor_count=3,
        ),
    )
    result = _wait(
        lambda: setup.anomaly.get_multivariate_batch_detection_result(accepted.result_id),
        lambda r: r.summary.status in ("READY", "FAILED"),
    )
    assert result.summary.status == "FAILED"
    (error,) = result.summary.errors
    assert error.code == "DataSourceNotAccessible"
    _assert_invalid_sas(error, setup)


def test_document_source_with_an_expired_sas_fails_the_batch(setup: Setup) -> None:
    request = AnalyzeBatchDocumentsRequest(
        azure_blob_source=AzureBlobContentSource(
            container_url=setup.url("", expired=True), prefix="docs/"
        ),
        result_container_url=setup.url("", expired=False),
        result_prefix="results-a/",
    )
    poller = setup.documents.begin_analyze_batch_documents(
        model_id="prebuilt-read", body=request, polling_interval=POLL
    )
    with pytest.raises(HttpResponseError) as failed:
        poller.result(timeout=60)
    assert poller.status().lower() == "failed"
    error = failed.value.error
    assert error is not None and error.code == "InvalidRequest"
    assert error.innererror is not None and error.innererror["code"] == "InvalidSasToken"
    assert "expired" in error.innererror["message"]


def test_document_results_with_an_expired_sas_fail_each_item(setup: Setup) -> None:
    request = AnalyzeBatchDocumentsRequest(
        azure_blob_source=AzureBlobContentSource(
            container_url=setup.url("", expired=False), prefix="docs/"
        ),
        result_container_url=setup.url("", expired=True),
        result_prefix="results-b/",
    )
    result = setup.documents.begin_analyze_batch_documents(
        model_id="prebuilt-read", body=request, polling_interval=POLL
    ).result(timeout=120)
    assert (result.succeeded_count, result.failed_count) == (0, 1)
    (detail,) = result.details
    assert detail.status == "failed" and detail.error.code == "InvalidArgument"
    assert detail.error.innererror.code == "InvalidSasToken"
    assert "expired" in detail.error.innererror.message
    assert not list(setup.container.list_blobs(name_starts_with="results-b/"))
