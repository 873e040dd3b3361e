"""CTC text recognition: line crops → text, confidence and where each character sits.

Crops are sorted by aspect ratio and run in batches padded to the widest member. On CPU the
recognizer's cost is linear in total input columns and large batches are slightly slower per
column (cache pressure), so batches are bounded by a column budget: short lines share a call,
a long line runs alone, and padding waste stays small. The character set is read
from the recognition model's own metadata (PP-OCR exports embed it), so model and dictionary
cannot drift apart.
"""

from __future__ import annotations

import functools
import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from batchinfer.inference.runtime import InferenceSessionPort
from batchinfer.models.ocr.ligatures import restore_ligatures

BLANK = "<blank>"


@dataclass(frozen=True)
class RecognitionSettings:
    height: int = 48
    min_width: int = 320  # PP-OCRv4 was trained on 48x320 inputs; narrower batches pad to this
    max_width: int = 3200  # a single very long line is squeezed rather than made huge
    batch_size: int = 8  # most crops per model call
    batch_columns: int = 1280  # most padded input columns per model call (one crop may exceed)
    stride: int = 8  # input pixels per output time step of the PP-OCRv4 recognizer
    # PP-OCRv4 under-calls spaces between words: where the best class is blank but the space
    # class still scores this much, we emit a space (see `ctc_decode`). 1.0 disables it.
    space_threshold: float = 0.25


@dataclass
class Recognized:
    """One line's reading. `positions` are, per character, the fraction (0..1) of the crop's
    width at which the CTC decoder emitted it; `probs` are per-character probabilities."""

    text: str
    confidence: float
    positions: list[float] = field(default_factory=list)
    probs: list[float] = field(default_factory=list)


def load_charset(session: InferenceSessionPort, dict_path: Path | None = None) -> list[str]:
    """CTC classes: blank, the dictionary (model metadata, else `dict_path`), then space."""
    if dict_path is not None:
        chars = dict_path.read_text(encoding="utf-8").splitlines()
    else:
        raw = session.metadata.get("character")
        if not raw:
            raise ValueError(
                "the recognition model carries no 'character' metadata; "
                "pass the dictionary file explicitly"
            )
        chars = raw.splitlines()
    return [BLANK, *chars, " "]


def _prepare(
    image: np.ndarray, width: int, settings: RecognitionSettings
) -> tuple[np.ndarray, int]:
    h, w = image.shape[:2]
    resized_w = min(width, max(1, math.ceil(settings.height * w / h)))
    resized = cv2.resize(image, (resized_w, settings.height)).astype(np.float32)
    out = np.zeros((3, settings.height, width), dtype=np.float32)
    out[:, :, :resized_w] = ((resized / 255.0 - 0.5) / 0.5).transpose(2, 0, 1)
    return out, resized_w


SCRIPTS = ("all", "latin", "auto")
CJK_SHARE = 0.3  # "auto": a page whose readings are at least this share CJK keeps all scripts


def _is_latin_text(text: str) -> bool:
    """Latin letters, digits, punctuation, symbols and currency (no CJK, no full-width)."""
    for char in text:
        code = ord(char)
        if not (
            code < 0x250
            or 0x1E00 <= code <= 0x1EFF
            or 0x2000 <= code <= 0x20CF
            or 0x2100 <= code <= 0x215F
            or 0x2190 <= code <= 0x21FF
            or 0x2200 <= code <= 0x22FF
        ):
            return False
    return True


def is_cjk(char: str) -> bool:
    code = ord(char)
    return (
        0x2E80 <= code <= 0x9FFF
        or 0xAC00 <= code <= 0xD7AF
        or 0xF900 <= code <= 0xFAFF
        or 0xFF00 <= code <= 0xFFEF
        or 0x20000 <= code <= 0x2FFFF
    )


@dataclass(frozen=True)
class ScriptFilter:
    """Which CTC classes Latin-script decoding may emit, and what each one writes.

    Full-width forms the Chinese+Latin recognizer likes to emit on Latin pages ("，", "（",
    "Ａ") are folded to their ASCII twins by NFKC; classes that are not one Latin character
    then (CJK ideographs, kana, hangul) are masked out before the best class is taken.
    """

    allowed: np.ndarray  # bool per class
    output: list[str]

    @classmethod
    def latin(cls, charset: list[str]) -> ScriptFilter:
        output = [
            c
            if i in (0, len(charset) - 1) or _is_latin_text(c)
            else unicodedata.normalize("NFKC", c)
            for i, c in enumerate(charset)
        ]
        allowed = np.array(
            [i == 0 or (len(text) == 1 and _is_latin_text(text)) for i, text in enumerate(output)]
        )
        return cls(allowed, output)


@functools.lru_cache(maxsize=4)
def _latin_filter(charset: tuple[str, ...]) -> ScriptFilter:
    return ScriptFilter.latin(list(charset))


