"""The one list of app settings the product reads, and the typed object built from it.

Every setting the code reads is declared here once. `infra/` emits the Azure ones as app settings
and `local.settings.example.json` lists the local ones; tests check all three agree, so a setting
can't be read in code and forgotten in a deployment (or deployed and never read).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Setting:
    """One app setting: its name, what it means, and where it is set.

    `azure`: emitted by infra/ as an app setting of the function app.
    `local`: listed in local.settings.example.json for the embedded host.
    """

    name: str
    description: str
    default: str | None = None
    azure: bool = True
    local: bool = True


SETTINGS: tuple[Setting, ...] = (
    # --- read by the Functions runtime / Durable extension (not by our Python code) ---
    Setting("FUNCTIONS_WORKER_RUNTIME", "Functions language worker", "python"),
    Setting(
        "AzureWebJobsStorage",
        "host storage (local: Azurite)",
        "UseDevelopmentStorage=true",
        azure=False,
    ),
    Setting(
        "AzureWebJobsStorage__accountName", "host storage account (identity-based)", local=False
    ),
    Setting(
        "AzureWebJobsStorage__credential", "managedidentity for identity-based storage", local=False
    ),
    Setting(
        "AzureWebJobsStorage__clientId", "client id of the user-assigned identity", local=False
    ),
    Setting(
        "APPLICATIONINSIGHTS_AUTHENTICATION_STRING", "Entra auth for App Insights", local=False
    ),
    Setting("APPLICATIONINSIGHTS_CONNECTION_STRING", "Application Insights ingestion", local=False),
    Setting(
        "DURABLE_TASK_SCHEDULER_CONNECTION_STRING",
        "Durable Task Scheduler endpoint + task hub (Azure backend)",
        local=False,
    ),
    Setting("TASKHUB_NAME", "Durable Task Scheduler task hub name", local=False),
    # --- read by batchinfer ---
    Setting(
        "BATCHINFER_API_KEYS",
        "comma-separated keys API clients must send (Ocp-Apim-Subscription-Key or api-key); "
        "empty: no key required",
        "",
    ),
    Setting(
        "BATCHINFER_ALLOWED_ACCOUNTS",
        "comma-separated storage account names jobs may read and write",
        "",
    ),
    Setting(
        "BATCHINFER_ALLOW_AZURITE", "allow Azurite's dev account on loopback (off in Azure)", "true"
    ),
    Setting(
        "BATCHINFER_LOCAL_ROOTS",
        "os.pathsep-separated folders file:// URLs may use",
        None,
        azure=False,
    ),
    Setting("BATCHINFER_ENDPOINT_SUFFIXES", "blob endpoint DNS suffixes", "core.windows.net"),
    Setting(
        "BATCHINFER_DATA_ROOT",
        "local data root (samples, model store, local storage)",
        ".data",
        azure=False,
    ),
    Setting(
        "BATCHINFER_JOB_STORE_URL",
        "blob container for job working state (Azure; local: <data root>/jobs)",
        None,
        local=False,
    ),
    Setting("BATCHINFER_MODEL_STORE_URL", "container URL or folder of the model store", None),
    Setting("BATCHINFER_ONNX_PROVIDERS", "ONNX Runtime providers in preference order", None),
    Setting("BATCHINFER_ONNX_THREADS", "intra-op threads per ONNX session", None),
    Setting(
        "BATCHINFER_ONNX_BATCH_ROWS",
        "rows per ONNX run for table models (dataset inference, endpoint tabular task) and "
        "timestamps per run for anomaly detection; an activity's rows run in batches of this",
        "65536",
    ),
    Setting(
        "BATCHINFER_ONNX_BATCH_IMAGES",
        "images per ONNX run for endpoint image models (a mini-batch runs in such batches)",
        "256",
    ),
    Setting(
        "BATCHINFER_ONNX_SPINNING",
        "1: idle ONNX threads busy-wait (default off)",
        None,
        azure=False,
        local=False,
    ),
    Setting("BATCHINFER_ITEMS_PER_ACTIVITY", "items one inference activity processes", "8"),
    Setting("BATCHINFER_ACTIVITIES_PER_SHARD", "activities per shard sub-orchestration", "50"),
    Setting("BATCHINFER_STATUS_RETENTION_HOURS", "hours a finished job's status is kept", "24"),
    Setting("BATCHINFER_MAX_DETECT_TIMESTAMPS", "cap on timestamps per detect-batch", "20000"),
    Setting("BATCHINFER_INBOX_CONTAINER", "container watched by the blob-upload trigger", "inbox"),
    Setting("BATCHINFER_RESULTS_CONTAINER_URL", "where blob-upload results are written", None),
    Setting("BATCHINFER_INBOX_MODEL", "model applied to uploaded documents", "prebuilt-read"),
    Setting(
        "BATCHINFER_INBOX_STORAGE",
        "connection of the inbox container (blob trigger)",
        "UseDevelopmentStorage=true",
        azure=False,
    ),
    Setting(
        "BATCHINFER_INBOX_STORAGE__accountName",
        "inbox storage account (identity-based)",
        local=False,
    ),
    Setting("BATCHINFER_INBOX_STORAGE__credential", "managedidentity", local=False),
    Setting(
        "BATCHINFER_INBOX_STORAGE__clientId", "client id of the user-assigned identity", local=False
    ),
    Setting(
        "AZURE_CLIENT_ID", "user-assigned identity used by DefaultAzureCredential", local=False
    ),
    Setting(
        "BATCHINFER_AZURITE_ENDPOINTS",
        "comma-separated Azurite blob endpoints user URLs may name (default: "
        "FUNCHOST_AZURITE_BLOB_ENDPOINT, else 127.0.0.1:10000 and localhost:10000)",
        None,
        azure=False,
    ),
    Setting(
        "BATCHINFER_DECODE_BUDGET_MB",
        "memory all pages being decoded and analyzed may hold together (default 1024)",
        None,
        azure=False,
    ),
    Setting(
        "BATCHINFER_PUBLIC_BASE_URL",
        "base URL (with route prefix) of Operation-Location/nextLink URLs, e.g. "
        "https://api.example.com/api; empty: the request's host when allowed",
        None,
        azure=False,
    ),
    Setting(
        "BATCHINFER_ALLOWED_HOSTS",
        "comma-separated Host header values answered (default: loopback names and "
        "WEBSITE_HOSTNAME); others get 400",
        None,
        azure=False,
    ),
    Setting(
        "BATCHINFER_OCR_BATCH_SIZE",
        "OCR line recognition batch, in 48x320 line crops' worth of columns per ONNX run; the "
        "crops of all documents of an activity share batches (raise on GPUs)",
        "4",
    ),
    # --- set by the embedded host's users, read where UseDevelopmentStorage=true is resolved ---
    Setting(
        "FUNCHOST_AZURITE_BLOB_ENDPOINT",
        "Azurite blob endpoint (embedded host only)",
        None,
        azure=False,
        local=False,
    ),
)

SETTING_NAMES = frozenset(s.name for s in SETTINGS)


def _get(env: Mapping[str, str], name: str) -> str | None:
    assert name in SETTING_NAMES, f"undeclared setting {name}"
    value = env.get(name)
    if value is None or value == "":
        return next(s.default for s in SETTINGS if s.name == name)
    return value


def _int(env: Mapping[str, str], name: str) -> int:
    value = _get(env, name)
    try:
        return max(1, int(value or "0"))
    except ValueError as exc:
        raise ValueError(f"App setting {name} must be a positive integer, not {value!r}") from exc


@dataclass(frozen=True)
class AppSettings:
    """Typed view of the settings batchinfer reads, built once per process."""

    data_root: Path
    api_keys: tuple[str, ...]
    job_store_url: str | None
    model_store_url: str | None
    items_per_activity: int
    activities_per_shard: int
    status_retention_hours: int
    max_detect_timestamps: int
    inbox_container: str
    inbox_model: str
    results_container_url: str | None
    # the inbox connection, read as the Functions host reads a blob-trigger `connection`
    inbox_storage: str | None = None
    inbox_storage_account: str | None = None
    inbox_storage_client_id: str | None = None
    azurite_blob_endpoint: str | None = None
    public_base_url: str | None = None
    allowed_hosts: tuple[str, ...] = ()
    onnx_batch_rows: int = 65_536  # BATCHINFER_ONNX_BATCH_ROWS
    onnx_batch_images: int = 256  # BATCHINFER_ONNX_BATCH_IMAGES

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> AppSettings:
        env = os.environ if env is None else env
        return cls(
            data_root=Path(_get(env, "BATCHINFER_DATA_ROOT") or ".data").resolve(),
            api_keys=tuple(
                k.strip() for k in (_get(env, "BATCHINFER_API_KEYS") or "").split(",") if k.strip()
            ),
            job_store_url=_get(env, "BATCHINFER_JOB_STORE_URL"),
            model_store_url=_get(env, "BATCHINFER_MODEL_STORE_URL"),
            items_per_activity=_int(env, "BATCHINFER_ITEMS_PER_ACTIVITY"),
            activities_per_shard=_int(env, "BATCHINFER_ACTIVITIES_PER_SHARD"),
            status_retention_hours=_int(env, "BATCHINFER_STATUS_RETENTION_HOURS"),
            max_detect_timestamps=_int(env, "BATCHINFER_MAX_DETECT_TIMESTAMPS"),
            inbox_container=_get(env, "BATCHINFER_INBOX_CONTAINER") or "inbox",
            inbox_model=_get(env, "BATCHINFER_INBOX_MODEL") or "prebuilt-read",
            results_container_url=_get(env, "BATCHINFER_RESULTS_CONTAINER_URL"),
            # unset means "identity-based via __accountName" when that is set, else the default
            inbox_storage=env.get("BATCHINFER_INBOX_STORAGE")
            or (
                None
                if env.get("BATCHINFER_INBOX_STORAGE__accountName")
                else _get(env, "BATCHINFER_INBOX_STORAGE")
            ),
            inbox_storage_account=_get(env, "BATCHINFER_INBOX_STORAGE__accountName"),
            inbox_storage_client_id=_get(env, "BATCHINFER_INBOX_STORAGE__clientId"),
            azurite_blob_endpoint=_get(env, "FUNCHOST_AZURITE_BLOB_ENDPOINT"),
            public_base_url=(_get(env, "BATCHINFER_PUBLIC_BASE_URL") or "").rstrip("/") or None,
            allowed_hosts=_allowed_hosts(env),
            onnx_batch_rows=_int(env, "BATCHINFER_ONNX_BATCH_ROWS"),
            onnx_batch_images=_int(env, "BATCHINFER_ONNX_BATCH_IMAGES"),
        )


def _allowed_hosts(env: Mapping[str, str]) -> tuple[str, ...]:
    """Host names whose Host header the APIs answer (and copy into URLs they return)."""
    configured = _get(env, "BATCHINFER_ALLOWED_HOSTS")
    if configured:
        return tuple(h.strip().lower() for h in configured.split(",") if h.strip())
    defaults = ["127.0.0.1", "localhost", "::1"]
    if env.get("WEBSITE_HOSTNAME"):  # set by App Service: the app's own host name
        defaults.append(env["WEBSITE_HOSTNAME"].split(":")[0].lower())
    return tuple(defaults)
