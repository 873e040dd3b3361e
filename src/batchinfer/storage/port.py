"""The `BlobStore` port: what batch jobs need from a container, whatever serves it.

Activities depend on this Protocol only; `azure_blob.AzureBlobStore` and
`local.LocalFolderStore` implement it, and `factory.open_container` picks one after the
allow-list check. Methods are keyword-only so call sites stay readable and adapters can grow
optional parameters without breaking callers.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from batchinfer.storage.errors import InvalidPathError, StorageError
from batchinfer.storage.paths import validate_blob_name

DEFAULT_FILE_LIST_MAX_BYTES = 64 * 1024 * 1024
"""File lists larger than this are refused rather than loaded (about a million entries)."""


@dataclass(frozen=True)
class BlobInfo:
    """One listed blob; `etag` and `last_modified` are None where a store cannot tell."""

    name: str
    size: int
    etag: str | None = None
    last_modified: datetime | None = None


@runtime_checkable
class BlobStore(Protocol):
    """One container: list, read, create-or-overwrite, probe and delete blobs by name.

    Names are validated (`paths.validate_blob_name`) by every method; failures raise the
    `errors.StorageError` tree, never SDK or OS exceptions.
    """

    def list_blobs(self, *, prefix: str = "") -> Iterator[BlobInfo]:
        """Yield blobs whose names start with `prefix`, sorted by name, page by page.

        Streaming: a listing of any size holds only one page in memory.
        """
        ...

    def read_blob(self, *, name: str, max_bytes: int | None = None) -> bytes:
        """Return a blob's bytes; `BlobNotFoundError` if absent, `BlobTooLargeError` if it is
        larger than `max_bytes` (checked before the body is read)."""
        ...

    def write_blob(
        self, *, name: str, data: bytes, overwrite: bool, content_type: str | None = None
    ) -> None:
        """Write a whole blob atomically: readers see the old bytes or the new, never a mix.

        With `overwrite=False` the write is a create-only operation checked by the store
        itself (not a racy exists-then-write): if the blob exists, `BlobExistsError` is raised
        and its bytes are untouched.
        """
        ...

    def exists(self, *, name: str) -> bool:
        """True if the blob exists."""
        ...

    def delete_blob(self, *, name: str, missing_ok: bool = False) -> None:
        """Delete a blob; `BlobNotFoundError` if absent unless `missing_ok` (for retries)."""
        ...


def read_file_list(
    store: BlobStore, name: str, *, max_bytes: int = DEFAULT_FILE_LIST_MAX_BYTES
) -> Iterator[str]:
    """Yield the blob names listed in a `.jsonl` file list stored at `name` in `store`.

    Each non-blank line is `{"file": "<blob name>"}` (Document Intelligence's
    `azureBlobFileListSource` format); names are relative to the container and validated. A
    malformed line raises `InvalidPathError` naming its 1-based line number. The file is read
    once (it is bounded by `max_bytes`); entries are yielded lazily.
    """
    raw = store.read_blob(name=name, max_bytes=max_bytes)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidPathError(f"file list {name!r} is not UTF-8 text") from None
    return _parse_file_list(name, text)


def _parse_file_list(name: str, text: str) -> Iterator[str]:
    # Split on "\n" only: str.splitlines would also break on U+2028 etc. inside JSON strings.
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.removesuffix("\r")
        if not line.strip():
            continue
        where = f"file list {name!r} line {number}"
        try:
            entry = json.loads(line)
        except ValueError:
            raise InvalidPathError(f"{where} is not valid JSON") from None
        if not isinstance(entry, dict) or not isinstance(entry.get("file"), str):
            raise InvalidPathError(f'{where} must be an object like {{"file": "<path>"}}')
        try:
            yield validate_blob_name(entry["file"])
        except StorageError as error:
            raise InvalidPathError(f"{where}: {error.message}") from None
