"""Job operations over a fake durable client: status mapping, submit, get, list, cancel, delete."""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from batchinfer.inference.registry import ModelRegistry
from batchinfer.jobs import service
from batchinfer.jobs.model import DOCUMENT_ANALYSIS, ItemError, JobReport, JobSpec, JobStatus
from batchinfer.orchestration.names import BATCH_JOB, CANCEL_EVENT
from batchinfer.wiring import Services, build_services
from batchinfer.settings import AppSettings
from batchinfer.storage import StorageAllowList
from batchinfer.storage.local import LocalFolderStore
from tests.support.durable import T0, FakeDurableClient
from tests.support.durable import instance as status


class TestStatusMapping:
    @pytest.mark.parametrize(
        ("runtime", "expected"),
        [
            ("Pending", "notStarted"),
            ("Running", "running"),
            ("ContinuedAsNew", "running"),
            ("Suspended", "running"),
            ("Failed", "failed"),
            ("Terminated", "canceled"),
            ("Canceled", "canceled"),
            ("Completed", "succeeded"),
        ],
    )
    def test_runtime_to_job_status(self, runtime: str, expected: str) -> None:
        assert service.view_from_status(status(runtime), "j", None).status == expected

    @pytest.mark.parametrize("job_status", ["succeeded", "failed", "canceled"])
    def test_completed_takes_the_orchestration_verdict(self, job_status: str) -> None:
        view = service.view_from_status(
            status("Completed", output={"status": job_status, "succeeded": 1}), "j", None
        )
        assert view.status == job_status
        assert view.finished

    def test_completed_without_dict_output_is_succeeded(self) -> None:
        assert (
            service.view_from_status(status("Completed", output="done"), "j", None).status
            == "succeeded"
        )

    def test_never_completed(self) -> None:
        for runtime in ("Pending", "Running", "Completed", "Failed", "Terminated"):
            assert service.view_from_status(status(runtime), "j", None).status != "completed"

    def test_running_percent_from_custom_status(self) -> None:
        view = service.view_from_status(
            status("Running", custom={"percentCompleted": 42, "phase": "running"}), "j", None
        )
        assert view.percent_completed == 42
        assert not view.finished

    def test_percent_is_100_when_succeeded_and_0_without_progress(self) -> None:
        done = service.view_from_status(
            status("Completed", custom={"percentCompleted": 50}, output={"status": "succeeded"}),
            "j",
            None,
        )
        assert done.percent_completed == 100
        assert (
            service.view_from_status(status("Running", custom="text"), "j", None).percent_completed
            == 0
        )
        assert service.view_from_status(status("Pending"), "j", None).percent_completed == 0

    def test_canceled_keeps_partial_percent(self) -> None:
        view = service.view_from_status(
            status("Completed", output={"status": "canceled"}, custom={"percentCompleted": 30}),
            "j",
            None,
        )
        assert (view.status, view.percent_completed) == ("canceled", 30)

    def test_failed_runtime_has_a_generic_error(self) -> None:
        view = service.view_from_status(
            status("Failed", output="Traceback: secret?sig=x"), "j", None
        )
        assert view.error is not None and view.error.code == "InternalServerError"
        assert "sig" not in str(view.error)

    def test_report_error_wins(self) -> None:
        report = JobReport(JobStatus.FAILED, error=ItemError("InvalidRequest", "m"))
        view = service.view_from_status(
            status("Completed", output={"status": "failed"}), "j", report
        )
        assert view.status == "failed"
        assert view.error == report.error
        assert view.report == report

    def test_times_and_ids(self) -> None:
        later = T0 + timedelta(seconds=3)
        view = service.view_from_status(
            status("Running", instance_id="docbatch:m:abc", updated=later), "abc", None
        )
        assert (view.job_id, view.instance_id, view.created, view.updated) == (
            "abc",
            "docbatch:m:abc",
            T0,
            later,
        )


