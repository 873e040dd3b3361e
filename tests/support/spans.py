"""Checks that every span of an AnalyzeResult body points at its element's own text."""

from __future__ import annotations

from typing import Any

MARK_TOKENS = {
    "text": {"selected": ":selected:", "unselected": ":unselected:"},
    "markdown": {"selected": "☒", "unselected": "☐"},
}


def span_text(content: str, span: dict[str, int]) -> str:
    return content[span["offset"] : span["offset"] + span["length"]]


def assert_spans_hold(body: dict[str, Any]) -> int:
    """Assert every line, word, selection mark, paragraph, cell and caption span holds its
    element's text (code-point offsets); returns how many elements were checked."""
    content = body["content"]
    tokens = MARK_TOKENS[body.get("contentFormat", "text")]
    checked = 0
    for page in body["pages"]:
        for line in page["lines"]:
            assert [span_text(content, s) for s in line["spans"]] == [line["content"]]
            checked += 1
        for word in page["words"]:
            assert span_text(content, word["span"]) == word["content"]
            assert word["content"] not in tokens.values()  # marks are not words
            checked += 1
        for mark in page.get("selectionMarks", []):
            assert mark["state"] in tokens
            assert span_text(content, mark["span"]) == tokens[mark["state"]]
            assert 0 < mark["confidence"] <= 1 and len(mark["polygon"]) == 8
            checked += 1
        if page["spans"]:
            (span,) = page["spans"]
            assert span["offset"] + span["length"] <= len(content)
    for paragraph in body.get("paragraphs", []):
        assert "".join(span_text(content, s) for s in paragraph["spans"]) == paragraph["content"]
        checked += 1
    for table in body.get("tables", []):
        for cell in table["cells"]:
            assert "".join(span_text(content, s) for s in cell["spans"]) == cell["content"]
            checked += 1
    for element in body.get("tables", []) + body.get("figures", []):
        caption = element.get("caption")
        if caption:
            assert "".join(span_text(content, s) for s in caption["spans"]) == caption["content"]
    for section in body.get("sections", []):
        for span in section["spans"]:
            assert span["offset"] >= 0 and span["offset"] + span["length"] <= len(content)
    return checked
