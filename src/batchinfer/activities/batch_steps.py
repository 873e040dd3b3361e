"""The three steps of a batch job as plain functions: plan, run a chunk, finalize.

Each takes `Services` (ports) and plain data, so tests call them directly; the activity
triggers in `activities/batch_triggers.py` only adapt JSON in and out. Item failures are outcomes;
only infrastructure failures (the job store itself unreachable) raise, and those are retried.
"""

from __future__ import annotations

import functools
import logging
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from batchinfer.activities.documents import (
    RESULT_SUFFIX,
    analyze_documents,
    output_exists,
    result_name_for,
)
from batchinfer.inference.runtime import machine_threads
from batchinfer.jobs.details import DETAILS_PAGE_SIZE, DetailPages
from batchinfer.jobs.model import (
    ANALYZE_OPTIONS,
    Counts,
    ItemDetail,
    ItemError,
    ItemOutcome,
    ItemStatus,
    JobRef,
    JobReport,
    JobSpec,
    JobStatus,
    Plan,
)
from batchinfer.jobs.origin import save_origin
from batchinfer.jobs.planning import chunk_slices, make_plan, spread_small_job, write_shards
from batchinfer.jobs.store import JobStore
from batchinfer.models.ocr.options import AnalyzeOptions
from batchinfer.storage import (
    BlobStore,
    InvalidPathError,
    StorageError,
    read_file_list,
    report_url,
    validate_blob_name,
)
from batchinfer.wiring import Services

log = logging.getLogger("batchinfer.jobs")
_T = TypeVar("_T")
_R = TypeVar("_R")


def _inputs(services: Services, spec: JobSpec) -> Iterator[str]:
    source = services.open_container(spec.source_url)
    names: Iterator[str]
    if spec.items is not None:
        names = (validate_blob_name(name) for name in spec.items)
    elif spec.file_list:
        names = read_file_list(source, spec.file_list)
    else:
        names = (b.name for b in source.list_blobs(prefix=spec.source_prefix))
    # results written next to the inputs are not inputs; folder markers are not files
    return (n for n in names if not n.endswith(RESULT_SUFFIX) and not n.endswith("/"))


def plan_job(services: Services, ref: JobRef) -> Plan:
    """List the inputs as a stream, store them shard by shard, store and return the plan."""
    settings = services.settings
    spec = services.job_store.load_spec(ref.job_id)
    empty = make_plan(0, settings.items_per_activity, settings.activities_per_shard)
    if spec is None:
        return Plan(
            0,
            empty.shard_size,
            empty.items_per_activity,
            0,
            ItemError("NotFound", "The job's request is no longer available."),
        )
    save_origin(services.job_store, spec)  # kept (without secrets) after the job ends
    try:
        total = write_shards(
            _inputs(services, spec),
            empty.shard_size,
            lambda index, names: services.job_store.save_shard_items(ref.job_id, index, names),
        )
    except StorageError as exc:
        plan = Plan(
            0,
            empty.shard_size,
            empty.items_per_activity,
            0,
            ItemError("InvalidRequest", "The source could not be listed.", exc.code, exc.message),
        )
    else:
        plan = make_plan(total, settings.items_per_activity, settings.activities_per_shard)
        plan = spread_small_job(plan, machine_threads())
    services.job_store.save_plan(ref.job_id, plan)
    return plan


