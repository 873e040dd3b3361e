"""Batched ONNX runs: how rows are cut, that outputs are reassembled in order, and the settings."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pytest

from batchinfer.inference.batching import (
    DEFAULT_BATCH_IMAGES,
    DEFAULT_BATCH_ROWS,
    batch_spans,
    run_batched,
)
from batchinfer.settings import AppSettings


class RowWise:
    """A fake session: doubles `x`, echoes `s`, and records the rows of every run."""

    input_names = ("x", "s")
    provider = "CPUExecutionProvider"
    metadata: Mapping[str, str] = {}

    def __init__(self) -> None:
        self.runs: list[int] = []

    def run(self, inputs: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        self.runs.append(len(inputs["x"]))
        return [inputs["x"] * 2, inputs["s"]]


@pytest.mark.parametrize("count,size", [(0, 4), (1, 4), (4, 4), (5, 4), (9, 4), (10, 3), (7, 1)])
def test_spans_cover_every_row_once_in_order_without_one_row_tails(count: int, size: int) -> None:
    spans = batch_spans(count, size)
    covered = [row for lo, hi in spans for row in range(lo, hi)]
    assert covered == list(range(count))
    assert all(hi - lo <= size + 1 for lo, hi in spans)
    if count >= 2 and size >= 2:
        assert all(hi - lo >= 2 for lo, hi in spans)


def test_a_one_row_tail_joins_the_batch_before_it() -> None:
    assert batch_spans(9, 4) == [(0, 4), (4, 9)]
    assert batch_spans(10, 4) == [(0, 4), (4, 8), (8, 10)]


@pytest.mark.parametrize("size", [1, 2, 3, 7, 50, 1000])
def test_batched_outputs_equal_one_run(size: int) -> None:
    x = np.arange(50, dtype=np.float32).reshape(25, 2)
    s = np.array([f"r{i}" for i in range(25)], dtype=object).reshape(25, 1)
    one, batched = RowWise(), RowWise()
    whole = one.run({"x": x, "s": s})
    got = run_batched(batched, {"x": x, "s": s}, size)
    assert [g.tolist() for g in got] == [w.tolist() for w in whole]
    assert batched.runs == [hi - lo for lo, hi in batch_spans(25, size)]
    assert max(batched.runs) <= size + 1 and sum(batched.runs) == 25


def test_feeds_of_different_lengths_are_refused() -> None:
    with pytest.raises(ValueError, match="row count"):
        run_batched(RowWise(), {"x": np.zeros((3, 1)), "s": np.zeros((4, 1))}, 2)


def test_settings_carry_the_batch_sizes() -> None:
    defaults = AppSettings.from_env({})
    assert defaults.onnx_batch_rows == DEFAULT_BATCH_ROWS
    assert defaults.onnx_batch_images == DEFAULT_BATCH_IMAGES
    chosen = AppSettings.from_env(
        {"BATCHINFER_ONNX_BATCH_ROWS": "4096", "BATCHINFER_ONNX_BATCH_IMAGES": "32"}
    )
    assert (chosen.onnx_batch_rows, chosen.onnx_batch_images) == (4096, 32)
    with pytest.raises(ValueError, match="BATCHINFER_ONNX_BATCH_ROWS"):
        AppSettings.from_env({"BATCHINFER_ONNX_BATCH_ROWS": "many"})
