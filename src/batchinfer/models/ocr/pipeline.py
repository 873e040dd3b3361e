"""`prebuilt-read`: bytes in, Document Intelligence AnalyzeResult out.

Stages per page: decode → DB detection → crop → angle classification → CTC recognition →
paragraphs in reading order (see `reading`). The three PP-OCR graphs come from the
rapidocr-onnxruntime wheel but run through our
`SessionCache`, so they share provider selection, thread sizing and one load per process with
every other model. PP-OCR models were trained on BGR images (OpenCV order), so pages are
flipped from RGB before entering the graphs.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import cv2
import numpy as np

from batchinfer.inference.runtime import (
    InferenceSessionPort,
    SessionSource,
    default_session_cache,
)
from batchinfer.models.addons import ADDON_FEATURES

if TYPE_CHECKING:
    from batchinfer.models.addons.barcodes import FoundBarcode
from batchinfer.models.ocr.assets import OcrModelFiles, ocr_model_files
from batchinfer.models.ocr.classify import ClassificationSettings, classify_and_rotate
from batchinfer.models.ocr.crop import LineCrop, crop_line
from batchinfer.models.ocr.decode import DecodeLimits, PageImage, iter_pages
from batchinfer.models.ocr.detect import DetectionSettings, detect
from batchinfer.models.ocr.glyphs import is_dot_row, refine
from batchinfer.models.ocr.layout import (
    ContentWriter,
    ReadLine,
    TextLine,
    page_angle,
    region_polygon,
    text_lines,
)
from batchinfer.models.ocr.options import AnalyzeOptions
from batchinfer.models.ocr.reading import group_paragraphs, xy_cut_order
from batchinfer.models.ocr.recognize import (
    RecognitionSettings,
    Recognized,
    load_charset,
    recognize,
)
from batchinfer.models.ocr.result import AnalyzeResult, BoundingRegion, Page, Paragraph, Span

MODEL_ID = "prebuilt-read"
BATCH_SIZE_ENV = "BATCHINFER_OCR_BATCH_SIZE"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OcrSettings:
    detection: DetectionSettings = field(default_factory=DetectionSettings)
    classification: ClassificationSettings = field(default_factory=ClassificationSettings)
    recognition: RecognitionSettings = field(default_factory=RecognitionSettings)
    limits: DecodeLimits = field(default_factory=DecodeLimits)
    use_angle_classifier: bool = True
    min_text_confidence: float = 0.5  # lines read with less are dropped as noise (rows of dots
    # the ink shows, `glyphs.is_dot_row`, are kept)
    pdf_unit: str = "inch"  # DI reports PDF pages in inches; "pixel" keeps rendered pixels
    # `analyze_many`: line crops of several pages/documents wait for one shared recognition
    # pass until this many are pending (bounds the crops held in memory)
    shared_lines: int = 256

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> OcrSettings:
        """Defaults, with the recognition batch size from `BATCHINFER_OCR_BATCH_SIZE`."""
        env = os.environ if environ is None else environ
        raw = env.get(BATCH_SIZE_ENV, "").strip()
        if not raw:
            return cls()
        try:
            size = int(raw)
        except ValueError:
            size = 0
        if size < 1:
            log.warning("ignoring %s=%r: not a positive integer", BATCH_SIZE_ENV, raw)
            return cls()
        return cls(recognition=RecognitionSettings(batch_size=size))


HIGH_RESOLUTION_DPI = 300  # PDF rendering with features=ocrHighResolution (default 200)
HIGH_RESOLUTION_SIDE = 1920  # detector input side with ocrHighResolution (default 960)
FEATURES = frozenset({"ocrHighResolution"}) | ADDON_FEATURES
CJK_LANGUAGES = frozenset({"zh", "ja", "ko"})
CONTENT_FORMATS = ("text",)


def high_resolution(settings: OcrSettings) -> OcrSettings:
    """Settings that read small print: PDFs rendered at 300 dpi, detection on 1920 px."""
    return replace(
        settings,
        limits=replace(settings.limits, pdf_dpi=max(settings.limits.pdf_dpi, HIGH_RESOLUTION_DPI)),
        detection=replace(
            settings.detection,
            max_side_len=max(settings.detection.max_side_len, HIGH_RESOLUTION_SIDE),
        ),
    )


@dataclass(frozen=True)
class PageInfo:
    """A page's number, size and scale without its pixels (what the result needs of it)."""

    number: int
    width: int
    height: int
    dpi: float | None = None
    pixel_scale: float = 1.0

    @classmethod
    def of(cls, image: PageImage) -> PageInfo:
        return cls(image.number, image.width, image.height, image.dpi, image.pixel_scale)


