"""The inference runtime port (`runtime`: ONNX sessions, providers, threads) and the model
registry (`registry`: model id → files and pipeline factory)."""

from batchinfer.inference.registry import (
    AnalyzePipeline,
    ModelNotFoundError,
    ModelRegistry,
    ModelSpec,
    build_default_registry,
)
from batchinfer.inference.runtime import (
    DEFAULT_SESSION_CACHE,
    InferenceSessionPort,
    OnnxSession,
    RuntimeSettings,
    SessionCache,
    SessionSource,
    default_session_cache,
    select_providers,
)

__all__ = [
    "DEFAULT_SESSION_CACHE",
    "AnalyzePipeline",
    "InferenceSessionPort",
    "ModelNotFoundError",
    "ModelRegistry",
    "ModelSpec",
    "OnnxSession",
    "RuntimeSettings",
    "SessionCache",
    "SessionSource",
    "build_default_registry",
    "default_session_cache",
    "select_providers",
]
