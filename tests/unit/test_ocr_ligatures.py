"""The "fi"/"fl" ligature's hidden letter, restored from the CTC steps after the "f"."""

from __future__ import annotations

import numpy as np

from batchinfer.models.ocr.ligatures import LIGATURE_EVIDENCE, restore_ligatures
from batchinfer.models.ocr.recognize import BLANK, ScriptFilter, ctc_decode

CHARSET = [BLANK, "f", "i", "l", "e", "r", "s", "t", "中", " "]


def _pred(*steps: dict[str, float]) -> np.ndarray:
    """One row per time step; unnamed classes get a negligible probability."""
    pred = np.full((len(steps), len(CHARSET)), 1e-5, dtype=np.float32)
    for t, probs in enumerate(steps):
        for char, p in probs.items():
            pred[t, CHARSET.index(char)] = p
    return pred


def test_an_i_seen_faintly_after_the_f_is_restored() -> None:
    # "file" set with the fi ligature: the recognizer emits f, l, e and keeps a 2% "i"
    # in the blank step after the f.
    pred = _pred({"f": 0.9}, {BLANK: 0.97, "i": 0.02}, {"l": 0.9}, {"e": 0.9})
    reading = ctc_decode(pred, CHARSET, 32, 8)
    assert reading.text == "file"
    assert len(reading.positions) == len(reading.probs) == 4
    assert reading.positions == sorted(reading.positions)
    assert reading.probs[1] == reading.probs[0]  # read as part of the f glyph


def test_the_likelier_of_i_and_l_is_restored() -> None:
    pred = _pred({"f": 0.9}, {BLANK: 0.9, "l": 0.05, "i": 0.004}, {"e": 0.9})
    assert ctc_decode(pred, CHARSET, 24, 8).text == "fle"
    pred = _pred({"f": 0.9}, {BLANK: 0.9, "i": 0.3, "l": 0.01}, {"r": 0.9}, {"s": 0.9})
    assert ctc_decode(pred, CHARSET, 32, 8).text == "firs"


def test_a_plain_f_stays_alone() -> None:
    below = LIGATURE_EVIDENCE / 3
    pred = _pred({"f": 0.9}, {BLANK: 0.99, "i": below, "l": below}, {"t": 0.9})
    assert ctc_decode(pred, CHARSET, 24, 8).text == "ft"
    # no step between the f and the next character: nothing to read there
    assert ctc_decode(_pred({"f": 0.9}, {"t": 0.9}), CHARSET, 16, 8).text == "ft"
    # a line ending in f
    assert (
        ctc_decode(_pred({"e": 0.9}, {"f": 0.9}, {BLANK: 0.9, "i": 0.3}), CHARSET, 24, 8).text
        == "ef"
    )


def test_a_letter_the_recognizer_already_emitted_is_not_doubled() -> None:
    # "fi" read correctly: the rising "i" before its own peak must not add a second i
    pred = _pred({"f": 0.9}, {BLANK: 0.6, "i": 0.3}, {"i": 0.9}, {"e": 0.9})
    assert ctc_decode(pred, CHARSET, 32, 8).text == "fie"


def test_ligatures_are_restored_under_latin_decoding_too() -> None:
    pred = _pred({"f": 0.9}, {BLANK: 0.9, "中": 0.05, "i": 0.02}, {"l": 0.9}, {"e": 0.9})
    latin = ctc_decode(pred, CHARSET, 32, 8, only=ScriptFilter.latin(CHARSET))
    assert latin.text == "file"


def test_restore_returns_its_inputs_when_nothing_is_hidden() -> None:
    pred = _pred({"t": 0.9}, {BLANK: 0.9}, {"e": 0.9})
    classes, steps, probs = np.array([7, 4]), np.array([0, 2]), np.array([0.9, 0.9])
    out = restore_ligatures(pred, classes, steps, probs, CHARSET)
    assert out[0] is classes and out[1] is steps and out[2] is probs
