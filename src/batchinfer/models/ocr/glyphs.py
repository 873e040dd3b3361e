"""Corrections to a line's reading that the crop's pixels or the line's shape decide.

The recognizer reads a line as a sequence of classes and has no notion of where on the line
a mark sits vertically, so two marks that differ only in height come out as one of them:
  - "_" drawn as a short rule on the baseline (Texinfo, TeX and many proportional fonts) is
    read as "-". A hyphen's ink sits at mid x-height, an underscore's at or under the baseline,
    so the crop's own pixels say which it was (`vertical_place`).
  - a list bullet "•" is read as the middle dot "·". A middle dot that opens a line and is
    followed by a space (or is the whole line) is a bullet; one inside a word (Catalan "l·l",
    "a·b") is left alone.
"""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np

from batchinfer.models.ocr.recognize import Recognized

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


def refine(reading: Recognized, image: np.ndarray) -> Recognized:
    """All corrections, in order; positions and probabilities keep their length."""
    return bullet_from_middle_dot(underscores_from_ink(reading, image))
