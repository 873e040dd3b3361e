"""`AzureBlobStore`: the `BlobStore` port over one Azure Blob Storage (or Azurite) container.

The only module that imports the Azure SDK. Requests go only to the endpoint of the
`ContainerUrl` it is given (which the allow-list has already checked); a connection string or
key supplies credentials, never a different endpoint. SDK exceptions are mapped onto the
`errors` tree with messages built here from the blob name, HTTP status and service error code,
never from the SDK's own text, so no SAS or key can leak through an error; the SDK exception is
not chained either, as tracebacks end up in logs.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, NoReturn
from urllib.parse import parse_qs

from azure.core.credentials import AzureNamedKeyCredential
from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.storage.blob import ContainerClient, ContentSettings

from batchinfer.storage.errors import (
    BlobExistsError,
    BlobNotFoundError,
    BlobTooLargeError,
    StorageAccessError,
)
from batchinfer.storage.paths import validate_blob_name, validate_prefix
from batchinfer.storage.port import BlobInfo
from batchinfer.storage.urls import ContainerUrl, parse_connection_string

# Azurite's well-known development account key (public and documented, not a secret); used
# only for connection strings that say `UseDevelopmentStorage=true`.
_DEV_ACCOUNT = "devstoreaccount1"
_DEV_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)


def _credential_from_connection_string(connection_string: str, container: ContainerUrl) -> Any:
    """Take only the credential from a connection string; the endpoint stays the checked one."""
    settings = parse_connection_string(connection_string)
    if settings.get("usedevelopmentstorage", "").lower() == "true":
        settings.setdefault("accountname", _DEV_ACCOUNT)
        settings.setdefault("accountkey", _DEV_KEY)
    if "sharedaccesssignature" in settings:
        return settings["sharedaccesssignature"].lstrip("?")
    account, key = settings.get("accountname"), settings.get("accountkey")
    if not account or not key:
        raise StorageAccessError("connection string has neither an account key nor a SAS")
    if account.lower() != (container.account or "").lower():
        raise StorageAccessError(
            f"connection string is for account {account!r}, not {container.account!r}"
        )
    return AzureNamedKeyCredential(account, key)


class AzureBlobStore:
    """The `BlobStore` port over an Azure container, authenticated in this order of preference:

    an explicit `credential` (anything the SDK accepts, e.g. a managed-identity token
    credential), an `account_key`, a `connection_string` (its key or SAS only), else the SAS in
    the container URL (or anonymous access if there is none). `client_kwargs` go to
    `ContainerClient` (e.g. `retry_total`, `connection_timeout`).
    """

    def __init__(
        self,
        container_url: ContainerUrl,
        *,
        credential: Any = None,
        account_key: str | None = None,
        connection_string: str | None = None,
        **client_kwargs: Any,
    ) -> None:
        if container_url.is_local or not container_url.account:
            raise ValueError("AzureBlobStore needs an Azure or Azurite container URL")
        self.container_url: ContainerUrl = container_url
        if credential is None and account_key:
            credential = AzureNamedKeyCredential(container_url.account, account_key)
        if credential is None and connection_string:
            credential = _credential_from_connection_string(connection_string, container_url)
        self._sas_expiry: str | None = None  # set when the URL's SAS authenticates requests
        if credential is None and container_url.has_sas:
            credential = container_url.sas_token
            self._sas_expiry = sas_expiry(container_url.sas_token)
        self._client: ContainerClient = ContainerClient(
            account_url=container_url.endpoint,
            container_name=container_url.container,
            credential=credential,
            **client_kwargs,
        )

    def __repr__(self) -> str:
        return f"AzureBlobStore({self.container_url.url!r})"

    def close(self) -> None:
        """Release the HTTP connection pool."""
        self._client.close()

    def __enter__(self) -> AzureBlobStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- error mapping -------------------------------------------------------------------

    def _raise(self, error: AzureError, action: str, name: str | None) -> NoReturn:
        where = (
            f"{name!r} in container {self.container_url.url!r}"
            if name
            else (f"container {self.container_url.url!r}")
        )
        status = getattr(error, "status_code", None)
        raw_code = getattr(error, "error_code", None)
        code = str(getattr(raw_code, "value", raw_code) or "") or None  # often a str enum
        detail = ", ".join(
            part for part in (f"HTTP {status}" if status else "", code or "") if part
        )
        suffix = f" ({detail})" if detail else ""
        if isinstance(error, ResourceNotFoundError):
            if code == "ContainerNotFound":
                raise BlobNotFoundError(
                    f"container {self.container_url.url!r} does not exist", code="ContainerNotFound"
                ) from None
            raise BlobNotFoundError(f"blob {where} does not exist") from None
        if self._sas_expiry is not None and _sas_rejected(error, status, code, self._sas_expiry):
            raise StorageAccessError(
                _sas_refused(self._sas_expiry, action, where, suffix), code="InvalidSasToken"
            ) from None
        if isinstance(error, ClientAuthenticationError) or status in (401, 403):
            raise StorageAccessError(
                f"access denied to {action} {where}: check the SAS or credential{suffix}"
            ) from None
        if isinstance(error, (ServiceRequestError, ServiceResponseError)):
            raise StorageAccessError(  # no transport detail: it would describe the target
                f"could not reach storage to {action} {where}"
            ) from None
        raise StorageAccessError(f"failed to {action} {where}{suffix}") from None

    # -- the port ------------------------------------------------------------------------

    def list_blobs(self, *, prefix: str = "") -> Iterator[BlobInfo]:
        validate_prefix(prefix)
        pages = self._client.list_blobs(name_starts_with=prefix or None)
        return self._iterate(pages, prefix)

    def _iterate(self, pages: Any, prefix: str) -> Iterator[BlobInfo]:
        try:
            for item in pages:
                yield BlobInfo(
                    name=item.name,
                    size=int(item.size or 0),
                    etag=item.etag,
                    last_modified=item.last_modified,
                )
        except AzureError as error:
            self._raise(error, "list", prefix or None)

    def read_blob(self, *, name: str, max_bytes: int | None = None) -> bytes:
        validate_blob_name(name)
        try:
            if max_bytes is None:
                return self._client.download_blob(name).readall()
            # A ranged read fetches at most one byte past the limit, however big the blob is.
            downloader = self._client.download_blob(name, offset=0, length=max_bytes + 1)
            size = downloader.properties.size
            if size is not None and size > max_bytes:
                raise BlobTooLargeError(
                    f"blob {name!r} is {size} bytes, over the {max_bytes}-byte limit"
                )
            data = downloader.readall()
        except HttpResponseError as error:
            if error.status_code == 416 and max_bytes is not None:
                return b""  # a range request on an empty blob: it exists and holds nothing
            self._raise(error, "read", name)
        except AzureError as error:
            self._raise(error, "read", name)
        if len(data) > max_bytes:
            raise BlobTooLargeError(f"blob {name!r} is over the {max_bytes}-byte limit")
        return data

    def write_blob(
        self, *, name: str, data: bytes, overwrite: bool, content_type: str | None = None
    ) -> None:
        """Upload with `overwrite=False` mapped to the SDK's `If-None-Match: *` create-only put."""
        validate_blob_name(name)
        settings = ContentSettings(content_type=content_type) if content_type else None
        try:
            self._client.upload_blob(
                name=name, data=data, overwrite=overwrite, content_settings=settings
            )
        except (ResourceExistsError, ResourceModifiedError) as error:
            if not overwrite:
                raise BlobExistsError(f"blob {name!r} already exists") from None
            self._raise(error, "write", name)
        except AzureError as error:
            self._raise(error, "write", name)

    def exists(self, *, name: str) -> bool:
        validate_blob_name(name)
        try:
            return bool(self._client.get_blob_client(name).exists())
        except AzureError as error:
            self._raise(error, "check", name)

    def delete_blob(self, *, name: str, missing_ok: bool = False) -> None:
        validate_blob_name(name)
        try:
            self._client.delete_blob(name, delete_snapshots="include")
        except ResourceNotFoundError as error:
            if not missing_ok:
                self._raise(error, "delete", name)
        except AzureError as error:
            self._raise(error, "delete", name)


