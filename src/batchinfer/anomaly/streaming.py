"""Preparing a detect-batch range from a OneTable CSV in one streaming pass.

Why: the service caps a batch at 20,000 timestamps; ours is a setting, and a range of a million
timestamps must not need memory proportional to it. The CSV is read block by block, sliced to
the time range, aligned with the model's policy by `StreamingAligner` (which gives exactly what
`models.mvad.data.align` gives on the whole range), and cut into the same chunks as
`plan_chunks` (each with slidingWindow-1 rows of history), each handed to `emit` as soon as it
is complete. Memory is one block plus one chunk plus the history, whatever the range.

Rows must arrive in time order (as the service's data does); unsorted data raises
`NotStreamable`, and the caller falls back to loading the range in memory.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from batchinfer.models.mvad import MultivariateSeries, MvadDataError
from batchinfer.models.mvad.data import load_one_table_csv, variable_states
from batchinfer.models.mvad.detect import verify_variables
from batchinfer.models.mvad.model import TrainedModel
from batchinfer.models.mvad.series import format_timestamp, parse_timestamps

BLOCK_LINES = 20_000


class NotStreamable(Exception):
    """The data cannot be prepared in one pass (e.g. rows out of time order)."""


def csv_blocks(
    lines: Iterable[str], where: str, block_lines: int = BLOCK_LINES
) -> Iterator[MultivariateSeries]:
    """Parse a OneTable CSV in blocks of rows with the same parser as the in-memory loader."""
    header: str | None = None
    block: list[str] = []
    last: int | None = None
    for line in lines:
        if header is None:
            if line.strip():
                header = line if line.endswith("\n") else line + "\n"
            continue
        block.append(line if line.endswith("\n") else line + "\n")
        if len(block) >= block_lines:
            last = yield from _parsed(header, block, where, last)
            block = []
    if header is None:
        raise MvadDataError("RequiredHeaderMissing", f"{where} is empty: no header row.")
    if block or last is None:
        yield from _parsed(header, block, where, last)


def _fast_block(header: str, block: list[str]) -> MultivariateSeries | None:
    """Parse a block of plain numeric rows in C (numpy), or None to use the general parser.

    Only the common shape qualifies: `timestamp` first, no quotes, no empty or non-numeric
    cells, rows already in time order. Anything else goes to `load_one_table_csv`, which
    gives the precise error messages; both produce the same float32 values.
    """
    names = [h.strip() for h in header.strip().split(",")]
    if (
        not block
        or names[0].lower() != "timestamp"
        or len(names) < 2
        or len(set(names)) != len(names)
        or not all(names)
    ):
        return None
    text = "".join(block)
    if '"' in text or ",," in text or ",\n" in text or ",\r" in text:
        return None
    heads, tails = [], []
    for line in block:
        head, _, tail = line.partition(",")
        heads.append(head.strip())
        tails.append(tail)
    width = len(names) - 1
    # np.fromstring in text mode (sep=",") is not the deprecated binary mode
    values = np.fromstring(",".join(t.strip() for t in tails), sep=",", dtype=np.float64)
    if values.size != len(block) * width:
        return None
    with np.errstate(over="ignore"):
        narrow = values.astype(np.float32)
    if not np.isfinite(narrow).all():  # text, infinities or beyond float32: precise errors
        return None
    try:
        timestamps = parse_timestamps(heads)
    except MvadDataError:
        return None
    if len(timestamps) > 1 and not (np.diff(timestamps) > 0).all():
        return None
    return MultivariateSeries(timestamps, tuple(names[1:]), narrow.reshape(len(block), width))


def _parsed(
    header: str, block: list[str], where: str, last: int | None
) -> Generator[MultivariateSeries, None, int | None]:
    series = _fast_block(header, block) or load_one_table_csv(header + "".join(block), where)
    if last is not None and series.n_timestamps and series.timestamps[0] <= last:
        raise NotStreamable("rows are not in time order")
    yield series
    return int(series.timestamps[-1]) if series.n_timestamps else last


@dataclass
class StreamingAligner:
    """`align` over a stream of row blocks, emitting rows once their fill is determined.

    A row is *closed* when every variable has an observation at or after it (or the stream has
    ended): then Previous, Subsequent and Linear fills are known, computed from the same
    neighbouring observations `align` would use, so the output is identical.
    """

    variables: tuple[str, ...]
    align_mode: str
    fill_na_method: str
    padding_value: float
    _ts: list[np.ndarray] = field(default_factory=list)
    _values: list[np.ndarray] = field(default_factory=list)
    _left_ts: np.ndarray | None = None  # last observation per variable already emitted
    _left_value: np.ndarray | None = None
    _first_value: np.ndarray | None = None  # first observation per variable (leading gaps)
    _count: np.ndarray | None = None
    _first_ts: np.ndarray | None = None
    _last_ts: np.ndarray | None = None
    _rows: int = 0

    def __post_init__(self) -> None:
        n = len(self.variables)
        self._left_ts = np.full(n, -1, dtype=np.int64)
        self._left_value = np.full(n, np.nan, dtype=np.float32)
        self._first_value = np.full(n, np.nan, dtype=np.float32)
        self._count = np.zeros(n, dtype=np.int64)
        self._first_ts = np.full(n, -1, dtype=np.int64)
        self._last_ts = np.full(n, -1, dtype=np.int64)

    def push(self, block: MultivariateSeries) -> Iterator[MultivariateSeries]:
        ts, values = block.timestamps, block.values
        observed = ~np.isnan(values)
        if self.align_mode == "Inner":
            keep = observed.all(axis=1)
            ts, values, observed = ts[keep], values[keep], observed[keep]
            self._account(ts, observed, values)
            if len(ts):
                yield MultivariateSeries(ts, self.variables, np.ascontiguousarray(values))
            return
        self._account(ts, observed, values)
        self._ts.append(ts)
        self._values.append(values)
        yield from self._emit(final=False)

    def finish(self) -> Iterator[MultivariateSeries]:
        if self.align_mode != "Inner":
            yield from self._emit(final=True)

    def states(self) -> list[dict[str, Any]]:
        assert self._count is not None and self._first_ts is not None and self._last_ts is not None
        if self._rows == 0:
            raise MvadDataError(
                "NotEnoughData",
                "No timestamp has a value for every variable (alignMode Inner)."
                if self.align_mode == "Inner"
                else "The data is empty.",
            )
        empty = [v for v, c in zip(self.variables, self._count, strict=False) if c == 0]
        if empty:
            raise MvadDataError(
                "NotEnoughData",
                f"Variable(s) with no values in the range: {', '.join(empty[:10])}.",
            )
        n = self._rows
        return [
            {
                "variable": name,
                "filledNARatio": float((n - count) / n),
                "effectiveCount": int(count),
                "firstTimestamp": format_timestamp(first) if count else None,
                "lastTimestamp": format_timestamp(last) if count else None,
            }
            for name, count, first, last in zip(
                self.variables, self._count, self._first_ts, self._last_ts, strict=False
            )
        ]

    # ------------------------------------------------------------------------------ internals
    def _account(self, ts: np.ndarray, observed: np.ndarray, values: np.ndarray) -> None:
        assert self._count is not None and self._first_ts is not None
        assert self._last_ts is not None and self._first_value is not None
        self._rows += len(ts)
        if not len(ts):
            return
        counts = observed.sum(axis=0)
        first_idx = observed.argmax(axis=0)
        last_idx = len(ts) - 1 - observed[::-1].argmax(axis=0)
        new = (self._count == 0) & (counts > 0)
        self._first_ts[new] = ts[first_idx[new]]
        self._first_value[new] = values[first_idx[new], np.flatnonzero(new)]
        has = counts > 0
        self._last_ts[has] = ts[last_idx[has]]
        self._count += counts

    def _emit(self, final: bool) -> Iterator[MultivariateSeries]:
        if not self._ts:
            return
        ts = np.concatenate(self._ts)
        values = np.concatenate(self._values)
        if not len(ts):
            return
        observed = ~np.isnan(values)
        if final or self.fill_na_method in ("Zero", "Fixed"):
            close = len(ts)
        else:
            # rows up to the last row at which every variable is still observed later on
            last_obs = np.where(
                observed.any(axis=0), len(ts) - 1 - observed[::-1].argmax(axis=0), -1
            )
            close = int(last_obs.min()) + 1
            if self.fill_na_method == "Previous":
                # only leading gaps (nothing observed yet) wait for a later observation
                assert self._left_ts is not None
                seen = (self._left_ts >= 0) | observed.any(axis=0)
                close = len(ts) if seen.all() else close
        if close <= 0:
            return
        out = self._fill(ts[:close], values[:close], observed[:close], ts, values, observed, final)
        self._remember(ts[:close], values[:close], observed[:close])
        self._ts, self._values = ([ts[close:]], [values[close:]]) if close < len(ts) else ([], [])
        yield MultivariateSeries(ts[:close], self.variables, out)

    def _remember(self, ts: np.ndarray, values: np.ndarray, observed: np.ndarray) -> None:
        assert self._left_ts is not None and self._left_value is not None
        has = observed.any(axis=0)
        idx = len(ts) - 1 - observed[::-1].argmax(axis=0)
        cols = np.flatnonzero(has)
        self._left_ts[cols] = ts[idx[cols]]
        self._left_value[cols] = values[idx[cols], cols]

    def _fill(
        self,
        ts: np.ndarray,
        values: np.ndarray,
        observed: np.ndarray,
        all_ts: np.ndarray,
        all_values: np.ndarray,
        all_observed: np.ndarray,
        final: bool,
    ) -> np.ndarray:
        assert self._left_ts is not None and self._left_value is not None
        assert self._first_value is not None
        method = self.fill_na_method
        if observed.all():
            return np.ascontiguousarray(values, dtype=np.float32)
        if method in ("Zero", "Fixed"):
            fill = 0.0 if method == "Zero" else self.padding_value
            return np.ascontiguousarray(
                np.where(observed, values, np.float32(fill)), dtype=np.float32
            )
        out = values.copy()
        for col in np.flatnonzero(~observed.all(axis=0)):
            mask = all_observed[:, col]
            xs, fs = all_ts[mask], all_values[mask, col]
            if self._left_ts[col] >= 0:  # the last observation before this stretch
                xs = np.concatenate(([self._left_ts[col]], xs))
                fs = np.concatenate(([self._left_value[col]], fs))
            if method == "Linear":
                out[:, col] = np.interp(
                    ts.astype(np.float64), xs.astype(np.float64), fs.astype(np.float64)
                )
            elif method == "Previous":
                pos = np.searchsorted(xs, ts, side="right") - 1
                out[:, col] = np.where(pos >= 0, fs[np.maximum(pos, 0)], self._first_value[col])
            else:  # Subsequent: next observation, or the last one for a trailing gap
                pos = np.searchsorted(xs, ts, side="left")
                out[:, col] = fs[np.minimum(pos, len(fs) - 1)]
        return np.ascontiguousarray(out, dtype=np.float32)


def stream_prepare(
    blocks: Iterable[MultivariateSeries],
    model: TrainedModel,
    start: int | None,
    end: int | None,
    chunk_size: int | Callable[[int], int],
    where: str,
    emit: Callable[[int, MultivariateSeries, int], None],
) -> tuple[int, list[dict[str, Any]], tuple[int, int] | None]:
    """Verify, slice, align and chunk in one pass over parsed row blocks (`csv_blocks` or
    `columnar.arrow_blocks`); returns (rows, variableStates, (first, last)).

    `chunk_size` is the rows of every chunk, or a function of the chunk's index giving them.
    """
    rows_of = chunk_size if callable(chunk_size) else (lambda _index: chunk_size)
    policy = model.align_policy
    aligner: StreamingAligner | None = None
    w = model.sliding_window
    history: MultivariateSeries | None = None
    pending: list[MultivariateSeries] = []
    pending_rows = 0
    chunk_index = 0
    total = 0
    span: list[int] = []

    def take(rows: MultivariateSeries) -> None:
        nonlocal history, pending_rows, chunk_index, total
        if not rows.n_timestamps:
            return
        if not span:
            span.append(int(rows.timestamps[0]))
        span[1:] = [int(rows.timestamps[-1])]
        pending.append(rows)
        pending_rows += rows.n_timestamps
        total += rows.n_timestamps
        while pending_rows >= rows_of(chunk_index):
            flush(rows_of(chunk_index))

    def flush(count: int) -> None:
        nonlocal history, pending, pending_rows, chunk_index
        merged = _concat(pending, model.variables)
        chunk = merged.rows(0, count)
        rest = merged.rows(count, merged.n_timestamps)
        block = _concat([history, chunk] if history is not None else [chunk], model.variables)
        history_len = block.n_timestamps - chunk.n_timestamps
        emit(chunk_index, block, history_len)
        chunk_index += 1
        keep = min(w - 1, block.n_timestamps)
        history = block.rows(block.n_timestamps - keep, block.n_timestamps) if keep else None
        pending = [rest] if rest.n_timestamps else []
        pending_rows = rest.n_timestamps

    for block in blocks:
        if aligner is None:
            errors = verify_variables(model, block)
            if errors:
                raise MvadDataError(errors[0]["code"], " ".join(e["message"] for e in errors))
            aligner = StreamingAligner(
                model.variables, policy.align_mode, policy.fill_na_method, policy.padding_value
            )
        ordered = block.select(model.variables)
        keep = np.ones(ordered.n_timestamps, dtype=bool)
        if start is not None:
            keep &= ordered.timestamps >= start
        if end is not None:
            keep &= ordered.timestamps <= end
        if not keep.all():
            ordered = MultivariateSeries(
                ordered.timestamps[keep],
                ordered.variables,
                np.ascontiguousarray(ordered.values[keep]),
            )
        for rows in aligner.push(ordered):
            take(rows)
    if aligner is None:
        raise MvadDataError("NotEnoughData", f"{where} has a header but no data rows.")
    for rows in aligner.finish():
        take(rows)
    states = aligner.states()
    if pending_rows:
        flush(pending_rows)
    return total, states, (span[0], span[-1]) if span else None


def _concat(
    parts: Sequence[MultivariateSeries | None], variables: tuple[str, ...]
) -> MultivariateSeries:
    real = [p for p in parts if p is not None and p.n_timestamps]
    if not real:
        return MultivariateSeries(
            np.zeros(0, dtype=np.int64), variables, np.zeros((0, len(variables)), dtype=np.float32)
        )
    if len(real) == 1:
        return real[0]
    return MultivariateSeries(
        np.concatenate([p.timestamps for p in real]),
        variables,
        np.ascontiguousarray(np.concatenate([p.values for p in real])),
    )


__all__ = ["NotStreamable", "StreamingAligner", "csv_blocks", "stream_prepare", "variable_states"]
