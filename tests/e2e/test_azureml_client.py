"""The unmodified `azure-ai-ml` (1.35) client against the host, as a user's script runs it.

`AZUREML_DEV_URL_MFE` points the client at `<host>/api/azureml`; the credential is any object
with `get_token` (its token is the service's API key). The workspace is the one `batchinfer
prepare` ships: the `digits` endpoint with its `classifier` deployment and the digit images.
Predictions must equal the same ONNX model run in-process on the same PNG files.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest
import requests
from azure.core.credentials import AccessToken
from PIL import Image

from batchinfer.endpoints.digits import (
    PIXEL_MAX,
    SAMPLE_LABELS_FILE,
    SAMPLE_MODEL_PATH,
    install_sample_endpoint,
)
from tests.support.azurite import REPO_ROOT
from tests.support.host import HostProcess

API_KEY = "aml-test-key"
SUB, RG, WS = "0000-sub", "my-rg", "my-ws"
TERMINAL = {"Completed", "Failed", "Canceled"}


class StaticToken:
    """What a user passes instead of DefaultAzureCredential against a local server."""

    def __init__(self, token: str) -> None:
        self.token = token

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(self.token, int(time.time()) + 3600)


@dataclass
class Setup:
    host: HostProcess
    client: Any
    storage: Path
    labels: dict[str, int]


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory, monkeypatch_module: Any) -> Iterator[Setup]:
    root = tmp_path_factory.mktemp("amlclient")
    install_sample_endpoint(root)
    host = HostProcess(
        REPO_ROOT,
        root / "host",
        env={"BATCHINFER_DATA_ROOT": str(root), "BATCHINFER_API_KEYS": API_KEY},
    )
    host.start()
    monkeypatch_module.setenv("AZUREML_DEV_URL_MFE", f"{host.base_url}/api/azureml")
    from azure.ai.ml import MLClient

    client = MLClient(StaticToken(API_KEY), SUB, RG, WS)
    storage = root / "storage"
    labels = {
        name: int(label)
        for name, label in csv.reader(io.StringIO((storage / SAMPLE_LABELS_FILE).read_text()))
    }
    try:
        yield Setup(host, client, storage, labels)
    finally:
        code = host.stop()
        assert code == 0, f"host did not shut down cleanly ({code}):\n{host.log()[-5000:]}"


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    patch = pytest.MonkeyPatch()
    yield patch
    patch.undo()


def _wait(setup: Setup, name: str, timeout: float = 120) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = setup.client.jobs.get(name)
        if job.status in TERMINAL:
            return job
        time.sleep(0.3)
    raise AssertionError(f"job {name} did not finish")


def _predictions(setup: Setup, job: Any) -> list[list[str]]:
    uri = job.properties["OutputUri"]
    path = uri.split("/paths/", 1)[1]
    return list(csv.reader(io.StringIO((setup.storage / path).read_text())))


def _in_process(setup: Setup, names: list[str]) -> dict[str, int]:
    """The plain way: read each PNG, scale like the training data, run the same ONNX model."""
    session = ort.InferenceSession(str(setup.storage / SAMPLE_MODEL_PATH))
    found = {}
    for name in names:
        pixels = np.asarray(
            Image.open(setup.storage / "digits" / name).convert("L"), dtype=np.float32
        ) * (PIXEL_MAX / 255.0)
        found[name] = int(session.run(None, {"X": pixels.reshape(1, -1)})[0][0])
    return found


def test_invoke_folder_scores_every_image_like_the_model_in_process(setup: Setup) -> None:
    from azure.ai.ml import Input

    job = setup.client.batch_endpoints.invoke(
        endpoint_name="digits",
        input=Input(type="uri_folder", path="azureml://datastores/workspaceblobstore/paths/digits"),
    )
    assert job.name.startswith("batchjob-")
    assert job.status in ("NotStarted", "Running")
    done = _wait(setup, job.name)
    assert done.status == "Completed"
    assert done.properties["TotalFiles"] == str(len(setup.labels))
    assert done.properties["FailedFiles"] == "0"
    rows = _predictions(setup, done)
    assert sorted(r[0] for r in rows) == sorted(setup.labels)
    assert all(len(r) == 3 and 0.0 <= float(r[2]) <= 1.0 for r in rows)
    predicted = {r[0]: int(r[1]) for r in rows}
    expected = _in_process(setup, sorted(setup.labels))
    assert predicted == expected
    accuracy = np.mean([predicted[n] == label for n, label in setup.labels.items()])
    in_process = np.mean([expected[n] == label for n, label in setup.labels.items()])
    assert accuracy == in_process and accuracy > 0.85


def test_invoke_one_file_on_a_named_deployment(setup: Setup) -> None:
    from azure.ai.ml import Input

    name = "digit-00007.png"
    job = setup.client.batch_endpoints.invoke(
        endpoint_name="digits",
        deployment_name="classifier",
        input=Input(
            type="uri_file", path=f"azureml://datastores/workspaceblobstore/paths/digits/{name}"
        ),
    )
    done = _wait(setup, job.name)
    assert done.status == "Completed"
    rows = _predictions(setup, done)
    assert [r[0] for r in rows] == [name]
    assert int(rows[0][1]) == _in_process(setup, [name])[name]


def test_unknown_deployment_is_refused_before_any_job(setup: Setup) -> None:
    from azure.ai.ml import Input
    from azure.ai.ml.exceptions import ValidationException

    before = {j.name for j in setup.client.jobs.list()}
    with pytest.raises(ValidationException):
        setup.client.batch_endpoints.invoke(
            endpoint_name="digits",
            deployment_name="nope",
            input=Input(
                type="uri_folder", path="azureml://datastores/workspaceblobstore/paths/digits"
            ),
        )
    assert {j.name for j in setup.client.jobs.list()} == before


def test_jobs_list_holds_the_invoked_jobs(setup: Setup) -> None:
    from azure.ai.ml import Input

    job = setup.client.batch_endpoints.invoke(
        endpoint_name="digits",
        input=Input(
            type="uri_file",
            path="azureml://datastores/workspaceblobstore/paths/digits/digit-00001.png",
        ),
    )
    _wait(setup, job.name)
    listed = {j.name: j.status for j in setup.client.jobs.list()}
    assert listed[job.name] == "Completed"
    assert len(listed) >= 2


def test_a_wrong_token_gets_401_in_arm_shape(setup: Setup) -> None:
    url = (
        f"{setup.host.base_url}/api/azureml/subscriptions/{SUB}/resourceGroups/{RG}/providers/"
        f"Microsoft.MachineLearningServices/workspaces/{WS}/batchEndpoints/digits"
    )
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        response = requests.get(
            url, headers=headers, params={"api-version": "2023-10-01"}, timeout=10
        )
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "AuthenticationFailed"
    ok = requests.get(url, headers={"Authorization": f"Bearer {API_KEY}"}, timeout=10)
    assert ok.status_code == 200
    body = ok.json()
    assert body["id"].endswith(f"/workspaces/{WS}/batchEndpoints/digits")
    assert body["properties"]["defaults"]["deploymentName"] == "classifier"
