"""The Azure ML batch endpoint REST flow of the reference walkthrough, over plain HTTP.

Resources are created with PUT (datastore, model, data asset, endpoint, deployment, endpoint
defaults) and the endpoint is invoked with the walkthrough's PascalCase bodies. Then the
behaviours a user relies on: errorThreshold, SummaryOnly, an output file that already exists
(the job fails and the file is untouched), cancel, idempotent invoke, and 4xx ARM errors for
bad requests — never a 5xx.
"""

from __future__ import annotations

import csv
import io
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from batchinfer.endpoints.digits import train_digits_onnx, write_digit_folder
from tests.support.azurite import REPO_ROOT
from tests.support.host import HostProcess

WS_PATH = (
    "/subscriptions/sub-42/resourceGroups/rg-x/providers/"
    "Microsoft.MachineLearningServices/workspaces/ws-y"
)
API = "api-version=2023-10-01"
N_IMAGES = 40
N_BROKEN = 3


@dataclass
class Rest:
    host: HostProcess
    base: str  # .../workspaces/ws-y
    store: Path  # the `mystore` datastore's folder

    def url(self, path: str) -> str:
        return f"{self.base}/{path}?{API}"

    def put(self, path: str, body: dict[str, Any]) -> requests.Response:
        return requests.put(self.url(path), json=body, timeout=30)

    def get(self, path: str) -> requests.Response:
        return requests.get(self.url(path), timeout=30)

    def invoke(
        self, body: dict[str, Any], endpoint: str = "mnist", headers: dict[str, str] | None = None
    ) -> requests.Response:
        scoring = self.get(f"batchEndpoints/{endpoint}").json()["properties"]["scoringUri"]
        return requests.post(scoring, json=body, headers=headers or {}, timeout=30)

    def wait(self, name: str, timeout: float = 120) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = self.get(f"jobs/{name}").json()
            if job["properties"]["status"] in ("Completed", "Failed", "Canceled"):
                return job
            time.sleep(0.2)
        raise AssertionError(f"job {name} did not finish")


def folder_input(uri: str) -> dict[str, Any]:
    return {"properties": {"InputData": {"mnistinput": {"JobInputType": "UriFolder", "Uri": uri}}}}


@pytest.fixture(scope="module")
def rest(tmp_path_factory: pytest.TempPathFactory, azurite: Any) -> Iterator[Rest]:
    root = tmp_path_factory.mktemp("amlrest")
    store = root / "storage" / "mystore"
    (store / "model").mkdir(parents=True)
    (store / "model" / "digits.onnx").write_bytes(train_digits_onnx())
    write_digit_folder(store / "mnist", N_IMAGES)
    mixed = store / "mixed"
    write_digit_folder(mixed, N_IMAGES // 4)
    for i in range(N_BROKEN):
        (mixed / f"broken-{i}.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    # the allow-list admits only the configured Azurite endpoint (the SAS datastore test's)
    host = HostProcess(
        REPO_ROOT,
        root / "host",
        env={
            "BATCHINFER_DATA_ROOT": str(root),
            "BATCHINFER_AZURITE_ENDPOINTS": azurite.blob_endpoint,
        },
    )
    host.start()
    api = Rest(host, f"{host.base_url}/api/azureml{WS_PATH}", store)
    try:
        yield api
    finally:
        code = host.stop()
        assert code == 0, f"host did not shut down cleanly ({code}):\n{host.log()[-5000:]}"


@pytest.fixture(scope="module")
def endpoint(rest: Rest) -> str:
    """The walkthrough's setup calls: datastore, model, endpoint, deployment, defaults."""
    created = rest.put(
        "datastores/mystore",
        {
            "properties": {
                "datastoreType": "AzureBlob",
                "containerUrl": rest.store.as_uri(),
                "credentials": {"credentialsType": "None"},
            }
        },
    )
    assert created.status_code == 201, created.text
    assert rest.get("datastores/mystore").json()["properties"]["credentials"] == {
        "credentialsType": "None"
    }
    model = rest.put(
        "models/mnist/versions/1",
        {
            "properties": {
                "modelUri": "azureml://datastores/mystore/paths/model/digits.onnx",
                "properties": {"task": "image-classification"},
            }
        },
    )
    assert model.status_code == 201, model.text
    ep = rest.put(
        "batchEndpoints/mnist", {"location": "local", "properties": {"authMode": "AADToken"}}
    )
    assert ep.status_code == 201
    deployment = rest.put(
        "batchEndpoints/mnist/deployments/nonmlflowdp",
        {
            "location": "local",
            "properties": {
                "model": {"referenceType": "Id", "assetId": model.json()["id"]},
                "miniBatchSize": 4,
                "errorThreshold": -1,
                "retrySettings": {"maxRetries": 2, "timeout": "PT30S"},
                "outputAction": "AppendRow",
                "outputFileName": "predictions.csv",
                "loggingLevel": "Info",
            },
        },
    )
    assert deployment.status_code == 201, deployment.text
    defaults = rest.put(
        "batchEndpoints/mnist",
        {
            "location": "local",
            "properties": {"authMode": "AADToken", "defaults": {"deploymentName": "nonmlflowdp"}},
        },
    )
    assert defaults.status_code == 200
    listed = rest.get("batchEndpoints/mnist/deployments").json()["value"]
    assert [d["name"] for d in listed] == ["nonmlflowdp"]
    assert listed[0]["properties"]["provisioningState"] == "Succeeded"
    return "mnist"


def _rows(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text())))


