"""One page's lines and regions → blocks (paragraphs with roles, tables, figures) in reading
order.

The region model says where tables and figures are and hints at roles; our own geometry does
the rest, because a detector trained on one corpus (CDLA: Chinese papers) misses or mislabels
some headings on others:
- tables: lines inside a table region are split into words and each word goes to the nearest
  cell the table model found, so a line the text detector ran across a cell border still lands
  in the right cells;
- figures: lines inside a figure region are its own text; the nearest short paragraph just
  below (or above) it, or one labelled as a caption, is its caption (tables likewise, above);
- paragraphs: the remaining lines are grouped by `reading.group_paragraphs`;
- roles: region labels (title, header, footer, equation) and font size (average character
  advance) and position (a short line in a much larger font than body text is a heading, the
  largest near the top of the first page the title; short text in the top or bottom margin a
  page header or footer, a bare number there a page number; small text low on the page under
  the body a footnote);
- order: recursive XY-cut over the blocks (`reading.xy_cut_order`), so columns read whole.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from batchinfer.models.layout.marks import Mark
from batchinfer.models.layout.placement import attach, is_mark_only, text_box
from batchinfer.models.layout.regions import Region
from batchinfer.models.layout.tables import CellBox, TableStructure
from batchinfer.models.ocr.layout import TextLine, split_line
from batchinfer.models.ocr.reading import Box, group_paragraphs, xy_cut_order

PAGE_NUMBER = re.compile(
    r"^(page\s*)?\d{1,4}(\s*(of|/)\s*\d{1,4})?$|^-\s*\d{1,4}\s*-$", re.IGNORECASE
)
CAPTION = re.compile(r"^(fig(ure)?|table|chart|diagram|image|exhibit)\.?\s*\d", re.IGNORECASE)


@dataclass
class ParagraphBlock:
    lines: list[TextLine]
    role: str | None = None

    @property
    def box(self) -> Box:
        return union([ln.box for ln in self.lines])


@dataclass
class TableBlock:
    structure: TableStructure
    cell_lines: list[list[TextLine]]  # per structure cell, in reading order
    box: Box
    caption: ParagraphBlock | None = None


@dataclass
class FigureBlock:
    box: Box
    paragraphs: list[ParagraphBlock] = field(default_factory=list)
    caption: ParagraphBlock | None = None


Block = ParagraphBlock | TableBlock | FigureBlock


def union(boxes: list[Box]) -> Box:
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def _centre_in(box: Box, region: Box, pad: float = 0.0) -> bool:
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    return (region[0] - pad <= cx <= region[2] + pad) and (region[1] - pad <= cy <= region[3] + pad)


def _overlap(a: Box, b: Box) -> float:
    """Intersection area over the area of `a`."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    area = max((a[2] - a[0]) * (a[3] - a[1]), 1e-6)
    return max(w, 0) * max(h, 0) / area


def _distance(box: Box, cell: Box) -> float:
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    dx = max(cell[0] - cx, 0, cx - cell[2])
    dy = max(cell[1] - cy, 0, cy - cell[3])
    return float(np.hypot(dx, dy * 2.0))  # rows are tight: being off vertically costs more


def fill_table(
    structure: TableStructure, lines: list[TextLine], angle: float
) -> list[list[TextLine]]:
    """Words of the table's lines → the nearest cell; per cell, its lines in reading order."""
    per_cell: list[list[TextLine]] = [[] for _ in structure.cells]
    for line in lines:
        groups: dict[int, list[int]] = {}
        for k, word in enumerate(line.words):
            xs, ys = word.quad[:, 0], word.quad[:, 1]
            wbox = (float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max()))
            best = min(
                range(len(structure.cells)), key=lambda c: _distance(wbox, structure.cells[c].box)
            )
            groups.setdefault(best, []).append(k)
        cells = list(groups)
        parts = split_line(line, [groups[c] for c in cells], angle)
        for cell, part in zip(cells, parts, strict=False):
            per_cell[cell].append(part)
    for cell_lines in per_cell:
        cell_lines.sort(key=lambda ln: (ln.box[1], ln.box[0]))
    return per_cell


