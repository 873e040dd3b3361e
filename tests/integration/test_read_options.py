"""`prebuilt-read` honours `pages`, `ocrHighResolution` and `stringIndexType`."""

from __future__ import annotations

import pytest

from batchinfer.inference.runtime import RuntimeSettings, SessionCache
from batchinfer.models.ocr.errors import InvalidPagesError
from batchinfer.models.ocr.metrics import character_error_rate
from batchinfer.models.ocr.options import AnalyzeOptions, parse_pages
from batchinfer.models.ocr.pipeline import OcrPipeline
from batchinfer.samples import SampleDoc, generate_sample_documents


@pytest.fixture(scope="module")
def pdf(tmp_path_factory: pytest.TempPathFactory) -> SampleDoc:
    docs = generate_sample_documents(tmp_path_factory.mktemp("read-options"))
    (doc,) = [d for d in docs if d.format == "pdf"]
    assert len(doc.pages) == 3
    return doc


@pytest.fixture(scope="module")
def pipeline() -> OcrPipeline:
    return OcrPipeline(SessionCache(RuntimeSettings()))


def test_only_the_selected_pages_are_analyzed(pdf: SampleDoc, pipeline: OcrPipeline) -> None:
    result = pipeline.analyze(
        pdf.path.read_bytes(), pdf.path.name, AnalyzeOptions(pages=parse_pages("1,3"))
    )
    assert [p.page_number for p in result.pages] == [1, 3]
    assert character_error_rate(pdf.pages[0] + "\n" + pdf.pages[2], result.content) < 0.02
    body = result.to_json()
    for page in body["pages"]:
        (span,) = page["spans"]
        text = body["content"][span["offset"] : span["offset"] + span["length"]]
        assert text == "\n".join(line["content"] for line in page["lines"])


def test_a_page_past_the_end_fails_the_document(pdf: SampleDoc, pipeline: OcrPipeline) -> None:
    with pytest.raises(InvalidPagesError) as info:
        pipeline.analyze(
            pdf.path.read_bytes(), pdf.path.name, AnalyzeOptions(pages=parse_pages("2,4"))
        )
    assert "page 4" in (info.value.inner_message or "")


def test_high_resolution_renders_pdfs_finer(pdf: SampleDoc, pipeline: OcrPipeline) -> None:
    options = AnalyzeOptions(pages=parse_pages("1"), features=frozenset({"ocrHighResolution"}))
    settings = pipeline.settings_for(options)
    assert settings.limits.pdf_dpi > pipeline.settings.limits.pdf_dpi
    assert settings.detection.max_side_len > pipeline.settings.detection.max_side_len
    result = pipeline.analyze(pdf.path.read_bytes(), pdf.path.name, options)
    assert character_error_rate(pdf.pages[0], result.content) < 0.02


def test_string_index_type_is_reported(pdf: SampleDoc, pipeline: OcrPipeline) -> None:
    result = pipeline.analyze(
        pdf.path.read_bytes(),
        pdf.path.name,
        AnalyzeOptions(pages=parse_pages("1"), string_index_type="utf16CodeUnit"),
    )
    body = result.to_json()
    assert body["stringIndexType"] == "utf16CodeUnit"
    for word in body["pages"][0]["words"]:  # ASCII text: the same offsets in every unit
        span = word["span"]
        assert body["content"][span["offset"] : span["offset"] + span["length"]] == word["content"]


def test_an_upside_down_page_is_read_and_short_upright_words_are_not_flipped(
    pipeline: OcrPipeline,
) -> None:
    import io

    from batchinfer.models.layout.synthetic import make_page

    page = make_page(seed=21)
    cells = [c.text for c in page.tables[0].cells]
    for image, rotated in ((page.image, False), (page.image.rotate(180), True)):
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        content = pipeline.analyze(buffer.getvalue(), "page.png").content
        for word in cells + ["Page 1"]:  # short words in table cells too
            assert word in content, (rotated, word, content)
