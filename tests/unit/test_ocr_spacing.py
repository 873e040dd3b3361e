"""Spaces inside paths that took no room in the CTC timeline are dropped; real ones stay."""

from __future__ import annotations

import numpy as np

from batchinfer.models.ocr.glyphs import refine
from batchinfer.models.ocr.recognize import Recognized
from batchinfer.models.ocr.spacing import path_spaces


def _reading(cells: list[tuple[str, float]], prob: float = 0.6) -> Recognized:
    """Characters at the given cell positions (1 cell = one character's pitch); every space
    is read with `prob`, letters with 0.99."""
    text = "".join(c for c, _ in cells)
    width = max(x for _, x in cells) + 1
    return Recognized(
        text,
        0.9,
        [(x + 0.5) / width for _, x in cells],
        [prob if c == " " else 0.99 for c, _ in cells],
    )


def _spread(text: str) -> list[tuple[str, float]]:
    """One cell per character: every space took room of its own."""
    return [(c, float(k)) for k, c in enumerate(text)]


def test_spaces_squeezed_between_path_characters_are_dropped() -> None:
    # "html.xml" in a fixed-pitch font: the recognizer put spaces around the "." at the
    # same steps as its neighbours, so the characters either side are one pitch apart.
    cells = [("h", 0), ("t", 1), ("m", 2), ("l", 3), (" ", 3.5), (".", 4)]
    cells += [(" ", 4.5), ("x", 5), ("m", 6), ("l", 7)]
    fixed = path_spaces(_reading(cells))
    assert fixed.text == "html.xml"
    assert len(fixed.positions) == len(fixed.probs) == len(fixed.text)
    cells = [("~", 0), (" ", 0.5), ("/", 1), ("s", 2), ("h", 3), ("a", 4), ("r", 5), ("e", 6)]
    assert path_spaces(_reading(cells)).text == "~/share"


def test_spaces_that_take_a_cell_are_kept() -> None:
    sentence = _reading(_spread("the end. Next one"))
    assert path_spaces(sentence) is sentence
    spaced = _reading(_spread("a / b and c . d"))
    assert path_spaces(spaced) is spaced


def test_sure_spaces_and_rows_of_dots_are_kept() -> None:
    cells = [("h", 0), ("t", 1), ("m", 2), ("l", 3), (" ", 3.5), (".", 4), ("x", 5), ("m", 6)]
    sure = _reading(cells, prob=0.95)
    assert path_spaces(sure) is sure
    dots = [("I", 0), ("n", 1), ("d", 2), (" ", 2.5), (".", 3), (" ", 3.5), (".", 4)]
    leaders = _reading([*dots, (" ", 4.5), ("2", 5), ("4", 6)])
    assert path_spaces(leaders).text == "Ind . . 24"


def test_readings_without_paths_or_positions_are_kept() -> None:
    plain = _reading(_spread("no marks here"))
    assert path_spaces(plain) is plain
    bare = Recognized("html . xml", 0.9)
    assert path_spaces(bare) is bare


def test_refine_drops_path_spaces() -> None:
    cells = [("h", 0), ("t", 1), ("m", 2), ("l", 3), (" ", 3.5), (".", 4), ("x", 5), ("m", 6)]
    cells.append(("l", 7))
    blank = np.full((40, 160, 3), 255, dtype=np.uint8)
    assert refine(_reading(cells), blank).text == "html.xml"
