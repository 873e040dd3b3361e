"""What `features=barcodes` and `features=languages` cost, and how well barcodes are found.

- barcodes: zxing-cpp over letter-size pages at 200 dpi (1700 x 2200 px, what a PDF page is
  analysed at), with and without symbols on them, and the share of generated symbols (nine
  kinds, scales 2-4, some turned a quarter) read back with the right kind and value;
- languages: py3langid's one-off model load, then `detect_languages` per paragraph on a
  result of generated paragraphs in eight languages;
- end to end: `prebuilt-read` on generated layout pages, with both features and without.

    python bench/addon_features.py --pages 2
"""

from __future__ import annotations

import argparse
import io
import random
import sys
import time
from pathlib import Path

import numpy as np
import zxingcpp

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from batchinfer.models.addons import languages as language_module
from batchinfer.models.addons.barcodes import read_barcodes
from batchinfer.models.addons.languages import detect_languages
from batchinfer.models.layout.synthetic import make_page
from batchinfer.models.ocr.options import AnalyzeOptions
from batchinfer.models.ocr.pipeline import OcrPipeline
from batchinfer.models.ocr.result import AnalyzeResult, BoundingRegion, Page, Paragraph, Span

F = zxingcpp.BarcodeFormat
SYMBOLS = [
    (F.QRCode, "QRCode", "https://example.com/a/{n}"),
    (F.Code128, "Code128", "ORD-{n:06d}"),
    (F.Code39, "Code39", "PART{n:04d}"),
    (F.DataMatrix, "DataMatrix", "lot {n}"),
    (F.PDF417, "PDF417", "shipment {n}"),
    (F.Aztec, "Aztec", "ticket {n}"),
    (F.ITF, "ITF", "{n:08d}"),
    (F.EAN8, "EAN8", None),
    (F.EAN13, "EAN13", None),
]
SENTENCES = {
    "en": "The committee reviewed the budget and agreed to publish the report next month.",
    "fr": "Le comité a examiné le budget et a accepté de publier le rapport le mois prochain.",
    "de": "Der Ausschuss prüfte den Haushalt und will den Bericht nächsten Monat veröffentlichen.",
    "es": "El comité revisó el presupuesto y aceptó publicar el informe el próximo mes.",
    "it": "Il comitato ha esaminato il bilancio e pubblicherà la relazione il mese prossimo.",
    "pt": "O comitê revisou o orçamento e concordou em publicar o relatório no próximo mês.",
    "nl": "De commissie heeft de begroting bekeken en publiceert het rapport volgende maand.",
    "ru": "Комитет рассмотрел бюджет и согласился опубликовать доклад в следующем месяце.",
}


def _gtin(digits: str) -> str:
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return digits + str((10 - total % 10) % 10)


def barcode_pages(count: int, rng: random.Random) -> list[tuple[np.ndarray, list[tuple[str, str]]]]:
    """Letter pages at 200 dpi, each with three symbols on a 2 x 3 grid; the truth per page."""
    pages = []
    for _ in range(count):
        page = np.full((2200, 1700), 255, np.uint8)
        truth = []
        for slot, (fmt, kind, pattern) in enumerate(rng.sample(SYMBOLS, 3)):
            if pattern is None:
                value = _gtin(
                    "".join(rng.choice("123456789") for _ in range(7 if kind == "EAN8" else 12))
                )
            else:
                value = pattern.format(n=rng.randrange(10**6))
            image = np.asarray(
                zxingcpp.write_barcode_to_image(
                    zxingcpp.create_barcode(value, fmt), scale=rng.choice((2, 3, 4))
                )
            )
            if rng.random() < 0.3:
                image = np.rot90(image)
            h, w = image.shape[:2]
            x, y = 100 + (slot % 2) * 800, 200 + (slot // 2) * 900
            page[y : y + min(h, 800), x : x + min(w, 750)] = image[:800, :750]
            truth.append((kind, value))
        pages.append((np.stack([page] * 3, axis=-1), truth))
    return pages


def bench_barcodes(pages: int) -> None:
    rng = random.Random(7)
    found = expected = 0
    elapsed = 0.0
    for rgb, truth in barcode_pages(pages, rng):
        start = time.perf_counter()
        read = read_barcodes(rgb)
        elapsed += time.perf_counter() - start
        got = {(b.kind, b.value) for b in read}
        found += sum(1 for item in truth if item in got)
        expected += len(truth)
    blank = [np.asarray(make_page(seed=s).image.resize((1700, 2200))) for s in range(min(pages, 4))]
    start = time.perf_counter()
    for rgb in blank:
        assert read_barcodes(rgb) == []
    blank_ms = 1000 * (time.perf_counter() - start) / len(blank)
    share = 100 * found / expected
    print(f"barcodes: {found}/{expected} symbols read with kind and value ({share:.1f}%)")
    print(
        f"barcodes: {1000 * elapsed / pages:.0f} ms per 1700x2200 page with 3 symbols, "
        f"{blank_ms:.0f} ms per text page without"
    )


def bench_languages(paragraphs: int) -> None:
    start = time.perf_counter()
    language_module._identifier()
    load = time.perf_counter() - start
    rng = random.Random(3)
    content, items, truth = "", [], []
    for _ in range(paragraphs):
        locale = rng.choice(list(SENTENCES))
        text = SENTENCES[locale]
        if content:
            content += "\n"
        items.append(
            Paragraph(text, [Span(len(content), len(text))], [BoundingRegion(1, [0.0] * 8)])
        )
        content += text
        truth.append(locale)
    result = AnalyzeResult("prebuilt-read", content, [Page(1, 0, 1, 1, "pixel")], paragraphs=items)
    start = time.perf_counter()
    languages = detect_languages(result)
    elapsed = time.perf_counter() - start
    locale_at = {
        span["offset"] + n: entry["locale"]
        for entry in languages
        for span in entry["spans"]
        for n in range(span["length"])
    }
    correct = sum(
        1 for p, t in zip(items, truth, strict=True) if locale_at.get(p.spans[0].offset) == t
    )
    print(f"languages: model load {load:.2f} s (once per process)")
    print(
        f"languages: {1e6 * elapsed / paragraphs:.0f} us per paragraph; "
        f"{correct}/{paragraphs} paragraphs with the right locale"
    )


def bench_end_to_end(pages: int) -> None:
    pipeline = OcrPipeline()
    data = []
    for seed in range(pages):
        buffer = io.BytesIO()
        make_page(seed=seed).image.save(buffer, format="PNG")
        data.append(buffer.getvalue())
    pipeline.analyze(data[0], "warm.png")
    for label, features in (
        ("plain", frozenset()),
        ("languages+barcodes", frozenset({"languages", "barcodes"})),
    ):
        start = time.perf_counter()
        for blob in data:
            pipeline.analyze(blob, "page.png", AnalyzeOptions(features=features))
        print(f"prebuilt-read {label}: {(time.perf_counter() - start) / pages:.2f} s per page")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pages", type=int, default=2, help="pages for the end-to-end run")
    parser.add_argument("--barcode-pages", type=int, default=20)
    parser.add_argument("--paragraphs", type=int, default=400)
    args = parser.parse_args()
    bench_barcodes(args.barcode_pages)
    bench_languages(args.paragraphs)
    bench_end_to_end(args.pages)


if __name__ == "__main__":
    main()
