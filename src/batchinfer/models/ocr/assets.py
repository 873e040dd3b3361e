"""Where the PP-OCR ONNX files live: inside the installed rapidocr-onnxruntime wheel.

We only borrow the model files from that package (never its sessions or code), and locate them
through the package path so nothing is ever downloaded at run time.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

MODELS_PACKAGE = "rapidocr_onnxruntime"
DET_FILE = "ch_PP-OCRv4_det_infer.onnx"
CLS_FILE = "ch_ppocr_mobile_v2.0_cls_infer.onnx"
REC_FILE = "ch_PP-OCRv4_rec_infer.onnx"


@dataclass(frozen=True)
class OcrModelFiles:
    """The three graphs of the PP-OCR pipeline."""

    detection: Path
    classification: Path
    recognition: Path

    def as_dict(self) -> dict[str, Path]:
        return {"det": self.detection, "cls": self.classification, "rec": self.recognition}


def models_dir() -> Path:
    """The wheel's `models/` folder, found without importing the package.

    Importing rapidocr_onnxruntime would run its own module code (and its onnxruntime import);
    `find_spec` only resolves where the package is installed.
    """
    spec = importlib.util.find_spec(MODELS_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"package {MODELS_PACKAGE} is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def ocr_model_files(folder: Path | None = None) -> OcrModelFiles:
    """Paths of the det/cls/rec models; raises FileNotFoundError naming what is missing."""
    base = folder if folder is not None else models_dir()
    files = OcrModelFiles(base / DET_FILE, base / CLS_FILE, base / REC_FILE)
    missing = [str(p) for p in files.as_dict().values() if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"PP-OCR model files missing: {', '.join(missing)}")
    return files
