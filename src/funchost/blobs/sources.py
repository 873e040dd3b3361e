"""Where blob triggers read blobs from: a local folder, or Azure Blob Storage / Azurite.

Why: the poller should not care whether `AzureWebJobsStorage` points at Azurite, a real storage
account, or a plain directory used in tests and offline development. `source_for_connection`
turns a blob trigger's `connection` app setting into one `BlobSource`. Setting values may hold
account keys, so error messages name the setting and never echo its value.
"""

from __future__ import annotations

import mimetypes
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, runtime_checkable
from urllib.parse import unquote, urlparse
from urllib.request import url2pathname

__all__ = [
    "AZURITE_ACCOUNT",
    "AZURITE_BLOB_ENDPOINT",
    "AZURITE_ENDPOINT_ENV",
    "AzureBlobSource",
    "BlobItem",
    "BlobSource",
    "BlobSourceError",
    "FolderBlobSource",
    "source_for_connection",
]

AZURITE_ACCOUNT = "devstoreaccount1"
# Azurite's well-known development account key (public and documented, not a secret).
AZURITE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
AZURITE_BLOB_ENDPOINT = f"http://127.0.0.1:10000/{AZURITE_ACCOUNT}"
AZURITE_ENDPOINT_ENV = "FUNCHOST_AZURITE_BLOB_ENDPOINT"
_DEFAULT_CONTENT_TYPE = "application/octet-stream"


class BlobSourceError(ValueError):
    """A blob connection setting that is missing or not understood."""


@dataclass(frozen=True)
class BlobItem:
    """One blob as listed: enough to decide whether it is new and to build the trigger value."""

    name: str
    etag: str
    size: int
    last_modified: datetime
    content_type: str = _DEFAULT_CONTENT_TYPE
    metadata: dict[str, str] = field(default_factory=dict)


@runtime_checkable
class BlobSource(Protocol):
    """A container to poll. `read_blob` raises FileNotFoundError when the blob is gone."""

    def list_blobs(self, prefix: str = "") -> list[BlobItem]: ...

    def read_blob(self, name: str) -> bytes: ...

    def blob_uri(self, name: str) -> str: ...


# --------------------------------------------------------------------------------------------
# Folder
# --------------------------------------------------------------------------------------------


def _is_hidden(relative: str) -> bool:
    return any(part.startswith(".") for part in relative.split("/"))


class FolderBlobSource:
    """Blobs are the files under `root/container`; names are relative paths with `/`."""

    def __init__(self, root: Path, container: str) -> None:
        if not container or "/" in container or "\\" in container or container in (".", ".."):
            raise BlobSourceError(f"Invalid container name {container!r} for a folder source.")
        self.root = Path(root).resolve()
        self.container = container
        self.directory = self.root / container

    def __repr__(self) -> str:
        return f"FolderBlobSource(root={str(self.root)!r}, container={self.container!r})"

    def _inside_root(self, path: Path) -> bool:
        try:
            return path.resolve().is_relative_to(self.directory.resolve())
        except OSError:
            return False

    def _walk(self) -> Iterator[tuple[str, Path]]:
        if not self.directory.is_dir() or not self._inside_root(self.directory):
            return
        for dirpath, dirnames, filenames in os.walk(self.directory, followlinks=False):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for filename in sorted(filenames):
                if filename.startswith("."):
                    continue
                path = Path(dirpath) / filename
                relative = path.relative_to(self.directory).as_posix()
                yield relative, path

    def _item(self, name: str, path: Path) -> BlobItem | None:
        if not self._inside_root(path):
            return None  # a symlink leading outside the container folder
        try:
            stat = path.stat()
        except OSError:
            return None  # vanished between listing and stat
        if not path.is_file():
            return None
        content_type = mimetypes.guess_type(name)[0] or _DEFAULT_CONTENT_TYPE
        return BlobItem(
            name=name,
            etag=f'"0x{stat.st_mtime_ns:X}{stat.st_size:X}"',
            size=stat.st_size,
            last_modified=datetime.fromtimestamp(stat.st_mtime_ns / 1e9, tz=UTC),
            content_type=content_type,
            metadata={},
        )

    def list_blobs(self, prefix: str = "") -> list[BlobItem]:
        items = []
        for name, path in self._walk():
            if name.startswith(prefix):
                item = self._item(name, path)
                if item is not None:
                    items.append(item)
        return sorted(items, key=lambda item: item.name)

    def _path_for(self, name: str) -> Path:
        relative = name.replace("\\", "/")
        parts = relative.split("/")
        if not relative or relative.startswith("/") or ".." in parts or _is_hidden(relative):
            raise FileNotFoundError(f"No blob named {name!r} in folder container")
        path = self.directory.joinpath(*parts)
        if not self._inside_root(path):
            raise FileNotFoundError(f"Blob {name!r} resolves outside the container folder")
        return path

    def read_blob(self, name: str) -> bytes:
        path = self._path_for(name)
        if not path.is_file():
            raise FileNotFoundError(f"No blob named {name!r} in {self.directory}")
        return path.read_bytes()

    def blob_uri(self, name: str) -> str:
        return self.directory.joinpath(*name.split("/")).as_uri()


