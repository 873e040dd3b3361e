"""Character error rate on real text-based PDFs: prebuilt-read, prebuilt-layout, Tesseract.

The PDFs' own text layer (pdfium) is the truth. Each page is analysed by
  - `prebuilt-read` decoding every class of the recognizer (`scripts="all"`, the old behaviour),
  - `prebuilt-read` as served (`scripts="auto"`: Latin-only unless the page reads as CJK),
  - `prebuilt-layout` (text content),
  - Tesseract 5 (`tesseract-ocr`, Debian; a peer, bench only) on the same rendered page.
Whitespace is collapsed to single spaces before comparing, so line breaks and reading order of
blocks weigh the same for everyone. Also counts CJK / full-width characters in the read output
(there are none in these Latin documents' truth).

    python bench/real_pdf_cer.py [--pages-per-pdf 6] [--dpi 200] [PDF ...]
    (default PDFs: the documentation PDFs Debian installs under /usr/share/doc, if present)
"""

from __future__ import annotations

import argparse
import io
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import pypdfium2 as pdfium  # noqa: E402

from batchinfer.models.layout.pipeline import LayoutPipeline  # noqa: E402
from batchinfer.models.ocr.metrics import character_error_rate  # noqa: E402
from batchinfer.models.ocr.options import AnalyzeOptions  # noqa: E402
from batchinfer.models.ocr.pipeline import OcrPipeline, OcrSettings  # noqa: E402
from batchinfer.models.ocr.decode import DecodeLimits  # noqa: E402
from batchinfer.models.ocr.recognize import is_cjk  # noqa: E402

DEFAULT_PDFS = (
    "/usr/share/doc/libtasn1-doc/libtasn1.pdf",
    "/usr/share/doc/shared-mime-info/shared-mime-info-spec.pdf",
)


def norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def pages_of(path: Path, count: int, dpi: int) -> list[tuple[str, bytes, str]]:
    """(label, single-page PDF bytes, truth text) for the first `count` pages with text."""
    pdf = pdfium.PdfDocument(str(path))
    out = []
    for index in range(len(pdf)):
        if len(out) >= count:
            break
        truth = norm(pdf[index].get_textpage().get_text_range())
        if len(truth) < 200:
            continue  # covers, blank pages
        single = pdfium.PdfDocument.new()
        single.import_pages(pdf, [index])
        buffer = io.BytesIO()
        single.save(buffer)
        out.append((f"{path.name}#{index + 1}", buffer.getvalue(), truth))
    return out


def tesseract(page_pdf: bytes, dpi: int) -> str:
    pdf = pdfium.PdfDocument(page_pdf)
    image = pdf[0].render(scale=dpi / 72.0, fill_color=(255, 255, 255, 255)).to_pil()
    with tempfile.TemporaryDirectory() as tmp:
        png = Path(tmp) / "page.png"
        image.convert("RGB").save(png)
        done = subprocess.run(
            ["tesseract", str(png), "stdout", "-l", "eng"],
            capture_output=True,
            text=True,
            check=True,
        )
    return done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pdfs", nargs="*", default=[p for p in DEFAULT_PDFS if Path(p).exists()])
    parser.add_argument("--pages-per-pdf", type=int, default=6)
    parser.add_argument("--dpi", type=int, default=200)
    args = parser.parse_args()
    settings = OcrSettings(limits=DecodeLimits(pdf_dpi=args.dpi))
    read = OcrPipeline(settings=settings)
    layout = LayoutPipeline(settings=settings)
    has_tesseract = shutil.which("tesseract") is not None
    systems = ["read (all scripts)", "read (auto: Latin)", "layout"] + (
        ["tesseract"] if has_tesseract else []
    )
    errors = {s: 0.0 for s in systems}
    chars = 0
    cjk = {"read (all scripts)": 0, "read (auto: Latin)": 0}
    started = time.perf_counter()
    pages = [p for pdf in args.pdfs for p in pages_of(Path(pdf), args.pages_per_pdf, args.dpi)]
    for label, data, truth in pages:
        outputs = {
            "read (all scripts)": read.analyze(data, "p.pdf", AnalyzeOptions(locale="zh")).content,
            "read (auto: Latin)": read.analyze(data, "p.pdf").content,
            "layout": layout.analyze(data, "p.pdf").content,
        }
        if has_tesseract:
            outputs["tesseract"] = tesseract(data, args.dpi)
        row = []
        for system, text in outputs.items():
            cer = character_error_rate(truth, norm(text))
            errors[system] += cer * len(truth)
            row.append(f"{system} {cer:.2%}")
            if system in cjk:
                cjk[system] += sum(is_cjk(c) for c in text)
        chars += len(truth)
        print(f"{label:40s} " + " | ".join(row))
    print(
        f"\n{len(pages)} pages from {len(args.pdfs)} PDFs at {args.dpi} dpi, "
        f"{chars} truth characters, {time.perf_counter() - started:.0f} s"
    )
    for system in systems:
        print(f"{system:20s} CER {errors[system] / max(chars, 1):.2%}")
    for system, count in cjk.items():
        print(f"{system:20s} CJK/full-width characters emitted: {count}")


if __name__ == "__main__":
    main()
