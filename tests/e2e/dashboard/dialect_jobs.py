"""Jobs of the two newer dialects for the dashboard host: a woodwide dataset ingest of a tiny
CSV, and an Azure ML batch endpoint invoke over a small digit folder with one broken file
(so the job completes with one failed file). Kept small: a few seconds in all."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import requests

from batchinfer.endpoints.digits import train_digits_onnx, write_digit_folder

WS = (
    "azureml/subscriptions/sub-1/resourceGroups/rg-1/providers/"
    "Microsoft.MachineLearningServices/workspaces/ws-1"
)
AML_VERSION = {"api-version": "2023-10-01"}
N_DIGITS = 6
ENDPOINT = "digits"


def _until(read: Any, done: Any, what: str, timeout: float = 120) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = read()
        if done(value):
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}: {value}")


def start_dataset_ingest(api: str, name: str = "tiny") -> str:
    """POST a small CSV to woodwide /datasets; returns the ingest job's id."""
    rows = "a,b,label\n" + "".join(f"{i},{i * 2},{'yes' if i % 2 else 'no'}\n" for i in range(30))
    created = requests.post(
        f"{api}/woodwide/datasets",
        files={"file": ("tiny.csv", rows.encode(), "text/csv")},
        data={"dataset_name": name},
        timeout=30,
    )
    assert created.status_code == 201, created.text
    return str(created.json()["job_id"])


def wait_dataset_job(api: str, job_id: str) -> dict[str, Any]:
    return dict(
        _until(
            lambda: requests.get(f"{api}/woodwide/jobs/{job_id}", timeout=30).json(),
            lambda job: job["status"] in ("succeeded", "failed", "canceled"),
            "the dataset ingest",
        )
    )


def start_endpoint_job(api: str, storage: Path) -> str:
    """Datastore, model, endpoint and deployment (as the REST walkthrough), then one invoke."""
    store = storage / "aml"
    (store / "model").mkdir(parents=True)
    (store / "model" / "digits.onnx").write_bytes(train_digits_onnx())
    write_digit_folder(store / "digits", N_DIGITS)
    (store / "digits" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    base = f"{api}/{WS}"

    def put(path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = requests.put(f"{base}/{path}", params=AML_VERSION, json=body, timeout=30)
        assert response.status_code in (200, 201), response.text
        return dict(response.json())

    put(
        "datastores/amlstore",
        {
            "properties": {
                "datastoreType": "AzureBlob",
                "containerUrl": store.as_uri(),
                "credentials": {"credentialsType": "None"},
            }
        },
    )
    model = put(
        "models/digits/versions/1",
        {"properties": {"modelUri": "azureml://datastores/amlstore/paths/model/digits.onnx"}},
    )
    put(f"batchEndpoints/{ENDPOINT}", {"location": "local", "properties": {"authMode": "AADToken"}})
    put(
        f"batchEndpoints/{ENDPOINT}/deployments/main",
        {
            "location": "local",
            "properties": {
                "model": {"referenceType": "Id", "assetId": model["id"]},
                "miniBatchSize": 4,
                "errorThreshold": -1,
                "outputAction": "SummaryOnly",
            },
        },
    )
    put(
        f"batchEndpoints/{ENDPOINT}",
        {
            "location": "local",
            "properties": {"authMode": "AADToken", "defaults": {"deploymentName": "main"}},
        },
    )
    return invoke_endpoint(api)


def invoke_endpoint(api: str) -> str:
    """One more invoke of the endpoint `start_endpoint_job` set up; returns the job's name."""
    invoke = requests.post(
        f"{api}/{WS}/batchEndpoints/{ENDPOINT}/jobs",
        params=AML_VERSION,
        timeout=30,
        json={
            "properties": {
                "InputData": {
                    "digits": {
                        "JobInputType": "UriFolder",
                        "Uri": "azureml://datastores/amlstore/paths/digits",
                    }
                }
            }
        },
    )
    assert invoke.status_code == 201, invoke.text
    return str(invoke.json()["name"])


def wait_endpoint_job(api: str, name: str) -> dict[str, Any]:
    return dict(
        _until(
            lambda: requests.get(f"{api}/{WS}/jobs/{name}", params=AML_VERSION, timeout=30).json(),
            lambda job: job["properties"]["status"] in ("Completed", "Failed", "Canceled"),
            "the batch endpoint job",
        )
    )
