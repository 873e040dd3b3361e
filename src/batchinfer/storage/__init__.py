"""Blob storage for batch inputs and results: one port, an Azure adapter and a local-folder adapter.

User-supplied container URLs are untrusted: every URL goes through `StorageAllowList.check`
before any request is made, and SAS tokens never appear in logs, status bodies or errors.
Import the adapters from their modules; this package only re-exports the pure pieces so that
importing it stays cheap and free of the Azure SDK.
"""

from batchinfer.storage.errors import (
    BlobExistsError,
    BlobNotFoundError,
    BlobTooLargeError,
    InvalidPathError,
    StorageAccessError,
    StorageConfigurationError,
    StorageError,
    UrlNotAllowedError,
)
from batchinfer.storage.paths import (
    relative_to_prefix,
    safe_blob_name,
    validate_blob_name,
    validate_prefix,
)
from batchinfer.storage.policy import StorageAllowList
from batchinfer.storage.port import BlobInfo, BlobStore, read_file_list
from batchinfer.storage.urls import (
    ContainerUrl,
    blob_url,
    parse_container_url,
    redact_url,
    report_url,
)

__all__ = [
    "BlobExistsError",
    "BlobInfo",
    "BlobNotFoundError",
    "BlobStore",
    "BlobTooLargeError",
    "ContainerUrl",
    "InvalidPathError",
    "StorageAccessError",
    "StorageAllowList",
    "StorageConfigurationError",
    "StorageError",
    "UrlNotAllowedError",
    "blob_url",
    "parse_container_url",
    "read_file_list",
    "redact_url",
    "relative_to_prefix",
    "report_url",
    "safe_blob_name",
    "validate_blob_name",
    "validate_prefix",
]
