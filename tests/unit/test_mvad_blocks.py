"""Detect-batch blocks: chunk sizes, and the write-behind writer's failure handling."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

from batchinfer.anomaly.blocks import (
    CHUNK_POINTS,
    FIRST_CHUNK_TIMESTAMPS,
    BlockWriter,
    block_name,
    chunk_timestamps,
    load_block,
    plan_rows,
)
from batchinfer.jobs.store import JobStore
from batchinfer.models.mvad import MultivariateSeries
from batchinfer.storage import StorageAccessError
from batchinfer.storage.local import LocalFolderStore


@pytest.mark.parametrize("n_variables", [1, 5, 20, 300])
def test_chunks_start_small_and_grow_to_the_points_budget(n_variables: int) -> None:
    sizes = [chunk_timestamps(i, n_variables) for i in range(40)]
    assert sizes[:2] == [FIRST_CHUNK_TIMESTAMPS] * 2
    assert sizes == sorted(sizes)
    assert sizes[-1] == max(FIRST_CHUNK_TIMESTAMPS, CHUNK_POINTS // n_variables)
    for n in (1, 4_999, 12_000, 1_000_003):
        spans = plan_rows(n, n_variables)
        assert spans[0][0] == 0 and spans[-1][1] == n
        assert all(a[1] == b[0] for a, b in pairwise(spans))
        assert [hi - lo for lo, hi in spans[:-1]] == [
            chunk_timestamps(i, n_variables) for i in range(len(spans) - 1)
        ]


def _block(index: int) -> MultivariateSeries:
    return MultivariateSeries(
        np.arange(3, dtype=np.int64) + 10 * index,
        ("a", "b"),
        np.full((3, 2), index, dtype=np.float32),
    )


def test_writer_writes_every_block(tmp_path: Path) -> None:
    store = JobStore(LocalFolderStore(tmp_path))
    writer = BlockWriter(store, "job")
    for index in range(20):
        writer.write(index, _block(index))
    writer.wait()
    for index in range(20):
        block = load_block(store, "job", index, ("a", "b"))
        assert np.array_equal(block.values, _block(index).values)


def test_a_failed_write_is_raised_and_discard_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = JobStore(LocalFolderStore(tmp_path))
    real = store.save_bytes

    def flaky(job: str, name: str, data: bytes) -> None:
        if name == block_name(3):
            raise StorageAccessError("disk full")
        real(job, name, data)

    monkeypatch.setattr(store, "save_bytes", flaky)
    writer = BlockWriter(store, "job")
    with pytest.raises(StorageAccessError):
        for index in range(30):
            writer.write(index, _block(index))
        writer.wait()
    writer.discard()
    assert not [p for p in tmp_path.rglob("*.npz")]
