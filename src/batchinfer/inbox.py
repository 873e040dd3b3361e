"""The inbox: blobs uploaded to one container start batch jobs by themselves.

- A document (any other name) is analyzed with `BATCHINFER_INBOX_MODEL` by a batch job over just
  that blob (`JobSpec.items`); its result is written to the results container
  (`BATCHINFER_RESULTS_CONTAINER_URL`, else the inbox itself) under the same relative path plus
  `.ocr.json`, replacing the result of an older version of the document.
- A manifest, `<name>.batch.json`, holds an analyzeBatch request body (plus an optional
  `modelId`, default the inbox model), validated exactly as the Document Intelligence API
  validates it. The job runs under the `inbox_batch` orchestration, which writes
  `<name>.report.json` next to the manifest when the job ends. A manifest that is not valid gets
  a `failed` report with the reason instead of a job; it is never retried.
- Our own outputs (`.report.json`, `.ocr.json`) are ignored, so results may live in the inbox.

Ids are derived from (container, blob name, version), the version being the blob's ETag (its
content hash where the host gives no ETag): a duplicate event for the same version finds its job
already started and does nothing, while a new version (a re-upload) is processed again. The jobs
are ordinary `docbatch:` jobs, so the Document Intelligence API lists, reads and expires them.

The inbox container is operator configuration (the trigger's connection setting), never a URL
from a request; job specs refer to it as `services.CONFIGURED_INBOX`. A refused manifest is a
domain `RequestError` (as the HTTP API would refuse the request), reported in the inbox: this
module knows nothing about HTTP.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import ValidationError

from batchinfer.activities.documents import RESULT_SUFFIX
from batchinfer.api.document_intelligence.requests import build_spec, check_model
from batchinfer.api.document_intelligence.schemas import AnalyzeBatchDocumentsRequest
from batchinfer.errors import RequestError, describe_validation_error, invalid_request
from batchinfer.jobs import service
from batchinfer.jobs.model import (
    DOCUMENT_ANALYSIS,
    INTERNAL_ERROR,
    ITEMS_OPTION,
    ItemError,
    JobRef,
    JobReport,
    JobSpec,
    JobStatus,
)
from batchinfer.orchestration.client import DurableClient
from batchinfer.orchestration.instance_ids import document_batch_id, inbox_batch_id, inbox_job_id
from batchinfer.orchestration.names import INBOX_BATCH
from batchinfer.storage import validate_blob_name
from batchinfer.wiring import CONFIGURED_INBOX, CONFIGURED_RESULTS, Services

log = logging.getLogger("batchinfer.inbox")

MANIFEST_SUFFIX = ".batch.json"
REPORT_SUFFIX = ".report.json"
OUTPUT_SUFFIXES = (REPORT_SUFFIX, RESULT_SUFFIX)
MAX_MANIFEST_BYTES = 1024 * 1024

UploadKind = Literal["document", "manifest", "ignored"]
Outcome = Literal["started", "duplicate", "rejected", "ignored"]


@dataclass(frozen=True)
class Upload:
    """One blob version the trigger saw: container, name inside it, version, bytes."""

    container: str
    name: str
    version: str
    data: bytes

    @classmethod
    def from_trigger(
        cls, path: str, data: bytes, *, container: str, etag: str | None = None
    ) -> Upload:
        """From the trigger's `container/name` path; the version is the ETag, else a hash."""
        name = (
            path.removeprefix(f"{container}/")
            if path.startswith(f"{container}/")
            else path.split("/", 1)[-1]
        )
        version = (
            etag.strip() if etag and etag.strip() else "sha256:" + hashlib.sha256(data).hexdigest()
        )
        return cls(container=container, name=name, version=version, data=data)

    @property
    def kind(self) -> UploadKind:
        return classify(self.name)

    @property
    def job_id(self) -> str:
        return inbox_job_id(self.container, self.name, self.version)


def classify(name: str) -> UploadKind:
    """What an uploaded blob is: a manifest, one of our outputs (ignored), or a document."""
    base = name.rsplit("/", 1)[-1]
    if not base or base.startswith(".") or name.endswith("/") or name.endswith(OUTPUT_SUFFIXES):
        return "ignored"
    if name.endswith(MANIFEST_SUFFIX) and len(base) > len(MANIFEST_SUFFIX):
        return "manifest"
    return "document"


def report_name_for(manifest_name: str) -> str:
    return manifest_name.removesuffix(MANIFEST_SUFFIX) + REPORT_SUFFIX


# ------------------------------------------------------------------------------------- specs


def document_spec(services: Services, upload: Upload) -> JobSpec:
    """A job over just the uploaded blob; the result replaces an older version's result."""
    return JobSpec(
        job_id=upload.job_id,
        kind=DOCUMENT_ANALYSIS,
        model_id=services.settings.inbox_model,
        source_url=CONFIGURED_INBOX,
        source_prefix="",
        file_list=None,
        result_url=CONFIGURED_RESULTS,
        result_prefix="",
        overwrite=True,
        created=service.now_iso_z(),
        options={ITEMS_OPTION: [validate_blob_name(upload.name)]},
    )


