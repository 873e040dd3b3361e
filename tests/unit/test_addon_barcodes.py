"""`features=barcodes`: symbols generated here are read back with the service's kinds, values,
corner points and `:barcode:` spans in `content`."""

from __future__ import annotations

import numpy as np
import pytest
import zxingcpp

from batchinfer.models.addons.barcodes import (
    PLACEHOLDER,
    FoundBarcode,
    add_barcodes,
    read_barcodes,
)
from batchinfer.models.ocr.layout import ContentWriter
from batchinfer.models.ocr.result import AnalyzeResult, Page, Span

F = zxingcpp.BarcodeFormat


def symbol(fmt: zxingcpp.BarcodeFormat, text: str, scale: int) -> np.ndarray:
    """A barcode image (grey, white quiet zone included) made by zxing-cpp's writer."""
    barcode = zxingcpp.create_barcode(text, fmt)
    return np.asarray(zxingcpp.write_barcode_to_image(barcode, scale=scale))


def page_with(
    *placed: tuple[np.ndarray, int, int], size: tuple[int, int] = (1400, 1100)
) -> np.ndarray:
    """A white RGB page with each image pasted at (x, y)."""
    page = np.full(size, 255, np.uint8)
    for image, x, y in placed:
        h, w = image.shape[:2]
        page[y : y + h, x : x + w] = image
    return np.stack([page] * 3, axis=-1)


def _box(found: FoundBarcode) -> tuple[float, float, float, float]:
    xs = [x for x, _ in found.quad]
    ys = [y for _, y in found.quad]
    return min(xs), min(ys), max(xs), max(ys)


def test_qr_code128_and_ean13_are_read_where_they_are() -> None:
    qr = symbol(F.QRCode, "https://example.com/invoice/42", 6)
    code128 = symbol(F.Code128, "ORDER-2024-0042", 3)
    ean = symbol(F.EAN13, "4006381333931", 3)
    rgb = page_with((qr, 700, 80), (code128, 80, 600), (ean, 80, 1000))
    found = read_barcodes(rgb)
    assert [(b.kind, b.value) for b in found] == [  # top to bottom
        ("QRCode", "https://example.com/invoice/42"),
        ("Code128", "ORDER-2024-0042"),
        ("EAN13", "4006381333931"),
    ]
    qr_found, code_found, ean_found = found
    # the QR's modules start after its 4-module quiet zone (6 px a module)
    x0, y0, x1, y1 = _box(qr_found)
    assert (x0, y0) == pytest.approx((700 + 24, 80 + 24), abs=2)
    assert (x1 - x0, y1 - y0) == pytest.approx((qr.shape[1] - 48, qr.shape[0] - 48), abs=7)
    # linear symbols: the polygon spans the bars, within the pasted image
    for found_one, image, x, y in ((code_found, code128, 80, 600), (ean_found, ean, 80, 1000)):
        bx0, by0, bx1, by1 = _box(found_one)
        assert x <= bx0 < bx1 <= x + image.shape[1] and y <= by0 < by1 <= y + image.shape[0]
        assert bx1 - bx0 > 0.7 * image.shape[1]
    # clockwise from the top-left corner, as the service writes polygons
    (tl, tr, br, bl) = qr_found.quad
    assert tl[0] < tr[0] and tr[1] < br[1] and br[0] > bl[0] and bl[1] > tl[1]


@pytest.mark.parametrize(
    "fmt, text, kind, value",
    [
        (F.UPCA, "036000291452", "UPCA", "036000291452"),  # 12 digits, not the GTIN-13
        (F.UPCE, "01234565", "UPCE", "01234565"),  # as printed, not expanded
        (F.EAN8, "96385074", "EAN8", "96385074"),
        (F.Code39, "CODE39", "Code39", "CODE39"),
        (F.DataMatrix, "lot 7/b", "DataMatrix", "lot 7/b"),
        (F.PDF417, "pdf417 payload", "PDF417", "pdf417 payload"),
        (F.Aztec, "aztec!", "Aztec", "aztec!"),
        (F.ITF, "12345678", "ITF", "12345678"),
        (F.Codabar, "A123456B", "Codabar", "A123456B"),
    ],
)
def test_kinds_and_values_as_the_service_names_them(
    fmt: zxingcpp.BarcodeFormat, text: str, kind: str, value: str
) -> None:
    (found,) = read_barcodes(page_with((symbol(fmt, text, 3), 100, 100), size=(500, 700)))
    assert (found.kind, found.value) == (kind, value)


