""" "Rerun failed items": a new document batch over exactly the failed items of a finished one.

The new job has its own id, lists its inputs explicitly (`JobSpec.items`), and writes results
where the original did. The original's spec (and SAS) is gone by then, so its redacted origin
is used; a caller whose containers need a SAS passes the URLs again (`source_url`,
`result_url`), and those are checked against the allow-list like any request.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass

from batchinfer.jobs import service
from batchinfer.jobs.items import failed_names, load_plan
from batchinfer.jobs.model import DOCUMENT_ANALYSIS, ITEMS_OPTION, JobSpec, JobStatus
from batchinfer.jobs.origin import load_origin
from batchinfer.orchestration.client import DurableClient
from batchinfer.orchestration.instance_ids import document_batch_id
from batchinfer.wiring import CONFIGURED_CONTAINERS, Services


class RerunRefused(Exception):
    """The job cannot be rerun (still running, nothing failed, origin unknown)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass(frozen=True)
class RerunRequest:
    source_url: str | None = None
    result_url: str | None = None


def _checked(services: Services, url: str) -> str:
    if url not in CONFIGURED_CONTAINERS:
        services.policy.check(url)  # raises UrlNotAllowedError before anything starts
    return url


async def rerun_failed(
    client: DurableClient,
    services: Services,
    view: service.JobView,
    request: RerunRequest | None = None,
) -> JobSpec:
    """Start the rerun of `view`'s failed items; returns the new job's spec.

    Every entry point (the API extension, the dashboard) starts a document batch under the
    same `docbatch:` id, so the new job is listed and read like any other."""
    request = request or RerunRequest()
    if not view.finished:
        raise RerunRefused(409, "Conflict", "Only a finished job's failed items can be rerun.")
    store = services.job_store
    origin = await asyncio.to_thread(load_origin, store, view.job_id)
    plan = await asyncio.to_thread(load_plan, store, view.job_id)
    if origin is None or plan is None:
        raise RerunRefused(409, "Conflict", "This job kept no record of its inputs to rerun.")
    if (origin.source_had_sas and not request.source_url) or (
        origin.result_had_sas and not request.result_url
    ):
        raise RerunRefused(
            409,
            "SasRequired",
            "The job's containers were given with a SAS, "
            "which is not kept; send azureBlobSource.containerUrl and "
            "resultContainerUrl again to rerun it.",
        )
    names = await asyncio.to_thread(
        failed_names, store, view.job_id, plan, view.status == JobStatus.CANCELED
    )
    if not names:
        raise RerunRefused(409, "NothingToRerun", "The job has no failed items.")
    job_id = str(uuid.uuid4())
    spec = JobSpec(
        job_id=job_id,
        kind=DOCUMENT_ANALYSIS,
        model_id=origin.model_id,
        source_url=_checked(services, request.source_url or origin.source_url),
        source_prefix=origin.source_prefix,
        file_list=None,
        result_url=_checked(services, request.result_url or origin.result_url),
        result_prefix=origin.result_prefix,
        overwrite=origin.overwrite,
        created=service.now_iso_z(),
        options={ITEMS_OPTION: names, "rerunOf": view.job_id},
    )
    await service.submit_job(client, services, spec, document_batch_id(origin.model_id, job_id))
    return spec
