"""MVAD detection: chunked == single pass (bitwise), history errors, result shape, streaming."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest


from batchinfer.models.mvad.detect import (  # noqa: E402
    detect,
    detect_chunk,
    detect_last,
    plan_chunks,
    prepare,
    verify_variables,
)
from batchinfer.models.mvad.errors import MvadDataError  # noqa: E402
from batchinfer.models.mvad.model import TrainedModel  # noqa: E402
from batchinfer.models.mvad.series import MultivariateSeries, format_timestamp  # noqa: E402
from batchinfer.models.mvad.synthetic import inject_anomalies, make_correlated_series  # noqa: E402
from batchinfer.models.mvad.train import train  # noqa: E402

W = 32
V = 9


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> TrainedModel:
    m = train(make_correlated_series(1500, V, seed=11), W)
    m.save(tmp_path_factory.mktemp("mvad_detect"))
    return m


@pytest.fixture(scope="module")
def data() -> MultivariateSeries:
    clean = make_correlated_series(1500 + 700, V, seed=11).rows(1500, 2200)
    bad, _ = inject_anomalies(clean, seed=4, n_per_kind=2, gap=10, margin=W)
    return bad


@pytest.fixture(scope="module")
def single_pass(model: TrainedModel, data: MultivariateSeries) -> list[dict]:
    return detect(model, data, top_k=4, chunk_size=10_000).results


def _chunked(model: TrainedModel, data: MultivariateSeries, chunk_size: int) -> list[dict]:
    aligned, _ = prepare(model, data)
    merged: list[dict] = []
    for chunk in plan_chunks(aligned.n_timestamps, chunk_size, W):
        merged.extend(detect_chunk(model, aligned.rows(chunk.history_start, chunk.stop),
                                   chunk.history_len, top_k=4))
    return merged


@pytest.mark.parametrize("chunk_size", [1, 2, 7, W - 1, W, W + 1, 100, 699])
def test_chunked_equals_single_pass_exactly(model, data, single_pass, chunk_size: int) -> None:
    merged = _chunked(model, data, chunk_size)
    # json text compares every float by its exact repr: bitwise equality, not approx.
    assert json.dumps(merged) == json.dumps(single_pass)


def test_plan_chunks_covers_the_range_with_history() -> None:
    chunks = plan_chunks(1000, 300, 50)
    assert [(c.start, c.stop, c.history_len) for c in chunks] == [
        (0, 300, 0), (300, 600, 49), (600, 900, 49), (900, 1000, 49)]
    assert plan_chunks(10, 300, 50)[0].history_start == 0


def test_first_window_has_insufficient_history(single_pass, data) -> None:
    assert len(single_pass) == data.n_timestamps
    for item in single_pass[:W - 1]:
        assert "value" not in item
        assert item["errors"][0]["code"] == "InsufficientHistoricalData"
    assert all(item["errors"] == [] and "value" in item for item in single_pass[W - 1:])
    assert single_pass[0]["timestamp"] == format_timestamp(data.timestamps[0])


def test_range_start_resets_history(model, data) -> None:
    start = format_timestamp(data.timestamps[100])
    end = format_timestamp(data.timestamps[160])
    results = detect(model, data, start, end).results
    assert len(results) == 61
    assert results[0]["timestamp"] == start and results[-1]["timestamp"] == end
    assert sum("value" not in r for r in results) == W - 1


def test_result_shape_and_score_invariants(single_pass) -> None:
    scored = [r["value"] for r in single_pass if "value" in r]
    anomalies = [v for v in scored if v["isAnomaly"]]
    assert anomalies, "the injected anomalies should produce at least one detection"
    for v in scored:
        assert set(v) == {"isAnomaly", "severity", "score", "interpretation"}
        assert 0.0 <= v["score"] < 1.0
        assert (v["severity"] > 0.0) == v["isAnomaly"]
        assert v["severity"] <= 1.0
        assert (v["severity"] == 0.0) == (not v["isAnomaly"])
        assert (len(v["interpretation"]) > 0) == v["isAnomaly"]
        if v["isAnomaly"]:
            assert v["score"] > 0.5  # the threshold maps to score 0.5


def test_contribution_scores(model, data) -> None:
    results = detect(model, data, top_k=V).results  # all variables: shares must sum to 1
    anomalies = [r["value"] for r in results if r.get("value", {}).get("isAnomaly")]
    for v in anomalies:
        shares = [c["contributionScore"] for c in v["interpretation"]]
        assert math.isclose(sum(shares), 1.0, rel_tol=1e-9)
        assert shares == sorted(shares, reverse=True)
        for c in v["interpretation"]:
            assert c["variable"] not in c["correlationChanges"]["changedVariables"]
    top3 = detect(model, data, top_k=3).results
    for r in top3:
        if r.get("value", {}).get("isAnomaly"):
            assert len(r["value"]["interpretation"]) == 3


def test_detect_last_equals_the_batch_result_of_that_timestamp(model, data, single_pass) -> None:
    for end in (W, 150, data.n_timestamps):
        last = detect_last(model, data.rows(0, end), top_k=4)
        assert json.dumps(last.results) == json.dumps([single_pass[end - 1]])
        assert len(last.variable_states) == V


def test_detect_last_needs_a_full_window(model, data) -> None:
    with pytest.raises(MvadDataError) as info:
        detect_last(model, data.rows(0, W - 1))
    assert info.value.code == "NotEnoughData"


def test_variables_are_matched_by_name_not_order(model, data, single_pass) -> None:
    shuffled = data.select(tuple(reversed(data.variables)))
    assert json.dumps(detect(model, shuffled, top_k=4).results) == json.dumps(single_pass)


def test_verify_variables(model, data) -> None:
    assert verify_variables(model, data) == []
    fewer = data.select(data.variables[:-2])
    errors = verify_variables(model, fewer)
    assert [e["code"] for e in errors] == ["VariableNotFound"]
    assert "series_7" in errors[0]["message"] and "series_8" in errors[0]["message"]
    extra = MultivariateSeries(data.timestamps, data.variables + ("intruder",),
                               np.hstack([data.values, data.values[:, :1]]))
    errors = verify_variables(model, extra)
    assert [e["code"] for e in errors] == ["UnexpectedVariable"]
    assert "intruder" in errors[0]["message"]
    with pytest.raises(MvadDataError) as info:
        detect(model, fewer)
    assert info.value.code == "VariableNotFound"


def test_top_k_bounds(model, data) -> None:
    for bad in (0, 31):
        with pytest.raises(MvadDataError) as info:
            detect(model, data, top_k=bad)
        assert info.value.code == "InvalidTopContributorCount"


def test_missing_values_are_filled_with_the_model_policy(model, data) -> None:
    values = data.values.copy()
    values[200:203, 2] = np.nan
    holes = MultivariateSeries(data.timestamps, data.variables, values)
    results = detect(model, holes).results
    assert all("value" in r for r in results[W - 1:])
    states = detect(model, holes).variable_states
    assert states[2]["effectiveCount"] == data.n_timestamps - 3