def test_a_rotated_symbol_keeps_its_own_top_left_corner() -> None:
    qr = np.rot90(symbol(F.QRCode, "rotated", 5))  # a quarter turn counter-clockwise
    (found,) = read_barcodes(page_with((qr, 200, 300), size=(800, 800)))
    assert found.value == "rotated"
    tl, tr, br, _ = found.quad
    # the symbol's top edge now runs upwards on the page, along its left side
    assert tl[1] > tr[1] and abs(tl[0] - tr[0]) < 3
    assert tl[0] < br[0]


def test_an_empty_page_has_none() -> None:
    assert read_barcodes(page_with(size=(300, 300))) == []


def test_placeholders_follow_the_page_text_and_the_page_span_covers_them() -> None:
    writer = ContentWriter("\n")
    page = Page(1, 0.0, 8.5, 11.0, "inch")
    writer.write("日本 text 👋")
    page.spans.append(Span(0, writer.length))
    found = [
        FoundBarcode(
            "QRCode", "a", ((200.0, 100.0), (400.0, 100.0), (400.0, 300.0), (200.0, 300.0))
        ),
        FoundBarcode(
            "EAN8", "96385074", ((10.0, 500.0), (90.0, 500.0), (90.0, 540.0), (10.0, 540.0))
        ),
    ]
    add_barcodes(writer, page, found, 1 / 200, 4)  # a PDF page rendered at 200 dpi → inches
    assert writer.text == "日本 text 👋\n:barcode:\n:barcode:"
    assert page.barcodes is not None
    assert [b.polygon for b in page.barcodes] == [
        [1.0, 0.5, 2.0, 0.5, 2.0, 1.5, 1.0, 1.5],
        [0.05, 2.5, 0.45, 2.5, 0.45, 2.7, 0.05, 2.7],
    ]
    assert page.spans == [Span(0, writer.length)]
    result = AnalyzeResult("prebuilt-read", writer.text, [page], string_index_type="utf16CodeUnit")
    body = result.to_json()
    utf16 = body["content"].encode("utf-16-le")
    for barcode in body["pages"][0]["barcodes"]:
        span = barcode["span"]
        assert barcode["confidence"] == 1.0
        text = utf16[2 * span["offset"] : 2 * (span["offset"] + span["length"])]
        assert text.decode("utf-16-le") == PLACEHOLDER
    assert body["pages"][0]["barcodes"][0]["span"]["offset"] == len("日本 text 👋") + 1 + 1


def test_a_page_without_text_gets_a_span_for_its_barcodes_only() -> None:
    writer = ContentWriter("\n")
    writer.write("previous page")
    page = Page(2, 0.0, 100.0, 100.0, "pixel")
    quad = ((1.0, 1.0), (5.0, 1.0), (5.0, 5.0), (1.0, 5.0))
    add_barcodes(writer, page, [FoundBarcode("QRCode", "x", quad)], 1.0, 1)
    assert page.spans == [Span(len("previous page") + 1, len(PLACEHOLDER))]
    empty = Page(3, 0.0, 100.0, 100.0, "pixel")
    add_barcodes(writer, empty, [], 1.0, 1)
    assert empty.barcodes == [] and empty.spans == []
    assert empty.to_json()["barcodes"] == []
    assert "barcodes" not in Page(4, 0.0, 1.0, 1.0, "pixel").to_json()  # feature not asked
