"""Command line for trying the service: prepare sample data, submit a batch, watch it finish.

    python -m batchinfer prepare [--data-root .data]
    python -m batchinfer demo [--endpoint http://127.0.0.1:7071/api]
    python -m batchinfer analyze-batch --source URL [--prefix P] --result URL [--result-prefix P]

It speaks only the public HTTP API (the same calls the official SDK makes), using the standard
library so it runs anywhere the service does.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from batchinfer.api.document_intelligence.schemas import API_VERSION

SAMPLES = "samples"


def sample_paths(data_root: Path) -> tuple[Path, Path]:
    """The local container folder the demo reads and writes, and its documents folder."""
    container = data_root.resolve() / "storage" / SAMPLES
    return container, container / "docs"


def prepare(data_root: Path) -> Path:
    """Generate the sample documents once (idempotent); returns the container folder."""
    from batchinfer.samples import generate_sample_documents

    container, docs = sample_paths(data_root)
    generated = generate_sample_documents(docs)
    print(f"sample documents ready: {len(generated)} files in {docs}")
    from batchinfer.endpoints.digits import install_sample_endpoint

    endpoint = install_sample_endpoint(data_root)
    print(
        f"batch endpoint ready: '{endpoint['endpoint']}' (deployment "
        f"'{endpoint['deployment']}'), {endpoint['count']} digit images in {endpoint['images']}"
    )
    prepare_tabular(data_root)
    return container


def prepare_tabular(data_root: Path) -> None:
    """The dataset inference API's sample: a dataset and a model trained on it (once)."""
    from batchinfer.tabular.samples import prepare_sample

    sample = prepare_sample(data_root)
    print(
        f"sample dataset ready: {sample.dataset_id} ({sample.row_count} rows), "
        f"model {sample.model_id} (woodwide API)"
    )


def _request(method: str, url: str, body: Any = None) -> tuple[int, dict[str, str], Any]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            raw = resp.read()
            return resp.status, dict(resp.headers), json.loads(raw) if raw else None
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        return exc.code, dict(exc.headers), json.loads(raw) if raw else None


def _bar(percent: int, width: int = 30) -> str:
    filled = width * percent // 100
    return f"[{'#' * filled}{'.' * (width - filled)}] {percent:3d}%"


def analyze_batch(endpoint: str, model: str, body: dict[str, Any], poll: float) -> int:
    url = (
        f"{endpoint.rstrip('/')}/documentintelligence/documentModels/{model}:analyzeBatch"
        f"?api-version={API_VERSION}"
    )
    try:
        status, headers, answer = _request("POST", url, body)
    except urllib.error.URLError as exc:
        print(f"cannot reach {endpoint}: {exc.reason} (is `make run` serving?)", file=sys.stderr)
        return 2
    if status != 202:
        print(f"request refused ({status}): {json.dumps(answer)}", file=sys.stderr)
        return 1
    operation = headers.get("Operation-Location") or headers.get("operation-location") or ""
    print(f"submitted: {operation}")
    while True:
        _, _, job = _request("GET", operation)
        print(
            f"\r{job['status']:>10} {_bar(int(job.get('percentCompleted', 0)))}",
            end="",
            file=sys.stderr,
            flush=True,
        )
        if job["status"] in ("succeeded", "failed", "canceled"):
            print(file=sys.stderr)
            break
        time.sleep(poll)
    print(json.dumps(job, indent=2))
    return 0 if job["status"] == "succeeded" else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m batchinfer")
    commands = parser.add_subparsers(dest="command", required=True)
    prep = commands.add_parser("prepare", help="generate the sample documents")
    prep.add_argument("--data-root", default=".data")
    demo = commands.add_parser("demo", help="analyze the sample documents and print the report")
    demo.add_argument("--endpoint", default="http://127.0.0.1:7071/api")
    demo.add_argument("--data-root", default=".data")
    batch = commands.add_parser("analyze-batch", help="submit any analyzeBatch request")
    batch.add_argument("--endpoint", default="http://127.0.0.1:7071/api")
    batch.add_argument("--model", default="prebuilt-read")
    batch.add_argument("--source", required=True, help="container URL (file://, Azurite, Azure)")
    batch.add_argument("--prefix", default="")
    batch.add_argument("--result", required=True, help="result container URL")
    batch.add_argument("--result-prefix", default="results/")
    batch.add_argument("--overwrite", action="store_true")
    for sub in (demo, batch):
        sub.add_argument("--poll", type=float, default=0.5)
    args = parser.parse_args(argv)
    if args.command == "prepare":
        prepare(Path(args.data_root))
        return 0
    if args.command == "demo":
        container = prepare(Path(args.data_root))
        url = container.as_uri()
        body = {
            "azureBlobSource": {"containerUrl": url, "prefix": "docs/"},
            "resultContainerUrl": url,
            "resultPrefix": "results/",
            "overwriteExisting": True,
        }
        return analyze_batch(args.endpoint, "prebuilt-read", body, args.poll)
    body = {
        "azureBlobSource": {"containerUrl": args.source, "prefix": args.prefix},
        "resultContainerUrl": args.result,
        "resultPrefix": args.result_prefix,
        "overwriteExisting": args.overwrite,
    }
    return analyze_batch(args.endpoint, args.model, body, args.poll)


if __name__ == "__main__":
    sys.exit(main())
