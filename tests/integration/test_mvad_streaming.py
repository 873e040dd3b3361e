"""The one-pass detect-batch preparation equals aligning and chunking the whole range at once."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from batchinfer.anomaly import streaming
from batchinfer.models.mvad import (
    AlignPolicy,
    MultivariateSeries,
    MvadDataError,
    detect,
    detect_chunk,
    train,
)
from batchinfer.models.mvad.synthetic import make_correlated_series, to_one_table_csv

W = 30


def _with_gaps(series: MultivariateSeries, seed: int) -> MultivariateSeries:
    rng = np.random.default_rng(seed)
    values = series.values.copy()
    values[rng.random(values.shape) < 0.08] = np.nan
    values[:7, 1] = np.nan  # a leading gap
    values[-9:, 2] = np.nan  # a trailing gap
    values[400:700, 0] = np.nan  # a gap longer than a parse block and a chunk
    return MultivariateSeries(series.timestamps, series.variables, values)


def _stream(model, csv_text: str, start, end, chunk_size: int, block_lines: int):  # type: ignore[no-untyped-def]
    results: list[dict] = []

    def emit(index: int, block: MultivariateSeries, history_len: int) -> None:
        results.extend(detect_chunk(model, block, history_len, 5))

    lines = csv_text.splitlines(keepends=True)
    total, states, _ = streaming.stream_prepare(
        iter(lines), model, start, end, chunk_size, "data.csv", emit, block_lines)
    return results, states, total


@pytest.mark.parametrize("mode,fill", [
    ("Outer", "Linear"), ("Outer", "Previous"), ("Outer", "Subsequent"), ("Outer", "Zero"),
    ("Outer", "Fixed"), ("Inner", "Linear"),
])
def test_streaming_preparation_equals_single_pass(tmp_path: Path, mode: str, fill: str) -> None:
    policy = AlignPolicy(mode, fill, 2.5)
    model = train(make_correlated_series(1500, 4, seed=1), W, policy)
    model.save(tmp_path / "model")
    data = _with_gaps(make_correlated_series(1200, 4, seed=2), seed=3)
    expected = detect(model, data, None, None, top_k=5)
    text = to_one_table_csv(data).replace(",nan", ",")
    for chunk_size, block_lines in ((97, 50), (1000, 333), (5000, 20000)):
        results, states, total = _stream(model, text, None, None, chunk_size, block_lines)
        assert results == expected.results, (chunk_size, block_lines)
        assert states == expected.variable_states
        assert total == len(expected.results)


def test_streaming_slices_the_time_range(tmp_path: Path) -> None:
    model = train(make_correlated_series(1500, 3, seed=4), W)
    model.save(tmp_path / "model")
    data = make_correlated_series(900, 3, seed=5)
    start, end = int(data.timestamps[100]), int(data.timestamps[700])
    expected = detect(model, data, start, end, top_k=5)
    results, _, total = _stream(model, to_one_table_csv(data), start, end, 128, 64)
    assert results == expected.results
    assert total == 601


def test_rows_out_of_order_are_not_streamable(tmp_path: Path) -> None:
    model = train(make_correlated_series(1500, 3, seed=6), W)
    model.save(tmp_path / "model")
    lines = to_one_table_csv(make_correlated_series(200, 3, seed=7)).splitlines(keepends=True)
    shuffled = [lines[0], *lines[101:], *lines[1:101]]
    with pytest.raises(streaming.NotStreamable):
        _stream(model, "".join(shuffled), None, None, 64, 50)


def test_values_beyond_float32_are_refused_by_the_fast_parser_too(tmp_path: Path) -> None:
    model = train(make_correlated_series(1500, 3, seed=6), W)
    model.save(tmp_path / "model")
    lines = to_one_table_csv(make_correlated_series(200, 3, seed=7)).splitlines(keepends=True)
    head = lines[150].rpartition(",")[0]
    lines[150] = f"{head},-4e38\n"  # finite as a double, -inf as float32
    with pytest.raises(MvadDataError) as info:
        _stream(model, "".join(lines), None, None, 64, 50)
    assert info.value.code == "InvalidValueFormat" and "-4e38" in info.value.message
