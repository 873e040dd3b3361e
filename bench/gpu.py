"""GPU-ready inference: the same models on the same inputs, on CUDA and on CPU (prints figures).

For each execution provider (`--provider cuda`, `cpu`, or `both`, the default: CUDA when this
onnxruntime build and machine can run it, then always CPU) it measures, with the product's own
code and sessions chosen the way the service chooses them (`BATCHINFER_ONNX_PROVIDERS`):

- **OCR**: pages/s of `prebuilt-read` through the registry's public `analyze` call, on rendered
  pages with known text (the character error rate is printed, so a faster provider cannot hide
  worse reading);
- **tabular**: rows/s of `tabular.scoring.score_table` (what an infer-batch chunk activity runs),
  row group by row group, with a gradient-boosted model trained by `tabular.training.train`;
- **anomaly**: points/s (timestamps × variables) of `models.mvad.detect.score_chunk` over the
  chunks the service cuts a detect-batch into, with a model trained by `models.mvad.train`;
- **endpoint**: files/s of the digits `image-classification` task over PNG bytes, mini-batch by
  mini-batch, as a batch endpoint job's activities run it.

Each line names the provider the sessions really run on and the batch size; a last table gives
the CUDA/CPU speed ratio of each figure. Without CUDA (no `onnxruntime-gpu`, no device, or a
provider that cannot start) it says so and measures CPU only. Prints, asserts nothing.

    .venv/bin/python bench/gpu.py                      # both providers, GPU-box sizes (< 5 min)
    .venv/bin/python bench/gpu.py --provider cpu --pages 2 --rows 2000 --timestamps 4000 \\
        --variables 4 --window 28 --files 100 --train-rows 500 --trees 5
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import random
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402

from batchinfer.inference.runtime import (  # noqa: E402
    CPU,
    CUDA,
    PROVIDERS_ENV,
    SessionCache,
    available_providers,
    default_session_cache,
    machine_threads,
)
from batchinfer.settings import AppSettings  # noqa: E402

WORDS = (
    "invoice total amount due paid order number customer account balance date payment "
    "shipping address contact phone email reference quantity price tax delivery service "
    "product report quarter revenue cost growth region team schedule meeting review"
).split()
COLUMNS = 20


@dataclass
class Figure:
    family: str
    unit: str
    provider: str
    batch: str
    count: int
    seconds: float
    note: str = ""

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds > 0 else float("inf")

    def line(self) -> str:
        return (
            f"{self.family:<9} {self.provider:<22} batch {self.batch:<22} "
            f"{self.count:>10,} {self.unit:<6} {self.seconds:8.2f} s "
            f"{_rate(self.rate):>14} {self.unit}/s  {self.note}"
        )


@contextlib.contextmanager
def providers_env(providers: tuple[str, ...]) -> Iterator[None]:
    """Sessions built inside use these providers, as `BATCHINFER_ONNX_PROVIDERS` does in the app."""
    before = os.environ.get(PROVIDERS_ENV)
    os.environ[PROVIDERS_ENV] = ",".join(providers)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(PROVIDERS_ENV, None)
        else:
            os.environ[PROVIDERS_ENV] = before


def cuda_unavailable(probe_model: Path) -> str | None:
    """None when a session really runs on CUDA here; else why not, in words."""
    have = available_providers()
    if CUDA not in have:
        return (
            f"this onnxruntime build has no {CUDA} (it offers {', '.join(have)}); "
            "install onnxruntime-gpu (as infra/docker/Dockerfile does) on a machine with a GPU"
        )
    session = SessionCache().get(probe_model, (CUDA, CPU))
    if session.provider != CUDA:
        return f"{CUDA} is compiled in but could not start here (no device or driver?)"
    return None


def cpu_only_ops(model_path: Path) -> str:
    """The graph's `ai.onnx.ml` operators (trees, linear classifiers, scalers): ONNX Runtime has
    CPU kernels only for them, so they run on CPU inside a CUDA session too."""
    import onnx

    graph = onnx.load(str(model_path), load_external_data=False).graph
    ops = sorted({n.op_type for n in graph.node if n.domain == "ai.onnx.ml"})
    return f"; CPU-only ops inside: {', '.join(ops)}" if ops else ""


def timed(work: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = work()
    return time.perf_counter() - started, result


# ------------------------------------------------------------------------------------- OCR
def render_pages(count: int, lines_per_page: int, seed: int = 11) -> list[tuple[str, bytes, str]]:
    """(name, PNG bytes, true text) of pages of random words, rendered by the samples' code."""
    import io

    from batchinfer.samples import load_font, render_page

    rng = random.Random(seed)
    font = load_font()
    pages = []
    for index in range(count):
        lines = tuple(
            " ".join(rng.choice(WORDS) for _ in range(6)) + f" {rng.randint(10, 99999)}"
            for _ in range(lines_per_page)
        )
        buffer = io.BytesIO()
        render_page(lines, font).save(buffer, format="PNG")
        pages.append((f"page-{index:04d}.png", buffer.getvalue(), "\n".join(lines)))
    return pages


