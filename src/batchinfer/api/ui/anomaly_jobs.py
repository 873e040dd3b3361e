"""Anomaly Detector work as dashboard jobs: model training and batch detection.

Training jobs are the model records (a model *is* its training job); the `training` view is
its diagnostics. Detection jobs are `mvad_detect` orchestrations with their stored summary;
the `series` view returns, downsampled for drawing, each variable's values (re-read from the
redacted data source when the service can read it), the severity over time and every anomaly
with its top contributors.
"""

from __future__ import annotations

import asyncio
import math
from datetime import datetime
from typing import Any

import numpy as np

from batchinfer.anomaly import steps
from batchinfer.anomaly.status import MvadStatus
from batchinfer.api.ui.catalog import (
    Counts,
    JobActionError,
    JobDetail,
    JobSummary,
    ViewContent,
    parse_time,
)
from batchinfer.jobs.items import ItemPage
from batchinfer.jobs.model import JobStatus
from batchinfer.orchestration.client import DurableClient, InstanceStatus, RuntimeStatus
from batchinfer.orchestration.instance_ids import (
    MVAD_DETECT_PREFIX,
    mvad_detect_id,
    mvad_detect_job_id,
    mvad_detect_result_id,
    mvad_train_id,
)
from batchinfer.orchestration.names import MVAD_DETECT
from batchinfer.wiring import Services

TRAIN_KIND = "anomaly-training"
DETECT_KIND = "anomaly-detection"
MVAD_JOB_STATUS: dict[str, JobStatus] = {
    MvadStatus.CREATED: JobStatus.NOT_STARTED,
    MvadStatus.RUNNING: JobStatus.RUNNING,
    MvadStatus.READY: JobStatus.SUCCEEDED,
    MvadStatus.FAILED: JobStatus.FAILED,
}
"""A model's or a detection's status as a job status (the same for training and detection)."""
DONE = (JobStatus.SUCCEEDED, JobStatus.FAILED)
MAX_POINTS = 1500
MAX_VARIABLES = 50
ACTIVE = frozenset({RuntimeStatus.PENDING, RuntimeStatus.RUNNING, RuntimeStatus.SUSPENDED})


def _no_items() -> ItemPage:
    return ItemPage([], 0)


class AnomalyTraining:
    """Models of the multivariate API, one training job each."""

    kind = TRAIN_KIND
    title = "Anomaly model training"

    def _summary(self, record: dict[str, Any]) -> JobSummary:
        info = record.get("modelInfo", {})
        status = MVAD_JOB_STATUS.get(str(info.get("status")), JobStatus.RUNNING)
        variables = len(info.get("diagnosticsInfo", {}).get("variableStates", []) or [])
        errors = info.get("errors") or []
        return JobSummary(
            kind=TRAIN_KIND,
            job_id=str(record.get("modelId")),
            model=str(info.get("displayName") or "multivariate"),
            status=status,
            percent=100 if status in DONE else 0,
            created=parse_time(record.get("createdTime")),
            updated=parse_time(record.get("lastUpdatedTime")),
            counts=Counts(succeeded=variables, total=variables or None, unit="variables"),
            actions=("delete",),
            views=("training",),
            error=errors[0] if errors else None,
            title=self.title,
        )

    async def list_jobs(self, client: DurableClient, services: Services) -> list[JobSummary]:
        records = await asyncio.to_thread(services.models.list_records)
        return [self._summary(r) for r in records]

    async def _record(self, services: Services, job_id: str) -> dict[str, Any]:
        record = (
            await asyncio.to_thread(services.models.load_record, job_id)
            if _is_uuid(job_id)
            else None
        )
        if record is None:
            raise JobActionError(404, "NotFound", f"Model '{job_id}' was not found.")
        return record

    async def get_job(
        self, client: DurableClient, services: Services, job_id: str
    ) -> JobDetail | None:
        record = await self._record(services, job_id)
        summary = self._summary(record)
        info = record.get("modelInfo", {})
        progress = [(summary.created, 0)] if summary.created else []
        if summary.updated and summary.status in DONE:
            progress.append((summary.updated, 100))
        sections = {
            "training": {
                key: info.get(key)
                for key in (
                    "dataSource",
                    "dataSchema",
                    "startTime",
                    "endTime",
                    "slidingWindow",
                    "alignPolicy",
                    "displayName",
                    "errors",
                    "diagnosticsInfo",
                )
            }
        }
        return JobDetail(summary, progress, sections)

    async def cancel(self, client: DurableClient, services: Services, job_id: str) -> None:
        raise JobActionError(
            409, "NotSupported", "Training cannot be canceled; delete the model instead."
        )

    async def delete(self, client: DurableClient, services: Services, job_id: str) -> None:
        await self._record(services, job_id)
        instance = mvad_train_id(job_id)
        status = await client.get_status(instance_id=instance)
        if status is not None and status.runtime_status in ACTIVE:
            await client.terminate(instance_id=instance, reason="model deleted")
        await asyncio.to_thread(services.models.delete, job_id)
        if status is not None:
            await _until_inactive(client, instance)
            await client.purge(instance_id=instance)

    async def items(
        self,
        client: DurableClient,
        services: Services,
        job_id: str,
        *,
        skip: int,
        top: int,
        status: str | None,
    ) -> ItemPage:
        return _no_items()

    async def view(
        self,
        client: DurableClient,
        services: Services,
        job_id: str,
        name: str,
        params: dict[str, str],
    ) -> ViewContent:
        if name != "training":
            raise JobActionError(404, "NotFound", f"No view '{name}' for training jobs.")
        detail = await self.get_job(client, services, job_id)
        assert detail is not None
        return ViewContent(json=detail.sections["training"])


