"""Finalizing the report of a very large document batch: time and peak memory (prints only).

The OCR part of a million-file batch takes hours on a small machine; this isolates its last
step. For each size it writes the job store a finished job would have — the plan, the shard
item lists and one outcome blob per 8-item chunk, with failed and skipped items mixed in — then
runs `finalize_job` in a fresh child process and prints its time, the child's peak resident
memory (VmHWM) before and after finalizing, and the report's layout (details in the report,
pages beside it). It then reads every detail back page by page, as the details route does,
and checks them against the counts.

    .venv/bin/python bench/report_scale.py [--sizes 10000,100000,1000000]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "src"))

MODEL = "prebuilt-read"


def _hwm_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _services(root: Path):  # type: ignore[no-untyped-def]
    from batchinfer.settings import AppSettings
    from batchinfer.storage import StorageAllowList
    from batchinfer.wiring import build_services

    settings = AppSettings.from_env({"BATCHINFER_DATA_ROOT": str(root)})
    return build_services(settings, policy=StorageAllowList(local_roots=[root / "storage"]))


def prepare(root: Path, count: int) -> str:
    """The job store of a job whose chunks all ran: every 13th item failed, every 17th skipped."""
    from batchinfer.jobs.model import (
        DOCUMENT_ANALYSIS,
        ItemError,
        ItemOutcome,
        ItemStatus,
        JobSpec,
    )
    from batchinfer.jobs.planning import chunk_slices, make_plan
    from batchinfer.storage.local import LocalFolderStore

    services = _services(root)
    store = services.job_store
    settings = services.settings
    job_id = "report-scale"
    container = (root / "storage" / "scale").as_uri()
    store.save_spec(
        JobSpec(
            job_id,
            DOCUMENT_ANALYSIS,
            MODEL,
            container,
            "in/",
            None,
            container,
            "out/",
            False,
            "2024-01-01T00:00:00Z",
        )
    )
    plan = make_plan(count, settings.items_per_activity, settings.activities_per_shard)
    store.save_plan(job_id, plan)
    backing = store.backing_store
    assert isinstance(backing, LocalFolderStore)
    outcomes_dir = backing.root / job_id / "outcomes"
    outcomes_dir.mkdir(parents=True)
    corrupt = ItemError("InvalidContent", "The file is corrupted or format is unsupported.")
    exists = ItemError("OutputExists", "Analysis skipped because result file exists.")
    for shard in range(plan.shards):
        first = shard * plan.shard_size
        names = [
            f"in/{i // 1000:05d}/doc-{i:07d}.png"
            for i in range(first, min(count, first + plan.shard_size))
        ]
        store.save_shard_items(job_id, shard, names)
        for chunk, (start, stop) in enumerate(chunk_slices(len(names), plan.items_per_activity)):
            outcomes = []
            for offset, name in enumerate(names[start:stop]):
                index = first + start + offset
                if index % 13 == 0:
                    outcomes.append(ItemOutcome(name, ItemStatus.FAILED, error=corrupt))
                elif index % 17 == 0:
                    outcomes.append(ItemOutcome(name, ItemStatus.SKIPPED, error=exists))
                else:
                    result = f"out/{name[3:]}.ocr.json"
                    outcomes.append(ItemOutcome(name, ItemStatus.SUCCEEDED, result, pages=1))
            # written directly in the store's layout: the store's own writes fsync each blob,
            # which would make preparing 125,000 of them take longer than the finalize measured
            path = outcomes_dir / f"{shard:06d}-{chunk:06d}.json"
            path.write_text(json.dumps([o.to_json() for o in outcomes], separators=(",", ":")))
    return job_id


def finalize(root: Path, job_id: str, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    from batchinfer.activities.batch_steps import finalize_job
    from batchinfer.jobs.model import JobRef, JobStatus

    services = _services(root)
    before = _hwm_mib()
    started = time.perf_counter()
    report = finalize_job(
        services, JobRef(job_id, "document-analysis", MODEL), JobStatus.SUCCEEDED, None
    )
    queue.put(
        (
            time.perf_counter() - started,
            before,
            _hwm_mib(),
            report.summary(),
            len(report.details),
            report.total_details,
        )
    )


def read_back(root: Path, job_id: str) -> tuple[float, dict[str, int]]:
    from batchinfer.jobs.details import DETAILS_PAGE_SIZE, read_details

    store = _services(root).job_store
    started = time.perf_counter()
    report = store.load_report(job_id)
    assert report is not None
    by_status: dict[str, int] = {}
    for skip in range(0, report.total_details, DETAILS_PAGE_SIZE):
        for detail in read_details(store, job_id, report, skip, DETAILS_PAGE_SIZE):
            by_status[str(detail.status)] = by_status.get(str(detail.status), 0) + 1
    return time.perf_counter() - started, by_status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10000,100000,1000000")
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    for count in (int(s) for s in args.sizes.split(",")):
        root = Path(tempfile.mkdtemp(prefix=f"report-scale-{count}-"))
        try:
            started = time.perf_counter()
            job_id = prepare(root, count)
            print(
                f"{count:>9,} items: job store written in {time.perf_counter() - started:.1f} s",
                flush=True,
            )
            queue: multiprocessing.Queue = multiprocessing.get_context("spawn").Queue()  # type: ignore[type-arg]
            child = multiprocessing.get_context("spawn").Process(
                target=finalize, args=(root, job_id, queue)
            )
            child.start()
            seconds, before, peak, summary, inline, total = queue.get()
            child.join()
            print(
                f"  finalize {seconds:6.1f} s, peak RSS {before:5.0f} MiB before, {peak:5.0f} MiB "
                f"after; {summary}; {inline:,} details in the report, {total:,} in all",
                flush=True,
            )
            paged, by_status = read_back(root, job_id)
            agree = (
                by_status.get("succeeded", 0),
                by_status.get("failed", 0),
                by_status.get("skipped", 0),
            ) == (summary["succeeded"], summary["failed"], summary["skipped"])
            print(
                f"  read every detail back in pages: {paged:.1f} s, "
                f"{'agrees' if agree else 'DISAGREES'} with the counts",
                flush=True,
            )
        finally:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
