"""Wiring: the one place that turns settings into ports (storage policy, job store, models).

Built once per process and cached (`get_services`), so triggers stay thin adapters; tests call
`build_services(settings, policy=..., registry=...)` to replace a port with a fake.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from batchinfer.anomaly.model_store import ModelStore
from batchinfer.inference.registry import AnalyzePipeline, ModelRegistry, build_default_registry
from batchinfer.jobs.store import JobStore
from batchinfer.settings import AppSettings
from batchinfer.storage import BlobStore, ContainerUrl, StorageAllowList
from batchinfer.storage.configured import (
    ConfiguredContainer,
    container_for_connection,
    container_for_url,
)
from batchinfer.storage.factory import open_container
from batchinfer.storage.local import LocalFolderStore

if TYPE_CHECKING:  # the Azure ML workspace is imported on first use only
    from batchinfer.endpoints.catalog import Catalog


# Job specs name operator-configured containers by these references instead of URLs. They are
# not URLs (the allow-list refuses them), so a request body can never name them.
CONFIGURED_INBOX = "configured:inbox"
CONFIGURED_RESULTS = "configured:results"
CONFIGURED_CONTAINERS = frozenset({CONFIGURED_INBOX, CONFIGURED_RESULTS})


@dataclass
class Services:
    """Ports the product needs, built from settings."""

    settings: AppSettings
    policy: StorageAllowList
    job_store: JobStore
    registry: ModelRegistry
    models: ModelStore
    _sweeps: dict[str, float] = field(default_factory=dict)  # last retention sweep per kind
    _pipelines: dict[str, AnalyzePipeline] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _configured_stores: dict[str, BlobStore] = field(default_factory=dict)
    _catalog: Catalog | None = None  # built on first use

    def catalog(self) -> Catalog:
        """The Azure ML workspace (datastores, models, endpoints), built once."""
        with self._lock:
            if self._catalog is None:
                from batchinfer.endpoints.wiring import build_catalog

                self._catalog = build_catalog(self)
            return self._catalog

    def pipeline(self, model_id: str) -> AnalyzePipeline:
        """The model's pipeline, created once per process (sessions are cached below it)."""
        with self._lock:
            if model_id not in self._pipelines:
                self._pipelines[model_id] = self.registry.get(model_id).create()
            return self._pipelines[model_id]

    def sweep_due(self, kind: str, interval: float) -> bool:
        """True at most once per `interval` seconds per kind of work (retention sweeps)."""
        import time

        now = time.monotonic()
        with self._lock:
            if now - self._sweeps.get(kind, float("-inf")) < interval:
                return False
            self._sweeps[kind] = now
            return True

    def open_container(self, url: str) -> BlobStore:
        """A user's container, after the allow-list check (raises before any request), or an
        operator-configured one when `url` is one of the `CONFIGURED_*` references."""
        if url in CONFIGURED_CONTAINERS:
            with self._lock:
                if url not in self._configured_stores:  # one client (and credential) each
                    self._configured_stores[url] = self.configured_container(url).open()
                return self._configured_stores[url]
        return open_container(url, self.policy)

    def locate(self, url: str) -> ContainerUrl:
        """Where a job's container is (for report URLs): checked like `open_container`."""
        if url in CONFIGURED_CONTAINERS:
            return self.configured_container(url).location
        return self.policy.check(url)

    def configured_container(self, reference: str) -> ConfiguredContainer:
        """The inbox (its connection setting) or the results container (its URL setting; the
        inbox itself when that is unset). Operator-configured: no allow-list, own identity."""
        settings = self.settings
        if reference == CONFIGURED_RESULTS and settings.results_container_url:
            return container_for_url(
                "BATCHINFER_RESULTS_CONTAINER_URL",
                settings.results_container_url,
                client_id=settings.inbox_storage_client_id,
                endpoint_suffixes=self.policy.endpoint_suffixes,
            )
        return container_for_connection(
            "BATCHINFER_INBOX_STORAGE",
            settings.inbox_storage,
            settings.inbox_container,
            account_name=settings.inbox_storage_account,
            client_id=settings.inbox_storage_client_id,
            development_endpoint=settings.azurite_blob_endpoint,
            endpoint_suffix=(self.policy.endpoint_suffixes or ("core.windows.net",))[0],
        )


def _folder(path: Path) -> Path:
    """Our own local containers exist from the start (a user's must already exist)."""
    path.mkdir(parents=True, exist_ok=True)
    return path


def _job_store(settings: AppSettings, env_url: str | None) -> JobStore:
    if env_url:
        from azure.identity import DefaultAzureCredential

        from batchinfer.storage.azure_blob import AzureBlobStore
        from batchinfer.storage.urls import parse_container_url

        container = parse_container_url(env_url)
        return JobStore(AzureBlobStore(container, credential=DefaultAzureCredential()))
    return JobStore(LocalFolderStore(_folder(settings.data_root / "jobs")))


def _model_store(settings: AppSettings) -> ModelStore:
    cache = settings.data_root / "cache" / "models"
    if settings.model_store_url:
        from azure.identity import DefaultAzureCredential

        from batchinfer.storage.azure_blob import AzureBlobStore
        from batchinfer.storage.urls import parse_container_url

        store: BlobStore = AzureBlobStore(
            parse_container_url(settings.model_store_url), credential=DefaultAzureCredential()
        )
        return ModelStore(store, cache)
    return ModelStore(LocalFolderStore(_folder(settings.data_root / "models")), cache)


def build_services(
    settings: AppSettings | None = None,
    *,
    policy: StorageAllowList | None = None,
    job_store: JobStore | None = None,
    registry: ModelRegistry | None = None,
    models: ModelStore | None = None,
) -> Services:
    """The services from settings; each keyword replaces one port (tests pass fakes or
    temporary folders there instead of assembling `Services` by hand)."""
    settings = settings or AppSettings.from_env()
    return Services(
        settings=settings,
        policy=policy
        if policy is not None
        else StorageAllowList.from_settings(default_local_root=settings.data_root / "storage"),
        job_store=job_store
        if job_store is not None
        else _job_store(settings, settings.job_store_url),
        registry=registry if registry is not None else build_default_registry(),
        models=models if models is not None else _model_store(settings),
    )


PROCESS_STARTED = time.time()
"""Taken when the app is imported, before this process writes anything: temp files older than
this are orphans of a killed process; younger ones may be writes in flight."""


@functools.lru_cache(maxsize=1)
def get_services() -> Services:
    """The process-wide services (an explicit cache, cleared by tests with cache_clear()).
    Built on first use, which also starts the sweep of what a killed process left behind."""
    services = build_services()
    threading.Thread(
        target=_sweep_at_start, args=(services,), name="startup-sweep", daemon=True
    ).start()
    return services


def _sweep_at_start(services: Services) -> None:
    from batchinfer.jobs.cleanup import sweep_temp_files

    try:
        sweep_temp_files(services.job_store, services.policy, before=PROCESS_STARTED)
    except Exception:  # best effort: a failed sweep must not stop the service
        logging.getLogger("batchinfer.cleanup").exception("Start-up sweep failed")


def local_storage_root(settings: AppSettings) -> Path:
    """The folder `file://` URLs may point into by default on the embedded host."""
    return settings.data_root / "storage"