@dataclass(frozen=True)
class PageFrame:
    """How page pixels map to the units the result reports."""

    scale: float
    unit: str
    digits: int

    @classmethod
    def of(cls, image: PageImage | PageInfo, pdf_unit: str) -> PageFrame:
        if image.dpi and pdf_unit == "inch":
            return cls(1.0 / image.dpi, "inch", 4)
        return cls(image.pixel_scale, "pixel", 1)  # reduced rasters report original pixels

    def new_page(self, image: PageImage | PageInfo, angle: float) -> Page:
        return Page(
            page_number=image.number,
            angle=round(angle, 2),
            width=round(image.width * self.scale, self.digits),
            height=round(image.height * self.scale, self.digits),
            unit=self.unit,
        )


def ordered_paragraphs(lines: list[TextLine]) -> list[list[TextLine]]:
    """Lines grouped into paragraphs, paragraphs in reading order (columns kept whole)."""
    if not lines:
        return []
    boxes = [ln.box for ln in lines]
    gap = max(8.0, 0.8 * float(np.median([ln.height for ln in lines])))
    order = xy_cut_order(boxes, gap)
    return [[lines[i] for i in group] for group in group_paragraphs(boxes, order)]


def write_paragraph(
    writer: ContentWriter,
    page: Page,
    lines: list[TextLine],
    frame: PageFrame,
    role: str | None = None,
    escape: bool = False,
) -> Paragraph:
    """Write one paragraph's lines into `content`; the Paragraph points at them."""
    span = writer.lines(lines, page, frame.scale, frame.digits, escape=escape)
    return Paragraph(
        content="\n".join(ln.content for ln in lines),
        spans=[span],
        bounding_regions=[
            BoundingRegion(page.page_number, region_polygon(lines, frame.scale, frame.digits))
        ],
        role=role,
    )


class ReadDocument:
    """A `prebuilt-read` result being built page by page, in page order."""

    def __init__(self, pdf_unit: str) -> None:
        self.pdf_unit = pdf_unit
        self.writer = ContentWriter("\n")
        self.pages: list[Page] = []
        self.paragraphs: list[Paragraph] = []

    def add_page(
        self,
        image: PageImage | PageInfo,
        lines: list[ReadLine],
        barcodes: Sequence[FoundBarcode] | None = None,
    ) -> None:
        """Add one page; `barcodes` (read from its pixels with `features=barcodes`, else None)
        go into `content` after its text, as the service writes them."""
        frame = PageFrame.of(image, self.pdf_unit)
        angle = page_angle(lines)
        page = frame.new_page(image, angle)
        start = None
        for group in ordered_paragraphs(text_lines(lines, angle)):
            self.writer.element_break()
            paragraph = write_paragraph(self.writer, page, group, frame)
            start = paragraph.spans[0].offset if start is None else start
            self.paragraphs.append(paragraph)
        if start is not None:  # a page without text has no spans, as in the service
            page.spans.append(Span(start, self.writer.length - start))
        if barcodes is not None:
            from batchinfer.models.addons.barcodes import add_barcodes  # circular

            add_barcodes(self.writer, page, list(barcodes), frame.scale, frame.digits)
        self.pages.append(page)

    def result(self, model_id: str, options: AnalyzeOptions) -> AnalyzeResult:
        result = AnalyzeResult(
            model_id=model_id,
            content=self.writer.text,
            pages=self.pages,
            string_index_type=options.string_index_type,
            content_format="text",
            paragraphs=self.paragraphs,
            styles=[],
        )
        if "languages" in options.features:
            from batchinfer.models.addons.languages import detect_languages  # circular

            result.languages = detect_languages(result)
        return result


