"""OCR per core: `prebuilt-read` vs Tesseract 5 on the same 300-dpi pages of real PDFs.

Everything runs on one thread: ONNX Runtime with intra_op_num_threads=1 (and OpenCV with one
thread), Tesseract with OMP_THREAD_LIMIT=1. Systems, measured page by page and interleaved so a
machine whose load changes affects them alike:

  read        `prebuilt-read` as served (simplified graphs), one page at a time
  read-plain  the same with the exported graphs unmodified (no `graph_rewrite`)
  read-many   all pages in one `analyze_many` call (recognition shared across pages)
  tesseract   `tesseract page.png stdout -l eng` (Debian's tesseract-ocr; a peer, bench only)
  before      with --before SRC: `prebuilt-read` of another checkout (e.g. the commit before
              this work), served by a child process that analyses one page per request

read gets each page as a one-page PDF rendered at --dpi (rendering counted); Tesseract gets the
same page already rendered to PNG (rendering not counted). Each round times every system on
every page; the medians over rounds are printed as pages/s of wall time and pages per CPU
second (process CPU time, Tesseract's from its child-process usage), the latter being the
steadier figure on a shared machine. CER: whitespace-collapsed text against the PDF's text.

    python bench/ocr_cpu.py [--rounds 3] [--pages-per-pdf 6] [--dpi 300] [--systems ...]
    python bench/ocr_cpu.py --before OLD_CHECKOUT/src   # adds the old version, same run
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class PlainSessions:
    """A session source that ignores `simplify` (the graphs as exported)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def get(self, model_path: Any, providers: Any = None, **_: Any) -> Any:
        return self.inner.get(model_path, providers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pdfs", nargs="*")
    parser.add_argument("--pages-per-pdf", type=int, default=6)
    parser.add_argument("--dpi", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--systems", default="read,read-plain,read-many,tesseract")
    parser.add_argument("--src", help="import batchinfer from this src folder instead")
    parser.add_argument("--before", help="src folder of a version to time beside this one")
    parser.add_argument("--serve", help=argparse.SUPPRESS)  # child: pages folder to serve
    args = parser.parse_args()
    if args.serve:
        serve(args)
        return
    sys.path.insert(0, str(Path(args.src).resolve() if args.src else BENCH.parent / "src"))
    sys.path.insert(1, str(BENCH))

    import cv2
    import pypdfium2 as pdfium
    from real_pdf_cer import DEFAULT_PDFS, norm, pages_of

    from batchinfer.inference.runtime import RuntimeSettings, SessionCache
    from batchinfer.models.ocr.decode import DecodeLimits
    from batchinfer.models.ocr.metrics import character_error_rate
    from batchinfer.models.ocr.pipeline import OcrPipeline, OcrSettings

    cv2.setNumThreads(1)
    pdfs = args.pdfs or [p for p in DEFAULT_PDFS if Path(p).exists()]
    pages = [p for pdf in pdfs for p in pages_of(Path(pdf), args.pages_per_pdf, args.dpi)]
    cache = SessionCache(RuntimeSettings(providers=("CPUExecutionProvider",), intra_op_threads=1))
    settings = OcrSettings(limits=DecodeLimits(pdf_dpi=args.dpi))
    systems = [s for s in args.systems.split(",") if s]
    if "tesseract" in systems and shutil.which("tesseract") is None:
        print("tesseract is not installed: skipped")
        systems.remove("tesseract")
    before = None
    if args.before:
        systems.append("before")
    pipelines = {
        "read": lambda: OcrPipeline(cache, settings),
        "read-many": lambda: OcrPipeline(cache, settings),
        "read-plain": lambda: OcrPipeline(PlainSessions(cache), settings),  # type: ignore[arg-type]
    }
    readers = {name: pipelines[name]() for name in systems if name in pipelines}
    workdir = Path(tempfile.mkdtemp(prefix="ocr-cpu-"))
    pngs = []
    for index, (_, data, _) in enumerate(pages):
        image = pdfium.PdfDocument(data)[0].render(
            scale=args.dpi / 72.0, fill_color=(255, 255, 255, 255)
        )
        png = workdir / f"page{index}.png"
        image.to_pil().convert("RGB").save(png)
        pngs.append(png)
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    if args.before:
        for index, (_, data, _) in enumerate(pages):
            (workdir / f"page{index}.pdf").write_bytes(data)
        command = [sys.executable, __file__, "--serve", str(workdir), "--src", args.before]
        command += ["--dpi", str(args.dpi)]
        before = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert before.stdin is not None and before.stdout is not None
        assert before.stdout.readline().strip() == "ready"

    def tesseract(index: int) -> str:
        done = subprocess.run(
            ["tesseract", str(pngs[index]), "stdout", "-l", "eng"],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        )
        return done.stdout

    def timed(run: Callable[[], Any], child: bool) -> tuple[Any, float, float]:
        wall, cpu = time.perf_counter(), (_child_cpu() if child else time.process_time())
        out = run()
        cpu = (_child_cpu() if child else time.process_time()) - cpu
        return out, time.perf_counter() - wall, cpu

    walls: dict[str, list[float]] = {s: [] for s in systems}
    cpus: dict[str, list[float]] = {s: [] for s in systems}
    texts: dict[str, list[str]] = {s: [""] * len(pages) for s in systems}
    started = time.perf_counter()
    for _ in range(args.rounds):
        totals = {s: [0.0, 0.0] for s in systems}
        for index, (_, data, _) in enumerate(pages):
            for system in systems:
                if system == "read-many":
                    continue
                if system == "tesseract":
                    text, wall, cpu = timed(lambda i=index: tesseract(i), child=True)
                elif system == "before":
                    assert before is not None and before.stdin and before.stdout
                    wall = time.perf_counter()
                    before.stdin.write(f"{index}\n")
                    before.stdin.flush()
                    answer = json.loads(before.stdout.readline())
                    wall = time.perf_counter() - wall
                    text, cpu = answer["text"], answer["cpu"]
                else:
                    reader = readers[system]
                    result, wall, cpu = timed(
                        lambda r=reader, d=data: r.analyze(d, "page.pdf"), child=False
                    )
                    text = result.content
                texts[system][index] = text
                totals[system][0] += wall
                totals[system][1] += cpu
        if "read-many" in systems:
            from batchinfer.models.ocr.pipeline import DocumentInput

            inputs = [DocumentInput(load=lambda d=d: d, filename="page.pdf") for _, d, _ in pages]
            results, wall, cpu = timed(
                lambda i=inputs: readers["read-many"].analyze_many(i), child=False
            )
            texts["read-many"] = [r.content for r in results]
            totals["read-many"] = [wall, cpu]
        for system in systems:
            walls[system].append(len(pages) / totals[system][0])
            cpus[system].append(len(pages) / totals[system][1])
    chars = sum(len(truth) for _, _, truth in pages)
    print(
        f"{len(pages)} pages from {len(pdfs)} PDFs at {args.dpi} dpi, {chars} truth characters, "
        f"{args.rounds} rounds interleaved, one thread each, {time.perf_counter() - started:.0f} s"
    )
    print(f"{'system':12s} {'pages/s':>8s} {'pages/CPU-s':>12s} {'CER':>7s}   per round (pages/s)")
    for system in systems:
        errors = sum(
            character_error_rate(truth, norm(text)) * len(truth)
            for (_, _, truth), text in zip(pages, texts[system], strict=True)
        )
        print(
            f"{system:12s} {statistics.median(walls[system]):8.3f} "
            f"{statistics.median(cpus[system]):12.3f} {errors / chars:7.2%}   "
            + " ".join(f"{w:.3f}" for w in walls[system])
        )
    for base in ("read-plain", "before"):
        if "read" in systems and base in systems:
            gains = [r / b for r, b in zip(cpus["read"], cpus[base], strict=True)]
            print(
                f"read / {base} per core: {statistics.median(gains):.2f} (CPU); per round "
                + " ".join(f"{g:.2f}" for g in gains)
            )
    if "read" in systems and "tesseract" in systems:
        ratios = [r / t for r, t in zip(cpus["read"], cpus["tesseract"], strict=True)]
        wall_ratios = [r / t for r, t in zip(walls["read"], walls["tesseract"], strict=True)]
        print(
            f"read / tesseract per core: {statistics.median(ratios):.2f} (CPU), "
            f"{statistics.median(wall_ratios):.2f} (wall); per round "
            + " ".join(f"{r:.2f}" for r in ratios)
        )
    if before is not None and before.stdin:
        before.stdin.close()
        before.wait()
    shutil.rmtree(workdir, ignore_errors=True)


def serve(args: argparse.Namespace) -> None:
    """Child process for --before: analyse page<i>.pdf of the folder for each index read."""
    sys.path.insert(0, str(Path(args.src).resolve()))
    import cv2

    from batchinfer.inference.runtime import RuntimeSettings, SessionCache
    from batchinfer.models.ocr.decode import DecodeLimits
    from batchinfer.models.ocr.pipeline import OcrPipeline, OcrSettings

    cv2.setNumThreads(1)
    cache = SessionCache(RuntimeSettings(providers=("CPUExecutionProvider",), intra_op_threads=1))
    reader = OcrPipeline(cache, OcrSettings(limits=DecodeLimits(pdf_dpi=args.dpi)))
    print("ready", flush=True)
    for line in sys.stdin:
        data = (Path(args.serve) / f"page{int(line)}.pdf").read_bytes()
        cpu = time.process_time()
        text = reader.analyze(data, "page.pdf").content
        print(json.dumps({"text": text, "cpu": time.process_time() - cpu}), flush=True)


if __name__ == "__main__":
    main()
