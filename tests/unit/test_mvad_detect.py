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
        merged.extend(
            detect_chunk(
                model, aligned.rows(chunk.history_start, chunk.stop), chunk.history_len, top_k=4
            )
        )
    return merged


@pytest.mark.parametrize("chunk_size", [1, 2, 7, W - 1, W, W + 1, 100, 699])
def test_chunked_equals_single_pass_exactly(model, data, single_pass, chunk_size: int) -> None:
    merged = _chunked(model, data, chunk_size)
    # json text compares every float by its exact repr: bitwise equality, not approx.
    assert json.dumps(merged) == json.dumps(single_pass)


def test_plan_chunks_covers_the_range_with_history() -> None:
    chunks = plan_chunks(1000, 300, 50)
    assert [(c.start, c.stop, c.history_len) for c in chunks] == [
        (0, 300, 0),
        (300, 600, 49),
        (600, 900, 49),
        (900, 1000, 49),
    ]
    assert plan_chunks(10, 300, 50)[0].history_start == 0


def test_first_window_has_insufficient_history(single_pass, data) -> None:
    assert len(single_pass) == data.n_timestamps
    for item in single_pass[: W - 1]:
        # every timestamp has a value (as the reference says), explicitly not a detection
        assert item["value"] == {
            "isAnomaly": False,
            "severity": 0.0,
            "score": 0.0,
            "interpretation": [],
        }
        assert [e["code"] for e in item["errors"]] == ["InsufficientHistoricalData"]
    assert all(item["errors"] == [] and "value" in item for item in single_pass[W - 1 :])
    assert single_pass[0]["timestamp"] == format_timestamp(data.timestamps[0])


def test_range_start_resets_history(model, data) -> None:
    start = format_timestamp(data.timestamps[100])
    end = format_timestamp(data.timestamps[160])
    results = detect(model, data, start, end).results
    assert len(results) == 61
    assert results[0]["timestamp"] == start and results[-1]["timestamp"] == end
    assert sum(bool(r["errors"]) for r in results) == W - 1
    assert all(r["errors"] == [] for r in results[W - 1 :])


def test_result_shape_and_score_invariants(single_pass) -> None:
    scored = [r["value"] for r in single_pass if not r["errors"]]
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
    """Scores are shares of the returned contributors (sum to 1 for any top_k), ranked as
    |z| ranks them; changedValues pairs with changedVariables."""
    every = detect(model, data, top_k=V).results  # all variables
    for top_k in (1, 3, V):
        results = every if top_k == V else detect(model, data, top_k=top_k).results
        anomalies = [(i, r["value"]) for i, r in enumerate(results) if r["value"]["isAnomaly"]]
        assert anomalies
        for i, v in anomalies:
            interp = v["interpretation"]
            assert len(interp) == top_k
            shares = [c["contributionScore"] for c in interp]
            assert math.isclose(sum(shares), 1.0, rel_tol=1e-12)
            assert shares == sorted(shares, reverse=True)
            # the same variables, in the same order, as the top of the full ranking
            full = every[i]["value"]["interpretation"]
            assert [c["variable"] for c in interp] == [c["variable"] for c in full[:top_k]]
            # relative sizes are those of the full ranking
            ratio = (
                full[0]["contributionScore"] / full[-1]["contributionScore"]
                if full[-1]["contributionScore"]
                else None
            )
            if top_k == V and ratio is not None:
                assert math.isclose(shares[0] / shares[-1], ratio, rel_tol=1e-9)
            for c in interp:
                changes = c["correlationChanges"]
                assert c["variable"] not in changes["changedVariables"]
                assert len(changes["changedValues"]) == len(changes["changedVariables"])
                assert changes["changedValues"] == sorted(changes["changedValues"], reverse=True)
                assert all(
                    model.interpretation.change_threshold < x <= 2.0
                    for x in changes["changedValues"]
                )


def test_changed_values_are_the_correlation_changes(model, data) -> None:
    """changedValues[j] = |window correlation − training correlation| of the pair."""
    w = model.sliding_window
    aligned, _ = prepare(model, data)
    results = detect(model, data, top_k=V).results
    found = 0
    for row, r in enumerate(results):
        for c in r["value"]["interpretation"]:
            changes = c["correlationChanges"]
            if not changes["changedVariables"]:
                continue
            window = aligned.values[row - w + 1 : row + 1].astype(np.float64)
            i = model.variables.index(c["variable"])
            for name, value in zip(changes["changedVariables"], changes["changedValues"]):
                j = model.variables.index(name)
                now = np.corrcoef(window[:, i], window[:, j])[0, 1]
                expected = abs(now - model.interpretation.correlation[i, j])
                assert math.isclose(value, expected, rel_tol=1e-9, abs_tol=1e-12)
                found += 1
    assert found, "the injected correlation breaks change some correlations"


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
    extra = MultivariateSeries(
        data.timestamps,
        data.variables + ("intruder",),
        np.hstack([data.values, data.values[:, :1]]),
    )
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
    assert all("value" in r for r in results[W - 1 :])
    states = detect(model, holes).variable_states
    assert states[2]["effectiveCount"] == data.n_timestamps - 3


