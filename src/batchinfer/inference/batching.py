"""Cutting one activity's rows into ONNX runs of a bounded size.

Why: an activity hands the model all of its rows (a row group, a mini-batch of files, a chunk
of timestamps) at once, which is what a GPU wants, but one unbounded run can take more device
memory than the card has. So each model family runs its rows in batches of at most
`BATCHINFER_ONNX_BATCH_ROWS` (or `BATCHINFER_ONNX_BATCH_IMAGES`) and concatenates the outputs.

No batch is ever a single row when the rows would allow otherwise: ONNX Runtime's CPU GEMM
takes a different kernel for a one-row product on some shapes (see models/mvad/core.py), and
batching must not change a result's last bits. A one-row tail is folded into the batch before it.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from batchinfer.inference.runtime import InferenceSessionPort

#: Default rows (table rows, anomaly timestamps) per ONNX run: larger than any woodwide row
#: group (≤ 50,000 rows), so a row group stays one run unless an operator lowers it.
DEFAULT_BATCH_ROWS = 65_536
#: Default images per ONNX run for image models (a mini-batch larger than this is split).
DEFAULT_BATCH_IMAGES = 256


def batch_spans(count: int, size: int) -> list[tuple[int, int]]:
    """[start, stop) of consecutive batches of at most `size` rows covering `count` rows.

    A last batch of one row is merged into the one before it (that batch then holds size + 1),
    so no batch is a single row unless `count` is 1.
    """
    size = max(1, size)
    if count <= 0:
        return []
    spans = [(lo, min(count, lo + size)) for lo in range(0, count, size)]
    if len(spans) > 1 and spans[-1][1] - spans[-1][0] == 1:
        spans[-2:] = [(spans[-2][0], count)]
    return spans


def run_batched(
    session: InferenceSessionPort, feeds: Mapping[str, np.ndarray], batch_rows: int
) -> list[np.ndarray]:
    """`session.run(feeds)` in batches of ≤ batch_rows along axis 0, outputs concatenated.

    Every feed must have the same first dimension, and every output must have one row per
    input row (what row-wise models — trees, linear models, classifiers — produce).
    """
    counts = {len(values) for values in feeds.values()}
    if len(counts) != 1:
        raise ValueError(f"feeds disagree on their row count: {sorted(counts)}")
    count = counts.pop()
    spans = batch_spans(count, batch_rows)
    if len(spans) <= 1:
        return session.run(feeds)
    parts = [session.run({k: v[lo:hi] for k, v in feeds.items()}) for lo, hi in spans]
    return [np.concatenate([part[i] for part in parts]) for i in range(len(parts[0]))]
