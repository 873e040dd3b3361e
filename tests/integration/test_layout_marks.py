"""Selection marks through `prebuilt-layout` on generated forms: check boxes and radio buttons
next to labels and in a table column, with known states and positions."""

from __future__ import annotations

import io
from typing import Any

import pytest

from batchinfer.inference.runtime import RuntimeSettings, SessionCache
from batchinfer.models.layout.pipeline import LayoutPipeline
from batchinfer.models.layout.synthetic import FormPage, TruthMark, make_form_page
from batchinfer.models.ocr.metrics import character_error_rate
from batchinfer.models.ocr.options import AnalyzeOptions
from tests.support.spans import MARK_TOKENS, assert_spans_hold, span_text

SEEDS = (3, 8)


@pytest.fixture(scope="module")
def forms() -> list[FormPage]:
    return [make_form_page(seed) for seed in SEEDS]


@pytest.fixture(scope="module")
def results(forms: list[FormPage]) -> dict[str, dict[str, Any]]:
    """Both forms as one two-page TIFF: page units are the drawn image's pixels, so positions
    compare directly with the truth."""
    pipeline = LayoutPipeline(SessionCache(RuntimeSettings()))
    buffer = io.BytesIO()
    forms[0].image.save(buffer, format="TIFF", save_all=True, append_images=[forms[1].image])
    return {
        fmt: pipeline.analyze(
            buffer.getvalue(), "forms.tif", AnalyzeOptions(content_format=fmt)
        ).to_json()
        for fmt in ("text", "markdown")
    }


def _match(truth: TruthMark, marks: list[dict[str, Any]]) -> dict[str, Any] | None:
    x0, y0, x1, y1 = truth.box
    for mark in marks:
        p = mark["polygon"]
        if max(abs(p[0] - x0), abs(p[1] - y0), abs(p[4] - x1), abs(p[5] - y1)) <= 3:
            return mark
    return None


@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_every_mark_is_found_with_its_state_and_no_false_ones(
    results: dict[str, dict[str, Any]], forms: list[FormPage], fmt: str
) -> None:
    body = results[fmt]
    for page, form in zip(body["pages"], forms, strict=True):
        marks = page["selectionMarks"]
        assert len(marks) == len(form.marks)  # letters O, D, 0, o and table grid cells: none
        for truth in form.marks:
            found = _match(truth, marks)
            assert found is not None, truth
            assert found["state"] == truth.state, truth
        assert {m["state"] for m in marks} == {"selected", "unselected"}


@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_marks_sit_in_content_before_their_labels(
    results: dict[str, dict[str, Any]], forms: list[FormPage], fmt: str
) -> None:
    body = results[fmt]
    content = body["content"]
    assert assert_spans_hold(body) > 50
    for page, form in zip(body["pages"], forms, strict=True):
        for truth in form.marks:
            found = _match(truth, page["selectionMarks"])
            assert found is not None
            span = found["span"]
            assert span_text(content, span) == MARK_TOKENS[fmt][truth.state]
            if truth.label:
                after = content[span["offset"] + span["length"] :]
                assert after.startswith(" ")
                label = after[1:].split("\n")[0][: len(truth.label)]
                assert character_error_rate(truth.label, label) <= 0.5, (truth.label, label)


def test_form_rows_read_as_one_line(results: dict[str, dict[str, Any]]) -> None:
    content = results["text"]["content"]
    line = next(ln for ln in content.split("\n") if ln.startswith("Preferred contact:"))
    assert line.count(":selected:") + line.count(":unselected:") == 3
    for label in ("Email", "Phone", "Post"):
        assert label in line


@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_table_cells_hold_their_marks(
    results: dict[str, dict[str, Any]], forms: list[FormPage], fmt: str
) -> None:
    body = results[fmt]
    assert len(body["tables"]) == len(forms)
    for table, form in zip(body["tables"], forms, strict=True):
        expected = [m.state for m in form.marks if m.in_table]
        column = [c for c in table["cells"] if c["columnIndex"] == 2 and c["rowIndex"] > 0]
        assert [c["content"] for c in column] == [MARK_TOKENS[fmt][s] for s in expected]
        assert [c["content"] for c in table["cells"] if c["rowIndex"] == 0] == [
            "Item",
            "Qty",
            "Approved",
            "Notes",
        ]


def test_markdown_renders_marks_as_ballot_boxes(results: dict[str, dict[str, Any]]) -> None:
    content = results["markdown"]["content"]
    assert "<td>☒</td>" in content or "<td>☐</td>" in content
    assert ":selected:" not in content and ":unselected:" not in content
    text = results["text"]["content"]
    assert "☒" not in text and "☐" not in text
