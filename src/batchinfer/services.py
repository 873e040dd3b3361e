"""Wiring: the one place that turns settings into ports (storage policy, job store, models).

Built once per process and cached (`get_services`), so triggers stay thin adapters and tests can
build their own `Services` with fakes or temporary folders.
"""
from __future__ import annotations

import functools
import threading
from dataclasses import dataclass, field
from pathlib import Path

from batchinfer.inference.registry import AnalyzePipeline, ModelRegistry, build_default_registry
from batchinfer.jobs.store import JobStore
from batchinfer.settings import AppSettings
from batchinfer.storage import BlobStore, StorageAllowList
from batchinfer.storage.factory import open_container
from batchinfer.storage.local import LocalFolderStore


@dataclass
class Services:
    """Ports the product needs, built from settings."""

    settings: AppSettings
    policy: StorageAllowList
    job_store: JobStore
    registry: ModelRegistry
    last_sweep: float = float("-inf")  # monotonic time of the last retention sweep
    _pipelines: dict[str, AnalyzePipeline] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def pipeline(self, model_id: str) -> AnalyzePipeline:
        """The model's pipeline, created once per process (sessions are cached below it)."""
        with self._lock:
            if model_id not in self._pipelines:
                self._pipelines[model_id] = self.registry.get(model_id).create()
            return self._pipelines[model_id]

    def open_container(self, url: str) -> BlobStore:
        """A user's container, after the allow-list check (raises before any request)."""
        return open_container(url, self.policy)


def _job_store(settings: AppSettings, env_url: str | None) -> JobStore:
    if env_url:
        from azure.identity import DefaultAzureCredential

        from batchinfer.storage.azure_blob import AzureBlobStore
        from batchinfer.storage.urls import parse_container_url

        container = parse_container_url(env_url)
        return JobStore(AzureBlobStore(container, credential=DefaultAzureCredential()))
    return JobStore(LocalFolderStore(settings.data_root / "jobs"))


def build_services(settings: AppSettings | None = None) -> Services:
    settings = settings or AppSettings.from_env()
    return Services(
        settings=settings,
        policy=StorageAllowList.from_settings(default_local_root=settings.data_root / "storage"),
        job_store=_job_store(settings, settings.job_store_url),
        registry=build_default_registry(),
    )


@functools.lru_cache(maxsize=1)
def get_services() -> Services:
    """The process-wide services (an explicit cache, cleared by tests with cache_clear())."""
    return build_services()


def local_storage_root(settings: AppSettings) -> Path:
    """The folder `file://` URLs may point into by default on the embedded host."""
    return settings.data_root / "storage"
