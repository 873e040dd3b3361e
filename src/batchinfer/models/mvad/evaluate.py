"""Event-level quality metrics for labelled data (tests and bench/mvad_quality.py).

Why event-level and not point-wise or point-adjusted: operators act on incidents, not rows.
Point-wise scores punish a detector for flagging 30 of 40 rows of a level shift; point-adjusted
scores (a whole labelled segment counts as found once any row is flagged, but each false row
still counts) inflate recall and are known to make even random detectors look good.
Here: a label is found if any flagged row falls in [start, stop + tolerance); a predicted event
(a run of flagged rows, runs closer than `merge_gap` merged) is correct if it overlaps any
label's window. precision = correct predicted events / predicted events.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from batchinfer.models.mvad.synthetic import AnomalyLabel


@dataclass(frozen=True)
class EventMetrics:
    labels: int
    found: int
    predicted_events: int
    correct_events: int
    top_contributor_hits: int
    changed_variables_reported: int

    @property
    def recall(self) -> float:
        return self.found / self.labels if self.labels else 1.0

    @property
    def precision(self) -> float:
        return self.correct_events / self.predicted_events if self.predicted_events else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def top_contributor_accuracy(self) -> float:
        """Of the found labels: the injected variable is the first contributor at the
        highest-scoring flagged row of the label's window."""
        return self.top_contributor_hits / self.found if self.found else 0.0


def flagged(results: Sequence[dict[str, Any]]) -> np.ndarray:
    return np.array([bool(r.get("value", {}).get("isAnomaly", False)) for r in results])


def _events(flags: np.ndarray, merge_gap: int) -> list[tuple[int, int]]:
    rows = np.flatnonzero(flags)
    events: list[tuple[int, int]] = []
    for row in rows.tolist():
        if events and row - events[-1][1] <= merge_gap:
            events[-1] = (events[-1][0], row + 1)
        else:
            events.append((row, row + 1))
    return events


def event_metrics(
    results: Sequence[dict[str, Any]],
    labels: Sequence[AnomalyLabel],
    tolerance: int = 5,
    merge_gap: int = 3,
) -> EventMetrics:
    """`results` indexed like the series the labels refer to (row i ↔ results[i])."""
    flags = flagged(results)
    windows = [(lab.start, min(len(flags), lab.stop + tolerance)) for lab in labels]
    found = hits = changed = 0
    for lab, (lo, hi) in zip(labels, windows, strict=False):
        rows = np.flatnonzero(flags[lo:hi]) + lo
        if rows.size == 0:
            continue
        found += 1
        best = max(rows.tolist(), key=lambda i: results[i]["value"]["score"])
        top = results[best]["value"]["interpretation"][0]
        hits += top["variable"] == lab.variable
        changed += bool(top["correlationChanges"]["changedVariables"])
    events = _events(flags, merge_gap)
    correct = sum(any(s < hi and lo < e for lo, hi in windows) for s, e in events)
    return EventMetrics(len(labels), found, len(events), correct, hits, changed)
