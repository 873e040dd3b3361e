"""Batch endpoint throughput: files/s through the service vs. a plain loop, same model and files.

In one run (prints, asserts nothing):
  1. the plain loop: for each PNG, read it, decode and scale it, run the digits ONNX model on
     it alone, append `file,prediction,probability` to a CSV;
  2. the endpoint: `make run`'s `digits` endpoint on the embedded host, invoked over REST on the
     same folder, timed from the POST to `Completed` (planning, one activity per mini-batch,
     writing predictions.csv and the log included).
Both use the same ONNX file and ONNX Runtime; the predictions are compared row by row.

    .venv/bin/python bench/endpoint_batch.py [--files 10000] [--mini-batch 10]
"""

from __future__ import annotations

import argparse
import csv
import io
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

WS = (
    "/subscriptions/bench/resourceGroups/bench/providers/"
    "Microsoft.MachineLearningServices/workspaces/bench"
)


def plain_loop(model: Path, folder: Path, out: Path) -> float:
    """Seconds for read → same model → append CSV, one file at a time."""
    import numpy as np
    import onnxruntime as ort
    from PIL import Image

    from batchinfer.endpoints.digits import PIXEL_MAX
    from batchinfer.inference.runtime import RuntimeSettings, session_options

    session = ort.InferenceSession(
        str(model),
        sess_options=session_options(RuntimeSettings.from_env()),
        providers=["CPUExecutionProvider"],
    )
    start = time.perf_counter()
    with out.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        for path in sorted(folder.iterdir()):
            with Image.open(io.BytesIO(path.read_bytes())) as image:
                pixels = np.asarray(image.convert("L"), dtype=np.float32) * (PIXEL_MAX / 255.0)
            label, probabilities = session.run(None, {"X": pixels.reshape(1, -1)})
            writer.writerow([path.name, int(label[0]), f"{float(probabilities[0].max()):.6g}"])
    return time.perf_counter() - start


def through_endpoint(base: str, mini_batch: int) -> tuple[float, str, dict[str, str]]:
    scoring = f"{base}/api/azureml{WS}/batchEndpoints/digits/jobs"
    body: dict = {
        "properties": {
            "InputData": {
                "images": {
                    "JobInputType": "UriFolder",
                    "Uri": "azureml://datastores/workspaceblobstore/paths/bench",
                }
            }
        }
    }
    if mini_batch:
        body["properties"]["MiniBatchSize"] = mini_batch
    start = time.perf_counter()
    job = requests.post(scoring, json=body, timeout=120).json()
    while True:
        state = requests.get(f"{base}/api/azureml{WS}/jobs/{job['name']}", timeout=120).json()
        if state["properties"]["status"] in ("Completed", "Failed", "Canceled"):
            break
        time.sleep(0.1)
    elapsed = time.perf_counter() - start
    return elapsed, state["properties"]["status"], state["properties"]["properties"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument(
        "--mini-batch",
        type=int,
        default=0,
        help="override the deployment's miniBatchSize (100) for this job",
    )
    args = parser.parse_args()

    from batchinfer.endpoints.digits import (
        SAMPLE_MODEL_PATH,
        install_sample_endpoint,
        write_digit_folder,
    )

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        install_sample_endpoint(root)
        storage = root / "storage"
        folder = storage / "bench"
        write_digit_folder(folder, args.files)
        model = storage / SAMPLE_MODEL_PATH
        print(
            f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
            f"{platform.python_version()}, load average {os.getloadavg()[0]:.2f}"
        )
        print(
            f"files: {args.files} digit PNGs (8x8 grey), miniBatchSize "
            f"{args.mini_batch or 'of the deployment (100)'}"
        )

        loop_s = plain_loop(model, folder, root / "loop.csv")
        print(f"plain loop:        {loop_s:7.2f} s  {args.files / loop_s:8.0f} files/s")

        host = HostProcess(REPO, root / "host", env={"BATCHINFER_DATA_ROOT": str(root)})
        host.start()
        try:
            through_endpoint(host.base_url, args.mini_batch)  # warm-up: sessions, imports
            endpoint_s, status, props = through_endpoint(host.base_url, args.mini_batch)
        finally:
            host.stop()
        print(
            f"through endpoint:  {endpoint_s:7.2f} s  {args.files / endpoint_s:8.0f} files/s"
            f"  ({status}, {props.get('SucceededFiles')} succeeded)"
        )
        print(f"ratio endpoint / loop: {loop_s / endpoint_s:.2f}")
        output = storage / props["OutputUri"].split("/paths/", 1)[1]
        ours = {r[0]: r[1] for r in csv.reader(output.open())}
        plain = {r[0]: r[1] for r in csv.reader((root / "loop.csv").open())}
        print(f"predictions identical: {ours == plain}")
        print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
