"""Recognized lines → DI lines and words: word boxes, page angle, and the `ContentWriter`
that writes lines into `content` with their spans.

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


@dataclass
class TextWord:
    content: str
    quad: np.ndarray  # page pixels
    confidence: float
    offset: int  # within its line's content


@dataclass
class TextLine:
    """A recognised line ready to be written into `content`: words joined by one space."""

    quad: np.ndarray  # page pixels, first edge along the reading direction
    content: str
    words: list[TextWord]
    box: tuple[float, float, float, float]  # axis-aligned, in the page's upright frame

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]


def upright_box(quad: np.ndarray, angle: float) -> tuple[float, float, float, float]:
    """Axis-aligned box of `quad` after undoing the page angle (text then runs left→right)."""
    theta = np.radians(angle)
    cos, sin = np.cos(theta), np.sin(theta)
    x = quad[:, 0] * cos - quad[:, 1] * sin
    y = quad[:, 0] * sin + quad[:, 1] * cos
    return float(x.min()), float(y.min()), float(x.max()), float(y.max())


def text_lines(lines: Sequence[ReadLine], angle: float) -> list[TextLine]:
    """Split each reading into words (whitespace runs collapse to one space) and place them."""
    out: list[TextLine] = []
    for ln in lines:
        text = ln.reading.text
        words: list[TextWord] = []
        i, offset = 0, 0
        while i < len(text):
            if text[i].isspace():
                i += 1
                continue
            j = i
            while j < len(text) and not text[j].isspace():
                j += 1
            a, b = _word_fractions(ln.reading, i, j)
            probs = ln.reading.probs[i:j] or [ln.reading.confidence]
            words.append(
                TextWord(
                    text[i:j],
                    sub_quad(ln.quad, a, b),
                    round(float(np.clip(np.mean(probs), 0.0, 1.0)), 3),
                    offset,
                )
            )
            offset += j - i + 1
            i = j
        if words:
            out.append(
                TextLine(
                    ln.quad, " ".join(w.content for w in words), words, upright_box(ln.quad, angle)
                )
            )
    return out


def split_line(line: TextLine, groups: Sequence[Sequence[int]], angle: float) -> list[TextLine]:
    """One line per group of word indices (a line the detector ran across table cells)."""
    parts: list[TextLine] = []
    for group in groups:
        words = [line.words[k] for k in group]
        quad = np.array(
            [words[0].quad[0], words[-1].quad[1], words[-1].quad[2], words[0].quad[3]],
            dtype=np.float32,
        )
        placed, offset = [], 0
        for w in words:
            placed.append(TextWord(w.content, w.quad, w.confidence, offset))
            offset += len(w.content) + 1
        parts.append(
            TextLine(quad, " ".join(w.content for w in words), placed, upright_box(quad, angle))
        )
    return parts


class ContentWriter:
    """Builds `content` and the spans of everything written into it, page by page.

    Offsets are code points; `AnalyzeResult.to_json` converts them to the requested
    `stringIndexType`. Elements are separated by `separator` ("\n" for text, "\n\n" for
    markdown); the lines of one element by "\n".
    """

    def __init__(self, separator: str = "\n") -> None:
        self.separator = separator
        self._parts: list[str] = []
        self.length = 0

    @property
    def text(self) -> str:
        return "".join(self._parts)

    @property
    def last(self) -> str:
        """The last character written ("" at the start)."""
        return self._parts[-1][-1] if self._parts and self._parts[-1] else ""

    def write(self, text: str) -> int:
        """Append raw text (markup or content); returns the offset it starts at."""
        start = self.length
        if not text:
            return start
        self._parts.append(text)
        self.length += len(text)
        return start

    def element_break(self) -> None:
        if self.length:
            self.write(self.separator)

    def lines(
        self, lines: Sequence[TextLine], page: Page, scale: float, digits: int, escape: bool = False
    ) -> Span:
        """Write lines joined by "\n", adding them and their words to `page`; the whole span.

        `escape` guards markdown: a leading `#`, `>`, `-`, `+`, `*` or `|` would otherwise start a
        heading, quote, list or table; it is prefixed with a backslash outside the line's span.
        """
        start = self.length
        for n, line in enumerate(lines):
            if n:
                self.write("\n")
            if escape and line.content[:1] in "#>-+*|":
                self.write("\\")
            offset = self.write(line.content)
            for word in line.words:
                page.words.append(
                    Word(
                        content=word.content,
                        polygon=_flat(word.quad, scale, digits),
                        confidence=word.confidence,
                        span=Span(offset + word.offset, len(word.content)),
                    )
                )
            page.lines.append(
                Line(
                    content=line.content,
                    polygon=_flat(line.quad, scale, digits),
                    spans=[Span(offset, len(line.content))],
                )
            )
        return Span(start, self.length - start)


def region_polygon(lines: Sequence[TextLine], scale: float, digits: int) -> list[float]:
    """Bounding polygon (clockwise rectangle) around lines, in page units."""
    pts = np.concatenate([ln.quad for ln in lines])
    x0, y0 = pts.min(axis=0)
    x1, y1 = pts.max(axis=0)
    return rect_polygon((float(x0), float(y0), float(x1), float(y1)), scale, digits)


def rect_polygon(box: tuple[float, float, float, float], scale: float, digits: int) -> list[float]:
    x0, y0, x1, y1 = (round(v * scale, digits) for v in box)
    return [x0, y0, x1, y0, x1, y1, x0, y1]
