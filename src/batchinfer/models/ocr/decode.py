"""Input bytes → RGB page images, with the format sniffed from magic bytes.

Why magic bytes: filenames and content types from callers are hints at best; deciding from the
bytes is what lets us tell "corrupt PNG" (InvalidContent) from "not a format we read"
(UnsupportedContent). Limits on pages and pixels are checked before pixels are decoded, so a
small hostile file cannot make a worker allocate gigabytes.

Memory: pages are brought down to at most `max_work_pixels` as early as the format allows (PDF
pages are rendered at that size, JPEGs decoded at a reduced DCT scale, other rasters reduced right
after decoding, before any colour conversion), and each page holds its estimated cost in the
process-wide `budget.DECODE_BUDGET` from before it is decoded until the caller moves on, so all
threads together stay under one ceiling. Raster pages that were reduced report their original
pixel size through `pixel_scale`.
"""

from __future__ import annotations

import io
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import Enum
from pathlib import PurePath
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageOps, ImageSequence, UnidentifiedImageError

if TYPE_CHECKING:
    import pypdfium2 as pdfium

    from batchinfer.models.ocr.options import PageSelection

from batchinfer.models.ocr.budget import DECODE_BUDGET, ByteBudget
from batchinfer.models.ocr.errors import (
    ContentTooLargeError,
    InvalidContentError,
    UnsupportedContentError,
)


class DocumentFormat(str, Enum):
    PNG = "png"
    JPEG = "jpeg"
    TIFF = "tiff"
    BMP = "bmp"
    PDF = "pdf"


#: Extensions that claim a supported format; a file carrying one whose bytes do not match any
#: supported signature is reported as corrupt rather than unsupported.
EXTENSIONS: dict[str, DocumentFormat] = {
    ".png": DocumentFormat.PNG,
    ".jpg": DocumentFormat.JPEG,
    ".jpeg": DocumentFormat.JPEG,
    ".jpe": DocumentFormat.JPEG,
    ".jfif": DocumentFormat.JPEG,
    ".tif": DocumentFormat.TIFF,
    ".tiff": DocumentFormat.TIFF,
    ".bmp": DocumentFormat.BMP,
    ".dib": DocumentFormat.BMP,
    ".pdf": DocumentFormat.PDF,
}

_PIL_FORMATS = {
    DocumentFormat.PNG: "PNG",
    DocumentFormat.JPEG: "JPEG",
    DocumentFormat.TIFF: "TIFF",
    DocumentFormat.BMP: "BMP",
}

#: pdfium is not thread-safe; this lock serialises our calls into it (a lock, not shared data).
_PDFIUM_LOCK = threading.Lock()


@dataclass(frozen=True)
class DecodeLimits:
    """Safety limits. Defaults follow Document Intelligence: 2000 pages, 10k px per side."""

    max_pages: int = 2000
    max_side: int = 10_000
    max_pixels: int = 10_000 * 10_000
    pdf_dpi: int = 200
    max_work_pixels: int = 16_000_000
    """Pages are analyzed at most this large (A4 at 300 dpi is 8.7 million pixels)."""
    budget: ByteBudget | None = field(default=None, compare=False)
    """Where page memory is accounted; None means the process-wide `DECODE_BUDGET`."""


@dataclass
class PageImage:
    """One page as an RGB uint8 array, with how many pixels make an inch for PDF pages."""

    number: int
    rgb: np.ndarray  # H x W x 3, uint8
    dpi: float | None = None  # set for rendered PDF pages, None for raster images
    pixel_scale: float = 1.0  # original pixels per analyzed pixel (raster pages reduced early)

    @property
    def width(self) -> int:
        return int(self.rgb.shape[1])

    @property
    def height(self) -> int:
        return int(self.rgb.shape[0])