def _is_uuid(text: str) -> bool:
    import uuid

    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


class AnomalyDetection:
    """`:detect-batch` runs, one `mvad_detect` orchestration each."""

    kind = DETECT_KIND
    title = "Anomaly detection"

    def _summary(
        self, status: InstanceStatus, summary: dict[str, Any], done: int, chunks: int
    ) -> JobSummary:
        state = MVAD_JOB_STATUS.get(str(summary.get("status")), JobStatus.RUNNING)
        if status.runtime_status in (RuntimeStatus.TERMINATED, RuntimeStatus.CANCELED):
            state = JobStatus.CANCELED
        elif status.runtime_status == RuntimeStatus.FAILED:
            state = JobStatus.FAILED
        percent = 100 if state.finished else (done * 100 // chunks if chunks else 0)
        errors = summary.get("errors") or []
        return JobSummary(
            kind=DETECT_KIND,
            job_id=mvad_detect_result_id(status.instance_id),
            model=str(summary.get("modelName") or summary.get("modelId", "")),
            status=state,
            percent=percent,
            created=status.created,
            updated=status.updated,
            counts=Counts(
                succeeded=done,
                failed=len(errors) if state == JobStatus.FAILED else 0,
                total=chunks or None,
                unit="chunks",
            ),
            actions=("delete",),
            views=("series",),
            error=errors[0] if errors else None,
            title=self.title,
        )

    def _load(self, services: Services, result_id: str) -> tuple[dict[str, Any], int, int]:
        job = mvad_detect_job_id(result_id)
        summary = services.job_store.load_document(job, "summary.json") or {}
        record = (
            services.models.load_record(str(summary.get("modelId", "")))
            if _is_uuid(str(summary.get("modelId", "")))
            else None
        )
        if record and record.get("modelInfo", {}).get("displayName"):
            summary["modelName"] = record["modelInfo"]["displayName"]
        plan = services.job_store.load_document(job, "plan.json") or {}
        chunks = len(plan.get("chunks", []))
        done = sum(
            1
            for i in range(chunks)
            if services.job_store.has_document(job, f"results/{i:06d}.json")
        )
        return summary, done, chunks

    async def list_jobs(self, client: DurableClient, services: Services) -> list[JobSummary]:
        jobs = []
        for status in await client.list_statuses(instance_id_prefix=MVAD_DETECT_PREFIX):
            if status.name.lower() != MVAD_DETECT:
                continue
            result_id = mvad_detect_result_id(status.instance_id)
            summary, done, chunks = await asyncio.to_thread(self._load, services, result_id)
            jobs.append(self._summary(status, summary, done, chunks))
        return jobs

    async def _status(
        self, client: DurableClient, job_id: str, history: bool = False
    ) -> InstanceStatus:
        status = (
            await client.get_status(instance_id=mvad_detect_id(job_id), show_history=history)
            if _is_uuid(job_id)
            else None
        )
        if status is None or status.name.lower() != MVAD_DETECT:
            raise JobActionError(404, "NotFound", f"Detection '{job_id}' was not found.")
        return status

    async def get_job(
        self, client: DurableClient, services: Services, job_id: str
    ) -> JobDetail | None:
        status = await self._status(client, job_id, history=True)
        summary, done, chunks = await asyncio.to_thread(self._load, services, job_id)
        row = self._summary(status, summary, done, chunks)
        sections = {
            "detection": {
                key: summary.get(key)
                for key in ("modelId", "setupInfo", "errors", "variableStates")
            }
        }
        return JobDetail(row, _detect_progress(status, chunks, row.created), sections)

    async def cancel(self, client: DurableClient, services: Services, job_id: str) -> None:
        raise JobActionError(409, "NotSupported", "Detection cannot be canceled; delete it.")

    async def delete(self, client: DurableClient, services: Services, job_id: str) -> None:
        status = await self._status(client, job_id)
        instance = status.instance_id
        if status.runtime_status in ACTIVE:
            await client.terminate(instance_id=instance, reason="deleted by the user")
            await _until_inactive(client, instance)
        await asyncio.to_thread(services.job_store.delete_job, mvad_detect_job_id(job_id))
        await client.purge(instance_id=instance)

    async def items(
        self,
        client: DurableClient,
        services: Services,
        job_id: str,
        *,
        skip: int,
        top: int,
        status: str | None,
    ) -> ItemPage:
        return _no_items()

    async def view(
        self,
        client: DurableClient,
        services: Services,
        job_id: str,
        name: str,
        params: dict[str, str],
    ) -> ViewContent:
        if name != "series":
            raise JobActionError(404, "NotFound", f"No view '{name}' for detection jobs.")
        await self._status(client, job_id)
        return ViewContent(json=await asyncio.to_thread(series_view, services, job_id))


def _detect_progress(
    status: InstanceStatus, chunks: int, created: datetime | None
) -> list[tuple[datetime, int]]:
    """Percent of chunks scored over time, from the orchestration's history."""
    points: list[tuple[datetime, int]] = [(created, 0)] if created else []
    done = 0
    for event in status.history if chunks else ():
        if event.event_type in ("TaskCompleted", "TaskFailed"):
            done += 1  # prepare, each chunk, finish: chunks + 2 tasks in all
            points.append((event.timestamp, min(100, max(0, done - 1) * 100 // chunks)))
    return points


async def _until_inactive(client: DurableClient, instance_id: str) -> None:
    """Wait (up to 5 s) for a terminated instance to stop, so its history can be purged."""
    for _ in range(50):
        current = await client.get_status(instance_id=instance_id)
        if current is None or current.runtime_status not in ACTIVE:
            return
        await asyncio.sleep(0.1)


def _buckets(n: int, points: int = MAX_POINTS) -> list[tuple[int, int]]:
    size = max(1, math.ceil(n / points))
    return [(i, min(n, i + size)) for i in range(0, n, size)]


def series_view(services: Services, result_id: str) -> dict[str, Any]:
    """What the anomaly view draws: bucketed severity and values, every anomaly in full."""
    summary = steps.load_summary(services, result_id)
    ready = summary["status"] == MvadStatus.READY
    results = steps.detection_results(services, result_id) if ready else []
    stamps = [r["timestamp"] for r in results]
    severity = [float(r["value"]["severity"]) if r.get("value") else 0.0 for r in results]
    anomalies = [
        {
            "index": i,
            "timestamp": r["timestamp"],
            "severity": r["value"]["severity"],
            "score": r["value"]["score"],
            "contributors": [
                {"variable": c["variable"], "contributionScore": c["contributionScore"]}
                for c in r["value"].get("interpretation", [])
            ],
        }
        for i, r in enumerate(results)
        if r.get("value", {}).get("isAnomaly")
    ]
    buckets = _buckets(len(results))
    view: dict[str, Any] = {
        "status": summary["status"],
        "count": len(results),
        "timestamps": [stamps[a] for a, _ in buckets],
        "bucketStarts": [a for a, _ in buckets],
        "severity": [max(severity[a:b]) for a, b in buckets],
        "anomalies": anomalies,
        "variables": [],
        "valuesNote": None,
    }
    if results:
        try:
            view["variables"] = _variable_values(services, summary, stamps, buckets)
        except Exception as exc:  # the data may not be readable any more (SAS gone, deleted)
            view["valuesNote"] = f"The data source could not be read again ({type(exc).__name__})."
    return view


def _variable_values(
    services: Services, summary: dict[str, Any], stamps: list[str], buckets: list[tuple[int, int]]
) -> list[dict[str, Any]]:
    from batchinfer.anomaly.data_source import check_data_source, load_series
    from batchinfer.models.mvad import slice_time
    from batchinfer.models.mvad.series import parse_timestamps

    setup = summary.get("setupInfo", {})
    record = services.models.load_record(summary.get("modelId", "")) or {}
    schema = record.get("modelInfo", {}).get("dataSchema", "OneTable")
    series = load_series(
        check_data_source(setup["dataSource"], services.policy), services.policy, schema
    )
    series = slice_time(series, stamps[0], stamps[-1])
    wanted = parse_timestamps([stamps[a] for a, _ in buckets])
    rows = np.searchsorted(series.timestamps, wanted)
    rows = np.clip(rows, 0, max(0, series.n_timestamps - 1))
    out = []
    for column, name in enumerate(series.variables[:MAX_VARIABLES]):
        values = series.values[rows, column]
        out.append(
            {
                "name": name,
                "values": [None if math.isnan(v) else round(float(v), 6) for v in values.tolist()],
            }
        )
    return out
