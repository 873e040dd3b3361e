"""`prebuilt-layout` throughput: the whole service versus a plain loop over the same pipeline.

Generates N single-page layout documents (`models/layout/synthetic.py`: header, title, two
columns, a ruled table, a figure), then measures
  1. pages/s of a plain Python loop: read file -> LayoutPipeline.analyze -> write .ocr.json;
  2. pages/s through the service: HTTP analyzeBatch (prebuilt-layout) on the embedded host;
and prints the ratio (service / loop; target >= 0.9). Prints, asserts nothing.

    .venv/bin/python bench/layout_speed.py [--pages 20]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.host import HostProcess  # noqa: E402

MODEL = "prebuilt-layout"


def make_documents(folder: Path, pages: int, seed: int) -> None:
    from batchinfer.models.layout.synthetic import make_page

    folder.mkdir(parents=True, exist_ok=True)
    for index in range(pages):
        make_page(seed=seed + index).image.save(folder / f"page-{index:04d}.png", format="PNG")


def plain_loop(docs: Path, out: Path) -> float:
    from batchinfer.inference.registry import build_default_registry

    pipeline = build_default_registry().get(MODEL).create()
    files = sorted(docs.iterdir())
    pipeline.analyze(files[0].read_bytes(), files[0].name)  # warm-up: load the models
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    for path in files:
        result = pipeline.analyze(path.read_bytes(), path.name).to_json()
        (out / f"{path.name}.ocr.json").write_text(json.dumps(result))
    return time.perf_counter() - started


def run_service(base: str, container: Path, prefix: str, result_prefix: str) -> dict:
    url = (
        f"{base}/api/documentintelligence/documentModels/{MODEL}:analyzeBatch"
        "?api-version=2024-11-30"
    )
    body = {
        "azureBlobSource": {"containerUrl": container.as_uri(), "prefix": prefix},
        "resultContainerUrl": container.as_uri(),
        "resultPrefix": result_prefix,
        "overwriteExisting": True,
    }
    response = requests.post(url, json=body, timeout=30)
    response.raise_for_status()
    operation = response.headers["Operation-Location"]
    while True:
        job = requests.get(operation, timeout=30).json()
        if job["status"] in ("succeeded", "failed", "canceled"):
            return job
        time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pages", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        container = root / "storage" / "bench"
        make_documents(container / "docs", args.pages, seed=500)
        make_documents(container / "warmup", 1, seed=1)
        print(
            f"machine: {platform.machine()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}; {args.pages} pages"
        )
        loop_seconds = plain_loop(container / "docs", root / "loop-out")
        loop_rate = args.pages / loop_seconds
        print(f"plain loop:  {loop_seconds:7.2f} s  {loop_rate:6.2f} pages/s")
        host = HostProcess(
            REPO,
            root / "host",
            env={"BATCHINFER_DATA_ROOT": str(root), "FUNCHOST_LOG_LEVEL": "WARNING"},
        )
        host.start()
        try:
            run_service(host.base_url, container, "warmup/", "warmup-out/")  # load models
            started = time.perf_counter()
            job = run_service(host.base_url, container, "docs/", "service-out/")
            service_seconds = time.perf_counter() - started
        finally:
            host.stop()
        service_rate = args.pages / service_seconds
        result = job["result"]
        print(
            f"service:     {service_seconds:7.2f} s  {service_rate:6.2f} pages/s "
            f"({result['succeededCount']} succeeded, {result['failedCount']} failed)"
        )
        print(f"ratio service/loop: {service_rate / loop_rate:.2f} (target >= 0.9)")
        same = sum(
            json.loads((container / "service-out" / f"{p.name}.ocr.json").read_text())["content"]
            == json.loads((root / "loop-out" / f"{p.name}.ocr.json").read_text())["content"]
            for p in sorted((container / "docs").iterdir())
        )
        print(f"identical content from both: {same}/{args.pages}")


if __name__ == "__main__":
    main()
