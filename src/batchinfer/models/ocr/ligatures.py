"""The "fi", "fl", "ffi", "ffl" ligatures, recovered from the CTC timeline.

Typeset text (TeX, Texinfo, most book fonts) draws "fi" and "fl" as one glyph. The recognizer
mostly reads that glyph as "f" alone and the second letter is lost ("fle" for "file", "frst"
for "first"). The letter is not absent from its output, though: the ligature glyph spans two
character cells, and in the blank steps between the "f" and the next character the recognizer
still gives "i" (or "l") a small but clear probability. Measured on 1,800 "f"s of two Texinfo
manuals (200 dpi): where the page has "f" alone the best of "i"/"l" between the "f" and the
next character stays under 0.003 (one exception in 1,719), where it has a ligature it is at
or over 0.003 in 47 of 57 cases, and the larger of the two names the right letter in all 47.

This is a reading of the model's own evidence, not a word list: nothing is inserted unless the
recognizer saw the letter there.
"""

from __future__ import annotations

import numpy as np

LIGATURE_EVIDENCE = 0.003
"""Least probability of "i"/"l" in the steps between an "f" and the next character for the
letter to be restored (see the module docstring for how it was measured)."""

FIRST = "f"
SECONDS = ("i", "l")


def restore_ligatures(
    pred: np.ndarray,
    classes: np.ndarray,
    steps: np.ndarray,
    probs: np.ndarray,
    charset: list[str],
    evidence: float = LIGATURE_EVIDENCE,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Insert the letter a ligature hid after each "f" (see the module docstring).

    `pred` is the (steps x classes) probability matrix, `classes` / `steps` / `probs` the
    greedy decoding's emitted classes, their time steps and probabilities. Returns them with
    the restored letters inserted; a restored letter sits at the step where its probability
    peaks and carries the "f"'s probability (it was read as part of that glyph).
    """
    if FIRST not in charset or classes.size < 2:
        return classes, steps, probs
    f_class = charset.index(FIRST)
    seconds = [charset.index(c) for c in SECONDS if c in charset]
    if not seconds:
        return classes, steps, probs
    out_classes: list[int] = []
    out_steps: list[float] = []
    out_probs: list[float] = []
    for k in range(classes.size):
        out_classes.append(int(classes[k]))
        out_steps.append(float(steps[k]))
        out_probs.append(float(probs[k]))
        if classes[k] != f_class or k + 1 >= classes.size:
            continue
        between = pred[steps[k] + 1 : steps[k + 1], seconds]
        if between.size == 0:
            continue
        row, col = np.unravel_index(int(np.argmax(between)), between.shape)
        letter = seconds[int(col)]
        if between[row, col] < evidence or classes[k + 1] == letter:
            continue  # no sign of a second letter, or the recognizer already emitted it
        out_classes.append(letter)
        out_steps.append(float(steps[k] + 1 + row))
        out_probs.append(float(probs[k]))
    if len(out_classes) == classes.size:
        return classes, steps, probs
    return (
        np.asarray(out_classes, dtype=classes.dtype),
        np.asarray(out_steps, dtype=float),
        np.asarray(out_probs, dtype=float),
    )
