"""The product's orchestrators driven in-process, with scripted activities.

`batch_job`, `batch_shard`, `mvad_train` and `mvad_detect` are the real blueprints; the
activities they call are fakes defined here (same names), so each test scripts a plan, slow or
failing chunks, and reads back what the orchestrator did: which chunks ran, how many shard
units were in flight at once (from the job's own history), what finalize was told. They run on
the embedded engine with an in-memory store (the harness of `test_durable_engine.py`), so the
SDK's real replay drives them; no host process, no storage.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import types
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import azure.durable_functions as df
import azure.functions as func
import pytest

from batchinfer.jobs.model import JobStatus
from batchinfer.orchestration import anomaly, batch
from batchinfer.orchestration.instance_ids import document_batch_id, shard_unit_id
from batchinfer.orchestration.names import AZUREML_BATCH_SCORING, CANCEL_EVENT, STOPPED
from funchost.app_index import index_app
from funchost.durable.engine import DurableEngine
from funchost.durable.store import DurableStore
from funchost.invoker import Invoker

SUB_CREATED, SUB_COMPLETED, SUB_FAILED = 7, 8, 9  # DTFx history event types
FAST_RETRY = df.RetryOptions(first_retry_interval_in_milliseconds=10, max_number_of_attempts=2)
REF = {"job_id": "j1", "kind": "document-analysis", "model_id": "m"}
SCORING_REF = {"job_id": "batchjob-1", "kind": AZUREML_BATCH_SCORING, "model_id": "ep/d"}


@dataclass
class Script:
    """What the fake activities answer, and what they were asked."""

    plan: dict[str, Any] = field(default_factory=dict)
    failing_chunks: set[tuple[int, int]] = field(default_factory=set)
    chunk_seconds: float = 0.0
    chunks_run: list[tuple[int, int]] = field(default_factory=list)
    finalized: list[dict[str, Any]] = field(default_factory=list)
    detect_chunks: int = 0
    failing_blocks: set[int] = field(default_factory=set)
    blocks_run: list[int] = field(default_factory=list)
    finished: list[dict[str, Any]] = field(default_factory=list)
    failed_per_minibatch: int = 0
    minibatches_run: list[tuple[int, int]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


SCRIPT = Script()


def _build_app() -> types.ModuleType:
    app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
    app.register_functions(batch.blueprint)
    app.register_functions(anomaly.blueprint)

    @app.activity_trigger(input_name="ref", activity="plan_batch")
    def plan_batch(ref: dict[str, Any]) -> dict[str, Any]:
        return SCRIPT.plan

    @app.activity_trigger(input_name="args", activity="run_inference_chunk")
    def run_inference_chunk(args: dict[str, Any]) -> dict[str, int]:
        key = (int(args["shard"]), int(args["chunk"]))
        time.sleep(SCRIPT.chunk_seconds)
        if key in SCRIPT.failing_chunks:
            raise RuntimeError(f"chunk {key} is broken")
        with SCRIPT.lock:
            SCRIPT.chunks_run.append(key)
        return {"succeeded": 1, "failed": 0, "skipped": 0, "pages": 1}

    @app.activity_trigger(input_name="args", activity="finalize_batch")
    def finalize_batch(args: dict[str, Any]) -> dict[str, Any]:
        SCRIPT.finalized.append(args)
        return {
            "status": args["status"],
            "succeeded": len(SCRIPT.chunks_run),
            "failed": 0,
            "skipped": 0,
            "pages": 0,
        }

    @app.activity_trigger(input_name="ref", activity="plan_scoring_job")
    def plan_scoring_job(ref: dict[str, Any]) -> dict[str, Any]:
        return SCRIPT.plan

    @app.activity_trigger(input_name="args", activity="score_mini_batch")
    def score_mini_batch(args: dict[str, Any]) -> dict[str, int]:
        time.sleep(SCRIPT.chunk_seconds)
        with SCRIPT.lock:
            SCRIPT.minibatches_run.append((int(args["shard"]), int(args["chunk"])))
        failed = SCRIPT.failed_per_minibatch
        return {"succeeded": 1 - failed, "failed": failed, "skipped": 0, "pages": 0}

    @app.activity_trigger(input_name="args", activity="finalize_scoring_job")
    def finalize_scoring_job(args: dict[str, Any]) -> dict[str, Any]:
        SCRIPT.finalized.append(args)
        status = "failed" if args["status"] == STOPPED else args["status"]
        return {"status": status, "succeeded": 0, "failed": 0, "skipped": 0, "pages": 0}

    @app.activity_trigger(input_name="model_id", activity="train_mvad_model")
    def train_mvad_model(model_id: str) -> str:
        return "READY" if model_id == "good" else "FAILED"

    @app.activity_trigger(input_name="result_id", activity="prepare_mvad_detection")
    def prepare_mvad_detection(result_id: str) -> int:
        return SCRIPT.detect_chunks

    @app.activity_trigger(input_name="args", activity="run_mvad_detection_chunk")
    def run_mvad_detection_chunk(args: dict[str, Any]) -> int:
        if int(args["index"]) in SCRIPT.failing_blocks:
            raise RuntimeError("block is broken")
        with SCRIPT.lock:
            SCRIPT.blocks_run.append(int(args["index"]))
        return 10

    @app.activity_trigger(input_name="args", activity="finish_mvad_detection")
    def finish_mvad_detection(args: dict[str, Any]) -> str:
        SCRIPT.finished.append(args)
        return "FAILED" if args["failed"] else "READY"

    module = types.ModuleType("orchestrator_test_app")
    module.app = app  # type: ignore[attr-defined]
    return module


FUNCTIONS = index_app(_build_app())


@dataclass
class Finished:
    status: str
    output: Any
    history: list[dict[str, Any]]


async def _drive(
    orchestration: str,
    instance_id: str,
    payload: Any,
    on_running: Callable[[DurableEngine, list[dict[str, Any]]], bool] | None = None,
    timeout: float = 30,
) -> Finished:
    store = DurableStore(Path(":memory:"))
    engine = DurableEngine(
        store=store,
        functions=FUNCTIONS,
        invoker=Invoker(Path("."), ThreadPoolExecutor(4)),
        max_activities=4,
        max_orchestrators=2,
    )
    await engine.start()
    try:
        engine.start_orchestration(orchestration, instance_id, json.dumps(payload))
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            row = engine.get_instance(instance_id)
            assert row is not None
            if row.status in ("Completed", "Failed", "Terminated"):
                output = json.loads(row.output) if row.output else None
                return Finished(row.status, output, engine.history_of(instance_id))
            if on_running is not None and on_running(engine, engine.history_of(instance_id)):
                on_running = None
            assert asyncio.get_running_loop().time() < deadline, "orchestration stalled"
            await asyncio.sleep(0.01)
    finally:
        await engine.stop()
        store.close()


def _run(*args: Any, **kwargs: Any) -> Finished:
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # e.g. a duplicate task completion
        return asyncio.run(_drive(*args, **kwargs))


@pytest.fixture(autouse=True)
def script(monkeypatch: pytest.MonkeyPatch) -> Script:
    """A fresh script per test; retries shortened so failures are quick."""
    global SCRIPT
    SCRIPT = Script()
    monkeypatch.setattr(batch, "CHUNK_RETRY", FAST_RETRY)
    monkeypatch.setattr(batch, "STORAGE_RETRY", FAST_RETRY)
    monkeypatch.setattr(anomaly, "STEP_RETRY", FAST_RETRY)
    return SCRIPT


def _plan(total: int, shard_size: int, items_per_activity: int = 1) -> dict[str, Any]:
    return {
        "total": total,
        "shard_size": shard_size,
        "items_per_activity": items_per_activity,
        "shards": -(-total // shard_size),
    }


def _most_units_in_flight(history: list[dict[str, Any]]) -> int:
    in_flight = most = 0
    for event in history:
        if event["EventType"] == SUB_CREATED:
            in_flight += 1
            most = max(most, in_flight)
        elif event["EventType"] in (SUB_COMPLETED, SUB_FAILED):
            in_flight -= 1
    return most


# ------------------------------------------------------------------------------- batch_job


def test_batch_job_runs_every_chunk_once_with_bounded_shards_in_flight(script: Script) -> None:
    script.plan = _plan(total=40, shard_size=1)  # 40 shards: 40 sub-orchestration units
    job = document_batch_id("m", "j1")
    done = _run("batch_job", job, REF)
    assert done.status == "Completed"
    assert done.output["status"] == JobStatus.SUCCEEDED
    assert sorted(script.chunks_run) == [(shard, 0) for shard in range(40)]
    assert _most_units_in_flight(done.history) == batch.MAX_SHARDS_IN_FLIGHT
    created = [e["InstanceId"] for e in done.history if e["EventType"] == SUB_CREATED]
    assert created == [shard_unit_id(job, shard, 0) for shard in range(40)]
    assert script.finalized == [{"ref": REF, "status": "succeeded", "error": None}]


def test_small_job_is_split_along_chunks_into_units(script: Script) -> None:
    script.plan = _plan(total=6, shard_size=6)  # one shard of 6 chunks
    done = _run("batch_job", "docbatch:m:small", REF)
    assert done.output["status"] == "succeeded"
    assert sorted(script.chunks_run) == [(0, chunk) for chunk in range(6)]
    assert len([e for e in done.history if e["EventType"] == SUB_CREATED]) == 6


def test_cancel_stops_starting_shards_and_finalizes_as_canceled(script: Script) -> None:
    script.plan = _plan(total=60, shard_size=1)
    script.chunk_seconds = 0.05

    def cancel_once_shards_run(engine: DurableEngine, history: list[dict[str, Any]]) -> bool:
        if any(e["EventType"] == SUB_COMPLETED for e in history):
            engine.raise_event("docbatch:m:cancel", CANCEL_EVENT, None)
            return True
        return False

    done = _run("batch_job", "docbatch:m:cancel", REF, on_running=cancel_once_shards_run)
    assert done.status == "Completed"
    assert done.output["status"] == JobStatus.CANCELED
    assert script.finalized == [{"ref": REF, "status": "canceled", "error": None}]
    started = [e for e in done.history if e["EventType"] == SUB_CREATED]
    assert 0 < len(started) < 60  # it stopped starting shards


def test_a_failed_chunk_fails_alone_and_its_shard_waits_for_the_others(script: Script) -> None:
    script.plan = _plan(total=40, shard_size=20)  # 2 shards split into units of 3 chunks
    script.failing_chunks = {(0, 1)}
    done = _run("batch_job", "docbatch:m:fail", REF)
    assert done.status == "Completed"
    assert done.output["status"] == "succeeded"  # finalize reports the chunk's items failed
    expected = {(shard, chunk) for shard in (0, 1) for chunk in range(20)} - {(0, 1)}
    assert sorted(script.chunks_run) == sorted(expected)
    results = [json.loads(e["Result"]) for e in done.history if e["EventType"] == SUB_COMPLETED]
    failed_units = [r for r in results if r.get("error")]
    assert len(failed_units) == 1 and failed_units[0]["counts"] is None
    assert "chunk (0, 1) is broken" in failed_units[0]["error"]
    assert script.finalized[-1]["status"] == "succeeded"


def test_a_plan_error_finalizes_as_failed_without_shards(script: Script) -> None:
    error = {"code": "InvalidRequest", "message": "The source could not be listed."}
    script.plan = {**_plan(total=0, shard_size=1), "error": error}
    done = _run("batch_job", "docbatch:m:noplan", REF)
    assert done.output["status"] == "failed"
    assert script.finalized == [{"ref": REF, "status": "failed", "error": error}]
    assert not [e for e in done.history if e["EventType"] == SUB_CREATED]


# ------------------------------------------------------------------- batch endpoint jobs


def test_an_endpoint_job_runs_on_the_scoring_steps(script: Script) -> None:
    script.plan = _plan(total=12, shard_size=4)
    done = _run("batch_job", "amlbatch:batchjob-1", SCORING_REF)
    assert done.output["status"] == JobStatus.SUCCEEDED
    assert sorted(script.minibatches_run) == [(s, c) for s in range(3) for c in range(4)]
    assert script.chunks_run == []  # the document steps are never called
    assert script.finalized == [{"ref": SCORING_REF, "status": "succeeded", "error": None}]


def test_an_endpoint_job_stops_once_more_files_failed_than_its_threshold(script: Script) -> None:
    script.plan = _plan(total=40, shard_size=1)
    script.failed_per_minibatch = 1
    script.chunk_seconds = 0.05
    ref = {**SCORING_REF, "stop_after_failures": 2}
    done = _run("batch_job", "amlbatch:stopped", ref)
    assert done.output["status"] == JobStatus.FAILED  # finalize's verdict
    assert script.finalized == [{"ref": ref, "status": STOPPED, "error": None}]
    started = [e for e in done.history if e["EventType"] == SUB_CREATED]
    assert len(started) < 40  # it stopped starting mini-batches
    assert len(script.minibatches_run) >= 3


def test_a_threshold_never_exceeded_lets_the_job_finish(script: Script) -> None:
    script.plan = _plan(total=8, shard_size=1)
    script.failed_per_minibatch = 1
    ref = {**SCORING_REF, "stop_after_failures": 8}
    done = _run("batch_job", "amlbatch:tolerated", ref)
    assert done.output["status"] == JobStatus.SUCCEEDED
    assert len(script.minibatches_run) == 8
    assert script.finalized[-1]["status"] == "succeeded"


# ---------------------------------------------------------------------------------- anomaly


@pytest.mark.parametrize(("model_id", "status"), [("good", "READY"), ("bad", "FAILED")])
def test_mvad_train_reports_the_training_status(model_id: str, status: str) -> None:
    done = _run("mvad_train", f"mvadtrain:{model_id}", {"modelId": model_id})
    assert done.output == {"modelId": model_id, "status": status}


def test_mvad_detect_scores_every_block_and_finishes_ready(script: Script) -> None:
    script.detect_chunks = 5
    done = _run("mvad_detect", "mvaddetect:r1", {"resultId": "r1"})
    assert done.output == {"resultId": "r1", "status": "READY"}
    assert sorted(script.blocks_run) == [0, 1, 2, 3, 4]
    assert script.finished == [{"resultId": "r1", "failed": 0}]


def test_mvad_detect_counts_failed_blocks_after_waiting_for_the_rest(script: Script) -> None:
    script.detect_chunks = 6
    script.failing_blocks = {1, 4}
    done = _run("mvad_detect", "mvaddetect:r2", {"resultId": "r2"})
    assert done.output == {"resultId": "r2", "status": "FAILED"}
    assert sorted(script.blocks_run) == [0, 2, 3, 5]
    assert script.finished == [{"resultId": "r2", "failed": 2}]


def test_mvad_detect_without_blocks_fails_without_finishing(script: Script) -> None:
    script.detect_chunks = 0
    done = _run("mvad_detect", "mvaddetect:r3", {"resultId": "r3"})
    assert done.output == {"resultId": "r3", "status": "FAILED"}
    assert script.finished == [] and script.blocks_run == []