class TestIsoZ:
    def test_utc_seconds_with_z(self) -> None:
        assert service.iso_z(T0) == "2024-09-24T13:00:46Z"

    def test_naive_is_utc_and_offsets_are_converted(self) -> None:
        assert service.iso_z(datetime(2024, 1, 2, 3, 4, 5, 999999)) == "2024-01-02T03:04:05Z"
        plus2 = timezone(timedelta(hours=2))
        assert service.iso_z(datetime(2024, 1, 2, 3, 4, 5, tzinfo=plus2)) == "2024-01-02T01:04:05Z"

    def test_now_is_explicit(self) -> None:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", service.now_iso_z())


# ------------------------------------------------------------------ operations on a fake client


@pytest.fixture
def services(tmp_path: Path) -> Services:
    settings = AppSettings.from_env({"BATCHINFER_DATA_ROOT": str(tmp_path)})
    return build_services(
        settings, policy=StorageAllowList(local_roots=[tmp_path]), registry=ModelRegistry()
    )


def _spec(job_id: str) -> JobSpec:
    return JobSpec(
        job_id=job_id,
        kind=DOCUMENT_ANALYSIS,
        model_id="prebuilt-read",
        source_url="file:///x/in",
        source_prefix="",
        file_list=None,
        result_url="file:///x/out",
        result_prefix="",
        overwrite=False,
        created="2024-01-01T00:00:00Z",
    )


def test_submit_is_idempotent_and_passes_no_secrets(services: Services) -> None:
    client = FakeDurableClient()
    assert asyncio.run(service.submit_job(client, services, _spec("j1"), "docbatch:m:j1"))
    assert not asyncio.run(service.submit_job(client, services, _spec("j1"), "docbatch:m:j1"))
    assert len(client.started) == 1
    name, instance_id, payload = client.started[0]
    assert (name, instance_id) == (BATCH_JOB, "docbatch:m:j1")
    assert payload == {"job_id": "j1", "kind": DOCUMENT_ANALYSIS, "model_id": "prebuilt-read"}
    stored = services.job_store.load_spec("j1")
    assert stored == replace(_spec("j1"), options={"instanceId": "docbatch:m:j1"})


def test_get_job_ignores_other_orchestrations_and_loads_report_when_done(
    services: Services,
) -> None:
    client = FakeDurableClient.holding(
        status("Completed", name="something_else", instance_id="other"),
        status("Running", instance_id="run"),
        status("Completed", instance_id="done", output={"status": "succeeded"}),
    )
    services.job_store.save_report("run", JobReport(JobStatus.RUNNING))
    services.job_store.save_report("done", JobReport(JobStatus.SUCCEEDED))
    assert asyncio.run(service.get_job(client, services, "missing", "m")) is None
    assert asyncio.run(service.get_job(client, services, "other", "other")) is None
    running = asyncio.run(service.get_job(client, services, "run", "run"))
    assert running is not None and running.report is None
    done = asyncio.run(service.get_job(client, services, "done", "done"))
    assert done is not None and done.report == JobReport(JobStatus.SUCCEEDED)
    bare = asyncio.run(service.get_job(client, services, "done", "done", with_report=False))
    assert bare is not None and bare.report is None


def test_list_jobs_filters_and_sorts_oldest_first() -> None:
    client = FakeDurableClient(
        {
            "p:b": status("Running", instance_id="p:b", created=T0 + timedelta(seconds=5)),
            "p:a": status("Running", instance_id="p:a", created=T0 + timedelta(seconds=5)),
            "p:c": status("Running", instance_id="p:c", created=T0),
            "p:c~shard~000000": status(
                "Running", instance_id="p:c~shard~000000", name="batch_shard"
            ),
            "q:z": status("Running", instance_id="q:z"),
        }
    )
    jobs = asyncio.run(service.list_jobs(client, "p:"))
    assert [s.instance_id for s in jobs] == ["p:c", "p:a", "p:b"]


def test_cancel_sets_the_flag_and_raises_the_event(services: Services) -> None:
    client = FakeDurableClient({"i": status("Running", instance_id="i")})
    services.job_store.save_spec(_spec("j1"))
    assert not services.job_store.cancel_requested("j1")
    view = service.view_from_status(client.statuses["i"], "j1", None)
    asyncio.run(service.cancel_job(client, services, view))
    assert services.job_store.cancel_requested("j1")
    assert client.events == [("i", CANCEL_EVENT, None)]


