"""Job operations over the durable client: submit, read, list, cancel, delete, expire.

Dialect-neutral and async (the durable client is). The orchestration instance id is the
dialect's choice (so it can encode what a listing filters on); the job store is keyed by the
public job id. Durable runtime statuses are mapped to the five job statuses once, here.
"""
from __future__ import annotations

import asyncio
import time
import weakref
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any

from batchinfer.jobs.model import INSTANCE_OPTION, JobRef, JobSpec
from batchinfer.orchestration.names import BATCH_JOB, CANCEL_EVENT
from batchinfer.services import Services

TERMINAL_DURABLE = {"Completed", "Failed", "Terminated", "Canceled"}
SWEEP_INTERVAL_SECONDS = 600


@dataclass(frozen=True)
class JobView:
    """A job as every API dialect reports it."""

    job_id: str
    instance_id: str
    status: str  # notStarted | running | succeeded | failed | canceled
    percent_completed: int
    created: datetime
    updated: datetime
    report: dict[str, Any] | None
    error: dict[str, Any] | None

    @property
    def finished(self) -> bool:
        return self.status in ("succeeded", "failed", "canceled")


def iso_z(moment: datetime | None) -> str:
    moment = moment or datetime.now(timezone.utc)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _job_status(runtime: str, output: Any) -> str:
    if runtime == "Pending":
        return "notStarted"
    if runtime == "Completed":
        return str((output or {}).get("status", "succeeded")) if isinstance(output, dict) \
            else "succeeded"
    if runtime == "Failed":
        return "failed"
    if runtime in ("Terminated", "Canceled"):
        return "canceled"
    return "running"


def view_from_status(status: Any, job_id: str, report: dict[str, Any] | None) -> JobView:
    runtime = status.runtime_status.value
    job_status = _job_status(runtime, status.output)
    custom = status.custom_status if isinstance(status.custom_status, dict) else {}
    percent = 100 if job_status == "succeeded" else int(custom.get("percentCompleted", 0))
    error = None
    if report and report.get("error"):
        error = report["error"]
    elif runtime == "Failed":
        error = {"code": "InternalServerError",
                 "message": "The batch job failed unexpectedly; see the service log."}
    return JobView(job_id=job_id, instance_id=status.instance_id, status=job_status,
                   percent_completed=percent, created=status.created_time,
                   updated=status.last_updated_time, report=report, error=error)


_SUBMITTING: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()


async def submit_job(client: Any, services: Services, spec: JobSpec, instance_id: str) -> bool:
    """Start the job unless an instance with this id exists; False means it already did.

    Concurrent submissions with one id (a client retrying with its `Repeatability-Request-ID`)
    are serialised here, and a start that loses a race with another process finds the winner's
    instance instead of failing: every caller gets the same operation."""
    lock = _SUBMITTING.setdefault(instance_id, asyncio.Lock())
    async with lock:
        existing = await client.get_status(instance_id)
        if existing:
            return False
        spec = replace(spec, options={**spec.options, INSTANCE_OPTION: instance_id})
        await asyncio.to_thread(services.job_store.save_spec, spec)
        ref = JobRef(job_id=spec.job_id, kind=spec.kind, model_id=spec.model_id)
        try:
            await client.start_new(BATCH_JOB, instance_id, ref.to_json())
        except Exception:
            if await client.get_status(instance_id):
                return False  # started by a concurrent submission elsewhere
            raise
        return True


async def get_job(client: Any, services: Services, instance_id: str, job_id: str,
                  *, with_report: bool = True) -> JobView | None:
    status = await client.get_status(instance_id)
    if not status or (status.name or "").lower() != BATCH_JOB:
        return None
    report = None
    if with_report and status.runtime_status.value in TERMINAL_DURABLE:
        report = await asyncio.to_thread(services.job_store.load_report, job_id)
    return view_from_status(status, job_id, report)