def test_pascal_case_invoke_with_output_data(rest: Rest, endpoint: str) -> None:
    body = folder_input("azureml://datastores/mystore/paths/mnist")
    body["properties"]["OutputData"] = {
        "mnistOutput": {
            "JobOutputType": "UriFile",
            "Uri": "azureml://datastores/mystore/paths/out/first/predictions.csv",
        }
    }
    response = rest.invoke(body)
    assert response.status_code == 201, response.text
    job = response.json()
    assert job["id"] == f"{WS_PATH}/jobs/{job['name']}"
    assert job["type"] == "Microsoft.MachineLearningServices/workspaces/jobs"
    assert job["properties"]["status"] in ("NotStarted", "Running")
    done = rest.wait(job["name"])
    assert done["properties"]["status"] == "Completed", done
    rows = _rows(rest.store / "out" / "first" / "predictions.csv")
    assert len(rows) == N_IMAGES
    assert {r[0] for r in rows} == {f"digit-{i:05d}.png" for i in range(N_IMAGES)}


def test_long_datastore_form_and_data_asset_inputs(rest: Rest, endpoint: str) -> None:
    asset = rest.put(
        "data/mnist/versions/7",
        {
            "properties": {
                "dataType": "uri_folder",
                "dataUri": "azureml://datastores/mystore/paths/mnist",
                "description": "Mnist data asset",
            }
        },
    )
    assert asset.status_code == 201, asset.text
    for uri in (
        "azureml://subscriptions/s/resourceGroups/r/workspaces/w/datastores/mystore/paths/mnist/",
        asset.json()["id"],
        "azureml://locations/local/workspaces/ws-y/data/mnist/versions/7/",
    ):
        response = rest.invoke(folder_input(uri))
        assert response.status_code == 201, response.text
        done = rest.wait(response.json()["name"])
        assert done["properties"]["status"] == "Completed"
        assert done["properties"]["properties"]["SucceededFiles"] == str(N_IMAGES)


