"""Sample documents with known text: the ground truth for OCR quality checks and demos.

Every supported format is covered (PNG, JPEG, multi-page TIFF, BMP, multi-page PDF), plus one
corrupt file and one unsupported file, so a batch run exercises both success and error paths.
Texts are constants, so the expected output never depends on whether a file was regenerated.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/Library/Fonts/Arial.ttf",
    "C:/Windows/Fonts/arial.ttf",
)
FONT_SIZE = 30
PAGE_WIDTH = 1100
MARGIN = 60
LINE_PITCH = 56


@dataclass(frozen=True)
class SampleDoc:
    """One generated file. `pages` holds the expected text of each page (lines joined by \\n);
    `expected_error` is the DocumentError code analysis must raise, or None."""

    path: Path
    format: str
    pages: tuple[str, ...] = ()
    expected_error: str | None = None

    @property
    def expected_text(self) -> str:
        return "\n".join(self.pages)


_PAGES: dict[str, tuple[tuple[str, ...], ...]] = {
    "invoice.png": (
        (
            "Invoice 2024-0117 from Contoso Ltd",
            "Bill to: Fabrikam Inc, 12 Harbour Road",
            "Total due: 1,280.50 USD by March 31",
            "Thank you for your business.",
        ),
    ),
    "receipt.jpg": (
        (
            "Northwind Coffee House",
            "2 x Flat white 7.00",
            "1 x Blueberry muffin 3.25",
            "Paid by card ending 4417",
        ),
    ),
    "letter.tiff": (
        (
            "Dear Ms Johnson,",
            "We received your application on 4 June.",
            "Our team will review it this week.",
        ),
        (
            "Please bring two forms of identity",
            "to the interview on Monday at 10:30.",
            "Kind regards, The Hiring Team",
        ),
    ),
    "notice.bmp": (
        (
            "Building maintenance notice",
            "The lifts will be closed on Saturday.",
            "Use the east stairs during the works.",
        ),
    ),
    "report.pdf": (
        (
            "Quarterly Report Q3 2024",
            "Revenue grew by 14 percent to 5.2 million.",
            "Operating costs were flat year on year.",
        ),
        (
            "Outlook for the next quarter",
            "We expect steady demand in all regions.",
            "Hiring will focus on support engineers.",
        ),
        (
            "Appendix A: Glossary",
            "ARR means annual recurring revenue.",
            "Churn is the share of customers lost.",
        ),
    ),
}
CORRUPT_NAME = "corrupt.png"
UNSUPPORTED_NAME = "notes.txt"


def load_font(size: int = FONT_SIZE) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """DejaVu Sans (or a system sans) when present, else Pillow's built-in scalable font."""
    for candidate in FONT_CANDIDATES:
        if Path(candidate).is_file():
            return ImageFont.truetype(candidate, size)
    return ImageFont.load_default(size=size)


def render_page(
    lines: tuple[str, ...], font: ImageFont.FreeTypeFont | ImageFont.ImageFont
) -> Image.Image:
    """Black text on white, one line per row, generous margins like a scanned page."""
    height = 2 * MARGIN + LINE_PITCH * len(lines)
    page = Image.new("RGB", (PAGE_WIDTH, height), "white")
    draw = ImageDraw.Draw(page)
    for row, text in enumerate(lines):
        draw.text((MARGIN, MARGIN + row * LINE_PITCH), text, fill="black", font=font)
    return page


def _write(
    path: Path,
    pages: tuple[tuple[str, ...], ...],
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont,
) -> None:
    images = [render_page(lines, font) for lines in pages]
    suffix = path.suffix.lower()
    buffer = io.BytesIO()
    if suffix == ".png":
        images[0].save(buffer, format="PNG")
    elif suffix == ".jpg":
        images[0].save(buffer, format="JPEG", quality=85)
    elif suffix == ".bmp":
        images[0].save(buffer, format="BMP")
    elif suffix == ".tiff":
        images[0].save(
            buffer,
            format="TIFF",
            save_all=True,
            append_images=images[1:],
            compression="tiff_deflate",
        )
    elif suffix == ".pdf":
        images[0].save(
            buffer, format="PDF", save_all=True, append_images=images[1:], resolution=150.0
        )
    else:
        raise ValueError(f"no writer for {path.name}")
    path.write_bytes(buffer.getvalue())


def _corrupt_png(font: ImageFont.FreeTypeFont | ImageFont.ImageFont) -> bytes:
    """A real PNG cut in half: the signature is valid, the image data is not."""
    buffer = io.BytesIO()
    render_page(("This file was truncated in transit.",), font).save(buffer, format="PNG")
    data = buffer.getvalue()
    return data[: len(data) // 2]


def generate_sample_documents(folder: Path) -> list[SampleDoc]:
    """Write the sample set into `folder` (existing files are kept) and describe each file."""
    folder.mkdir(parents=True, exist_ok=True)
    font = load_font()
    docs: list[SampleDoc] = []
    for name, pages in _PAGES.items():
        path = folder / name
        if not path.exists():
            _write(path, pages, font)
        fmt = {"jpg": "jpeg", "tiff": "tiff"}.get(path.suffix[1:], path.suffix[1:])
        docs.append(SampleDoc(path=path, format=fmt, pages=tuple("\n".join(p) for p in pages)))
    corrupt = folder / CORRUPT_NAME
    if not corrupt.exists():
        corrupt.write_bytes(_corrupt_png(font))
    docs.append(SampleDoc(path=corrupt, format="png", expected_error="InvalidContent"))
    unsupported = folder / UNSUPPORTED_NAME
    if not unsupported.exists():
        unsupported.write_text("Plain text is not a document image.\n", encoding="utf-8")
    docs.append(SampleDoc(path=unsupported, format="txt", expected_error="UnsupportedContent"))
    return docs
