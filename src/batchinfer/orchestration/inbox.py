"""`inbox_batch`: a manifest's batch job, then its report written next to the manifest.

The job itself is the ordinary `batch_job`, run as a sub-orchestration under the id the API
would give it (`docbatch:<model>:<result id>`), so the Document Intelligence API can read it too.
However the job ends, the report is published: a failed or crashed job gets a `failed` report.
"""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df

from batchinfer.jobs.model import INTERNAL_ERROR, JobStatus
from batchinfer.orchestration.batch import STORAGE_RETRY
from batchinfer.orchestration.names import BATCH_JOB, INBOX_BATCH, PUBLISH_INBOX_REPORT

blueprint = df.Blueprint()


@blueprint.orchestration_trigger(context_name="context", orchestration=INBOX_BATCH)
def inbox_batch(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    args = context.get_input()
    status: str = JobStatus.FAILED
    error: dict[str, Any] | None = None
    try:
        summary = yield context.call_sub_orchestrator(
            BATCH_JOB, args["ref"], args["job_instance_id"]
        )
        if isinstance(summary, dict):
            status = str(summary.get("status") or JobStatus.SUCCEEDED)
    except Exception:  # the job crashed: its report says so instead of never appearing
        error = INTERNAL_ERROR.to_json()
    published = yield context.call_activity_with_retry(
        PUBLISH_INBOX_REPORT,
        STORAGE_RETRY,
        {"ref": args["ref"], "report_name": args["report_name"], "status": status, "error": error},
    )
    return published
