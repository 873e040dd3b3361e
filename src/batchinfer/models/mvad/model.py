"""`TrainedModel`: what detection needs, saved as model.onnx + meta.json.

Why two files: the numeric core is an ONNX graph so inference runs on ONNX Runtime (and can move
to another provider unchanged); everything the numpy post-processing needs (variables, window,
thresholds, training correlations) is small, human-readable JSON next to it. Both are written
deterministically, so training the same data twice gives byte-identical files.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from batchinfer.inference.runtime import InferenceSessionPort
from batchinfer.models.mvad.core import _session
from batchinfer.models.mvad.data import AlignPolicy
from batchinfer.models.mvad.export import INPUT_NAME, OPSET, OUTPUT_NAME
from batchinfer.models.mvad.features import FEATURE_GROUPS, CoreParams, mean_taps

FORMAT_VERSION = 1
MODEL_KIND = "batchinfer.mvad.ridge-residual"
ONNX_FILE = "model.onnx"
META_FILE = "meta.json"


@dataclass(frozen=True)
class ScoringParams:
    """Per-timestamp score from normalised residuals z: raw = max(max|z|/max_threshold,
    rms(z)/rms_threshold); anomaly iff raw > 1. Thresholds = calibration quantile × margin."""

    max_threshold: float
    rms_threshold: float
    quantile: float
    margin: float

    def to_json(self) -> dict[str, float]:
        return {
            "maxThreshold": self.max_threshold,
            "rmsThreshold": self.rms_threshold,
            "quantile": self.quantile,
            "margin": self.margin,
        }

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> ScoringParams:
        return cls(
            float(obj["maxThreshold"]),
            float(obj["rmsThreshold"]),
            float(obj["quantile"]),
            float(obj["margin"]),
        )


@dataclass(frozen=True)
class InterpretationParams:
    """Training correlations (rounded to 4 decimals, so the JSON copy is the model's copy) and
    the |Δcorrelation| above which a variable is reported in `changedVariables`."""

    correlation: np.ndarray  # float64 [V, V]
    change_threshold: float
    max_changed_variables: int

    def to_json(self) -> dict[str, Any]:
        return {
            "trainingCorrelation": self.correlation.tolist(),
            "correlationChangeThreshold": self.change_threshold,
            "maxChangedVariables": self.max_changed_variables,
        }

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> InterpretationParams:
        return cls(
            np.array(obj["trainingCorrelation"], dtype=np.float64),
            float(obj["correlationChangeThreshold"]),
            int(obj["maxChangedVariables"]),
        )


@dataclass
class TrainedModel:
    """A trained detector. `core`/`onnx_bytes` are set after training; `onnx_path` after
    save/load (detection runs the saved file through the shared session cache)."""

    variables: tuple[str, ...]
    sliding_window: int
    align_policy: AlignPolicy
    scoring: ScoringParams
    interpretation: InterpretationParams
    diagnostics: dict[str, Any] = field(default_factory=dict)
    core: CoreParams | None = field(default=None, repr=False)
    onnx_bytes: bytes | None = field(default=None, repr=False)
    onnx_path: Path | None = None
    # seconds each ridge candidate took to fit and validate (set by `train`; not saved, as
    # timings would make the files differ between two trainings of the same data)
    training_seconds: list[float] | None = field(default=None, repr=False, compare=False)

    @property
    def n_variables(self) -> int:
        return len(self.variables)

    def session(self) -> InferenceSessionPort:
        if self.onnx_path is None:
            raise RuntimeError("the model has not been saved: call save(directory) first")
        return _session(self.onnx_path)

    def meta_json(self) -> dict[str, Any]:
        taps, dilation = mean_taps(self.sliding_window)
        digest = hashlib.sha256(self.onnx_bytes).hexdigest() if self.onnx_bytes else None
        return {
            "formatVersion": FORMAT_VERSION,
            "kind": MODEL_KIND,
            "variables": list(self.variables),
            "slidingWindow": self.sliding_window,
            "alignPolicy": self.align_policy.to_json(),
            "core": {
                "file": ONNX_FILE,
                "sha256": digest,
                "opset": OPSET,
                "input": INPUT_NAME,
                "output": OUTPUT_NAME,
                "features": list(FEATURE_GROUPS),
                "meanTaps": taps,
                "meanDilation": dilation,
            },
            "scoring": self.scoring.to_json(),
            "interpretation": self.interpretation.to_json(),
            "diagnostics": self.diagnostics,
        }

    def save(self, directory: str | os.PathLike[str]) -> Path:
        """Write model.onnx and meta.json into `directory` (created); returns the directory."""
        if self.onnx_bytes is None:
            raise RuntimeError("only a freshly trained model (with its ONNX bytes) can be saved")
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        (out / ONNX_FILE).write_bytes(self.onnx_bytes)
        text = json.dumps(self.meta_json(), indent=1, sort_keys=True, allow_nan=False)
        (out / META_FILE).write_text(text + "\n", encoding="utf-8")
        self.onnx_path = out / ONNX_FILE
        return out

    @classmethod
    def load(cls, directory: str | os.PathLike[str]) -> TrainedModel:
        """Read meta.json (checking format version and the ONNX file's hash)."""
        src = Path(directory)
        meta = json.loads((src / META_FILE).read_text(encoding="utf-8"))
        if meta.get("kind") != MODEL_KIND or meta.get("formatVersion") != FORMAT_VERSION:
            raise ValueError(
                f"{src / META_FILE}: unsupported model kind/version "
                f"{meta.get('kind')!r} v{meta.get('formatVersion')!r}"
            )
        onnx_bytes = (src / ONNX_FILE).read_bytes()
        expected = meta["core"].get("sha256")
        if expected and hashlib.sha256(onnx_bytes).hexdigest() != expected:
            raise ValueError(f"{src / ONNX_FILE} does not match the hash in {META_FILE}")
        return cls(
            variables=tuple(meta["variables"]),
            sliding_window=int(meta["slidingWindow"]),
            align_policy=AlignPolicy.from_json(meta["alignPolicy"]),
            scoring=ScoringParams.from_json(meta["scoring"]),
            interpretation=InterpretationParams.from_json(meta["interpretation"]),
            diagnostics=meta.get("diagnostics", {}),
            onnx_bytes=onnx_bytes,
            onnx_path=src / ONNX_FILE,
        )
