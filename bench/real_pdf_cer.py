"""Character error rate on real text-based PDFs: prebuilt-read, prebuilt-layout, Tesseract.

The PDFs' own text layer (pdfium) is the truth. Each page is analysed by
  - `prebuilt-read` decoding every class of the recognizer (`locale=zh`: all scripts),
  - `prebuilt-read` as served (no locale: Latin-only unless the page reads as CJK),
  - `prebuilt-layout` (text content),
  - Tesseract 5 (`tesseract-ocr`, Debian, `-l eng`; a peer, bench only) on the same rendered page.

Normalisation, applied the same way to the truth and to every engine's output (`normalize`):
  - U+FFFE, pdfium's mark for a word hyphenated at a line end, becomes "-" and a line break,
    which is what the page shows; soft hyphens (U+00AD) are dropped;
  - "_" becomes a space: Texinfo draws "_" in its proportional fonts as a rule that its text
    layer records as a space, while typewriter "_" is a glyph; folding both sides keeps every
    engine from being charged for printing what the page shows (Tesseract gains most from it);
  - NFKC (ligature code points such as U+FB01 → "fi", full-width forms → ASCII);
  - whitespace runs collapse to one space, so line breaks and spaces weigh the same.
Curly and straight quotes are NOT folded: printing "'" for "’" counts as an error. The strict
figure (whitespace collapsing only) is printed too.

Pages are classed "contents" (dot leaders: tables of contents, indexes) or "prose/code"; CER
is given per class and overall. CER charges reading order: a block read in another place
costs its length twice. The order-free word error (multiset difference of the words, over the
truth's word count) separates recognition from order. `--breakdown N` prints the N heaviest
differences per class and engine (difflib alignment of normalised truth and output).

    python bench/real_pdf_cer.py [--pages-per-pdf 60] [--dpi 200] [--breakdown 15] [PDF ...]
    (default PDFs: the documentation PDFs Debian installs under /usr/share/doc, if present)
"""

from __future__ import annotations

import argparse
import collections
import difflib
import io
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import pypdfium2 as pdfium

from batchinfer.models.layout.pipeline import LayoutPipeline
from batchinfer.models.ocr.decode import DecodeLimits
from batchinfer.models.ocr.metrics import levenshtein
from batchinfer.models.ocr.options import AnalyzeOptions
from batchinfer.models.ocr.pipeline import OcrPipeline, OcrSettings
from batchinfer.models.ocr.recognize import is_cjk

DEFAULT_PDFS = (
    "/usr/share/doc/libtasn1-doc/libtasn1.pdf",
    "/usr/share/doc/shared-mime-info/shared-mime-info-spec.pdf",
)
SYSTEMS = ("read (all scripts)", "read", "layout", "tesseract")
CLASSES = ("prose/code", "contents")


def strict(text: str) -> str:
    return " ".join(text.split())


def normalize(text: str) -> str:
    text = text.replace("\ufffe", "-\n").replace("\u00ad", "").replace("_", " ")
    return strict(unicodedata.normalize("NFKC", text))


def page_class(truth: str) -> str:
    """Tables of contents and indexes: rows of dot leaders ('. . . .' or '....')."""
    leaders = truth.count(". . .") + len(re.findall(r"\.{4,}", truth))
    return "contents" if leaders >= 3 else "prose/code"


def word_error(ref: str, hyp: str) -> int:
    """Words missing plus words extra, as multisets: blind to reading order."""
    want, got = collections.Counter(ref.split()), collections.Counter(hyp.split())
    return sum((want - got).values()) + sum((got - want).values())


def differences(ref: str, hyp: str) -> list[tuple[str, str, int]]:
    matcher = difflib.SequenceMatcher(None, ref, hyp, autojunk=False)
    return [
        (ref[i1:i2], hyp[j1:j2], max(i2 - i1, j2 - j1))
        for op, i1, i2, j1, j2 in matcher.get_opcodes()
        if op != "equal"
    ]


def pages_of(path: Path, count: int) -> list[tuple[str, bytes, str]]:
    """(label, single-page PDF bytes, truth text) for the first `count` pages with text."""
    pdf = pdfium.PdfDocument(str(path))
    out = []
    for index in range(len(pdf)):
        if len(out) >= count:
            break
        truth = pdf[index].get_textpage().get_text_range()
        if len(strict(truth)) < 200:
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