def recognize(
    session: InferenceSessionPort,
    images: Sequence[np.ndarray],
    charset: list[str],
    settings: RecognitionSettings = RecognitionSettings(),
    scripts: str = "all",
) -> list[Recognized]:
    """Read each crop (H x W x 3, text left to right); results keep the input order.

    `scripts`: "all" decodes every class of the model, "latin" only Latin-script ones (see
    `ScriptFilter`), "auto" decodes both and keeps the Latin reading unless the crops (one
    page) read as at least `CJK_SHARE` CJK characters.
    """
    if scripts not in SCRIPTS:
        raise ValueError(f"scripts must be one of {SCRIPTS}")
    latin = _latin_filter(tuple(charset)) if scripts != "all" else None
    results: list[Recognized | None] = [None] * len(images)
    restricted: list[Recognized | None] = [None] * len(images)
    ratios = [img.shape[1] / max(1, img.shape[0]) for img in images]
    order = sorted(range(len(images)), key=ratios.__getitem__)
    name = session.input_names[0]
    for members, width in _batches(order, ratios, settings):
        prepared = [_prepare(images[i], width, settings) for i in members]
        tensor = np.stack([p[0] for p in prepared])
        preds = session.run({name: tensor})[0]
        if preds.shape[2] != len(charset):
            raise ValueError(
                f"recognizer has {preds.shape[2]} classes but the dictionary gives {len(charset)}"
            )
        for row, index in enumerate(members):
            if scripts != "latin":
                results[index] = ctc_decode(
                    preds[row], charset, prepared[row][1], settings.stride, settings.space_threshold
                )
            if latin is not None:
                restricted[index] = ctc_decode(
                    preds[row],
                    charset,
                    prepared[row][1],
                    settings.stride,
                    settings.space_threshold,
                    latin,
                )
    if scripts == "latin" or (scripts == "auto" and not _mostly_cjk(results)):
        results = restricted
    return [r if r is not None else Recognized("", 0.0) for r in results]


def _mostly_cjk(readings: Sequence[Recognized | None]) -> bool:
    chars = [c for r in readings if r is not None for c in r.text if not c.isspace()]
    return bool(chars) and sum(map(is_cjk, chars)) >= CJK_SHARE * len(chars)


def _input_width(ratio: float, settings: RecognitionSettings) -> int:
    width = min(settings.max_width, max(settings.min_width, math.ceil(settings.height * ratio)))
    return int(math.ceil(width / settings.stride) * settings.stride)


def _batches(
    order: list[int], ratios: list[float], settings: RecognitionSettings
) -> list[tuple[list[int], int]]:
    """Group crops (in ascending ratio order) under the crop-count and column budgets."""
    batches: list[tuple[list[int], int]] = []
    members: list[int] = []
    width = 0
    for index in order:
        new_width = max(width, _input_width(ratios[index], settings))
        fits = (
            len(members) < settings.batch_size
            and new_width * (len(members) + 1) <= settings.batch_columns
        )
        if members and not fits:
            batches.append((members, width))
            members, new_width = [], _input_width(ratios[index], settings)
        members.append(index)
        width = new_width
    if members:
        batches.append((members, width))
    return batches


def ctc_decode(
    pred: np.ndarray,
    charset: list[str],
    valid_width: int,
    stride: int,
    space_threshold: float = 1.0,
    only: ScriptFilter | None = None,
) -> Recognized:
    """Greedy CTC: best class per step, merge repeats, drop blanks; confidence = mean prob.

    Space recovery: the recognizer often gives a word gap to "blank" with the space class a
    clear second (0.3 where other blanks show ~0.0). Such steps are decoded as spaces. On our
    English samples this fixes joined words ("fromContosoLtd") without inventing spaces.
    Letters hidden in an "fi"/"fl" ligature are restored from the steps after the "f"
    (`ligatures.restore_ligatures`).
    """
    if only is not None:
        pred = np.where(only.allowed, pred, 0.0)
    best = pred.argmax(axis=1)
    prob = pred.max(axis=1)
    space = len(charset) - 1
    if charset[space] == " " and space_threshold < 1.0:
        gap = (best == 0) & (pred[:, space] >= space_threshold)
        best = np.where(gap, space, best)
        prob = np.where(gap, pred[:, space], prob)
    keep = best != 0
    keep[1:] &= best[1:] != best[:-1]
    steps = np.flatnonzero(keep)
    if steps.size == 0:
        return Recognized("", 0.0)
    classes, frames, probs = restore_ligatures(
        pred, best[steps], steps, prob[steps].astype(float), charset
    )
    text = "".join((only.output if only is not None else charset)[i] for i in classes)
    positions = np.clip((frames + 0.5) * stride / max(1, valid_width), 0.0, 1.0)
    return Recognized(
        text=text,
        confidence=float(probs.mean()),
        positions=positions.tolist(),
        probs=probs.tolist(),
    )
