"""Decoding documents into pages: format sniffing, page counts, and the errors callers see."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from batchinfer.models.ocr.decode import (
    DecodeLimits,
    DocumentFormat,
    count_pages,
    decode_pages,
    resolve_format,
    sniff_format,
)
from batchinfer.models.ocr.errors import (
    ContentTooLargeError,
    DocumentError,
    InvalidContentError,
    UnsupportedContentError,
)


def _image_bytes(
    fmt: str,
    size: tuple[int, int] = (120, 80),
    mode: str = "RGB",
    color: object = "white",
    **save: object,
) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, color).save(buffer, format=fmt, **save)
    return buffer.getvalue()


def _multi(fmt: str, sizes: list[tuple[int, int]], **save: object) -> bytes:
    pages = [Image.new("RGB", s, "white") for s in sizes]
    buffer = io.BytesIO()
    pages[0].save(buffer, format=fmt, save_all=True, append_images=pages[1:], **save)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("PNG", DocumentFormat.PNG),
        ("JPEG", DocumentFormat.JPEG),
        ("TIFF", DocumentFormat.TIFF),
        ("BMP", DocumentFormat.BMP),
        ("PDF", DocumentFormat.PDF),
    ],
)
def test_sniffs_each_supported_format_from_magic_bytes(fmt: str, expected: DocumentFormat) -> None:
    data = _image_bytes(fmt)
    assert sniff_format(data) is expected
    # the extension is only a hint: a misnamed file is still read by its content
    assert resolve_format(data, "misnamed.txt") is expected


def test_big_endian_tiff_is_recognised() -> None:
    assert sniff_format(b"MM\x00*" + b"\x00" * 20) is DocumentFormat.TIFF


def test_pdf_header_may_follow_leading_junk() -> None:
    assert sniff_format(b"\x00" * 100 + b"%PDF-1.7\n") is DocumentFormat.PDF


@pytest.mark.parametrize("name", ["empty.png", "empty.txt", ""])
def test_empty_document_is_invalid_content(name: str) -> None:
    with pytest.raises(InvalidContentError) as info:
        decode_pages(b"", name)
    assert info.value.code == "InvalidContent"
    assert "empty" in info.value.message


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (b"Just some plain text.\n", "notes.txt"),
        (b"Just some plain text.\n", ""),
        (b"PK\x03\x04\x14\x00\x06\x00" + b"\x00" * 40, "report.docx"),
        (b"GIF89a" + b"\x00" * 40, "anim.gif"),
    ],
)
def test_unsupported_types_are_unsupported_content(data: bytes, name: str) -> None:
    with pytest.raises(UnsupportedContentError) as info:
        decode_pages(data, name)
    assert info.value.code == "UnsupportedContent"
    assert isinstance(info.value, DocumentError) and isinstance(info.value, ValueError)


def test_garbage_named_as_an_image_is_invalid_content() -> None:
    with pytest.raises(InvalidContentError, match="PNG"):
        decode_pages(b"this is not a png at all", "scan.png")


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "TIFF", "BMP"])
def test_truncated_images_are_invalid_content(fmt: str) -> None:
    noisy = np.random.default_rng(0).integers(0, 255, (200, 300, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(noisy).save(buffer, format=fmt)
    data = buffer.getvalue()
    with pytest.raises(InvalidContentError) as info:
        decode_pages(data[: len(data) // 2], f"cut.{fmt.lower()}")
    assert info.value.code == "InvalidContent"


def test_corrupt_pdf_is_invalid_content() -> None:
    with pytest.raises(InvalidContentError, match="PDF"):
        decode_pages(b"%PDF-1.4\nnot really a pdf\n%%EOF", "broken.pdf")


def test_pdf_page_count_and_rendering() -> None:
    data = _multi("PDF", [(300, 150), (300, 150), (150, 300)], resolution=100.0)
    assert count_pages(data, "doc.pdf") == 3
    pages = decode_pages(data, "doc.pdf", DecodeLimits(pdf_dpi=200))
    assert [p.number for p in pages] == [1, 2, 3]
    first = pages[0]
    assert first.dpi == pytest.approx(200)
    # 3 x 1.5 inch page at 200 dpi
    assert (first.width, first.height) == (pytest.approx(600, abs=2), pytest.approx(300, abs=2))
    assert pages[2].height > pages[2].width
    assert first.rgb.dtype == np.uint8 and first.rgb.shape[2] == 3
    assert int(first.rgb.min()) > 200  # white page stays white


def test_huge_pdf_page_is_rendered_at_lower_dpi_not_refused() -> None:
    data = _multi("PDF", [(400, 400)], resolution=10.0)  # a 40 x 40 inch poster
    (page,) = decode_pages(data, "poster.pdf", DecodeLimits(max_side=2000, max_pixels=2000**2))
    assert max(page.width, page.height) <= 2000
    assert page.dpi is not None and page.dpi < 200


def test_tiff_multipage_yields_every_frame() -> None:
    data = _multi("TIFF", [(100, 50), (60, 90)], compression="tiff_deflate")
    assert count_pages(data, "scan.tif") == 2
    pages = decode_pages(data, "scan.tif")
    assert [(p.width, p.height) for p in pages] == [(100, 50), (60, 90)]
    assert all(p.dpi is None for p in pages)


def test_page_cap_is_a_clear_error() -> None:
    data = _multi("TIFF", [(10, 10)] * 3)
    with pytest.raises(ContentTooLargeError, match="3 pages; the limit is 2") as info:
        decode_pages(data, "many.tif", DecodeLimits(max_pages=2))
    assert info.value.code == "InvalidContent"
    pdf = _multi("PDF", [(10, 10)] * 3)
    with pytest.raises(ContentTooLargeError):
        decode_pages(pdf, "many.pdf", DecodeLimits(max_pages=2))


def test_pixel_cap_is_checked_before_decoding() -> None:
    data = _image_bytes("PNG", size=(3000, 3000))
    with pytest.raises(ContentTooLargeError, match="3000x3000"):
        decode_pages(data, "big.png", DecodeLimits(max_side=2000))


def test_transparent_png_is_composited_on_white() -> None:
    data = _image_bytes("PNG", mode="RGBA", color=(0, 0, 0, 0))
    (page,) = decode_pages(data, "clear.png")
    assert page.rgb.shape == (80, 120, 3)
    assert int(page.rgb.min()) == 255


@pytest.mark.parametrize("mode", ["L", "1", "P", "I;16", "CMYK"])
def test_other_modes_become_rgb(mode: str) -> None:
    fmt = "JPEG" if mode == "CMYK" else ("TIFF" if mode == "I;16" else "PNG")
    data = _image_bytes(fmt, mode=mode, color=0)
    (page,) = decode_pages(data, "x")
    assert page.rgb.dtype == np.uint8 and page.rgb.shape == (80, 120, 3)
