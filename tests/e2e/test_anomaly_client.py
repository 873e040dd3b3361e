"""The unmodified `azure-ai-anomalydetector` (3.0.0b6) client against the host, data in Azurite.

The user's code, as in the SDK's samples: train from a SAS URL to a OneTable CSV blob, loop on
get until READY, detect a batch, loop until READY, detect the last point, list and delete. The
SAS signature must never come back in a response nor appear in the host's log.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, quote

import pytest
import requests
from azure.ai.anomalydetector import AnomalyDetectorClient
from azure.ai.anomalydetector.models import (
    AlignPolicy,
    ModelInfo,
    MultivariateBatchDetectionOptions,
    MultivariateLastDetectionOptions,
    VariableValues,
)
from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.storage.blob import (
    BlobServiceClient,
    ContainerClient,
    ContainerSasPermissions,
    generate_container_sas,
)

from batchinfer.models.mvad import MultivariateSeries, load_one_table_csv
from batchinfer.models.mvad.series import format_timestamps
from batchinfer.models.mvad.synthetic import (
    START_MS,
    STEP_MS,
    inject_anomalies,
    make_correlated_series,
    to_one_table_csv,
)
from tests.support.azurite import DEV_ACCOUNT, DEV_KEY, REPO_ROOT, Azurite
from tests.support.host import HostProcess

pytestmark = pytest.mark.azurite

N_TIMESTAMPS = 4_000
TRAIN_ROWS = 2_000
WINDOW = 40
TOP_K = 4
POLL = 0.1


@dataclass
class Setup:
    host: HostProcess
    client: AnomalyDetectorClient
    container: ContainerClient
    series: MultivariateSeries
    data_url: str  # with the SAS
    signature: str
    responses: list[str]  # every response body the client received

    def at(self, row: int) -> datetime:
        return datetime.fromtimestamp((START_MS + STEP_MS * row) / 1000, tz=UTC)


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory, azurite: Azurite) -> Iterator[Setup]:
    root = tmp_path_factory.mktemp("mvadclient")
    clean = make_correlated_series(N_TIMESTAMPS, 5, seed=21)
    noisy, _ = inject_anomalies(clean, seed=22, n_per_kind=2, margin=TRAIN_ROWS + 100)
    text = to_one_table_csv(noisy)
    service = BlobServiceClient.from_connection_string(azurite.connection_string)
    container = service.create_container(f"mvad{uuid.uuid4().hex[:12]}")
    container.upload_blob("plant/series.csv", text.encode())
    sas = generate_container_sas(
        account_name=DEV_ACCOUNT,
        container_name=container.container_name,
        account_key=DEV_KEY,
        expiry=datetime.now(UTC) + timedelta(hours=1),
        permission=ContainerSasPermissions(read=True, list=True),
    )
    signature = parse_qs(sas)["sig"][0]
    data_url = f"{azurite.blob_endpoint}/{container.container_name}/plant/series.csv?{sas}"

    host = HostProcess(
        REPO_ROOT,
        root / "host",
        env={
            "BATCHINFER_DATA_ROOT": str(root),
            "BATCHINFER_AZURITE_ENDPOINTS": azurite.blob_endpoint,
        },
    )
    host.start()
    responses: list[str] = []

    def record(response: Any) -> None:
        responses.append(response.http_response.text())

    client = AnomalyDetectorClient(
        endpoint=f"{host.base_url}/api",
        credential=AzureKeyCredential("k"),
        raw_response_hook=record,
    )
    try:
        yield Setup(
            host, client, container, load_one_table_csv(text), data_url, signature, responses
        )
    finally:
        client.close()
        code = host.stop()
        container.delete_container()
        assert code == 0, f"host did not shut down cleanly ({code}):\n{host.log()[-5000:]}"


def _wait_model(setup: Setup, model_id: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        model = setup.client.get_multivariate_model(model_id)
        assert model.model_info.status in ("CREATED", "RUNNING", "READY", "FAILED")
        if model.model_info.status in ("READY", "FAILED"):
            return model
        time.sleep(POLL)
    raise AssertionError(f"model {model_id} did not finish")


@pytest.fixture(scope="module")
def trained(setup: Setup) -> Any:
    info = ModelInfo(
        data_source=setup.data_url,
        start_time=setup.at(0),
        end_time=setup.at(TRAIN_ROWS - 1),
        sliding_window=WINDOW,
        display_name="client-test",
        align_policy=AlignPolicy(align_mode="Outer", fill_n_a_method="Linear", padding_value=0),
    )
    created = setup.client.train_multivariate_model(info)
    assert str(uuid.UUID(created.model_id)) == created.model_id
    assert created.model_info.status in ("CREATED", "RUNNING")
    model = _wait_model(setup, created.model_id)
    assert model.model_info.status == "READY", model.model_info.errors
    return model


def test_train_and_get(setup: Setup, trained: Any) -> None:
    info = trained.model_info
    assert info.sliding_window == WINDOW
    assert info.display_name == "client-test"
    assert info.align_policy.align_mode == "Outer"
    assert info.align_policy.fill_n_a_method == "Linear"
    assert info.start_time == setup.at(0) and info.end_time == setup.at(TRAIN_ROWS - 1)
    assert info.errors == []
    assert "?" not in info.data_source and info.data_source == setup.data_url.split("?")[0]
    states = info.diagnostics_info.variable_states
    assert [s.variable for s in states] == list(setup.series.variables)
    # what training did: one epoch per ridge candidate, fitted and validated on its own split
    state = info.diagnostics_info.model_state
    assert state.epoch_ids == [1, 2, 3, 4]
    assert len(state.train_losses) == len(state.validation_losses) == 4
    assert all(t != v for t, v in zip(state.train_losses, state.validation_losses))
    assert all(0 < t for t in state.train_losses + state.validation_losses)
    assert len(state.latencies_in_seconds) == 4 and all(x > 0 for x in state.latencies_in_seconds)
    assert all(s.effective_count == TRAIN_ROWS and s.filled_n_a_ratio == 0 for s in states)
    assert trained.created_time <= trained.last_updated_time


def test_list_models(setup: Setup, trained: Any) -> None:
    models = list(setup.client.list_multivariate_models(top=1))
    assert trained.model_id in [m.model_id for m in models]
    assert all(m.model_info.status in ("READY", "FAILED", "CREATED", "RUNNING") for m in models)


def test_detect_batch(setup: Setup, trained: Any) -> None:
    options = MultivariateBatchDetectionOptions(
        data_source=setup.data_url,
        top_contributor_count=TOP_K,
        start_time=setup.at(TRAIN_ROWS),
        end_time=setup.at(N_TIMESTAMPS + 500),
    )
    accepted = setup.client.detect_multivariate_batch_anomaly(trained.model_id, options)
    assert str(uuid.UUID(accepted.result_id)) == accepted.result_id
    assert accepted.summary.status == "CREATED"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        result = setup.client.get_multivariate_batch_detection_result(accepted.result_id)
        if result.summary.status in ("READY", "FAILED"):
            break
        time.sleep(POLL)
    assert result.summary.status == "READY", result.summary.errors
    summary = result.summary
    # setupInfo is the request as submitted; the span detected is in variableStates
    assert summary.setup_info.start_time == setup.at(TRAIN_ROWS)
    assert summary.setup_info.end_time == setup.at(N_TIMESTAMPS + 500)
    assert summary.setup_info.top_contributor_count == TOP_K
    assert "?" not in summary.setup_info.data_source
    assert [s.variable for s in summary.variable_states] == list(setup.series.variables)
    assert all(
        (s.first_timestamp, s.last_timestamp) == (setup.at(TRAIN_ROWS), setup.at(N_TIMESTAMPS - 1))
        for s in summary.variable_states
    )
    rows = N_TIMESTAMPS - TRAIN_ROWS
    assert len(result.results) == rows
    stamps = format_timestamps(setup.series.timestamps[TRAIN_ROWS:])
    assert [r.timestamp for r in result.results] == [setup.at(TRAIN_ROWS + i) for i in range(rows)]
    assert len(stamps) == rows
    for r in result.results[: WINDOW - 1]:  # every timestamp has a value, as the reference says
        assert [e.code for e in r.errors] == ["InsufficientHistoricalData"]
        assert r.value is not None and r.value.is_anomaly is False
        assert (r.value.score, r.value.severity, r.value.interpretation) == (0.0, 0.0, [])
    scored = result.results[WINDOW - 1 :]
    assert all(not r.errors and r.value is not None for r in scored)
    anomalies = [r for r in scored if r.value.is_anomaly]
    assert anomalies, "the injected anomalies are found"
    changed = 0
    for anomaly in anomalies:
        top = anomaly.value.interpretation
        assert len(top) == TOP_K
        assert all(c.variable in setup.series.variables for c in top)
        scores = [c.contribution_score for c in top]
        assert abs(sum(scores) - 1.0) < 1e-9 and scores == sorted(scores, reverse=True)
        for c in top:
            # changedValues is outside this SDK version's model: read it from the raw mapping
            values = c.correlation_changes["changedValues"]
            assert len(values) == len(c.correlation_changes.changed_variables)
            assert values == sorted(values, reverse=True) and all(0 < x <= 2 for x in values)
            changed += len(values)
    assert changed, "some correlation changed under the injected anomalies"


def test_detect_last(setup: Setup, trained: Any) -> None:
    stop = N_TIMESTAMPS
    stamps = format_timestamps(setup.series.timestamps[stop - 200 : stop])
    variables = [
        VariableValues(
            variable=name,
            timestamps=stamps,
            values=[float(v) for v in setup.series.values[stop - 200 : stop, col]],
        )
        for col, name in enumerate(setup.series.variables)
    ]
    result = setup.client.detect_multivariate_last_anomaly(
        trained.model_id,
        MultivariateLastDetectionOptions(variables=variables, top_contributor_count=TOP_K),
    )
    assert [s.variable for s in result.variable_states] == list(setup.series.variables)
    for state in result.variable_states:  # the state of the detected timestamp
        assert (state.effective_count, state.filled_n_a_ratio) == (1, 0.0)
        assert state.first_timestamp == state.last_timestamp == setup.at(stop - 1)
    (last,) = result.results
    assert last.timestamp == setup.at(stop - 1)
    assert last.value is not None and 0 <= last.value.score < 1

    short = [
        VariableValues(
            variable=v.variable,
            timestamps=v.timestamps[: WINDOW - 1],
            values=v.values[: WINDOW - 1],
        )
        for v in variables
    ]
    with pytest.raises(HttpResponseError) as caught:
        setup.client.detect_multivariate_last_anomaly(
            trained.model_id,
            MultivariateLastDetectionOptions(variables=short, top_contributor_count=TOP_K),
        )
    assert caught.value.status_code == 400
    assert caught.value.error is not None and caught.value.error.code == "NotEnoughData"


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -1e39])
def test_detect_last_refuses_non_finite_values(setup: Setup, trained: Any, bad: float) -> None:
    stamps = format_timestamps(setup.series.timestamps[:WINDOW])
    columns = [
        [float(v) for v in setup.series.values[:WINDOW, col]]
        for col in range(setup.series.n_variables)
    ]
    columns[1][-1] = bad  # the SDK sends NaN and Infinity as bare JSON literals
    variables = [
        VariableValues(variable=name, timestamps=stamps, values=column)
        for name, column in zip(setup.series.variables, columns)
    ]
    with pytest.raises(HttpResponseError) as caught:
        setup.client.detect_multivariate_last_anomaly(
            trained.model_id, MultivariateLastDetectionOptions(variables=variables)
        )
    assert caught.value.status_code == 400
    assert caught.value.error is not None and caught.value.error.code == "InvalidValueFormat"


def test_detect_batch_shorter_than_a_window_fails(setup: Setup, trained: Any) -> None:
    options = MultivariateBatchDetectionOptions(
        data_source=setup.data_url,
        top_contributor_count=TOP_K,
        start_time=setup.at(TRAIN_ROWS),
        end_time=setup.at(TRAIN_ROWS + WINDOW - 2),
    )
    accepted = setup.client.detect_multivariate_batch_anomaly(trained.model_id, options)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        result = setup.client.get_multivariate_batch_detection_result(accepted.result_id)
        if result.summary.status in ("READY", "FAILED"):
            break
        time.sleep(POLL)
    assert result.summary.status == "FAILED" and result.results == []
    (error,) = result.summary.errors
    assert error.code == "NotEnoughData"
    assert f"slidingWindow = {WINDOW}" in error.message


def test_unknown_model_is_not_found(setup: Setup) -> None:
    with pytest.raises(ResourceNotFoundError):
        setup.client.get_multivariate_model(str(uuid.uuid4()))


def test_bad_source_is_refused(setup: Setup) -> None:
    info = ModelInfo(
        data_source="https://evil.example.com/data/x.csv",
        start_time=setup.at(0),
        end_time=setup.at(100),
        sliding_window=WINDOW,
    )
    with pytest.raises(HttpResponseError) as caught:
        setup.client.train_multivariate_model(info)
    assert caught.value.status_code == 400


def test_delete_model(setup: Setup) -> None:
    created = setup.client.train_multivariate_model(
        ModelInfo(
            data_source=setup.data_url,
            start_time=setup.at(0),
            end_time=setup.at(999),
            sliding_window=WINDOW,
        )
    )
    assert _wait_model(setup, created.model_id).model_info.status == "READY"
    setup.client.delete_multivariate_model(created.model_id)
    with pytest.raises(ResourceNotFoundError):
        setup.client.get_multivariate_model(created.model_id)
    assert created.model_id not in [m.model_id for m in setup.client.list_multivariate_models()]


def test_sas_never_leaks(setup: Setup, trained: Any) -> None:
    assert setup.responses, "the hook saw the responses"
    forms = {setup.signature, quote(setup.signature, safe="")}  # as sent: URL-encoded
    for body in setup.responses:
        assert not any(form in body for form in forms)
        assert "sig=" not in body
    # the stored records and the host log hold no signature either
    listing = requests.get(
        f"{setup.host.base_url}/api/anomalydetector/v1.1/multivariate/models",
        params={"top": 1000},
        timeout=30,
    ).text
    assert not any(form in listing for form in forms)
    log = setup.host.log()
    assert not any(form in log for form in forms)
    assert re.findall(r"sig=[^&'\s]*", log) == ["sig=REDACTED"] * log.count("sig=")
    for path in setup.host.data_dir.parent.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert not any(form.encode() in data for form in forms), path
