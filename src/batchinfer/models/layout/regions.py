"""Layout regions: PP-PicoDet (CDLA classes) page → labelled boxes.

The detector sees the page resized to 608x800 (its export size), normalised with ImageNet
statistics in BGR order. Each of its four strides gives per-anchor class scores (already
sigmoid) and box sides as distributions over 8 bins (generalised focal loss): the expected
value of each distribution, times the stride, is the distance from the anchor centre to that
side. Boxes are kept above a score threshold and thinned per class by non-maximum suppression.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from batchinfer.inference.runtime import InferenceSessionPort

INPUT_HW = (800, 608)
STRIDES = (8, 16, 32, 64)
_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


@dataclass(frozen=True)
class RegionSettings:
    score_threshold: float = 0.4
    # CDLA's figures are photos and plots from papers; simple business charts score lower
    figure_threshold: float = 0.3
    iou_threshold: float = 0.5
    top_k: int = 1000  # candidates per stride before suppression


@dataclass
class Region:
    label: str  # text, title, figure, figure_caption, table, table_caption, header, ...
    score: float
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 in page pixels


def labels_of(session: InferenceSessionPort) -> list[str]:
    raw = session.metadata.get("character")
    if not raw:
        raise ValueError("the layout model carries no 'character' (labels) metadata")
    return raw.splitlines()


def preprocess(bgr: np.ndarray) -> np.ndarray:
    height, width = INPUT_HW
    resized = cv2.resize(bgr, (width, height), interpolation=cv2.INTER_LINEAR)
    tensor = (resized.astype(np.float32) / 255.0 - _MEAN) / _STD
    return np.ascontiguousarray(tensor.transpose(2, 0, 1)[None])


def detect_regions(
    session: InferenceSessionPort,
    rgb: np.ndarray,
    labels: list[str],
    settings: RegionSettings = RegionSettings(),
) -> list[Region]:
    """Regions of one page, in page pixels, highest score first."""
    bgr = np.ascontiguousarray(rgb[..., ::-1])
    outputs = session.run({session.input_names[0]: preprocess(bgr)})
    return decode(outputs, rgb.shape[1], rgb.shape[0], labels, settings)


def decode(
    outputs: list[np.ndarray], page_w: int, page_h: int, labels: list[str], settings: RegionSettings
) -> list[Region]:
    levels = len(outputs) // 2
    boxes_all, scores_all = [], []
    in_h, in_w = INPUT_HW
    for level, stride in enumerate(STRIDES[:levels]):
        scores = outputs[level][0]
        dist = outputs[level + levels][0]
        bins = dist.shape[-1] // 4
        rows, cols = int(np.ceil(in_h / stride)), int(np.ceil(in_w / stride))
        yy, xx = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
        centres = np.stack([(xx.ravel() + 0.5) * stride, (yy.ravel() + 0.5) * stride], axis=1)
        keep = np.argsort(scores.max(axis=1))[::-1][: settings.top_k]
        logits = dist[keep].reshape(-1, 4, bins)
        logits = np.exp(logits - logits.max(axis=2, keepdims=True))
        probs = logits / logits.sum(axis=2, keepdims=True)
        sides = (probs * np.arange(bins)).sum(axis=2) * stride  # left, top, right, bottom
        c = centres[keep]
        boxes_all.append(
            np.stack(
                [
                    c[:, 0] - sides[:, 0],
                    c[:, 1] - sides[:, 1],
                    c[:, 0] + sides[:, 2],
                    c[:, 1] + sides[:, 3],
                ],
                axis=1,
            )
        )
        scores_all.append(scores[keep])
    boxes = np.concatenate(boxes_all)
    scores = np.concatenate(scores_all)
    sx, sy = page_w / in_w, page_h / in_h
    regions: list[Region] = []
    for cls in range(scores.shape[1]):
        label = labels[cls] if cls < len(labels) else str(cls)
        threshold = settings.figure_threshold if label == "figure" else settings.score_threshold
        mask = scores[:, cls] > threshold
        if not mask.any():
            continue
        for i in _nms(boxes[mask], scores[mask, cls], settings.iou_threshold):
            x0, y0, x1, y1 = boxes[mask][i]
            regions.append(
                Region(
                    labels[cls] if cls < len(labels) else str(cls),
                    float(scores[mask, cls][i]),
                    (
                        float(np.clip(x0 * sx, 0, page_w)),
                        float(np.clip(y0 * sy, 0, page_h)),
                        float(np.clip(x1 * sx, 0, page_w)),
                        float(np.clip(y1 * sy, 0, page_h)),
                    ),
                )
            )
    regions.sort(key=lambda r: -r.score)
    return _drop_contained(regions)


def _drop_contained(regions: list[Region], share: float = 0.6) -> list[Region]:
    """Drop a region that mostly holds, or mostly lies inside, a higher-scoring one of the same
    label (NMS keeps those, since their IoU is low: a table's header band read as a second
    table, or a page-sized "figure" around the real one)."""
    kept: list[Region] = []
    for region in regions:  # highest score first
        x0, y0, x1, y1 = region.box
        area = max((x1 - x0) * (y1 - y0), 1e-6)
        inside = any(
            k.label == region.label
            and max(0.0, min(x1, k.box[2]) - max(x0, k.box[0]))
            * max(0.0, min(y1, k.box[3]) - max(y0, k.box[1]))
            >= share * min(area, (k.box[2] - k.box[0]) * (k.box[3] - k.box[1]))
            for k in kept
        )
        if not inside:
            kept.append(region)
    return kept


def _nms(boxes: np.ndarray, scores: np.ndarray, threshold: float) -> list[int]:
    order = list(np.argsort(scores)[::-1])
    keep: list[int] = []
    while order:
        i = order.pop(0)
        keep.append(int(i))
        rest = np.array(order, dtype=int)
        if not len(rest):
            break
        ious = iou(boxes[i], boxes[rest])
        order = [int(j) for j, v in zip(rest, ious, strict=False) if v <= threshold]
    return keep


def iou(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    x0 = np.maximum(box[0], others[:, 0])
    y0 = np.maximum(box[1], others[:, 1])
    x1 = np.minimum(box[2], others[:, 2])
    y1 = np.minimum(box[3], others[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (others[:, 2] - others[:, 0]) * (others[:, 3] - others[:, 1])
    return inter / np.maximum(area + areas - inter, 1e-6)
