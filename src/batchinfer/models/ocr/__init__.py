"""`prebuilt-read`: PP-OCRv4 text reading with a Document Intelligence-shaped result.

Modules: `decode` (bytes → pages), `detect`, `crop`, `classify`, `recognize` (the three ONNX
stages), `layout` (reading order, words, spans), `result` (AnalyzeResult dataclasses),
`metrics` (character error rate), `errors`, `assets` (model file locations), `pipeline`.
"""

from batchinfer.models.ocr.errors import (
    ContentTooLargeError,
    DocumentError,
    InvalidContentError,
    UnsupportedContentError,
)
from batchinfer.models.ocr.pipeline import MODEL_ID, OcrPipeline, OcrSettings
from batchinfer.models.ocr.result import AnalyzeResult

__all__ = [
    "MODEL_ID",
    "AnalyzeResult",
    "ContentTooLargeError",
    "DocumentError",
    "InvalidContentError",
    "OcrPipeline",
    "OcrSettings",
    "UnsupportedContentError",
]