def plan_page(
    lines: list[TextLine],
    regions: list[Region],
    tables: dict[int, TableStructure],
    page_height: float,
    angle: float,
    first_page: bool,
    marks: Sequence[Mark] = (),
) -> list[Block]:
    """Blocks of one page in reading order. `tables` maps region index → its structure;
    selection `marks` are folded into the lines (or table cells) they belong to."""
    body, size = body_height(lines), _body_size(lines)
    in_table: dict[int, list[Mark]] = {}
    free: list[Mark] = []
    for mark in marks:
        index = next((i for i in tables if _centre_in(mark.box, regions[i].box, pad=2.0)), None)
        (in_table.setdefault(index, []) if index is not None else free).append(mark)
    tabled = [ln for ln in lines if any(_centre_in(ln.box, regions[i].box, 2.0) for i in tables)]
    taken_by_tables = {id(ln) for ln in tabled}
    remaining = tabled + attach([ln for ln in lines if id(ln) not in taken_by_tables], free)
    blocks: list[Block] = []
    for index, region in enumerate(regions):
        if region.label not in ("table", "figure"):
            continue
        inside = [ln for ln in remaining if _centre_in(ln.box, region.box, pad=2.0)]
        if region.label == "table" and index in tables:
            structure = tables[index]
            cells = fill_table(structure, inside, angle)
            _place_cell_marks(structure, cells, in_table.get(index, []))
            blocks.append(TableBlock(structure, cells, region.box))
        elif region.label == "figure":
            blocks.append(FigureBlock(region.box, _paragraphs(inside)))
        else:
            continue  # a table the structure model could not read: its lines stay text
        taken = {id(ln) for ln in inside}
        remaining = [ln for ln in remaining if id(ln) not in taken]
    paragraphs = _paragraphs(remaining)
    for paragraph in paragraphs:
        paragraph.role = _role(paragraph, regions, size, page_height)
    _attach_captions(blocks, paragraphs, regions, body)
    captions = {id(b.caption) for b in blocks if not isinstance(b, ParagraphBlock) and b.caption}
    blocks.extend(p for p in paragraphs if id(p) not in captions)
    _promote_title(blocks, size, page_height, first_page)
    boxes = [_block_box(b) for b in blocks]
    gap = max(8.0, 0.8 * body)
    return [blocks[i] for i in xy_cut_order(boxes, gap)]


def _place_cell_marks(
    structure: TableStructure, cells: list[list[TextLine]], marks: list[Mark]
) -> None:
    """Each mark in a table goes to its nearest cell, into that cell's line on its row."""
    if not structure.cells:
        return
    per_cell: dict[int, list[Mark]] = {}
    for mark in marks:
        best = min(
            range(len(structure.cells)), key=lambda c: _distance(mark.box, structure.cells[c].box)
        )
        per_cell.setdefault(best, []).append(mark)
    for c, extra in per_cell.items():
        cells[c] = sorted(attach(cells[c], extra), key=lambda ln: (ln.box[1], ln.box[0]))


def _block_box(block: Block) -> Box:
    if isinstance(block, ParagraphBlock):
        return block.box
    boxes = [block.box] + ([block.caption.box] if block.caption else [])
    return union(boxes)


def _paragraphs(lines: list[TextLine]) -> list[ParagraphBlock]:
    if not lines:
        return []
    boxes = [ln.box for ln in lines]
    gap = max(8.0, 0.8 * float(np.median([ln.height for ln in lines])))
    order = xy_cut_order(boxes, gap)
    return [ParagraphBlock([lines[i] for i in group]) for group in group_paragraphs(boxes, order)]


def font_size(line: TextLine) -> float:
    """Average character advance: a font-size proxy that, unlike box height, does not change
    with descenders or with how tightly the detector framed a large line."""
    box = text_box(line) or line.box  # a marked line's own box also holds its marks
    return (box[2] - box[0]) / max(len(line.content), 1)


def _size(paragraph: ParagraphBlock) -> float:
    sizes = [font_size(ln) for ln in paragraph.lines if ln.content]
    return float(np.median(sizes)) if sizes else 0.0


def body_height(lines: list[TextLine]) -> float:
    """The most common line height (body text), by character-weighted median."""
    if not lines:
        return 20.0
    heights = np.repeat([ln.height for ln in lines], [max(1, len(ln.content)) for ln in lines])
    return float(np.median(heights))


def _body_size(lines: list[TextLine]) -> float:
    """Body text's font size (`font_size`), by character-weighted median."""
    if not lines:
        return 10.0
    sizes = np.repeat([font_size(ln) for ln in lines], [max(1, len(ln.content)) for ln in lines])
    return float(np.median(sizes))


