"""Blob trigger emulation: path patterns, blob sources (folder or Azure/Azurite) and a poller.

Why: the Functions host fires blob triggers from storage scans; locally we reproduce that by
polling a container (or a plain folder) and invoking the user function once per blob version.
"""

from funchost.blobs.pattern import BlobPathError, BlobPathPattern
from funchost.blobs.poller import (
    BlobTriggerBinding,
    BlobTriggerPoller,
    ReceiptStore,
    build_trigger_value,
)
from funchost.blobs.sources import (
    AzureBlobSource,
    BlobItem,
    BlobSource,
    BlobSourceError,
    FolderBlobSource,
    source_for_connection,
)

__all__ = [
    "AzureBlobSource",
    "BlobItem",
    "BlobPathError",
    "BlobPathPattern",
    "BlobSource",
    "BlobSourceError",
    "BlobTriggerBinding",
    "BlobTriggerPoller",
    "FolderBlobSource",
    "ReceiptStore",
    "build_trigger_value",
    "source_for_connection",
]