def run_chunk(services: Services, ref: JobRef, shard: int, chunk: int) -> Counts:
    """Analyze one activity's items, record their outcomes, return the counts."""
    store = services.job_store
    spec = store.load_spec(ref.job_id)
    if spec is None:  # finished or deleted meanwhile: nothing to do
        return Counts()
    plan = store.load_plan(ref.job_id)
    names = store.load_shard_items(ref.job_id, shard)
    start, stop = list(chunk_slices(len(names), plan.items_per_activity))[chunk]
    items = names[start:stop]
    source = services.open_container(spec.source_url)
    results = services.open_container(spec.result_url)
    result_names, refused = _result_names(items, spec)
    claims = store.load_claims(ref.job_id, shard, chunk)
    retry = claims is not None
    if claims is None:
        # decide before writing anything, so a re-run after a crash recognises its own output
        claims = {n: spec.overwrite or _absent(results, r) for n, r in result_names.items()}
        store.save_claims(ref.job_id, shard, chunk, claims)
    pipeline = services.pipeline(spec.model_id)
    options = AnalyzeOptions.from_json(spec.options.get(ANALYZE_OPTIONS))
    outcomes: list[ItemOutcome] = []
    counts = Counts()
    # the claimed items are analyzed together (prebuilt-read shares recognition batches);
    # a cancel stops before the next item (before the next group, for shared batches)
    claimed = [(n, result_names[n]) for n in items if n not in refused and claims.get(n, False)]
    analyzed = dict(
        zip(
            [n for n, _ in claimed],
            analyze_documents(
                source=source,
                results=results,
                pipeline=pipeline,
                items=claimed,
                overwrite=spec.overwrite or retry,
                options=options,
                stop=lambda: store.cancel_requested(ref.job_id),
            ),
            strict=False,
        )
    )
    for name in items:
        if name in refused:
            outcome = refused[name]
        elif name in analyzed:
            outcome = analyzed[name]
        elif not claims.get(name, False):
            outcome = ItemOutcome(name, ItemStatus.SKIPPED, error=output_exists(result_names[name]))
        else:
            break  # canceled before this item
        outcomes.append(outcome)
        counts.record(outcome)
    if store.load_spec(ref.job_id) is None:
        return counts  # finalized or deleted meanwhile: its report is written or unwanted
    store.save_outcomes(ref.job_id, shard, chunk, outcomes)
    return counts


def _result_names(items: list[str], spec: JobSpec) -> tuple[dict[str, str], dict[str, ItemOutcome]]:
    """Each item's result name, or its failed outcome when its name cannot be used: a name
    legal in Blob Storage (backslash, newline, DEL) or a result path over 1,024 characters
    fails that item alone, before anything is read or claimed."""
    names: dict[str, str] = {}
    refused: dict[str, ItemOutcome] = {}
    for name in items:
        try:
            validate_blob_name(name)
        except InvalidPathError as exc:
            refused[name] = ItemOutcome(
                name,
                ItemStatus.FAILED,
                error=ItemError(
                    "InvalidArgument",
                    "The document's name cannot be processed.",
                    "InvalidBlobName",
                    exc.message,
                ),
            )
            continue
        try:
            names[name] = result_name_for(name, spec.source_prefix, spec.result_prefix)
        except InvalidPathError as exc:
            too_long = "longer than" in exc.message
            refused[name] = ItemOutcome(
                name,
                ItemStatus.FAILED,
                error=ItemError(
                    "InvalidArgument",
                    "The result name would be longer than 1,024 characters."
                    if too_long
                    else "The document's result name cannot be formed.",
                    "ResultNameTooLong" if too_long else "InvalidResultName",
                    exc.message,
                ),
            )
    return names, refused


def _absent(results: BlobStore, name: str) -> bool:
    """Whether the result is still to be written. A result container that cannot be checked
    (e.g. an expired SAS) claims the item: its create-only write then fails alone and says why."""
    try:
        return not results.exists(name=name)
    except StorageError:
        return True


def _not_processed(name: str) -> ItemOutcome:
    return ItemOutcome(
        name,
        ItemStatus.FAILED,
        error=ItemError(
            "InternalServerError",
            "The document was not processed.",
            "NotProcessed",
            "Its activity failed after all retries.",
        ),
    )


