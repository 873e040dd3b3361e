"""Running the exported core graph through ONNX Runtime.

The one place this package touches a session: it goes through `batchinfer.inference.runtime`'s
process-wide `SessionCache` (providers, threads and caching are decided there), via `_session`,
so swapping the source of sessions is a one-line change.
"""

from __future__ import annotations

import os

import numpy as np

from batchinfer.inference.batching import batch_spans
from batchinfer.inference.runtime import InferenceSessionPort, default_session_cache
from batchinfer.models.mvad.export import INPUT_NAME


def _session(path: str | os.PathLike[str]) -> InferenceSessionPort:
    """The shared session for a saved model.onnx (built once per process)."""
    return default_session_cache().get(path)


def run_core(
    session: InferenceSessionPort,
    block: np.ndarray,
    sliding_window: int,
    batch_rows: int | None = None,
) -> np.ndarray:
    """Normalised residuals z [T-w+1, V] (float32) for a block [T, V] with T ≥ w.

    A block yielding one output row gets one dummy row appended (its output is dropped): ONNX
    Runtime's CPU GEMM takes a different kernel for a single-row product on some shapes, and
    that changes the last bits. With ≥ 2 rows every output row is bitwise the same whatever the
    block length, which chunked inference relies on.

    `batch_rows` caps the output rows of one ONNX run (`BATCHINFER_ONNX_BATCH_ROWS`): a longer
    block runs as several overlapping sub-blocks (each with its w-1 rows of history), whose
    outputs are, for the same reason, bitwise those of one run. None: the block is one run.
    """
    x = np.ascontiguousarray(block, dtype=np.float32)
    n_out = x.shape[0] - sliding_window + 1
    if n_out < 1:
        raise ValueError(
            f"block of {x.shape[0]} rows is shorter than the sliding window {sliding_window}"
        )
    spans = batch_spans(n_out, batch_rows) if batch_rows else [(0, n_out)]
    if len(spans) > 1:
        return np.concatenate(
            [_run_block(session, x[lo : hi + sliding_window - 1], hi - lo) for lo, hi in spans]
        )
    return _run_block(session, x, n_out)


def _run_block(session: InferenceSessionPort, x: np.ndarray, n_out: int) -> np.ndarray:
    if n_out == 1:
        return session.run({INPUT_NAME: np.concatenate([x, x[-1:]])})[0][:1]
    return session.run({INPUT_NAME: x})[0]
