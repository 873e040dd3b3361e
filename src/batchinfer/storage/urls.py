"""Container URLs: parsing user-supplied URLs into parts, and redacting them for output.

A user's container URL carries its SAS token in the query string; the token is a secret, so a
`ContainerUrl` keeps it in a private field that `str`/`repr` never show, and `redact_url` is
what every log line, status body and error message uses. Parsing is syntactic and refuses what
it cannot classify; whether a parsed URL may be used is `policy.StorageAllowList`'s decision.

Accepted forms:

- `https://<account>.blob.<suffix>/<container>[?<SAS>]` (suffix e.g. `core.windows.net`)
- `http(s)://127.0.0.1|localhost[:port]/<account>/<container>[?<SAS>]` (Azurite, path-style)
- `file:///<absolute folder>` (the folder is the container; no query allowed)
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from batchinfer.storage.errors import InvalidPathError, UrlNotAllowedError
from batchinfer.storage.paths import validate_blob_name

WELL_KNOWN_ENDPOINT_SUFFIXES: tuple[str, ...] = (
    "core.windows.net",
    "core.chinacloudapi.cn",
    "core.usgovcloudapi.net",
)
"""Blob endpoint suffixes of the public and sovereign Azure clouds (`<account>.blob.<suffix>`)."""

EMULATOR_HOSTS: frozenset[str] = frozenset({"127.0.0.1", "localhost"})
"""Hosts whose URLs are path-style (`/<account>/<container>`), as Azurite serves them."""

_ACCOUNT = re.compile(r"^[a-z0-9]{3,24}$")
_CONTAINER = re.compile(r"^(?=.{3,63}$)[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9]))*$")
_SPECIAL_CONTAINERS = frozenset({"$root", "$web"})
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True, repr=False)
class ContainerUrl:
    """One container (or local folder) a job reads from or writes to, SAS kept private.

    `endpoint + "/" + container` is always the container's redacted URL: for Azure the endpoint
    is the account URL (`https://acct.blob.core.windows.net`, or
    `http://127.0.0.1:10000/devstoreaccount1` for Azurite); for a local folder it is the parent
    folder's `file://` URI, `container` is the folder's name and `local_root` its path.
    """

    scheme: str
    account: str | None
    endpoint: str
    container: str
    host: str | None = None
    port: int | None = None
    local_root: Path | None = None
    _sas: str = field(default="", compare=False)

    @property
    def is_local(self) -> bool:
        """True for `file://` folders, which the local-folder adapter serves."""
        return self.scheme == "file"

    @property
    def is_emulator(self) -> bool:
        """True for path-style URLs on an emulator host (Azurite)."""
        return self.host in EMULATOR_HOSTS

    @property
    def has_sas(self) -> bool:
        return bool(self._sas)

    @property
    def sas_token(self) -> str:
        """The SAS query string without `?`; only the Azure adapter should read this."""
        return self._sas

    @property
    def url(self) -> str:
        """The container URL without its SAS: safe for logs, status bodies and errors."""
        return f"{self.endpoint}/{quote(self.container, safe='$')}"

    def url_with_sas(self) -> str:
        """The full URL including the SAS, for handing to an SDK; never log it."""
        return f"{self.url}?{self._sas}" if self._sas else self.url

    def __str__(self) -> str:
        return self.url

    def __repr__(self) -> str:
        sas = ", sas=<redacted>" if self._sas else ""
        return f"ContainerUrl({self.url!r}{sas})"


def redact_url(url: str) -> str:
    """Strip the query string, fragment and user-info from a URL for logs and messages.

    Works on malformed input too (it never raises), since it is used while reporting errors.
    """
    text = str(url)
    for separator in ("?", "#"):
        text = text.split(separator, 1)[0]
    scheme, found, rest = text.partition("://")
    if found:
        authority, slash, path = rest.partition("/")
        authority = authority.rsplit("@", 1)[-1]
        text = f"{scheme}://{authority}{slash}{path}"
    return text


def blob_url(container: ContainerUrl, name: str, with_sas: bool = False) -> str:
    """The URL of one blob in `container`; the SAS is appended only when asked for."""
    validate_blob_name(name)
    if container.is_local:
        assert container.local_root is not None
        return (container.local_root / name).as_uri()
    url = f"{container.url}/{quote(name, safe='/')}"
    return f"{url}?{container.sas_token}" if with_sas and container.has_sas else url


def report_url(container: ContainerUrl, name: str) -> str:
    """A blob's URL for a report, without SAS, for any listed name: names the service refuses
    to process (backslashes, control characters) are percent-encoded instead of refused, so
    the report can still say which item failed. Never used to fetch anything."""
    try:
        return blob_url(container, name)
    except InvalidPathError:
        encoded = quote(name, safe="/")
        if container.is_local:
            assert container.local_root is not None
            return f"{container.local_root.as_uri()}/{encoded}"
        return f"{container.url}/{encoded}"


def _refuse(reason: str, url: str) -> UrlNotAllowedError:
    return UrlNotAllowedError(f"container URL {redact_url(url)!r} is not allowed: {reason}")


def _container_name(raw: str, url: str) -> str:
    name = unquote(raw)
    if name in _SPECIAL_CONTAINERS or _CONTAINER.match(name):
        return name
    raise _refuse(f"{name!r} is not a valid container name", url)


def _path_segments(path: str, url: str) -> list[str]:
    segments = path.split("/")[1:] if path.startswith("/") else path.split("/")
    if segments and segments[-1] == "":
        segments.pop()  # one trailing slash is harmless
    if not segments:
        raise _refuse("it does not name a container", url)
    return segments


def _parse_file(url: str, netloc: str, path: str) -> ContainerUrl:
    if netloc not in ("", "localhost"):
        raise _refuse("file URLs must not name a host", url)
    local = unquote(path)
    if _CONTROL.search(local):
        raise _refuse("the path contains a control character", url)
    root = Path(local)
    if not root.is_absolute() or root == Path(root.anchor):
        raise _refuse("a file URL must name an absolute folder below /", url)
    return ContainerUrl(
        scheme="file",
        account=None,
        endpoint=root.parent.as_uri(),
        container=root.name,
        local_root=root,
    )


def parse_container_url(
    url: str, *, endpoint_suffixes: Iterable[str] = WELL_KNOWN_ENDPOINT_SUFFIXES
) -> ContainerUrl:
    """Parse a user's container URL into parts, raising `UrlNotAllowedError` if it is malformed.

    Refused here already: schemes other than http/https/file, user-info, fragments, unknown
    hosts, paths that name no container or go beyond it (`/container/blob` — a folder inside a
    container belongs in the request's prefix), and queries on file URLs. The result is not
    yet allowed: pass URLs through `StorageAllowList.check` instead of calling this directly.
    """
    if not isinstance(url, str) or not url:
        raise UrlNotAllowedError("container URL must be a non-empty string")
    if _CONTROL.search(url):
        raise _refuse("it contains control characters", url)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise _refuse("it is not a valid URL", url) from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https", "file"):
        raise _refuse(f"scheme {scheme or '(none)'!r} is not supported", url)
    if "@" in parts.netloc:
        raise _refuse("URLs with user-info are not allowed", url)
    if parts.fragment or "#" in url:
        raise _refuse("URLs with a fragment are not allowed", url)
    if scheme == "file":
        if parts.query or "?" in url:
            raise _refuse("file URLs take no query string", url)
        return _parse_file(url, parts.netloc, parts.path)

    host = (parts.hostname or "").lower()
    if not host:
        raise _refuse("it names no host", url)
    segments = _path_segments(parts.path, url)
    sas = parts.query
    netloc = host if port is None else f"{host}:{port}"

    if host in EMULATOR_HOSTS:
        if len(segments) != 2:
            raise _refuse("emulator URLs must be /<account>/<container>", url)
        account = unquote(segments[0])
        if not _ACCOUNT.match(account):
            raise _refuse(f"{account!r} is not a valid account name", url)
        return ContainerUrl(
            scheme=scheme,
            account=account,
            endpoint=f"{scheme}://{netloc}/{account}",
            container=_container_name(segments[1], url),
            host=host,
            port=port,
            _sas=sas,
        )

    account, _, rest = host.partition(".")
    suffixes = {suffix.lower().strip(".") for suffix in endpoint_suffixes}
    if not rest.startswith("blob.") or rest[len("blob.") :] not in suffixes:
        raise _refuse(f"host {host!r} is not an Azure Blob Storage endpoint", url)
    if not _ACCOUNT.match(account):
        raise _refuse(f"{account!r} is not a valid account name", url)
    if len(segments) != 1:
        raise _refuse(
            "it must name only a container; put a folder inside it in the prefix instead", url
        )
    return ContainerUrl(
        scheme=scheme,
        account=account,
        endpoint=f"{scheme}://{netloc}",
        container=_container_name(segments[0], url),
        host=host,
        port=port,
        _sas=sas,
    )


def parse_connection_string(value: str) -> dict[str, str]:
    """`Key=Value;...` pairs of a storage connection string, keys lower-cased (never logged)."""
    pairs: dict[str, str] = {}
    for piece in value.split(";"):
        key, found, val = piece.partition("=")
        if found and key.strip():
            pairs[key.strip().lower()] = val.strip()
    return pairs