class OcrPipeline:
    """The read model. Cheap to construct once its sessions are cached; safe to share."""

    model_id = MODEL_ID
    features = FEATURES
    content_formats = CONTENT_FORMATS

    def __init__(
        self,
        sessions: SessionSource | None = None,
        settings: OcrSettings | None = None,
        files: OcrModelFiles | None = None,
    ) -> None:
        source = sessions if sessions is not None else default_session_cache()
        self.settings = settings or OcrSettings.from_env()
        self.files = files or ocr_model_files()
        # PP-OCR graphs carry unfused activations; their simplified forms run ~25% faster
        self.det: InferenceSessionPort = source.get(self.files.detection, simplify=True)
        self.cls: InferenceSessionPort = source.get(self.files.classification, simplify=True)
        self.rec: InferenceSessionPort = source.get(self.files.recognition, simplify=True)
        self.charset = load_charset(self.rec)

    @property
    def providers(self) -> dict[str, str]:
        """Which execution provider each stage actually runs on."""
        return {"det": self.det.provider, "cls": self.cls.provider, "rec": self.rec.provider}

    @staticmethod
    def scripts_for(options: AnalyzeOptions) -> str:
        """Decoding scripts from `locale`: CJK languages keep every class, any other locale
        reads Latin only, no locale decides per page ("auto": Latin unless CJK is seen)."""
        if options.locale is None:
            return "auto"
        return "all" if options.locale.split("-")[0].lower() in CJK_LANGUAGES else "latin"

    def settings_for(self, options: AnalyzeOptions) -> OcrSettings:
        if "ocrHighResolution" in options.features:
            return high_resolution(self.settings)
        return self.settings

    def analyze(
        self, data: bytes, filename: str = "", options: AnalyzeOptions | None = None
    ) -> AnalyzeResult:
        """OCR the (selected) pages. Raises `DocumentError` subclasses for bad input."""
        options = options or AnalyzeOptions()
        settings = self.settings_for(options)
        document = ReadDocument(settings.pdf_unit)
        for image in iter_pages(data, filename, settings.limits, options.pages):
            lines = self.read_lines(image.rgb, settings, self.scripts_for(options))
            found = None
            if "barcodes" in options.features:
                from batchinfer.models.addons.barcodes import read_barcodes  # circular

                found = read_barcodes(image.rgb)
            document.add_page(image, lines, found)
        return document.result(self.model_id, options)

    def analyze_many(self, documents: Sequence[DocumentInput]) -> list[AnalyzeResult | Exception]:
        """Several documents at once, their line crops recognised in shared model calls.

        Results equal `analyze` on each document alone; a document that fails (bad input,
        unreadable blob) gives its exception in its place and the others go on.
        """
        from batchinfer.models.ocr.shared import analyze_documents

        return analyze_documents(self, documents)

    def line_crops(self, rgb: np.ndarray, settings: OcrSettings | None = None) -> list[LineCrop]:
        """Detected lines of one RGB page as upright crops (angle-classified), unordered."""
        settings = settings or self.settings
        bgr = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR)  # cheaper than [..., ::-1]
        boxes = detect(self.det, bgr, settings.detection)
        crops = [crop_line(bgr, box.quad) for box in boxes]
        if settings.use_angle_classifier and crops:
            classify_and_rotate(self.cls, crops, settings.classification)
        return crops

    def read_lines(
        self, rgb: np.ndarray, settings: OcrSettings | None = None, scripts: str = "auto"
    ) -> list[ReadLine]:
        """Detected and recognized lines of one RGB page, in page pixels, unordered."""
        settings = settings or self.settings
        crops = self.line_crops(rgb, settings)
        readings = recognize(
            self.rec, [c.image for c in crops], self.charset, settings.recognition, scripts
        )
        return kept_lines(crops, readings, settings)


def kept_lines(
    crops: Sequence[LineCrop], readings: Sequence[Recognized], settings: OcrSettings
) -> list[ReadLine]:
    """Lines worth reporting (some text, read with at least `min_text_confidence`, or a row
    of dots the ink shows), each reading refined by what its crop's ink shows (`glyphs`)."""
    refined = [refine(r, c.image) for c, r in zip(crops, readings, strict=True)]
    return [
        ReadLine(quad=c.quad, reading=r)
        for c, r in zip(crops, refined, strict=False)
        if r.text.strip()
        and (r.confidence >= settings.min_text_confidence or is_dot_row(r, c.image))
    ]


@dataclass(frozen=True)
class DocumentInput:
    """One document for `analyze_many`: its bytes are loaded only when its turn comes."""

    load: Callable[[], bytes]
    filename: str = ""
    options: AnalyzeOptions | None = None


def create_pipeline(sessions: SessionSource | None = None) -> OcrPipeline:
    """Registry factory for `prebuilt-read`."""
    return OcrPipeline(sessions)
