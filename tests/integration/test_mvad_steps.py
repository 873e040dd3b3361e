"""The detect-batch steps called directly (no host): retries and failures leave clean state."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from batchinfer.anomaly import steps
from batchinfer.inference.registry import ModelRegistry
from batchinfer.models.mvad import detect, load_one_table_csv, train
from batchinfer.models.mvad.series import format_timestamps
from batchinfer.models.mvad.synthetic import make_correlated_series, to_one_table_csv
from batchinfer.settings import AppSettings
from batchinfer.storage import StorageAllowList
from batchinfer.wiring import Services, build_services

MODEL_ID = "00000000-0000-4000-8000-000000000001"
W = 30
ROWS = 2 * steps.DETECT_CHUNK_TIMESTAMPS + 700


@pytest.fixture
def services(tmp_path: Path) -> Services:
    settings = AppSettings.from_env(
        {"BATCHINFER_DATA_ROOT": str(tmp_path), "BATCHINFER_MAX_DETECT_TIMESTAMPS": str(ROWS)}
    )
    services = build_services(
        settings,
        policy=StorageAllowList(local_roots=[tmp_path / "storage"]),
        registry=ModelRegistry([]),
    )
    series = make_correlated_series(ROWS + 500, 3, seed=3)
    (tmp_path / "storage").mkdir()
    (tmp_path / "storage" / "data.csv").write_text(to_one_table_csv(series))
    services.models.save_model(MODEL_ID, steps.MODEL_VERSION, train(series.rows(0, 2000), W))
    services.models.save_record(
        MODEL_ID, {"modelId": MODEL_ID, "modelInfo": {"status": "READY", "dataSchema": "OneTable"}}
    )
    return services


def _submit(services: Services, root: Path, start: str, end: str) -> str:
    result_id = "00000000-0000-4000-8000-0000000000aa"
    job = steps.detect_job_id(result_id)
    url = (root / "storage" / "data.csv").as_uri()
    services.job_store.save_document(
        job,
        "summary.json",
        {
            "status": "CREATED",
            "errors": [],
            "variableStates": [],
            "modelId": MODEL_ID,
            "setupInfo": {
                "dataSource": url,
                "topContributorCount": 5,
                "startTime": start,
                "endTime": end,
            },
        },
    )
    services.job_store.save_document(job, "request.json", {"modelId": MODEL_ID, "dataSource": url})
    return result_id


def _blocks(root: Path) -> list[Path]:
    return sorted(root.joinpath("jobs").rglob("blocks/*.npz"))


def test_retried_chunk_after_its_block_was_removed(services: Services, tmp_path: Path) -> None:
    text = (tmp_path / "storage" / "data.csv").read_text()
    stamps = [line.split(",", 1)[0] for line in text.splitlines()[1:]]
    result_id = _submit(services, tmp_path, stamps[0], stamps[ROWS - 1])
    chunks = steps.prepare_detection(services, result_id)
    assert chunks == 3 and len(_blocks(tmp_path)) == 3
    # the step retried after it finished (a host killed before it reported back) says the same
    assert steps.prepare_detection(services, result_id) == chunks
    assert steps.load_summary(services, result_id)["status"] == "RUNNING"
    counts = [steps.detect_chunk_step(services, result_id, i) for i in range(chunks)]
    assert not _blocks(tmp_path)
    # an activity retried after it stored its results (a crash before it reported back)
    assert steps.detect_chunk_step(services, result_id, 1) == counts[1]
    assert steps.finish_detection(services, result_id, 0) == "READY"
    results: list[dict[str, Any]] = steps.detection_results(services, result_id)
    model = services.models.load_model(MODEL_ID, steps.MODEL_VERSION)
    expected = detect(model, load_one_table_csv(text), stamps[0], stamps[ROWS - 1], 5)
    assert results == expected.results
    assert [r["timestamp"] for r in results] == format_timestamps(
        load_one_table_csv(text).timestamps[:ROWS]
    )


def test_range_over_the_cap_leaves_no_blocks(services: Services, tmp_path: Path) -> None:
    text = (tmp_path / "storage" / "data.csv").read_text()
    stamps = [line.split(",", 1)[0] for line in text.splitlines()[1:]]
    result_id = _submit(services, tmp_path, stamps[0], stamps[-1])
    assert steps.prepare_detection(services, result_id) == 0
    assert steps.prepare_detection(services, result_id) == 0  # retried: still failed
    summary = steps.load_summary(services, result_id)
    assert summary["status"] == "FAILED"
    assert [e["code"] for e in summary["errors"]] == ["TooManyTimestamps"]
    assert not _blocks(tmp_path)
    assert services.job_store.load_document(steps.detect_job_id(result_id), "request.json") is None


def test_model_deleted_while_training_leaves_no_files(
    services: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model_id = "00000000-0000-4000-8000-000000000002"
    services.models.save_record(
        model_id,
        {
            "modelId": model_id,
            "modelInfo": {
                "status": "CREATED",
                "dataSchema": "OneTable",
                "startTime": None,
                "endTime": None,
                "slidingWindow": W,
                "errors": [],
            },
        },
    )
    services.job_store.save_document(
        steps.train_job_id(model_id),
        "request.json",
        {"dataSource": (tmp_path / "storage" / "data.csv").as_uri()},
    )
    real_train = steps.train

    def train_then_deleted(*args: Any, **kwargs: Any) -> Any:
        model = real_train(*args, **kwargs)
        services.models.delete(model_id)  # DELETE arrives while the activity trains
        return model

    monkeypatch.setattr(steps, "train", train_then_deleted)
    assert steps.train_model(services, model_id) == "FAILED"
    assert services.models.load_record(model_id) is None
    assert not [p for p in (tmp_path / "models" / "mvad" / model_id).rglob("*") if p.is_file()]
    assert services.job_store.load_document(steps.train_job_id(model_id), "request.json") is None


@pytest.mark.parametrize("rows", [1, W - 1])
def test_range_shorter_than_a_window_fails_clearly(
    services: Services, tmp_path: Path, rows: int
) -> None:
    text = (tmp_path / "storage" / "data.csv").read_text()
    stamps = [line.split(",", 1)[0] for line in text.splitlines()[1:]]
    result_id = _submit(services, tmp_path, stamps[100], stamps[100 + rows - 1])
    assert steps.prepare_detection(services, result_id) == 0
    summary = steps.load_summary(services, result_id)
    assert summary["status"] == "FAILED"
    (error,) = summary["errors"]
    assert error["code"] == "NotEnoughData"
    assert f"slidingWindow = {W}" in error["message"] and f"holds {rows} " in error["message"]
    assert not _blocks(tmp_path)


def test_setup_info_stays_as_submitted(services: Services, tmp_path: Path) -> None:
    text = (tmp_path / "storage" / "data.csv").read_text()
    stamps = [line.split(",", 1)[0] for line in text.splitlines()[1:]]
    before = "2000-01-01T00:00:00Z"  # earlier than the data: the range is clamped to it
    result_id = _submit(services, tmp_path, before, stamps[ROWS - 1])
    submitted = dict(steps.load_summary(services, result_id)["setupInfo"])
    assert steps.prepare_detection(services, result_id) > 0
    summary = steps.load_summary(services, result_id)
    assert summary["status"] == "RUNNING"
    assert summary["setupInfo"] == submitted and submitted["startTime"] == before
    # the span actually detected is reported per variable
    assert {(s["firstTimestamp"], s["lastTimestamp"]) for s in summary["variableStates"]} == {
        (stamps[0], stamps[ROWS - 1])
    }


def test_csv_the_columnar_reader_declines_is_read_by_the_line_parser(
    services: Services, tmp_path: Path
) -> None:
    """A quoted header sends the file to the line parser: same results as a single pass."""
    path = tmp_path / "storage" / "data.csv"
    text = path.read_text()
    header, _, rest = text.partition("\n")
    quoted = ",".join(f'"{name}"' for name in header.split(",")) + "\n" + rest
    path.write_text(quoted)
    stamps = [line.split(",", 1)[0] for line in rest.splitlines()]
    result_id = _submit(services, tmp_path, stamps[0], stamps[ROWS - 1])
    chunks = steps.prepare_detection(services, result_id)
    assert chunks == 3
    for index in range(chunks):
        steps.detect_chunk_step(services, result_id, index)
    assert steps.finish_detection(services, result_id, 0) == "READY"
    model = services.models.load_model(MODEL_ID, steps.MODEL_VERSION)
    expected = detect(model, load_one_table_csv(quoted), stamps[0], stamps[ROWS - 1], 5)
    assert steps.detection_results(services, result_id) == expected.results
