"""The Document Intelligence AnalyzeResult shape (v4, api-version 2024-11-30), as dataclasses.

Plain dataclasses inside, camelCase JSON outside: `to_json()` returns a JSON-ready dict so the
API layer can embed it in the `analyzeResult` envelope without re-mapping fields.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass, field
from typing import Any

API_VERSION = "2024-11-30"


@dataclass(frozen=True)
class Span:
    """A run of `content`: offsets count text elements (here: code points, see pipeline)."""

    offset: int
    length: int

    def to_json(self) -> dict[str, int]:
        return {"offset": self.offset, "length": self.length}


@dataclass
class Word:
    content: str
    polygon: list[float]
    confidence: float
    span: Span

    def to_json(self) -> dict[str, Any]:
        return {
            "content": self.content,
            "polygon": self.polygon,
            "confidence": self.confidence,
            "span": self.span.to_json(),
        }


@dataclass
class Line:
    content: str
    polygon: list[float]
    spans: list[Span]

    def to_json(self) -> dict[str, Any]:
        return {
            "content": self.content,
            "polygon": self.polygon,
            "spans": [s.to_json() for s in self.spans],
        }


@dataclass
class Barcode:
    """A barcode read on a page (`features=barcodes`); `span` points at its `:barcode:`
    placeholder in `content`, as the service writes it."""

    kind: str  # the service's DocumentBarcodeKind: QRCode, Code128, EAN13, ...
    value: str
    polygon: list[float]
    span: Span
    confidence: float

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "value": self.value,
            "polygon": self.polygon,
            "span": self.span.to_json(),
            "confidence": self.confidence,
        }


@dataclass
class SelectionMark:
    """A check box or radio button (`prebuilt-layout`); its span points at `:selected:` /
    `:unselected:` (markdown: `☒` / `☐`) in `content`."""

    state: str  # "selected" or "unselected"
    polygon: list[float]
    confidence: float
    span: Span

    def to_json(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "polygon": self.polygon,
            "confidence": self.confidence,
            "span": self.span.to_json(),
        }


@dataclass
class Page:
    page_number: int
    angle: float
    width: float
    height: float
    unit: str  # "pixel" for images, "inch" for PDF pages, as Document Intelligence reports
    words: list[Word] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    spans: list[Span] = field(default_factory=list)
    barcodes: list[Barcode] | None = None  # set (maybe empty) only with features=barcodes
    selection_marks: list[SelectionMark] | None = None  # None: the model finds none (read)

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "pageNumber": self.page_number,
            "angle": self.angle,
            "width": self.width,
            "height": self.height,
            "unit": self.unit,
            "words": [w.to_json() for w in self.words],
        }
        if self.selection_marks is not None:
            body["selectionMarks"] = [m.to_json() for m in self.selection_marks]
        body["lines"] = [ln.to_json() for ln in self.lines]
        body["spans"] = [s.to_json() for s in self.spans]
        if self.barcodes is not None:
            body["barcodes"] = [b.to_json() for b in self.barcodes]
        return body


@dataclass(frozen=True)
class BoundingRegion:
    page_number: int
    polygon: list[float]

    def to_json(self) -> dict[str, Any]:
        return {"pageNumber": self.page_number, "polygon": self.polygon}


def _regions(regions: list[BoundingRegion]) -> list[dict[str, Any]]:
    return [r.to_json() for r in regions]


def _spans(spans: list[Span]) -> list[dict[str, int]]:
    return [s.to_json() for s in spans]


@dataclass
class Paragraph:
    """A block of lines; `role` as the service names it (title, sectionHeading, pageHeader,
    pageFooter, pageNumber, footnote, formulaBlock), None for body text."""

    content: str
    spans: list[Span]
    bounding_regions: list[BoundingRegion]
    role: str | None = None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "spans": _spans(self.spans),
            "boundingRegions": _regions(self.bounding_regions),
            "content": self.content,
        }
        if self.role:
            body["role"] = self.role
        return body


@dataclass
class Caption:
    content: str
    spans: list[Span]
    bounding_regions: list[BoundingRegion]
    elements: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "content": self.content,
            "boundingRegions": _regions(self.bounding_regions),
            "spans": _spans(self.spans),
        }
        if self.elements:
            body["elements"] = self.elements
        return body


@dataclass
class TableCell:
    row_index: int
    column_index: int
    content: str
    spans: list[Span]
    bounding_regions: list[BoundingRegion]
    row_span: int = 1
    column_span: int = 1
    kind: str = "content"  # or columnHeader, rowHeader, stubHead, description

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if self.kind != "content":
            body["kind"] = self.kind
        body.update({"rowIndex": self.row_index, "columnIndex": self.column_index})
        if self.row_span != 1:
            body["rowSpan"] = self.row_span
        if self.column_span != 1:
            body["columnSpan"] = self.column_span
        body.update(
            {
                "content": self.content,
                "boundingRegions": _regions(self.bounding_regions),
                "spans": _spans(self.spans),
            }
        )
        return body


@dataclass
class Table:
    row_count: int
    column_count: int
    cells: list[TableCell]
    spans: list[Span]
    bounding_regions: list[BoundingRegion]
    caption: Caption | None = None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "rowCount": self.row_count,
            "columnCount": self.column_count,
            "cells": [c.to_json() for c in self.cells],
            "boundingRegions": _regions(self.bounding_regions),
            "spans": _spans(self.spans),
        }
        if self.caption is not None:
            body["caption"] = self.caption.to_json()
        return body


@dataclass
class Figure:
    id: str  # "<page>.<index on page>", as the service numbers figures
    spans: list[Span]
    bounding_regions: list[BoundingRegion]
    elements: list[str] = field(default_factory=list)
    caption: Caption | None = None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id,
            "boundingRegions": _regions(self.bounding_regions),
            "spans": _spans(self.spans),
        }
        if self.elements:
            body["elements"] = self.elements
        if self.caption is not None:
            body["caption"] = self.caption.to_json()
        return body


@dataclass
class Section:
    spans: list[Span]
    elements: list[str]

    def to_json(self) -> dict[str, Any]:
        return {"spans": _spans(self.spans), "elements": self.elements}


@dataclass
class AnalyzeResult:
    """The result; list fields left as None are omitted, as the service omits what a model
    does not produce (`prebuilt-read` has no tables, figures or sections)."""

    model_id: str
    content: str
    pages: list[Page]
    api_version: str = API_VERSION
    string_index_type: str = "textElements"
    content_format: str = "text"
    paragraphs: list[Paragraph] | None = None
    tables: list[Table] | None = None
    figures: list[Figure] | None = None
    sections: list[Section] | None = None
    styles: list[dict[str, Any]] | None = None
    languages: list[dict[str, Any]] | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict (not a string): the `analyzeResult` object of the REST response.

        Offsets are kept in code points inside; they are converted to the requested
        `stringIndexType` here, once, for every span in the result.
        """
        body: dict[str, Any] = {
            "apiVersion": self.api_version,
            "modelId": self.model_id,
            "stringIndexType": self.string_index_type,
            "content": self.content,
            "pages": [p.to_json() for p in self.pages],
        }
        for key, items in (
            ("paragraphs", self.paragraphs),
            ("tables", self.tables),
            ("figures", self.figures),
            ("sections", self.sections),
        ):
            if items is not None:
                body[key] = [item.to_json() for item in items]
        if self.styles is not None:
            body["styles"] = self.styles
        if self.languages is not None:
            body["languages"] = self.languages
        body["contentFormat"] = self.content_format
        if self.string_index_type != "unicodeCodePoint":
            reindex_spans(body, index_converter(self.content, self.string_index_type))
        return body

    def dumps(self) -> str:
        """`to_json()` serialised compactly, for blobs and HTTP bodies."""
        return json.dumps(self.to_json(), ensure_ascii=False, separators=(",", ":"))


