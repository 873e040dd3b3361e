"""Table structure: SLANet-plus, a table image → rows of cells with spans and cell boxes.

The model reads the crop (longest side resized to 488, ImageNet-normalised BGR, padded to
488x488) and emits HTML structure tokens (`<tr>`, `<td></td>`, `<td` + ` colspan="2"` + `>`,
...) with, for every cell token, the cell's box as four corner points normalised to the padded
square (so both axes scale by the crop's longest side).
We place the cells on a grid: each takes the next column in its row that no cell above still
occupies through its row span. Cells inside `<thead>` are column headers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import cv2
import numpy as np

from batchinfer.inference.runtime import InferenceSessionPort

SIDE = 488
_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
_SPAN = re.compile(r'\s*(colspan|rowspan)="(\d+)"')
CELL_TOKENS = ("<td></td>", "<td", "<td>")


@dataclass
class CellBox:
    row: int
    column: int
    row_span: int
    column_span: int
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 in page pixels
    header: bool = False


@dataclass
class TableStructure:
    rows: int
    columns: int
    cells: list[CellBox]


def tokens_of(session: InferenceSessionPort) -> list[str]:
    raw = session.metadata.get("character")
    if not raw:
        raise ValueError("the table model carries no 'character' (tokens) metadata")
    return ["sos", *raw.splitlines(), "eos"]


def preprocess(bgr: np.ndarray) -> np.ndarray:
    height, width = bgr.shape[:2]
    ratio = SIDE / max(height, width)
    resized = cv2.resize(bgr, (max(1, int(width * ratio)), max(1, int(height * ratio))))
    normed = (resized.astype(np.float32) / 255.0 - _MEAN) / _STD
    padded = np.zeros((SIDE, SIDE, 3), dtype=np.float32)
    padded[: normed.shape[0], : normed.shape[1]] = normed
    return np.ascontiguousarray(padded.transpose(2, 0, 1)[None])


def recognize_table(
    session: InferenceSessionPort,
    rgb: np.ndarray,
    box: tuple[float, float, float, float],
    tokens: list[str],
) -> TableStructure | None:
    """The structure of the table inside `box` (page pixels), or None if none is read."""
    x0, y0, x1, y1 = (int(round(v)) for v in box)
    crop = rgb[max(0, y0) : y1, max(0, x0) : x1]
    if crop.size == 0 or min(crop.shape[:2]) < 8:
        return None
    bgr = np.ascontiguousarray(crop[..., ::-1])
    locs, probs = session.run({session.input_names[0]: preprocess(bgr)})
    return decode(probs[0], locs[0], tokens, crop.shape[1], crop.shape[0], max(0, x0), max(0, y0))


def decode(
    probs: np.ndarray,
    locs: np.ndarray,
    tokens: list[str],
    width: int,
    height: int,
    dx: float,
    dy: float,
) -> TableStructure | None:
    ids = probs.argmax(axis=1)
    rows: list[list[tuple[int, int, tuple[float, float, float, float], bool]]] = []
    in_head = False
    pending: tuple[int, int, tuple[float, float, float, float]] | None = None
    for step, idx in enumerate(ids):
        token = tokens[int(idx)] if int(idx) < len(tokens) else ""
        if token == "eos" and step > 0:
            break
        if token in ("<thead>", "</thead>"):
            in_head = token == "<thead>"
        elif token == "<tr>":
            rows.append([])
        elif token in CELL_TOKENS:
            pts = locs[step].reshape(4, 2) * max(width, height)  # of the padded square
            cell_box = (
                float(pts[:, 0].min() + dx),
                float(pts[:, 1].min() + dy),
                float(pts[:, 0].max() + dx),
                float(pts[:, 1].max() + dy),
            )
            if not rows:
                rows.append([])
            if token == "<td></td>":
                rows[-1].append((1, 1, cell_box, in_head))
            else:
                pending = (1, 1, cell_box)
        elif pending is not None and _SPAN.match(token):
            kind, value = _SPAN.match(token).groups()  # type: ignore[union-attr]
            rs, cs, cell_box = pending
            pending = (
                (int(value), cs, cell_box) if kind == "rowspan" else (rs, int(value), cell_box)
            )
        elif token == ">" and pending is not None:
            rows[-1].append((*pending, in_head))
            pending = None
    return place(rows)


def place(
    rows: list[list[tuple[int, int, tuple[float, float, float, float], bool]]],
) -> TableStructure | None:
    """Grid positions of parsed rows (row span, column span, box, header) → cells."""
    rows = [r for r in rows if r]
    if not rows:
        return None
    taken: set[tuple[int, int]] = set()
    cells: list[CellBox] = []
    for r, row in enumerate(rows):
        c = 0
        for row_span, column_span, box, header in row:
            while (r, c) in taken:
                c += 1
            row_span = max(1, min(row_span, len(rows) - r))
            for i in range(row_span):
                for j in range(column_span):
                    taken.add((r + i, c + j))
            cells.append(CellBox(r, c, row_span, column_span, box, header))
            c += column_span
    columns = max(c for _, c in taken) + 1
    return TableStructure(len(rows), columns, cells)
