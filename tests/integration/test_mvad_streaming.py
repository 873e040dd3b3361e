"""The one-pass detect-batch preparation equals aligning and chunking the whole range at once."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from batchinfer.anomaly import columnar as columnar_reader
from batchinfer.anomaly import streaming
from batchinfer.models.mvad import (
    AlignPolicy,
    MultivariateSeries,
    MvadDataError,
    detect,
    detect_chunk,
    load_one_table_csv,
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


def _stream(
    model,
    csv_text: str,
    start,
    end,
    chunk_size: int,
    block_lines: int,  # type: ignore[no-untyped-def]
    columnar: bool = False,
):
    results: list[dict] = []

    def emit(index: int, block: MultivariateSeries, history_len: int) -> None:
        results.extend(detect_chunk(model, block, history_len, 5))

    if columnar:  # blocks of about block_lines rows
        row_bytes = max(1, len(csv_text) // max(1, csv_text.count("\n")))
        blocks = columnar_reader.arrow_blocks(
            io.BytesIO(csv_text.encode()), block_bytes=block_lines * row_bytes
        )
    else:
        blocks = streaming.csv_blocks(
            iter(csv_text.splitlines(keepends=True)), "data.csv", block_lines
        )
    total, states, _ = streaming.stream_prepare(
        blocks, model, start, end, chunk_size, "data.csv", emit
    )
    return results, states, total


@pytest.mark.parametrize("columnar", [False, True], ids=["lines", "arrow"])
@pytest.mark.parametrize(
    "mode,fill",
    [
        ("Outer", "Linear"),
        ("Outer", "Previous"),
        ("Outer", "Subsequent"),
        ("Outer", "Zero"),
        ("Outer", "Fixed"),
        ("Inner", "Linear"),
    ],
)
def test_streaming_preparation_equals_single_pass(
    tmp_path: Path, mode: str, fill: str, columnar: bool
) -> None:
    policy = AlignPolicy(mode, fill, 2.5)
    model = train(make_correlated_series(1500, 4, seed=1), W, policy)
    model.save(tmp_path / "model")
    data = _with_gaps(make_correlated_series(1200, 4, seed=2), seed=3)
    expected = detect(model, data, None, None, top_k=5)
    text = to_one_table_csv(data).replace(",nan", ",")
    for chunk_size, block_lines in ((97, 50), (1000, 333), (5000, 20000)):
        results, states, total = _stream(model, text, None, None, chunk_size, block_lines, columnar)
        assert results == expected.results, (chunk_size, block_lines)
        assert states == expected.variable_states
        assert total == len(expected.results)


@pytest.mark.parametrize("columnar", [False, True], ids=["lines", "arrow"])
def test_streaming_slices_the_time_range(tmp_path: Path, columnar: bool) -> None:
    model = train(make_correlated_series(1500, 3, seed=4), W)
    model.save(tmp_path / "model")
    data = make_correlated_series(900, 3, seed=5)
    start, end = int(data.timestamps[100]), int(data.timestamps[700])
    expected = detect(model, data, start, end, top_k=5)
    results, _, total = _stream(model, to_one_table_csv(data), start, end, 128, 64, columnar)
    assert results == expected.results
    assert total == 601


@pytest.mark.parametrize("columnar", [False, True], ids=["lines", "arrow"])
def test_rows_out_of_order_are_not_streamable(tmp_path: Path, columnar: bool) -> None:
    model = train(make_correlated_series(1500, 3, seed=6), W)
    model.save(tmp_path / "model")
    lines = to_one_table_csv(make_correlated_series(200, 3, seed=7)).splitlines(keepends=True)
    shuffled = [lines[0], *lines[101:], *lines[1:101]]
    with pytest.raises(streaming.NotStreamable):
        _stream(model, "".join(shuffled), None, None, 64, 50, columnar)


def _arrow(text: str, block_bytes: int = 1 << 20) -> MultivariateSeries:
    parts = list(columnar_reader.arrow_blocks(io.BytesIO(text.encode()), block_bytes))
    return MultivariateSeries(
        np.concatenate([p.timestamps for p in parts]),
        parts[0].variables,
        np.concatenate([p.values for p in parts]),
    )


def test_columnar_reader_reads_what_the_line_parser_reads() -> None:
    """Same timestamps and the same float32 bits, missing cells included (full-precision
    decimals over 60 orders of magnitude, a BOM, CRLF line ends, blank lines, gaps)."""
    rng = np.random.default_rng(9)
    wide = rng.standard_normal((3000, 4)) * 10.0 ** rng.integers(-30, 30, (3000, 4))
    series = make_correlated_series(3000, 4, seed=8)
    values = wide.astype(np.float32)
    values[rng.random(values.shape) < 0.05] = np.nan
    data = MultivariateSeries(series.timestamps, series.variables, values)
    text = to_one_table_csv(data).replace(",nan", ",")
    text = "\ufeff" + text.replace("\n", "\r\n", 200).replace("\r\n", "\r\n\r\n", 3)
    expected = load_one_table_csv(text)
    for block_bytes in (4096, 1 << 20):
        got = _arrow(text, block_bytes)
        assert got.variables == expected.variables
        assert np.array_equal(got.timestamps, expected.timestamps)
        assert np.array_equal(got.values, expected.values, equal_nan=True)


@pytest.mark.parametrize(
    "text",
    [
        "timestamp,a\n2021-01-01T00:00:00Z,abc\n",  # text
        "timestamp,a\n2021-01-01T00:00:60Z,1\n",  # a leap second strptime would take
        "timestamp,a\n2021-1-1T00:00:00Z,1\n",  # a short date strptime would take
        "timestamp,a\n2021-01-01T00:00:00Z,-nan\n",  # a NaN the line parser refuses
        "timestamp,a\n2021-01-01T00:00:00+02:00,1\n",  # an offset
        "timestamp,a\n2021-01-01T00:00:00Z,1e39\n",  # beyond float32
        "timestamp,a\n2021-01-01T00:00:00Z,1\n2021-01-01T00:00:00Z,2\n",  # duplicated
        "timestamp,a\n2021-01-01T00:00:00Z,1,2\n",  # ragged
        "time,a\n2021-01-01T00:00:00Z,1\n",  # no timestamp column
        "timestamp,a,a\n2021-01-01T00:00:00Z,1,2\n",  # duplicated variable
        "timestamp,a\n2021-01-01T00:00:00Z, nan \n",  # a missing cell with spaces
    ],
)
def test_columnar_reader_leaves_the_rest_to_the_line_parser(text: str) -> None:
    with pytest.raises(columnar_reader.NotColumnar):
        _arrow(text)


def test_values_beyond_float32_are_refused_by_the_fast_parser_too(tmp_path: Path) -> None:
    model = train(make_correlated_series(1500, 3, seed=6), W)
    model.save(tmp_path / "model")
    lines = to_one_table_csv(make_correlated_series(200, 3, seed=7)).splitlines(keepends=True)
    head = lines[150].rpartition(",")[0]
    lines[150] = f"{head},-4e38\n"  # finite as a double, -inf as float32
    with pytest.raises(MvadDataError) as info:
        _stream(model, "".join(lines), None, None, 64, 50)
    assert info.value.code == "InvalidValueFormat" and "-4e38" in info.value.message