# --------------------------------------------------------------------------------------------
# Azure / Azurite
# --------------------------------------------------------------------------------------------


class AzureBlobSource:
    """A container in Azure Blob Storage or Azurite, through `azure.storage.blob`."""

    def __init__(self, connection_string: str, container: str) -> None:
        from azure.storage.blob import ContainerClient

        self.container = container
        self._client: Any = ContainerClient.from_connection_string(
            connection_string, container_name=container
        )

    def __repr__(self) -> str:  # never show the connection string
        return f"AzureBlobSource(url={self._client.url!r})"

    def list_blobs(self, prefix: str = "") -> list[BlobItem]:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            listed = list(
                self._client.list_blobs(name_starts_with=prefix or None, include=["metadata"])
            )
        except ResourceNotFoundError:
            return []  # the container does not exist (yet)
        return [_to_item(props) for props in listed]

    def read_blob(self, name: str) -> bytes:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            data: bytes = self._client.download_blob(name).readall()
        except ResourceNotFoundError as exc:
            raise FileNotFoundError(
                f"No blob named {name!r} in container {self.container!r}"
            ) from exc
        return data

    def blob_uri(self, name: str) -> str:
        return str(self._client.get_blob_client(name).url)

    def close(self) -> None:
        self._client.close()


def _to_item(props: Any) -> BlobItem:
    settings = getattr(props, "content_settings", None)
    content_type = getattr(settings, "content_type", None) or _DEFAULT_CONTENT_TYPE
    modified = props.last_modified
    if modified is not None and modified.tzinfo is None:
        modified = modified.replace(tzinfo=UTC)
    return BlobItem(
        name=props.name,
        etag=str(props.etag),
        size=int(props.size or 0),
        last_modified=modified or datetime.now(UTC),
        content_type=content_type,
        metadata=dict(props.metadata or {}),
    )


# --------------------------------------------------------------------------------------------
# Resolving a connection setting
# --------------------------------------------------------------------------------------------


def _parse_connection_string(value: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for piece in value.split(";"):
        key, sep, val = piece.partition("=")
        if sep and key.strip():
            pairs[key.strip().lower()] = val.strip()
    return pairs


def azurite_connection_string() -> str:
    """The development-storage connection string, honouring FUNCHOST_AZURITE_BLOB_ENDPOINT."""
    endpoint = os.environ.get(AZURITE_ENDPOINT_ENV) or AZURITE_BLOB_ENDPOINT
    return (
        f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
        f"BlobEndpoint={endpoint.rstrip('/')};"
    )


def _folder_from_file_uri(setting_name: str, value: str) -> Path:
    parsed = urlparse(value)
    if parsed.netloc not in ("", "localhost"):
        raise BlobSourceError(f"App setting '{setting_name}' has a file:// URI with a remote host.")
    return Path(url2pathname(unquote(parsed.path)))


def source_for_connection(
    setting_name: str, setting_value: str | None, container: str
) -> BlobSource:
    """Pick a BlobSource for a blob trigger's `connection` setting (name and resolved value)."""
    value = (setting_value or "").strip()
    if not value:
        raise BlobSourceError(
            f"The blob connection app setting '{setting_name}' is missing or empty; set it to "
            "UseDevelopmentStorage=true, a storage connection string, or file://<folder>."
        )
    if value.lower().startswith("file://"):
        return FolderBlobSource(_folder_from_file_uri(setting_name, value), container)
    pairs = _parse_connection_string(value)
    if pairs.get("usedevelopmentstorage", "").lower() == "true":
        return AzureBlobSource(azurite_connection_string(), container)
    if "accountname" in pairs or "blobendpoint" in pairs:
        try:
            return AzureBlobSource(value, container)
        except ValueError as exc:
            raise BlobSourceError(
                f"The blob connection app setting '{setting_name}' is not a valid storage "
                f"connection string ({type(exc).__name__})."
            ) from None
    if Path(value).is_dir():
        return FolderBlobSource(Path(value), container)
    raise BlobSourceError(
        f"The blob connection app setting '{setting_name}' is not supported: expected "
        "UseDevelopmentStorage=true, a storage connection string with AccountName or "
        "BlobEndpoint, file://<folder>, or an existing directory."
    )
