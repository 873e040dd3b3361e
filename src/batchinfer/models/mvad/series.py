"""The in-memory shape every MVAD function shares, and ISO-8601 timestamp conversion.

Why epoch milliseconds (int64) rather than datetime objects: slicing, joins and duplicate checks
become plain integer array operations, and results are formatted back to ISO strings only once,
when a result dict is built.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from batchinfer.models.mvad.errors import INVALID_TIMESTAMP_FORMAT, MvadDataError


@dataclass(frozen=True)
class MultivariateSeries:
    """T timestamps × V variables. `values[t, v]` is NaN where variable v has no value at t.

    timestamps: int64 epoch milliseconds (UTC), strictly increasing.
    variables: names, in column order.
    values: float32 [T, V].
    """

    timestamps: np.ndarray
    variables: tuple[str, ...]
    values: np.ndarray

    def __post_init__(self) -> None:
        if self.timestamps.dtype != np.int64 or self.timestamps.ndim != 1:
            raise TypeError("timestamps must be a 1-D int64 array of epoch milliseconds")
        if self.values.dtype != np.float32 or self.values.ndim != 2:
            raise TypeError("values must be a 2-D float32 array")
        if self.values.shape != (len(self.timestamps), len(self.variables)):
            raise ValueError(
                f"values shape {self.values.shape} does not match "
                f"{len(self.timestamps)} timestamps × {len(self.variables)} variables"
            )

    @property
    def n_timestamps(self) -> int:
        return int(self.timestamps.shape[0])

    @property
    def n_variables(self) -> int:
        return len(self.variables)

    def rows(self, start: int, stop: int) -> MultivariateSeries:
        """Rows [start, stop) as a new series (views, no copy)."""
        return MultivariateSeries(
            self.timestamps[start:stop], self.variables, self.values[start:stop]
        )

    def select(self, variables: Sequence[str]) -> MultivariateSeries:
        """The columns named by `variables`, in that order (KeyError for an unknown name)."""
        index = {name: i for i, name in enumerate(self.variables)}
        cols = [index[name] for name in variables]
        return MultivariateSeries(
            self.timestamps, tuple(variables), np.ascontiguousarray(self.values[:, cols])
        )


_UTC_SUFFIXES = ("Z", "z", "+00:00", "+0000", "-00:00")


def _strip_utc(text: str) -> str:
    text = text.strip()
    for suffix in _UTC_SUFFIXES:
        if text.endswith(suffix):
            return text[: -len(suffix)]
    return text


def parse_timestamps(texts: Sequence[str], where: str = "") -> np.ndarray:
    """ISO-8601 UTC strings → int64 epoch ms; `MvadDataError(InvalidTimestampFormat)` otherwise.

    Accepts a trailing `Z`/`+00:00` or no offset (read as UTC). Other offsets are refused rather
    than converted: the service documents UTC only, and silently shifting data is worse than a
    clear error.
    """
    stripped = [_strip_utc(t) for t in texts]
    parsed = None
    if not any(_has_offset(s) for s in stripped):
        try:
            parsed = np.array(stripped, dtype="datetime64[ms]")
        except ValueError:
            parsed = None
    if parsed is None or np.isnat(parsed).any():
        bad = next(
            (t for t, s in zip(texts, stripped, strict=False) if not _valid_one(s)),
            texts[0] if texts else "",
        )
        place = f" in {where}" if where else ""
        raise MvadDataError(
            INVALID_TIMESTAMP_FORMAT,
            f"Invalid timestamp {bad!r}{place}; expected ISO-8601 UTC, e.g. 2021-01-01T00:00:00Z.",
        )
    return parsed.astype(np.int64)


def _has_offset(text: str) -> bool:
    time_part = text.partition("T")[2] or text.partition(" ")[2]
    return "+" in time_part or "-" in time_part


def _valid_one(text: str) -> bool:
    if not text or _has_offset(text):
        return False
    try:
        return not np.isnat(np.datetime64(text, "ms"))
    except ValueError:
        return False


def parse_time(value: str | int | np.integer | None, name: str = "time") -> int | None:
    """A request's start/end time (ISO string or epoch ms) → epoch ms; None stays None."""
    if value is None:
        return None
    if isinstance(value, (int, np.integer)):
        return int(value)
    return int(parse_timestamps([value], where=name)[0])


def format_timestamp(ms: int | np.integer) -> str:
    """Epoch ms → `2021-01-02T12:00:00Z` (milliseconds shown only when non-zero)."""
    text = str(np.datetime64(int(ms), "ms"))
    if text.endswith(".000"):
        text = text[:-4]
    return text + "Z"


def format_timestamps(ms: np.ndarray) -> list[str]:
    """Vectorised `format_timestamp` for a whole result block."""
    texts = np.datetime_as_string(ms.astype("datetime64[ms]"), unit="ms")
    return [t[:-4] + "Z" if t.endswith(".000") else t + "Z" for t in texts.tolist()]
