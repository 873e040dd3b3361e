"""DB (Differentiable Binarization) text detection: page → text-line quadrilaterals.

The PP-OCRv4 detector outputs a per-pixel text probability map; lines are the connected regions
above a threshold, expanded ("unclipped") by the shrink ratio the model was trained with. We
limit the longest side fed to the model because detection cost grows with pixels and 960 px is
enough for ordinary document text on a two-core worker.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import pyclipper

from batchinfer.inference.runtime import InferenceSessionPort
from batchinfer.models.ocr.geometry import order_clockwise

_MEAN = np.float32(0.5)
_STD = np.float32(0.5)


@dataclass(frozen=True)
class DetectionSettings:
    max_side_len: int = 960
    min_side_len: int = 32
    threshold: float = 0.3  # probability map → binary text mask
    box_threshold: float = 0.5  # mean probability inside a region to keep it
    unclip_ratio: float = 1.6
    max_candidates: int = 1000
    min_box_side: float = 3.0
    dilate: bool = True


@dataclass
class DetectedBox:
    quad: np.ndarray  # (4, 2) float32, page pixels, clockwise from top-left
    score: float


def preprocess(rgb: np.ndarray, settings: DetectionSettings) -> tuple[np.ndarray, float, float]:
    """NCHW float input at a size that is a multiple of 32; returns it and the x/y scales."""
    height, width = rgb.shape[:2]
    ratio = min(1.0, settings.max_side_len / max(height, width))
    if min(height, width) * ratio < settings.min_side_len:
        ratio = settings.min_side_len / min(height, width)
    new_h = max(32, int(round(height * ratio / 32)) * 32)
    new_w = max(32, int(round(width * ratio / 32)) * 32)
    resized = cv2.resize(rgb, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    tensor = (resized.astype(np.float32) / 255.0 - _MEAN) / _STD
    return tensor.transpose(2, 0, 1)[None], new_w / width, new_h / height


def detect(
    session: InferenceSessionPort,
    rgb: np.ndarray,
    settings: DetectionSettings = DetectionSettings(),
) -> list[DetectedBox]:
    """Text-line boxes of one page, in page pixel coordinates."""
    tensor, sx, sy = preprocess(rgb, settings)
    prob = session.run({session.input_names[0]: tensor})[0][0, 0]
    return postprocess(prob, sx, sy, rgb.shape[1], rgb.shape[0], settings)


def postprocess(
    prob: np.ndarray, sx: float, sy: float, page_w: int, page_h: int, settings: DetectionSettings
) -> list[DetectedBox]:
    mask: np.ndarray = (prob > settings.threshold).astype(np.uint8)
    if settings.dilate:
        mask = cv2.dilate(mask, np.ones((2, 2), np.uint8))
    contours, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    boxes: list[DetectedBox] = []
    for contour in contours[: settings.max_candidates]:
        rect = cv2.minAreaRect(contour)
        if min(rect[1]) < settings.min_box_side:
            continue
        score = _region_score(prob, contour.reshape(-1, 2))
        if score < settings.box_threshold:
            continue
        expanded = _unclip(cv2.boxPoints(rect), settings.unclip_ratio)
        if expanded is None:
            continue
        rect = cv2.minAreaRect(expanded)
        if min(rect[1]) < settings.min_box_side + 2:
            continue
        quad = order_clockwise(cv2.boxPoints(rect))
        quad[:, 0] = np.clip(quad[:, 0] / sx, 0, page_w - 1)
        quad[:, 1] = np.clip(quad[:, 1] / sy, 0, page_h - 1)
        boxes.append(DetectedBox(quad=quad, score=score))
    return boxes


def _region_score(prob: np.ndarray, polygon: np.ndarray) -> float:
    """Mean probability inside the contour, computed on its bounding box only (cheap)."""
    h, w = prob.shape
    x0, y0 = np.clip(polygon.min(axis=0), 0, [w - 1, h - 1]).astype(int)
    x1, y1 = np.clip(polygon.max(axis=0), 0, [w - 1, h - 1]).astype(int)
    local = np.zeros((y1 - y0 + 1, x1 - x0 + 1), dtype=np.uint8)
    cv2.fillPoly(local, [(polygon - [x0, y0]).astype(np.int32)], 1)
    return float(cv2.mean(prob[y0 : y1 + 1, x0 : x1 + 1], local)[0])


def _unclip(box: np.ndarray, ratio: float) -> np.ndarray | None:
    """Grow the shrunk text kernel back to the full line: offset = area * ratio / perimeter."""
    area = cv2.contourArea(box)
    perimeter = cv2.arcLength(box, True)
    if perimeter <= 0:
        return None
    offset = pyclipper.PyclipperOffset()
    offset.AddPath(
        [tuple(map(int, p)) for p in box.round()], pyclipper.JT_ROUND, pyclipper.ET_CLOSEDPOLYGON
    )
    grown = offset.Execute(area * ratio / perimeter)
    if len(grown) != 1:
        return None
    return np.asarray(grown[0], dtype=np.float32).reshape(-1, 1, 2)
