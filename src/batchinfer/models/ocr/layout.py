"""Recognized lines → DI lines and words: reading order, word boxes, spans, page angle.

Word polygons are estimates: the recognizer reads whole lines, so each word's box is placed
along the line box (its reading edge) between the CTC positions of the word's first and last
characters, widened by half an average character on each side. When a line has no positions,
words are placed proportionally to their character counts. Both are approximations of the
character extents, typically within a character's width.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from batchinfer.models.ocr.geometry import sub_quad
from batchinfer.models.ocr.recognize import Recognized
from batchinfer.models.ocr.result import Line, Page, Span, Word


@dataclass
class ReadLine:
    quad: np.ndarray  # (4, 2) page pixels, first edge along the reading direction
    reading: Recognized


def page_angle(lines: Sequence[ReadLine]) -> float:
    """Text direction in degrees (-180, 180]: mean of line angles weighted by line length."""
    if not lines:
        return 0.0
    vectors = np.array([ln.quad[1] - ln.quad[0] for ln in lines], dtype=np.float64)
    sx, sy = vectors[:, 0].sum(), -vectors[:, 1].sum()
    angle = float(np.degrees(np.arctan2(sy, sx))) if (sx or sy) else 0.0
    return 180.0 if angle <= -180.0 else angle


def reading_order(lines: Sequence[ReadLine], angle: float) -> list[ReadLine]:
    """Top-to-bottom rows, left-to-right within a row, in the page's own text direction.

    Centers are rotated by the page angle first, so a page scanned sideways still reads in
    order. Lines join a row when their centers are within half a line height of its first one.
    """
    if not lines:
        return []
    theta = np.radians(angle)
    cos, sin = np.cos(theta), np.sin(theta)
    keyed = []
    for ln in lines:
        cx, cy = ln.quad.mean(axis=0)
        x, y = cx * cos - cy * sin, cx * sin + cy * cos  # undo the counter-clockwise angle
        height = float(np.linalg.norm(ln.quad[3] - ln.quad[0]))
        keyed.append((y, x, height, ln))
    keyed.sort(key=lambda k: (k[0], k[1]))
    rows: list[list[tuple[float, float, float, ReadLine]]] = []
    for item in keyed:
        if rows and abs(item[0] - rows[-1][0][0]) <= 0.5 * max(rows[-1][0][2], 1.0):
            rows[-1].append(item)
        else:
            rows.append([item])
    return [item[3] for row in rows for item in sorted(row, key=lambda k: k[1])]


def _flat(quad: np.ndarray, scale: float, digits: int) -> list[float]:
    return [round(float(v) * scale, digits) for v in quad.reshape(-1)]


def _word_fractions(reading: Recognized, start: int, end: int) -> tuple[float, float]:
    n = len(reading.text)
    pos = reading.positions
    if len(pos) != n or n == 0:
        return start / max(n, 1), end / max(n, 1)
    half = (pos[-1] - pos[0]) / (2 * (n - 1)) if n > 1 else 0.5
    return max(0.0, pos[start] - half), min(1.0, pos[end - 1] + half)


def build_page(number: int, width: int, height: int, lines: Sequence[ReadLine], offset: int,
               scale: float = 1.0, unit: str = "pixel") -> tuple[Page, list[str]]:
    """One DI page whose spans start at `offset`; also returns its line texts in order.

    `scale` turns pixels into the page unit (1/dpi for PDF pages reported in inches).
    """
    digits = 4 if unit == "inch" else 1
    angle = page_angle(lines)
    page = Page(page_number=number, angle=round(angle, 2), width=round(width * scale, digits),
                height=round(height * scale, digits), unit=unit)
    texts: list[str] = []
    cursor = offset
    for ln in reading_order(lines, angle):
        text = ln.reading.text
        words: list[tuple[str, int, int]] = []  # content, first char, end char (in `text`)
        i = 0
        while i < len(text):
            if text[i].isspace():
                i += 1
                continue
            j = i
            while j < len(text) and not text[j].isspace():
                j += 1
            words.append((text[i:j], i, j))
            i = j
        if not words:
            continue
        if texts:
            cursor += 1  # the "\n" joining lines in `content`
        content = " ".join(w[0] for w in words)
        line_offset = cursor
        word_offset = line_offset
        for word_text, first, end in words:
            a, b = _word_fractions(ln.reading, first, end)
            probs = ln.reading.probs[first:end] or [ln.reading.confidence]
            page.words.append(Word(
                content=word_text,
                polygon=_flat(sub_quad(ln.quad, a, b), scale, digits),
                confidence=round(float(np.clip(np.mean(probs), 0.0, 1.0)), 3),
                span=Span(word_offset, len(word_text)),
            ))
            word_offset += len(word_text) + 1
        page.lines.append(Line(content=content, polygon=_flat(ln.quad, scale, digits),
                               spans=[Span(line_offset, len(content))]))
        texts.append(content)
        cursor += len(content)
    if texts:  # a page without text has no spans, as in Document Intelligence
        page.spans.append(Span(offset, cursor - offset))
    return page, texts
