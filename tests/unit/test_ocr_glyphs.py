"""Reading corrections decided by the crop's pixels: underscore vs hyphen, bullets."""

from __future__ import annotations

import numpy as np

from batchinfer.models.ocr.glyphs import (
    bullet_from_middle_dot,
    refine,
    underscores_from_ink,
    vertical_place,
)
from batchinfer.models.ocr.recognize import Recognized


def _line(marks: list[str]) -> tuple[np.ndarray, Recognized]:
    """A synthetic 40 px crop: 'x' blocks as letters (x-height rows 12-30, baseline 30), a
    hyphen as a bar at mid x-height, an underscore as a bar just under the baseline."""
    cell = 20
    image = np.full((40, cell * len(marks), 3), 255, dtype=np.uint8)
    for k, mark in enumerate(marks):
        x0, x1 = k * cell + 3, k * cell + cell - 3
        if mark == "x":
            image[12:30, x0:x1] = 0
        elif mark == "-":
            image[19:22, x0:x1] = 0
        elif mark == "_":
            image[29:32, x0:x1] = 0
    positions = [(k + 0.5) / len(marks) for k in range(len(marks))]
    text = "".join("-" if m in "-_" else m for m in marks)  # the recognizer says "-" for both
    return image, Recognized(text, 0.9, positions, [0.9] * len(marks))


def test_a_bar_on_the_baseline_is_an_underscore_and_one_at_mid_height_a_hyphen() -> None:
    image, reading = _line(list("xx_xx-xx"))
    fixed = underscores_from_ink(reading, image)
    assert fixed.text == "xx_xx-xx"
    assert fixed.positions == reading.positions and fixed.probs == reading.probs


def test_light_text_on_a_dark_background_is_measured_the_same_way() -> None:
    image, reading = _line(list("xx_xx-xx"))
    assert underscores_from_ink(reading, 255 - image).text == "xx_xx-xx"


def test_vertical_place_of_marks() -> None:
    image, reading = _line(list("x-x_x"))
    ink = image[..., 0] < 128
    hyphen = vertical_place(ink, reading.positions[1])
    underscore = vertical_place(ink, reading.positions[3])
    assert hyphen is not None and underscore is not None
    assert hyphen < 0.6 < 0.8 <= underscore
    assert vertical_place(np.zeros((10, 10), dtype=bool), 0.5) is None


def test_readings_without_positions_or_dashes_are_kept() -> None:
    image, _ = _line(list("x_x"))
    plain = Recognized("x-x", 0.9)  # no positions: nothing to measure
    assert underscores_from_ink(plain, image) is plain
    other = Recognized("xyx", 0.9, [0.2, 0.5, 0.8], [0.9] * 3)
    assert underscores_from_ink(other, image) is other


def test_a_middle_dot_opening_a_line_is_a_bullet() -> None:
    assert bullet_from_middle_dot(Recognized("· On-line ASN.1", 0.9)).text == "• On-line ASN.1"
    assert bullet_from_middle_dot(Recognized("  ·", 0.9)).text == "  •"
    assert bullet_from_middle_dot(Recognized("col·lecció · x", 0.9)).text == "col·lecció · x"
    assert bullet_from_middle_dot(Recognized("·x", 0.9)).text == "·x"


def test_refine_applies_both() -> None:
    image, reading = _line(list("  x_x"))  # blank cells where "·" and the space stand
    reading = Recognized("· x-x", 0.9, reading.positions, reading.probs)
    assert refine(reading, image).text == "• x_x"