def test_detect_last_states_describe_the_detected_timestamp(model, data) -> None:
    window = data.rows(100, 100 + W + 5)
    stamp = format_timestamp(window.timestamps[-1])
    states = detect_last(model, window).variable_states
    assert [s["variable"] for s in states] == list(model.variables)
    assert all(
        s
        == {
            "variable": s["variable"],
            "filledNARatio": 0.0,
            "effectiveCount": 1,
            "firstTimestamp": stamp,
            "lastTimestamp": stamp,
        }
        for s in states
    )
    values = window.values.copy()
    values[-1, 3] = np.nan  # no value at the detected timestamp: filled by the model's policy
    holes = MultivariateSeries(window.timestamps, window.variables, values)
    filled = detect_last(model, holes).variable_states
    assert (filled[3]["filledNARatio"], filled[3]["effectiveCount"]) == (1.0, 0)
    assert filled[3]["firstTimestamp"] == filled[3]["lastTimestamp"] == stamp
    assert filled[2] == states[2]


@pytest.mark.parametrize("extreme", [3.0e38, -3.0e38, 1.0e30])
def test_extreme_values_give_finite_json_results(model, data, extreme: float) -> None:
    """Residuals that overflow become the largest finite ones: a strict JSON encoder accepts
    the result and the point is a (maximally severe) anomaly."""
    values = data.values[: W + 10].copy()
    values[-1, :] = np.float32(extreme)
    values[-2, 1] = np.float32(-extreme)
    spiky = MultivariateSeries(data.timestamps[: W + 10], data.variables, values)
    for result in (detect_last(model, spiky, top_k=5), detect(model, spiky, top_k=5)):
        text = json.dumps(result.results, allow_nan=False)  # raises on NaN/Infinity
        last = json.loads(text)[-1]["value"]
        assert last["isAnomaly"] and 0.0 < last["severity"] <= 1.0 and last["score"] <= 1.0
        shares = [c["contributionScore"] for c in last["interpretation"]]
        assert math.isclose(sum(shares), 1.0, rel_tol=1e-12)


def test_row_sums_are_correctly_rounded() -> None:
    """The vectorised fixed-order row sum gives math.fsum's value, row by row."""
    from batchinfer.models.mvad.scoring import row_sums

    rng = np.random.default_rng(5)
    for n_vars in (1, 2, 7, 64, 300):
        z = rng.standard_normal((2000, n_vars)) * np.exp(rng.standard_normal((2000, n_vars)) * 4)
        squares = np.abs(z.astype(np.float32).astype(np.float64)) ** 2
        expected = np.array([math.fsum(row) for row in squares.tolist()])
        assert np.array_equal(row_sums(squares), expected)


def test_interpretations_do_not_depend_on_how_anomalies_are_batched(
    model, data, single_pass, monkeypatch: pytest.MonkeyPatch
) -> None:
    from batchinfer.models.mvad import scoring

    monkeypatch.setattr(scoring, "_WINDOW_ELEMENTS", 1)  # one anomaly's window at a time
    assert json.dumps(detect(model, data, top_k=4, chunk_size=10_000).results) == json.dumps(
        single_pass
    )


def test_scores_round_trip_and_render_any_page(model, data, single_pass) -> None:
    from batchinfer.models.mvad.detect import score_chunk
    from batchinfer.models.mvad.results import ChunkScores

    aligned, _ = prepare(model, data)
    scores = score_chunk(model, aligned, 0, top_k=4)
    stored = ChunkScores.from_npz(scores.to_npz())
    assert stored.render(model.variables) == single_pass
    for start, stop in ((0, 5), (W - 3, W + 3), (150, 420), (690, 10_000), (700, 800)):
        assert stored.render(model.variables, start, stop) == single_pass[start:stop]


def test_results_as_json_text_equal_the_dicts(model, data) -> None:
    from batchinfer.models.mvad.detect import score_chunk

    aligned, _ = prepare(model, data)
    scores = score_chunk(model, aligned, 0, top_k=4)
    for start, stop in ((0, None), (0, 5), (W - 3, W + 3), (150, 420), (695, 10_000)):
        texts = scores.render_json(model.variables, start, stop)
        assert [json.loads(t) for t in texts] == scores.render(model.variables, start, stop)
        assert texts == [json.dumps(r) for r in scores.render(model.variables, start, stop)]