def test_existing_output_fails_the_job_and_is_left_untouched(rest: Rest, endpoint: str) -> None:
    target = rest.store / "out" / "existing.csv"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(b"precious,data\n")
    body = folder_input("azureml://datastores/mystore/paths/mnist")
    body["properties"]["OutputData"] = {
        "out": {
            "JobOutputType": "UriFile",
            "Uri": "azureml://datastores/mystore/paths/out/existing.csv",
        }
    }
    response = rest.invoke(body)
    assert response.status_code == 201
    done = rest.wait(response.json()["name"])
    assert done["properties"]["status"] == "Failed"
    assert done["properties"]["error"]["code"] == "OutputExists"
    assert "already exists" in done["properties"]["properties"]["ErrorMessage"]
    assert target.read_bytes() == b"precious,data\n"


def test_error_threshold_fails_the_job_and_the_log_names_the_files(
    rest: Rest, endpoint: str
) -> None:
    body = folder_input("azureml://datastores/mystore/paths/mixed")
    body["properties"]["ErrorThreshold"] = N_BROKEN - 1
    done = rest.wait(rest.invoke(body).json()["name"])
    props = done["properties"]
    assert props["status"] == "Failed"
    assert props["error"]["code"] == "ErrorThresholdExceeded"
    assert props["properties"]["FailedFiles"] == str(N_BROKEN)
    assert sorted(f["file"] for f in props["failedFiles"]) == [
        f"mixed/broken-{i}.png" for i in range(N_BROKEN)
    ]
    assert all(f["code"] == "InvalidImage" for f in props["failedFiles"])
    assert "OutputUri" in props["properties"]
    output = props["properties"]["OutputUri"].split("/paths/", 1)[1]
    assert not (rest.host.data_dir.parent / "storage" / output).exists()
    log = (
        rest.host.data_dir.parent / "storage" / props["properties"]["LogUri"].split("/paths/", 1)[1]
    ).read_text()
    assert "status: Failed" in log
    for i in range(N_BROKEN):
        assert f"failed file: mixed/broken-{i}.png: InvalidImage" in log


