"""Reading a `dataSource` URL: a OneTable CSV blob, or a MultiTable folder or zip of CSVs.

The URL names a blob or a virtual folder inside a container, e.g.
`https://acct.blob.core.windows.net/data/plant/2024.csv?<SAS>`; locally
`file:///…/storage/data/plant/2024.csv`. It is split into the container (checked against the
allow-list, like every URL a job reads) and the path inside it.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import unquote, urlsplit, urlunsplit

from batchinfer.models.mvad import MultivariateSeries, MvadDataError
from batchinfer.models.mvad.data import load_multi_table, load_one_table_csv
from batchinfer.storage import BlobStore, StorageAllowList, StorageError, redact_url
from batchinfer.storage.factory import open_container

EMULATOR_HOSTS = frozenset({"127.0.0.1", "localhost"})
MAX_SOURCE_BYTES = 2 * 1024 * 1024 * 1024


class DataSourceNotAccessible(MvadDataError):
    """The dataSource could not be read. `innererror` carries the storage layer's code
    (`BlobNotFound`, `InvalidSasToken` for an expired or otherwise invalid SAS, ...)."""

    def __init__(self, message: str, inner_code: str, inner_message: str) -> None:
        super().__init__("DataSourceNotAccessible", message)
        self.inner_code = inner_code
        self.inner_message = inner_message

    @classmethod
    def from_storage(cls, exc: StorageError) -> DataSourceNotAccessible:
        return cls(f"The dataSource could not be read: {exc.message}", exc.code, exc.message)

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = dict(super().to_json())
        body["innererror"] = {"code": self.inner_code, "message": self.inner_message}
        return body


@dataclass(frozen=True)
class DataLocation:
    """A container URL (with its SAS) and a blob name or folder prefix inside it."""

    container_url: str
    path: str

    @property
    def redacted(self) -> str:
        return redact_url(self.container_url).rstrip("/") + "/" + self.path


def split_data_source(url: str) -> DataLocation:
    """Cut a blob/folder URL into container URL and path (no I/O, no allow-list yet)."""
    parts = urlsplit(url)
    if parts.scheme == "file":
        path = Path(unquote(parts.path))
        if path.is_dir():
            return DataLocation(path.as_uri(), "")
        return DataLocation(path.parent.as_uri(), path.name)
    segments = [s for s in parts.path.split("/") if s != ""]
    keep = 2 if (parts.hostname or "") in EMULATOR_HOSTS else 1  # account segment for Azurite
    if len(segments) < keep:
        raise MvadDataError(
            "InvalidDataSource", f"dataSource {redact_url(url)!r} does not name a container."
        )
    container_path = "/" + "/".join(segments[:keep])
    container = urlunsplit((parts.scheme, parts.netloc, container_path, parts.query, ""))
    return DataLocation(container, "/".join(segments[keep:]))


def check_data_source(url: str, policy: StorageAllowList) -> DataLocation:
    """Split and allow-list the URL before anything is read (raises UrlNotAllowedError).

    A `file:` URL is checked whole first, so nothing about a path outside the allowed roots
    (not even whether it is a folder) is looked at or shown in the error."""
    if urlsplit(url).scheme == "file":
        policy.check(url)
    location = split_data_source(url)
    policy.check(location.container_url)
    return location


def _read(store: BlobStore, name: str) -> bytes:
    return store.read_blob(name=name, max_bytes=MAX_SOURCE_BYTES)


def load_series(
    location: DataLocation, policy: StorageAllowList, data_schema: str
) -> MultivariateSeries:
    """Load the data as one series; storage failures become MvadDataError with a clear code."""
    try:
        store = open_container(location.container_url, policy)
        if data_schema.lower() == "onetable":
            if not location.path:
                raise MvadDataError(
                    "InvalidDataSource", "A OneTable dataSource must name a CSV file."
                )
            return load_one_table_csv(
                _read(store, location.path).decode("utf-8-sig"), where=location.path
            )
        return load_multi_table(_multi_table_files(store, location.path))
    except StorageError as exc:
        raise DataSourceNotAccessible.from_storage(exc) from None


def _multi_table_files(store: BlobStore, path: str) -> dict[str, str]:
    """One CSV per variable: from a zip blob, or from the blobs under a folder."""
    if path.lower().endswith(".zip"):
        files: dict[str, str] = {}
        with zipfile.ZipFile(io.BytesIO(_read(store, path))) as archive:
            for info in archive.infolist():
                if not info.is_dir() and info.filename.lower().endswith(".csv"):
                    files[info.filename] = archive.read(info).decode("utf-8-sig")
        return files
    prefix = path.rstrip("/") + "/" if path else ""
    return {
        b.name: _read(store, b.name).decode("utf-8-sig")
        for b in store.list_blobs(prefix=prefix)
        if b.name.lower().endswith(".csv")
    }


@contextmanager
def open_csv_binary(location: DataLocation, policy: StorageAllowList) -> Iterator[BinaryIO]:
    """The OneTable CSV as a binary stream: local files are read as they are consumed, other
    stores are downloaded in one request (the blob port has no ranged reads yet)."""
    from batchinfer.storage.local import LocalFolderStore
    from batchinfer.storage.paths import resolve_under

    try:
        store = open_container(location.container_url, policy)
        if isinstance(store, LocalFolderStore):
            path = resolve_under(store.root, location.path)
            try:
                handle: BinaryIO = open(path, "rb")  # noqa: SIM115 - closed below
            except FileNotFoundError:
                message = f"The dataSource blob {location.path!r} does not exist."
                raise DataSourceNotAccessible(message, "BlobNotFound", message) from None
        else:
            handle = io.BytesIO(_read(store, location.path))
    except StorageError as exc:
        raise DataSourceNotAccessible.from_storage(exc) from None
    with handle:
        yield handle


def iter_csv_lines(location: DataLocation, policy: StorageAllowList) -> Iterator[str]:
    """The lines of a OneTable CSV, read incrementally where the store allows it.

    Local folders stream from the file; other stores are read in one request (the blob port
    has no ranged reads yet), so only their parsing, not their download, is incremental.
    """
    from batchinfer.storage.local import LocalFolderStore
    from batchinfer.storage.paths import resolve_under

    try:
        store = open_container(location.container_url, policy)
        if isinstance(store, LocalFolderStore):
            path = resolve_under(store.root, location.path)
            try:
                with open(path, encoding="utf-8-sig", newline="") as handle:
                    yield from handle
            except FileNotFoundError:
                message = f"The dataSource blob {location.path!r} does not exist."
                raise DataSourceNotAccessible(message, "BlobNotFound", message) from None
            return
        text = _read(store, location.path).decode("utf-8-sig")
    except StorageError as exc:
        raise DataSourceNotAccessible.from_storage(exc) from None
    yield from text.splitlines(keepends=True)
