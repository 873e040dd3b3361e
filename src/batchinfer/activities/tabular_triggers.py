"""Activity triggers of the dataset inference orchestrations: ids in, a tabular step, JSON out."""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df

from batchinfer.tabular import steps
from batchinfer.tabular.wiring import get_catalog
from batchinfer.wiring import get_services

blueprint = df.Blueprint()


@blueprint.activity_trigger(input_name="job_id", activity="ww_ingest_version")
def ww_ingest_version(job_id: str) -> str:
    return steps.ingest(get_catalog(), job_id)


@blueprint.activity_trigger(input_name="job_id", activity="ww_train_version")
def ww_train_version(job_id: str) -> str:
    return steps.train_version(get_catalog(), job_id)


@blueprint.activity_trigger(input_name="job_id", activity="ww_prepare_inference")
def ww_prepare_inference(job_id: str) -> int:
    return steps.prepare_inference(get_catalog(), job_id)


@blueprint.activity_trigger(input_name="args", activity="ww_score_chunk")
def ww_score_chunk(args: dict[str, Any]) -> dict[str, Any]:
    return steps.score_chunk(
        get_catalog(),
        str(args["job_id"]),
        int(args["index"]),
        get_services().settings.onnx_batch_rows,
    )


@blueprint.activity_trigger(input_name="args", activity="ww_finish_inference")
def ww_finish_inference(args: dict[str, Any]) -> str:
    return steps.finish_inference(
        get_catalog(), str(args["job_id"]), [str(e) for e in args.get("errors") or []]
    )


@blueprint.activity_trigger(input_name="job_id", activity="ww_fail_job")
def ww_fail_job(job_id: str) -> str:
    return steps.fail_unexpectedly(get_catalog(), job_id)
