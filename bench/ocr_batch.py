"""OCR batch throughput: the whole service versus a plain loop over the same pipeline.

In one run: renders N single-page documents with known text, then measures
  1. pages/s of a plain Python loop: read file -> OcrPipeline.analyze -> write .ocr.json;
  2. pages/s through the service: HTTP analyzeBatch on the embedded host -> results written;
and prints the ratio (service / loop; target >= 0.9 on 2 CPU cores, 100 pages) and the character
error rate of the service's results against the rendered text. Prints, asserts nothing.

    .venv/bin/python bench/ocr_batch.py [--pages 100]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.host import HostProcess  # noqa: E402

WORDS = (
    "invoice total amount due paid order number customer account balance date "
    "payment shipping address contact phone email reference quantity price tax "
    "delivery service product report quarter revenue cost growth region team"
).split()


def render_documents(folder: Path, pages: int, seed: int = 7) -> dict[str, str]:
    from batchinfer.samples import load_font, render_page

    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    font = load_font()
    expected = {}
    for index in range(pages):
        lines = tuple(
            " ".join(rng.choice(WORDS) for _ in range(5)) + f" {rng.randint(10, 9999)}"
            for _ in range(4)
        )
        name = f"page-{index:04d}.png"
        render_page(lines, font).save(folder / name, format="PNG")
        expected[name] = "\n".join(lines)
    return expected


def plain_loop(docs: Path, out: Path) -> float:
    from batchinfer.inference.registry import build_default_registry

    pipeline = build_default_registry().get("prebuilt-read").create()
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
        f"{base}/api/documentintelligence/documentModels/prebuilt-read:analyzeBatch"
        "?api-version=2024-11-30"
    )
    body = {
        "azureBlobSource": {"containerUrl": container.as_uri(), "prefix": prefix},
        "resultContainerUrl": container.as_uri(),
        "resultPrefix": result_prefix,
        "overwriteExisting": True,
    }
    r = requests.post(url, json=body, timeout=30)
    r.raise_for_status()
    operation = r.headers["Operation-Location"]
    while True:
        job = requests.get(operation, timeout=30).json()
        if job["status"] in ("succeeded", "failed", "canceled"):
            return job
        time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pages", type=int, default=100)
    args = parser.parse_args()
    from batchinfer.models.ocr.metrics import character_error_rate

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        container = root / "storage" / "bench"
        expected = render_documents(container / "docs", args.pages)
        render_documents(container / "warmup", 2, seed=1)
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
        rates = []
        for name, text in expected.items():
            analysis = json.loads((container / "service-out" / f"{name}.ocr.json").read_text())
            rates.append(character_error_rate(text, analysis["content"]))
        print(f"character error rate: mean {sum(rates) / len(rates):.4f}, max {max(rates):.4f}")


if __name__ == "__main__":
    main()
