"""Document batches in the dashboard, over the durable-client fake: progress over time from the
orchestration's history, and "rerun failed items" starting a new `docbatch:` job."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from batchinfer.api.ui.catalog import JobActionError
from batchinfer.api.ui.document_jobs import DocumentBatches
from batchinfer.inference.registry import ModelRegistry
from batchinfer.jobs.model import (
    DOCUMENT_ANALYSIS,
    ITEMS_OPTION,
    ItemError,
    ItemOutcome,
    ItemStatus,
    JobSpec,
    JobStatus,
)
from batchinfer.jobs.origin import save_origin
from batchinfer.jobs.planning import make_plan, write_shards
from batchinfer.orchestration.client import HistoryEvent, RuntimeStatus
from batchinfer.orchestration.instance_ids import document_batch_id
from batchinfer.orchestration.names import BATCH_JOB
from batchinfer.wiring import Services, build_services
from batchinfer.settings import AppSettings
from batchinfer.storage import StorageAllowList
from tests.support.durable import T0, FakeDurableClient, instance

MODEL = "prebuilt-read"
NAMES = [f"docs/{i}.png" for i in range(5)]
FAILED = {"docs/1.png", "docs/4.png"}


@pytest.fixture
def services(tmp_path: Path) -> Services:
    settings = AppSettings.from_env({"BATCHINFER_DATA_ROOT": str(tmp_path)})
    return build_services(
        settings, policy=StorageAllowList(local_roots=[tmp_path]), registry=ModelRegistry()
    )


def _finished_job(services: Services, tmp_path: Path) -> str:
    """A job of 5 items (2 failed) as the activities leave it: origin, plan, outcomes."""
    job_id = str(uuid.uuid4())
    (tmp_path / "in").mkdir()
    (tmp_path / "out").mkdir()
    store = services.job_store
    save_origin(
        store,
        JobSpec(
            job_id=job_id,
            kind=DOCUMENT_ANALYSIS,
            model_id=MODEL,
            source_url=(tmp_path / "in").as_uri(),
            source_prefix="docs/",
            file_list=None,
            result_url=(tmp_path / "out").as_uri(),
            result_prefix="",
            overwrite=False,
            created="2024-09-24T13:00:46Z",
        ),
    )
    plan = make_plan(len(NAMES), 2, 10)
    write_shards(NAMES, plan.shard_size, lambda s, names: store.save_shard_items(job_id, s, names))
    store.save_plan(job_id, plan)
    for chunk in range(plan.chunks_in_shard(0)):
        store.save_outcomes(
            job_id,
            0,
            chunk,
            [
                ItemOutcome(n, ItemStatus.FAILED, error=ItemError("InvalidContent", "bad"))
                if n in FAILED
                else ItemOutcome(n, ItemStatus.SUCCEEDED, result=n + ".ocr.json")
                for n in NAMES[chunk * 2 : (chunk + 1) * 2]
            ],
        )
    return job_id


def _completed(job_id: str) -> FakeDurableClient:
    instance_id = document_batch_id(MODEL, job_id)
    fake = FakeDurableClient.holding(
        instance(
            RuntimeStatus.COMPLETED,
            instance_id=instance_id,
            name=BATCH_JOB,
            updated=T0 + timedelta(seconds=9),
            output={"status": "succeeded"},
            custom={"phase": "done", "total": 5, "succeeded": 3, "failed": 2, "skipped": 0},
        )
    )
    fake.add_history(
        instance_id,
        HistoryEvent("ExecutionStarted", T0),
        HistoryEvent(
            "SubOrchestrationInstanceCompleted",
            T0 + timedelta(seconds=3),
            {"counts": {"succeeded": 2, "failed": 0}},
        ),
        HistoryEvent(
            "SubOrchestrationInstanceCompleted",
            T0 + timedelta(seconds=6),
            '{"counts": {"succeeded": 1, "failed": 2}}',
        ),  # JSON text, as the SDK may
        HistoryEvent("ExecutionCompleted", T0 + timedelta(seconds=9), {"status": "succeeded"}),
    )
    return fake


def test_detail_reads_progress_from_the_history(services: Services, tmp_path: Path) -> None:
    job_id = _finished_job(services, tmp_path)
    detail = asyncio.run(DocumentBatches().get_job(_completed(job_id), services, job_id))
    assert detail is not None
    assert [(int((t - T0).total_seconds()), p) for t, p in detail.progress] == [
        (0, 0),
        (3, 40),
        (6, 100),
        (9, 100),
    ]
    body = detail.to_json()
    assert body["status"] == "succeeded" and body["counts"]["failed"] == 2
    assert "rerunFailed" in body["actions"]
    assert body["sections"]["origin"]["sourcePrefix"] == "docs/"


def test_unknown_and_non_uuid_jobs_are_404(services: Services) -> None:
    for job_id in ("nope", str(uuid.uuid4())):
        with pytest.raises(JobActionError) as error:
            asyncio.run(DocumentBatches().get_job(FakeDurableClient(), services, job_id))
        assert error.value.status == 404


def test_rerun_starts_a_new_job_over_exactly_the_failed_items(
    services: Services, tmp_path: Path
) -> None:
    job_id = _finished_job(services, tmp_path)
    fake = _completed(job_id)
    new_id = asyncio.run(DocumentBatches().rerun_failed(fake, services, job_id))
    assert new_id != job_id
    [(orchestration, instance_id, payload)] = fake.started
    assert (orchestration, instance_id) == (BATCH_JOB, document_batch_id(MODEL, new_id))
    assert payload["job_id"] == new_id
    spec = services.job_store.load_spec(new_id)
    assert spec is not None and spec.options[ITEMS_OPTION] == sorted(FAILED)
    assert spec.options["rerunOf"] == job_id and spec.source_prefix == "docs/"


def test_rerun_of_a_running_job_is_a_conflict(services: Services, tmp_path: Path) -> None:
    job_id = _finished_job(services, tmp_path)
    fake = _completed(job_id)
    instance_id = document_batch_id(MODEL, job_id)
    fake.statuses[instance_id] = replace(
        fake.statuses[instance_id], runtime_status=RuntimeStatus.RUNNING
    )
    with pytest.raises(JobActionError) as error:
        asyncio.run(DocumentBatches().rerun_failed(fake, services, job_id))
    assert error.value.status == 409 and not fake.started
    summary = asyncio.run(DocumentBatches().list_jobs(fake, services))
    assert [(s.job_id, s.model, s.status) for s in summary] == [(job_id, MODEL, JobStatus.RUNNING)]
