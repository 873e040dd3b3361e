"""Records and files of datasets, models and jobs on a `BlobStore`, plus local file access.

Layout (names inside one container or folder):
  datasets/<id>/dataset.json, datasets/<id>/versions/<vid>.json, .../<vid>/data.parquet
  models/<id>/model.json, models/<id>/versions/<vid>.json, .../<vid>/model.onnx|meta.json
  jobs/<id>/job.json, jobs/<id>/chunks/<n>.parquet, jobs/<id>/result.<ext>, rows.parquet
  index/<kind>/<key> (version id -> parent id, request hash -> job id)
Parquet and ONNX files are read through local paths: the folder itself for a local store, a
per-process cache for blob containers, so row groups are read without loading whole files.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from batchinfer.storage import BlobNotFoundError, BlobStore
from batchinfer.storage.errors import BlobExistsError
from batchinfer.storage.local import LocalFolderStore


class TabularStore:
    """JSON records and binary files of the tabular API, keyed by deterministic names."""

    def __init__(self, store: BlobStore, cache_dir: Path) -> None:
        self._store = store
        self._cache_dir = cache_dir
        self._lock = threading.Lock()

    # ------------------------------------------------------------------------------ records
    def save(self, name: str, record: dict[str, Any]) -> None:
        self._store.write_blob(
            name=name,
            data=json.dumps(record).encode(),
            overwrite=True,
            content_type="application/json",
        )

    def load(self, name: str) -> dict[str, Any] | None:
        try:
            record: dict[str, Any] = json.loads(self._store.read_blob(name=name))
            return record
        except BlobNotFoundError:
            return None

    def create(self, name: str, record: dict[str, Any]) -> bool:
        """Create-only write; False when the name exists (its record is untouched)."""
        try:
            self._store.write_blob(name=name, data=json.dumps(record).encode(), overwrite=False)
            return True
        except BlobExistsError:
            return False

    def names(self, prefix: str) -> Iterator[str]:
        for blob in self._store.list_blobs(prefix=prefix):
            yield blob.name

    def records(self, prefix: str, suffix: str) -> list[dict[str, Any]]:
        """Records whose names start with prefix and end with suffix (one folder level)."""
        found = []
        depth = prefix.count("/") + suffix.count("/")
        for name in self.names(prefix):
            if name.endswith(suffix) and name.count("/") == depth:
                record = self.load(name)
                if record is not None:
                    found.append(record)
        return found

    def exists(self, name: str) -> bool:
        return self._store.exists(name=name)

    def delete_prefix(self, prefix: str) -> int:
        names = list(self.names(prefix))
        for name in names:
            self._store.delete_blob(name=name, missing_ok=True)
        with self._lock:
            shutil.rmtree(self._cache_dir / prefix, ignore_errors=True)
        return len(names)

    def delete(self, name: str) -> None:
        self._store.delete_blob(name=name, missing_ok=True)

    # -------------------------------------------------------------------------------- bytes
    def put_bytes(self, name: str, data: bytes, content_type: str | None = None) -> None:
        self._store.write_blob(name=name, data=data, overwrite=True, content_type=content_type)

    def get_bytes(self, name: str, max_bytes: int | None = None) -> bytes:
        return self._store.read_blob(name=name, max_bytes=max_bytes)

    def put_file(self, name: str, path: Path) -> None:
        """Publish a finished local file under `name` (moved into a local store: no copy)."""
        if isinstance(self._store, LocalFolderStore):
            target = self._store.root / name
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, target)
            return
        self._store.write_blob(name=name, data=path.read_bytes(), overwrite=True)
        path.unlink(missing_ok=True)

    def local_path(self, name: str) -> Path:
        """A local file holding the blob: the store's own file, or a cached download."""
        if isinstance(self._store, LocalFolderStore):
            path = self._store.root / name
            if not path.is_file():
                raise BlobNotFoundError(name)
            return path
        path = self._cache_dir / name
        with self._lock:
            if not path.is_file():
                path.parent.mkdir(parents=True, exist_ok=True)
                data = self._store.read_blob(name=name)
                temp = path.with_suffix(path.suffix + ".part")
                temp.write_bytes(data)
                os.replace(temp, path)
        return path

    def scratch_file(self, suffix: str) -> Path:
        """A new empty local file for building outputs before `put_file`."""
        folder = (
            (self._store.root / ".scratch")
            if isinstance(self._store, LocalFolderStore)
            else self._cache_dir / ".scratch"
        )
        folder.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(suffix=suffix, dir=folder)
        os.close(handle)
        return Path(name)

    # ------------------------------------------------------------------------------ secrets
    def signing_key(self) -> bytes:
        """The key signed URLs are made with: random, created once, shared by all instances."""
        name = "secrets/signing.key"
        try:
            return bytes.fromhex(self._store.read_blob(name=name).decode())
        except BlobNotFoundError:
            try:
                self._store.write_blob(
                    name=name, data=secrets.token_hex(32).encode(), overwrite=False
                )
            except BlobExistsError:
                pass
            return bytes.fromhex(self._store.read_blob(name=name).decode())


_STORES: dict[str, TabularStore] = {}
_STORES_LOCK = threading.Lock()


def tabular_store(data_root: Path, store_url: str | None = None) -> TabularStore:
    """The process-wide store: `woodwide/` under the model store container when one is set
    (Azure), else `<data root>/woodwide`."""
    key = store_url or str(data_root)
    with _STORES_LOCK:
        if key not in _STORES:
            cache = data_root / "cache" / "woodwide"
            if store_url:
                from azure.identity import DefaultAzureCredential

                from batchinfer.storage.azure_blob import AzureBlobStore
                from batchinfer.storage.urls import parse_container_url

                container = parse_container_url(store_url)
                blob: BlobStore = _Prefixed(
                    AzureBlobStore(container, credential=DefaultAzureCredential()), "woodwide/"
                )
            else:
                folder = data_root / "woodwide"
                folder.mkdir(parents=True, exist_ok=True)
                blob = LocalFolderStore(folder)
            _STORES[key] = TabularStore(blob, cache)
        return _STORES[key]


class _Prefixed:
    """A BlobStore seen through a name prefix (our own folder in a shared container)."""

    def __init__(self, inner: BlobStore, prefix: str) -> None:
        self._inner = inner
        self._prefix = prefix

    def list_blobs(self, *, prefix: str = "") -> Iterator[Any]:
        from batchinfer.storage import BlobInfo

        for blob in self._inner.list_blobs(prefix=self._prefix + prefix):
            yield BlobInfo(blob.name[len(self._prefix) :], blob.size, blob.etag, blob.last_modified)

    def read_blob(self, *, name: str, max_bytes: int | None = None) -> bytes:
        return self._inner.read_blob(name=self._prefix + name, max_bytes=max_bytes)

    def write_blob(
        self, *, name: str, data: bytes, overwrite: bool, content_type: str | None = None
    ) -> None:
        self._inner.write_blob(
            name=self._prefix + name, data=data, overwrite=overwrite, content_type=content_type
        )

    def exists(self, *, name: str) -> bool:
        return self._inner.exists(name=self._prefix + name)

    def delete_blob(self, *, name: str, missing_ok: bool = False) -> None:
        self._inner.delete_blob(name=self._prefix + name, missing_ok=missing_ok)
