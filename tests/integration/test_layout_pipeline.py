"""`prebuilt-layout` on generated pages with known structure: spans, roles, tables, figures,
sections, reading order across columns, text and markdown."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest

from batchinfer.inference.runtime import RuntimeSettings, SessionCache
from batchinfer.models.layout.pipeline import LayoutPipeline
from batchinfer.models.layout.synthetic import SyntheticPage, make_page
from batchinfer.models.ocr.metrics import character_error_rate
from batchinfer.models.ocr.options import AnalyzeOptions, parse_pages
from tests.support.spans import assert_spans_hold

PAGES = 2


@pytest.fixture(scope="module")
def truth() -> list[SyntheticPage]:
    return [make_page(seed=21 + n, number=n + 1) for n in range(PAGES)]


@pytest.fixture(scope="module")
def pdf(truth: list[SyntheticPage]) -> bytes:
    buffer = io.BytesIO()
    truth[0].image.save(
        buffer,
        format="PDF",
        resolution=150.0,
        save_all=True,
        append_images=[p.image for p in truth[1:]],
    )
    return buffer.getvalue()


@pytest.fixture(scope="module")
def pipeline() -> LayoutPipeline:
    return LayoutPipeline(SessionCache(RuntimeSettings()))


@pytest.fixture(scope="module")
def results(pipeline: LayoutPipeline, pdf: bytes) -> dict[str, dict[str, Any]]:
    return {
        fmt: pipeline.analyze(pdf, "doc.pdf", AnalyzeOptions(content_format=fmt)).to_json()
        for fmt in ("text", "markdown")
    }


def _close(a: str, b: str, bound: float = 0.1) -> bool:
    return character_error_rate(a, b) <= bound


@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_every_span_holds_its_elements_text(results: dict[str, dict[str, Any]], fmt: str) -> None:
    body = results[fmt]
    assert body["contentFormat"] == fmt and body["modelId"] == "prebuilt-layout"
    assert assert_spans_hold(body) > 200


def test_no_selection_marks_on_pages_without_them(results: dict[str, dict[str, Any]]) -> None:
    """Ruled tables, figure frames and bars, and letters are not check boxes."""
    for body in results.values():
        assert [p["selectionMarks"] for p in body["pages"]] == [[]] * PAGES
        assert ":selected:" not in body["content"] and ":unselected:" not in body["content"]
        assert "☒" not in body["content"] and "☐" not in body["content"]


def test_roles_match_the_generated_pages(
    results: dict[str, dict[str, Any]], truth: list[SyntheticPage]
) -> None:
    paragraphs = results["text"]["paragraphs"]
    expected = [(p.role, p.text) for page in truth for p in page.paragraphs if p.role]
    for n, (role, text) in enumerate(expected):
        if role == "title" and n > 0 and any(r == "title" for r, _ in expected[:n]):
            role = "sectionHeading"  # one title per document; later ones are headings
        assert any(p.get("role") == role and _close(text, p["content"]) for p in paragraphs), (
            role,
            text,
            [(p.get("role"), p["content"][:40]) for p in paragraphs],
        )
    assert sum(p.get("role") == "title" for p in paragraphs) <= 1
    body = [p for p in paragraphs if not p.get("role")]
    assert body and all("\n" in p["content"] or len(p["content"]) < 60 for p in body)


def test_tables_have_their_cells_and_the_merged_cell(
    results: dict[str, dict[str, Any]], truth: list[SyntheticPage]
) -> None:
    tables = results["text"]["tables"]
    assert len(tables) == PAGES
    for table, page in zip(tables, truth, strict=True):
        (expected,) = page.tables
        assert (table["rowCount"], table["columnCount"]) == (expected.rows, expected.columns)
        got = {(c["rowIndex"], c["columnIndex"]): c for c in table["cells"]}
        right = 0
        for cell in expected.cells:
            found = got.get((cell.row, cell.column))
            if (
                found
                and _close(cell.text, found["content"], 0.2)
                and found.get("columnSpan", 1) == cell.column_span
            ):
                right += 1
        assert right >= 0.9 * len(expected.cells), table["cells"]
        merged = [c for c in table["cells"] if c.get("columnSpan") == 2]
        assert len(merged) == 1
        assert all(c.get("kind") == "columnHeader" for c in table["cells"] if c["rowIndex"] == 0)


def test_figures_have_captions(
    results: dict[str, dict[str, Any]], truth: list[SyntheticPage]
) -> None:
    figures = results["text"]["figures"]
    assert [f["id"] for f in figures] == [f"{n + 1}.1" for n in range(PAGES)]
    for figure, page in zip(figures, truth, strict=True):
        (expected,) = [e for e in page.elements if e.kind == "figure"]
        assert _close(expected.caption, figure["caption"]["content"])
        x0, y0, x1, y1 = (v / 150 for v in expected.box)  # inches on a 150 dpi PDF page
        polygon = figure["boundingRegions"][0]["polygon"]
        assert abs(polygon[0] - x0) < 0.3 and abs(polygon[1] - y0) < 0.3
        assert abs(polygon[4] - x1) < 0.3 and abs(polygon[5] - y1) < 0.3


def test_columns_read_whole_in_order(
    results: dict[str, dict[str, Any]], truth: list[SyntheticPage]
) -> None:
    content = results["text"]["content"]
    positions = []
    for page in truth:
        for paragraph in page.paragraphs:
            first_line = paragraph.text.split("\n")[0]
            match = [m.start() for m in re.finditer(re.escape(first_line[:25]), content)]
            if match:
                positions.append(match[0])
    assert len(positions) >= 0.8 * sum(len(p.paragraphs) for p in truth)
    assert positions == sorted(positions)


def test_sections_nest_headings_and_their_content(results: dict[str, dict[str, Any]]) -> None:
    body = results["text"]
    sections = body["sections"]
    assert sections and sections[0]["elements"]
    for section in sections:
        for pointer in section["elements"]:
            kind, index = pointer.strip("/").split("/")
            assert int(index) < len(body[kind])
    headings = [i for i, p in enumerate(body["paragraphs"]) if p.get("role") == "sectionHeading"]
    assert [s["elements"][0] for s in sections[1:]] == [f"/paragraphs/{i}" for i in headings]


def test_markdown_renders_headings_tables_figures_and_page_furniture(
    results: dict[str, dict[str, Any]],
) -> None:
    content = results["markdown"]["content"]
    assert re.search(r"^# \S", content, re.MULTILINE)
    assert re.search(r"^## \S", content, re.MULTILINE)
    assert content.count("<table>") == PAGES and content.count("</table>") == PAGES
    assert '<td colspan="2">' in content and "<th>" in content
    assert content.count("<figure>") == PAGES and "<figcaption>" in content
    assert content.count("<!-- PageBreak -->") == PAGES - 1
    assert '<!-- PageHeader="Contoso' in content
    assert '<!-- PageNumber="Page 1" -->' in content
    text = results["text"]["content"]
    assert "<" not in text and "#" not in text


def test_pages_option_selects_pages(pipeline: LayoutPipeline, pdf: bytes) -> None:
    body = pipeline.analyze(pdf, "doc.pdf", AnalyzeOptions(pages=parse_pages("2"))).to_json()
    assert [p["pageNumber"] for p in body["pages"]] == [2]
    assert [f["id"] for f in body["figures"]] == ["2.1"]
    assert body["tables"][0]["boundingRegions"][0]["pageNumber"] == 2
