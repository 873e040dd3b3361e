"""Trained anomaly models and their records, versioned, on a `BlobStore`.

Layout: `mvad/<modelId>/model.json` (the API's Model record: status, info, diagnostics) and
`mvad/<modelId>/v<N>/{model.onnx, meta.json}` (the trained files). Inference loads a version
into a local cache folder once per process, so ONNX Runtime maps a plain file.
"""

from __future__ import annotations

import json
import tempfile
import threading
from pathlib import Path
from typing import Any

from batchinfer.models.mvad import TrainedModel
from batchinfer.storage import BlobNotFoundError, BlobStore

MODEL_FILES = ("model.onnx", "meta.json")


class ModelNotFound(LookupError):
    """No model with this id (or its files are gone)."""


class ModelStore:
    """Records and versions of anomaly models; an explicit per-process cache of loaded ones."""

    def __init__(self, store: BlobStore, cache_dir: Path) -> None:
        self._store = store
        self._cache_dir = cache_dir
        self._loaded: dict[tuple[str, int], TrainedModel] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------------------------ records
    def save_record(self, model_id: str, record: dict[str, Any]) -> None:
        self._store.write_blob(
            name=f"mvad/{model_id}/model.json",
            data=json.dumps(record).encode(),
            overwrite=True,
            content_type="application/json",
        )

    def load_record(self, model_id: str) -> dict[str, Any] | None:
        try:
            record: dict[str, Any] = json.loads(
                self._store.read_blob(name=f"mvad/{model_id}/model.json")
            )
            return record
        except BlobNotFoundError:
            return None

    def list_records(self) -> list[dict[str, Any]]:
        """All model records, oldest first."""
        records = []
        for blob in self._store.list_blobs(prefix="mvad/"):
            if blob.name.endswith("/model.json") and blob.name.count("/") == 2:
                record = self.load_record(blob.name.split("/")[1])
                if record is not None:
                    records.append(record)
        return sorted(records, key=lambda r: (r.get("createdTime", ""), r.get("modelId", "")))

    def delete(self, model_id: str) -> bool:
        names = [b.name for b in self._store.list_blobs(prefix=f"mvad/{model_id}/")]
        for name in names:
            self._store.delete_blob(name=name, missing_ok=True)
        with self._lock:
            for key in [k for k in self._loaded if k[0] == model_id]:
                del self._loaded[key]
        return bool(names)

    # ------------------------------------------------------------------------------- models
    def save_model(self, model_id: str, version: int, model: TrainedModel) -> None:
        """Write the trained files (model.save writes a folder; upload its files)."""
        with tempfile.TemporaryDirectory() as tmp:
            model.save(tmp)
            for file_name in MODEL_FILES:
                self._store.write_blob(
                    name=f"mvad/{model_id}/v{version}/{file_name}",
                    data=(Path(tmp) / file_name).read_bytes(),
                    overwrite=True,
                )

    def load_model(self, model_id: str, version: int) -> TrainedModel:
        key = (model_id, version)
        with self._lock:
            if key in self._loaded:
                return self._loaded[key]
            folder = self._cache_dir / model_id / f"v{version}"
            folder.mkdir(parents=True, exist_ok=True)
            try:
                for file_name in MODEL_FILES:
                    data = self._store.read_blob(name=f"mvad/{model_id}/v{version}/{file_name}")
                    (folder / file_name).write_bytes(data)
            except BlobNotFoundError:
                raise ModelNotFound(model_id) from None
            model = TrainedModel.load(folder)
            self._loaded[key] = model
            return model