def parse_manifest(data: bytes, default_model: str) -> tuple[str, AnalyzeBatchDocumentsRequest]:
    """The model id and the analyzeBatch request a manifest holds; `InvalidRequestError` if
    it is not valid."""
    if len(data) > MAX_MANIFEST_BYTES:
        raise invalid_request(
            "The manifest is too large.",
            "InvalidContentLength",
            f"A manifest may hold at most {MAX_MANIFEST_BYTES} bytes.",
        )
    try:
        body = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise invalid_request("The manifest is not valid JSON.", "InvalidJson", str(exc)) from None
    if not isinstance(body, dict):
        raise invalid_request(
            "Invalid request.",
            "InvalidArgument",
            "The manifest must be a JSON object (an analyzeBatch request body).",
        )
    model_id = body.pop("modelId", None)
    if model_id is None:
        model_id = default_model
    if not isinstance(model_id, str):
        raise invalid_request("Invalid request.", "InvalidArgument", "modelId must be a string.")
    try:
        return model_id, AnalyzeBatchDocumentsRequest.model_validate(body)
    except ValidationError as exc:
        raise describe_validation_error(exc) from None


def manifest_spec(services: Services, upload: Upload) -> JobSpec:
    """Validate a manifest as the API validates a request (model, schema, allow-list, paths)."""
    model_id, request = parse_manifest(upload.data, services.settings.inbox_model)
    return build_spec(services, check_model(services, model_id), upload.job_id, request)


# ------------------------------------------------------------------------------------ reports


def rejected_report(error: RequestError) -> dict[str, Any]:
    """The report of a manifest that started no job."""
    return {
        "status": JobStatus.FAILED,
        "succeededCount": 0,
        "failedCount": 0,
        "skippedCount": 0,
        "details": [],
        "error": error.to_json(),
    }


def job_report(
    job_id: str, model_id: str, stored: JobReport | None, status: JobStatus, error: ItemError | None
) -> dict[str, Any]:
    """The API's `result` (counts and details) plus `status`, `resultId`, `modelId` and, for a
    failed job, `error`. `stored` is the job store's report (None if the job never made one)."""
    if stored is not None:
        error = stored.error or error
        status = stored.status
    if status == JobStatus.FAILED and error is None:
        error = INTERNAL_ERROR
    report: dict[str, Any] = {
        "status": status,
        "resultId": job_id,
        "modelId": model_id,
        "succeededCount": stored.counts.succeeded if stored else 0,
        "failedCount": stored.counts.failed if stored else 0,
        "skippedCount": stored.counts.skipped if stored else 0,
        "details": [detail.to_json() for detail in stored.details] if stored else [],
    }
    if error is not None:
        report["error"] = error.to_json()
    return report


def write_report(services: Services, name: str, report: dict[str, Any]) -> None:
    """Write (or replace: a newer manifest version's report wins) a report into the inbox."""
    body = json.dumps(report, ensure_ascii=False, indent=2).encode()
    services.open_container(CONFIGURED_INBOX).write_blob(
        name=name, data=body, overwrite=True, content_type="application/json"
    )


def publish_job_report(services: Services, args: dict[str, Any]) -> dict[str, Any]:
    """Activity body: the finished job's report, written next to its manifest."""
    ref = JobRef.from_json(args["ref"])
    stored = services.job_store.load_report(ref.job_id)
    report = job_report(
        ref.job_id,
        ref.model_id,
        stored,
        JobStatus(args.get("status") or JobStatus.FAILED),
        ItemError.optional(args.get("error")),
    )
    write_report(services, str(args["report_name"]), report)
    return {"status": report["status"]}


# ------------------------------------------------------------------------------------ trigger


async def handle_upload(client: DurableClient, services: Services, upload: Upload) -> Outcome:
    """Start the job an upload asks for, once per blob version. Problems with the upload
    itself are reported (manifests) or logged (documents), never raised: a raise means a
    transient failure worth the host's retry (storage or the durable client unreachable)."""
    kind = upload.kind
    if kind == "ignored":
        return "ignored"
    if kind == "document":
        return await _start_document(client, services, upload)
    return await _start_manifest(client, services, upload)


async def _start_document(client: DurableClient, services: Services, upload: Upload) -> Outcome:
    model_id = services.settings.inbox_model
    try:
        check_model(services, model_id)
        spec = document_spec(services, upload)
    except (RequestError, ValueError) as exc:
        log.error(
            "Inbox document %r not analyzed: %s (check BATCHINFER_INBOX_MODEL)",
            upload.name,
            getattr(exc, "message", exc),
        )
        return "rejected"
    started = await service.submit_job(
        client, services, spec, document_batch_id(model_id, spec.job_id)
    )
    return "started" if started else "duplicate"


async def _start_manifest(client: DurableClient, services: Services, upload: Upload) -> Outcome:
    orchestration_id = inbox_batch_id(upload.job_id)
    if await client.get_status(instance_id=orchestration_id) is not None:
        return "duplicate"
    report_name = report_name_for(upload.name)
    try:
        spec = manifest_spec(services, upload)
    except RequestError as error:
        log.warning(
            "Inbox manifest %r rejected: %s %s",
            upload.name,
            error.message,
            error.inner_message or "",
        )
        await asyncio.to_thread(write_report, services, report_name, rejected_report(error))
        return "rejected"
    await asyncio.to_thread(services.job_store.save_spec, spec)
    ref = JobRef(job_id=spec.job_id, kind=spec.kind, model_id=spec.model_id)
    await client.start(
        orchestration=INBOX_BATCH,
        instance_id=orchestration_id,
        payload={
            "ref": ref.to_json(),
            "job_instance_id": document_batch_id(spec.model_id, spec.job_id),
            "report_name": report_name,
        },
    )
    return "started"
