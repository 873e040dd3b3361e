"""Selection marks (check boxes and radio buttons) found by classical image processing.

No model: a mark is a small, isolated, closed outline of about text size, so it is found as a
connected ink component and accepted only when its outline is a clean square (ink along all
four sides of its bounding box, corners included) or a clean ring (ink at every angle round
its centre, corners empty). This rejects what else is small and closed on a page:

- table grid cells are holes of the one large grid component, never components of their own;
- letters: a mark stands apart (no ink just left or right of it, as letters of a word have),
  `D`, `0` or `o` fail the shape tests (curved sides, corners empty, too narrow or too small
  for a ring), and a candidate lying under an OCR word is dropped unless that word is the mark
  itself read as a look-alike character (a box read as `口`, a ring as `O`, alone or glued to
  its label: `ONo`), in which case the character leaves the text;
- solid squares and dots (list bullets) have no empty inside.

State: the share of ink inside the outline (border excluded); a tick, cross or dot fills
noticeably more than the few pixels of noise an empty box holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from batchinfer.models.ocr.geometry import sub_quad
from batchinfer.models.ocr.layout import TextLine, TextWord, upright_box
from batchinfer.models.ocr.reading import Box

# what a recogniser reads a box or ring as
LOOKALIKES = frozenset("OoQ0DdCcUuVvXx口□■☐☑☒○●◯◎⊙⊗⊠回囗国区図[]|()✓✔✗✘")

SELECTED = "selected"
UNSELECTED = "unselected"


@dataclass(frozen=True)
class MarkSettings:
    min_side: float = 0.45  # × body text height
    max_side: float = 2.2  # × body text height
    min_pixels: int = 8  # absolute floor for the side, in page pixels
    max_aspect: float = 1.25  # long side / short side
    side_coverage: float = 0.95  # share of each side's length that must be ink (squares)
    ring_coverage: float = 0.92  # share of angles with ink on the ring (circles)
    selected_fill: float = 0.08  # interior ink share from which a mark counts as selected
    solid_fill: float = 0.8  # interior this full: a bullet, not a mark
    word_overlap: float = 0.3  # share of the candidate under an OCR word: a character
    min_round: float = 0.55  # × body text height: smaller rings are letters (O, o)


@dataclass
class Mark:
    """One selection mark in page pixels (upright frame)."""

    box: Box
    state: str
    confidence: float
    shape: str  # "square" or "round"

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]

    @property
    def centre(self) -> tuple[float, float]:
        return (self.box[0] + self.box[2]) / 2, (self.box[1] + self.box[3]) / 2


def ink_mask(rgb: np.ndarray) -> np.ndarray:
    """Ink (dark on light) as a 0/1 uint8 mask; Otsu's threshold, capped so that a page of
    pale colour fills is not read as ink."""
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY) if rgb.ndim == 3 else rgb
    threshold, _ = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    limit = min(float(threshold), 160.0)
    return (gray < limit).astype(np.uint8)


def find_marks(
    rgb: np.ndarray,
    text_height: float,
    word_boxes: Sequence[tuple[Box, str]] = (),
    settings: MarkSettings | None = None,
) -> tuple[list[Mark], dict[int, str]]:
    """Selection marks on one upright page, and what to do with the `word_boxes` that are
    marks misread as text: index → "drop" (the whole word was the mark) or "trim" (the
    recogniser glued the mark to the label as its first character).

    `text_height` is the body text's line height in pixels: it sets the plausible mark size.
    """
    settings = settings or MarkSettings()
    ink = ink_mask(rgb)
    lo = max(float(settings.min_pixels), settings.min_side * text_height)
    hi = max(lo + 1.0, settings.max_side * text_height)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    marks: list[Mark] = []
    surgery: dict[int, str] = {}
    for index in range(1, count):
        x, y, w, h, _area = (int(v) for v in stats[index])
        if not (lo <= w <= hi and lo <= h <= hi):
            continue
        if max(w, h) > settings.max_aspect * min(w, h):
            continue
        component = labels[y : y + h, x : x + w] == index
        shape = _shape(component, settings)
        if shape is None:
            continue
        if shape == "round" and min(w, h) < settings.min_round * text_height:
            continue  # the size of a letter O: radio buttons are drawn larger
        box: Box = (float(x), float(y), float(x + w), float(y + h))
        if not _isolated(ink, box):
            continue  # a letter inside a word
        fill = _interior_fill(ink[y : y + h, x : x + w], component, shape)
        if fill >= settings.solid_fill:
            continue
        covering = _covering_words(box, word_boxes, settings.word_overlap)
        verdict = _misread(box, [word_boxes[i] for i in covering])
        if covering and verdict is None:
            continue
        if covering and verdict is not None:
            surgery[covering[0]] = verdict
        marks.append(Mark(box, *_state(fill, settings.selected_fill), shape))
    return _outermost(marks), surgery


def _isolated(ink: np.ndarray, box: Box) -> bool:
    """No ink just left or right of the box (letters of a word sit closer than a space)."""
    x0, y0, x1, y1 = (int(v) for v in box)
    side = min(x1 - x0, y1 - y0)
    gap = max(3, int(round(0.3 * side)))
    band = slice(y0 + side // 5, y1 - side // 5)
    left = ink[band, max(0, x0 - gap) : max(0, x0 - 1)]
    right = ink[band, x1 + 1 : x1 + 1 + gap]
    return not left.any() and not right.any()


def _thickness(component: np.ndarray) -> int:
    """Stroke width of the outline: ink run length in from each side along the middle."""
    h, w = component.shape
    runs = [
        _run(component[h // 2, :]),
        _run(component[h // 2, ::-1]),
        _run(component[:, w // 2]),
        _run(component[::-1, w // 2]),
    ]
    return max(1, int(np.median(runs)))


def _run(values: np.ndarray) -> int:
    """Length of the leading run of ink (after any leading background)."""
    start = int(np.argmax(values)) if values.any() else len(values)
    rest = values[start:]
    gaps = np.flatnonzero(~rest)
    return int(gaps[0]) if len(gaps) else len(rest)


def _shape(component: np.ndarray, settings: MarkSettings) -> str | None:
    """ "square", "round" or None for this component's outline.

    Square: ink along each side within the stroke's width of the bounding box, and in each
    corner's own pixels (a `D` or `O` leaves its corners empty). Round: ink at nearly every
    angle in the outer band, corners empty."""
    h, w = component.shape
    t = _thickness(component) + 1
    c = max(1, int(round(0.1 * min(h, w))))
    inner = slice(c, -c)
    sides = (
        np.any(component[:t, :], axis=0)[inner],  # top
        np.any(component[-t:, :], axis=0)[inner],  # bottom
        np.any(component[:, :t], axis=1)[inner],  # left
        np.any(component[:, -t:], axis=1)[inner],  # right
    )
    corners = [
        component[:c, :c].any(),
        component[:c, -c:].any(),
        component[-c:, :c].any(),
        component[-c:, -c:].any(),
    ]
    if all(corners) and all(side.mean() >= settings.side_coverage for side in sides):
        return "square"
    if not any(corners) and _ring_coverage(component) >= settings.ring_coverage:
        return "round"
    return None


def _ring_coverage(component: np.ndarray, rays: int = 36) -> float:
    """Share of rays from the centre that meet ink in the outer band of the component."""
    h, w = component.shape
    cy, cx = (h - 1) / 2, (w - 1) / 2
    angles = np.linspace(0, 2 * np.pi, rays, endpoint=False)[:, None]
    radii = np.linspace(0.6, 1.0, 8)[None, :] * (min(h, w) / 2)
    ys = np.clip(np.rint(cy + radii * np.sin(angles)).astype(int), 0, h - 1)
    xs = np.clip(np.rint(cx + radii * np.cos(angles)).astype(int), 0, w - 1)
    return float(component[ys, xs].any(axis=1).mean())


def _interior_fill(ink: np.ndarray, component: np.ndarray, shape: str) -> float:
    """Share of ink inside the outline, its stroke and a 1-pixel margin excluded."""
    h, w = ink.shape
    inset = _thickness(component) + 1
    if h - 2 * inset < 2 or w - 2 * inset < 2:
        return 1.0
    inside = ink[inset : h - inset, inset : w - inset].astype(bool)
    if shape == "round":
        ih, iw = inside.shape
        yy, xx = np.ogrid[:ih, :iw]
        disk = ((yy - (ih - 1) / 2) / (ih / 2)) ** 2 + ((xx - (iw - 1) / 2) / (iw / 2)) ** 2 <= 1
        return float(inside[disk].mean()) if disk.any() else 1.0
    return float(inside.mean())


def _state(fill: float, threshold: float) -> tuple[str, float]:
    """State and a confidence that grows with the distance of the fill from the threshold."""
    if fill >= threshold:
        margin = min(1.0, (fill - threshold) / threshold)
        return SELECTED, round(0.6 + 0.395 * margin, 3)
    margin = min(1.0, (threshold - fill) / threshold)
    return UNSELECTED, round(0.6 + 0.395 * margin, 3)


def _covering_words(box: Box, words: Sequence[tuple[Box, str]], share: float) -> list[int]:
    area = max((box[2] - box[0]) * (box[3] - box[1]), 1e-6)
    out = []
    for i, (wbox, _) in enumerate(words):
        dx = min(box[2], wbox[2]) - max(box[0], wbox[0])
        dy = min(box[3], wbox[3]) - max(box[1], wbox[1])
        if dx > 0 and dy > 0 and dx * dy / area >= share:
            out.append(i)
    return out


def _misread(box: Box, words: list[tuple[Box, str]]) -> str | None:
    """Whether the one word covering a mark is the mark read as text: "drop" for a word that
    is one look-alike character (a box read as `口`, a ring as `O`), "trim" for a word that
    starts with one where the mark is (`○ No` read as `ONo`), None for real text."""
    if len(words) != 1:
        return None
    wbox, text = words[0]
    side = box[2] - box[0]
    if not text or text[0] not in LOOKALIKES:
        return None
    if len(text) == 1 and (wbox[2] - wbox[0]) <= 2.0 * side:
        return "drop"
    if len(text) > 1 and abs(wbox[0] - box[0]) <= 0.6 * side:
        return "trim"
    return None


def _outermost(marks: list[Mark]) -> list[Mark]:
    """Drop a mark that lies inside another (a radio button's dot, a box drawn in a box)."""
    kept = []
    for mark in marks:
        x0, y0, x1, y1 = mark.box
        inside = any(
            other is not mark
            and other.box[0] <= x0
            and other.box[1] <= y0
            and other.box[2] >= x1
            and other.box[3] >= y1
            for other in marks
        )
        if not inside:
            kept.append(mark)
    return kept


def page_marks(
    rgb: np.ndarray,
    lines: list[TextLine],
    angle: float,
    text_height: float,
    settings: MarkSettings | None = None,
) -> tuple[list[Mark], list[TextLine]]:
    """The page's marks, and its lines without what the recogniser read of the marks.

    Pages read at an angle are left without marks (regions are assumed upright too)."""
    if abs(angle) > 2.0:
        return [], lines
    words = [(ln, k) for ln in lines for k in range(len(ln.words))]
    boxes = [(_word_box(ln.words[k].quad), ln.words[k].content) for ln, k in words]
    marks, surgery = find_marks(rgb, text_height, boxes, settings)
    if not surgery:
        return marks, lines
    edits: dict[int, dict[int, str]] = {}
    for i, verdict in surgery.items():
        line, k = words[i]
        edits.setdefault(id(line), {})[k] = verdict
    kept: list[TextLine] = []
    for line in lines:
        edit = edits.get(id(line))
        if not edit:
            kept.append(line)
            continue
        rebuilt = _without_marks(line, edit, angle)
        if rebuilt is not None:
            kept.append(rebuilt)
    return marks, kept


def _without_marks(line: TextLine, edit: dict[int, str], angle: float) -> TextLine | None:
    """The line with its misread-mark words dropped or their first character trimmed."""
    words: list[TextWord] = []
    for k, word in enumerate(line.words):
        verdict = edit.get(k)
        if verdict == "drop":
            continue
        if verdict == "trim":
            rest = word.content[1:].lstrip()
            if not rest:
                continue
            cut = 1.0 - len(rest) / len(word.content)
            word = TextWord(rest, sub_quad(word.quad, cut, 1.0), word.confidence, 0)
        words.append(word)
    if not words:
        return None
    placed, offset = [], 0
    for word in words:
        placed.append(TextWord(word.content, word.quad, word.confidence, offset))
        offset += len(word.content) + 1
    quad = np.array(
        [placed[0].quad[0], placed[-1].quad[1], placed[-1].quad[2], placed[0].quad[3]],
        dtype=np.float32,
    )
    content = " ".join(w.content for w in placed)
    return TextLine(quad, content, placed, upright_box(quad, angle))


def _word_box(quad: np.ndarray) -> Box:
    return (
        float(quad[:, 0].min()),
        float(quad[:, 1].min()),
        float(quad[:, 0].max()),
        float(quad[:, 1].max()),
    )
