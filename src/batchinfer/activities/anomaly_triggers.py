"""Activity triggers of the anomaly orchestrations: ids in, a plain step, JSON out."""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df

from batchinfer.anomaly import steps
from batchinfer.wiring import get_services

blueprint = df.Blueprint()


@blueprint.activity_trigger(input_name="model_id", activity="train_mvad_model")
def train_mvad_model(model_id: str) -> str:
    return steps.train_model(get_services(), model_id)


@blueprint.activity_trigger(input_name="result_id", activity="prepare_mvad_detection")
def prepare_mvad_detection(result_id: str) -> int:
    return steps.prepare_detection(get_services(), result_id)


@blueprint.activity_trigger(input_name="args", activity="run_mvad_detection_chunk")
def run_mvad_detection_chunk(args: dict[str, Any]) -> int:
    return steps.detect_chunk_step(get_services(), str(args["resultId"]), int(args["index"]))


@blueprint.activity_trigger(input_name="args", activity="finish_mvad_detection")
def finish_mvad_detection(args: dict[str, Any]) -> str:
    return steps.finish_detection(get_services(), str(args["resultId"]), int(args["failed"]))
