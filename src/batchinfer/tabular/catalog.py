"""The records of datasets, models and jobs, as the API shows them, on a `TabularStore`.

Records are plain JSON documents in the public shape; what the service needs but does not show
(the stored upload, chunk counts, the request of a job) lives under the `internal` key and is
stripped by `public()`. Ids are prefixed, as the API's own are (`ds_`, `dsv_`, `mdl_`,
`mdlv_`, `job_`).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime
from typing import Any

from batchinfer.tabular.store import TabularStore

TERMINAL = ("succeeded", "failed", "canceled", "rejected")
RUNTIME_VERSION = "batchinfer-tabular-1"


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def public(record: dict[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (record or {}).items() if k != "internal"}


def request_key(*parts: Any) -> str:
    """A stable hash of a request's meaningful fields (for reusing identical jobs)."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:40]


class Catalog:
    """Typed access to the records; every method is a few store reads or writes."""

    def __init__(self, store: TabularStore) -> None:
        self.store = store

    # ----------------------------------------------------------------------------- datasets
    def dataset(self, dataset_id: str) -> dict[str, Any] | None:
        if not _safe(dataset_id):
            return None
        return self.store.load(f"datasets/{dataset_id}/dataset.json")

    def save_dataset(self, record: dict[str, Any]) -> None:
        self.store.save(f"datasets/{record['id']}/dataset.json", record)

    def datasets(self) -> list[dict[str, Any]]:
        found = self.store.records("datasets/", "/dataset.json")
        return sorted(found, key=lambda r: (r["created_at"], r["id"]))

    def dataset_versions(self, dataset_id: str) -> list[dict[str, Any]]:
        found = self.store.records(f"datasets/{dataset_id}/versions/", ".json")
        return sorted(found, key=lambda r: r["version"])

    def dataset_version(self, version_id: str) -> dict[str, Any] | None:
        if not _safe(version_id):
            return None
        index = self.store.load(f"index/dsv/{version_id}")
        if index is None:
            return None
        return self.store.load(f"datasets/{index['dataset_id']}/versions/{version_id}.json")

    def save_dataset_version(self, record: dict[str, Any]) -> None:
        self.store.save(f"index/dsv/{record['id']}", {"dataset_id": record["dataset_id"]})
        self.store.save(f"datasets/{record['dataset_id']}/versions/{record['id']}.json", record)

    def latest_ready_version(self, dataset_id: str) -> dict[str, Any] | None:
        ready = [v for v in self.dataset_versions(dataset_id) if v["status"] == "ready"]
        return ready[-1] if ready else None

    def dataset_view(self, record: dict[str, Any]) -> dict[str, Any]:
        versions = self.dataset_versions(record["id"])
        view = public(record)
        view["current_version"] = public(versions[-1]) if versions else None
        view["version_count"] = len(versions)
        return view

    def delete_dataset(self, dataset_id: str) -> None:
        for version in self.dataset_versions(dataset_id):
            self.store.delete(f"index/dsv/{version['id']}")
        self.store.delete_prefix(f"datasets/{dataset_id}/")

    def new_dataset(self, name: str, description: str | None) -> dict[str, Any]:
        created = now()
        record = {
            "id": new_id("ds"),
            "name": name,
            "description": description,
            "created_at": created,
            "updated_at": created,
            "is_archived": False,
        }
        self.save_dataset(record)
        return record

    def new_dataset_version(
        self, dataset: dict[str, Any], filename: str, source: str, status: str
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """A version (processing) and its ingest job (queued or waiting_for_upload)."""
        number = max((v["version"] for v in self.dataset_versions(dataset["id"])), default=0) + 1
        version = {
            "id": new_id("dsv"),
            "dataset_id": dataset["id"],
            "version": number,
            "status": "processing",
            "created_at": now(),
            "ready_at": None,
            "row_count": None,
            "byte_size": None,
            "schema_json": None,
            "source_type": source,
            "source_label": filename,
            "is_archived": False,
        }
        job = new_job(
            "dataset_ingest",
            status=status,
            dataset_id=dataset["id"],
            dataset_name=dataset["name"],
            input_filename=filename,
            resources={
                "type": "dataset_ingest",
                "dataset": {
                    "id": dataset["id"],
                    "version_id": version["id"],
                    "version_number": number,
                },
            },
            internal={"dataset_version_id": version["id"]},
        )
        version["ingest_job_id"] = job["id"]
        self.save_dataset_version(version)
        self.save_job(job)
        dataset["updated_at"] = now()
        self.save_dataset(dataset)
        return version, job

    @staticmethod
    def data_blob(version: dict[str, Any]) -> str:
        return f"datasets/{version['dataset_id']}/versions/{version['id']}/data.parquet"

    @staticmethod
    def upload_blob(version: dict[str, Any]) -> str:
        return f"datasets/{version['dataset_id']}/versions/{version['id']}/upload.bin"

    # ------------------------------------------------------------------------------- models
    def model(self, model_id: str) -> dict[str, Any] | None:
        if not _safe(model_id):
            return None
        return self.store.load(f"models/{model_id}/model.json")

    def save_model(self, record: dict[str, Any]) -> None:
        self.store.save(f"models/{record['id']}/model.json", record)

    def models(self) -> list[dict[str, Any]]:
        found = self.store.records("models/", "/model.json")
        return sorted(found, key=lambda r: (r["created_at"], r["id"]))

    def model_versions(self, model_id: str) -> list[dict[str, Any]]:
        found = self.store.records(f"models/{model_id}/versions/", ".json")
        return sorted(found, key=lambda r: r["version"])

    def model_version(self, model_id: str, version_id: str) -> dict[str, Any] | None:
        if not (_safe(model_id) and _safe(version_id)):
            return None
        return self.store.load(f"models/{model_id}/versions/{version_id}.json")

    def save_model_version(self, record: dict[str, Any]) -> None:
        self.store.save(f"models/{record['model_id']}/versions/{record['id']}.json", record)

    def model_view(self, record: dict[str, Any]) -> dict[str, Any]:
        versions = self.model_versions(record["id"])
        ready = [v for v in versions if v["status"] == "ready"]
        chosen = ready or versions
        current = chosen[-1] if chosen else None
        view = public(record)
        if current is not None:
            view["status"] = current["status"]
            view["current_version"] = {
                "version_id": current["id"],
                "id": current["id"],
                "version": current["version"],
                "status": current["status"],
                "metrics": current.get("metrics"),
            }
            view["current_metrics"] = current.get("metrics")
        return view

    def delete_model(self, model_id: str) -> None:
        self.store.delete_prefix(f"models/{model_id}/")

    def new_model_version(
        self,
        model: dict[str, Any],
        dataset: dict[str, Any],
        data: dict[str, Any],
        request: dict[str, Any],
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """A model version (training) and its train job (queued) for a validated request."""
        number = max((v["version"] for v in self.model_versions(model["id"])), default=0) + 1
        version = {
            "id": new_id("mdlv"),
            "model_id": model["id"],
            "version": number,
            "status": "training",
            "created_at": now(),
            "ready_at": None,
            "dataset_id": dataset["id"],
            "dataset_version_id": data["id"],
            "metrics": None,
            "performance": None,
        }
        job = new_job(
            "train",
            model_id=model["id"],
            model_type=model["model_type"],
            dataset_id=dataset["id"],
            dataset_name=dataset["name"],
            input={k: v for k, v in request.items() if v is not None},
            resources={
                "type": "train",
                "model": {"id": model["id"], "version_id": version["id"], "version_number": number},
                "dataset": {
                    "id": dataset["id"],
                    "version_id": data["id"],
                    "version_number": data["version"],
                },
            },
            internal={
                "request": request,
                "model_version_id": version["id"],
                "dataset_version_id": data["id"],
            },
        )
        version["training_job_id"] = job["id"]
        self.save_model_version(version)
        self.save_job(job)
        return version, job

    def new_model(
        self, model_type: str, label_column: str | None, dataset: dict[str, Any]
    ) -> dict[str, Any]:
        created = now()
        record = {
            "id": new_id("mdl"),
            "model_type": model_type,
            "created_at": created,
            "updated_at": created,
            "label_column": label_column,
            "training_dataset_id": dataset["id"],
            "training_dataset_name": dataset["name"],
        }
        self.save_model(record)
        return record

    @staticmethod
    def model_file(version: dict[str, Any], name: str) -> str:
        return f"models/{version['model_id']}/versions/{version['id']}/{name}"

    # --------------------------------------------------------------------------------- jobs
    def job(self, job_id: str) -> dict[str, Any] | None:
        """The job record; once a cancel was acknowledged it reads as canceled, whatever a
        step that was still running wrote afterwards (the cancel marker is its own blob, so
        no read-modify-write of the record can lose it)."""
        if not _safe(job_id):
            return None
        record = self.store.load(f"jobs/{job_id}/job.json")
        if record is not None:
            marker = self.store.load(f"jobs/{job_id}/canceled.json")
            if marker is not None:
                record.update(
                    status="canceled",
                    finished_at=marker["finished_at"],
                    error_message=marker["error_message"],
                )
        return record

    def cancel_job(self, job_id: str) -> dict[str, Any] | None:
        """Mark a job canceled unless it already ended; returns the record as it now reads."""
        record = self.job(job_id)
        if record is None or record["status"] in TERMINAL:
            return record
        self.store.save(
            f"jobs/{job_id}/canceled.json",
            {"finished_at": now(), "error_message": "Canceled by the user."},
        )
        return self.job(job_id)

    def save_job(self, record: dict[str, Any]) -> None:
        self.store.save(f"jobs/{record['id']}/job.json", record)

    def jobs(self) -> list[dict[str, Any]]:
        """Every job record as `job()` reads it: an unfinished one is read again, so a cancel
        acknowledged while a step was still running shows in listings too."""
        found = self.store.records("jobs/", "/job.json")
        records = [
            (self.job(r["id"]) or r) if r.get("status") not in TERMINAL else r for r in found
        ]
        return sorted(records, key=lambda r: (r["created_at"], r["id"]))

    def update_job(self, job_id: str, **changes: Any) -> dict[str, Any] | None:
        """Apply changes unless the job already ended (a canceled job stays canceled)."""
        record = self.job(job_id)
        if record is None or record["status"] in TERMINAL:
            return None
        internal = changes.pop("internal", None)
        record.update(changes)
        if internal:
            record.setdefault("internal", {}).update(internal)
        self.save_job(record)
        return record

    def job_view(self, record: dict[str, Any]) -> dict[str, Any]:
        view = public(record)
        if record["status"] == "running" and record["type"] == "infer_batch":
            total = int(record.get("internal", {}).get("chunks") or 0)
            if total:
                done = sum(1 for _ in self.store.names(f"jobs/{record['id']}/chunks/"))
                view["progress"] = round(min(95.0, 5 + 90 * done / total), 1)
        return view

    def delete_job(self, job_id: str) -> None:
        self.store.delete_prefix(f"jobs/{job_id}/")

    # -------------------------------------------------------------------------------- index
    def lookup(self, kind: str, key: str) -> dict[str, Any] | None:
        return self.store.load(f"index/{kind}/{key}")

    def remember(self, kind: str, key: str, value: dict[str, Any]) -> None:
        self.store.save(f"index/{kind}/{key}", value)


def _safe(value: str) -> bool:
    """Ids are letters, digits and underscores: nothing that could leave its folder."""
    return bool(value) and len(value) <= 100 and all(c.isalnum() or c == "_" for c in value)


def new_job(job_type: str, **fields: Any) -> dict[str, Any]:
    created = now()
    record: dict[str, Any] = {
        "id": new_id("job"),
        "type": job_type,
        "status": "queued",
        "created_at": created,
        "started_at": None,
        "finished_at": None,
        "progress": 0.0,
        "error_message": None,
        "woodwide_runtime_version": RUNTIME_VERSION,
    }
    record.update(fields)
    return record
