"""Job operations over the durable client: submit, read, list, cancel, delete, expire.

Dialect-neutral and async (the durable client is). The orchestration instance id is the
dialect's choice (so it can encode what a listing filters on; `orchestration.instance_ids`
builds them); the job store is keyed by the public job id. Durable runtime statuses are mapped
to the five job statuses once, here.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any

from batchinfer.jobs.model import (
    INSTANCE_OPTION,
    INTERNAL_ERROR,
    ItemError,
    JobRef,
    JobReport,
    JobSpec,
    JobStatus,
)
from batchinfer.jobs.retention import SWEEP_INTERVAL_SECONDS, sweep_expired
from batchinfer.orchestration.client import DurableClient, InstanceStatus, RuntimeStatus
from batchinfer.orchestration.instance_ids import shard_prefix
from batchinfer.orchestration.names import BATCH_JOB, CANCEL_EVENT
from batchinfer.wiring import Services

__all__ = [
    "SWEEP_INTERVAL_SECONDS",
    "JobView",
    "cancel_job",
    "delete_job",
    "get_job",
    "iso_z",
    "list_jobs",
    "now_iso_z",
    "submit_job",
    "sweep_expired_jobs",
    "view_from_status",
]


@dataclass(frozen=True)
class JobView:
    """A job as every API dialect reports it."""

    job_id: str
    instance_id: str
    status: JobStatus
    percent_completed: int
    created: datetime
    updated: datetime
    report: JobReport | None
    error: ItemError | None

    @property
    def finished(self) -> bool:
        return self.status.finished


def iso_z(moment: datetime) -> str:
    """`2024-09-24T13:00:46Z`: UTC to the second, as the APIs write times (naive means UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def now_iso_z() -> str:
    """The current time as `iso_z` writes it."""
    return iso_z(datetime.now(timezone.utc))


def _job_status(runtime: RuntimeStatus, output: object) -> JobStatus:
    if runtime == RuntimeStatus.PENDING:
        return JobStatus.NOT_STARTED
    if runtime == RuntimeStatus.COMPLETED:
        verdict = output.get("status") if isinstance(output, dict) else None
        return JobStatus(str(verdict)) if verdict else JobStatus.SUCCEEDED
    if runtime == RuntimeStatus.FAILED:
        return JobStatus.FAILED
    if runtime in (RuntimeStatus.TERMINATED, RuntimeStatus.CANCELED):
        return JobStatus.CANCELED
    return JobStatus.RUNNING


def view_from_status(status: InstanceStatus, job_id: str, report: JobReport | None) -> JobView:
    job_status = _job_status(status.runtime_status, status.output)
    custom = status.custom_status if isinstance(status.custom_status, dict) else {}
    percent = 100 if job_status == JobStatus.SUCCEEDED else int(custom.get("percentCompleted", 0))
    error = None
    if report is not None and report.error is not None:
        error = report.error
    elif status.runtime_status == RuntimeStatus.FAILED:
        error = INTERNAL_ERROR
    return JobView(
        job_id=job_id,
        instance_id=status.instance_id,
        status=job_status,
        percent_completed=percent,
        created=status.created,
        updated=status.updated,
        report=report,
        error=error,
    )


_SUBMITTING: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()


async def submit_job(
    client: DurableClient,
    services: Services,
    spec: JobSpec,
    instance_id: str,
    orchestration_options: dict[str, Any] | None = None,
) -> bool:
    """Start the job unless an instance with this id exists; False means it already did.

    `orchestration_options` (plain, secret-free values such as `stop_after_failures`) travel
    with the job's ref into the orchestration. Concurrent submissions with one id (a client
    retrying with its `Repeatability-Request-ID`) are serialised here, and a start that loses a
    race with another process finds the winner's instance instead of failing: every caller gets
    the same operation."""
    lock = _SUBMITTING.setdefault(instance_id, asyncio.Lock())
    async with lock:
        if await client.get_status(instance_id=instance_id) is not None:
            return False
        spec = replace(spec, options={**spec.options, INSTANCE_OPTION: instance_id})
        await asyncio.to_thread(services.job_store.save_spec, spec)
        ref = JobRef(job_id=spec.job_id, kind=spec.kind, model_id=spec.model_id)
        try:
            await client.start(
                orchestration=BATCH_JOB,
                instance_id=instance_id,
                payload={**(orchestration_options or {}), **ref.to_json()},
            )
        except Exception:
            if await client.get_status(instance_id=instance_id) is not None:
                return False  # started by a concurrent submission elsewhere
            raise
        return True


async def get_job(
    client: DurableClient,
    services: Services,
    instance_id: str,
    job_id: str,
    *,
    with_report: bool = True,
) -> JobView | None:
    status = await client.get_status(instance_id=instance_id)
    if status is None or status.name.lower() != BATCH_JOB:
        return None
    report = None
    if with_report and status.terminal:
        report = await asyncio.to_thread(services.job_store.load_report, job_id)
    return view_from_status(status, job_id, report)


async def list_jobs(client: DurableClient, instance_prefix: str) -> list[InstanceStatus]:
    """Durable statuses of the jobs whose instance id starts with the prefix, oldest first."""
    statuses = await client.list_statuses(instance_id_prefix=instance_prefix)
    jobs = [s for s in statuses if s.name.lower() == BATCH_JOB]
    return sorted(jobs, key=lambda s: (s.created, s.instance_id))


async def cancel_job(client: DurableClient, services: Services, view: JobView) -> None:
    await asyncio.to_thread(services.job_store.request_cancel, view.job_id)
    await client.raise_event(instance_id=view.instance_id, event=CANCEL_EVENT, data=None)


async def delete_job(client: DurableClient, services: Services, view: JobView) -> None:
    """Stop the job if it runs, then remove its status, its shards and its stored state."""
    if not view.finished:
        await asyncio.to_thread(services.job_store.request_cancel, view.job_id)
        await client.terminate(instance_id=view.instance_id, reason="deleted by the user")
    shards = await client.list_statuses(instance_id_prefix=shard_prefix(view.instance_id))
    for shard in shards:
        if not shard.terminal:
            await client.terminate(instance_id=shard.instance_id, reason="job deleted")
    for instance_id in [view.instance_id, *(s.instance_id for s in shards)]:
        await _purge_when_terminal(client, instance_id)
    await asyncio.to_thread(services.job_store.delete_job, view.job_id)


async def _purge_when_terminal(
    client: DurableClient, instance_id: str, timeout: float = 30
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        status = await client.get_status(instance_id=instance_id)
        if status is None:
            return
        if status.terminal:
            await client.purge(instance_id=instance_id)
            return
        if time.monotonic() > deadline:
            return  # the retention sweep will purge it later
        await asyncio.sleep(0.2)


ORPHAN_GRACE = timedelta(minutes=5)
"""A stored request younger than this may belong to a submission still starting its job."""


async def forget_orphan_secrets(client: DurableClient, services: Services) -> int:
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
        status = await client.get_status(instance_id=instance_id)
        if status is not None:
            orphan = status.terminal
        else:
            try:
                created = datetime.strptime(spec.created, "%Y-%m-%dT%H:%M:%SZ").replace(
                    tzinfo=timezone.utc
                )
            except ValueError:
                created = now - ORPHAN_GRACE
            orphan = now - created >= ORPHAN_GRACE
        if orphan:
            await asyncio.to_thread(store.forget_secrets, spec.job_id)
            removed += 1
    return removed


async def sweep_expired_jobs(
    client: DurableClient, services: Services, instance_prefix: str, job_id_of: Callable[[str], str]
) -> int:
    """Delete finished jobs older than the retention period, and orphaned stored requests;
    at most once per interval (so the first call after a start sweeps)."""
    if services.sweep_due("orphan-requests", SWEEP_INTERVAL_SECONDS):
        await forget_orphan_secrets(client, services)

    async def remove(status: InstanceStatus) -> None:
        view = view_from_status(status, job_id_of(status.instance_id), None)
        await delete_job(client, services, view)

    return await sweep_expired(
        client, services, instance_prefix=instance_prefix, orchestration=BATCH_JOB, remove=remove
    )