def _role(
    paragraph: ParagraphBlock, regions: list[Region], body: float, page_height: float
) -> str | None:
    if all(is_mark_only(ln) for ln in paragraph.lines):
        return None  # selection marks alone: body content
    box = paragraph.box
    text = " ".join(ln.content for ln in paragraph.lines).strip()
    size = _size(paragraph)
    label = max(
        ((r.label, _overlap(box, r.box)) for r in regions if r.label not in ("table", "figure")),
        key=lambda t: t[1],
        default=(None, 0.0),
    )
    region = label[0] if label[1] >= 0.5 else None
    short = len(paragraph.lines) <= 2 and len(text) <= 120
    in_top = box[3] <= 0.07 * page_height
    in_bottom = box[1] >= 0.93 * page_height
    if short and (in_bottom or region == "footer") and PAGE_NUMBER.match(text):
        return "pageNumber"
    if short and (in_top or (region == "header" and box[3] <= 0.15 * page_height)):
        return "pageNumber" if PAGE_NUMBER.match(text) else "pageHeader"
    if short and (in_bottom or (region == "footer" and box[1] >= 0.85 * page_height)):
        return "pageFooter"
    if region == "equation":
        return "formulaBlock"
    titled = any(r.label == "title" and _overlap(box, r.box) >= 0.5 for r in regions)
    heading_like = len(paragraph.lines) == 1 and len(text) <= 80 and not text.endswith(".")
    if len(paragraph.lines) <= 3 and (
        (titled and heading_like) or size >= 1.5 * body or (heading_like and size >= 1.2 * body)
    ):
        return "sectionHeading"
    if size <= 0.85 * body and box[1] >= 0.75 * page_height:
        return "footnote"
    return None


def _promote_title(blocks: list[Block], body: float, page_height: float, first_page: bool) -> None:
    """The largest heading near the top of the first page is the document's title, when it
    stands out from the other headings (or from body text, if it is the only one)."""
    if not first_page:
        return
    headings = [b for b in blocks if isinstance(b, ParagraphBlock) and b.role == "sectionHeading"]
    top = [b for b in headings if b.box[1] <= page_height / 3]
    if not top:
        return
    largest = max(top, key=_size)
    others = [_size(b) for b in headings if b is not largest]
    if (others and _size(largest) >= 1.15 * max(others)) or (
        not others and _size(largest) >= 1.8 * body
    ):
        largest.role = "title"


def _caption_kind(paragraph: ParagraphBlock, regions: list[Region]) -> str | None:
    """ "table" or "figure" when the paragraph reads or is labelled as that kind of caption."""
    match = CAPTION.match(paragraph.lines[0].content)
    if match:  # the words say it more reliably than the detector's caption classes
        return "table" if match.group(1).lower() == "table" else "figure"
    labelled = [
        r
        for r in regions
        if r.label in ("figure_caption", "table_caption") and _overlap(paragraph.box, r.box) >= 0.5
    ]
    if labelled:
        return max(labelled, key=lambda r: r.score).label.split("_")[0]
    return None


def _attach_captions(
    blocks: list[Block], paragraphs: list[ParagraphBlock], regions: list[Region], body: float
) -> None:
    """Give each table and figure the caption paragraph of its kind next to it, if any.

    A figure whose own text ends (or starts) with a caption line, because the detector drew
    the figure region around its caption, gets that paragraph as its caption instead.
    """
    used: set[int] = set()
    for block in blocks:
        if isinstance(block, FigureBlock) and block.paragraphs:
            for candidate in (block.paragraphs[-1], block.paragraphs[0]):
                if len(candidate.lines) <= 3 and CAPTION.match(candidate.lines[0].content):
                    block.caption = candidate
                    block.paragraphs.remove(candidate)
                    break
    for block in blocks:
        if isinstance(block, ParagraphBlock) or block.caption is not None:
            continue
        kind = "table" if isinstance(block, TableBlock) else "figure"
        best, best_gap = None, 3.0 * body
        for paragraph in paragraphs:
            if id(paragraph) in used or paragraph.role is not None or len(paragraph.lines) > 3:
                continue
            if _caption_kind(paragraph, regions) != kind:
                continue
            box = paragraph.box
            across = min(box[2], block.box[2]) - max(box[0], block.box[0])
            if across <= 0:
                continue
            gap = max(box[1] - block.box[3], block.box[1] - box[3])
            if -body <= gap < best_gap:
                best, best_gap = paragraph, gap
        if best is not None:
            block.caption = best
            used.add(id(best))


def cell_kind(cell: CellBox) -> str:
    return "columnHeader" if cell.header else "content"
