"""Shared by the 10,000-file test and its benchmark: many tiny documents, one job, peak RSS."""

from __future__ import annotations

import io
import time
from pathlib import Path

import requests


def tiny_png() -> bytes:
    """A 32x32 blank page: a real image the OCR model analyzes (and finds no text in)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), "white").save(buffer, format="PNG")
    return buffer.getvalue()


def write_documents(folder: Path, count: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    data = tiny_png()
    for index in range(count):
        (folder / f"doc-{index:06d}.png").write_bytes(data)


def peak_rss_mib(pid: int) -> float:
    """VmHWM (the high-water mark of resident memory) of a process, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("VmHWM not found")


def run_batch(
    base_url: str, container: Path, prefix: str, result_prefix: str, timeout: float = 3600
) -> dict:
    """Submit analyzeBatch over a local container folder and wait for the final status."""
    url = (
        f"{base_url}/api/documentintelligence/documentModels/prebuilt-read:analyzeBatch"
        "?api-version=2024-11-30"
    )
    body = {
        "azureBlobSource": {"containerUrl": container.as_uri(), "prefix": prefix},
        "resultContainerUrl": container.as_uri(),
        "resultPrefix": result_prefix,
    }
    response = requests.post(url, json=body, timeout=60)
    assert response.status_code == 202, response.text
    operation = response.headers["Operation-Location"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = requests.get(operation, timeout=60).json()
        if job["status"] in ("succeeded", "failed", "canceled"):
            return job
        time.sleep(0.5)
    raise AssertionError(f"batch did not finish within {timeout}s")
