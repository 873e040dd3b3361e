"""`prebuilt-read` end to end with the real PP-OCR models on generated sample documents.

Quality is stated as character error rate against the text the samples were rendered from.
Measured on these samples the pipeline reads every format exactly (CER 0.0); the bound below
leaves room for small numeric differences between onnxruntime builds, not for real misreads.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from batchinfer.inference.registry import ModelNotFoundError, build_default_registry
from batchinfer.inference.runtime import (
    CPU,
    CUDA,
    PROVIDERS_ENV,
    TENSORRT,
    RuntimeSettings,
    SessionCache,
    select_providers,
)
from batchinfer.models.ocr.assets import ocr_model_files
from batchinfer.models.ocr.errors import DocumentError
from batchinfer.models.ocr.metrics import character_error_rate
from batchinfer.models.ocr.pipeline import OcrPipeline
from batchinfer.models.ocr.result import AnalyzeResult
from batchinfer.samples import SampleDoc, generate_sample_documents

CER_BOUND = 0.02


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> list[SampleDoc]:
    return generate_sample_documents(tmp_path_factory.mktemp("ocr-samples"))


@pytest.fixture(scope="module")
def cache() -> SessionCache:
    return SessionCache(RuntimeSettings())


@pytest.fixture(scope="module")
def pipeline(cache: SessionCache) -> OcrPipeline:
    return OcrPipeline(cache)


@pytest.fixture(scope="module")
def results(samples: list[SampleDoc], pipeline: OcrPipeline) -> dict[str, AnalyzeResult]:
    return {
        doc.format: pipeline.analyze(doc.path.read_bytes(), doc.path.name)
        for doc in samples
        if doc.expected_error is None
    }


def _good(samples: list[SampleDoc]) -> list[SampleDoc]:
    return [doc for doc in samples if doc.expected_error is None]


def _assert_polygon(polygon: Any, width: float, height: float) -> None:
    assert isinstance(polygon, list) and len(polygon) == 8
    assert all(isinstance(v, float) for v in polygon)
    xs, ys = polygon[0::2], polygon[1::2]
    assert all(-0.01 <= x <= width + 0.01 for x in xs)
    assert all(-0.01 <= y <= height + 0.01 for y in ys)


def test_samples_cover_every_format_and_both_errors(samples: list[SampleDoc]) -> None:
    assert {d.format for d in _good(samples)} == {"png", "jpeg", "tiff", "bmp", "pdf"}
    assert sorted(d.expected_error for d in samples if d.expected_error) == [
        "InvalidContent",
        "UnsupportedContent",
    ]
    again = generate_sample_documents(samples[0].path.parent)  # idempotent
    assert [d.path for d in again] == [d.path for d in samples]


def test_result_shape_key_by_key(
    samples: list[SampleDoc], results: dict[str, AnalyzeResult]
) -> None:
    for doc in _good(samples):
        body = results[doc.format].to_json()
        assert list(body) == [
            "apiVersion",
            "modelId",
            "stringIndexType",
            "content",
            "pages",
            "paragraphs",
            "styles",
            "contentFormat",
        ]
        assert body["contentFormat"] == "text" and body["styles"] == []
        assert body["apiVersion"] == "2024-11-30"
        assert body["modelId"] == "prebuilt-read"
        assert body["stringIndexType"] == "textElements"
        content = body["content"]
        assert isinstance(content, str) and content
        assert [p["pageNumber"] for p in body["pages"]] == list(range(1, len(doc.pages) + 1))
        for page in body["pages"]:
            assert list(page) == [
                "pageNumber",
                "angle",
                "width",
                "height",
                "unit",
                "words",
                "lines",
                "spans",
            ]
            assert page["unit"] == ("inch" if doc.format == "pdf" else "pixel")
            assert abs(page["angle"]) < 1.0
            assert page["width"] > 0 and page["height"] > 0
            (page_span,) = page["spans"]
            assert list(page_span) == ["offset", "length"]
            page_text = content[page_span["offset"] : page_span["offset"] + page_span["length"]]
            assert page_text == "\n".join(line["content"] for line in page["lines"])
            for line in page["lines"]:
                assert list(line) == ["content", "polygon", "spans"]
                _assert_polygon(line["polygon"], page["width"], page["height"])
                (span,) = line["spans"]
                assert content[span["offset"] : span["offset"] + span["length"]] == line["content"]
            assert " ".join(w["content"] for w in page["words"]) == " ".join(
                line["content"] for line in page["lines"]
            )
            for word in page["words"]:
                assert list(word) == ["content", "polygon", "confidence", "span"]
                _assert_polygon(word["polygon"], page["width"], page["height"])
                assert 0.0 <= word["confidence"] <= 1.0
                span = word["span"]
                assert content[span["offset"] : span["offset"] + span["length"]] == word["content"]
                assert " " not in word["content"]
        assert body["paragraphs"]
        for paragraph in body["paragraphs"]:
            assert list(paragraph) == ["spans", "boundingRegions", "content"]
            (span,) = paragraph["spans"]
            assert content[span["offset"] : span["offset"] + span["length"]] == paragraph["content"]


@pytest.mark.parametrize("fmt", ["png", "jpeg", "tiff", "bmp", "pdf"])
def test_character_error_rate_per_format(
    fmt: str, samples: list[SampleDoc], results: dict[str, AnalyzeResult]
) -> None:
    (doc,) = [d for d in _good(samples) if d.format == fmt]
    result = results[fmt]
    cer = character_error_rate(doc.expected_text, result.content)
    assert cer < CER_BOUND, (
        f"{fmt}: CER {cer:.3f}\nexpected {doc.expected_text!r}\ngot {result.content!r}"
    )
    for expected, page in zip(doc.pages, result.pages):  # and page by page, in reading order
        got = "\n".join(line.content for line in page.lines)
        assert character_error_rate(expected, got) < CER_BOUND


def test_words_sit_inside_their_line_in_reading_order(results: dict[str, AnalyzeResult]) -> None:
    page = results["png"].pages[0]
    first_line = page.lines[0]
    words = [
        w
        for w in page.words
        if w.span.offset < first_line.spans[0].offset + first_line.spans[0].length
    ]
    line_xs = first_line.polygon[0::2]
    lefts = [min(w.polygon[0::2]) for w in words]
    assert lefts == sorted(lefts)
    assert all(min(line_xs) - 1 <= x <= max(line_xs) + 1 for w in words for x in w.polygon[0::2])
    ys = [ln.polygon[1] for ln in page.lines]
    assert ys == sorted(ys)


def test_pdf_pages_are_reported_in_inches(results: dict[str, AnalyzeResult]) -> None:
    page = results["pdf"].pages[0]
    assert page.unit == "inch"
    assert page.width == pytest.approx(1100 / 150, abs=0.02)  # samples save PDFs at 150 dpi


def test_corrupt_file_is_invalid_content(samples: list[SampleDoc], pipeline: OcrPipeline) -> None:
    (doc,) = [d for d in samples if d.expected_error == "InvalidContent"]
    with pytest.raises(DocumentError) as info:
        pipeline.analyze(doc.path.read_bytes(), doc.path.name)
    assert info.value.code == "InvalidContent"


def test_text_file_is_unsupported_content(samples: list[SampleDoc], pipeline: OcrPipeline) -> None:
    (doc,) = [d for d in samples if d.expected_error == "UnsupportedContent"]
    with pytest.raises(DocumentError) as info:
        pipeline.analyze(doc.path.read_bytes(), doc.path.name)
    assert info.value.code == "UnsupportedContent"


def test_pipeline_runs_on_cpu_here(pipeline: OcrPipeline) -> None:
    assert pipeline.providers == {"det": CPU, "cls": CPU, "rec": CPU}


def test_provider_selection_prefers_gpus_and_always_ends_with_cpu(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gpu_build = [TENSORRT, CUDA, CPU]
    assert select_providers(None, gpu_build) == (TENSORRT, CUDA, CPU)
    assert select_providers(None, [CPU]) == (CPU,)
    monkeypatch.setenv(PROVIDERS_ENV, "CUDAExecutionProvider, NoSuchProvider")
    requested = RuntimeSettings.from_env().providers
    assert requested == (CUDA, "NoSuchProvider")
    assert select_providers(requested, gpu_build) == (CUDA, CPU)
    assert select_providers(requested, [CPU]) == (CPU,)


def test_requested_gpu_provider_falls_back_to_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PROVIDERS_ENV, "TensorrtExecutionProvider,CUDAExecutionProvider")
    session = SessionCache().get(ocr_model_files().classification)
    assert session.provider == CPU


def test_provider_that_fails_to_start_falls_back_to_cpu() -> None:
    from batchinfer.inference.runtime import _ort_session

    tried: list[tuple[str, ...]] = []

    def flaky(path: str, options: Any, providers: Sequence[str]) -> Any:
        tried.append(tuple(providers))
        if CUDA in providers:
            raise RuntimeError("CUDA driver not found")
        return _ort_session(path, options, providers)

    cache = SessionCache(RuntimeSettings(), factory=flaky)
    session = cache.get(ocr_model_files().classification, providers=(CUDA, CPU))
    assert tried == [(CUDA, CPU), (CPU,)]
    assert session.provider == CPU


def test_session_cache_returns_the_same_session(cache: SessionCache) -> None:
    path = ocr_model_files().detection
    first = cache.get(path)
    assert cache.get(path) is first
    assert cache.get(str(path)) is first


def test_session_cache_loads_once_under_concurrency() -> None:
    from batchinfer.inference.runtime import _ort_session

    calls: list[str] = []

    def counting(path: str, options: Any, providers: Sequence[str]) -> Any:
        calls.append(path)
        return _ort_session(path, options, providers)

    cache = SessionCache(RuntimeSettings(intra_op_threads=1), factory=counting)
    got: list[object] = []
    barrier = threading.Barrier(6)

    def worker() -> None:
        barrier.wait()
        got.append(cache.get(ocr_model_files().classification))

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and len(got) == 6 and all(s is got[0] for s in got)


def test_registry_builds_prebuilt_read(cache: SessionCache, samples: list[SampleDoc]) -> None:
    registry = build_default_registry()
    spec = registry.get("prebuilt-read")
    assert set(spec.onnx_files) == {"det", "cls", "rec"}
    assert all(Path(p).is_file() for p in spec.onnx_files.values())
    model = spec.create(cache)
    assert model.model_id == "prebuilt-read"
    png = next(d for d in samples if d.format == "png")
    assert "Contoso" in model.analyze(png.path.read_bytes(), png.path.name).to_json()["content"]
    with pytest.raises(ModelNotFoundError) as info:
        registry.get("prebuilt-nope")
    assert isinstance(info.value, LookupError) and "prebuilt-read" in info.value.message


def test_character_error_rate_basics() -> None:
    assert character_error_rate("abc def", "abc  def") == 0.0
    assert character_error_rate("abc\ndef", "abc def") == 0.0
    assert character_error_rate("abcd", "abxd") == pytest.approx(0.25)
    assert character_error_rate("abcd", "") == 1.0
    assert character_error_rate("", "") == 0.0
