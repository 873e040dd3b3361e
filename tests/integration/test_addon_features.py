"""`features=languages,barcodes` through `prebuilt-read` and `prebuilt-layout` on a rendered
page: paragraphs in four languages, a QR code and a Code 128 symbol."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest
import zxingcpp
from PIL import Image, ImageDraw

from batchinfer.inference.runtime import RuntimeSettings, SessionCache
from batchinfer.models.layout.pipeline import LayoutPipeline
from batchinfer.models.layout.synthetic import font
from batchinfer.models.ocr.options import AnalyzeOptions
from batchinfer.models.ocr.pipeline import OcrPipeline

PARAGRAPHS = {
    "en": (
        "The annual report describes how the company grew",
        "its business in every region during the last year.",
    ),
    "fr": (
        "Le rapport annuel explique comment la société a",
        "développé ses activités dans toutes les régions.",
    ),
    "de": (
        "Der Jahresbericht beschreibt, wie das Unternehmen",
        "sein Geschäft in allen Regionen ausgebaut hat.",
    ),
    "es": (
        "El informe anual explica cómo la empresa hizo",
        "crecer su negocio en todas las regiones del país.",
    ),
}
QR_AT = (760, 980)  # where the QR image is pasted (its quiet zone: 4 modules of 6 px)
CODE128_AT = (80, 1250)
DPI = 150  # the PDF's page size: 1200 x 1500 px at 150 dpi = 8 x 10 inches
FEATURES = frozenset({"languages", "barcodes"})


def _symbol(fmt: zxingcpp.BarcodeFormat, text: str, scale: int) -> Image.Image:
    image = zxingcpp.write_barcode_to_image(zxingcpp.create_barcode(text, fmt), scale=scale)
    return Image.fromarray(np.asarray(image)).convert("RGB")


@pytest.fixture(scope="module")
def page() -> Image.Image:
    image = Image.new("RGB", (1200, 1500), "white")
    draw = ImageDraw.Draw(image)
    face = font(26)
    y = 80
    for lines in PARAGRAPHS.values():
        for line in lines:
            draw.text((80, y), line, font=face, fill="black")
            y += 40
        y += 60
    image.paste(_symbol(zxingcpp.BarcodeFormat.QRCode, "https://example.com/doc/7", 6), QR_AT)
    image.paste(_symbol(zxingcpp.BarcodeFormat.Code128, "INV-2024-0007", 3), CODE128_AT)
    return image


@pytest.fixture(scope="module")
def sessions() -> SessionCache:
    return SessionCache(RuntimeSettings())


def _encoded(image: Image.Image, kind: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=kind, resolution=float(DPI))
    return buffer.getvalue()


def _check_languages(body: dict[str, Any]) -> None:
    content = body["content"]
    found = []
    for entry in body["languages"]:
        (span,) = entry["spans"]
        text = content[span["offset"] : span["offset"] + span["length"]]
        found.append((entry["locale"], text))
        assert 0.5 < entry["confidence"] <= 1.0
    assert [locale for locale, _ in found] == list(PARAGRAPHS)
    paragraphs = [p["content"] for p in body["paragraphs"]]
    assert [text for _, text in found] == paragraphs  # each paragraph is exactly one span


def _check_barcodes(body: dict[str, Any], to_unit: float, tolerance: float) -> None:
    (page,) = body["pages"]
    content = body["content"]
    barcodes = page["barcodes"]
    assert [(b["kind"], b["value"]) for b in barcodes] == [
        ("QRCode", "https://example.com/doc/7"),
        ("Code128", "INV-2024-0007"),
    ]
    qr = barcodes[0]["polygon"]
    assert qr[0:2] == pytest.approx(
        [(QR_AT[0] + 24) * to_unit, (QR_AT[1] + 24) * to_unit], abs=tolerance
    )
    code = barcodes[1]["polygon"]
    assert CODE128_AT[0] * to_unit <= code[0] and CODE128_AT[1] * to_unit <= code[1] + tolerance
    for barcode in barcodes:
        span = barcode["span"]
        assert content[span["offset"] : span["offset"] + span["length"]] == ":barcode:"
    (span,) = page["spans"]
    assert span["offset"] + span["length"] == len(content)  # the placeholders end the page
    assert content.endswith(":barcode:\n:barcode:") or content.endswith(":barcode:\n\n:barcode:")


def test_read_on_an_image_reports_pixels(page: Image.Image, sessions: SessionCache) -> None:
    result = OcrPipeline(sessions).analyze(
        _encoded(page, "PNG"), "page.png", AnalyzeOptions(features=FEATURES)
    )
    body = result.to_json()
    assert body["pages"][0]["unit"] == "pixel"
    _check_languages(body)
    _check_barcodes(body, 1.0, 2.0)


def test_layout_on_a_pdf_reports_inches_in_markdown(
    page: Image.Image, sessions: SessionCache
) -> None:
    result = LayoutPipeline(sessions).analyze(
        _encoded(page, "PDF"),
        "page.pdf",
        AnalyzeOptions(features=FEATURES, content_format="markdown"),
    )
    body = result.to_json()
    assert body["pages"][0]["unit"] == "inch" and body["contentFormat"] == "markdown"
    _check_languages(body)
    _check_barcodes(body, 1 / DPI, 0.03)


def test_nothing_extra_without_the_features(page: Image.Image, sessions: SessionCache) -> None:
    body = OcrPipeline(sessions).analyze(_encoded(page, "PNG"), "page.png").to_json()
    assert "languages" not in body and "barcodes" not in body["pages"][0]
    assert ":barcode:" not in body["content"]
