"""Orchestrations of the dataset inference API: ingest, train (one step each) and batch
inference fanned out per Parquet row group, then assembled in input order.

Inputs and histories carry job ids and chunk numbers only; records and data live in the
tabular store. A step that fails beyond its retries fails the job with a generic message
(the activity log has the detail); user errors are reported by the steps themselves.
"""

from __future__ import annotations

import azure.durable_functions as df

from batchinfer.orchestration.names import (
    WW_FAIL_JOB,
    WW_FINISH_INFERENCE,
    WW_INGEST_VERSION,
    WW_PREPARE_INFERENCE,
    WW_SCORE_CHUNK,
    WW_TRAIN_VERSION,
)

blueprint = df.Blueprint()

STEP_RETRY = df.RetryOptions(first_retry_interval_in_milliseconds=1000, max_number_of_attempts=3)


def _single_step(context: df.DurableOrchestrationContext, activity: str):  # type: ignore[no-untyped-def]
    job_id = context.get_input()["job_id"]
    try:
        status = yield context.call_activity_with_retry(activity, STEP_RETRY, job_id)
    except Exception:
        status = yield context.call_activity(WW_FAIL_JOB, job_id)
    return {"job_id": job_id, "status": status}


@blueprint.orchestration_trigger(context_name="context", orchestration="ww_ingest")
def ww_ingest(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    return (yield from _single_step(context, WW_INGEST_VERSION))


@blueprint.orchestration_trigger(context_name="context", orchestration="ww_train")
def ww_train(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    return (yield from _single_step(context, WW_TRAIN_VERSION))


@blueprint.orchestration_trigger(context_name="context", orchestration="ww_infer")
def ww_infer(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    job_id = context.get_input()["job_id"]
    try:
        chunks = yield context.call_activity_with_retry(WW_PREPARE_INFERENCE, STEP_RETRY, job_id)
    except Exception:
        status = yield context.call_activity(WW_FAIL_JOB, job_id)
        return {"job_id": job_id, "status": status}
    if not chunks:
        return {"job_id": job_id, "status": "stopped"}
    tasks = [
        context.call_activity_with_retry(
            WW_SCORE_CHUNK, STEP_RETRY, {"job_id": job_id, "index": index}
        )
        for index in range(int(chunks))
    ]
    try:
        yield context.task_all(tasks)
    except Exception:
        for task in tasks:  # task_all fails fast: let the others finish before reporting
            if not task.is_completed:
                try:
                    yield task
                except Exception:
                    pass
    errors = []
    for index, task in enumerate(tasks):
        result = task.result
        if isinstance(result, Exception):
            errors.append(f"chunk {index + 1} of {len(tasks)} failed unexpectedly")
        elif isinstance(result, dict) and result.get("error"):
            errors.append(str(result["error"]))
    try:
        status = yield context.call_activity_with_retry(
            WW_FINISH_INFERENCE, STEP_RETRY, {"job_id": job_id, "errors": errors}
        )
    except Exception:
        status = yield context.call_activity(WW_FAIL_JOB, job_id)
    return {"job_id": job_id, "status": status}
