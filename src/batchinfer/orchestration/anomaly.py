"""Anomaly detection orchestrations: training (one activity) and chunked batch detection.

`mvad_detect` prepares the range once (verify, align, cut into blocks that each carry
slidingWindow-1 rows of history), scores every block in parallel, and finishes the summary.
Results are stored per block; their concatenation equals a single pass over the range.
"""

from __future__ import annotations

import azure.durable_functions as df

from batchinfer.anomaly.status import MvadStatus
from batchinfer.orchestration.names import (
    FINISH_MVAD_DETECTION,
    PREPARE_MVAD_DETECTION,
    RUN_MVAD_DETECTION_CHUNK,
    TRAIN_MVAD_MODEL,
)

blueprint = df.Blueprint()

STEP_RETRY = df.RetryOptions(first_retry_interval_in_milliseconds=2000, max_number_of_attempts=3)


@blueprint.orchestration_trigger(context_name="context", orchestration="mvad_train")
def mvad_train(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    args = context.get_input()
    status = yield context.call_activity_with_retry(TRAIN_MVAD_MODEL, STEP_RETRY, args["modelId"])
    return {"modelId": args["modelId"], "status": status}


@blueprint.orchestration_trigger(context_name="context", orchestration="mvad_detect")
def mvad_detect(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    result_id = context.get_input()["resultId"]
    chunks = yield context.call_activity_with_retry(PREPARE_MVAD_DETECTION, STEP_RETRY, result_id)
    if not chunks:
        return {"resultId": result_id, "status": MvadStatus.FAILED}
    tasks = [
        context.call_activity_with_retry(
            RUN_MVAD_DETECTION_CHUNK, STEP_RETRY, {"resultId": result_id, "index": index}
        )
        for index in range(int(chunks))
    ]
    failed = 0
    try:
        yield context.task_all(tasks)
    except Exception:
        for task in tasks:  # task_all fails fast: wait for the rest, count the failures
            if not task.is_completed:
                try:
                    yield task
                except Exception:
                    pass
        failed = sum(1 for task in tasks if isinstance(task.result, Exception))
    status = yield context.call_activity_with_retry(
        FINISH_MVAD_DETECTION, STEP_RETRY, {"resultId": result_id, "failed": failed}
    )
    return {"resultId": result_id, "status": status}