def sniff_format(data: bytes) -> DocumentFormat | None:
    """The supported format the bytes start with, or None."""
    head = data[:16]
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return DocumentFormat.PNG
    if head.startswith(b"\xff\xd8\xff"):
        return DocumentFormat.JPEG
    if head.startswith((b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")):
        return DocumentFormat.TIFF
    if head.startswith(b"BM") and len(data) >= 26:
        return DocumentFormat.BMP
    # The PDF spec lets the header sit anywhere in the first 1024 bytes.
    if b"%PDF-" in data[:1024]:
        return DocumentFormat.PDF
    return None


def resolve_format(data: bytes, filename: str = "") -> DocumentFormat:
    """Decide the format, or raise the error a caller should see for these bytes."""
    if not data:
        raise InvalidContentError("The document is empty.")
    fmt = sniff_format(data)
    if fmt is not None:
        return fmt
    claimed = EXTENSIONS.get(PurePath(filename).suffix.lower()) if filename else None
    if claimed is not None:
        raise InvalidContentError(
            f"The file is named as {claimed.value.upper()} but its content is not a valid "
            f"{claimed.value.upper()} file; it may be corrupted."
        )
    raise UnsupportedContentError("Unsupported content type: expected PDF, JPEG, PNG, TIFF or BMP.")


def count_pages(data: bytes, filename: str = "", limits: DecodeLimits | None = None) -> int:
    """Number of pages without decoding pixels (used for quotas and progress)."""
    limits = limits or DecodeLimits()
    fmt = resolve_format(data, filename)
    if fmt is DocumentFormat.PDF:
        with _PDFIUM_LOCK:
            pdf = _open_pdf(data)
            try:
                return len(pdf)
            finally:
                pdf.close()
    with _open_image(data, fmt) as image:
        return int(getattr(image, "n_frames", 1))


def iter_pages(
    data: bytes,
    filename: str = "",
    limits: DecodeLimits | None = None,
    pages: PageSelection | None = None,
) -> Iterator[PageImage]:
    """Yield pages one at a time so a long PDF never holds every page in memory.

    With `pages`, only the selected pages are decoded (the others are never rendered), and a
    selection starting past the last page raises `InvalidPagesError` before any pixels.
    """
    limits = limits or DecodeLimits()
    fmt = resolve_format(data, filename)
    if fmt is DocumentFormat.PDF:
        yield from _pdf_pages(data, limits, pages)
    else:
        yield from _image_pages(data, fmt, limits, pages)


def decode_pages(
    data: bytes, filename: str = "", limits: DecodeLimits | None = None
) -> list[PageImage]:
    """All pages of a document as RGB images (see `iter_pages` for the streaming form)."""
    return list(iter_pages(data, filename, limits))


def _open_image(data: bytes, fmt: DocumentFormat) -> Image.Image:
    """Open lazily (header only). Our own `DecodeLimits` decide what is too large; Pillow's
    global bomb check is left as it is and only its hard error is translated."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return Image.open(io.BytesIO(data), formats=[_PIL_FORMATS[fmt]])
    except Image.DecompressionBombError as exc:
        raise ContentTooLargeError(f"The image is too large to decode safely: {exc}") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise InvalidContentError(
            f"The {fmt.value.upper()} file is corrupted or cannot be decoded."
        ) from exc


def _check_size(width: int, height: int, page: int, limits: DecodeLimits) -> None:
    if width <= 0 or height <= 0:
        raise InvalidContentError(f"Page {page} has no pixels ({width}x{height}).")
    if max(width, height) > limits.max_side or width * height > limits.max_pixels:
        raise ContentTooLargeError(
            f"Page {page} is {width}x{height} pixels; the limit is {limits.max_side} pixels "
            f"per side and {limits.max_pixels} pixels in all."
        )


def _to_rgb(frame: Image.Image) -> np.ndarray:
    """RGB array; transparent areas become white (paper), not black."""
    if frame.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(frame, dtype=np.float64)
        lo, hi = float(arr.min()), float(arr.max())
        scaled = (arr - lo) * (255.0 / (hi - lo)) if hi > lo else np.zeros_like(arr)
        frame = Image.fromarray(scaled.astype(np.uint8), mode="L")
    if frame.mode == "P" and "transparency" in frame.info:
        frame = frame.convert("RGBA")
    if frame.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = frame.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        frame = Image.alpha_composite(background, rgba)
    return np.ascontiguousarray(np.asarray(frame.convert("RGB"), dtype=np.uint8))


WORK_BYTES_PER_PIXEL = 12
"""What analyzing a page costs per analyzed pixel: its RGB and BGR copies, crops, tensors."""


def _budget(limits: DecodeLimits) -> ByteBudget:
    return limits.budget or DECODE_BUDGET


def _work_size(width: int, height: int, max_pixels: int) -> tuple[int, int]:
    if width * height <= max_pixels:
        return width, height
    factor = (max_pixels / (width * height)) ** 0.5
    return max(1, int(width * factor)), max(1, int(height * factor))


def _raster_cost(frame: Image.Image, limits: DecodeLimits) -> int:
    """Decoded buffer plus one conversion at full size, then the analysis at working size."""
    bands = len(frame.getbands()) if frame.mode not in ("I;16", "I;16B", "I;16L") else 2
    work_w, work_h = _work_size(frame.width, frame.height, limits.max_work_pixels)
    return frame.width * frame.height * (bands + 4) + work_w * work_h * WORK_BYTES_PER_PIXEL


def _reduce(frame: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Shrink before any colour conversion, in the frame's own mode where Pillow can."""
    if frame.size == size:
        return frame
    if frame.mode == "P":
        frame = frame.convert("RGBA" if "transparency" in frame.info else "RGB")
    elif frame.mode == "1":
        frame = frame.convert("L")
    try:
        return frame.resize(size, Image.Resampling.BOX)
    except ValueError:  # a mode Pillow cannot resample: convert first
        return Image.fromarray(_to_rgb(frame)).resize(size, Image.Resampling.BOX)


def _image_pages(
    data: bytes, fmt: DocumentFormat, limits: DecodeLimits, pages: PageSelection | None = None
) -> Iterator[PageImage]:
    image = _open_image(data, fmt)
    with image:
        frames = int(getattr(image, "n_frames", 1))
        if frames > limits.max_pages:
            raise ContentTooLargeError(
                f"The document has {frames} pages; the limit is {limits.max_pages}."
            )
        if pages is not None:
            pages.check_within(frames)
        for index, frame in enumerate(ImageSequence.Iterator(image), start=1):
            if pages is not None and index not in pages:
                continue
            _check_size(frame.width, frame.height, index, limits)
            original_side = max(frame.width, frame.height)
            work = _work_size(frame.width, frame.height, limits.max_work_pixels)
            with _budget(limits).hold(_raster_cost(frame, limits)):
                try:
                    if fmt is DocumentFormat.JPEG and work != frame.size:
                        frame.draft("RGB", work)  # decode at a reduced DCT scale
                    upright = (
                        ImageOps.exif_transpose(frame) if fmt is DocumentFormat.JPEG else frame
                    )
                    rotated = upright.size != frame.size
                    rgb = _to_rgb(_reduce(upright, work[::-1] if rotated else work))
                except (OSError, SyntaxError, ValueError, EOFError) as exc:
                    raise InvalidContentError(
                        f"Page {index} of the {fmt.value.upper()} file is corrupted or truncated."
                    ) from exc
                del upright
                yield PageImage(
                    number=index,
                    rgb=rgb,
                    pixel_scale=original_side / max(rgb.shape[0], rgb.shape[1]),
                )


def _open_pdf(data: bytes) -> pdfium.PdfDocument:
    """Open a PDF (pypdfium2 is imported lazily: it loads a large native library)."""
    import pypdfium2 as pdfium

    try:
        return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        text = str(exc).lower()
        if "password" in text:
            raise InvalidContentError("The PDF is password-protected.") from exc
        raise InvalidContentError("The PDF file is corrupted or cannot be opened.") from exc


def _pdf_pages(
    data: bytes, limits: DecodeLimits, pages: PageSelection | None = None
) -> Iterator[PageImage]:
    """Render each page at `pdf_dpi`, lowered for huge pages so they stay under the pixel cap."""
    import pypdfium2 as pdfium

    with _PDFIUM_LOCK:
        pdf = _open_pdf(data)
        total = len(pdf)
    try:
        if total == 0:
            raise InvalidContentError("The PDF has no pages.")
        if total > limits.max_pages:
            raise ContentTooLargeError(
                f"The document has {total} pages; the limit is {limits.max_pages}."
            )
        if pages is not None:
            pages.check_within(total)
        for index in range(total):
            if pages is not None and index + 1 not in pages:
                continue
            with _PDFIUM_LOCK:
                try:
                    page = pdf[index]
                    width_pt, height_pt = page.get_size()
                except pdfium.PdfiumError as exc:
                    raise InvalidContentError(
                        f"Page {index + 1} of the PDF cannot be rendered."
                    ) from exc
            if width_pt <= 0 or height_pt <= 0:
                raise InvalidContentError(f"Page {index + 1} of the PDF has no area.")
            dpi = float(limits.pdf_dpi)
            side_px = max(width_pt, height_pt) * dpi / 72.0
            area_px = width_pt * height_pt * (dpi / 72.0) ** 2
            shrink = min(
                1.0,
                limits.max_side / side_px,
                (min(limits.max_pixels, limits.max_work_pixels) / area_px) ** 0.5,
            )
            dpi *= shrink  # rendered at the working size: a huge page never exists in memory
            pixels = int(area_px * shrink * shrink) + 1
            # BGRA bitmap, its PIL copy and RGB conversions, then the analysis
            with _budget(limits).hold(pixels * (11 + WORK_BYTES_PER_PIXEL)):
                with _PDFIUM_LOCK:
                    try:
                        # rendered straight to RGB: no PIL copy and conversion (~10x cheaper)
                        bitmap = page.render(
                            scale=dpi / 72.0,
                            fill_color=(255, 255, 255, 255),
                            force_bitmap_format=pdfium.raw.FPDFBitmap_BGR,
                            rev_byteorder=True,
                        )
                        rgb = np.ascontiguousarray(bitmap.to_numpy())
                        del bitmap
                        page.close()
                    except pdfium.PdfiumError as exc:
                        raise InvalidContentError(
                            f"Page {index + 1} of the PDF cannot be rendered."
                        ) from exc
                yield PageImage(number=index + 1, rgb=rgb, dpi=dpi)
    finally:
        with _PDFIUM_LOCK:
            pdf.close()
