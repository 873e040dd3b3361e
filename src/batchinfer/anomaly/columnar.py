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
import pyarrow.csv as pa_csv

from batchinfer.anomaly.streaming import NotStreamable
from batchinfer.models.mvad import MultivariateSeries, MvadDataError
from batchinfer.models.mvad.data import MISSING_CELLS, TIMESTAMP_COLUMN
from batchinfer.models.mvad.series import parse_timestamps

BLOCK_BYTES = 4 << 20  # ~20k rows of 20 variables per block


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
                column_types=types,
                null_values=sorted(MISSING_CELLS),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
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
        if (
            lowered.count(TIMESTAMP_COLUMN) != 1
            or len(names) < 2
            or not all(names)
            or len(set(names)) != len(names)
            or '"' in line
        ):
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
    """Epoch ms of `YYYY-MM-DDTHH:MM:SSZ` cells, decoded in numpy from the column's bytes;
    any other shape goes through `parse_timestamps` (the line parser's reading)."""
    parsed = _iso_seconds(column)
    if parsed is not None:
        return parsed
    try:
        return parse_timestamps(column.to_pylist())
    except MvadDataError:
        raise NotColumnar("timestamps the line parser must judge") from None


_DIGITS = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18]
_SEPARATORS = {4: ord("-"), 7: ord("-"), 10: ord("T"), 13: ord(":"), 16: ord(":"), 19: ord("Z")}
_DAYS_IN_MONTH = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


def _iso_seconds(column: pa.Array) -> np.ndarray | None:
    """Every cell exactly `YYYY-MM-DDTHH:MM:SSZ` with valid fields → epoch ms, else None.

    Why not Arrow's strptime: it is more lenient than numpy's parser (a 60th second, one-digit
    fields), and checking it by formatting back costs more than this whole function.
    """
    if column.null_count or len(column) == 0 or not pa.types.is_string(column.type):
        return None
    offsets = np.frombuffer(column.buffers()[1], dtype=np.int32)[
        column.offset : column.offset + len(column) + 1
    ]
    if not (np.diff(offsets) == 20).all():
        return None
    text = np.frombuffer(column.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
    text = text.reshape(-1, 20)
    if any((text[:, i] != c).any() for i, c in _SEPARATORS.items()):
        return None
    digits = text[:, _DIGITS].astype(np.int64) - ord("0")
    if ((digits < 0) | (digits > 9)).any():
        return None
    year = digits[:, 0] * 1000 + digits[:, 1] * 100 + digits[:, 2] * 10 + digits[:, 3]
    month, day, hour, minute, second = (
        digits[:, i] * 10 + digits[:, i + 1] for i in range(4, 14, 2)
    )
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    if ((month < 1) | (month > 12)).any():
        return None
    last_day = _DAYS_IN_MONTH[month] + ((month == 2) & leap)
    if ((day < 1) | (day > last_day) | (hour > 23) | (minute > 59) | (second > 59)).any():
        return None
    # days since 1970-01-01 of a proleptic Gregorian date (era-based civil-to-days)
    y = year - (month <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * ((month + 9) % 12) + 2) // 5 + day - 1
    days = era * 146_097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719_468
    return (((days * 24 + hour) * 60 + minute) * 60 + second) * 1000
