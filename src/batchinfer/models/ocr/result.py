"""The Document Intelligence AnalyzeResult shape (v4, api-version 2024-11-30), as dataclasses.

Plain dataclasses inside, camelCase JSON outside: `to_json()` returns a JSON-ready dict so the
API layer can embed it in the `analyzeResult` envelope without re-mapping fields.
"""
from __future__ import annotations

import json
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
        return {"content": self.content, "polygon": self.polygon,
                "confidence": self.confidence, "span": self.span.to_json()}


@dataclass
class Line:
    content: str
    polygon: list[float]
    spans: list[Span]

    def to_json(self) -> dict[str, Any]:
        return {"content": self.content, "polygon": self.polygon,
                "spans": [s.to_json() for s in self.spans]}


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

    def to_json(self) -> dict[str, Any]:
        return {"pageNumber": self.page_number, "angle": self.angle, "width": self.width,
                "height": self.height, "unit": self.unit,
                "words": [w.to_json() for w in self.words],
                "lines": [ln.to_json() for ln in self.lines],
                "spans": [s.to_json() for s in self.spans]}


@dataclass
class AnalyzeResult:
    model_id: str
    content: str
    pages: list[Page]
    api_version: str = API_VERSION
    string_index_type: str = "textElements"

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict (not a string): the `analyzeResult` object of the REST response."""
        return {"apiVersion": self.api_version, "modelId": self.model_id,
                "stringIndexType": self.string_index_type, "content": self.content,
                "pages": [p.to_json() for p in self.pages]}

    def dumps(self) -> str:
        """`to_json()` serialised compactly, for blobs and HTTP bodies."""
        return json.dumps(self.to_json(), ensure_ascii=False, separators=(",", ":"))
