"""`features=barcodes`: barcodes read from each page image with zxing-cpp (Apache-2.0).

Why zxing-cpp: one small wheel (about 1 MB, no model files, nothing downloaded) that reads
every symbology the service names, 1D and 2D, rotated or inverted, straight from a NumPy
array, with the symbol's corner points.

What the service does, and so what we do: each barcode is listed on its page with `kind` (the
service's DocumentBarcodeKind), `value`, `polygon` (clockwise from the symbol's top-left
corner, in the page's unit) and `confidence`; in `content` each barcode is the placeholder
`:barcode:`, written after the page's text, and the barcode's `span` points at it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import zxingcpp

from batchinfer.models.ocr.layout import ContentWriter
from batchinfer.models.ocr.result import Barcode, Page, Span

PLACEHOLDER = ":barcode:"
"""What a barcode is in `content`, as the service writes it."""

_F = zxingcpp.BarcodeFormat
KINDS: dict[zxingcpp.BarcodeFormat, str] = {
    _F.QRCode: "QRCode",
    _F.QRCodeModel1: "QRCode",
    _F.QRCodeModel2: "QRCode",
    _F.MicroQRCode: "MicroQRCode",
    _F.PDF417: "PDF417",
    _F.CompactPDF417: "PDF417",
    _F.Code39: "Code39",
    _F.Code39Std: "Code39",
    _F.Code39Ext: "Code39",
    _F.Code93: "Code93",
    _F.Code128: "Code128",
    _F.Codabar: "Codabar",
    _F.ITF: "ITF",
    _F.ITF14: "ITF",
    _F.DataBar: "DataBar",
    _F.DataBarOmni: "DataBar",
    _F.DataBarStk: "DataBar",
    _F.DataBarStkOmni: "DataBar",
    _F.DataBarLtd: "DataBar",
    _F.DataBarExp: "DataBarExpanded",
    _F.DataBarExpStk: "DataBarExpanded",
    _F.EAN13: "EAN13",
    _F.EAN8: "EAN8",
    _F.UPCA: "UPCA",
    _F.UPCE: "UPCE",
    _F.Aztec: "Aztec",
    _F.AztecCode: "Aztec",
    _F.DataMatrix: "DataMatrix",
    _F.MaxiCode: "MaxiCode",
}
"""zxing-cpp formats → the service's kinds. Formats the service has no kind for (rMQR,
MicroPDF417, Telepen, DX film edge, EAN-2/5 add-ons, ...) are not searched for at all."""

SEARCHED = zxingcpp.BarcodeFormats(
    [
        _F.QRCode,
        _F.MicroQRCode,
        _F.PDF417,
        _F.Code39,
        _F.Code93,
        _F.Code128,
        _F.Codabar,
        _F.ITF,
        _F.DataBar,
        _F.DataBarExpanded,
        _F.EAN13,
        _F.EAN8,
        _F.UPCA,
        _F.UPCE,
        _F.Aztec,
        _F.DataMatrix,
        _F.MaxiCode,
    ]
)

DECODED_CONFIDENCE = 1.0
"""zxing-cpp reports no score: a symbol is returned only when its checksum or error
correction verified it, so a decoded barcode is certain (the service also reports 1)."""


@dataclass(frozen=True)
class FoundBarcode:
    """A decoded symbol in page pixels, before it is placed in the result."""

    kind: str
    value: str
    quad: tuple[tuple[float, float], ...]  # top-left, top-right, bottom-right, bottom-left


def _kind_and_value(found: zxingcpp.Barcode) -> tuple[str, str] | None:
    kind = KINDS.get(found.format)
    if kind is None:
        return None
    value = found.text
    if kind == "EAN13" and len(value) == 13 and value.startswith("0"):
        return "UPCA", value[1:]  # a UPC-A symbol is an EAN-13 with a leading zero
    if kind == "UPCA" and len(value) == 13:
        return "UPCA", value[1:]  # zxing-cpp writes UPC-A values as 13-digit GTINs
    if kind == "UPCE":
        extra = found.extra
        if isinstance(extra, dict) and isinstance(extra.get("UPCE"), str):
            return "UPCE", extra["UPCE"]  # the 8 digits printed, not the expanded GTIN
    return kind, value


def read_barcodes(rgb: np.ndarray) -> list[FoundBarcode]:
    """Every barcode on one RGB page, in reading order (top to bottom, then left to right)."""
    found: list[FoundBarcode] = []
    for symbol in zxingcpp.read_barcodes(np.ascontiguousarray(rgb), formats=SEARCHED):
        named = _kind_and_value(symbol)
        if named is None or not symbol.valid:
            continue
        p = symbol.position
        quad = tuple(
            (float(pt.x), float(pt.y))
            for pt in (p.top_left, p.top_right, p.bottom_right, p.bottom_left)
        )
        found.append(FoundBarcode(named[0], named[1], quad))
    found.sort(key=lambda b: (min(y for _, y in b.quad), min(x for x, _ in b.quad)))
    return found


def add_barcodes(
    writer: ContentWriter, page: Page, found: Sequence[FoundBarcode], scale: float, digits: int
) -> None:
    """Write each barcode's placeholder after the page's text, list it on the page and let
    the page's span cover it. `scale` and `digits` turn page pixels into the page's unit, as
    for words (inches for PDF pages, pixels for images)."""
    page.barcodes = []
    start = None
    for barcode in found:
        writer.element_break()
        offset = writer.write(PLACEHOLDER)
        start = offset if start is None else start
        polygon = [round(v * scale, digits) for point in barcode.quad for v in point]
        page.barcodes.append(
            Barcode(
                kind=barcode.kind,
                value=barcode.value,
                polygon=polygon,
                span=Span(offset, len(PLACEHOLDER)),
                confidence=DECODED_CONFIDENCE,
            )
        )
    if start is None:
        return
    if page.spans:  # the page's text span grows to its end
        first = page.spans[-1].offset
        page.spans[-1] = Span(first, writer.length - first)
    else:
        page.spans.append(Span(start, writer.length - start))


def add_page_barcodes(
    writer: ContentWriter, page: Page, rgb: np.ndarray, scale: float, digits: int
) -> None:
    """Read one page's barcodes and add them to the page and `content` (the pipelines' hook)."""
    add_barcodes(writer, page, read_barcodes(rgb), scale, digits)
