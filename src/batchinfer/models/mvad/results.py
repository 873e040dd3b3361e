"""Detection results as columns (`ChunkScores`), and their v1.1 JSON form.

Why columns: scoring a block is a handful of numpy operations, but building one Python dict
per timestamp costs far more than the model itself. The service stores these arrays per chunk
(`to_npz`/`from_npz`: small, fast) and renders JSON only for the rows a client asks for;
`detect()` renders them all. Both renderings give the same dicts (`render`) as the API
returns.
"""

from __future__ import annotations

import gc
import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from batchinfer.models.mvad.errors import INSUFFICIENT_HISTORICAL_DATA
from batchinfer.models.mvad.scoring import Interpretations
from batchinfer.models.mvad.series import format_timestamps


def insufficient_history_error(sliding_window: int) -> dict[str, str]:
    return {
        "code": INSUFFICIENT_HISTORICAL_DATA,
        "message": f"The first {sliding_window - 1} timestamps of the range have fewer "
        f"than slidingWindow - 1 = {sliding_window - 1} timestamps of "
        "history; they are not scored (score 0).",
    }


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many small containers.

    Why: rendering allocates four containers per timestamp, none of them cyclic; with the
    collector on, its repeated passes over everything alive cost 3–4× the rendering itself.
    Restores the previous state (another thread's pause is left as it finds it).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@dataclass(frozen=True)
class ChunkScores:
    """Results for consecutive timestamps: the first `unscored` lack a full window of history
    (InsufficientHistoricalData, score 0); `anomalies` lists the rows that are anomalous, in
    order, and `interpretations` their contributors."""

    timestamps: np.ndarray  # int64 [n] epoch ms
    unscored: int
    score: np.ndarray  # float64 [n]
    severity: np.ndarray  # float64 [n]
    anomalies: np.ndarray  # int64 [a] row indices, ascending
    interpretations: Interpretations
    sliding_window: int

    @property
    def n_rows(self) -> int:
        return int(self.timestamps.shape[0])

    # ----------------------------------------------------------------------------- storage
    def to_npz(self) -> bytes:
        buffer = io.BytesIO()
        it = self.interpretations
        np.savez(
            buffer,
            timestamps=self.timestamps,
            score=self.score,
            severity=self.severity,
            anomalies=self.anomalies,
            top=it.top,
            share=it.share,
            changed_offsets=it.changed_offsets,
            changed=it.changed,
            changed_values=it.changed_values,
            meta=np.array([self.unscored, self.sliding_window], dtype=np.int64),
        )
        return buffer.getvalue()

    @classmethod
    def from_npz(cls, data: bytes) -> ChunkScores:
        with np.load(io.BytesIO(data)) as arrays:
            unscored, window = (int(x) for x in arrays["meta"])
            return cls(
                arrays["timestamps"],
                unscored,
                arrays["score"],
                arrays["severity"],
                arrays["anomalies"],
                Interpretations(
                    arrays["top"],
                    arrays["share"],
                    arrays["changed_offsets"],
                    arrays["changed"],
                    arrays["changed_values"],
                ),
                window,
            )

    # ------------------------------------------------------------------------------- JSON
    def render(
        self, variables: tuple[str, ...], start: int = 0, stop: int | None = None
    ) -> list[dict[str, Any]]:
        """v1.1 `results` entries for rows [start, stop)."""
        with collector_paused():
            return self._render(variables, start, stop)

    def _render(
        self, variables: tuple[str, ...], start: int, stop: int | None
    ) -> list[dict[str, Any]]:
        stop = self.n_rows if stop is None else min(stop, self.n_rows)
        start = max(0, start)
        if start >= stop:
            return []
        stamps = format_timestamps(self.timestamps[start:stop])
        out: list[dict[str, Any]] = []
        first_scored = max(start, min(self.unscored, stop))
        if start < first_scored:
            error = insufficient_history_error(self.sliding_window)
            out = [
                {
                    "timestamp": ts,
                    "value": {
                        "isAnomaly": False,
                        "severity": 0.0,
                        "score": 0.0,
                        "interpretation": [],
                    },
                    "errors": [dict(error)],
                }
                for ts in stamps[: first_scored - start]
            ]
        scores = self.score[first_scored:stop].tolist()
        out.extend(
            {
                "timestamp": ts,
                "value": {
                    "isAnomaly": False,
                    "severity": 0.0,
                    "score": score,
                    "interpretation": [],
                },
                "errors": [],
            }
            for ts, score in zip(stamps[first_scored - start :], scores, strict=False)
        )
        lo, hi = np.searchsorted(self.anomalies, [first_scored, stop])
        for index in range(int(lo), int(hi)):
            value = out[int(self.anomalies[index]) - start]["value"]
            value["isAnomaly"] = True
            value["severity"] = float(self.severity[int(self.anomalies[index])])
            value["interpretation"] = self._interpretation(index, variables)
        return out

    def render_json(
        self, variables: tuple[str, ...], start: int = 0, stop: int | None = None
    ) -> list[str]:
        """The same entries as `render`, each already as JSON text (`json.dumps` of it).

        Why: a page of results is mostly normal timestamps whose JSON differs only in the
        timestamp and the score; formatting those directly (a float's repr is what `json`
        writes) is several times faster than building and encoding dicts. Anomalies and the
        unscored first rows go through `json.dumps`.
        """
        stop = self.n_rows if stop is None else min(stop, self.n_rows)
        start = max(0, start)
        if start >= stop:
            return []
        stamps = format_timestamps(self.timestamps[start:stop])
        scores = self.score[start:stop].tolist()
        special = {
            int(i) - start
            for i in self.anomalies[
                np.searchsorted(self.anomalies, start) : np.searchsorted(self.anomalies, stop)
            ]
        }
        special.update(range(max(0, min(self.unscored, stop) - start)))
        out = [
            f'{{"timestamp": "{ts}", "value": {{"isAnomaly": false, "severity": 0.0, '
            f'"score": {score!r}, "interpretation": []}}, "errors": []}}'
            for ts, score in zip(stamps, scores, strict=False)
        ]
        for offset in sorted(special):
            (entry,) = self.render(variables, start + offset, start + offset + 1)
            out[offset] = json.dumps(entry)
        return out

    def _interpretation(self, index: int, variables: tuple[str, ...]) -> list[dict[str, Any]]:
        it = self.interpretations
        k = it.top.shape[1]
        items = []
        tops, shares = it.top[index].tolist(), it.share[index].tolist()
        for c, (col, share) in enumerate(zip(tops, shares, strict=False)):
            lo, hi = it.changed_offsets[index * k + c], it.changed_offsets[index * k + c + 1]
            items.append(
                {
                    "variable": variables[col],
                    "contributionScore": share,
                    "correlationChanges": {
                        "changedVariables": [variables[j] for j in it.changed[lo:hi].tolist()],
                        "changedValues": it.changed_values[lo:hi].tolist(),
                    },
                }
            )
        return items
