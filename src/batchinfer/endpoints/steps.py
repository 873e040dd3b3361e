"""The three steps of a batch endpoint job as plain functions: plan, score a mini-batch, finalize.

They run on the generic `batch_job` orchestration (one activity per mini-batch, shards as
sub-orchestrations) and keep their state in the job store like the document batch does:
item lists per shard, outcomes and prediction rows per mini-batch, the report at the end.
Per-file failures are outcomes; a mini-batch whose files fail to read (or run past the
deployment's `retrySettings.timeout`) is retried `maxRetries` times inside its activity.
"""

from __future__ import annotations

import csv
import io
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

from batchinfer.endpoints.config import ScoringConfig
from batchinfer.endpoints.tasks import IMAGE_CLASSIFICATION, ScoreError, ScoringTask, TaskCache
from batchinfer.inference.runtime import default_session_cache
from batchinfer.jobs.model import (
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
from batchinfer.jobs.planning import chunk_slices, make_plan, write_shards
from batchinfer.orchestration.names import STOPPED
from batchinfer.storage import (
    BlobExistsError,
    BlobNotFoundError,
    BlobStore,
    StorageError,
    validate_blob_name,
)
from batchinfer.wiring import Services

log = logging.getLogger("batchinfer.endpoints")

SCORING_OPTION = "scoring"
LOG_URL_OPTION = "log_url"
LOG_PREFIX_OPTION = "log_prefix"
INPUT_DISPLAY_OPTION = "input_display"
OUTPUT_DISPLAY_OPTION = "output_display"
LOG_FILE = "job_result.txt"
LOG_DOCUMENT = "scoring-log.json"
"""Job-store document `{"uri": ...}`: where finalize wrote the job log (absent if it could not)."""
MAX_REPORTED_FAILURES = 1000
_AML_STATUS = {
    JobStatus.SUCCEEDED: "Completed",
    JobStatus.FAILED: "Failed",
    JobStatus.CANCELED: "Canceled",
}

_TASKS = TaskCache(default_session_cache())


@dataclass(frozen=True)
class ScoringJob:
    """An endpoint job's spec seen through its options."""

    spec: JobSpec

    @property
    def config(self) -> ScoringConfig:
        return ScoringConfig.from_json(self.spec.options[SCORING_OPTION])

    @property
    def output_name(self) -> str:
        return self.spec.result_prefix

    def row_name(self, blob: str) -> str:
        """The file name a prediction row carries: relative to the input folder."""
        prefix = self.spec.source_prefix
        return (
            blob[len(prefix) :] if prefix and blob.startswith(prefix) else blob.rsplit("/", 1)[-1]
        )


def _inputs(source: BlobStore, job: ScoringJob) -> Iterator[str]:
    if job.spec.items is not None:
        for name in job.spec.items:
            validate_blob_name(name)
            if not source.exists(name=name):
                raise BlobNotFoundError(
                    f"input file {job.spec.options.get(INPUT_DISPLAY_OPTION)!r} does not exist"
                )
            yield name
        return
    for blob in source.list_blobs(prefix=job.spec.source_prefix):
        if not blob.name.endswith("/"):
            yield blob.name


def plan_scoring_job(services: Services, ref: JobRef) -> Plan:
    """Refuse an existing output file, list the input files shard by shard, store the plan."""
    store = services.job_store
    spec = store.load_spec(ref.job_id)
    per_shard = services.settings.activities_per_shard
    if spec is None:
        return Plan(0, 1, 1, 0, ItemError("NotFound", "The job's request is no longer available."))
    job = ScoringJob(spec)
    config = job.config
    empty = make_plan(0, config.mini_batch_size, per_shard)

    def failed(code: str, message: str) -> Plan:
        plan = Plan(0, empty.shard_size, empty.items_per_activity, 0, ItemError(code, message))
        store.save_plan(ref.job_id, plan)
        return plan

    try:
        if config.output_action == "AppendRow":
            output = services.open_container(spec.result_url)
            if output.exists(name=job.output_name):
                return failed(
                    "OutputExists",
                    f"The output file "
                    f"{spec.options.get(OUTPUT_DISPLAY_OPTION)} already exists; batch "
                    "jobs never overwrite outputs. Choose a new output path.",
                )
        source = services.open_container(spec.source_url)
        total = write_shards(
            _inputs(source, job),
            empty.shard_size,
            lambda index, names: store.save_shard_items(ref.job_id, index, names),
        )
    except StorageError as exc:
        return failed(
            "InputNotFound" if isinstance(exc, BlobNotFoundError) else exc.code,
            f"The input could not be read: {exc.message}",
        )
    if total == 0:
        return failed(
            "NoInputFiles",
            f"No files were found at the input {spec.options.get(INPUT_DISPLAY_OPTION)}.",
        )
    plan = make_plan(total, config.mini_batch_size, per_shard)
    store.save_plan(ref.job_id, plan)
    return plan


def _attempt(
    source: BlobStore, task: ScoringTask, names: list[str], deadline: float
) -> tuple[dict[str, list[list[str]] | ItemError], dict[str, ItemError]]:
    """One try at a mini-batch: (final results by name, retryable errors by name)."""
    final: dict[str, list[list[str]] | ItemError] = {}
    retry: dict[str, ItemError] = {}
    files: list[tuple[str, bytes]] = []
    for name in names:
        if time.monotonic() > deadline:
            retry[name] = ItemError("Timeout", "The mini-batch ran past retrySettings.timeout.")
            continue
        try:
            files.append((name, source.read_blob(name=name)))
        except BlobNotFoundError as exc:
            final[name] = ItemError("FileNotFound", exc.message)
        except StorageError as exc:
            retry[name] = ItemError(exc.code, f"The file could not be read: {exc.message}")
    if files:
        try:
            results = task.score(files)
        except Exception as exc:  # the model failed the whole batch: retry it
            message = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
            for name, _ in files:
                retry[name] = ItemError("ScoringFailed", message)
        else:
            for (name, _), result in zip(files, results, strict=True):
                final[name] = (
                    ItemError(result.code, result.message)
                    if isinstance(result, ScoreError)
                    else result
                )
    return final, retry


def score_mini_batch(
    services: Services, ref: JobRef, shard: int, chunk: int, tasks: TaskCache = _TASKS
) -> Counts:
    """Score one mini-batch with retries; store its outcomes and prediction rows."""
    store = services.job_store
    spec = store.load_spec(ref.job_id)
    if spec is None or store.cancel_requested(ref.job_id):
        return Counts()
    job = ScoringJob(spec)
    config = job.config
    plan = store.load_plan(ref.job_id)
    names = _shard_items(services, spec, shard)
    start, stop = list(chunk_slices(len(names), plan.items_per_activity))[chunk]
    items = list(names[start:stop])
    source = services.open_container(spec.source_url)
    final: dict[str, list[list[str]] | ItemError] = {}
    pending = list(items)
    errors: dict[str, ItemError] = {}
    attempts = 0
    try:
        task = tasks.get(
            config.task, config.model_path, config.task_options, _batch_size(services, config)
        )
    except ScoreError as exc:
        final = {name: ItemError(exc.code, exc.message) for name in items}
        pending = []
    while pending and attempts <= config.max_retries:
        attempts += 1
        done, errors = _attempt(source, task, pending, time.monotonic() + config.timeout_s)
        final.update(done)
        pending = [name for name in pending if name in errors]
    for name in pending:
        error = errors[name]
        final[name] = ItemError(error.code, f"{error.message} (after {attempts} attempts)")
    outcomes: list[ItemOutcome] = []
    rows = io.StringIO()
    writer = csv.writer(rows, lineterminator="\n")
    counts = Counts()
    for name in items:
        result = final[name]
        if isinstance(result, ItemError):
            outcome = ItemOutcome(name, ItemStatus.FAILED, error=result)
        else:
            outcome = ItemOutcome(name, ItemStatus.SUCCEEDED)
            for row in result:
                writer.writerow([job.row_name(name), *row])
        outcomes.append(outcome)
        counts.record(outcome)
    if store.load_spec(ref.job_id) is None:
        return counts  # finalized or deleted meanwhile
    # one document per mini-batch (outcomes and rows together): one durable write each
    store.save_document(
        ref.job_id,
        _minibatch_doc(shard, chunk),
        {
            "outcomes": [o.to_json() for o in outcomes],
            "rows": rows.getvalue() if config.output_action == "AppendRow" else "",
        },
    )
    return counts


def _batch_size(services: Services, config: ScoringConfig) -> int:
    """Files (images) or table rows per ONNX run for this deployment's task, from settings."""
    settings = services.settings
    return (
        settings.onnx_batch_images
        if config.task == IMAGE_CLASSIFICATION
        else settings.onnx_batch_rows
    )


def _minibatch_doc(shard: int, chunk: int) -> str:
    return f"minibatches/{shard:06d}-{chunk:06d}.json"


_ITEMS: dict[tuple[int, str, str, int], tuple[str, ...]] = {}
_ITEMS_LOCK = threading.Lock()
_ITEMS_CACHED = 64


def _shard_items(services: Services, spec: JobSpec, shard: int) -> tuple[str, ...]:
    """A shard's item list, parsed once per process (lists never change once planned): the
    mini-batches of a shard would otherwise each parse the same few hundred lines."""
    key = (id(services.job_store), spec.job_id, spec.created, shard)
    with _ITEMS_LOCK:
        found = _ITEMS.get(key)
    if found is None:
        found = tuple(services.job_store.load_shard_items(spec.job_id, shard))
        with _ITEMS_LOCK:
            while len(_ITEMS) >= _ITEMS_CACHED:
                _ITEMS.pop(next(iter(_ITEMS)))
            _ITEMS[key] = found
    return found


def _not_processed(name: str) -> ItemOutcome:
    return ItemOutcome(
        name,
        ItemStatus.FAILED,
        error=ItemError("NotProcessed", "The mini-batch's activity failed after all retries."),
    )


def _collect(
    services: Services, ref: JobRef, plan: Plan | None, status: str, rows: io.BytesIO | None
) -> tuple[Counts, list[ItemOutcome]]:
    """Every mini-batch's counts and failed files (and its rows into `rows`); a mini-batch that
    never stored its outcomes failed after its retries, unless the job ended before it ran."""
    store = services.job_store
    counts = Counts()
    failures: list[ItemOutcome] = []
    for shard in range(plan.shards if plan else 0):
        names: list[str] | None = None
        for chunk in range(plan.chunks_in_shard(shard)):  # type: ignore[union-attr]
            stored = store.load_document(ref.job_id, _minibatch_doc(shard, chunk))
            if stored is None:
                if status in (JobStatus.CANCELED, STOPPED):
                    continue  # never ran: the job ended before it
                names = names or store.load_shard_items(ref.job_id, shard)
                first, stop = list(chunk_slices(len(names), plan.items_per_activity))[chunk]  # type: ignore[union-attr]
                outcomes = [_not_processed(n) for n in names[first:stop]]
            else:
                outcomes = [ItemOutcome.from_json(o) for o in stored["outcomes"]]
                if rows is not None:
                    rows.write(str(stored["rows"]).encode())
            for outcome in outcomes:
                counts.record(outcome)
                if outcome.error is not None:
                    failures.append(outcome)
    return counts, failures


def _log_text(
    job: ScoringJob,
    status: JobStatus,
    counts: Counts,
    failures: list[ItemOutcome],
    error: ItemError | None,
) -> str:
    config = job.config
    lines = [
        f"job: {job.spec.job_id}",
        f"endpoint: {config.endpoint}",
        f"deployment: {config.deployment}",
        f"status: {_AML_STATUS[status]}",
        f"input: {job.spec.options.get(INPUT_DISPLAY_OPTION)}",
        f"output: {job.spec.options.get(OUTPUT_DISPLAY_OPTION)}"
        if config.output_action == "AppendRow"
        else "output: (SummaryOnly)",
        f"files: {counts.done}, succeeded: {counts.succeeded}, failed: {counts.failed}",
        f"errorThreshold: {config.error_threshold}",
    ]
    if error:
        lines.append(f"error: {error.code}: {error.message}")
    lines.extend(
        f"failed file: {f.source}: {f.error.code}: {f.error.message}"
        for f in failures
        if f.error is not None
    )
    return "\n".join(lines) + "\n"


def _verdict(
    config: ScoringConfig, status: str, counts: Counts, error: ItemError | None
) -> tuple[JobStatus, ItemError | None]:
    """The job's status from how it ended (a `JobStatus` or `STOPPED`) and its failures."""
    if error:
        return JobStatus.FAILED, error
    if status in (JobStatus.SUCCEEDED, STOPPED) and config.threshold_exceeded(counts.failed):
        early = (
            " The job stopped early; files not yet scored were skipped."
            if status == STOPPED
            else ""
        )
        return JobStatus.FAILED, ItemError(
            "ErrorThresholdExceeded",
            f"{counts.failed} of {counts.done} scored files failed, more than the "
            f"errorThreshold of {config.error_threshold}.{early} See the job log.",
        )
    if status == STOPPED:  # cannot happen: stopping means the threshold was exceeded
        return JobStatus.FAILED, None
    return JobStatus(status), None


def finalize_scoring_job(
    services: Services, ref: JobRef, status: str, error: ItemError | None
) -> JobReport:
    """Decide the job's outcome, write the predictions file and the log, store the report.

    `status` is how `batch_job` ended: a `JobStatus`, or `STOPPED` at the error threshold.
    The report's details are the failed files only (the first `MAX_REPORTED_FAILURES`, each
    with its blob name in the input container as `source_url`); the log lists them all.
    """
    store = services.job_store
    spec = store.load_spec(ref.job_id)
    if spec is None:  # a retry after the report was stored and the secrets forgotten
        return store.load_report(ref.job_id) or JobReport(JobStatus.FAILED)
    job = ScoringJob(spec)
    config = job.config
    try:
        plan: Plan | None = store.load_plan(ref.job_id)
    except StorageError:
        plan = None
    append = config.output_action == "AppendRow"
    rows = io.BytesIO() if append else None
    counts, failures = _collect(services, ref, plan, status, rows)
    verdict, error = _verdict(config, status, counts, error)
    if verdict == JobStatus.SUCCEEDED and append and rows is not None:
        try:
            services.open_container(spec.result_url).write_blob(
                name=job.output_name, data=rows.getvalue(), overwrite=False, content_type="text/csv"
            )
        except BlobExistsError:
            verdict, error = (
                JobStatus.FAILED,
                ItemError(
                    "OutputExists",
                    (
                        f"The output file {spec.options.get(OUTPUT_DISPLAY_OPTION)} already "
                        "exists; it was left untouched."
                    ),
                ),
            )
        except StorageError as exc:
            verdict, error = (
                JobStatus.FAILED,
                ItemError(exc.code, f"The output could not be written: {exc.message}"),
            )
    log_uri = _write_log(services, job, verdict, counts, failures, error)
    if log_uri is not None:
        store.save_document(ref.job_id, LOG_DOCUMENT, {"uri": log_uri})
    details = tuple(
        ItemDetail(ItemStatus.FAILED, source_url=f.source, error=f.error)
        for f in failures[:MAX_REPORTED_FAILURES]
    )
    report = JobReport(status=verdict, counts=counts, details=details, error=error)
    store.save_report(ref.job_id, report)
    store.forget_secrets(ref.job_id)
    log.info(
        "Scoring job %s %s: %d succeeded, %d failed",
        ref.job_id,
        verdict,
        counts.succeeded,
        counts.failed,
    )
    return report


def log_uri(services: Services, job_id: str) -> str | None:
    """The `azureml://` URI of a finished job's log; None if it was not written."""
    stored = services.job_store.load_document(job_id, LOG_DOCUMENT)
    return str(stored["uri"]) if isinstance(stored, dict) and stored.get("uri") else None


def _write_log(
    services: Services,
    job: ScoringJob,
    status: JobStatus,
    counts: Counts,
    failures: list[ItemOutcome],
    error: ItemError | None,
) -> str | None:
    """The readable job log on the workspace's default datastore; None if it can't be written."""
    url = job.spec.options.get(LOG_URL_OPTION)
    prefix = job.spec.options.get(LOG_PREFIX_OPTION, "")
    if not url:
        return None
    try:
        services.open_container(url).write_blob(
            name=f"{prefix}{LOG_FILE}",
            overwrite=True,
            content_type="text/plain",
            data=_log_text(job, status, counts, failures, error).encode(),
        )
    except StorageError as exc:
        log.warning("Job %s: the log could not be written: %s", job.spec.job_id, exc.message)
        return None
    return f"azureml://datastores/workspaceblobstore/paths/{prefix}{LOG_FILE}"
