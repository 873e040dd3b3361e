"""The batch job orchestrations.

`batch_job` plans the job, runs its shards as sub-orchestrations with a bounded number in
flight, publishes progress in its custom status after each shard, and finalizes the report. A
`cancel` event stops it starting shards and finalizes what was done. `batch_shard` fans out one
activity per chunk of items. Only ids and counts cross these boundaries.
"""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df

from batchinfer.jobs.model import Counts, JobStatus
from batchinfer.jobs.planning import percent_completed, work_units
from batchinfer.orchestration.instance_ids import shard_unit_id
from batchinfer.orchestration.names import BATCH_SHARD, CANCEL_EVENT, STOPPED, job_steps

blueprint = df.Blueprint()

MAX_SHARDS_IN_FLIGHT = 16
# Named retry policies: transient storage/host failures, not item failures (those are outcomes).
STORAGE_RETRY = df.RetryOptions(first_retry_interval_in_milliseconds=2000, max_number_of_attempts=3)
CHUNK_RETRY = df.RetryOptions(first_retry_interval_in_milliseconds=5000, max_number_of_attempts=3)


def progress(phase: str, done: int, total: int | None, counts: Counts) -> dict[str, Any]:
    return {
        "phase": phase,
        "done": done,
        "total": total,
        "percentCompleted": percent_completed(done, total),
        **counts.to_json(),
    }


UNEXPECTED_FAILURE = {
    "code": "InternalServerError",
    "message": "The batch job failed unexpectedly; see the service log.",
}


@blueprint.orchestration_trigger(context_name="context", orchestration="batch_job")
def batch_job(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    """Run the job; whatever happens, finalize it, which also deletes its stored request (the
    SAS it holds must not outlive the job, even one that failed unexpectedly)."""
    ref = context.get_input()
    _, _, finalize_step = job_steps(str(ref.get("kind", "")))
    try:
        summary = yield from _run_job(context, ref)
    except Exception:
        summary = yield context.call_activity_with_retry(
            finalize_step,
            STORAGE_RETRY,
            {"ref": ref, "status": JobStatus.FAILED, "error": UNEXPECTED_FAILURE},
        )
    return summary


def _run_job(context: df.DurableOrchestrationContext, ref: Any):  # type: ignore[no-untyped-def]
    plan_step, _, finalize_step = job_steps(str(ref.get("kind", "")))
    context.set_custom_status(progress("planning", 0, None, Counts()))
    plan = yield context.call_activity_with_retry(plan_step, STORAGE_RETRY, ref)
    if plan.get("error"):
        summary = yield context.call_activity_with_retry(
            finalize_step,
            STORAGE_RETRY,
            {"ref": ref, "status": JobStatus.FAILED, "error": plan["error"]},
        )
        return summary
    total = int(plan["total"])
    units = work_units(total, int(plan["shard_size"]), int(plan["items_per_activity"]))
    counts, done = Counts(), 0
    context.set_custom_status(progress("running", 0, total, counts))
    cancel = context.wait_for_external_event(CANCEL_EVENT)
    pending: dict[int, Any] = {}
    next_unit, canceled, stopped = 0, False, False
    # kinds that end early once too many items failed (Azure ML's errorThreshold) say so here
    stop_after = ref.get("stop_after_failures")
    while next_unit < len(units) or pending:
        while next_unit < len(units) and len(pending) < MAX_SHARDS_IN_FLIGHT:
            segments, _ = units[next_unit]
            shard, first, _ = segments[0]
            pending[next_unit] = context.call_sub_orchestrator(
                BATCH_SHARD,
                {"ref": ref, "segments": segments},
                shard_unit_id(context.instance_id, shard, first),
            )
            next_unit += 1
        winner = yield context.task_any([cancel, *pending.values()])
        if winner is cancel:
            canceled = True
            break
        for unit, task in list(pending.items()):
            if task.is_completed:
                del pending[unit]
                done += units[unit][1]
                result = task.result  # a failed shard's result is its exception
                if isinstance(result, dict):
                    counts = counts.add(Counts.from_json(result.get("counts")))
        context.set_custom_status(progress("running", done, total, counts))
        if stop_after is not None and counts.failed > int(stop_after):
            stopped = True
            break
    status: str = JobStatus.CANCELED if canceled else STOPPED if stopped else JobStatus.SUCCEEDED
    context.set_custom_status(progress("finalizing", done, total, counts))
    summary = yield context.call_activity_with_retry(
        finalize_step, STORAGE_RETRY, {"ref": ref, "status": status, "error": None}
    )
    context.set_custom_status(
        progress(status, done if canceled or stopped else total, total, Counts.from_json(summary))
    )
    return summary


@blueprint.orchestration_trigger(context_name="context", orchestration="batch_shard")
def batch_shard(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    args = context.get_input()
    _, chunk_step, _ = job_steps(str(args["ref"].get("kind", "")))
    tasks = [
        context.call_activity_with_retry(
            chunk_step, CHUNK_RETRY, {"ref": args["ref"], "shard": shard, "chunk": chunk}
        )
        for shard, first, stop in args["segments"]
        for chunk in range(first, stop)
    ]
    try:
        results = yield context.task_all(tasks)
    except Exception as exc:  # a chunk failed after its retries: finalize reports its items
        # task_all fails fast; wait for the chunks still running so finalize sees their outcomes
        for task in tasks:
            if not task.is_completed:
                try:
                    yield task
                except Exception:
                    pass
        return {"counts": None, "error": str(exc).split("\n")[0][:500]}
    total = Counts()
    for result in results:
        total = total.add(Counts.from_json(result))
    return {"counts": total.to_json()}
