"""Model registry: model id → what to load and how to build its pipeline.

Why a registry: the API and the batch activities address models by id (as Document
Intelligence does), while pipelines are constructed lazily, in the worker that needs them,
from the shared session cache. Pipeline modules are imported only inside factories, so looking
up or listing models never loads a model.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from batchinfer.inference.runtime import SessionSource, default_session_cache


class AnalyzeResultLike(Protocol):
    def to_json(self) -> dict[str, Any]: ...


class AnalyzePipeline(Protocol):
    """What every registered model offers: bytes (and a name hint) in, a JSON-able result out."""

    model_id: str

    def analyze(
        self, data: bytes, filename: str = "", options: Any = None
    ) -> AnalyzeResultLike: ...


PipelineFactory = Callable[[SessionSource], AnalyzePipeline]


class ModelNotFoundError(LookupError):
    """No model is registered under this id (the API answers 404 ModelNotFound)."""

    code = "ModelNotFound"

    def __init__(self, model_id: str, known: list[str]) -> None:
        self.model_id = model_id
        self.message = f"Model '{model_id}' not found; available models: {', '.join(known)}."
        super().__init__(self.message)


@dataclass(frozen=True)
class ModelSpec:
    id: str
    description: str
    onnx_files: Mapping[str, Path]  # role ("det", "rec", ...) → file
    factory: PipelineFactory = field(repr=False)
    features: frozenset[str] = frozenset()  # `features` values the model honours
    content_formats: tuple[str, ...] = ("text",)  # `outputContentFormat` values it writes

    def create(self, sessions: SessionSource | None = None) -> AnalyzePipeline:
        """Build the pipeline on `sessions` (the process-wide cache by default)."""
        return self.factory(sessions if sessions is not None else default_session_cache())


class ModelRegistry:
    """Model ids → specs. Populated at start-up, then read-only in practice."""

    def __init__(self, specs: list[ModelSpec] | None = None) -> None:
        self._specs: dict[str, ModelSpec] = {}
        for spec in specs or []:
            self.register(spec)

    def register(self, spec: ModelSpec) -> None:
        if spec.id in self._specs:
            raise ValueError(f"model id already registered: {spec.id}")
        self._specs[spec.id] = spec

    def get(self, model_id: str) -> ModelSpec:
        try:
            return self._specs[model_id]
        except KeyError:
            raise ModelNotFoundError(model_id, self.ids()) from None

    def ids(self) -> list[str]:
        return sorted(self._specs)

    def __contains__(self, model_id: object) -> bool:
        return model_id in self._specs

    def __iter__(self) -> Iterator[ModelSpec]:
        return iter(self._specs[i] for i in self.ids())


def _read_factory(sessions: SessionSource) -> AnalyzePipeline:
    from batchinfer.models.ocr.pipeline import OcrPipeline

    return OcrPipeline(sessions)


def prebuilt_read_spec() -> ModelSpec:
    """`prebuilt-read`: PP-OCRv4 detection, angle classification and recognition."""
    from batchinfer.models.ocr.assets import ocr_model_files

    return ModelSpec(
        id="prebuilt-read",
        description="Printed text lines and words (PP-OCRv4 det/cls/rec, ONNX), "
        "Document Intelligence read result.",
        onnx_files=ocr_model_files().as_dict(),
        factory=_read_factory,
        features=frozenset({"ocrHighResolution", "languages", "barcodes"}),
    )


def _layout_factory(sessions: SessionSource) -> AnalyzePipeline:
    from batchinfer.models.layout.pipeline import LayoutPipeline

    return LayoutPipeline(sessions)


def prebuilt_layout_spec() -> ModelSpec:
    """`prebuilt-layout`: the read model plus layout regions (PicoDet, CDLA classes) and table
    structure (SLANet-plus)."""
    from batchinfer.models.layout.assets import layout_model_files
    from batchinfer.models.ocr.assets import ocr_model_files

    return ModelSpec(
        id="prebuilt-layout",
        description="Text, paragraphs with roles, tables, figures and sections, as text or "
        "markdown (PP-OCRv4 + PicoDet CDLA layout + SLANet-plus tables, ONNX).",
        onnx_files={**ocr_model_files().as_dict(), **layout_model_files().as_dict()},
        factory=_layout_factory,
        features=frozenset({"ocrHighResolution", "languages", "barcodes"}),
        content_formats=("text", "markdown"),
    )


def build_default_registry() -> ModelRegistry:
    """A registry with every built-in model."""
    return ModelRegistry([prebuilt_read_spec(), prebuilt_layout_spec()])
