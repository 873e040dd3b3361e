"""The storage allow-list: which containers a user's request may make this service touch.

Container URLs arrive in request bodies, so without a check any caller could point the service
at arbitrary hosts (server-side request forgery) or at any folder on the machine. `check` is
the single gate: it parses the URL and refuses it before any request or file access is made.

Settings (environment or app settings):

- `BATCHINFER_ALLOWED_ACCOUNTS`: comma-separated Azure storage account names (default none).
- `BATCHINFER_ALLOW_AZURITE`: allow the Azurite dev account on the configured emulator
  endpoints (default true, except false when hosted in Azure, detected by `WEBSITE_INSTANCE_ID`).
- `BATCHINFER_AZURITE_ENDPOINTS`: comma-separated emulator endpoints (`http://127.0.0.1:10000`
  or `127.0.0.1:10000`) such URLs may use; default `FUNCHOST_AZURITE_BLOB_ENDPOINT` when set,
  else port 10000 on 127.0.0.1 and localhost. Any other loopback port is refused, so a request
  cannot make the service probe local services.
- `BATCHINFER_LOCAL_ROOTS`: `os.pathsep`-separated folders under which `file://` containers may
  live (default the local data root, `.data/storage` under the current directory).
- `BATCHINFER_ENDPOINT_SUFFIXES`: comma-separated blob endpoint suffixes accepted for allowed
  accounts (default `core.windows.net`; add e.g. `core.chinacloudapi.cn` for sovereign clouds).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from urllib.parse import urlsplit

from batchinfer.storage.errors import UrlNotAllowedError
from batchinfer.storage.urls import ContainerUrl, parse_container_url, redact_url

DEFAULT_ENDPOINT_SUFFIXES: tuple[str, ...] = ("core.windows.net",)
DEFAULT_EMULATOR_ENDPOINTS: tuple[str, ...] = ("127.0.0.1:10000", "localhost:10000")
AZURITE_ACCOUNTS: frozenset[str] = frozenset({"devstoreaccount1"})

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


def local_data_root() -> Path:
    """The embedded host's local data root for folders used as containers."""
    return Path.cwd() / ".data" / "storage"


def _parse_bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"setting {name} must be true or false, not {raw!r}")


def _split(raw: str, separator: str) -> list[str]:
    return [item.strip() for item in raw.split(separator) if item.strip()]


def _host_port(endpoint: str) -> tuple[str, int]:
    """`http://127.0.0.1:10000/devstoreaccount1` or `127.0.0.1:10000` -> ("127.0.0.1", 10000)."""
    text = endpoint.strip()
    parts = urlsplit(text if "://" in text else f"http://{text}")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"emulator endpoint {endpoint!r} has an invalid port") from None
    default = 443 if parts.scheme == "https" else 80
    return (parts.hostname or "").lower(), port or default