def finalize_job(
    services: Services,
    ref: JobRef,
    status: JobStatus,
    error: ItemError | None,
    *,
    page_size: int = DETAILS_PAGE_SIZE,
) -> JobReport:
    """Merge outcomes into the report, store it, drop the job's secrets; return the report.

    Outcomes are read one chunk at a time and their details written a page at a time
    (`jobs.details`), so a job of a million items is reported in the memory of one page; the
    returned report holds the first page only."""
    store = services.job_store
    try:
        spec = store.load_spec(ref.job_id)
    except (ValueError, TypeError, KeyError):  # an unreadable request: report, then delete it
        log.error("Job %s: its stored request is unreadable", ref.job_id)
        spec = None
    if spec is None:
        # A retry after the report was saved and the secrets forgotten (e.g. the host died
        # before the activity's result was recorded): without the spec the URLs can't be
        # rebuilt, so the stored report stays the job's word instead of being overwritten.
        done = store.load_report(ref.job_id)
        if done is not None:
            return done
    try:
        plan: Plan | None = store.load_plan(ref.job_id)
    except StorageError:
        plan = None
    source = services.locate(spec.source_url) if spec else None
    results = services.locate(spec.result_url) if spec else None
    pages = DetailPages(store, ref.job_id, page_size)
    counts = Counts()
    for outcome in _final_outcomes(store, ref, plan, status):
        counts.record(outcome)
        pages.add(
            ItemDetail(
                status=outcome.status,
                source_url=report_url(source, outcome.source) if source is not None else None,
                result_url=report_url(results, outcome.result)
                if outcome.result and results is not None and outcome.status == ItemStatus.SUCCEEDED
                else None,
                error=outcome.error,
            )
        )
    report = JobReport(
        status=status,
        counts=counts,
        details=pages.finish(),
        error=error,
        details_total=pages.total,
        details_page_size=pages.page_size,
    )
    store.save_report(ref.job_id, report)
    store.forget_secrets(ref.job_id)
    log.info(
        "Job %s %s: %d succeeded, %d failed, %d skipped",
        ref.job_id,
        status,
        counts.succeeded,
        counts.failed,
        counts.skipped,
    )
    return report


def _final_outcomes(
    store: JobStore, ref: JobRef, plan: Plan | None, status: JobStatus
) -> Iterator[ItemOutcome]:
    """Every item's outcome in plan order, read a chunk at a time. A chunk that recorded none
    failed after its retries (its items are `NotProcessed`), or never started in a canceled
    job (it is left out: a canceled job reports what it did)."""
    if plan is None:
        return
    chunks = (
        (shard, chunk, start, stop)
        for shard in range(plan.shards)
        for chunk, (start, stop) in enumerate(
            chunk_slices(
                max(0, min(plan.shard_size, plan.total - shard * plan.shard_size)),
                plan.items_per_activity,
            )
        )
    )
    names: tuple[int, list[str]] | None = None  # the last shard's item list, loaded on demand
    read = functools.partial(_read_outcomes, store, ref.job_id)
    for (shard, _, start, stop), outcomes in prefetched(read, chunks):
        if outcomes is None:
            if status == JobStatus.CANCELED:
                continue
            if names is None or names[0] != shard:
                names = (shard, store.load_shard_items(ref.job_id, shard))
            outcomes = [_not_processed(n) for n in names[1][start:stop]]
        yield from outcomes


def _read_outcomes(
    store: JobStore, job_id: str, chunk: tuple[int, int, int, int]
) -> list[ItemOutcome] | None:
    return store.load_outcomes(job_id, chunk[0], chunk[1])


READ_AHEAD = 16
"""Chunk outcomes read concurrently by finalize: a million items are 125,000 small blobs, and
read one after the other from Azure storage they would take longer than an activity may run."""


def prefetched(
    read: Callable[[_T], _R], keys: Iterable[_T], window: int = READ_AHEAD
) -> Iterator[tuple[_T, _R]]:
    """`(key, read(key))` for each key, in order, with up to `window` reads in flight: memory
    holds at most `window` results, however many keys there are."""
    with ThreadPoolExecutor(max_workers=window, thread_name_prefix="finalize-read") as pool:
        pending: deque[tuple[_T, Future[_R]]] = deque()
        for key in keys:
            pending.append((key, pool.submit(read, key)))
            if len(pending) >= window:
                first, future = pending.popleft()
                yield first, future.result()
        while pending:
            first, future = pending.popleft()
            yield first, future.result()
