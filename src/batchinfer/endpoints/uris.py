"""Azure ML data URIs → (container URL, path inside it), before any storage is touched.

Batch endpoint inputs, outputs and model files arrive as one of:

- `azureml://datastores/<ds>/paths/<p>` and the long form
  `azureml://subscriptions/<s>/resourcegroups/<rg>/workspaces/<ws>/datastores/<ds>/paths/<p>`;
- data-asset references: the ARM id `/subscriptions/.../data/<name>/versions/<v>`, the asset id
  `azureml://locations/<loc>/workspaces/<ws>/data/<name>/versions/<v>` and `azureml:<name>:<v>`;
- blob URLs `https://<account>.blob.core.windows.net/<container>/<p>[?SAS]`, Azurite's
  path-style `http://127.0.0.1:<port>/<account>/<container>/<p>[?SAS]`, and `file:///<abs path>`.

Parsing is syntactic: datastores and data assets are looked up by the caller-supplied
functions, and the container URL that comes out must still pass the allow-list (the caller's
`open_container` does that). A `DataUri` keeps the SAS inside `container_url` only; `display`
is what responses and logs show.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from batchinfer.storage import InvalidPathError, redact_url, validate_blob_name
from batchinfer.storage.urls import EMULATOR_HOSTS


class DataUriError(ValueError):
    """A URI this service cannot resolve; `message` is safe to show (no SAS)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class DataUri:
    """A resolved location: the container (URL, possibly with SAS) and a path inside it."""

    container_url: str
    path: str  # "" is the container's root
    display: str  # the user's URI without secrets

    def child(self, name: str) -> str:
        """The blob name of `name` inside this folder."""
        folder = self.path.strip("/")
        return f"{folder}/{name}" if folder else name


_DATASTORE_SHORT = re.compile(r"^azureml://datastores/([^/]+)/paths/?(.*)$", re.IGNORECASE)
_DATASTORE_LONG = re.compile(
    r"^azureml://subscriptions/[^/]+/resourcegroups/[^/]+/(?:providers/"
    r"microsoft\.machinelearningservices/)?workspaces/[^/]+/datastores/([^/]+)/paths/?(.*)$",
    re.IGNORECASE,
)
_ASSET_ARM = re.compile(
    r"^/?subscriptions/[^/]+/resourcegroups/[^/]+/providers/"
    r"microsoft\.machinelearningservices/workspaces/[^/]+/data/([^/]+)/versions/([^/]+)/?$",
    re.IGNORECASE,
)
_ASSET_LOCATION = re.compile(
    r"^azureml://locations/[^/]+/workspaces/[^/]+/data/([^/]+)/versions/([^/]+)/?$", re.IGNORECASE
)
_ASSET_SHORT = re.compile(r"^azureml:([^:/]+):([^:/]+)$", re.IGNORECASE)

DatastoreLookup = Callable[[str], str]
"""Datastore name → its container URL (raises `DataUriError` when unknown)."""
AssetLookup = Callable[[str, str], str]
"""(data asset name, version) → the asset's own URI (raises `DataUriError` when unknown)."""


def _clean_path(raw: str, uri: str) -> str:
    path = unquote(raw).strip("/")
    if not path:
        return ""
    try:
        return validate_blob_name(path)
    except InvalidPathError as exc:
        raise DataUriError(f"{redact_url(uri)!r}: {exc.message}") from None


def data_asset_of(uri: str) -> tuple[str, str] | None:
    """(name, version) when `uri` names a data asset in any of its three forms, else None."""
    text = uri.strip()
    for pattern in (_ASSET_ARM, _ASSET_LOCATION, _ASSET_SHORT):
        match = pattern.match(text)
        if match:
            return match.group(1), match.group(2)
    return None


def _blob_url(uri: str) -> DataUri:
    parts = urlsplit(uri)
    segments = [s for s in parts.path.split("/") if s]
    host = (parts.hostname or "").lower()
    query = f"?{parts.query}" if parts.query else ""
    keep = 2 if host in EMULATOR_HOSTS else 1  # Azurite: /<account>/<container>
    if len(segments) < keep:
        raise DataUriError(f"{redact_url(uri)!r} does not name a storage container.")
    root = "/".join(segments[:keep])
    netloc = parts.netloc.rsplit("@", 1)[-1]
    container = f"{parts.scheme}://{netloc}/{root}{query}"
    return DataUri(container, _clean_path("/".join(segments[keep:]), uri), redact_url(uri))


def _file_url(uri: str, is_folder: bool) -> DataUri:
    parts = urlsplit(uri)
    path = unquote(parts.path).rstrip("/")
    if not path.startswith("/") or path.count("/") < 2:
        raise DataUriError(f"{uri!r} must name an absolute path below a folder.")
    if is_folder:
        return DataUri(f"file://{path}", "", uri)
    folder, _, name = path.rpartition("/")
    return DataUri(f"file://{folder}", _clean_path(name, uri), uri)


def resolve_data_uri(
    uri: str, *, datastore: DatastoreLookup, asset: AssetLookup, is_folder: bool, _depth: int = 0
) -> DataUri:
    """Resolve any accepted form of `uri`; raises `DataUriError` with a user-safe message."""
    text = (uri or "").strip()
    if not text:
        raise DataUriError("The URI is empty.")
    named = data_asset_of(text)
    if named is not None:
        if _depth:
            raise DataUriError("A data asset cannot point at another data asset.")
        return resolve_data_uri(
            asset(*named), datastore=datastore, asset=asset, is_folder=is_folder, _depth=1
        )
    for pattern in (_DATASTORE_SHORT, _DATASTORE_LONG):
        match = pattern.match(text)
        if match:
            name = match.group(1)
            return DataUri(datastore(name), _clean_path(match.group(2), text), redact_url(text))
    scheme = text.split(":", 1)[0].lower()
    if scheme in ("http", "https"):
        return _blob_url(text)
    if scheme == "file":
        return _file_url(text, is_folder)
    raise DataUriError(
        f"{redact_url(text)!r} is not a supported URI: use azureml://datastores/<name>/paths/"
        "<path>, a data asset id, an allowed https:// blob URL or a file:// path."
    )
