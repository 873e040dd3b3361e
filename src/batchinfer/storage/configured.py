"""Containers named by operator configuration, opened with the service's own credentials.

User container URLs (request bodies, batch manifests) are untrusted: they pass the allow-list
and bring their own SAS. Operator settings are trusted configuration instead, and usually carry
no secret at all, so they get their credentials here:

- a blob-trigger *connection* setting (`BATCHINFER_INBOX_STORAGE`) plus a container name, read
  the way the Functions host reads it: `file:///folder` (or an existing folder; sub-folders are
  containers), `UseDevelopmentStorage=true` (Azurite, its public dev key; endpoint overridable
  with `FUNCHOST_AZURITE_BLOB_ENDPOINT`, as on the embedded host), a storage connection string
  (its key or SAS), or, when the setting itself is unset, identity-based `<setting>__accountName`
  (+ optional `__clientId`) opened with `DefaultAzureCredential`;
- a *container URL* setting (`BATCHINFER_RESULTS_CONTAINER_URL`): `file:///folder`, an Azurite
  URL of `devstoreaccount1` (dev key), or an Azure URL (its SAS if it has one, else
  `DefaultAzureCredential`).

Nothing here consults the allow-list: these locations are not chosen by users, and jobs refer to
them only through `ConfiguredContainer` references built by the service (see `wiring.py`).
The Azure SDK stays in `azure_blob.py`; setting values never appear in errors.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

from batchinfer.storage.errors import StorageConfigurationError, UrlNotAllowedError
from batchinfer.storage.local import LocalFolderStore
from batchinfer.storage.port import BlobStore
from batchinfer.storage.urls import (
    WELL_KNOWN_ENDPOINT_SUFFIXES,
    ContainerUrl,
    parse_connection_string,
    parse_container_url,
)

__all__ = [
    "DEVELOPMENT_ACCOUNT",
    "DEVELOPMENT_BLOB_ENDPOINT",
    "DEVELOPMENT_STORAGE",
    "ConfiguredContainer",
    "container_for_connection",
    "container_for_url",
]

DEVELOPMENT_ACCOUNT = "devstoreaccount1"
DEVELOPMENT_BLOB_ENDPOINT = f"http://127.0.0.1:10000/{DEVELOPMENT_ACCOUNT}"
DEVELOPMENT_STORAGE = "UseDevelopmentStorage=true"

Auth = Literal["folder", "development", "connection-string", "sas", "identity"]


@dataclass(frozen=True, repr=False)
class ConfiguredContainer:
    """One operator-configured container: where it is and how the service authenticates.

    `location` is safe to show (no SAS, no key); the secret part of a connection string is kept
    private and handed only to the Azure adapter.
    """

    location: ContainerUrl
    auth: Auth
    client_id: str | None = None
    _connection_string: str = field(default="", compare=False)

    def open(self) -> BlobStore:
        if self.auth == "folder":
            assert self.location.local_root is not None
            return LocalFolderStore(self.location.local_root)
        from batchinfer.storage.azure_blob import AzureBlobStore, default_azure_credential

        if self.auth == "development":
            return AzureBlobStore(self.location, connection_string=DEVELOPMENT_STORAGE)
        if self.auth == "connection-string":
            return AzureBlobStore(self.location, connection_string=self._connection_string)
        if self.auth == "sas":
            return AzureBlobStore(self.location)
        return AzureBlobStore(self.location, credential=default_azure_credential(self.client_id))

    def __repr__(self) -> str:
        return f"ConfiguredContainer({self.location.url!r}, auth={self.auth!r})"


def _folder(root: Path, container: str) -> ContainerUrl:
    path = (root / container).resolve()
    return ContainerUrl(
        scheme="file",
        account=None,
        endpoint=path.parent.as_uri(),
        container=path.name,
        local_root=path,
    )


def _folder_from_file_uri(setting: str, value: str) -> Path:
    parts = urlsplit(value)
    if parts.netloc not in ("", "localhost") or parts.query:
        raise StorageConfigurationError(
            f"app setting {setting!r} must be a file:///<absolute folder> URI"
        )
    path = Path(url2pathname(unquote(parts.path)))
    if not path.is_absolute():
        raise StorageConfigurationError(f"app setting {setting!r} must name an absolute folder")
    return path


def _account_endpoint(endpoint: str, setting: str) -> tuple[str, str | None, int | None]:
    parts = urlsplit(endpoint.rstrip("/"))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise StorageConfigurationError(f"app setting {setting!r} has an invalid blob endpoint")
    return parts.scheme, parts.hostname.lower(), parts.port


def _azure_container(endpoint: str, account: str, container: str, setting: str) -> ContainerUrl:
    scheme, host, port = _account_endpoint(endpoint, setting)
    return ContainerUrl(
        scheme=scheme,
        account=account.lower(),
        endpoint=endpoint.rstrip("/"),
        container=container,
        host=host,
        port=port,
    )


def container_for_connection(
    setting: str,
    value: str | None,
    container: str,
    *,
    account_name: str | None = None,
    client_id: str | None = None,
    development_endpoint: str | None = None,
    endpoint_suffix: str = "core.windows.net",
) -> ConfiguredContainer:
    """The container `container` of the storage a blob-trigger connection setting names.

    `value` is the setting's value (None or empty when unset); `account_name`/`client_id` are
    `<setting>__accountName`/`__clientId`, used only when the value itself is unset, as the
    Functions host does. Raises `StorageConfigurationError` naming the setting, never its value.
    """
    value = (value or "").strip()
    if not value:
        if account_name:
            endpoint = f"https://{account_name.strip().lower()}.blob.{endpoint_suffix}"
            return ConfiguredContainer(
                _azure_container(endpoint, account_name.strip(), container, setting),
                "identity",
                client_id=client_id or None,
            )
        raise StorageConfigurationError(
            f"app setting {setting!r} is not set (nor {setting}__accountName)"
        )
    if value.lower().startswith("file://"):
        return ConfiguredContainer(
            _folder(_folder_from_file_uri(setting, value), container), "folder"
        )
    pairs = parse_connection_string(value)
    if pairs.get("usedevelopmentstorage", "").lower() == "true":
        endpoint = (development_endpoint or DEVELOPMENT_BLOB_ENDPOINT).rstrip("/")
        return ConfiguredContainer(
            _azure_container(endpoint, DEVELOPMENT_ACCOUNT, container, setting), "development"
        )
    account = pairs.get("accountname")
    if account or "blobendpoint" in pairs:
        endpoint = pairs.get("blobendpoint") or (
            f"{pairs.get('defaultendpointsprotocol', 'https')}://{account}.blob."
            f"{pairs.get('endpointsuffix', endpoint_suffix)}"
        )
        if not account:  # a SAS connection string may name only the endpoint
            _, host, _ = _account_endpoint(endpoint, setting)
            path_account = urlsplit(endpoint).path.strip("/")
            account = path_account or (host or "").split(".", 1)[0]
        return ConfiguredContainer(
            _azure_container(endpoint, account, container, setting),
            "connection-string",
            _connection_string=value,
        )
    if Path(value).is_absolute() and Path(value).is_dir():
        return ConfiguredContainer(_folder(Path(value), container), "folder")
    raise StorageConfigurationError(
        f"app setting {setting!r} is not supported: expected UseDevelopmentStorage=true, a "
        "storage connection string, file:///<folder>, or <setting>__accountName"
    )


def container_for_url(
    setting: str,
    url: str,
    *,
    client_id: str | None = None,
    endpoint_suffixes: Iterable[str] = WELL_KNOWN_ENDPOINT_SUFFIXES,
) -> ConfiguredContainer:
    """An operator-configured container URL, opened with the dev key, its SAS or the identity."""
    try:
        location = parse_container_url(url, endpoint_suffixes=endpoint_suffixes)
    except UrlNotAllowedError as exc:
        raise StorageConfigurationError(f"app setting {setting!r}: {exc.message}") from None
    if location.is_local:
        assert location.local_root is not None
        return ConfiguredContainer(
            _folder(location.local_root.parent, location.container), "folder"
        )
    if location.has_sas:
        return ConfiguredContainer(location, "sas")
    if location.is_emulator and location.account == DEVELOPMENT_ACCOUNT:
        return ConfiguredContainer(location, "development")
    return ConfiguredContainer(location, "identity", client_id=client_id or None)
