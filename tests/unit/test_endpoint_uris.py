"""Azure ML data URIs, durations and invoke bodies: every accepted spelling, and refusals."""

from __future__ import annotations

import pytest

from batchinfer.api.azureml.schemas import BatchDeploymentProperties, InvokeRequest
from batchinfer.endpoints.config import ScoringConfig, parse_timeout
from batchinfer.endpoints.uris import DataUriError, data_asset_of, resolve_data_uri

STORES = {
    "workspaceblobstore": "file:///data/storage",
    "blobs": "https://acct.blob.core.windows.net/cont?sv=1&sig=secret",
}
ASSETS = {("mnist", "3"): "azureml://datastores/blobs/paths/mnist"}


def datastore(name: str) -> str:
    if name not in STORES:
        raise DataUriError(f"Datastore '{name}' was not found.")
    return STORES[name]


def asset(name: str, version: str) -> str:
    if (name, version) not in ASSETS:
        raise DataUriError("no such asset")
    return ASSETS[(name, version)]


def resolve(uri: str, folder: bool = True):  # type: ignore[no-untyped-def]
    return resolve_data_uri(uri, datastore=datastore, asset=asset, is_folder=folder)


@pytest.mark.parametrize(
    "uri",
    [
        "azureml://datastores/workspaceblobstore/paths/ep/mnist",
        "azureml://datastores/workspaceblobstore/paths/ep/mnist/",
        "azureml://subscriptions/s/resourceGroups/r/workspaces/w/datastores/workspaceblobstore/paths/ep/mnist",
        "azureml://subscriptions/s/resourcegroups/r/providers/Microsoft.MachineLearningServices/workspaces/w/datastores/workspaceblobstore/paths/ep/mnist/",
    ],
)
def test_datastore_forms_resolve_to_the_same_place(uri: str) -> None:
    found = resolve(uri)
    assert (found.container_url, found.path) == ("file:///data/storage", "ep/mnist")


@pytest.mark.parametrize(
    "uri",
    [
        "/subscriptions/s/resourceGroups/r/providers/Microsoft.MachineLearningServices/workspaces/w/data/mnist/versions/3",
        "azureml://locations/westus/workspaces/w/data/mnist/versions/3/",
        "azureml:mnist:3",
    ],
)
def test_data_asset_forms(uri: str) -> None:
    assert data_asset_of(uri) == ("mnist", "3")
    found = resolve(uri)
    assert found.container_url.startswith("https://acct.blob.core.windows.net/cont?")
    assert found.path == "mnist"
    assert "secret" not in found.display


def test_blob_urls_keep_the_sas_in_the_container_only() -> None:
    found = resolve("https://acct.blob.core.windows.net/cont/a/b.png?sv=1&sig=s3cr3t", False)
    assert found.container_url == "https://acct.blob.core.windows.net/cont?sv=1&sig=s3cr3t"
    assert found.path == "a/b.png" and "s3cr3t" not in found.display
    azurite = resolve("http://127.0.0.1:10000/devstoreaccount1/cont/in/")
    assert azurite.container_url == "http://127.0.0.1:10000/devstoreaccount1/cont"
    assert azurite.path == "in"


def test_file_urls() -> None:
    assert resolve("file:///data/storage/digits").container_url == "file:///data/storage/digits"
    one = resolve("file:///data/storage/digits/1.png", False)
    assert (one.container_url, one.path) == ("file:///data/storage/digits", "1.png")


@pytest.mark.parametrize(
    "uri",
    [
        "",
        "azureml://datastores/unknown/paths/x",
        "azureml:missing:1",
        "azureml://datastores/workspaceblobstore/paths/a/../../etc",
        "ftp://host/x",
        "s3://b/k",
    ],
)
def test_refused_uris(uri: str) -> None:
    with pytest.raises(DataUriError):
        resolve(uri)


@pytest.mark.parametrize(
    "text, seconds",
    [
        ("PT30S", 30),
        ("PT1M30S", 90),
        ("P1DT1H", 90000),
        ("00:00:45", 45),
        (12, 12),
        ("2.5", 2.5),
    ],
)
def test_timeouts(text: object, seconds: float) -> None:
    assert parse_timeout(text) == seconds


@pytest.mark.parametrize("text", ["soon", "PT0S", -1, True])
def test_bad_timeouts(text: object) -> None:
    with pytest.raises(ValueError):
        parse_timeout(text)


def test_invoke_bodies_in_pascal_camel_and_snake_case_agree() -> None:
    pascal = InvokeRequest.model_validate(
        {
            "properties": {
                "InputData": {"i": {"JobInputType": "UriFolder", "Uri": "u"}},
                "RetrySettings": {"MaxRetries": 2, "Timeout": "PT9S"},
                "ErrorThreshold": 4,
            }
        }
    )
    camel = InvokeRequest.model_validate(
        {
            "properties": {
                "inputData": {"i": {"jobInputType": "uri_folder", "uri": "u"}},
                "retrySettings": {"max_retries": 2, "timeout": "PT9S"},
                "errorThreshold": 4,
            }
        }
    )
    assert pascal == camel
    assert pascal.properties.inputData["i"].jobInputType == "UriFolder"


def test_deployment_defaults_follow_azure_ml() -> None:
    props = BatchDeploymentProperties.model_validate(
        {"model": {"assetId": "x"}, "outputAction": "summary_only"}
    )
    assert (
        props.miniBatchSize,
        props.errorThreshold,
        props.outputAction,
        props.outputFileName,
    ) == (10, -1, "SummaryOnly", "predictions.csv")


def test_error_threshold_rule() -> None:
    def config(threshold: int) -> ScoringConfig:
        return ScoringConfig("e", "d", "m", "p", "image-classification", error_threshold=threshold)

    assert not config(-1).threshold_exceeded(10**6)
    assert not config(2).threshold_exceeded(2)
    assert config(2).threshold_exceeded(3)
    assert config(0).threshold_exceeded(1)