class Tally:
    """Errors and truth sizes per (engine, class)."""

    def __init__(self) -> None:
        self.chars: collections.Counter[str] = collections.Counter()
        self.words: collections.Counter[str] = collections.Counter()
        self.errors: collections.Counter[tuple[str, str, str]] = collections.Counter()
        self.diffs: dict[tuple[str, str], collections.Counter[tuple[str, str]]] = (
            collections.defaultdict(collections.Counter)
        )

    def rate(self, system: str, metric: str, cls: str | None = None) -> str:
        classes = CLASSES if cls is None else (cls,)
        base = self.words if metric == "words" else self.chars
        total = sum(base[c] for c in classes)
        errors = sum(self.errors[(system, metric, c)] for c in classes)
        return f"{errors / total:7.2%}" if total else "      -"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pdfs", nargs="*", default=[p for p in DEFAULT_PDFS if Path(p).exists()])
    parser.add_argument("--pages-per-pdf", type=int, default=60)
    parser.add_argument("--dpi", type=int, default=200)
    parser.add_argument("--breakdown", type=int, default=0, metavar="N")
    parser.add_argument("--systems", default=",".join(SYSTEMS), help="comma-separated subset")
    args = parser.parse_args()
    settings = OcrSettings(limits=DecodeLimits(pdf_dpi=args.dpi))
    read = OcrPipeline(settings=settings)
    layout = LayoutPipeline(settings=settings)
    wanted = [s for s in args.systems.split(",") if s]
    if "tesseract" in wanted and shutil.which("tesseract") is None:
        wanted.remove("tesseract")
    engines: dict[str, Callable[[bytes], str]] = {
        "read (all scripts)": lambda d: (
            read.analyze(d, "p.pdf", AnalyzeOptions(locale="zh")).content
        ),
        "read": lambda d: read.analyze(d, "p.pdf").content,
        "layout": lambda d: layout.analyze(d, "p.pdf").content,
        "tesseract": lambda d: tesseract(d, args.dpi),
    }
    tally = Tally()
    cjk: collections.Counter[str] = collections.Counter()
    started = time.perf_counter()
    pages = [p for pdf in args.pdfs for p in pages_of(Path(pdf), args.pages_per_pdf)]
    for label, data, truth in pages:
        cls = page_class(truth)
        ref = normalize(truth)
        tally.chars[cls] += len(ref)
        tally.chars["strict " + cls] += len(strict(truth))
        tally.words[cls] += len(ref.split())
        row = []
        for system in wanted:
            text = engines[system](data)
            hyp = normalize(text)
            errors = levenshtein(ref, hyp)
            tally.errors[(system, "cer", cls)] += errors
            tally.errors[(system, "strict", cls)] += levenshtein(strict(truth), strict(text))
            tally.errors[(system, "words", cls)] += word_error(ref, hyp)
            cjk[system] += sum(is_cjk(c) for c in text)
            if args.breakdown:
                for r, h, weight in differences(ref, hyp):
                    tally.diffs[(system, cls)][(r[:40], h[:40])] += weight
            row.append(f"{system} {errors / max(len(ref), 1):.2%}")
        print(f"{label:32s} {cls:10s} " + " | ".join(row), flush=True)
    print(
        f"\n{len(pages)} pages ({sum(page_class(t) == 'contents' for *_, t in pages)} contents) "
        f"from {len(args.pdfs)} PDFs at {args.dpi} dpi, {sum(tally.chars[c] for c in CLASSES)} "
        f"truth characters, {time.perf_counter() - started:.0f} s"
    )
    print(
        f"{'':20s} {'CER prose/code':>15s} {'contents':>9s} {'overall':>8s} {'strict':>7s}"
        f" {'word err (order-free) prose':>28s} {'overall':>8s}"
    )
    for system in wanted:
        strict_total = sum(tally.errors[(system, "strict", c)] for c in CLASSES)
        strict_chars = sum(tally.chars["strict " + c] for c in CLASSES)
        print(
            f"{system:20s} {tally.rate(system, 'cer', CLASSES[0]):>15s} "
            f"{tally.rate(system, 'cer', CLASSES[1]):>9s} {tally.rate(system, 'cer'):>8s} "
            f"{strict_total / max(strict_chars, 1):7.2%} "
            f"{tally.rate(system, 'words', CLASSES[0]):>28s} {tally.rate(system, 'words'):>8s}"
        )
    for system in wanted:
        print(f"{system:20s} CJK/full-width characters emitted: {cjk[system]}")
    for (system, cls), counter in sorted(tally.diffs.items()):
        print(f"\n--- {system}, {cls}: heaviest differences (truth -> output, weight)")
        for (r, h), weight in counter.most_common(args.breakdown):
            print(f"  {weight:5d}  {r!r} -> {h!r}")


if __name__ == "__main__":
    main()
