"""The three steps of a batch job as plain functions: plan, run a chunk, finalize.

Each takes `Services` (ports) and plain data, so tests call them directly; the activity
triggers in `activities/triggers.py` only adapt JSON in and out. Item failures are outcomes;
only infrastructure failures (the job store itself unreachable) raise, and those are retried.
"""
from __future__ import annotations

import logging
from typing import Any

from batchinfer.activities.documents import (
    RESULT_SUFFIX,
    analyze_document,
    output_exists,
    result_name_for,
)
from batchinfer.jobs.model import (
    ANALYZE_OPTIONS,
    Counts,
    ItemError,
    ItemOutcome,
    JobRef,
    JobSpec,
    Plan,
)
from batchinfer.jobs.planning import chunk_slices, make_plan, write_shards
from batchinfer.models.ocr.options import AnalyzeOptions
from batchinfer.services import Services
from batchinfer.storage import (
    StorageError,
    blob_url,
    read_file_list,
    validate_blob_name,
)

log = logging.getLogger("batchinfer.jobs")


def _inputs(services: Services, spec: JobSpec) -> Any:
    source = services.open_container(spec.source_url)
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
        return Plan(0, empty.shard_size, empty.items_per_activity, 0,
                    ItemError("NotFound", "The job's request is no longer available."))
    try:
        total = write_shards(
            _inputs(services, spec), empty.shard_size,
            lambda index, names: services.job_store.save_shard_items(ref.job_id, index, names))
    except StorageError as exc:
        plan = Plan(0, empty.shard_size, empty.items_per_activity, 0, ItemError(
            "InvalidRequest", "The source could not be listed.", exc.code, exc.message))
    else:
        plan = make_plan(total, settings.items_per_activity, settings.activities_per_shard)
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
    result_names = {n: result_name_for(n, spec.source_prefix, spec.result_prefix) for n in items}
    claims = store.load_claims(ref.job_id, shard, chunk)
    retry = claims is not None
    if claims is None:
        # decide before writing anything, so a re-run after a crash recognises its own output
        claims = {n: spec.overwrite or not results.exists(name=result_names[n]) for n in items}
        store.save_claims(ref.job_id, shard, chunk, claims)
    pipeline = services.pipeline(spec.model_id)
    options = AnalyzeOptions.from_json(spec.options.get(ANALYZE_OPTIONS))
    outcomes: list[ItemOutcome] = []
    counts = Counts()
    for name in items:
        if store.cancel_requested(ref.job_id):
            break
        if not claims.get(name, False):
            outcome = ItemOutcome(name, "skipped", error=output_exists(result_names[name]))
        else:
            outcome = analyze_document(source=source, results=results, pipeline=pipeline,
                                       name=name, result_name=result_names[name],
                                       overwrite=spec.overwrite or retry, options=options)
        outcomes.append(outcome)
        counts.record(outcome)
    if store.load_spec(ref.job_id) is None:
        return counts  # finalized or deleted meanwhile: its report is written or unwanted
    store.save_outcomes(ref.job_id, shard, chunk, outcomes)
    return counts


def _not_processed(name: str) -> ItemOutcome:
    return ItemOutcome(name, "failed", error=ItemError(
        "InternalServerError", "The document was not processed.", "NotProcessed",
        "Its activity failed after all retries."))


def finalize_job(services: Services, ref: JobRef, status: str,
                 error: dict[str, Any] | None) -> dict[str, Any]:
    """Merge outcomes into the report, drop the job's secrets, return the summary."""
    store = services.job_store
    spec = store.load_spec(ref.job_id)
    if spec is None:
        # A retry after the report was saved and the secrets forgotten (e.g. the host died
        # before the activity's result was recorded): without the spec the URLs can't be
        # rebuilt, so the stored report stays the job's word instead of being overwritten.
        done = store.load_report(ref.job_id)
        if done is not None:
            return {"status": done["status"], **Counts(
                done["succeededCount"], done["failedCount"], done["skippedCount"],
                int(done.get("pages", 0))).to_json()}
    details: list[dict[str, Any]] = []
    counts = Counts()
    try:
        plan: Plan | None = store.load_plan(ref.job_id)
    except StorageError:
        plan = None
    source = services.locate(spec.source_url) if spec else None
    results = services.locate(spec.result_url) if spec else None
    for shard in range(plan.shards if plan else 0):
        names: list[str] | None = None
        for chunk in range(plan.chunks_in_shard(shard)):  # type: ignore[union-attr]
            outcomes = store.load_outcomes(ref.job_id, shard, chunk)
            if outcomes is None:
                if status == "canceled":
                    continue  # never started: a canceled job reports what it did
                names = names or store.load_shard_items(ref.job_id, shard)
                start, stop = list(chunk_slices(len(names), plan.items_per_activity))[chunk]  # type: ignore[union-attr]
                outcomes = [_not_processed(n) for n in names[start:stop]]
            for outcome in outcomes:
                counts.record(outcome)
                detail: dict[str, Any] = {"status": outcome.status}
                if source is not None:
                    detail["sourceUrl"] = blob_url(source, outcome.source)
                if outcome.result and results is not None and outcome.status == "succeeded":
                    detail["resultUrl"] = blob_url(results, outcome.result)
                if outcome.error:
                    detail["error"] = outcome.error.to_json()
                details.append(detail)
    report: dict[str, Any] = {
        "status": status, "succeededCount": counts.succeeded, "failedCount": counts.failed,
        "skippedCount": counts.skipped, "pages": counts.pages, "details": details,
    }
    if error:
        report["error"] = error
    store.save_report(ref.job_id, report)
    store.forget_secrets(ref.job_id)
    log.info("Job %s %s: %d succeeded, %d failed, %d skipped", ref.job_id, status,
             counts.succeeded, counts.failed, counts.skipped)
    return {"status": status, **counts.to_json()}
