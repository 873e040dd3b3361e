"""Parsing MVAD input CSVs, aligning variables onto one timeline, and slicing by time.

Why this lives apart from the model: the API, training and both inference paths all need the
same reading of "the data", and the variable states the v1.1 summary reports (filled ratio,
effective count, first/last timestamps) fall out of alignment, so they are computed here, once.
"""

from __future__ import annotations

import csv
import io
import math
import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from batchinfer.models.mvad.errors import (
    DUPLICATED_TIMESTAMPS,
    DUPLICATED_VARIABLES,
    INVALID_ALIGN_POLICY,
    INVALID_DATA_SCHEMA,
    INVALID_TIME_RANGE,
    INVALID_VALUE_FORMAT,
    NO_VARIABLES_FOUND,
    NOT_ENOUGH_DATA,
    REQUIRED_HEADER_MISSING,
    MvadDataError,
)
from batchinfer.models.mvad.series import (
    MultivariateSeries,
    format_timestamp,
    parse_time,
    parse_timestamps,
)

ALIGN_MODES = ("Inner", "Outer")
FILL_NA_METHODS = ("Previous", "Subsequent", "Linear", "Zero", "Fixed")
TIMESTAMP_COLUMN = "timestamp"
MISSING_CELLS = frozenset({"", "nan", "NaN", "NAN", "null", "NULL", "None"})
_MISSING = MISSING_CELLS


@dataclass(frozen=True)
class AlignPolicy:
    """The v1.1 `alignPolicy` object; a model records the one it was trained with."""

    align_mode: str = "Outer"
    fill_na_method: str = "Linear"
    padding_value: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "alignMode": self.align_mode,
            "fillNAMethod": self.fill_na_method,
            "paddingValue": self.padding_value,
        }

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> AlignPolicy:
        return cls(
            str(obj.get("alignMode", "Outer")),
            str(obj.get("fillNAMethod", "Linear")),
            float(obj.get("paddingValue", 0.0)),
        )


# --------------------------------------------------------------------------- parsing


def _read_rows(text: str, where: str) -> tuple[list[str], list[list[str]]]:
    """Header and non-blank data rows of one CSV; every row must have the header's width."""
    if text.startswith("\ufeff"):
        text = text[1:]
    reader = csv.reader(io.StringIO(text))
    header: list[str] | None = None
    rows: list[list[str]] = []
    for line_no, row in enumerate(reader, start=1):
        if not row or all(not cell.strip() for cell in row):
            continue
        if header is None:
            header = [cell.strip() for cell in row]
            continue
        if len(row) != len(header):
            raise MvadDataError(
                INVALID_DATA_SCHEMA,
                f"Line {line_no} of {where} has {len(row)} fields; the header has {len(header)}.",
            )
        rows.append(row)
    if header is None:
        raise MvadDataError(REQUIRED_HEADER_MISSING, f"{where} is empty: no header row.")
    return header, rows


def _timestamp_index(header: list[str], where: str) -> int:
    lowered = [h.lower() for h in header]
    if TIMESTAMP_COLUMN not in lowered:
        raise MvadDataError(
            REQUIRED_HEADER_MISSING,
            f"{where} has no '{TIMESTAMP_COLUMN}' column (header: {','.join(header)}).",
        )
    if lowered.count(TIMESTAMP_COLUMN) > 1:
        raise MvadDataError(INVALID_DATA_SCHEMA, f"{where} has more than one timestamp column.")
    return lowered.index(TIMESTAMP_COLUMN)


def _parse_values(cells: np.ndarray, names: Sequence[str], where: str) -> np.ndarray:
    """String cells [T, V] → float32, NaN for empty/`nan` cells; refuses text, infinities and
    values beyond the float32 range (they would become infinities)."""
    cells = cells.copy()
    cells[np.isin(cells, list(_MISSING))] = "nan"
    try:
        values = cells.astype(np.float64)
    except ValueError:
        values = None
    with np.errstate(over="ignore"):
        narrow = values.astype(np.float32) if values is not None else None
    if narrow is None or np.isinf(narrow).any():
        for (t, v), cell in np.ndenumerate(cells):
            try:
                ok = _finite_float32(float(cell)) or cell == "nan"
            except ValueError:
                ok = False
            if not ok:
                raise MvadDataError(
                    INVALID_VALUE_FORMAT,
                    f"Value {cell!r} of variable '{names[v]}' on data row {t + 1} "
                    f"of {where} is not a finite number.",
                ) from None
    assert narrow is not None
    return narrow


def _finite_float32(value: float) -> bool:
    """Finite once stored as float32 (1e39 is a finite double but overflows to inf)."""
    with np.errstate(over="ignore"):
        return bool(np.isfinite(np.float32(value))) if math.isfinite(value) else False