def test_delete_running_job_terminates_purges_and_removes_state(services: Services) -> None:
    client = FakeDurableClient(
        {
            "i": status("Running", instance_id="i"),
            "i~shard~000000": status("Running", instance_id="i~shard~000000", name="batch_shard"),
            "i~shard~000001": status("Completed", instance_id="i~shard~000001", name="batch_shard"),
        }
    )
    services.job_store.save_spec(_spec("j1"))
    view = service.view_from_status(client.statuses["i"], "j1", None)
    asyncio.run(service.delete_job(client, services, view))
    assert set(client.terminated) == {"i", "i~shard~000000"}
    assert set(client.purged) == {"i", "i~shard~000000", "i~shard~000001"}
    assert client.statuses == {}
    assert services.job_store.load_spec("j1") is None
    assert (
        list(LocalFolderStore(services.settings.data_root / "jobs").list_blobs(prefix="j1/")) == []
    )


def test_sweep_removes_only_old_finished_jobs_and_runs_once_per_interval(
    services: Services,
) -> None:
    old = datetime.now(timezone.utc) - timedelta(
        hours=services.settings.status_retention_hours, minutes=1
    )
    client = FakeDurableClient(
        {
            "p:old": status("Completed", instance_id="p:old", created=old, updated=old),
            "p:oldrunning": status("Running", instance_id="p:oldrunning", created=old, updated=old),
            "p:new": status("Completed", instance_id="p:new", updated=datetime.now(timezone.utc)),
        }
    )
    services.job_store.save_report("old", JobReport(JobStatus.SUCCEEDED))
    removed = asyncio.run(
        service.sweep_expired_jobs(client, services, "p:", lambda i: i.split(":")[1])
    )
    assert removed == 1
    assert set(client.statuses) == {"p:oldrunning", "p:new"}
    assert services.job_store.load_report("old") is None
    client.set_updated("p:new", old)
    assert (
        asyncio.run(service.sweep_expired_jobs(client, services, "p:", lambda i: i.split(":")[1]))
        == 0
    )


def test_sweeps_are_due_once_per_interval_and_kind(services: Services) -> None:
    assert services.sweep_due("a:", 600)
    assert not services.sweep_due("a:", 600)
    assert services.sweep_due("b:", 600)
    assert services.sweep_due("a:", 0)


def test_one_sweep_for_jobs_and_detections_treats_canceled_as_finished(services: Services) -> None:
    from batchinfer.api.anomaly_detector.routes import sweep_expired_detections

    old = datetime.now(timezone.utc) - timedelta(
        hours=services.settings.status_retention_hours, minutes=1
    )
    client = FakeDurableClient.holding(
        status("Canceled", instance_id="docbatch:m:a", created=old, updated=old),
        status("Terminated", instance_id="docbatch:m:b", created=old, updated=old),
        status("Suspended", instance_id="docbatch:m:c", created=old, updated=old),
        status("Canceled", instance_id="mvaddetect:d1", name="mvad_detect", updated=old),
        status("Running", instance_id="mvaddetect:d2", name="mvad_detect", updated=old),
        status(
            "Completed",
            instance_id="mvaddetect:d3",
            name="mvad_detect",
            updated=datetime.now(timezone.utc),
        ),
    )
    services.job_store.save_document("mvad-detect-d1", "summary.json", {"status": "READY"})
    assert (
        asyncio.run(
            service.sweep_expired_jobs(client, services, "docbatch:", lambda i: i.rsplit(":", 1)[1])
        )
        == 2
    )
    assert asyncio.run(sweep_expired_detections(client, services)) == 1
    assert set(client.statuses) == {"docbatch:m:c", "mvaddetect:d2", "mvaddetect:d3"}
    assert services.job_store.load_document("mvad-detect-d1", "summary.json") is None


def test_build_services_takes_overrides(tmp_path: Path) -> None:
    settings = AppSettings.from_env({"BATCHINFER_DATA_ROOT": str(tmp_path)})
    policy, registry = StorageAllowList(local_roots=[tmp_path]), ModelRegistry()
    built = build_services(settings, policy=policy, registry=registry)
    assert built.policy is policy and built.registry is registry
    assert built.settings is settings
