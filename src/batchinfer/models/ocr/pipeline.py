"""`prebuilt-read`: bytes in, Document Intelligence AnalyzeResult out.

Stages per page: decode → DB detection → crop → angle classification → CTC recognition →
layout. The three PP-OCR graphs come from the rapidocr-onnxruntime wheel but run through our
`SessionCache`, so they share provider selection, thread sizing and one load per process with
every other model. PP-OCR models were trained on BGR images (OpenCV order), so pages are
flipped from RGB before entering the graphs.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from batchinfer.inference.runtime import (
    InferenceSessionPort,
    SessionSource,
    default_session_cache,
)
from batchinfer.models.ocr.assets import OcrModelFiles, ocr_model_files
from batchinfer.models.ocr.classify import ClassificationSettings, classify_and_rotate
from batchinfer.models.ocr.crop import crop_line
from batchinfer.models.ocr.decode import DecodeLimits, PageImage, iter_pages
from batchinfer.models.ocr.detect import DetectionSettings, detect
from batchinfer.models.ocr.layout import ReadLine, build_page
from batchinfer.models.ocr.recognize import RecognitionSettings, load_charset, recognize
from batchinfer.models.ocr.result import AnalyzeResult, Page

MODEL_ID = "prebuilt-read"


@dataclass(frozen=True)
class OcrSettings:
    detection: DetectionSettings = field(default_factory=DetectionSettings)
    classification: ClassificationSettings = field(default_factory=ClassificationSettings)
    recognition: RecognitionSettings = field(default_factory=RecognitionSettings)
    limits: DecodeLimits = field(default_factory=DecodeLimits)
    use_angle_classifier: bool = True
    min_text_confidence: float = 0.5  # lines read with less are dropped as noise
    pdf_unit: str = "inch"  # DI reports PDF pages in inches; "pixel" keeps rendered pixels


class OcrPipeline:
    """The read model. Cheap to construct once its sessions are cached; safe to share."""

    model_id = MODEL_ID

    def __init__(self, sessions: SessionSource | None = None, settings: OcrSettings | None = None,
                 files: OcrModelFiles | None = None) -> None:
        source = sessions if sessions is not None else default_session_cache()
        self.settings = settings or OcrSettings()
        self.files = files or ocr_model_files()
        self.det: InferenceSessionPort = source.get(self.files.detection)
        self.cls: InferenceSessionPort = source.get(self.files.classification)
        self.rec: InferenceSessionPort = source.get(self.files.recognition)
        self.charset = load_charset(self.rec)

    @property
    def providers(self) -> dict[str, str]:
        """Which execution provider each stage actually runs on."""
        return {"det": self.det.provider, "cls": self.cls.provider, "rec": self.rec.provider}

    def analyze(self, data: bytes, filename: str = "") -> AnalyzeResult:
        """OCR every page. Raises `DocumentError` subclasses for bad or unsupported input."""
        pages: list[Page] = []
        texts: list[str] = []
        length = 0  # len("\n".join(texts)), kept incrementally
        for image in iter_pages(data, filename, self.settings.limits):
            offset = length + 1 if texts else 0
            page, page_texts = self.analyze_page(image, offset)
            pages.append(page)
            for text in page_texts:
                length += len(text) + (1 if texts else 0)
                texts.append(text)
        return AnalyzeResult(model_id=self.model_id, content="\n".join(texts), pages=pages)

    def read_lines(self, rgb: np.ndarray) -> list[ReadLine]:
        """Detected and recognized lines of one RGB page, in page pixels, unordered."""
        bgr = np.ascontiguousarray(rgb[..., ::-1])
        boxes = detect(self.det, bgr, self.settings.detection)
        crops = [crop_line(bgr, box.quad) for box in boxes]
        if self.settings.use_angle_classifier and crops:
            classify_and_rotate(self.cls, crops, self.settings.classification)
        readings = recognize(self.rec, [c.image for c in crops], self.charset,
                             self.settings.recognition)
        return [ReadLine(quad=c.quad, reading=r) for c, r in zip(crops, readings)
                if r.text.strip() and r.confidence >= self.settings.min_text_confidence]

    def analyze_page(self, image: PageImage, offset: int) -> tuple[Page, list[str]]:
        lines = self.read_lines(image.rgb)
        if image.dpi and self.settings.pdf_unit == "inch":
            scale, unit = 1.0 / image.dpi, "inch"
        else:
            scale, unit = image.pixel_scale, "pixel"  # reduced rasters report original pixels
        return build_page(image.number, image.width, image.height, lines, offset, scale, unit)


def create_pipeline(sessions: SessionSource | None = None) -> OcrPipeline:
    """Registry factory for `prebuilt-read`."""
    return OcrPipeline(sessions)
