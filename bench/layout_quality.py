"""Layout quality on generated pages with known structure (`models/layout/synthetic.py`).

Each page has a page header, a title, section headings, two columns of body text, a ruled
table with a header row and a cell merged over two columns, a figure with a caption and a page
number. The pages go through `LayoutPipeline.analyze` as one PDF (150 dpi) and we measure:

- table cells: share of true cells found at the same row/column with the same spans whose text
  matches exactly (and within 10% character error);
- roles: precision and recall per role (a predicted paragraph matches a true one with the
  same role and text within 10% character error; one title per document, so later titles
  count as section headings);
- reading order: share of pairs of true paragraphs (all of them, across both columns) that
  appear in `content` in the true order;
- figures: share of figures found with their caption;
- CER of `content` (text format) against the pages' true text in reading order;
- selection marks, on generated forms (`make_form_page`: check boxes and radio buttons before
  labels, a table column of check boxes, a line of round and square letters), analysed as one
  multi-page TIFF: precision and recall of marks (a found mark matches a true one within
  3 px), state accuracy of the matched ones, and the share of labelled marks whose token in
  `content` is followed by their label (within 50% character error).

    python bench/layout_quality.py --pages 8 --forms 6
"""

from __future__ import annotations

import argparse
import io
import itertools
import re
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from batchinfer.models.layout.pipeline import LayoutPipeline
from batchinfer.models.layout.synthetic import FormPage, SyntheticPage, make_form_page, make_page
from batchinfer.models.ocr.metrics import character_error_rate
from batchinfer.models.ocr.options import AnalyzeOptions, parse_pages

ROLES = ("title", "sectionHeading", "pageHeader", "pageFooter", "pageNumber")


def _close(a: str, b: str, bound: float = 0.1) -> bool:
    return character_error_rate(a, b) <= bound


def table_scores(body: dict[str, Any], pages: list[SyntheticPage]) -> tuple[int, int, int]:
    """(exact cells, close cells, true cells)."""
    exact = close = total = 0
    tables_by_page: dict[int, list[dict[str, Any]]] = {}
    for table in body["tables"]:
        tables_by_page.setdefault(table["boundingRegions"][0]["pageNumber"], []).append(table)
    for number, page in enumerate(pages, start=1):
        for expected, got in itertools.zip_longest(page.tables, tables_by_page.get(number, [])):
            if expected is None:
                continue
            total += len(expected.cells)
            if got is None:
                continue
            cells = {(c["rowIndex"], c["columnIndex"]): c for c in got["cells"]}
            for cell in expected.cells:
                found = cells.get((cell.row, cell.column))
                if (
                    not found
                    or found.get("columnSpan", 1) != cell.column_span
                    or found.get("rowSpan", 1) != cell.row_span
                ):
                    continue
                exact += found["content"] == cell.text
                close += _close(cell.text, found["content"])
    return exact, close, total


def role_scores(
    body: dict[str, Any], pages: list[SyntheticPage]
) -> dict[str, tuple[int, int, int]]:
    """Per role: (matched, predicted, true)."""
    truth: list[tuple[str, str]] = []
    for page in pages:
        for paragraph in page.paragraphs:
            if paragraph.role:
                role = paragraph.role
                if role == "title" and any(r == "title" for r, _ in truth):
                    role = "sectionHeading"
                truth.append((role, paragraph.text))
    predicted = [(p.get("role"), p["content"]) for p in body["paragraphs"] if p.get("role")]
    scores = {}
    for role in ROLES:
        wanted = [t for r, t in truth if r == role]
        got = [t for r, t in predicted if r == role]
        used: set[int] = set()
        matched = 0
        for text in wanted:
            for i, candidate in enumerate(got):
                if i not in used and _close(text, candidate):
                    used.add(i)
                    matched += 1
                    break
        scores[role] = (matched, len(got), len(wanted))
    return scores


def order_score(content: str, pages: list[SyntheticPage]) -> tuple[int, int, int]:
    """(pairs in order, pairs, paragraphs found): true paragraphs located by their first line."""
    positions = []
    search_from = 0
    for page in pages:
        for paragraph in page.paragraphs:
            key = paragraph.text.split("\n")[0][:30]
            found = [m.start() for m in re.finditer(re.escape(key), content)]
            if found:
                nearest = min(found, key=lambda p: (p < search_from, abs(p - search_from)))
                positions.append(nearest)
                search_from = nearest
    pairs = list(itertools.combinations(positions, 2))
    return sum(a < b for a, b in pairs), len(pairs), len(positions)


def figure_score(body: dict[str, Any], pages: list[SyntheticPage]) -> tuple[int, int]:
    truth = [e.caption for page in pages for e in page.elements if e.kind == "figure"]
    got = [f.get("caption", {}).get("content", "") for f in body["figures"]]
    matched = sum(any(_close(t, g) for g in got) for t in truth)
    return matched, len(truth)


def true_text(pages: list[SyntheticPage]) -> str:
    parts: list[str] = []
    for page in pages:
        for element in page.elements:
            if element.kind == "paragraph":
                parts.append(element.text)
            elif element.kind == "table":
                parts.extend(c.text for c in sorted(element.cells, key=lambda c: (c.row, c.column)))
            else:
                parts.append(element.caption)
    return "\n".join(parts)


