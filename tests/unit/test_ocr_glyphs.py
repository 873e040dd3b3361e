"""Reading corrections decided by the crop's pixels: underscore vs hyphen, bullets."""

from __future__ import annotations

import numpy as np

from batchinfer.models.ocr.glyphs import (
    bullet_from_middle_dot,
    bullets_from_ink,
    dot_row,
    dot_row_from_ink,
    is_dot_row,
    leading_blob_is_bullet,
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


def _listed(lead: str, words: int = 4) -> np.ndarray:
    """A 40 px crop opening with a filled disc ("bullet", 10 px across), a 3 px square
    ("period"), a ring at the top ("degree") or a letter ("x"), then 18 px tall letter
    blocks: x-height rows 12-30."""
    image = np.full((40, 30 + 20 * words, 3), 255, dtype=np.uint8)
    if lead == "bullet":
        ys, xs = np.mgrid[0:40, 0:30]
        image[:, :30][(ys - 21) ** 2 + (xs - 10) ** 2 <= 25] = 0
    elif lead == "degree":
        ys, xs = np.mgrid[0:40, 0:30]
        ring = ((ys - 10) ** 2 + (xs - 10) ** 2 <= 25) & ((ys - 10) ** 2 + (xs - 10) ** 2 > 9)
        image[:, :30][ring] = 0
    elif lead == "period":
        image[27:30, 8:11] = 0
    else:
        image[12:30, 4:18] = 0
    for k in range(words):
        image[12:30, 30 + 20 * k + 3 : 30 + 20 * k + 17] = 0
    return image


def _reading(text: str) -> Recognized:
    return Recognized(
        text, 0.9, [(k + 0.5) / len(text) for k in range(len(text))], [0.9] * len(text)
    )


def test_a_bullet_read_as_a_dot_or_degree_sign_is_a_bullet() -> None:
    disc = _listed("bullet")
    assert bullets_from_ink(_reading("° It must"), disc).text == "• It must"
    assert bullets_from_ink(_reading(". Standard"), disc).text == "• Standard"
    glued = bullets_from_ink(_reading("·INTEGER;"), disc)
    assert glued.text == "• INTEGER;"
    assert len(glued.positions) == len(glued.probs) == len(glued.text)


def test_a_real_period_or_letter_opening_a_line_is_kept() -> None:
    period = _listed("period")
    assert not leading_blob_is_bullet(period[..., 0] < 128)
    kept = _reading(". The only")
    assert bullets_from_ink(kept, period) is kept
    assert bullets_from_ink(_reading("°C is"), _listed("x")).text == "°C is"
    assert bullets_from_ink(_reading("° C is"), _listed("degree")).text == "° C is"
    assert leading_blob_is_bullet(_listed("bullet")[..., 0] < 128)


def test_dot_rows_without_words_are_not_bullets() -> None:
    dots = _reading("····")
    assert bullets_from_ink(dots, _listed("bullet")) is dots


def _dots(count: int, side: int = 4, height: int = 25) -> np.ndarray:
    """A crop of `count` filled squares of `side` px on one row, 12 px apart."""
    image = np.full((height, 12 * count + 8, 3), 255, dtype=np.uint8)
    for k in range(count):
        image[16 : 16 + side, 6 + 12 * k : 6 + 12 * k + side] = 0
    return image


def test_a_row_of_dots_reads_as_that_many_periods() -> None:
    fixed = dot_row_from_ink(Recognized("•", 0.6, [0.5], [0.6]), _dots(3))
    assert fixed.text == "..."
    assert len(fixed.positions) == len(fixed.probs) == 3
    assert fixed.positions == sorted(fixed.positions) and fixed.confidence == 0.6
    assert dot_row_from_ink(Recognized("·.", 0.6, [0.3, 0.6], [0.6] * 2), _dots(4)).text == "...."


def test_crops_that_are_not_only_dots_keep_their_reading() -> None:
    letters = _listed("x")
    reading = Recognized("··", 0.6, [0.3, 0.6], [0.6] * 2)
    assert dot_row(letters[..., 0] < 128) is None
    assert dot_row_from_ink(reading, letters) is reading
    assert dot_row(_dots(1)[..., 0] < 128) is None  # one mark: a bullet or a period, not a row
    assert dot_row(_dots(3, side=12)[..., 0] < 128) is None  # blobs too big to be dots
    words = Recognized("a..", 0.6, [0.2, 0.5, 0.8], [0.6] * 3)
    assert dot_row_from_ink(words, _dots(3)) is words  # the recognizer saw a letter


def test_a_row_of_dots_is_kept_however_unsure_the_recognizer_was() -> None:
    unsure = dot_row_from_ink(Recognized("•", 0.4, [0.5], [0.4]), _dots(3))
    assert unsure.text == "..." and unsure.confidence == 0.4  # the confidence stays honest
    assert is_dot_row(unsure, _dots(3))
    assert not is_dot_row(unsure, _listed("x"))  # the ink is not a row of dots
    assert not is_dot_row(Recognized("a.", 0.4, [0.3, 0.6], [0.4] * 2), _dots(2))
    assert not is_dot_row(Recognized("", 0.4), _dots(2))
