"""Anomaly Detector multivariate v1.1 over HTTP against a real host, data in local folders.

One host serves the module. A model is trained once on a OneTable CSV (5 variables, 12,500
one-minute timestamps with injected anomalies); detection over 12,000 of them is longer than one
detection chunk (`steps.DETECT_CHUNK_TIMESTAMPS`), so the orchestration fans out, and its merged
results must equal an in-process single pass on the model files the host stored.
"""

from __future__ import annotations

import io
import json
import time
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import requests

from batchinfer.anomaly.steps import DETECT_CHUNK_TIMESTAMPS
from batchinfer.anomaly.streaming import BLOCK_LINES
from batchinfer.models.mvad import (
    TrainedModel,
    detect,
    detect_last,
    load_multi_table,
    load_one_table_csv,
)
from batchinfer.models.mvad.series import MultivariateSeries, format_timestamps
from batchinfer.models.mvad.synthetic import (
    inject_anomalies,
    make_correlated_series,
    to_one_table_csv,
)
from tests.support.azurite import REPO_ROOT
from tests.support.host import HostProcess

N_TIMESTAMPS = 12_500
N_VARIABLES = 5
TRAIN_ROWS = 3_000
DETECT_ROWS = 12_000  # > 2 chunks; also the host's BATCHINFER_MAX_DETECT_TIMESTAMPS
WINDOW = 30
TOP_K = 3
UNORDERED_ROWS = BLOCK_LINES + 1_000
TERMINAL = {"READY", "FAILED"}