def mark_scores(body: dict[str, Any], forms: list[FormPage]) -> dict[str, int]:
    """Counts for selection marks: true, predicted, matched, right state, labelled, label next."""
    counts = Counter[str]()
    content = body["content"]
    for page, form in zip(body["pages"], forms, strict=True):
        predicted = page.get("selectionMarks", [])
        counts["true"] += len(form.marks)
        counts["predicted"] += len(predicted)
        used: set[int] = set()
        for truth in form.marks:
            x0, y0, x1, y1 = truth.box
            for i, mark in enumerate(predicted):
                p = mark["polygon"]
                if (
                    i in used
                    or max(abs(p[0] - x0), abs(p[1] - y0), abs(p[4] - x1), abs(p[5] - y1)) > 3
                ):
                    continue
                used.add(i)
                counts["matched"] += 1
                counts["state"] += mark["state"] == truth.state
                if truth.label:
                    counts["labelled"] += 1
                    end = mark["span"]["offset"] + mark["span"]["length"]
                    after = content[end + 1 : end + 1 + len(truth.label)]
                    counts["label"] += _close(truth.label, after, 0.5)
                break
    return counts


def forms_tiff(forms: list[FormPage]) -> bytes:
    buffer = io.BytesIO()
    forms[0].image.save(
        buffer, format="TIFF", save_all=True, append_images=[f.image for f in forms[1:]]
    )
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=8)
    parser.add_argument("--seed", type=int, default=100)
    parser.add_argument("--forms", type=int, default=6, help="generated form pages (0: none)")
    args = parser.parse_args()

    pages = [make_page(seed=args.seed + n, number=n + 1) for n in range(args.pages)]
    pdf = io.BytesIO()
    pages[0].image.save(
        pdf,
        format="PDF",
        resolution=150.0,
        save_all=True,
        append_images=[p.image for p in pages[1:]],
    )
    pipeline = LayoutPipeline()
    pipeline.analyze(pdf.getvalue(), "warm.pdf", AnalyzeOptions(pages=parse_pages("1")))
    started = time.perf_counter()
    body = pipeline.analyze(pdf.getvalue(), "bench.pdf").to_json()
    elapsed = time.perf_counter() - started

    exact, close, cells = table_scores(body, pages)
    in_order, pairs, found = order_score(body["content"], pages)
    figures, figure_total = figure_score(body, pages)
    print(
        f"pages: {args.pages} generated (1100x1500 px drawn, PDF at 150 dpi, analysed at "
        f"200 dpi); {elapsed / args.pages:.2f} s/page in-process"
    )
    print(
        f"table cells: {exact}/{cells} exact ({exact / cells:.1%}), "
        f"{close}/{cells} within 10% CER ({close / cells:.1%})"
    )
    for role, (matched, predicted, true) in role_scores(body, pages).items():
        precision = matched / predicted if predicted else float("nan")
        recall = matched / true if true else float("nan")
        print(
            f"role {role:15s} precision {precision:.1%} ({matched}/{predicted}), "
            f"recall {recall:.1%} ({matched}/{true})"
        )
    print(
        f"reading order: {in_order}/{pairs} paragraph pairs in order ({in_order / pairs:.1%}), "
        f"{found}/{sum(len(p.paragraphs) for p in pages)} paragraphs located"
    )
    print(
        f"figures with caption: {figures}/{figure_total}; figures reported: "
        f"{len(body['figures'])}, tables reported: {len(body['tables'])} "
        f"(true: {figure_total}, {sum(len(p.tables) for p in pages)})"
    )
    cer = character_error_rate(true_text(pages), body["content"])
    print(f"content CER vs true text: {cer:.2%}")
    counts = Counter(p.get("role") or "body" for p in body["paragraphs"])
    print("paragraphs by role:", dict(sorted(counts.items())))
    false_marks = sum(len(p.get("selectionMarks", [])) for p in body["pages"])
    print(f"selection marks on the report pages (none drawn): {false_marks}")
    if args.forms:
        forms = [make_form_page(args.seed + n) for n in range(args.forms)]
        started = time.perf_counter()
        marked = pipeline.analyze(forms_tiff(forms), "forms.tif").to_json()
        elapsed = time.perf_counter() - started
        m = mark_scores(marked, forms)
        print(
            f"forms: {args.forms} generated pages (1100x1500 px TIFF), "
            f"{elapsed / args.forms:.2f} s/page in-process"
        )
        print(
            f"selection marks: precision {m['matched'] / max(m['predicted'], 1):.1%} "
            f"({m['matched']}/{m['predicted']}), recall {m['matched'] / max(m['true'], 1):.1%} "
            f"({m['matched']}/{m['true']}), state accuracy {m['state'] / max(m['matched'], 1):.1%} "
            f"({m['state']}/{m['matched']}), followed by their label "
            f"{m['label'] / max(m['labelled'], 1):.1%} ({m['label']}/{m['labelled']})"
        )


if __name__ == "__main__":
    main()