def sas_expiry(sas_token: str) -> str:
    """The SAS's signed expiry (`se`, ISO-8601), or "" when it has none (a stored policy)."""
    values = parse_qs(sas_token.lstrip("?")).get("se") or [""]
    return values[0]


# Storage's answers to a SAS it does not accept at all (a wrong signature, an expired or not
# yet valid token): Azure says AuthenticationFailed, Azurite AuthorizationFailure. A valid
# SAS without the permission needed (AuthorizationPermissionMismatch) is not among them.
_SAS_REJECTED_CODES = frozenset({"AuthenticationFailed", "AuthorizationFailure"})


def _sas_expired(expiry: str) -> bool:
    try:
        ends = datetime.fromisoformat(expiry) if expiry else None
    except ValueError:
        return False
    if ends is not None and ends.tzinfo is None:
        ends = ends.replace(tzinfo=UTC)  # SAS times are UTC
    return ends is not None and ends <= datetime.now(UTC)


def _sas_rejected(error: AzureError, status: int | None, code: str | None, expiry: str) -> bool:
    """Whether storage refused the request because of the SAS itself (expired or invalid)."""
    if status not in (401, 403) and not isinstance(error, ClientAuthenticationError):
        return False
    return status == 401 or code in _SAS_REJECTED_CODES or _sas_expired(expiry)


def _sas_refused(expiry: str, action: str, where: str, suffix: str) -> str:
    """Why storage refused a SAS-authenticated request: expired, or otherwise not valid."""
    if _sas_expired(expiry):
        return (
            f"access denied to {action} {where}: the SAS token expired at {expiry}; "
            f"issue a new one{suffix}"
        )
    return (
        f"access denied to {action} {where}: the SAS token is not valid (check its "
        f"signature and validity period){suffix}"
    )


def default_azure_credential(client_id: str | None = None) -> Any:
    """The app's own identity for operator-configured storage: `DefaultAzureCredential`.

    `client_id` picks a user-assigned managed identity (else `AZURE_CLIENT_ID` decides, as the
    SDK reads it). Imported here so `azure.identity` loads only where Azure storage is used.
    """
    from azure.identity import DefaultAzureCredential

    if client_id:
        return DefaultAzureCredential(managed_identity_client_id=client_id)
    return DefaultAzureCredential()
