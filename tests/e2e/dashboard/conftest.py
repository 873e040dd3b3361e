"""One product host with real jobs of every kind, shared by the dashboard and OpenAPI tests.

Jobs: a document batch over the sample documents (succeeded items plus the corrupt PNG and the
`.txt`, which fail), an anomaly model trained on a synthetic OneTable CSV and a detection over
it with injected anomalies. Everything runs once per test session.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from batchinfer.models.mvad.synthetic import (
    inject_anomalies,
    make_correlated_series,
    to_one_table_csv,
)
from batchinfer.samples import SampleDoc, generate_sample_documents
from tests.e2e.dashboard import dialect_jobs
from tests.support.azurite import REPO_ROOT, Azurite
from tests.support.host import HostProcess

API_VERSION = "2024-11-30"
MVAD = "anomalydetector/v1.1/multivariate"
N_TIMESTAMPS = 3_000
TRAIN_ROWS = 1_200
WINDOW = 28


@dataclass
class JobsHost:
    host: HostProcess
    storage: Path
    samples: list[SampleDoc]
    document_job: str = ""
    document_body: dict[str, Any] = field(default_factory=dict)
    model_id: str = ""
    detection_id: str = ""
    dataset_job: str = ""  # woodwide ingest (tests/e2e/dashboard/dialect_jobs.py)
    endpoint_job: str = ""  # Azure ML batch endpoint invoke

    @property
    def api(self) -> str:
        return f"{self.host.base_url}/api"

    def get(self, path: str, **params: Any) -> requests.Response:
        return requests.get(f"{self.api}/{path}", params=params, timeout=60)

    def wait_document_job(self, location: str, timeout: float = 180) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            body = requests.get(location, timeout=30).json()
            if body["status"] in ("succeeded", "failed", "canceled"):
                return body
            time.sleep(0.2)
        raise AssertionError(f"document job did not finish: {body}")

    def submit_documents(self, prefix: str = "docs/", result_prefix: str = "results/") -> str:
        response = requests.post(
            f"{self.api}/documentintelligence/documentModels/prebuilt-read:analyzeBatch",
            params={"api-version": API_VERSION},
            timeout=30,
            json={
                "azureBlobSource": {
                    "containerUrl": (self.storage / "in").as_uri(),
                    "prefix": prefix,
                },
                "resultContainerUrl": (self.storage / "out").as_uri(),
                "resultPrefix": result_prefix,
                "overwriteExisting": True,
            },
        )
        assert response.status_code == 202, response.text
        return response.headers["Operation-Location"]


def _wait_for(predicate: Any, what: str, timeout: float = 180) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="session")
def jobs_host(tmp_path_factory: pytest.TempPathFactory, azurite: Azurite) -> Iterator[JobsHost]:
    """One host for the dashboard tests; it may read the session's Azurite (random port)."""
    root = tmp_path_factory.mktemp("dashboard")
    storage = root / "storage"
    (storage / "data").mkdir(parents=True)
    samples = generate_sample_documents(storage / "in" / "docs")
    clean = make_correlated_series(N_TIMESTAMPS, 3, seed=3)
    noisy, _ = inject_anomalies(clean, seed=4, n_per_kind=2, margin=TRAIN_ROWS + 100, gap=150)
    (storage / "data" / "series.csv").write_text(to_one_table_csv(noisy))
    host = HostProcess(
        REPO_ROOT,
        root / "host",
        env={
            "BATCHINFER_DATA_ROOT": str(root),
            "BATCHINFER_LOCAL_ROOTS": str(storage),
            "BATCHINFER_ITEMS_PER_ACTIVITY": "1",
            "BATCHINFER_AZURITE_ENDPOINTS": azurite.blob_endpoint,
        },
    )
    host.start()
    jobs = JobsHost(host, storage, samples)
    try:
        location = jobs.submit_documents()
        jobs.document_job = location.split("?")[0].rsplit("/", 1)[1]
        stamps = to_one_table_csv(noisy).splitlines()
        first, last = stamps[1].split(",")[0], stamps[-1].split(",")[0]
        train_end = stamps[TRAIN_ROWS].split(",")[0]
        source = (storage / "data" / "series.csv").as_uri()
        model = requests.post(
            f"{jobs.api}/{MVAD}/models",
            timeout=30,
            json={
                "dataSource": source,
                "startTime": first,
                "endTime": train_end,
                "slidingWindow": WINDOW,
                "displayName": "plant",
            },
        )
        assert model.status_code == 201, model.text
        jobs.model_id = model.json()["modelId"]
        jobs.dataset_job = dialect_jobs.start_dataset_ingest(jobs.api)
        jobs.endpoint_job = dialect_jobs.start_endpoint_job(jobs.api, storage)
        jobs.document_body = jobs.wait_document_job(location)
        _wait_for(
            lambda: (
                jobs.get(f"{MVAD}/models/{jobs.model_id}").json()["modelInfo"]["status"] == "READY"
            ),
            "the model to train",
        )
        detect = requests.post(
            f"{jobs.api}/{MVAD}/models/{jobs.model_id}:detect-batch",
            timeout=30,
            json={
                "dataSource": source,
                "startTime": first,
                "endTime": last,
                "topContributorCount": 3,
            },
        )
        assert detect.status_code == 202, detect.text
        jobs.detection_id = detect.json()["resultId"]
        _wait_for(
            lambda: (
                jobs.get(f"{MVAD}/detect-batch/{jobs.detection_id}").json()["summary"]["status"]
                in ("READY", "FAILED")
            ),
            "the detection",
        )
        dialect_jobs.wait_dataset_job(jobs.api, jobs.dataset_job)
        dialect_jobs.wait_endpoint_job(jobs.api, jobs.endpoint_job)
        yield jobs
    finally:
        code = host.stop()
        assert code == 0, f"host did not shut down cleanly ({code}):\n{host.log()[-5000:]}"