def _sorted_unique(
    timestamps: np.ndarray, values: np.ndarray, where: str
) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(timestamps, kind="stable")
    timestamps, values = timestamps[order], values[order]
    dup = np.flatnonzero(np.diff(timestamps) == 0)
    if dup.size:
        raise MvadDataError(
            DUPLICATED_TIMESTAMPS,
            f"Timestamp {format_timestamp(timestamps[dup[0]])} appears more than once in {where}.",
        )
    return timestamps, values


def _check_names(names: Sequence[str], where: str) -> None:
    if not names:
        raise MvadDataError(NO_VARIABLES_FOUND, f"{where} has no variable columns.")
    if any(not n for n in names):
        raise MvadDataError(INVALID_DATA_SCHEMA, f"{where} has a column with an empty name.")
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise MvadDataError(
                DUPLICATED_VARIABLES, f"Variable '{name}' appears more than once in {where}."
            )
        seen.add(name)


def load_one_table_csv(text: str, where: str = "the CSV file") -> MultivariateSeries:
    """OneTable schema: `timestamp` plus one column per variable; empty cells are missing."""
    header, rows = _read_rows(text, where)
    ts_col = _timestamp_index(header, where)
    names = [h for i, h in enumerate(header) if i != ts_col]
    _check_names(names, where)
    if not rows:
        raise MvadDataError(NOT_ENOUGH_DATA, f"{where} has a header but no data rows.")
    cells = np.array(rows, dtype=str)
    timestamps = parse_timestamps(cells[:, ts_col].tolist(), where)
    value_cells = np.delete(cells, ts_col, axis=1)
    values = _parse_values(np.char.strip(value_cells), names, where)
    timestamps, values = _sorted_unique(timestamps, values, where)
    return MultivariateSeries(timestamps, tuple(names), np.ascontiguousarray(values))


def variable_name(file_name: str) -> str:
    """MultiTable variable name: the file's stem (`folder/series_0.csv` → `series_0`)."""
    base = posixpath.basename(file_name.replace("\\", "/"))
    stem, dot, _ = base.rpartition(".")
    return stem if dot else base


def load_multi_table(files: Mapping[str, str]) -> MultivariateSeries:
    """MultiTable schema: one `timestamp,value` CSV per variable, joined on the union of times.

    Timestamps a file lacks become NaN; `align` decides whether to drop (Inner) or fill (Outer).
    Variables are ordered by name so that the same folder always gives the same column order.
    """
    if not files:
        raise MvadDataError(NO_VARIABLES_FOUND, "No CSV files were found in the data source.")
    by_name: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for file_name in sorted(files):
        name = variable_name(file_name)
        if name in by_name:
            raise MvadDataError(
                DUPLICATED_VARIABLES,
                f"More than one file is named '{name}' (variable names are file stems).",
            )
        header, rows = _read_rows(files[file_name], file_name)
        if [h.lower() for h in header] != [TIMESTAMP_COLUMN, "value"]:
            raise MvadDataError(
                INVALID_DATA_SCHEMA,
                f"{file_name} must have exactly the columns 'timestamp,value'; "
                f"found '{','.join(header)}'.",
            )
        if not rows:
            raise MvadDataError(NOT_ENOUGH_DATA, f"{file_name} has a header but no data rows.")
        cells = np.array(rows, dtype=str)
        ts = parse_timestamps(cells[:, 0].tolist(), file_name)
        vals = _parse_values(np.char.strip(cells[:, 1:2]), [name], file_name)[:, 0]
        by_name[name] = _sorted_unique(ts, vals, file_name)
    names = sorted(by_name)
    _check_names(names, "the data source")
    timeline = np.unique(np.concatenate([by_name[n][0] for n in names]))
    values = np.full((timeline.size, len(names)), np.nan, dtype=np.float32)
    for col, name in enumerate(names):
        ts, vals = by_name[name]
        values[np.searchsorted(timeline, ts), col] = vals
    return MultivariateSeries(timeline.astype(np.int64), tuple(names), values)


# --------------------------------------------------------------------------- alignment


def _canonical(value: str, allowed: Sequence[str], what: str) -> str:
    for option in allowed:
        if value.lower() == option.lower():
            return option
    raise MvadDataError(
        INVALID_ALIGN_POLICY, f"{what} must be one of {', '.join(allowed)}; got {value!r}."
    )


