"""What a killed host or a failed job leaves behind is removed: stored requests, temp files."""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

from batchinfer.jobs import service
from batchinfer.jobs.cleanup import sweep_temp_files
from batchinfer.wiring import Services
from tests.support.durable import FakeDurableClient, instance
from tests.unit.test_jobs_service import _spec, services  # noqa: F401


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_requests_of_ended_or_never_started_jobs_are_deleted(services: Services) -> None:
    now = datetime.now(timezone.utc)
    store = services.job_store
    cases = {  # job id -> (instance status, created) ; None: no such instance
        "done": ("Completed", now),
        "failed": ("Failed", now),
        "killed": ("Terminated", now),
        "running": ("Running", now),
        "orphan": (None, now - timedelta(hours=1)),
        "starting": (None, now),
    }
    client = FakeDurableClient()
    for job_id, (runtime, created) in cases.items():
        store.save_spec(
            replace(_spec(job_id), created=_iso(created), options={"instanceId": f"i:{job_id}"})
        )
        if runtime:
            client.statuses[f"i:{job_id}"] = instance(runtime, instance_id=f"i:{job_id}")
    store.save_spec(_spec("legacy"))  # records no instance: left to the retention sweep
    removed = asyncio.run(service.forget_orphan_secrets(client, services))
    assert removed == 4
    left = {s.job_id for s in store.iter_specs()}
    assert left == {"running", "starting", "legacy"}


def test_first_sweep_of_a_process_includes_orphaned_requests(services: Services) -> None:
    old = datetime.now(timezone.utc) - timedelta(hours=1)
    services.job_store.save_spec(
        replace(_spec("gone"), created=_iso(old), options={"instanceId": "i:gone"})
    )
    asyncio.run(service.sweep_expired_jobs(FakeDurableClient(), services, "p:", lambda i: i))
    assert services.job_store.load_spec("gone") is None


def test_stale_temp_files_are_removed_from_job_store_and_result_folders(
    services: Services, tmp_path: Path
) -> None:
    results = tmp_path / "out"
    (results / "res" / "deep").mkdir(parents=True)
    services.job_store.save_spec(
        replace(_spec("j"), result_url=results.as_uri(), result_prefix="res/")
    )
    jobs_root = tmp_path / "jobs"
    stale = [
        jobs_root / "j" / ".batchinfer-tmp-abc",
        results / "res" / "deep" / ".batchinfer-tmp-def",
    ]
    fresh = results / "res" / ".batchinfer-tmp-new"
    keep = results / "res" / "deep" / "a.png.ocr.json"
    for path in (*stale, fresh, keep):
        path.write_bytes(b"x")
    started = time.time()
    for path in (*stale, keep):
        os.utime(path, (started - 60, started - 60))
    os.utime(fresh, (started + 1, started + 1))  # written by this process
    assert sweep_temp_files(services.job_store, services.policy, before=started) == 2
    assert not any(p.exists() for p in stale)
    assert fresh.exists() and keep.exists()


def test_the_start_up_sweep_never_removes_a_write_of_this_process(services: Services) -> None:
    """The sweep runs on a thread beside the first request; a temp file that request is writing
    (younger than the process) must survive it, whenever the sweep's module is imported."""
    from batchinfer import wiring

    in_flight = services.job_store.backing_store.root / "job" / ".batchinfer-tmp-inflight"
    in_flight.parent.mkdir(parents=True)
    in_flight.write_bytes(b"x")
    assert os.stat(in_flight).st_mtime >= wiring.PROCESS_STARTED
    wiring._sweep_at_start(services)
    assert in_flight.exists()
