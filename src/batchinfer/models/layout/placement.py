"""Where selection marks go in `content`: folded into the text line on their row, or standing
alone as a line of their own.

The service writes a mark as `:selected:` / `:unselected:` (markdown: `☒` / `☐`) at its
reading-order position: a box before its label reads `:unselected: Yes`, a box alone in a table
cell is the cell's content. A mark joins the line on its row whose text it precedes (the
common "box, then label" form), else the one it follows, else it becomes a line by itself,
which then takes part in paragraph grouping and reading order like any other line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from batchinfer.models.layout.marks import SELECTED, Mark
from batchinfer.models.ocr.layout import TextLine, TextWord
from batchinfer.models.ocr.reading import Box

TEXT_TOKENS = {SELECTED: ":selected:", "unselected": ":unselected:"}
MARKDOWN_TOKENS = {SELECTED: "☒", "unselected": "☐"}


@dataclass
class MarkedLine(TextLine):
    """A line with marks to write among its words: (index of the word it precedes, mark)."""

    marks: list[tuple[int, Mark]] = field(default_factory=list)
    text_box: Box | None = None  # the words' box, without the marks (None: no words)


def _rect(box: Box) -> np.ndarray:
    x0, y0, x1, y1 = box
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float32)


def _union(a: Box, b: Box) -> Box:
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


def standalone(mark: Mark) -> MarkedLine:
    """A line holding nothing but the mark."""
    return MarkedLine(_rect(mark.box), "", [], mark.box, [(0, mark)], None)


def is_mark_only(line: TextLine) -> bool:
    return isinstance(line, MarkedLine) and not line.words


def text_box(line: TextLine) -> Box | None:
    """The box of a line's words alone (a marked line's box also holds its marks)."""
    return line.text_box if isinstance(line, MarkedLine) else line.box


def _score(mark: Mark, line: TextLine) -> float | None:
    """How well a mark belongs to a line on its row (lower is better), None if it does not.

    A mark before a line's text is that text's box (gap alone); one after a line's text
    scores a line height worse, so a label to the right wins over the question to the left."""
    mx0, my0, mx1, my1 = mark.box
    box = text_box(line)
    if box is None:
        return None
    lx0, ly0, lx1, ly1 = box
    overlap = min(my1, ly1) - max(my0, ly0)
    if overlap < 0.5 * min(my1 - my0, ly1 - ly0):
        return None
    reach = 2.0 * max(ly1 - ly0, mark.height)
    cx = (mx0 + mx1) / 2
    if lx0 < cx < lx1:
        return 0.0  # among the line's words
    if cx <= lx0:  # before the line: the mark's label
        gap = max(0.0, lx0 - mx1)
        return gap if gap <= reach else None
    gap = max(0.0, mx0 - lx1)  # after the line
    return gap + (ly1 - ly0) if gap <= reach else None


def attach(lines: Sequence[TextLine], marks: Sequence[Mark]) -> list[TextLine]:
    """`lines` with each mark folded into the best line on its row, and lines of one form row
    joined (`_join_rows`); marks with no line become lines of their own, appended."""
    out: list[TextLine] = list(lines)
    folded: dict[int, list[Mark]] = {}
    alone: list[TextLine] = []
    for mark in marks:
        scored = [(s, i) for i, ln in enumerate(out) if (s := _score(mark, ln)) is not None]
        if scored:
            folded.setdefault(min(scored)[1], []).append(mark)
        else:
            alone.append(standalone(mark))
    for i, extra in folded.items():
        out[i] = _fold(out[i], extra)
    return _join_rows(out) + alone


def _fold(line: TextLine, marks: list[Mark]) -> MarkedLine:
    placed = list(line.marks) if isinstance(line, MarkedLine) else []
    box = line.box
    for mark in marks:
        cx = mark.centre[0]
        before = sum(1 for w in line.words if float(w.quad[:, 0].mean()) < cx)
        placed.append((before, mark))
        box = _union(box, mark.box)
    placed.sort(key=lambda item: (item[0], item[1].box[0]))
    quad = _rect(box) if box != line.box else line.quad
    return MarkedLine(quad, line.content, list(line.words), box, placed, text_box(line))


def _join_rows(lines: list[TextLine]) -> list[TextLine]:
    """A line that starts with a mark joins the line just left of it on the same row, so a
    form row (`Contact: ☐ Email ☒ Phone`) reads as one line, as the service reads it, instead
    of being cut into columns at the boxes."""
    out = list(lines)
    merged = True
    while merged:
        merged = False
        for i, right in enumerate(out):
            if not isinstance(right, MarkedLine) or not right.marks or right.marks[0][0] != 0:
                continue
            first = right.marks[0][1]
            left = _left_neighbour(out, i, first)
            if left is None:
                continue
            out[left] = _join(out[left], right)
            del out[i]
            merged = True
            break
    return out


def _left_neighbour(lines: list[TextLine], index: int, mark: Mark) -> int | None:
    best: tuple[float, int] | None = None
    for j, line in enumerate(lines):
        if j == index or line.box[2] > mark.box[0] + 0.5 * mark.height:
            continue
        overlap = min(mark.box[3], line.box[3]) - max(mark.box[1], line.box[1])
        if overlap < 0.5 * min(mark.height, line.height):
            continue
        gap = mark.box[0] - line.box[2]
        # closer than a column gutter, so two columns' rows are never joined
        if gap <= 1.5 * max(line.height, mark.height) and (best is None or gap < best[0]):
            best = (gap, j)
    return best[1] if best else None


def _join(left: TextLine, right: MarkedLine) -> MarkedLine:
    words = list(left.words) + list(right.words)
    offset = len(left.words)
    marks = list(left.marks) if isinstance(left, MarkedLine) else []
    marks += [(k + offset, m) for k, m in right.marks]
    box = _union(left.box, right.box)
    boxes = [b for b in (text_box(left), right.text_box) if b is not None]
    words_box = None
    if boxes:
        words_box = boxes[0] if len(boxes) == 1 else _union(boxes[0], boxes[1])
    content = " ".join(w.content for w in words)
    placed, at = [], 0
    for w in words:
        placed.append(TextWord(w.content, w.quad, w.confidence, at))
        at += len(w.content) + 1
    return MarkedLine(_rect(box), content, placed, box, marks, words_box)


def with_tokens(line: TextLine, tokens: dict[str, str]) -> tuple[TextLine, list[tuple[int, Mark]]]:
    """The line as written: marks' tokens among its words (one space apart), the words'
    offsets shifted to match; and each mark with its token's offset in the line's content."""
    if not isinstance(line, MarkedLine) or not line.marks:
        return line, []
    parts: list[str] = []
    words: list[TextWord] = []
    offsets: list[tuple[int, Mark]] = []
    length = 0
    queue = list(line.marks)
    for k in range(len(line.words) + 1):
        while queue and queue[0][0] <= k:
            mark = queue.pop(0)[1]
            offsets.append((length + (1 if parts else 0), mark))
            length += len(tokens[mark.state]) + (1 if parts else 0)
            parts.append(tokens[mark.state])
        if k < len(line.words):
            word = line.words[k]
            offset = length + (1 if parts else 0)
            words.append(TextWord(word.content, word.quad, word.confidence, offset))
            length = offset + len(word.content)
            parts.append(word.content)
    return TextLine(line.quad, " ".join(parts), words, line.box), offsets
