"""Angle classification: is a cropped line upside down (0° vs 180°)?

Scans and phone photos arrive rotated; the recognizer only reads upright text, so each line
that the classifier confidently calls 180° is flipped before recognition.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from batchinfer.inference.runtime import InferenceSessionPort
from batchinfer.models.ocr.crop import LineCrop


@dataclass(frozen=True)
class ClassificationSettings:
    height: int = 48
    width: int = 192
    batch_size: int = 32
    threshold: float = 0.9  # only flip when the model is this sure
    # ...and when the page agrees: lines of one page share its orientation, so a line goes
    # against the page's width-weighted vote only when the model is this sure of it (short
    # words such as "Dallas" or "63%" in table cells were read upside down otherwise)
    dissent_threshold: float = 0.995
    max_windows: int = 3  # long lines are judged on up to this many 192x48 windows


def _prepare(image: np.ndarray, settings: ClassificationSettings) -> np.ndarray:
    h, w = image.shape[:2]
    width = min(settings.width, max(1, math.ceil(settings.height * w / h)))
    resized = cv2.resize(image, (width, settings.height)).astype(np.float32)
    out = np.zeros((3, settings.height, settings.width), dtype=np.float32)
    out[:, :, :width] = ((resized / 255.0 - 0.5) / 0.5).transpose(2, 0, 1)
    return out


def _windows(image: np.ndarray, settings: ClassificationSettings) -> list[np.ndarray]:
    """Pieces of a line at the classifier's own aspect ratio.

    Squeezing a 35:1 line into the 4:1 input (as PaddleOCR does) turns glyphs into slivers and
    made the classifier flip a third of the upright lines of a dense A4 page in our tests; a
    few undistorted windows spread along the line, with averaged scores, do not.
    """
    h, w = image.shape[:2]
    span = max(1, int(round(h * settings.width / settings.height)))
    if w <= span * 1.5 or settings.max_windows <= 1:
        return [image]
    count = min(settings.max_windows, w // span)
    starts = np.linspace(0, w - span, count).astype(int)
    return [image[:, s : s + span] for s in starts]


def classify_and_rotate(
    session: InferenceSessionPort,
    crops: Sequence[LineCrop],
    settings: ClassificationSettings = ClassificationSettings(),
) -> list[bool]:
    """Flip upside-down crops in place; returns, per crop, whether it was flipped."""
    pieces: list[np.ndarray] = []
    owner: list[int] = []
    for index, crop in enumerate(crops):
        for window in _windows(crop.image, settings):
            pieces.append(_prepare(window, settings))
            owner.append(index)
    if not pieces:
        return []
    name = session.input_names[0]
    probs = np.concatenate(
        [
            session.run({name: np.stack(pieces[s : s + settings.batch_size])})[0]
            for s in range(0, len(pieces), settings.batch_size)
        ]
    )
    totals = np.zeros((len(crops), probs.shape[1]), dtype=np.float64)
    np.add.at(totals, np.asarray(owner), probs)
    counts = np.bincount(np.asarray(owner), minlength=len(crops))[:, None]
    mean = totals / np.maximum(counts, 1)
    widths = np.array([max(1, crop.image.shape[1]) for crop in crops], dtype=np.float64)
    page_flipped = float((mean[:, 1] * widths).sum() / widths.sum()) >= 0.5
    flipped = [False] * len(crops)
    for index, crop in enumerate(crops):
        sure = settings.threshold if page_flipped else settings.dissent_threshold
        if int(np.argmax(mean[index])) == 1 and float(mean[index, 1]) >= sure:
            crop.rotate_180()
            flipped[index] = True
    return flipped