def ocr_batch_label() -> str:
    """The OCR batching settings in force (whatever models/ocr reads), else its defaults."""
    chosen = [f"{k}={v}" for k, v in sorted(os.environ.items()) if k.startswith("BATCHINFER_OCR")]
    return ",".join(chosen) or "models/ocr default"


def bench_ocr(pages: list[tuple[str, bytes, str]], warmup: int) -> Figure:
    from batchinfer.inference.registry import build_default_registry
    from batchinfer.models.ocr.metrics import character_error_rate

    pipeline = build_default_registry().get("prebuilt-read").create(default_session_cache())
    for name, data, _ in pages[:warmup]:
        pipeline.analyze(data, name)
    seconds, results = timed(lambda: [pipeline.analyze(data, name) for name, data, _ in pages])
    errors = [
        character_error_rate(truth, result.to_json()["content"])
        for (_, _, truth), result in zip(pages, results, strict=True)
    ]
    providers = getattr(pipeline, "providers", {})
    provider = (providers or {}).get("rec") or providers_label()
    return Figure(
        "ocr",
        "pages",
        _short(provider),
        ocr_batch_label(),
        len(pages),
        seconds,
        f"CER mean {sum(errors) / len(errors):.4f}",
    )


# --------------------------------------------------------------------------------- tabular
def tabular_table(rows: int, seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    values = rng.normal(size=(rows, COLUMNS)).astype(np.float32)
    columns: dict[str, Any] = {f"x{i}": values[:, i] for i in range(COLUMNS)}
    columns["label"] = np.where(values[:, 0] + values[:, 1] * values[:, 2] > 0, "yes", "no")
    return pa.table(columns)


@dataclass
class TabularModel:
    path: Path
    meta: dict[str, Any]


def train_tabular(folder: Path, rows: int, trees: int) -> TabularModel:
    from batchinfer.tabular.training import train

    trained = train(
        tabular_table(rows, seed=1), "prediction", label_column="label",
        params={"n_estimators": trees},
    )  # fmt: skip
    path = folder / "tabular.onnx"
    path.write_bytes(trained.onnx)
    return TabularModel(path, trained.meta)


def bench_tabular(model: TabularModel, table: pa.Table, batch_rows: int) -> Figure:
    from batchinfer.tabular.ingest import rows_per_chunk
    from batchinfer.tabular.scoring import score_table

    session = default_session_cache().get(model.path)
    group = rows_per_chunk(table.num_rows)
    groups = [table.slice(lo, group) for lo in range(0, table.num_rows, group)]
    score_table(session, model.meta, groups[0].slice(0, 1000), 0, batch_rows)  # warm-up

    def run() -> int:
        first = 0
        for part in groups:
            first += score_table(session, model.meta, part, first, batch_rows).num_rows
        return first

    seconds, scored = timed(run)
    return Figure(
        "tabular",
        "rows",
        _short(session.provider),
        f"{batch_rows:,} rows",
        scored,
        seconds,
        f"{len(groups)} row groups of {group:,}{cpu_only_ops(model.path)}",
    )


# --------------------------------------------------------------------------------- anomaly
@dataclass
class AnomalyData:
    model: Any
    series: Any


def train_anomaly(folder: Path, timestamps: int, variables: int, window: int) -> AnomalyData:
    from batchinfer.models.mvad.detect import prepare
    from batchinfer.models.mvad.synthetic import make_correlated_series
    from batchinfer.models.mvad.train import train

    train_len = max(window * 4, 3000)
    series = make_correlated_series(train_len + timestamps, variables, seed=5)
    model = train(series.rows(0, train_len), window)
    model.save(folder / "mvad")
    aligned, _ = prepare(model, series.rows(train_len, train_len + timestamps))
    return AnomalyData(model, aligned)


def bench_anomaly(data: AnomalyData, batch_rows: int) -> Figure:
    from batchinfer.anomaly.blocks import plan_rows
    from batchinfer.models.mvad.detect import score_chunk

    model, series = data.model, data.series
    w = model.sliding_window
    spans = plan_rows(series.n_timestamps, model.n_variables)
    blocks = [
        (series.rows(max(0, lo - (w - 1)), hi), lo - max(0, lo - (w - 1))) for lo, hi in spans
    ]
    score_chunk(model, blocks[0][0], blocks[0][1], 10, batch_rows)  # warm-up: load the session

    def run() -> int:
        return sum(score_chunk(model, b, h, 10, batch_rows).n_rows for b, h in blocks)

    seconds, rows = timed(run)
    return Figure(
        "anomaly",
        "points",
        _short(model.session().provider),
        f"{batch_rows:,} timestamps",
        rows * model.n_variables,
        seconds,
        f"{len(spans)} chunks, {model.n_variables} variables, slidingWindow {w}",
    )


# -------------------------------------------------------------------------------- endpoint
def bench_endpoint(
    model_path: Path, files: list[tuple[str, bytes]], mini_batch: int, batch_images: int
) -> Figure:
    from batchinfer.endpoints.tasks import IMAGE_CLASSIFICATION, ScoreError, TaskCache

    task = TaskCache(default_session_cache()).get(
        IMAGE_CLASSIFICATION, str(model_path), {"pixel_max": "16"}, batch_images
    )
    task.score(files[:mini_batch])  # warm-up

    def run() -> int:
        scored = 0
        for lo in range(0, len(files), mini_batch):
            results = task.score(files[lo : lo + mini_batch])
            scored += sum(not isinstance(r, ScoreError) for r in results)
        return scored

    seconds, scored = timed(run)
    if scored != len(files):
        raise SystemExit(f"endpoint: {len(files) - scored} files failed to score")
    provider = default_session_cache().get(model_path).provider
    return Figure(
        "endpoint",
        "files",
        _short(provider),
        f"{batch_images:,} images",
        scored,
        seconds,
        f"mini-batches of {mini_batch}{cpu_only_ops(model_path)}",
    )


# ------------------------------------------------------------------------------------ main
def _rate(value: float) -> str:
    """Three significant figures for small rates (0.123 pages/s), thousands separators above."""
    return f"{value:,.0f}" if value >= 1000 else f"{value:.3g}"


def _short(provider: str) -> str:
    return provider.replace("ExecutionProvider", "")


def providers_label() -> str:
    return os.environ.get(PROVIDERS_ENV, "auto")


def arguments() -> argparse.Namespace:
    settings = AppSettings.from_env()
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--provider", choices=("cuda", "cpu", "both"), default="both")
    parser.add_argument("--pages", type=int, default=60, help="OCR pages")
    parser.add_argument("--lines", type=int, default=24, help="text lines per OCR page")
    parser.add_argument("--rows", type=int, default=2_000_000, help="tabular rows scored")
    parser.add_argument("--train-rows", type=int, default=20_000, help="tabular training rows")
    parser.add_argument("--trees", type=int, default=100, help="tabular model trees")
    parser.add_argument("--timestamps", type=int, default=400_000, help="anomaly timestamps")
    parser.add_argument("--variables", type=int, default=20, help="anomaly variables")
    parser.add_argument("--window", type=int, default=300, help="anomaly slidingWindow")
    parser.add_argument("--files", type=int, default=20_000, help="endpoint digit PNGs")
    parser.add_argument("--mini-batch", type=int, default=100, help="endpoint miniBatchSize")
    parser.add_argument(
        "--batch-rows",
        type=int,
        default=settings.onnx_batch_rows,
        help="rows/timestamps per ONNX run (default: BATCHINFER_ONNX_BATCH_ROWS)",
    )
    parser.add_argument(
        "--batch-images",
        type=int,
        default=settings.onnx_batch_images,
        help="images per ONNX run (default: BATCHINFER_ONNX_BATCH_IMAGES)",
    )
    return parser.parse_args()


def main() -> int:
    args = arguments()
    import tempfile

    from batchinfer.endpoints.digits import digit_images, train_digits_onnx

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores ({machine_threads()} usable), "
        f"Python {platform.python_version()}; onnxruntime providers: "
        f"{', '.join(available_providers())}",
        flush=True,
    )
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        digits_model = folder / "digits.onnx"
        digits_model.write_bytes(train_digits_onnx())
        providers: list[tuple[str, ...]] = []
        if args.provider in ("cuda", "both"):
            reason = cuda_unavailable(digits_model)
            if reason is None:
                providers.append((CUDA, CPU))
            else:
                print(f"CUDA is not available: {reason}. Measuring on CPU only.", flush=True)
        if args.provider in ("cpu", "both") or not providers:
            providers.append((CPU,))

        print("preparing inputs and training models ...", flush=True)
        pages = render_pages(args.pages, args.lines) if args.pages > 0 else []
        prep_seconds, tabular = timed(lambda: train_tabular(folder, args.train_rows, args.trees))
        table = tabular_table(args.rows, seed=2).drop(["label"])
        anomaly = train_anomaly(folder, args.timestamps, args.variables, args.window)
        files = [(d.name, d.png) for d in digit_images(args.files)]
        print(f"(tabular model trained in {prep_seconds:.1f} s)", flush=True)

        figures: list[Figure] = []
        for chosen in providers:
            print(f"\n== providers {','.join(chosen)}", flush=True)
            with providers_env(chosen):
                default_session_cache().clear()
                measures: list[Callable[[], Figure]] = [
                    lambda: bench_tabular(tabular, table, args.batch_rows),
                    lambda: bench_anomaly(anomaly, args.batch_rows),
                    lambda: bench_endpoint(digits_model, files, args.mini_batch, args.batch_images),
                ]
                if pages:
                    measures.insert(0, lambda: bench_ocr(pages, min(2, len(pages))))
                for measure in measures:
                    figure = measure()
                    figures.append(figure)
                    print(figure.line(), flush=True)

    print("\nsummary (speed ratio = CUDA rate / CPU rate)")
    for family in dict.fromkeys(f.family for f in figures):
        rows = [f for f in figures if f.family == family]
        cpu = next((f for f in rows if f.provider == _short(CPU)), None)
        cuda = next((f for f in rows if f.provider == _short(CUDA)), None)
        ratio = f"{cuda.rate / cpu.rate:.2f}" if cpu and cuda else "n/a (one provider)"
        rates = ", ".join(f"{f.provider} {_rate(f.rate)} {f.unit}/s" for f in rows)
        print(f"  {family:<9} {rates}; CUDA/CPU {ratio}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