@dataclass
class Api:
    host: HostProcess
    root: Path  # BATCHINFER_DATA_ROOT
    series: MultivariateSeries  # exactly what the CSV holds (float32 after parsing)
    stamps: list[str]
    model_statuses: list[str] = field(default_factory=list)  # seen while the model trained
    model_created: dict[str, Any] = field(default_factory=dict)  # the POST's response
    model_location: str = ""

    @property
    def base(self) -> str:
        return f"{self.host.base_url}/api/anomalydetector/v1.1/multivariate"

    def url(self, relative: str) -> str:
        return (self.root / "storage" / relative).as_uri()

    def post(self, path: str, body: Any) -> requests.Response:
        return requests.post(f"{self.base}/{path}", json=body, timeout=30)

    def train(
        self,
        source: str,
        *,
        start: str | None = None,
        end: str | None = None,
        schema: str = "OneTable",
        window: int = WINDOW,
        **extra: Any,
    ) -> requests.Response:
        body = {
            "dataSource": source,
            "dataSchema": schema,
            "startTime": start or self.stamps[0],
            "endTime": end or self.stamps[-1],
            "slidingWindow": window,
            **extra,
        }
        return self.post("models", body)

    def get_model(self, model_id: str) -> dict[str, Any]:
        response = requests.get(f"{self.base}/models/{model_id}", timeout=30)
        assert response.status_code == 200, response.text
        return response.json()

    def wait_model(
        self, model_id: str, seen: list[str] | None = None, timeout: float = 60
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            record = self.get_model(model_id)
            status = record["modelInfo"]["status"]
            if seen is not None and (not seen or seen[-1] != status):
                seen.append(status)
            if status in TERMINAL:
                return record
            time.sleep(0.05)
        raise AssertionError(f"model {model_id} did not finish: {record}")

    def train_ready(self, source: str, **kwargs: Any) -> dict[str, Any]:
        response = self.train(source, **kwargs)
        assert response.status_code == 201, response.text
        record = self.wait_model(response.json()["modelId"])
        assert record["modelInfo"]["status"] == "READY", record
        return record

    def detect_batch(
        self, model_id: str, source: str, start: str, end: str, top_k: int = TOP_K
    ) -> requests.Response:
        return self.post(
            f"models/{model_id}:detect-batch",
            {
                "dataSource": source,
                "startTime": start,
                "endTime": end,
                "topContributorCount": top_k,
            },
        )

    def wait_result(self, location: str, timeout: float = 90) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            response = requests.get(location, timeout=30)
            assert response.status_code == 200, response.text
            body = response.json()
            assert body["summary"]["status"] in {"CREATED", "RUNNING", *TERMINAL}, body
            if body["summary"]["status"] in TERMINAL:
                return body
            time.sleep(0.1)
        raise AssertionError(f"detection did not finish: {body['summary']}")

    def trained(self, model_id: str) -> TrainedModel:
        """The model files as the host stored them, loaded in this process."""
        return TrainedModel.load(self.root / "models" / "mvad" / model_id / "v1")

    def stored_blocks(self, result_id: str) -> list[Path]:
        folder = self.root / "jobs" / f"mvad-detect-{result_id}"
        return [p for p in folder.rglob("blocks/*.npz") if p.is_file()]

    def list_models(self, **params: Any) -> dict[str, Any]:
        response = requests.get(f"{self.base}/models", params=params, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()


def _write_multi_table(series: MultivariateSeries, folder: Path) -> dict[str, str]:
    stamps = format_timestamps(series.timestamps)
    files = {}
    for col, name in enumerate(series.variables):
        rows = [f"{ts},{float(v)!r}" for ts, v in zip(stamps, series.values[:, col])]
        files[f"{name}.csv"] = "\n".join(["timestamp,value", *rows]) + "\n"
    folder.mkdir(parents=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    return files


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    root = tmp_path_factory.mktemp("mvadapi")
    storage = root / "storage"
    (storage / "data").mkdir(parents=True)
    clean = make_correlated_series(N_TIMESTAMPS, N_VARIABLES, seed=7)
    # anomalies only after the training rows, some in every detection chunk
    noisy, _ = inject_anomalies(clean, seed=8, n_per_kind=4, margin=TRAIN_ROWS + 200)
    text = to_one_table_csv(noisy)
    (storage / "data" / "series.csv").write_text(text)
    series = load_one_table_csv(text)
    # other variables: series_4 renamed, so one is missing and one unexpected
    other = MultivariateSeries(
        series.timestamps[:500], (*series.variables[:4], "pressure"), series.values[:500]
    )
    (storage / "data" / "other.csv").write_text(to_one_table_csv(other))
    # MultiTable: a folder of timestamp,value CSVs (detection reads it in memory), and the
    # same files zipped
    files = _write_multi_table(series.rows(0, DETECT_ROWS), storage / "multi" / "plant")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    (storage / "multi" / "plant.zip").write_bytes(buffer.getvalue())
    # rows out of time order across parse blocks (> streaming.BLOCK_LINES rows): the one-pass
    # preparation gives up after writing blocks, and the in-memory fallback takes over
    extra = UNORDERED_ROWS - N_TIMESTAMPS  # the first rows again, after the end
    longer = MultivariateSeries(
        series.timestamps[0] + 60_000 * np.arange(UNORDERED_ROWS, dtype=np.int64),
        series.variables,
        np.concatenate([series.values, series.values[:extra]]),
    )
    lines = to_one_table_csv(longer).splitlines(keepends=True)
    (storage / "data" / "unordered.csv").write_text(
        "".join([lines[0], *lines[1 + DETECT_ROWS :], *lines[1 : 1 + DETECT_ROWS]])
    )
    # bad data
    (storage / "bad").mkdir()
    (storage / "bad" / "short.csv").write_text(to_one_table_csv(series.rows(0, 60)))
    (storage / "bad" / "header.csv").write_text(
        to_one_table_csv(series.rows(0, 600)).replace("timestamp,", "time,", 1)
    )

    host = HostProcess(
        REPO_ROOT,
        root / "host",
        env={
            "BATCHINFER_DATA_ROOT": str(root),
            "BATCHINFER_MAX_DETECT_TIMESTAMPS": str(DETECT_ROWS),
        },
    )
    host.start()
    try:
        yield Api(host, root, series, format_timestamps(series.timestamps))
    finally:
        code = host.stop()
        assert code == 0, f"host did not shut down cleanly ({code}):\n{host.log()[-5000:]}"


@pytest.fixture(scope="module")
def model(api: Api) -> dict[str, Any]:
    """The main model: OneTable, trained on the first TRAIN_ROWS timestamps."""
    response = api.train(
        api.url("data/series.csv"),
        end=api.stamps[TRAIN_ROWS - 1],
        displayName="plant-1",
        alignPolicy={"alignMode": "Outer", "fillNAMethod": "Linear", "paddingValue": 0},
    )
    assert response.status_code == 201, response.text
    api.model_created = response.json()
    api.model_location = response.headers["Location"]
    api.model_statuses.append(api.model_created["modelInfo"]["status"])
    record = api.wait_model(api.model_created["modelId"], api.model_statuses)
    assert record["modelInfo"]["status"] == "READY", record
    return record


def _assert_error(response: requests.Response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"code", "message"}, body
    assert isinstance(body["message"], str) and body["message"]
    if code is not None:
        assert body["code"] == code, body
    return body


def _json(value: Any) -> Any:
    return json.loads(json.dumps(value))


# ------------------------------------------------------------------------------------- train
def test_train_answers_201_with_location_and_model(api: Api, model: dict[str, Any]) -> None:
    created = api.model_created
    model_id = created["modelId"]
    assert str(uuid.UUID(model_id)) == model_id
    assert api.model_location == f"{api.base}/models/{model_id}"
    assert api.model_location.startswith("http://127.0.0.1:")
    assert created["modelInfo"]["status"] == "CREATED"
    assert created["createdTime"].endswith("Z") and created["lastUpdatedTime"].endswith("Z")
    # statuses are exactly uppercase and move forward only
    assert api.model_statuses[-1] == "READY"
    assert set(api.model_statuses) <= {"CREATED", "RUNNING", "READY"}
    order = ["CREATED", "RUNNING", "READY"]
    assert [order.index(s) for s in api.model_statuses] == sorted(
        order.index(s) for s in api.model_statuses
    )


def test_ready_model_info_and_diagnostics(api: Api, model: dict[str, Any]) -> None:
    assert model["modelId"] == api.model_created["modelId"]
    assert model["createdTime"] == api.model_created["createdTime"]
    assert model["lastUpdatedTime"] >= model["createdTime"]
    info = model["modelInfo"]
    assert info["status"] == "READY" and info["errors"] == []
    assert info["dataSource"] == api.url("data/series.csv")
    assert info["dataSchema"] == "OneTable"
    assert (info["startTime"], info["endTime"]) == (api.stamps[0], api.stamps[TRAIN_ROWS - 1])
    assert info["slidingWindow"] == WINDOW
    assert info["displayName"] == "plant-1"
    assert info["alignPolicy"] == {
        "alignMode": "Outer",
        "fillNAMethod": "Linear",
        "paddingValue": 0.0,
    }
    diagnostics = info["diagnosticsInfo"]
    state = diagnostics["modelState"]
    assert state["epochIds"] and len(state["trainLosses"]) == len(state["epochIds"])
    assert len(state["latenciesInSeconds"]) == len(state["epochIds"])
    # the epochs are the ridge candidates training really fitted and validated
    meta = api.trained(model["modelId"]).diagnostics
    assert state["epochIds"] == list(range(1, len(meta["ridgeGridHeldOutMse"]) + 1))
    assert state["trainLosses"] == list(meta["ridgeGridTrainMse"].values())
    assert state["validationLosses"] == list(meta["ridgeGridHeldOutMse"].values())
    assert state["trainLosses"] != state["validationLosses"]
    assert all(x > 0 for x in state["latenciesInSeconds"])
    variables = diagnostics["variableStates"]
    assert [v["variable"] for v in variables] == list(api.series.variables)
    for entry in variables:
        assert entry["effectiveCount"] == TRAIN_ROWS
        assert entry["filledNARatio"] == 0.0
        assert entry["firstTimestamp"] == api.stamps[0]
        assert entry["lastTimestamp"] == api.stamps[TRAIN_ROWS - 1]
    # the trained files are in the host's model store
    folder = api.root / "models" / "mvad" / model["modelId"] / "v1"
    assert TrainedModel.load(folder).variables == api.series.variables


@pytest.mark.parametrize("source", ["multi/plant", "multi/plant.zip"])
def test_train_multi_table_from_folder_and_zip(api: Api, source: str) -> None:
    record = api.train_ready(
        api.url(source),
        schema="MultiTable",
        end=api.stamps[999],
        alignPolicy={"alignMode": "Inner"},
    )
    info = record["modelInfo"]
    assert info["dataSchema"] == "MultiTable"
    assert info["alignPolicy"]["alignMode"] == "Inner"
    variables = info["diagnosticsInfo"]["variableStates"]
    assert [v["variable"] for v in variables] == sorted(api.series.variables)
    assert all(v["effectiveCount"] == 1_000 for v in variables)


def test_list_models_pages_with_absolute_next_link(api: Api, model: dict[str, Any]) -> None:
    api.train_ready(api.url("multi/plant"), schema="MultiTable", end=api.stamps[999])
    everything = api.list_models(top=1000)
    total = everything["currentCount"]
    assert total >= 2 and len(everything["models"]) == total
    assert everything["maxCount"] == 1000 and "nextLink" not in everything
    ids = [m["modelId"] for m in everything["models"]]
    assert model["modelId"] in ids and len(set(ids)) == total
    assert everything["models"][ids.index(model["modelId"])] == api.get_model(model["modelId"])

    first = api.list_models(skip=0, top=1)
    assert [m["modelId"] for m in first["models"]] == ids[:1]
    assert (first["currentCount"], first["maxCount"]) == (total, 1000)
    assert first["nextLink"] == f"{api.base}/models?skip=1&top=1"
    paged: list[str] = []
    link: str | None = f"{api.base}/models?skip=0&top=1"
    while link:
        page = requests.get(link, timeout=30).json()
        paged += [m["modelId"] for m in page["models"]]
        link = page.get("nextLink")
    assert paged == ids
    tail = api.list_models(skip=total - 1, top=5)
    assert [m["modelId"] for m in tail["models"]] == ids[-1:] and "nextLink" not in tail
    assert api.list_models(skip=total, top=5)["models"] == []
    for bad in ({"top": 0}, {"skip": -1}, {"top": "x"}):
        _assert_error(requests.get(f"{api.base}/models", params=bad, timeout=30), 400)


def test_delete_model_then_404(api: Api) -> None:
    record = api.train_ready(api.url("multi/plant.zip"), schema="MultiTable", end=api.stamps[999])
    model_id = record["modelId"]
    folder = api.root / "models" / "mvad" / model_id
    assert (folder / "v1" / "model.onnx").is_file()
    response = requests.delete(f"{api.base}/models/{model_id}", timeout=30)
    assert response.status_code == 204, response.text
    assert response.content == b""
    _assert_error(requests.get(f"{api.base}/models/{model_id}", timeout=30), 404)
    _assert_error(requests.delete(f"{api.base}/models/{model_id}", timeout=30), 404)
    assert model_id not in [m["modelId"] for m in api.list_models(top=1000)["models"]]
    assert not [p for p in folder.rglob("*") if p.is_file()]
    _assert_error(requests.get(f"{api.base}/models/not-a-uuid", timeout=30), 404)
    _assert_error(requests.get(f"{api.base}/models/{uuid.uuid4()}", timeout=30), 404)


@pytest.mark.parametrize(
    "change",
    [
        {"slidingWindow": 27},
        {"slidingWindow": 2881},
        {"alignPolicy": {"alignMode": "Middle"}},
        {"alignPolicy": {"fillNAMethod": "Guess"}},
        {"dataSchema": "ThreeTable"},
        {"dataSource": None},
        {"dataSource": "https://evil.example.com/data/series.csv"},
        {"dataSource": "file:///etc/passwd"},
        {"startTime": "2021-01-02T00:00:00Z", "endTime": "2021-01-01T00:00:00Z"},
        {"startTime": "yesterday"},
        {"endTime": "2021-01-01T00:00:00+02:00"},
    ],
    ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()),
)
def test_bad_train_requests_are_400(api: Api, change: dict[str, Any]) -> None:
    before = api.list_models(top=1000)["currentCount"]
    body = {
        "dataSource": api.url("data/series.csv"),
        "startTime": api.stamps[0],
        "endTime": api.stamps[999],
        "slidingWindow": WINDOW,
        **change,
    }
    body = {k: v for k, v in body.items() if v is not None}
    _assert_error(api.post("models", body), 400)
    assert api.list_models(top=1000)["currentCount"] == before  # nothing was created


def test_bad_train_bodies_are_400(api: Api) -> None:
    response = requests.post(
        f"{api.base}/models",
        data=b"{not json",
        timeout=30,
        headers={"Content-Type": "application/json"},
    )
    _assert_error(response, 400)
    _assert_error(requests.post(f"{api.base}/models", timeout=30), 400)
    _assert_error(api.post("models", [1, 2]), 400)


@pytest.mark.parametrize(
    ("source", "code"),
    [
        ("bad/short.csv", "NotEnoughData"),
        ("bad/header.csv", "RequiredHeaderMissing"),
        ("bad/missing.csv", "DataSourceNotAccessible"),
    ],
)
def test_training_on_bad_data_fails_with_errors(api: Api, source: str, code: str) -> None:
    response = api.train(api.url(source))
    assert response.status_code == 201, response.text
    record = api.wait_model(response.json()["modelId"])
    info = record["modelInfo"]
    assert info["status"] == "FAILED"
    assert [e["code"] for e in info["errors"]] == [code], info["errors"]
    assert info["errors"][0]["message"]
    # a FAILED model cannot detect
    _assert_error(
        api.detect_batch(
            record["modelId"], api.url("data/series.csv"), api.stamps[0], api.stamps[99]
        ),
        400,
        "ModelNotReady",
    )
    _assert_error(
        api.post(f"models/{record['modelId']}:detect-last", _last_body(api, 0, WINDOW)),
        400,
        "ModelNotReady",
    )


# ------------------------------------------------------------------------------ detect-batch
@pytest.fixture(scope="module")
def batch(api: Api, model: dict[str, Any]) -> dict[str, Any]:
    """Detection over [before the data, row DETECT_ROWS-1]: the start is clamped to the data."""
    response = api.detect_batch(
        model["modelId"],
        api.url("data/series.csv"),
        "2020-12-31T00:00:00Z",
        api.stamps[DETECT_ROWS - 1],
    )
    assert response.status_code == 202, response.text
    body = response.json()
    result_id = body["resultId"]
    assert str(uuid.UUID(result_id)) == result_id
    assert body["summary"]["status"] == "CREATED"
    assert body["results"] == []
    location = response.headers["Operation-Location"]
    assert location == f"{api.base}/detect-batch/{result_id}"
    return {"accepted": body, "final": api.wait_result(location)}


def test_detect_batch_summary(api: Api, model: dict[str, Any], batch: dict[str, Any]) -> None:
    body = batch["final"]
    assert body["resultId"] == batch["accepted"]["resultId"]
    summary = body["summary"]
    assert summary["status"] == "READY", summary
    assert summary["errors"] == []
    assert [v["variable"] for v in summary["variableStates"]] == list(api.series.variables)
    assert all(v["effectiveCount"] == DETECT_ROWS for v in summary["variableStates"])
    setup = summary["setupInfo"]
    assert setup["startTime"] == "2020-12-31T00:00:00Z"  # as submitted, before the data
    assert setup["endTime"] == api.stamps[DETECT_ROWS - 1]
    assert all(
        v["firstTimestamp"] == api.stamps[0]  # the data actually detected
        and v["lastTimestamp"] == api.stamps[DETECT_ROWS - 1]
        for v in summary["variableStates"]
    )
    assert setup["topContributorCount"] == TOP_K
    assert setup["dataSource"] == api.url("data/series.csv")


def test_detect_batch_results_in_time_order(api: Api, batch: dict[str, Any]) -> None:
    results = batch["final"]["results"]
    assert [r["timestamp"] for r in results] == api.stamps[:DETECT_ROWS]
    for result in results[: WINDOW - 1]:
        assert [e["code"] for e in result["errors"]] == ["InsufficientHistoricalData"]
        assert result["value"] == {
            "isAnomaly": False,
            "severity": 0.0,
            "score": 0.0,
            "interpretation": [],
        }
    for result in results[WINDOW - 1 :]:
        assert result["errors"] == []
        value = result["value"]
        assert 0 <= value["score"] < 1 and 0 <= value["severity"] < 1
        assert bool(value["interpretation"]) == value["isAnomaly"]
        assert len(value["interpretation"]) <= TOP_K


def test_chunked_detection_equals_single_pass(
    api: Api, model: dict[str, Any], batch: dict[str, Any]
) -> None:
    assert DETECT_ROWS > 2 * DETECT_CHUNK_TIMESTAMPS  # the range really was split
    expected = detect(
        api.trained(model["modelId"]),
        api.series,
        "2020-12-31T00:00:00Z",
        api.stamps[DETECT_ROWS - 1],
        TOP_K,
    )
    body = batch["final"]
    assert body["results"] == _json(expected.results)
    assert body["summary"]["variableStates"] == _json(expected.variable_states)
    # the comparison covers anomalies (with interpretations) in every chunk
    flagged = [i for i, r in enumerate(body["results"]) if r["value"]["isAnomaly"]]
    chunks = {i // DETECT_CHUNK_TIMESTAMPS for i in flagged}
    assert chunks == set(range(-(-DETECT_ROWS // DETECT_CHUNK_TIMESTAMPS))), flagged
    top = body["results"][flagged[0]]["value"]["interpretation"][0]
    assert set(top) >= {"variable", "contributionScore", "correlationChanges"}
    assert set(top["correlationChanges"]) == {"changedVariables", "changedValues"}
    assert api.stored_blocks(body["resultId"]) == []  # every scored block was removed


def test_result_pages_with_skip_and_top(api: Api, batch: dict[str, Any]) -> None:
    body = batch["final"]
    location = f"{api.base}/detect-batch/{body['resultId']}"
    edge = DETECT_CHUNK_TIMESTAMPS
    for skip, top in (
        (edge - 10, 20),
        (0, 5),
        (DETECT_ROWS - 3, 10),
        (2 * edge, edge),
        (DETECT_ROWS, 5),
        (7, 0),
    ):
        response = requests.get(location, params={"skip": skip, "top": top}, timeout=30)
        assert response.status_code == 200, response.text
        page = response.json()
        assert page["summary"] == body["summary"]
        assert page["results"] == body["results"][skip : skip + top], (skip, top)
    response = requests.get(location, params={"skip": edge + 1}, timeout=30)
    assert response.json()["results"] == body["results"][edge + 1 :]
    _assert_error(requests.get(location, params={"top": "many"}, timeout=30), 400)


def test_multi_table_detection_in_memory_equals_single_pass(api: Api) -> None:
    record = api.train_ready(api.url("multi/plant"), schema="MultiTable", end=api.stamps[2_999])
    model_id = record["modelId"]
    response = api.detect_batch(
        model_id, api.url("multi/plant"), api.stamps[0], api.stamps[DETECT_ROWS - 1]
    )
    assert response.status_code == 202, response.text
    body = api.wait_result(response.headers["Operation-Location"])
    assert body["summary"]["status"] == "READY", body["summary"]
    folder = api.root / "storage" / "multi" / "plant"
    series = load_multi_table({p.name: p.read_text() for p in folder.glob("*.csv")})
    expected = detect(
        api.trained(model_id), series, api.stamps[0], api.stamps[DETECT_ROWS - 1], TOP_K
    )
    assert len(body["results"]) == DETECT_ROWS
    assert body["results"] == _json(expected.results)
    assert body["summary"]["variableStates"] == _json(expected.variable_states)
    assert api.stored_blocks(body["resultId"]) == []


def test_unordered_rows_fall_back_to_memory_exactly(
    api: Api, model: dict[str, Any], batch: dict[str, Any]
) -> None:
    response = api.detect_batch(
        model["modelId"], api.url("data/unordered.csv"), api.stamps[0], api.stamps[DETECT_ROWS - 1]
    )
    assert response.status_code == 202, response.text
    body = api.wait_result(response.headers["Operation-Location"])
    assert body["summary"]["status"] == "READY", body["summary"]
    series = load_one_table_csv((api.root / "storage" / "data" / "unordered.csv").read_text())
    assert series.n_timestamps == UNORDERED_ROWS
    expected = detect(
        api.trained(model["modelId"]), series, api.stamps[0], api.stamps[DETECT_ROWS - 1], TOP_K
    )
    assert [r["timestamp"] for r in body["results"]] == api.stamps[:DETECT_ROWS]
    assert body["results"] == _json(expected.results)
    assert body["summary"]["variableStates"] == _json(expected.variable_states)
    assert api.stored_blocks(body["resultId"]) == []
    assert body["results"] == batch["final"]["results"]  # the same rows as series.csv


def test_detect_batch_with_other_variables_fails(api: Api, model: dict[str, Any]) -> None:
    response = api.detect_batch(
        model["modelId"], api.url("data/other.csv"), api.stamps[0], api.stamps[499]
    )
    assert response.status_code == 202, response.text
    body = api.wait_result(response.headers["Operation-Location"])
    summary = body["summary"]
    assert summary["status"] == "FAILED"
    assert body["results"] == []
    (error,) = summary["errors"]
    assert error["code"] in {"VariableNotFound", "UnexpectedVariable"}
    assert "series_4" in error["message"] and "pressure" in error["message"]


def test_detect_batch_over_the_cap_fails(api: Api, model: dict[str, Any]) -> None:
    response = api.detect_batch(
        model["modelId"], api.url("data/series.csv"), api.stamps[0], api.stamps[-1]
    )
    assert response.status_code == 202, response.text
    summary = api.wait_result(response.headers["Operation-Location"])["summary"]
    assert summary["status"] == "FAILED"
    assert [e["code"] for e in summary["errors"]] == ["TooManyTimestamps"]
    assert str(DETECT_ROWS) in summary["errors"][0]["message"]
    # the one-pass preparation had stored blocks before it reached the cap: none are left
    result_id = response.headers["Operation-Location"].rsplit("/", 1)[-1]
    assert api.stored_blocks(result_id) == []


def test_detect_batch_on_missing_data_fails(api: Api, model: dict[str, Any]) -> None:
    response = api.detect_batch(
        model["modelId"], api.url("data/nothing.csv"), api.stamps[0], api.stamps[99]
    )
    assert response.status_code == 202, response.text
    summary = api.wait_result(response.headers["Operation-Location"])["summary"]
    assert summary["status"] == "FAILED"
    assert [e["code"] for e in summary["errors"]] == ["DataSourceNotAccessible"]


def test_detect_batch_request_errors_are_4xx(api: Api, model: dict[str, Any]) -> None:
    source = api.url("data/series.csv")
    _assert_error(
        api.detect_batch(str(uuid.uuid4()), source, api.stamps[0], api.stamps[99]),
        404,
        "ModelNotExist",
    )
    _assert_error(api.detect_batch("nope", source, api.stamps[0], api.stamps[99]), 404)
    model_id = model["modelId"]
    for top_k in (0, 31):
        _assert_error(api.detect_batch(model_id, source, api.stamps[0], api.stamps[99], top_k), 400)
    _assert_error(
        api.detect_batch(
            model_id, "https://evil.example.com/c/x.csv", api.stamps[0], api.stamps[99]
        ),
        400,
    )
    _assert_error(api.detect_batch(model_id, source, api.stamps[99], api.stamps[0]), 400)
    _assert_error(api.detect_batch(model_id, source, "soon", api.stamps[0]), 400)
    _assert_error(api.post(f"models/{model_id}:detect-batch", {"startTime": api.stamps[0]}), 400)
    response = requests.get(f"{api.base}/detect-batch/{uuid.uuid4()}", timeout=30)
    _assert_error(response, 404, "ResultNotExist")
    _assert_error(requests.get(f"{api.base}/detect-batch/zzz", timeout=30), 404)


# ------------------------------------------------------------------------------- detect-last
def _last_body(api: Api, start: int, stop: int, top_k: int = TOP_K) -> dict[str, Any]:
    stamps = api.stamps[start:stop]
    return {
        "topContributorCount": top_k,
        "variables": [
            {
                "variable": name,
                "timestamps": stamps,
                "values": [float(v) for v in api.series.values[start:stop, col]],
            }
            for col, name in enumerate(api.series.variables)
        ],
    }


def test_detect_last_scores_the_last_timestamp(api: Api, model: dict[str, Any]) -> None:
    trained = TrainedModel.load(api.root / "models" / "mvad" / model["modelId"] / "v1")
    # windows ending on flagged and unflagged rows of the batch run
    for stop in (TRAIN_ROWS + 500, N_TIMESTAMPS):
        response = api.post(
            f"models/{model['modelId']}:detect-last", _last_body(api, stop - 100, stop)
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert [v["variable"] for v in body["variableStates"]] == list(api.series.variables)
        (result,) = body["results"]
        assert result["timestamp"] == api.stamps[stop - 1]
        assert result["errors"] == [] and set(result["value"]) >= {
            "isAnomaly",
            "severity",
            "score",
            "interpretation",
        }
        expected = detect_last(trained, api.series.rows(stop - 100, stop), TOP_K)
        assert body == _json(
            {"variableStates": expected.variable_states, "results": expected.results}
        )


def _wide_body(api: Api, n_variables: int) -> dict[str, Any]:
    return {
        "variables": [
            {"variable": f"v{i}", "timestamps": api.stamps[:WINDOW], "values": [0.0] * WINDOW}
            for i in range(n_variables)
        ]
    }


def _variant(api: Api, kind: str) -> dict[str, Any]:
    body = _last_body(api, 1_000, 1_100)
    if kind == "short":
        return _last_body(api, 1_000, 1_000 + WINDOW - 1)
    if kind == "too_many_timestamps":
        return _last_body(api, 0, 2_881)
    if kind == "too_many_variables":
        return _wide_body(api, 301)
    if kind == "lengths":
        body["variables"][2]["values"].pop()
    elif kind == "missing_variable":
        body["variables"].pop()
    elif kind == "renamed_variable":
        body["variables"][0]["variable"] = "pressure"
    elif kind == "bad_timestamp":
        body["variables"][0]["timestamps"] = ["not a time"] * 100
        for item in body["variables"]:
            item["timestamps"] = list(body["variables"][0]["timestamps"])
    elif kind == "offset_timestamp":
        for item in body["variables"]:
            item["timestamps"] = [t.replace("Z", "+05:00") for t in item["timestamps"]]
    elif kind == "duplicate_timestamps":
        for item in body["variables"]:
            item["timestamps"] = [item["timestamps"][0]] * 100
    elif kind == "top0":
        body["topContributorCount"] = 0
    elif kind == "top31":
        body["topContributorCount"] = 31
    elif kind == "no_variables":
        body["variables"] = []
    elif kind == "text_value":
        body["variables"][0]["values"][5] = "abc"
    elif kind == "beyond_float32":
        body["variables"][1]["values"][-1] = 1e39
    return body


@pytest.mark.parametrize(
    ("kind", "code"),
    [
        ("short", "NotEnoughData"),
        ("too_many_timestamps", None),
        ("too_many_variables", None),
        ("lengths", None),
        ("missing_variable", "VariableNotFound"),
        ("renamed_variable", None),
        ("bad_timestamp", "InvalidTimestampFormat"),
        ("offset_timestamp", "InvalidTimestampFormat"),
        ("duplicate_timestamps", "DuplicatedTimestamps"),
        ("top0", None),
        ("top31", None),
        ("no_variables", None),
        ("text_value", None),
        ("beyond_float32", "InvalidValueFormat"),
    ],
)
def test_detect_last_errors_are_400(
    api: Api, model: dict[str, Any], kind: str, code: str | None
) -> None:
    response = api.post(f"models/{model['modelId']}:detect-last", _variant(api, kind))
    body = _assert_error(response, 400, code)
    if kind == "renamed_variable":
        assert body["code"] in {"VariableNotFound", "UnexpectedVariable"}
        assert "pressure" in body["message"]


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_detect_last_refuses_non_json_numbers(
    api: Api, model: dict[str, Any], literal: str
) -> None:
    """Python clients send NaN/Infinity as bare literals; they are refused, not computed."""
    text = json.dumps(_last_body(api, 1_000, 1_100))
    first = str(_last_body(api, 1_000, 1_100)["variables"][2]["values"][7])
    text = text.replace(first, literal, 1)
    response = requests.post(
        f"{api.base}/models/{model['modelId']}:detect-last",
        data=text,
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    _assert_error(response, 400, "InvalidValueFormat")


def test_detect_last_on_extreme_values_answers_strict_json(api: Api, model: dict[str, Any]) -> None:
    body = _last_body(api, 1_000, 1_100)
    for item in body["variables"]:
        item["values"][-1] = 3.0e38  # finite float32, but the residuals overflow
    response = api.post(f"models/{model['modelId']}:detect-last", body)
    assert response.status_code == 200, response.text

    def refuse(token: str) -> None:
        raise AssertionError(f"non-JSON number {token} in the response")

    parsed = json.loads(response.text, parse_constant=refuse)
    (result,) = parsed["results"]
    assert result["value"]["isAnomaly"] is True and result["value"]["score"] <= 1.0


def test_detect_last_on_unknown_model_is_404(api: Api) -> None:
    _assert_error(
        api.post(f"models/{uuid.uuid4()}:detect-last", _last_body(api, 0, 100)),
        404,
        "ModelNotExist",
    )


def test_no_unhandled_errors_in_host_log(api: Api, model: dict[str, Any]) -> None:
    log = api.host.log()
    assert "Unhandled error in the Anomaly Detector API" not in log
    assert "failed unexpectedly" not in log