async def list_jobs(client: Any, instance_prefix: str) -> list[Any]:
    """Durable statuses of the jobs whose instance id starts with the prefix, oldest first."""
    statuses = await client.get_status_by(instance_id_prefix=instance_prefix)
    jobs = [s for s in statuses if (s.name or "").lower() == BATCH_JOB]
    return sorted(jobs, key=lambda s: (s.created_time, s.instance_id))


async def cancel_job(client: Any, services: Services, view: JobView) -> None:
    await asyncio.to_thread(services.job_store.request_cancel, view.job_id)
    await client.raise_event(view.instance_id, CANCEL_EVENT, None)


async def delete_job(client: Any, services: Services, view: JobView) -> None:
    """Stop the job if it runs, then remove its status, its shards and its stored state."""
    if not view.finished:
        await asyncio.to_thread(services.job_store.request_cancel, view.job_id)
        await client.terminate(view.instance_id, "deleted by the user")
    shards = await client.get_status_by(instance_id_prefix=f"{view.instance_id}~shard~")
    for shard in shards:
        if shard.runtime_status.value not in TERMINAL_DURABLE:
            await client.terminate(shard.instance_id, "job deleted")
    for instance_id in [view.instance_id, *(s.instance_id for s in shards)]:
        await _purge_when_terminal(client, instance_id)
    await asyncio.to_thread(services.job_store.delete_job, view.job_id)


async def _purge_when_terminal(client: Any, instance_id: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        status = await client.get_status(instance_id)
        if not status:
            return
        if status.runtime_status.value in TERMINAL_DURABLE:
            await client.purge_instance_history(instance_id)
            return
        if time.monotonic() > deadline:
            return  # the retention sweep will purge it later
        await asyncio.sleep(0.2)


ORPHAN_GRACE = timedelta(minutes=5)
"""A stored request younger than this may belong to a submission still starting its job."""


async def forget_orphan_secrets(client: Any, services: Services) -> int:
    """Delete stored requests (and the SAS in them) whose job has ended in any state or never
    started (a host killed between storing the request and starting the job). Returns how many
    were deleted. Requests that do not record their instance are left to the retention sweep."""
    store = services.job_store
    now = datetime.now(timezone.utc)
    removed = 0
    for spec in await asyncio.to_thread(lambda: list(store.iter_specs())):
        instance_id = spec.options.get(INSTANCE_OPTION)
        if not isinstance(instance_id, str):
            continue
        status = await client.get_status(instance_id)
        if status:
            orphan = status.runtime_status.value in TERMINAL_DURABLE
        else:
            try:
                created = datetime.strptime(spec.created, "%Y-%m-%dT%H:%M:%SZ").replace(
                    tzinfo=timezone.utc)
            except ValueError:
                created = now - ORPHAN_GRACE
            orphan = now - created >= ORPHAN_GRACE
        if orphan:
            await asyncio.to_thread(store.forget_secrets, spec.job_id)
            removed += 1
    return removed


async def sweep_expired_jobs(client: Any, services: Services, instance_prefix: str,
                             job_id_of: Any) -> int:
    """Delete finished jobs older than the retention period, and orphaned stored requests;
    at most once per interval (so the first call after a start sweeps)."""
    if services.sweep_due("orphan-requests", SWEEP_INTERVAL_SECONDS):
        await forget_orphan_secrets(client, services)
    if not services.sweep_due(instance_prefix, SWEEP_INTERVAL_SECONDS):
        return 0
    cutoff = datetime.now(timezone.utc) - timedelta(hours=services.settings.status_retention_hours)
    removed = 0
    for status in await list_jobs(client, instance_prefix):
        updated = status.last_updated_time
        if updated and updated.tzinfo is None:
            updated = updated.replace(tzinfo=timezone.utc)
        if status.runtime_status.value in TERMINAL_DURABLE and updated and updated < cutoff:
            view = view_from_status(status, job_id_of(status.instance_id), None)
            await delete_job(client, services, view)
            removed += 1
    return removed