def _fill_previous(values: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """Forward fill per column; leading gaps take the first observed value (nothing precedes)."""
    t = np.arange(values.shape[0])[:, None]
    last = np.maximum.accumulate(np.where(observed, t, -1), axis=0)
    first = observed.argmax(axis=0)[None, :]
    source = np.where(last < 0, first, last)
    return np.take_along_axis(values, source, axis=0)


def _fill_linear(values: np.ndarray, observed: np.ndarray, timestamps: np.ndarray) -> np.ndarray:
    """Time-weighted linear interpolation per column, flat beyond the first/last observation."""
    out = values.copy()
    x = timestamps.astype(np.float64)
    for col in np.flatnonzero(~observed.all(axis=0)):
        mask = observed[:, col]
        out[:, col] = np.interp(x, x[mask], values[mask, col].astype(np.float64))
    return out


def align(
    series: MultivariateSeries,
    align_mode: str = "Outer",
    fill_na_method: str = "Linear",
    padding_value: float = 0.0,
) -> tuple[MultivariateSeries, list[dict[str, Any]]]:
    """Put every variable on one timeline with no gaps, and report what had to be filled.

    Inner keeps only timestamps where every variable has a value; Outer keeps every timestamp and
    fills gaps with `fill_na_method`. Returns the aligned series (no NaN) and the v1.1
    `variableStates` list (one entry per variable, in column order).
    """
    mode = _canonical(align_mode, ALIGN_MODES, "alignMode")
    method = _canonical(fill_na_method, FILL_NA_METHODS, "fillNAMethod")
    if not math.isfinite(padding_value):
        raise MvadDataError(INVALID_ALIGN_POLICY, "paddingValue must be a finite number.")
    observed = ~np.isnan(series.values)
    if mode == "Inner":
        keep = observed.all(axis=1)
        series = MultivariateSeries(series.timestamps[keep], series.variables, series.values[keep])
        observed = observed[keep]
    if series.n_timestamps == 0:
        raise MvadDataError(
            NOT_ENOUGH_DATA,
            "No timestamp has a value for every variable (alignMode Inner)."
            if mode == "Inner"
            else "The data is empty.",
        )
    counts = observed.sum(axis=0)
    empty = [series.variables[i] for i in np.flatnonzero(counts == 0)]
    if empty:
        raise MvadDataError(
            NOT_ENOUGH_DATA,
            f"Variable(s) with no values in the range: "
            f"{', '.join(empty[:10])}{' ...' if len(empty) > 10 else ''}.",
        )
    values = series.values
    if not observed.all():
        if method == "Previous":
            values = _fill_previous(values, observed)
        elif method == "Subsequent":
            values = _fill_previous(values[::-1], observed[::-1])[::-1]
        elif method == "Linear":
            values = _fill_linear(values, observed, series.timestamps)
        else:
            fill = 0.0 if method == "Zero" else padding_value
            values = np.where(observed, values, np.float32(fill))
    aligned = MultivariateSeries(
        series.timestamps, series.variables, np.ascontiguousarray(values, dtype=np.float32)
    )
    return aligned, variable_states(series.timestamps, series.variables, observed)


def variable_states(
    timestamps: np.ndarray, variables: Sequence[str], observed: np.ndarray
) -> list[dict[str, Any]]:
    """`variableStates` entries from a boolean observed-mask [T, V] on the aligned timeline."""
    n = max(1, timestamps.size)
    counts = observed.sum(axis=0)
    first = observed.argmax(axis=0)
    last = observed.shape[0] - 1 - observed[::-1].argmax(axis=0)
    states = []
    for i, name in enumerate(variables):
        states.append(
            {
                "variable": name,
                "filledNARatio": float((n - counts[i]) / n),
                "effectiveCount": int(counts[i]),
                "firstTimestamp": format_timestamp(timestamps[first[i]]) if counts[i] else None,
                "lastTimestamp": format_timestamp(timestamps[last[i]]) if counts[i] else None,
            }
        )
    return states


# --------------------------------------------------------------------------- time ranges


def slice_time(
    series: MultivariateSeries, start: str | int | None = None, end: str | int | None = None
) -> MultivariateSeries:
    """Rows with start <= timestamp <= end, the bounds clamped to the data (as the service does).

    `InvalidTimeRange` when end < start; `NotEnoughData` when no timestamp falls in the range.
    """
    lo_ms, hi_ms = parse_time(start, "startTime"), parse_time(end, "endTime")
    if lo_ms is not None and hi_ms is not None and hi_ms < lo_ms:
        raise MvadDataError(INVALID_TIME_RANGE, "endTime must be later than or equal to startTime.")
    ts = series.timestamps
    lo = 0 if lo_ms is None else int(np.searchsorted(ts, lo_ms, side="left"))
    hi = ts.size if hi_ms is None else int(np.searchsorted(ts, hi_ms, side="right"))
    if hi <= lo:
        raise MvadDataError(
            NOT_ENOUGH_DATA, f"No data between startTime and endTime (data covers {_span(ts)})."
        )
    return series.rows(lo, hi)


def _span(ts: np.ndarray) -> str:
    if ts.size == 0:
        return "no timestamps"
    return f"{format_timestamp(ts[0])} to {format_timestamp(ts[-1])}"
