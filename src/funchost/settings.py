"""Host configuration: host.json, local.settings.json and the host's own environment settings.

Read once at start. `local.settings.json` `Values` become environment variables (without
overriding ones already set), as Core Tools does, so the app reads its settings the same way
locally and in Azure.

Host settings of our own (environment variables or `local.settings.json` Values):

- `FUNCHOST_MASTER_KEY`: admin/system key for `admin` routes and the durable management API,
  which always need one: unset, the host derives a key into `<data-dir>/host-secrets.json`
  (see `funchost.host_secrets`)
- `FUNCHOST_FUNCTION_KEY`: function key; when set (or a master key is set), `function` routes
  require a key
- `FUNCHOST_BLOB_POLL_SECONDS`: blob trigger polling interval (default 2 s)
- `FUNCHOST_AZURITE_BLOB_ENDPOINT`: where `UseDevelopmentStorage=true` points (default
  Azurite's 127.0.0.1:10000)
- `FUNCHOST_DURABLE_RETENTION_HOURS`: purge finished orchestrations this long after they ended
  (default: never, as Azure)
- `FUNCHOST_API_KEYS_SETTING`: name of an app setting with comma-separated API keys; when it
  holds keys, a request with a body must carry one in `Ocp-Apim-Subscription-Key` or `api-key`
  before its body is read (`Authorization: Bearer <key>` is accepted too)
- `FUNCHOST_API_KEYS_EXEMPT_ROUTES`: comma-separated route prefixes (below the route prefix,
  e.g. `woodwide/signed/`) whose requests carry their own proof (signed URLs) and skip that
  header check
- `FUNCHOST_BODY_TIMEOUT_SECONDS`: a body that stops arriving for this long is dropped with
  `408` (default 30; 4x this in all)
- `FUNCHOST_MAX_INFLIGHT_BODY_MB`: request bytes all bodies being received may hold together
  (default 256)

Keys are passed as the `code` query parameter or the `x-functions-key` header. With no key
configured every function route below `admin` is open, as `func start` is locally.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class HostConfigError(Exception):
    """host.json or local.settings.json is unreadable; the message says which and why."""


@dataclass(frozen=True)
class DurableOptions:
    """Durable settings beyond concurrency: versioning, timeouts and retention."""

    default_version: str | None = None  # extensions.durableTask.defaultVersion
    version_match: str = "CurrentOrOlder"  # versionMatchStrategy: None | Strict | CurrentOrOlder
    version_failure: str = "Reject"  # versionFailureStrategy: Reject | Fail
    function_timeout: float | None = None  # host.json functionTimeout, seconds (None: unbounded)
    retention_hours: float | None = None  # FUNCHOST_DURABLE_RETENTION_HOURS (None: keep all)


@dataclass(frozen=True)
class HostSettings:
    """Everything the host needs from configuration, resolved once."""

    app_dir: Path
    data_dir: Path
    listen_host: str
    port: int
    route_prefix: str
    hub_name: str
    max_activities: int
    max_orchestrators: int
    master_key: str | None
    function_key: str | None
    blob_poll_seconds: float
    durable: DurableOptions = field(default_factory=lambda: DurableOptions())
    api_keys_setting: str | None = None
    api_keys_exempt_routes: tuple[str, ...] = ()
    body_idle_timeout: float = 30.0
    max_inflight_body_bytes: int = 256 * 1024 * 1024

    @property
    def body_total_timeout(self) -> float:
        return 4 * self.body_idle_timeout

    @property
    def keys_enabled(self) -> bool:
        return bool(self.master_key or self.function_key)


def _read_json(path: Path, what: str) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise HostConfigError(f"{what} ({path}) is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise HostConfigError(f"{what} ({path}) must hold a JSON object.")
    return data


def apply_local_settings(app_dir: Path) -> None:
    """Export local.settings.json Values to the environment, never overriding real variables."""
    data = _read_json(app_dir / "local.settings.json", "local.settings.json")
    values = data.get("Values") or {}
    if not isinstance(values, dict):
        raise HostConfigError("local.settings.json: 'Values' must be an object of strings.")
    for key, value in values.items():
        if value is not None:
            os.environ.setdefault(str(key), str(value))


def _int_setting(section: dict[str, Any], key: str, default: int) -> int:
    value = section.get(key, default)
    try:
        return max(1, int(value))
    except (TypeError, ValueError) as exc:
        raise HostConfigError(
            f"host.json: {key} must be a positive integer, not {value!r}"
        ) from exc


def load_settings(
    app_dir: Path, data_dir: Path, port: int, listen_host: str = "127.0.0.1"
) -> HostSettings:
    """Resolve host settings from host.json and the environment (after local settings)."""
    apply_local_settings(app_dir)
    host_json = _read_json(app_dir / "host.json", "host.json")
    extensions = host_json.get("extensions") or {}
    http = extensions.get("http") or {}
    durable = extensions.get("durableTask") or {}
    cores = os.cpu_count() or 1
    prefix = http.get("routePrefix", "api")
    return HostSettings(
        app_dir=app_dir,
        data_dir=data_dir,
        listen_host=listen_host,
        port=port,
        route_prefix=str(prefix if prefix is not None else "api").strip("/"),
        hub_name=_hub_name(durable.get("hubName")),
        max_activities=_int_setting(durable, "maxConcurrentActivityFunctions", 10 * cores),
        max_orchestrators=_int_setting(durable, "maxConcurrentOrchestratorFunctions", 2 * cores),
        master_key=os.environ.get("FUNCHOST_MASTER_KEY") or None,
        function_key=os.environ.get("FUNCHOST_FUNCTION_KEY") or None,
        blob_poll_seconds=float(os.environ.get("FUNCHOST_BLOB_POLL_SECONDS") or 2.0),
        durable=_durable_options(host_json, durable),
        api_keys_setting=os.environ.get("FUNCHOST_API_KEYS_SETTING") or None,
        api_keys_exempt_routes=tuple(
            p.strip().strip("/").lower() + "/"
            for p in os.environ.get("FUNCHOST_API_KEYS_EXEMPT_ROUTES", "").split(",")
            if p.strip()
        ),
        body_idle_timeout=float(os.environ.get("FUNCHOST_BODY_TIMEOUT_SECONDS") or 30.0),
        max_inflight_body_bytes=int(
            float(os.environ.get("FUNCHOST_MAX_INFLIGHT_BODY_MB") or 256) * 1024 * 1024
        ),
    )


def _hub_name(value: Any) -> str:
    """`hubName`, resolving `%SETTING%` from app settings as the Functions host does."""
    name = str(value or "TestHubName")
    match = re.fullmatch(r"%([^%]+)%", name)
    if match is None:
        return name
    resolved = os.environ.get(match.group(1))
    if not resolved:
        raise HostConfigError(
            f"host.json: hubName refers to the app setting '{match.group(1)}', which is not set."
        )
    return resolved


def parse_timespan(text: str) -> float | None:
    """`[d.]hh:mm:ss[.fff]` → seconds; "-1" (unbounded) → None."""
    text = text.strip()
    if text == "-1":
        return None
    match = re.fullmatch(r"(?:(\d+)\.)?(\d{1,2}):(\d{1,2}):(\d{1,2}(?:\.\d+)?)", text)
    if match is None:
        raise HostConfigError(f"host.json: functionTimeout must look like hh:mm:ss, not {text!r}")
    days, hours, minutes, seconds = match.groups()
    return int(days or 0) * 86400 + int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def _durable_options(host_json: dict[str, Any], durable: dict[str, Any]) -> DurableOptions:
    timeout = host_json.get("functionTimeout")
    match = str(durable.get("versionMatchStrategy") or "CurrentOrOlder")
    failure = str(durable.get("versionFailureStrategy") or "Reject")
    if match.lower() not in ("none", "strict", "currentorolder"):
        raise HostConfigError(
            f"host.json: versionMatchStrategy must be None, Strict or CurrentOrOlder, not {match!r}"
        )
    if failure.lower() not in ("reject", "fail"):
        raise HostConfigError(
            f"host.json: versionFailureStrategy must be Reject or Fail, not {failure!r}"
        )
    retention = os.environ.get("FUNCHOST_DURABLE_RETENTION_HOURS")
    try:
        retention_hours = float(retention) if retention else None
    except ValueError as exc:
        raise HostConfigError(
            f"FUNCHOST_DURABLE_RETENTION_HOURS must be a number of hours, not {retention!r}"
        ) from exc
    default_version = durable.get("defaultVersion")
    return DurableOptions(
        default_version=str(default_version) if default_version is not None else None,
        version_match=match,
        version_failure=failure,
        function_timeout=parse_timespan(str(timeout)) if timeout is not None else None,
        retention_hours=retention_hours if retention_hours and retention_hours > 0 else None,
    )
