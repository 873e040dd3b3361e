"""Running the exported core graph through ONNX Runtime.

The one place this package touches a session: it goes through `batchinfer.inference.runtime`'s
process-wide `SessionCache` (providers, threads and caching are decided there), via `_session`,
so swapping the source of sessions is a one-line change.
"""

from __future__ import annotations

import os

import numpy as np

from batchinfer.inference.runtime import InferenceSessionPort, default_session_cache
from batchinfer.models.mvad.export import INPUT_NAME


def _session(path: str | os.PathLike[str]) -> InferenceSessionPort:
    """The shared session for a saved model.onnx (built once per process)."""
    return default_session_cache().get(path)


def run_core(session: InferenceSessionPort, block: np.ndarray, sliding_window: int) -> np.ndarray:
    """Normalised residuals z [T-w+1, V] (float32) for a block [T, V] with T ≥ w.

    A block yielding one output row gets one dummy row appended (its output is dropped): ONNX
    Runtime's CPU GEMM takes a different kernel for a single-row product on some shapes, and
    that changes the last bits. With ≥ 2 rows every output row is bitwise the same whatever the
    block length, which chunked inference relies on.
    """
    x = np.ascontiguousarray(block, dtype=np.float32)
    n_out = x.shape[0] - sliding_window + 1
    if n_out < 1:
        raise ValueError(
            f"block of {x.shape[0]} rows is shorter than the sliding window {sliding_window}"
        )
    if n_out == 1:
        return session.run({INPUT_NAME: np.concatenate([x, x[-1:]])})[0][:1]
    return session.run({INPUT_NAME: x})[0]
