"""Reading several documents with shared recognition batches (`OcrPipeline.analyze_many`).

Why it exists: an activity handles several items, and recognition is most of `prebuilt-read`'s
cost. Detection and angle classification stay per page, but the line crops of all pages of all
the activity's documents wait in one queue and go through the recognizer together, in batches
of equal padded width (one model call per batch), which is what keeps a GPU busy. A crop's
scores do not depend on its batch companions (`recognize.run_recognizer`), and the per-page
decisions (script choice, kept lines, reading order) are still taken per page, so every result
equals `analyze` on its document alone.

Failures stay with their item: a document that cannot be loaded or decoded is reported in its
place while the others go on, and if a shared model call fails, each document's pages are
recognised again on their own so only the document that caused it fails.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from batchinfer.models.addons.barcodes import FoundBarcode, read_barcodes
from batchinfer.models.ocr.crop import LineCrop
from batchinfer.models.ocr.decode import iter_pages
from batchinfer.models.ocr.options import AnalyzeOptions
from batchinfer.models.ocr.pipeline import (
    DocumentInput,
    OcrPipeline,
    OcrSettings,
    PageInfo,
    ReadDocument,
    kept_lines,
)
from batchinfer.models.ocr.recognize import LineScores, decode_lines, run_recognizer
from batchinfer.models.ocr.result import AnalyzeResult


@dataclass
class _PendingPage:
    """A page whose crops wait for the shared recognition pass."""

    document: int
    info: PageInfo
    crops: list[LineCrop]
    settings: OcrSettings
    scripts: str
    barcodes: list[FoundBarcode] | None  # read from the page's pixels with features=barcodes


class _Batch:
    """The documents of one `analyze_many` call and the pages waiting for recognition."""

    def __init__(self, pipeline: OcrPipeline, count: int) -> None:
        self.pipeline = pipeline
        self.outcomes: list[AnalyzeResult | Exception | None] = [None] * count
        self.documents: dict[int, tuple[ReadDocument, AnalyzeOptions]] = {}
        self.pending: list[_PendingPage] = []

    def fail(self, index: int, exc: Exception) -> None:
        self.outcomes[index] = exc
        self.documents.pop(index, None)

    def add(self, page: _PendingPage) -> None:
        self.pending.append(page)
        if sum(len(p.crops) for p in self.pending) >= page.settings.shared_lines:
            self.flush()

    def flush(self) -> None:
        """Recognise every pending page's crops together, then finish those pages in order."""
        pages = [p for p in self.pending if p.document in self.documents]
        self.pending = []
        groups: dict[object, list[_PendingPage]] = {}
        for page in pages:  # pages read with other recognition settings cannot share a call
            groups.setdefault(page.settings.recognition, []).append(page)
        scores: dict[int, list[LineScores]] = {}
        for group in groups.values():
            scores.update(self._scores(group))
        for page in pages:
            if page.document not in self.documents or id(page) not in scores:
                continue
            try:
                readings = decode_lines(
                    scores[id(page)],
                    self.pipeline.charset,
                    page.settings.recognition,
                    page.scripts,
                )
                lines = kept_lines(page.crops, readings, page.settings)
                self.documents[page.document][0].add_page(page.info, lines, page.barcodes)
            except Exception as exc:  # the document fails alone, said in its place
                self.fail(page.document, exc)

    def _scores(self, pages: list[_PendingPage]) -> dict[int, list[LineScores]]:
        """Scores per page (by id): one shared pass, or per document if that pass fails."""
        try:
            return _split(self.pipeline, pages)
        except Exception:  # find the document that caused it
            found: dict[int, list[LineScores]] = {}
            for document in dict.fromkeys(p.document for p in pages):
                mine = [p for p in pages if p.document == document]
                try:
                    found.update(_split(self.pipeline, mine))
                except Exception as exc:
                    self.fail(document, exc)
            return found

    def finish(self) -> list[AnalyzeResult | Exception]:
        self.flush()
        for index, (document, options) in self.documents.items():
            self.outcomes[index] = document.result(self.pipeline.model_id, options)
        return [
            o if o is not None else RuntimeError("document not analyzed") for o in self.outcomes
        ]


def _split(pipeline: OcrPipeline, pages: list[_PendingPage]) -> dict[int, list[LineScores]]:
    images = [crop.image for page in pages for crop in page.crops]
    scores = run_recognizer(pipeline.rec, images, pages[0].settings.recognition) if images else []
    out: dict[int, list[LineScores]] = {}
    start = 0
    for page in pages:
        out[id(page)] = scores[start : start + len(page.crops)]
        start += len(page.crops)
    return out


def analyze_documents(
    pipeline: OcrPipeline, documents: Sequence[DocumentInput]
) -> list[AnalyzeResult | Exception]:
    """Each document's result or the exception it failed with, in input order."""
    batch = _Batch(pipeline, len(documents))
    for index, document in enumerate(documents):
        options = document.options or AnalyzeOptions()
        try:
            settings = pipeline.settings_for(options)
            scripts = pipeline.scripts_for(options)
            batch.documents[index] = (ReadDocument(settings.pdf_unit), options)
            data = document.load()
            for image in iter_pages(data, document.filename, settings.limits, options.pages):
                crops = pipeline.line_crops(image.rgb, settings)
                found = read_barcodes(image.rgb) if "barcodes" in options.features else None
                info = PageInfo.of(image)
                batch.add(_PendingPage(index, info, crops, settings, scripts, found))
        except Exception as exc:  # reported in the document's place
            batch.fail(index, exc)
    return batch.finish()
