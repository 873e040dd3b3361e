"""Corrections to a line's reading that the crop's pixels or the line's shape decide.

The recognizer reads a line as a sequence of classes and has no notion of where on the line
a mark sits vertically, so two marks that differ only in height come out as one of them:
  - "_" drawn as a short rule on the baseline (Texinfo, TeX and many proportional fonts) is
    read as "-". A hyphen's ink sits at mid x-height, an underscore's at or under the baseline,
    so the crop's own pixels say which it was (`vertical_place`).
  - a list bullet "•" is read as the middle dot "·". A middle dot that opens a line and is
    followed by a space (or is the whole line) is a bullet; one inside a word (Catalan "l·l",
    "a·b") is left alone.
  - a small bullet (Texinfo, DocBook) opening a line is also read as "·" glued to the next
    word, as "°" or as ".". What the crop shows decides: the line's first ink is a filled
    round blob about half the size of its letters, where a period or a middle dot is a
    quarter of that or less (`bullets_from_ink`).
  - a line that is only a row of dots (an ellipsis on its own line in a code listing, a
    leader) is read as a mix of "·", "•" and "." with fewer marks than the page shows. When
    the crop's ink is nothing but a row of small filled dots of one size, the line is that
    many periods (`dot_row_from_ink`), and the line is kept even where the recognizer's
    confidence is under the noise floor (`is_dot_row`).
"""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np

from batchinfer.models.ocr.recognize import Recognized
from batchinfer.models.ocr.spacing import path_spaces

UNDERSCORE_PLACE = 0.8
"""A "-" whose ink row lies at least this far down the text body (0 = top of the x-height
band, 1 = baseline) is an underscore. Measured on 537 dashes of two Texinfo manuals: hyphens
sit at 0.25–0.70 (5th–95th percentile), rule underscores at 0.86–1.16."""


def ink_mask(image: np.ndarray) -> np.ndarray:
    """Boolean ink mask of a crop (Otsu; the minority side is ink, so light-on-dark works)."""
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    _, binary = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    ink = binary == 0
    return ~ink if ink.mean() > 0.5 else ink


def vertical_place(ink: np.ndarray, position: float) -> float | None:
    """Where the densest ink row around `position` (fraction of the width) sits in the text
    body: 0 at its top, 1 at its bottom (the baseline region); None without ink."""
    height, width = ink.shape
    profile = ink.mean(axis=1)
    if profile.max() <= 0:
        return None
    body = np.flatnonzero(profile > 0.25 * profile.max())
    top, bottom = int(body.min()), int(body.max())
    x = int(position * width)
    half = max(2, int(0.2 * height))
    band = ink[:, max(0, x - half) : x + half + 1]
    density = band.mean(axis=1)
    if density.max() <= 0:
        return None
    return (float(np.argmax(density)) - top) / max(1, bottom - top)


def underscores_from_ink(reading: Recognized, image: np.ndarray) -> Recognized:
    """Turn each "-" whose ink lies on the baseline into "_" (see the module docstring)."""
    if "-" not in reading.text or len(reading.positions) != len(reading.text):
        return reading
    ink = ink_mask(image)
    chars = list(reading.text)
    for k, char in enumerate(chars):
        if char != "-":
            continue
        place = vertical_place(ink, reading.positions[k])
        if place is not None and place >= UNDERSCORE_PLACE:
            chars[k] = "_"
    text = "".join(chars)
    return reading if text == reading.text else replace(reading, text=text)


def bullet_from_middle_dot(reading: Recognized) -> Recognized:
    """A line opening with "·" then a space (or only "·") opens with a bullet "•"."""
    text = reading.text
    stripped = text.lstrip()
    if not stripped.startswith("·") or stripped[1:2] not in ("", " "):
        return reading
    at = len(text) - len(stripped)
    return replace(reading, text=text[:at] + "•" + text[at + 1 :])


BULLET_LOOKALIKES = frozenset("·°.")
BULLET_SIZE = 0.38
"""A line's first blob is a bullet when its larger side is at least this share of the median
height of the line's ink blobs (its letters). Measured on two manuals at 200 dpi: bullets
0.43–0.86, periods and dots opening a line 0.19–0.30."""
BULLET_MAX_SIZE = 0.95  # a blob as tall as the letters is a letter ("o", "e" filled by blur)
BULLET_FILL = 0.6  # share of its bounding box a bullet's ink fills (a disc: ~0.78)
BULLET_ROUNDNESS = 0.75  # least ratio of its shorter side to its longer side