class StorageAllowList:
    """Decides whether a container URL may be used; immutable once built."""

    def __init__(
        self,
        *,
        accounts: Iterable[str] = (),
        allow_azurite: bool = True,
        local_roots: Iterable[Path | str] | None = None,
        default_local_root: Path | None = None,
        endpoint_suffixes: Iterable[str] = DEFAULT_ENDPOINT_SUFFIXES,
        emulator_accounts: Iterable[str] = AZURITE_ACCOUNTS,
        emulator_endpoints: Iterable[str] = DEFAULT_EMULATOR_ENDPOINTS,
    ) -> None:
        """Build the allow-list.

        `local_roots=None` means "the default local data root": `default_local_root`, or
        `.data/storage` under the current directory when that is not given either. Pass
        `local_roots=()` to refuse every `file://` URL. Roots are resolved (symlinks followed)
        now, so later checks compare real paths.
        """
        self.accounts: frozenset[str] = frozenset(a.strip().lower() for a in accounts if a.strip())
        self.allow_azurite: bool = allow_azurite
        if local_roots is None:
            local_roots = [default_local_root or local_data_root()]
        self.local_roots: tuple[Path, ...] = tuple(Path(root).resolve() for root in local_roots)
        self.endpoint_suffixes: tuple[str, ...] = tuple(
            s.strip().strip(".").lower() for s in endpoint_suffixes if s.strip()
        )
        self.emulator_accounts: frozenset[str] = frozenset(emulator_accounts)
        self.emulator_endpoints: frozenset[tuple[str, int]] = frozenset(
            _host_port(e) for e in emulator_endpoints if e.strip()
        )

    @classmethod
    def from_settings(
        cls,
        env: Mapping[str, str] | None = None,
        *,
        default_local_root: Path | None = None,
    ) -> StorageAllowList:
        """Build the allow-list from app settings (`os.environ` when `env` is None)."""
        env = os.environ if env is None else env
        hosted_in_azure = bool(env.get("WEBSITE_INSTANCE_ID"))
        raw_azurite = env.get("BATCHINFER_ALLOW_AZURITE", "").strip()
        raw_roots = env.get("BATCHINFER_LOCAL_ROOTS", "").strip()
        raw_suffixes = env.get("BATCHINFER_ENDPOINT_SUFFIXES", "").strip()
        raw_emulators = (
            env.get("BATCHINFER_AZURITE_ENDPOINTS", "").strip()
            or env.get("FUNCHOST_AZURITE_BLOB_ENDPOINT", "").strip()
        )
        return cls(
            accounts=_split(env.get("BATCHINFER_ALLOWED_ACCOUNTS", ""), ","),
            allow_azurite=(
                _parse_bool("BATCHINFER_ALLOW_AZURITE", raw_azurite)
                if raw_azurite
                else not hosted_in_azure
            ),
            local_roots=_split(raw_roots, os.pathsep) if raw_roots else None,
            default_local_root=default_local_root,
            endpoint_suffixes=(
                _split(raw_suffixes, ",") if raw_suffixes else DEFAULT_ENDPOINT_SUFFIXES
            ),
            emulator_endpoints=(
                _split(raw_emulators, ",") if raw_emulators else DEFAULT_EMULATOR_ENDPOINTS
            ),
        )

    def check(self, url: str) -> ContainerUrl:
        """Parse `url` and return it if allowed, else raise `UrlNotAllowedError`.

        Nothing is fetched: this runs before any storage request. For `file://` URLs the
        returned `local_root` is the resolved folder, which the local adapter must use.
        """
        container = parse_container_url(url, endpoint_suffixes=self.endpoint_suffixes)
        if container.is_local:
            return self._check_local(url, container)
        if container.is_emulator:
            if not self.allow_azurite:
                raise self._refuse(url, "the storage emulator is not enabled")
            if container.account not in self.emulator_accounts:
                raise self._refuse(url, f"emulator account {container.account!r} is not allowed")
            default_port = 443 if container.scheme == "https" else 80
            where = (container.host or "", container.port or default_port)
            if where not in self.emulator_endpoints:
                raise self._refuse(url, "it is not the configured storage emulator endpoint")
            return container
        if container.scheme != "https":
            raise self._refuse(url, "Azure Storage URLs must use https")
        if container.account not in self.accounts:
            raise self._refuse(url, f"storage account {container.account!r} is not allowed")
        return container

    def _check_local(self, url: str, container: ContainerUrl) -> ContainerUrl:
        assert container.local_root is not None
        try:
            resolved = container.local_root.resolve()
        except (OSError, RuntimeError):
            raise self._refuse(url, "the folder cannot be resolved") from None
        if not any(resolved.is_relative_to(root) for root in self.local_roots):
            raise self._refuse(url, "the folder is outside the allowed local data roots")
        return ContainerUrl(
            scheme="file",
            account=None,
            endpoint=resolved.parent.as_uri(),
            container=resolved.name,
            local_root=resolved,
        )

    @staticmethod
    def _refuse(url: str, reason: str) -> UrlNotAllowedError:
        return UrlNotAllowedError(f"container URL {redact_url(url)!r} is not allowed: {reason}")

    def __repr__(self) -> str:
        return (
            f"StorageAllowList(accounts={sorted(self.accounts)!r}, "
            f"allow_azurite={self.allow_azurite!r}, local_roots={list(self.local_roots)!r})"
        )
