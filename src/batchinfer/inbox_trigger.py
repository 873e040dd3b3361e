"""The blob-upload trigger of the inbox container: a thin adapter over `batchinfer.inbox`.

Deployed with `source=EventGrid` (infra/ subscribes the inbox container's BlobCreated events to
this function, `inbox_upload`); the embedded host emulates it by polling. The container and its
connection are app settings (`BATCHINFER_INBOX_CONTAINER`, `BATCHINFER_INBOX_STORAGE`), read by
the host for the binding and by `Services` for the jobs, so both see the same container.
"""

from __future__ import annotations

import logging

import azure.durable_functions as df
import azure.functions as func

from batchinfer import inbox
from batchinfer.orchestration.sdk_client import SdkDurableClient
from batchinfer.wiring import get_services

log = logging.getLogger("batchinfer.inbox_trigger")
blueprint = df.Blueprint()


@blueprint.blob_trigger(
    arg_name="blob",
    path="%BATCHINFER_INBOX_CONTAINER%/{name}",
    connection="BATCHINFER_INBOX_STORAGE",
    source=func.BlobSource.EVENT_GRID,
)
@blueprint.durable_client_input(client_name="client")
async def inbox_upload(blob: func.InputStream, client: df.DurableOrchestrationClient) -> None:
    services = get_services()
    properties = getattr(blob, "blob_properties", None) or {}  # not in the SDK's stubs
    upload = inbox.Upload.from_trigger(
        blob.name or "",
        blob.read(),
        container=services.settings.inbox_container,
        etag=properties.get("ETag") or properties.get("Etag"),
    )
    outcome = await inbox.handle_upload(SdkDurableClient(client), services, upload)
    log.info(
        "Inbox upload %r (%s, version %s): %s", upload.name, upload.kind, upload.version, outcome
    )