def _joins_previous(char: str) -> bool:
    """Whether a code point continues the previous user-perceived character (grapheme)."""
    code = ord(char)
    return (
        unicodedata.combining(char) != 0
        or unicodedata.category(char) in ("Mn", "Me", "Mc")
        or code == 0x200D
        or 0xFE00 <= code <= 0xFE0F
        or 0x1F3FB <= code <= 0x1F3FF
    )


def index_converter(content: str, kind: str) -> list[int]:
    """Code-point offset → offset in `kind` units, for every offset 0..len(content).

    `utf16CodeUnit` counts surrogate pairs as two; `textElements` counts grapheme clusters
    (a base character with its combining marks, joiners and variation selectors is one).
    """
    table = [0] * (len(content) + 1)
    units = 0
    for i, char in enumerate(content):
        if kind == "utf16CodeUnit":
            table[i] = units
            units += 2 if ord(char) > 0xFFFF else 1
        else:
            joins = i > 0 and (_joins_previous(char) or content[i - 1] == "\u200d")
            table[i] = units - 1 if joins else units
            units += 0 if joins else 1
    table[len(content)] = units
    return table


def reindex_spans(node: Any, table: list[int]) -> None:
    """Rewrite every `span`/`spans` entry of a result body in place through `table`."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "span" and isinstance(value, dict):
                _convert(value, table)
            elif key == "spans" and isinstance(value, list):
                for span in value:
                    _convert(span, table)
            else:
                reindex_spans(value, table)
    elif isinstance(node, list):
        for item in node:
            reindex_spans(item, table)


def _convert(span: dict[str, int], table: list[int]) -> None:
    start, end = span["offset"], span["offset"] + span["length"]
    last = len(table) - 1
    span["offset"] = table[min(start, last)]
    span["length"] = table[min(end, last)] - span["offset"]