def test_unlimited_threshold_completes_with_the_good_files(rest: Rest, endpoint: str) -> None:
    body = folder_input("azureml://datastores/mystore/paths/mixed")
    body["properties"]["ErrorThreshold"] = -1
    done = rest.wait(rest.invoke(body).json()["name"])
    props = done["properties"]
    assert props["status"] == "Completed"
    assert props["properties"]["FailedFiles"] == str(N_BROKEN)
    output = (
        rest.host.data_dir.parent
        / "storage"
        / props["properties"]["OutputUri"].split("/paths/", 1)[1]
    )
    assert sorted(r[0] for r in _rows(output)) == [
        f"digit-{i:05d}.png" for i in range(N_IMAGES // 4)
    ]


def test_summary_only_writes_no_predictions(rest: Rest, endpoint: str) -> None:
    deployment = rest.get("batchEndpoints/mnist/deployments/nonmlflowdp").json()
    props = {**deployment["properties"], "outputAction": "SummaryOnly"}
    assert (
        rest.put("batchEndpoints/mnist/deployments/summary", {"properties": props}).status_code
        == 201
    )
    response = rest.invoke(
        folder_input("azureml://datastores/mystore/paths/mnist"),
        headers={"azureml-model-deployment": "summary"},
    )
    done = rest.wait(response.json()["name"])
    assert done["properties"]["status"] == "Completed"
    assert done["properties"]["properties"]["DeploymentName"] == "summary"
    assert done["properties"]["properties"]["SucceededFiles"] == str(N_IMAGES)
    assert "OutputUri" not in done["properties"]["properties"]
    assert not (rest.host.data_dir.parent / "storage" / "azureml" / done["name"] / "score").exists()


def test_repeated_invoke_with_the_same_request_id_returns_the_same_job(
    rest: Rest, endpoint: str
) -> None:
    headers = {"repeatability_request-id": str(uuid.uuid4())}
    body = folder_input("azureml://datastores/mystore/paths/mnist")
    first = rest.invoke(body, headers=headers)
    second = rest.invoke(body, headers=headers)
    assert first.status_code == 201 and second.status_code == 200
    assert first.json()["name"] == second.json()["name"]
    other = rest.invoke(body, headers={"repeatability_request-id": str(uuid.uuid4())})
    assert other.json()["name"] != first.json()["name"]
    rest.wait(first.json()["name"])
    rest.wait(other.json()["name"])


def test_cancel_stops_a_running_job(rest: Rest, endpoint: str) -> None:
    big = rest.store / "big"
    for i in range(6):
        shutil.copytree(rest.store / "mnist", big / f"part{i}")
    body = folder_input("azureml://datastores/mystore/paths/big")
    body["properties"]["MiniBatchSize"] = 1
    name = rest.invoke(body).json()["name"]
    canceled = requests.post(rest.url(f"jobs/{name}/cancel"), timeout=30)
    assert canceled.status_code == 202
    done = rest.wait(name)
    assert done["properties"]["status"] == "Canceled"
    assert int(done["properties"]["properties"].get("SucceededFiles", "0")) < 6 * N_IMAGES
    assert not (rest.host.data_dir.parent / "storage" / "azureml" / name / "score").exists()


@pytest.mark.parametrize(
    "body, code",
    [
        ({}, "BadRequest"),
        ({"properties": {}}, "BadRequest"),
        (
            {"properties": {"InputData": {"x": {"JobInputType": "Parquet", "Uri": "a"}}}},
            "BadRequest",
        ),
        ({"properties": {"InputData": {"x": {"JobInputType": "UriFolder"}}}}, "BadRequest"),
        (
            {
                "properties": {
                    "InputData": {"x": {"JobInputType": "UriFolder", "Uri": "file:///etc"}}
                }
            },
            "BadRequest",
        ),
        (
            {
                "properties": {
                    "InputData": {
                        "x": {
                            "JobInputType": "UriFolder",
                            "Uri": "https://evil.blob.core.windows.net/c/p",
                        }
                    }
                }
            },
            "BadRequest",
        ),
        (
            {
                "properties": {
                    "InputData": {
                        "x": {
                            "JobInputType": "UriFolder",
                            "Uri": "azureml://datastores/nope/paths/x",
                        }
                    }
                }
            },
            "BadRequest",
        ),
        (
            {
                "properties": {
                    "InputData": {
                        "x": {
                            "JobInputType": "UriFolder",
                            "Uri": "azureml://datastores/mystore/paths/../x",
                        }
                    }
                }
            },
            "BadRequest",
        ),
        (
            {
                "properties": {
                    "InputData": {"x": {"JobInputType": "UriFolder", "Uri": "a:b"}},
                    "ErrorThreshold": -5,
                }
            },
            "BadRequest",
        ),
    ],
)
def test_bad_invoke_bodies_get_400_in_arm_shape(
    rest: Rest, endpoint: str, body: Any, code: str
) -> None:
    response = rest.invoke(body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == code and error["message"]


def test_not_found_and_bad_resources(rest: Rest, endpoint: str) -> None:
    assert rest.get("batchEndpoints/ghost").status_code == 404
    assert rest.get("jobs/ghost").json()["error"]["code"] == "UserError"
    response = rest.invoke(
        folder_input("azureml://datastores/mystore/paths/mnist"),
        headers={"azureml-model-deployment": "ghost"},
    )
    assert response.status_code == 404
    bad = rest.put(
        "batchEndpoints/mnist/deployments/bad",
        {"properties": {"model": {"assetId": "azureml:missing:1"}}},
    )
    assert bad.status_code == 400 and "missing" in bad.json()["error"]["message"]
    outside = rest.put("datastores/evil", {"properties": {"containerUrl": "file:///etc"}})
    assert outside.status_code == 400 and outside.json()["error"]["code"] == "BadRequest"
    assert rest.get("datastores/evil").status_code == 404
    escaped = rest.put(
        "models/escape/versions/1",
        {
            "properties": {
                "modelUri": "file:///etc/model.onnx",
                "properties": {"task": "image-classification"},
            }
        },
    )
    assert escaped.status_code == 201  # registering a URI reads nothing ...
    assert (
        rest.put(
            "batchEndpoints/mnist/deployments/escape",
            {"properties": {"model": {"assetId": escaped.json()["id"]}}},
        ).status_code
        == 201
    )
    refused = rest.invoke(
        folder_input("azureml://datastores/mystore/paths/mnist"),
        headers={"azureml-model-deployment": "escape"},
    )
    assert refused.status_code == 400  # ... and using it is refused by the allow-list
    assert "not allowed" in refused.json()["error"]["message"]
    not_json = requests.put(rest.url("batchEndpoints/x"), data=b"{", timeout=10)
    assert not_json.status_code == 400 and "error" in not_json.json()


@pytest.mark.azurite
def test_azurite_datastore_with_a_sas_for_input_and_output(
    rest: Rest, endpoint: str, azurite: Any
) -> None:
    """A datastore on Azurite with a SAS: images in, predictions out, the SAS never shown."""
    from datetime import UTC, datetime, timedelta
    from urllib.parse import parse_qs

    from azure.storage.blob import (
        BlobServiceClient,
        ContainerSasPermissions,
        generate_container_sas,
    )

    from tests.support.azurite import DEV_ACCOUNT, DEV_KEY

    service = BlobServiceClient.from_connection_string(azurite.connection_string)
    container = service.create_container(f"aml{uuid.uuid4().hex[:12]}")
    for png in sorted((rest.store / "mnist").iterdir())[:12]:
        container.upload_blob(f"images/{png.name}", png.read_bytes())
    sas = generate_container_sas(
        account_name=DEV_ACCOUNT,
        container_name=container.container_name,
        account_key=DEV_KEY,
        expiry=datetime.now(UTC) + timedelta(hours=1),
        permission=ContainerSasPermissions(read=True, list=True, write=True, create=True),
    )
    signature = parse_qs(sas)["sig"][0]
    put = rest.put(
        "datastores/azurite",
        {
            "properties": {
                "datastoreType": "AzureBlob",
                "accountName": DEV_ACCOUNT,
                "containerName": container.container_name,
                "endpoint": f"{azurite.host}:{azurite.port}",
                "protocol": "http",
                "credentials": {"credentialsType": "Sas", "secrets": {"sasToken": sas}},
            }
        },
    )
    assert put.status_code == 201, put.text
    body = folder_input("azureml://datastores/azurite/paths/images")
    body["properties"]["OutputData"] = {
        "o": {"JobOutputType": "UriFile", "Uri": "azureml://datastores/azurite/paths/out/p.csv"}
    }
    response = rest.invoke(body)
    assert response.status_code == 201, response.text
    done = rest.wait(response.json()["name"])
    assert done["properties"]["status"] == "Completed", done
    rows = list(csv.reader(io.StringIO(container.download_blob("out/p.csv").readall().decode())))
    assert len(rows) == 12
    seen = [
        put.text,
        response.text,
        json_text(done),
        rest.get("datastores/azurite").text,
        rest.get("datastores").text,
        rest.host.log(),
    ]
    from urllib.parse import quote

    assert not any(secret in text for text in seen for secret in (signature, quote(signature)))
    container.delete_container()


def json_text(value: Any) -> str:
    import json

    return json.dumps(value)


def test_a_job_past_its_error_threshold_stops_early(rest: Rest, endpoint: str) -> None:
    broken = rest.store / "broken"
    broken.mkdir()
    for i in range(300):
        (broken / f"b-{i:03d}.png").write_bytes(b"garbage")
    body = folder_input("azureml://datastores/mystore/paths/broken")
    body["properties"].update({"ErrorThreshold": 0, "MiniBatchSize": 1})
    done = rest.wait(rest.invoke(body).json()["name"])
    props = done["properties"]
    assert props["status"] == "Failed"
    assert props["error"]["code"] == "ErrorThresholdExceeded"
    assert 1 <= int(props["properties"]["FailedFiles"]) <= 300
