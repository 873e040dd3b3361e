"""The job store's files: what each step saves and reads back, and what delete leaves."""

from __future__ import annotations

from pathlib import Path

import pytest

from batchinfer.jobs.model import (
    DOCUMENT_ANALYSIS,
    ItemError,
    ItemOutcome,
    JobReport,
    JobSpec,
    JobStatus,
    Plan,
)
from batchinfer.jobs.store import JobStore
from batchinfer.storage import BlobNotFoundError
from batchinfer.storage.local import LocalFolderStore


@pytest.fixture
def store(tmp_path: Path) -> JobStore:
    return JobStore(LocalFolderStore(tmp_path / "jobs"))


def _spec(job_id: str = "j1") -> JobSpec:
    return JobSpec(
        job_id=job_id,
        kind=DOCUMENT_ANALYSIS,
        model_id="prebuilt-read",
        source_url="https://a.blob.core.windows.net/in?sig=secret",
        source_prefix="",
        file_list=None,
        result_url="https://a.blob.core.windows.net/out?sig=secret",
        result_prefix="",
        overwrite=False,
        created="2024-01-01T00:00:00Z",
    )


def test_spec_round_trip_and_forget(store: JobStore) -> None:
    assert store.load_spec("j1") is None
    store.save_spec(_spec())
    assert store.load_spec("j1") == _spec()
    store.forget_secrets("j1")
    store.forget_secrets("j1")  # idempotent, for retries
    assert store.load_spec("j1") is None


def test_plan_and_shard_items(store: JobStore) -> None:
    plan = Plan(3, 2, 1, 2)
    store.save_plan("j1", plan)
    assert store.load_plan("j1") == plan
    names = ["a b.pdf", "dir/é.png", 'quote".tif', "line\u2028sep.bmp"]
    store.save_shard_items("j1", 7, names)
    assert store.load_shard_items("j1", 7) == names
    with pytest.raises(BlobNotFoundError):
        store.load_plan("other")


def test_outcomes_none_until_recorded(store: JobStore) -> None:
    assert store.load_outcomes("j1", 0, 0) is None
    store.save_outcomes("j1", 0, 0, [])
    assert store.load_outcomes("j1", 0, 0) == []
    outcomes = [
        ItemOutcome("a", "succeeded", result="a.ocr.json", pages=1),
        ItemOutcome("b", "failed", error=ItemError("X", "x", "Y", "y")),
    ]
    store.save_outcomes("j1", 0, 1, outcomes)
    assert store.load_outcomes("j1", 0, 1) == outcomes


def test_claims(store: JobStore) -> None:
    assert store.load_claims("j1", 1, 2) is None
    store.save_claims("j1", 1, 2, {"a": True, "b": False})
    assert store.load_claims("j1", 1, 2) == {"a": True, "b": False}


def test_cancel_flag_and_finished_jobs(store: JobStore) -> None:
    store.save_spec(_spec())
    assert not store.cancel_requested("j1")
    store.request_cancel("j1")
    assert store.cancel_requested("j1")
    store.save_spec(_spec("j2"))
    store.forget_secrets("j2")
    assert store.cancel_requested("j2")  # finished or deleted: nothing may run on
    assert store.cancel_requested("never-existed")


def test_delete_job_removes_only_that_job(store: JobStore, tmp_path: Path) -> None:
    for job in ("j1", "j10"):
        store.save_spec(_spec(job))
        store.save_plan(job, Plan(1, 1, 1, 1))
        store.save_report(job, JobReport(JobStatus.SUCCEEDED))
    store.request_cancel("j1")
    assert store.delete_job("j1") == 4
    assert store.load_report("j1") is None and store.load_spec("j1") is None
    assert store.load_report("j10") == JobReport(JobStatus.SUCCEEDED)
    assert store.delete_job("j1") == 0
