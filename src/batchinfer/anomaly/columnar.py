"""Reading a OneTable CSV with a columnar parser (Apache Arrow), block by block.

Why: the line-by-line parser (`streaming.csv_blocks`) spends most of a detect-batch's time in
Python; Arrow parses the same bytes in C++ on all cores, straight into float columns. Only
the plain, common shape is read here, with exactly the values and timestamps the line parser
would produce; anything else (quoted headers aside, text cells, odd timestamps, NaN spelled
in a way the line parser refuses, rows in a different order within a block...) raises
`NotColumnar` and the caller reads the file again with the line parser, whose answers and
error messages are the reference.
"""
from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from batchinfer.anomaly.streaming import NotStreamable
from batchinfer.models.mvad import MultivariateSeries, MvadDataError
from batchinfer.models.mvad.data import MISSING_CELLS, TIMESTAMP_COLUMN
from batchinfer.models.mvad.series import parse_timestamps

BLOCK_BYTES = 4 << 20  # ~20k rows of 20 variables per block
_ISO_SECONDS = "%Y-%m-%dT%H:%M:%SZ"


class NotColumnar(Exception):
    """The file is not in the plain shape this reader handles; use the line parser."""


def arrow_blocks(stream: BinaryIO, block_bytes: int = BLOCK_BYTES) -> Iterator[MultivariateSeries]:
    """Blocks of rows, in file order, from a binary stream positioned at the file's start.

    Raises `NotStreamable` when a block starts before the previous one ended (rows out of
    time order across blocks), like the line parser, and `NotColumnar` as described above.
    """
    names = _header(stream)
    ts_col = [n.lower() for n in names].index(TIMESTAMP_COLUMN)
    keys = [f"c{i}" for i in range(len(names))]
    types = {key: (pa.string() if i == ts_col else pa.float64()) for i, key in enumerate(keys)}
    variables = tuple(n for i, n in enumerate(names) if i != ts_col)
    try:
        reader = pa_csv.open_csv(
            stream,
            read_options=pa_csv.ReadOptions(column_names=keys, block_size=block_bytes),
            convert_options=pa_csv.ConvertOptions(
                column_types=types, null_values=sorted(MISSING_CELLS), strings_can_be_null=False,
                quoted_strings_can_be_null=False))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, UnicodeDecodeError):
        raise NotColumnar("the first block could not be read as numbers") from None
    last: int | None = None
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            return
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            raise NotColumnar("a block could not be read as numbers") from None
        if batch.num_rows == 0:
            continue
        series = _series(batch, ts_col, variables)
        if last is not None and series.timestamps[0] <= last:
            raise NotStreamable("rows are not in time order")
        last = int(series.timestamps[-1])
        yield series


def _header(stream: BinaryIO) -> list[str]:
    """The header's column names (stripped), leaving the stream just after the header line."""
    for raw in stream:
        try:
            line = raw.decode("utf-8-sig" if raw.startswith(b"\xef\xbb\xbf") else "utf-8")
        except UnicodeDecodeError:
            raise NotColumnar("the header is not UTF-8") from None
        if not line.strip():
            continue
        names = [cell.strip() for cell in next(csv.reader([line]))]
        lowered = [n.lower() for n in names]
        if lowered.count(TIMESTAMP_COLUMN) != 1 or len(names) < 2 or not all(names) \
                or len(set(names)) != len(names) or '"' in line:
            raise NotColumnar("the header needs the line parser's checks")
        return names
    raise NotColumnar("no header")


def _series(batch: pa.RecordBatch, ts_col: int, variables: tuple[str, ...]) -> MultivariateSeries:
    timestamps = _timestamps(batch.column(ts_col))
    columns = []
    for i in range(batch.num_columns):
        if i == ts_col:
            continue
        column = batch.column(i)
        values = column.to_numpy(zero_copy_only=False)
        if np.count_nonzero(np.isnan(values)) != column.null_count:
            raise NotColumnar("a NaN spelled in a way the line parser refuses")
        columns.append(values)
    wide = np.column_stack(columns) if columns else np.zeros((batch.num_rows, 0))
    with np.errstate(over="ignore"):
        values = wide.astype(np.float32)
    if np.isinf(values).any():  # infinities, or beyond the float32 range: precise errors
        raise NotColumnar("non-finite values")
    if len(timestamps) > 1 and not (np.diff(timestamps) > 0).all():
        order = np.argsort(timestamps, kind="stable")
        timestamps, values = timestamps[order], values[order]
        if (np.diff(timestamps) == 0).any():
            raise NotColumnar("duplicated timestamps")
    return MultivariateSeries(timestamps, variables, np.ascontiguousarray(values))


def _timestamps(column: pa.Array) -> np.ndarray:
    """Epoch ms of `YYYY-MM-DDTHH:MM:SSZ` cells in C++ (checked by formatting them back, as
    strptime is more lenient than the line parser); other shapes through `parse_timestamps`."""
    try:
        parsed = pc.strptime(column, format=_ISO_SECONDS, unit="ms")
        if pc.all(pc.equal(pc.strftime(parsed, format=_ISO_SECONDS), column)).as_py():
            return parsed.cast(pa.int64()).to_numpy(zero_copy_only=False).astype(np.int64)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    try:
        return parse_timestamps(column.to_pylist())
    except MvadDataError:
        raise NotColumnar("timestamps the line parser must judge") from None
