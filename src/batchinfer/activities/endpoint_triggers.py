"""Activity triggers of batch endpoint jobs: JSON in, a plain step from `endpoints.steps`,
JSON out."""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df

from batchinfer.endpoints import steps
from batchinfer.jobs.model import ItemError, JobRef
from batchinfer.wiring import get_services

blueprint = df.Blueprint()


@blueprint.activity_trigger(input_name="ref", activity="plan_scoring_job")
def plan_scoring_job(ref: dict[str, Any]) -> dict[str, Any]:
    return steps.plan_scoring_job(get_services(), JobRef.from_json(ref)).to_json()


@blueprint.activity_trigger(input_name="args", activity="score_mini_batch")
def score_mini_batch(args: dict[str, Any]) -> dict[str, int]:
    counts = steps.score_mini_batch(
        get_services(), JobRef.from_json(args["ref"]), int(args["shard"]), int(args["chunk"])
    )
    return counts.to_json()


@blueprint.activity_trigger(input_name="args", activity="finalize_scoring_job")
def finalize_scoring_job(args: dict[str, Any]) -> dict[str, Any]:
    # the status stays a string: `batch_job` may hand over `STOPPED`, which is no JobStatus
    report = steps.finalize_scoring_job(
        get_services(),
        JobRef.from_json(args["ref"]),
        str(args["status"]),
        ItemError.optional(args.get("error")),
    )
    return report.summary()
