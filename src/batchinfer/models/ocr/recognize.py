"""CTC text recognition: line crops → text, confidence and where each character sits.

Each crop is padded to its own width rounded up to `width_step` columns, so what the model sees
of a crop (and reads from it) does not depend on which other crops share its batch: crops from
many pages or documents can share model calls and read exactly as they would alone. Batches
hold crops of one padded width. On CPU the recognizer's cost is linear in total input columns
and large batches are slightly slower per column (cache pressure), so a batch is bounded by a
column budget (`batch_size` crops of the trained 320 columns); on a GPU, raise it.
The character set is read from the recognition model's own metadata (PP-OCR exports embed
it), so model and dictionary cannot drift apart.
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
    width_step: int = 32  # padded input widths are multiples of this (a multiple of `stride`)
    # one model call holds at most `batch_size` crops' worth of `min_width` columns (so up to
    # that many short crops, fewer wide ones; a crop wider than the budget runs alone)
    batch_size: int = 4
    stride: int = 8  # input pixels per output time step of the PP-OCRv4 recognizer
    # PP-OCRv4 under-calls spaces between words: where the best class is blank but the space
    # class still scores this much, we emit a space (see `ctc_decode`). 1.0 disables it.
    space_threshold: float = 0.25

    @property
    def batch_columns(self) -> int:
        """Most padded input columns per model call (one crop may exceed it)."""
        return self.batch_size * self.min_width


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


@dataclass
class LineScores:
    """The recognizer's output for one crop: class probabilities per time step, and how many
    input columns the crop itself filled (the rest is padding)."""

    pred: np.ndarray
    valid_width: int


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
    return decode_lines(run_recognizer(session, images, settings), charset, settings, scripts)


def run_recognizer(
    session: InferenceSessionPort,
    images: Sequence[np.ndarray],
    settings: RecognitionSettings = RecognitionSettings(),
) -> list[LineScores]:
    """The model's scores for each crop, in input order, one model call per batch.

    Crops may come from many pages: each one's scores are the same whatever shares its batch.
    """
    widths = [_input_width(img.shape[1] / max(1, img.shape[0]), settings) for img in images]
    order = sorted(range(len(images)), key=lambda i: (widths[i], i))
    scores: list[LineScores | None] = [None] * len(images)
    name = session.input_names[0]
    for members, width in _batches(order, widths, settings):
        prepared = [_prepare(images[i], width, settings) for i in members]
        preds = session.run({name: np.stack([p[0] for p in prepared])})[0]
        for row, index in enumerate(members):
            scores[index] = LineScores(preds[row], prepared[row][1])
    return [s for s in scores if s is not None]


def decode_lines(
    scores: Sequence[LineScores],
    charset: list[str],
    settings: RecognitionSettings = RecognitionSettings(),
    scripts: str = "all",
) -> list[Recognized]:
    """Text of each crop of one page from its scores (see `recognize` for `scripts`)."""
    if scripts not in SCRIPTS:
        raise ValueError(f"scripts must be one of {SCRIPTS}")
    latin = _latin_filter(tuple(charset)) if scripts != "all" else None
    results: list[Recognized | None] = [None] * len(scores)
    restricted: list[Recognized | None] = [None] * len(scores)
    for index, line in enumerate(scores):
        if line.pred.shape[1] != len(charset):
            raise ValueError(
                f"recognizer has {line.pred.shape[1]} classes but the dictionary gives "
                f"{len(charset)}"
            )
        if scripts != "latin":
            results[index] = ctc_decode(
                line.pred, charset, line.valid_width, settings.stride, settings.space_threshold
            )
        if latin is not None:
            restricted[index] = ctc_decode(
                line.pred,
                charset,
                line.valid_width,
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
    """A crop's padded input width: from its own shape only, never from its batch's."""
    width = min(settings.max_width, max(settings.min_width, math.ceil(settings.height * ratio)))
    return int(math.ceil(width / settings.width_step) * settings.width_step)


def _batches(
    order: list[int], widths: list[int], settings: RecognitionSettings
) -> list[tuple[list[int], int]]:
    """Group crops (in ascending width order) of one padded width under the column budget."""
    batches: list[tuple[list[int], int]] = []
    members: list[int] = []
    for index in order:
        width = widths[index]
        if members and (
            widths[members[0]] != width or (len(members) + 1) * width > settings.batch_columns
        ):
            batches.append((members, widths[members[0]]))
            members = []
        members.append(index)
    if members:
        batches.append((members, widths[members[0]]))
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
