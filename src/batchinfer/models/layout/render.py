"""Blocks → `content` (text or the service's markdown flavour) and the result's elements.

Text: every line on its own line, elements one after another (as the service writes text).
Markdown, as the service renders it: `# ` title, `## ` section headings, paragraphs separated
by blank lines, tables as HTML (`<table>`, `<caption>`, `<th>`/`<td>` with `rowspan` and
`colspan`), figures as `<figure>` with `<figcaption>`, page headers, footers and numbers as
`<!-- PageHeader="..." -->` comments and `<!-- PageBreak -->` between pages.

Every span points at exactly its element's text: `content[offset:offset+length]` equals the
paragraph's, cell's, caption's, line's or word's `content` (markup is outside the spans);
tables and figures span their whole rendering, markup included.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from batchinfer.models.layout.blocks import (
    Block,
    FigureBlock,
    ParagraphBlock,
    TableBlock,
    cell_kind,
    union,
)
from batchinfer.models.layout.marks import Mark
from batchinfer.models.layout.placement import MARKDOWN_TOKENS, TEXT_TOKENS, with_tokens
from batchinfer.models.ocr.layout import ContentWriter, TextLine, rect_polygon
from batchinfer.models.ocr.pipeline import PageFrame, write_paragraph
from batchinfer.models.ocr.result import (
    BoundingRegion,
    Caption,
    Figure,
    Page,
    Paragraph,
    Section,
    SelectionMark,
    Span,
    Table,
    TableCell,
)

HEADINGS = {"title": "# ", "sectionHeading": "## "}
COMMENTS = {"pageHeader": "PageHeader", "pageFooter": "PageFooter", "pageNumber": "PageNumber"}
FURNITURE = frozenset(COMMENTS)  # page furniture stays out of sections, as in the service


@dataclass
class DocumentBuilder:
    """Accumulates the whole document's elements while pages are written in order."""

    markdown: bool
    writer: ContentWriter = field(init=False)
    paragraphs: list[Paragraph] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    # (element pointer, role or None, spans) in content order, for sections
    order: list[tuple[str, str | None, list[Span]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.writer = ContentWriter("\n\n" if self.markdown else "\n")
        self.tokens = MARKDOWN_TOKENS if self.markdown else TEXT_TOKENS

    # ------------------------------------------------------------ selection marks

    def _with_tokens(
        self, lines: list[TextLine]
    ) -> tuple[list[TextLine], list[tuple[int, int, Mark]]]:
        """Lines as written (mark tokens among the words), and (line index, offset in the
        line, mark) for each mark, to place once the lines' offsets are known."""
        written: list[TextLine] = []
        pending: list[tuple[int, int, Mark]] = []
        for k, line in enumerate(lines):
            out, offsets = with_tokens(line, self.tokens)
            written.append(out)
            pending.extend((k, offset, mark) for offset, mark in offsets)
        return written, pending

    def _record_marks(
        self, page: Page, first_line: int, pending: list[tuple[int, int, Mark]], frame: PageFrame
    ) -> None:
        """Add the marks of lines just written (from `page.lines[first_line]`) to the page."""
        if page.selection_marks is None:
            page.selection_marks = []
        for k, offset, mark in pending:
            start = page.lines[first_line + k].spans[0].offset + offset
            page.selection_marks.append(
                SelectionMark(
                    mark.state,
                    rect_polygon(mark.box, frame.scale, frame.digits),
                    mark.confidence,
                    Span(start, len(self.tokens[mark.state])),
                )
            )

    # ------------------------------------------------------------------ pages

    def write_page(self, page: Page, blocks: list[Block], frame: PageFrame) -> None:
        start = None
        if self.markdown and self.writer.length:
            self.writer.element_break()
            self.writer.write("<!-- PageBreak -->")
        figures_on_page = 0
        for block in blocks:
            self.writer.element_break()
            begin = self.writer.length
            if isinstance(block, ParagraphBlock):
                self._paragraph(page, block, frame)
            elif isinstance(block, TableBlock):
                self._table(page, block, frame)
            else:
                figures_on_page += 1
                self._figure(page, block, frame, f"{page.page_number}.{figures_on_page}")
            start = begin if start is None else start
        if start is not None:
            page.spans.append(Span(start, self.writer.length - start))

    # --------------------------------------------------------------- elements

    def _paragraph(
        self, page: Page, block: ParagraphBlock, frame: PageFrame, record: bool = True
    ) -> int:
        writer = self.writer
        comment = COMMENTS.get(block.role or "") if self.markdown else None
        if self.markdown:
            writer.write(HEADINGS.get(block.role or "", "") if not comment else f'<!-- {comment}="')
        lines, pending = self._with_tokens(block.lines)
        first_line = len(page.lines)
        paragraph = write_paragraph(
            writer, page, lines, frame, block.role, escape=self.markdown and not comment
        )
        self._record_marks(page, first_line, pending, frame)
        if comment:
            writer.write('" -->')
        self.paragraphs.append(paragraph)
        index = len(self.paragraphs) - 1
        if record:
            self.order.append((f"/paragraphs/{index}", block.role, list(paragraph.spans)))
        return index

    def _caption(self, page: Page, block: ParagraphBlock, frame: PageFrame) -> Caption:
        index = self._paragraph(page, block, frame, record=False)
        paragraph = self.paragraphs[index]
        return Caption(
            paragraph.content,
            list(paragraph.spans),
            list(paragraph.bounding_regions),
            [f"/paragraphs/{index}"],
        )

    def _region(
        self, page: Page, box: tuple[float, float, float, float], frame: PageFrame
    ) -> BoundingRegion:
        return BoundingRegion(page.page_number, rect_polygon(box, frame.scale, frame.digits))

    def _table(self, page: Page, block: TableBlock, frame: PageFrame) -> None:
        writer, md = self.writer, self.markdown
        start = writer.length
        caption = None
        if md:
            writer.write("<table>\n")
            if block.caption is not None:
                writer.write("<caption>")
                caption = self._caption(page, block.caption, frame)
                writer.write("</caption>\n")
        elif block.caption is not None:
            caption = self._caption(page, block.caption, frame)
            writer.write("\n")
        cells: list[TableCell] = []
        by_row: dict[int, list[int]] = {}
        for k, cell in enumerate(block.structure.cells):
            by_row.setdefault(cell.row, []).append(k)
        first_cell = True
        for row in sorted(by_row):
            if md:
                writer.write("<tr>\n")
            for k in sorted(by_row[row], key=lambda i: block.structure.cells[i].column):
                cell = block.structure.cells[k]
                lines, pending = self._with_tokens(block.cell_lines[k])
                tag = "th" if cell.header else "td"
                if md:
                    attrs = (f' rowspan="{cell.row_span}"' if cell.row_span > 1 else "") + (
                        f' colspan="{cell.column_span}"' if cell.column_span > 1 else ""
                    )
                    writer.write(f"<{tag}{attrs}>")
                elif lines and not first_cell:
                    writer.write("\n")
                spans: list[Span] = []
                if lines:
                    first_line = len(page.lines)
                    spans = [writer.lines(lines, page, frame.scale, frame.digits)]
                    self._record_marks(page, first_line, pending, frame)
                    first_cell = False
                if md:
                    writer.write(f"</{tag}>\n")
                box = union([ln.box for ln in lines]) if lines else cell.box
                cells.append(
                    TableCell(
                        cell.row,
                        cell.column,
                        "\n".join(ln.content for ln in lines),
                        spans,
                        [
                            self._region(
                                page, cell.box if not lines else union([cell.box, box]), frame
                            )
                        ],
                        cell.row_span,
                        cell.column_span,
                        cell_kind(cell),
                    )
                )
            if md:
                writer.write("</tr>\n")
        if md:
            writer.write("</table>")
        table = Table(
            block.structure.rows,
            block.structure.columns,
            cells,
            [Span(start, writer.length - start)],
            [self._region(page, block.box, frame)],
            caption,
        )
        self.tables.append(table)
        self.order.append((f"/tables/{len(self.tables) - 1}", None, list(table.spans)))

    def _figure(self, page: Page, block: FigureBlock, frame: PageFrame, figure_id: str) -> None:
        writer, md = self.writer, self.markdown
        start = writer.length
        caption = None
        elements: list[str] = []
        if md:
            writer.write("<figure>\n")
            if block.caption is not None:
                writer.write("<figcaption>")
                caption = self._caption(page, block.caption, frame)
                writer.write("</figcaption>\n")
        elif block.caption is not None:
            caption = self._caption(page, block.caption, frame)
        for paragraph in block.paragraphs:
            if writer.length > start and writer.last != "\n":
                writer.write("\n")
            elements.append(f"/paragraphs/{self._paragraph(page, paragraph, frame, False)}")
        if md:
            if writer.last != "\n":
                writer.write("\n")
            writer.write("</figure>")
        figure = Figure(
            figure_id,
            [Span(start, writer.length - start)],
            [self._region(page, block.box, frame)],
            elements,
            caption,
        )
        self.figures.append(figure)
        self.order.append((f"/figures/{len(self.figures) - 1}", None, list(figure.spans)))

    # --------------------------------------------------------------- sections

    def sections(self) -> list[Section]:
        """A root section, and one per heading holding what follows it up to the next one."""
        root_elements: list[str] = []
        root_spans: list[Span] = []
        sections: list[Section] = [Section([], root_elements)]
        current: Section | None = None
        for pointer, role, spans in self.order:
            if role in FURNITURE:
                continue
            root_spans.extend(spans)
            if role == "sectionHeading":
                current = Section([], [pointer])
                sections.append(current)
                root_elements.append(f"/sections/{len(sections) - 1}")
                current.spans.extend(spans)
            elif current is not None:
                current.elements.append(pointer)
                current.spans.extend(spans)
            else:
                root_elements.append(pointer)
        if not root_elements:
            return []
        text = self.writer.text
        for section in sections:
            section.spans[:] = _merge(
                section.spans if section is not sections[0] else root_spans, text
            )
        return sections


def _merge(spans: list[Span], text: str) -> list[Span]:
    """Adjacent spans (only whitespace between) joined into one."""
    merged: list[Span] = []
    for span in sorted(spans, key=lambda s: s.offset):
        if merged:
            last = merged[-1]
            end = last.offset + last.length
            if not text[end : span.offset].strip():
                merged[-1] = Span(last.offset, max(end, span.offset + span.length) - last.offset)
                continue
        merged.append(span)
    return merged