def leading_blob_is_bullet(ink: np.ndarray) -> bool:
    """Whether the leftmost ink blob of a line crop is a filled disc the size of a bullet."""
    count, _, stats, _ = cv2.connectedComponentsWithStats(ink.astype(np.uint8), connectivity=8)
    blobs = [stats[j] for j in range(1, count) if stats[j][cv2.CC_STAT_AREA] >= 2]
    if len(blobs) < 3:
        return False
    first = min(blobs, key=lambda b: int(b[cv2.CC_STAT_LEFT]))
    width, height = int(first[cv2.CC_STAT_WIDTH]), int(first[cv2.CC_STAT_HEIGHT])
    letters = float(np.median([b[cv2.CC_STAT_HEIGHT] for b in blobs]))
    fill = int(first[cv2.CC_STAT_AREA]) / (width * height)
    return (
        BULLET_SIZE * letters <= max(width, height) <= BULLET_MAX_SIZE * letters
        and fill >= BULLET_FILL
        and min(width, height) >= BULLET_ROUNDNESS * max(width, height)
    )


def bullets_from_ink(reading: Recognized, image: np.ndarray) -> Recognized:
    """A line opening with "·", "°" or "." before words, whose first ink is a bullet-sized
    filled disc, opens with "• " (see the module docstring)."""
    text = reading.text
    stripped = text.lstrip()
    if not stripped or stripped[0] not in BULLET_LOOKALIKES:
        return reading
    rest = stripped[1:]
    if not any(c.isalpha() for c in rest) or not leading_blob_is_bullet(ink_mask(image)):
        return reading
    at = len(text) - len(stripped)
    if rest.startswith(" "):
        return replace(reading, text=text[:at] + "•" + rest)
    aligned = len(reading.positions) == len(text) and len(reading.probs) == len(text)
    if not aligned:
        return reading  # the space could not be placed; leave the reading as it is
    return replace(
        reading,
        text=text[:at] + "• " + rest,
        positions=[*reading.positions[: at + 1], *reading.positions[at:]],
        probs=[*reading.probs[: at + 1], *reading.probs[at:]],
    )


DOT_LOOKALIKES = frozenset("·•.…°∙⋅ ")
DOT_SIZE = 0.3
"""Largest side of a dot, as a share of the crop's height (dots measured at 0.11–0.19 of the
crop on two manuals at 200 dpi; a letter is over half of it)."""


def dot_row(ink: np.ndarray) -> list[float] | None:
    """Centres (fractions of the width) of the dots of a crop whose ink is only a row of two
    or more small filled dots of one size; None for any other crop."""
    height, width = ink.shape
    count, _, stats, centres = cv2.connectedComponentsWithStats(
        ink.astype(np.uint8), connectivity=8
    )
    blobs = [j for j in range(1, count) if stats[j][cv2.CC_STAT_AREA] >= 2]
    if len(blobs) < 2:
        return None
    sides = np.array(
        [(stats[j][cv2.CC_STAT_WIDTH], stats[j][cv2.CC_STAT_HEIGHT]) for j in blobs], dtype=float
    )
    big, small = sides.max(axis=1), sides.min(axis=1)
    fill = np.array([stats[j][cv2.CC_STAT_AREA] for j in blobs]) / (sides[:, 0] * sides[:, 1])
    rows = np.array([centres[j][1] for j in blobs])
    is_row = (
        big.max() <= DOT_SIZE * height
        and big.max() <= 2 * float(np.median(big))
        and bool((small >= 0.5 * big).all() and (fill >= 0.5).all())
        and float(rows.max() - rows.min()) <= 0.25 * height
    )
    if not is_row:
        return None
    return sorted(float(centres[j][0]) / width for j in blobs)


def dot_row_from_ink(reading: Recognized, image: np.ndarray) -> Recognized:
    """A reading made only of dot-like marks, on a crop whose ink is a row of dots, becomes
    one period per dot (see the module docstring); its confidence is kept."""
    stripped = reading.text.strip()
    if not stripped or any(c not in DOT_LOOKALIKES for c in stripped):
        return reading
    centres = dot_row(ink_mask(image))
    if centres is None:
        return reading
    text = "." * len(centres)
    if text == reading.text:
        return reading
    return replace(reading, text=text, positions=centres, probs=[reading.confidence] * len(centres))


def is_dot_row(reading: Recognized, image: np.ndarray) -> bool:
    """Whether the reading is only periods and the crop's ink only a row of dots: the line
    says what the ink shows however unsure the recognizer was, so it is not noise."""
    stripped = reading.text.strip()
    return bool(stripped) and set(stripped) == {"."} and dot_row(ink_mask(image)) is not None


def refine(reading: Recognized, image: np.ndarray) -> Recognized:
    """All corrections, in order; positions and probabilities follow the text."""
    reading = bullet_from_middle_dot(underscores_from_ink(path_spaces(reading), image))
    return dot_row_from_ink(bullets_from_ink(reading, image), image)
