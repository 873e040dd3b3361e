"""bench/gpu.py runs as is on a machine without a GPU: asked for CUDA, it says CUDA is not
available and measures every model family on CPU, printing each figure (no timing asserted)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from batchinfer.inference.runtime import CUDA, available_providers

REPO = Path(__file__).resolve().parents[2]
TINY = [
    "--pages", "1", "--lines", "3", "--rows", "3000", "--train-rows", "400", "--trees", "5",
    "--timestamps", "600", "--variables", "3", "--window", "28", "--files", "120",
    "--mini-batch", "50", "--batch-rows", "500", "--batch-images", "16",
]  # fmt: skip


def test_gpu_bench_prints_every_figure_and_falls_back_to_cpu_without_cuda() -> None:
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "gpu.py"), "--provider", "cuda", *TINY],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    has_cuda = CUDA in available_providers()
    if not has_cuda:
        assert "CUDA is not available" in out and "Measuring on CPU only" in out
    for family, unit, batch, count in [
        ("ocr", "pages", r"models/ocr default|BATCHINFER_OCR\S*", "1"),
        ("tabular", "rows", "500 rows", "3,000"),
        ("anomaly", "points", "500 timestamps", "1,800"),
        ("endpoint", "files", "16 images", "120"),
    ]:
        line = re.search(
            rf"^{family}\s+CPU\s+batch ({batch})\s+{count} {unit}\s+[\d.]+ s\s+[\d,.]+ {unit}/s",
            out,
            re.MULTILINE,
        )
        assert line, f"no CPU {family} figure in:\n{out}"
        summary = re.search(rf"^\s+{family}\s+CPU [\d,.]+ {unit}/s.*CUDA/CPU (\S+)", out, re.M)
        assert summary, out
        assert (summary.group(1) != "n/a") == has_cuda
    assert "CER mean" in out
