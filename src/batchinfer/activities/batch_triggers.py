"""The batch job's activity triggers: JSON in, a plain function from `batch_steps`, JSON out."""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df

from batchinfer.activities import batch_steps
from batchinfer.jobs.model import ItemError, JobRef, JobStatus
from batchinfer.wiring import get_services

blueprint = df.Blueprint()


@blueprint.activity_trigger(input_name="ref", activity="plan_batch")
def plan_batch(ref: dict[str, Any]) -> dict[str, Any]:
    return batch_steps.plan_job(get_services(), JobRef.from_json(ref)).to_json()


@blueprint.activity_trigger(input_name="args", activity="run_inference_chunk")
def run_inference_chunk(args: dict[str, Any]) -> dict[str, int]:
    counts = batch_steps.run_chunk(
        get_services(), JobRef.from_json(args["ref"]), int(args["shard"]), int(args["chunk"])
    )
    return counts.to_json()


@blueprint.activity_trigger(input_name="args", activity="finalize_batch")
def finalize_batch(args: dict[str, Any]) -> dict[str, Any]:
    report = batch_steps.finalize_job(
        get_services(),
        JobRef.from_json(args["ref"]),
        JobStatus(args["status"]),
        ItemError.optional(args.get("error")),
    )
    return report.summary()
