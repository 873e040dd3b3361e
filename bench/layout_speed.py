"""`prebuilt-layout` throughput: the whole service versus a plain loop over the same pipeline.

Generates N single-page layout documents (`models/layout/synthetic.py`: header, title, two
columns, a ruled table, a figure), then measures, in R interleaved rounds,
  1. pages/s of a plain Python loop: read file -> LayoutPipeline.analyze -> write .ocr.json;
  2. pages/s through the service: HTTP analyzeBatch (prebuilt-layout) on the embedded host,
     submit -> every result written;
alternating which side goes first in each round, so that a machine whose load changes during
the run (other jobs on a shared box) weighs on both sides alike. Prints each round's rates and
ratio, the median rate of each side and the ratio of the medians (target >= 0.9), with the
load average after each round. The job's status is polled every 0.5 s, as a client would
(polling at 20/s cost the host ~7% of a core and its GIL). Both sides are warm (models
loaded) before the first round. Prints, asserts nothing.

    .venv/bin/python bench/layout_speed.py [--pages 10] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

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


def load_pipeline() -> Any:
    from batchinfer.inference.registry import build_default_registry

    return build_default_registry().get(MODEL).create()


def plain_loop(pipeline: Any, docs: Path, out: Path) -> float:
    """Seconds for the loop over every document in `docs`."""
    files = sorted(docs.iterdir())
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    for path in files:
        result = pipeline.analyze(path.read_bytes(), path.name).to_json()
        (out / f"{path.name}.ocr.json").write_text(json.dumps(result))
    return time.perf_counter() - started


POLL_SECONDS = 0.5  # status polls while a job runs (the official client polls every 1 s)


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
        time.sleep(POLL_SECONDS)


def service_seconds(base: str, container: Path, result_prefix: str, pages: int) -> float:
    started = time.perf_counter()
    job = run_service(base, container, "docs/", result_prefix)
    seconds = time.perf_counter() - started
    result = job["result"]
    if job["status"] != "succeeded" or result["succeededCount"] != pages:
        raise SystemExit(f"service run failed: {job['status']} {result}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pages", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        container = root / "storage" / "bench"
        make_documents(container / "docs", args.pages, seed=500)
        make_documents(container / "warmup", 1, seed=1)
        print(
            f"machine: {platform.machine()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}; {args.pages} pages x {args.rounds} rounds; "
            f"load average {os.getloadavg()[0]:.1f}"
        )
        pipeline = load_pipeline()
        plain_loop(pipeline, container / "warmup", root / "warm-out")  # load the models
        host = HostProcess(
            REPO,
            root / "host",
            env={"BATCHINFER_DATA_ROOT": str(root), "FUNCHOST_LOG_LEVEL": "WARNING"},
        )
        host.start()
        loop_rates: list[float] = []
        service_rates: list[float] = []
        try:
            run_service(host.base_url, container, "warmup/", "warmup-out/")  # load models
            for n in range(args.rounds):
                sides = ("loop", "service") if n % 2 == 0 else ("service", "loop")
                rates: dict[str, float] = {}
                for side in sides:
                    if side == "loop":
                        seconds = plain_loop(pipeline, container / "docs", root / f"loop-{n}")
                    else:
                        seconds = service_seconds(
                            host.base_url, container, f"service-{n}/", args.pages
                        )
                    rates[side] = args.pages / seconds
                loop_rates.append(rates["loop"])
                service_rates.append(rates["service"])
                print(
                    f"round {n + 1} ({sides[0]} first): loop {rates['loop']:.3f} pages/s, "
                    f"service {rates['service']:.3f} pages/s, "
                    f"ratio {rates['service'] / rates['loop']:.2f}; "
                    f"load average {os.getloadavg()[0]:.1f}"
                )
        finally:
            host.stop()
        loop_median = statistics.median(loop_rates)
        service_median = statistics.median(service_rates)
        print(
            f"median: loop {loop_median:.3f} pages/s, service {service_median:.3f} pages/s; "
            f"ratio of medians {service_median / loop_median:.2f} (target >= 0.9); "
            f"per-round ratios "
            + ", ".join(f"{s / lo:.2f}" for s, lo in zip(service_rates, loop_rates, strict=True))
        )
        same = sum(
            json.loads((container / "service-0" / f"{p.name}.ocr.json").read_text())["content"]
            == json.loads((root / "loop-0" / f"{p.name}.ocr.json").read_text())["content"]
            for p in sorted((container / "docs").iterdir())
        )
        print(f"identical content from both (round 1): {same}/{args.pages}")


if __name__ == "__main__":
    main()
