"""The local Azure ML workspace: datastores, models, data assets, batch endpoints, deployments.

Why a store of its own: batch endpoints are long-lived configuration that jobs read while they
run (the deployment's model, mini-batch size, thresholds), unlike a job's working state. Each
resource is one JSON document `{name, properties, tags, created, updated}` on a `BlobStore`
(a local folder on the embedded host, a blob container in Azure), keyed by kind and name:

    datastores/<name>.json              models/<name>/<version>.json
    data/<name>/<version>.json          batchEndpoints/<ep>.json
    deployments/<ep>/<deployment>.json

`properties` hold the ARM properties in camelCase as validated at the edge. Datastore secrets
(a SAS token) are kept apart in `secrets/datastores/<name>.json` and never returned. One
workspace serves every subscription/resource group/workspace name: names in ARM ids are echoed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from batchinfer.storage import BlobNotFoundError, BlobStore

DATASTORES = "datastores"
MODELS = "models"
DATA = "data"
ENDPOINTS = "batchEndpoints"
DEPLOYMENTS = "deployments"
DEFAULT_DATASTORE = "workspaceblobstore"

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$")


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class Resource:
    """One stored resource; `key` is its path below the kind (name, or name/version)."""

    kind: str
    key: str
    properties: dict[str, Any]
    tags: dict[str, str] = field(default_factory=dict)
    created: str = ""
    updated: str = ""
    location: str = "local"

    @property
    def name(self) -> str:
        return self.key.rsplit("/", 1)[-1]

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "key": self.key,
            "properties": self.properties,
            "tags": self.tags,
            "created": self.created,
            "updated": self.updated,
            "location": self.location,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Resource:
        return cls(
            kind=data["kind"],
            key=data["key"],
            properties=dict(data["properties"]),
            tags=dict(data.get("tags") or {}),
            created=data.get("created", ""),
            updated=data.get("updated", ""),
            location=data.get("location", "local"),
        )


class WorkspaceStore:
    """CRUD over resource documents; names are validated by the API before they get here."""

    def __init__(self, store: BlobStore) -> None:
        self._store = store

    @staticmethod
    def _blob(kind: str, key: str) -> str:
        return f"{kind}/{key}.json"

    def get(self, kind: str, key: str) -> Resource | None:
        try:
            raw = self._store.read_blob(name=self._blob(kind, key))
        except BlobNotFoundError:
            return None
        return Resource.from_json(json.loads(raw))

    def put(
        self,
        kind: str,
        key: str,
        properties: dict[str, Any],
        tags: dict[str, str] | None = None,
        location: str | None = None,
    ) -> tuple[Resource, bool]:
        """Create or replace; returns the stored resource and whether it was created."""
        existing = self.get(kind, key)
        stamp = now_iso()
        resource = Resource(
            kind=kind,
            key=key,
            properties=properties,
            tags=dict(tags or {}),
            created=existing.created if existing else stamp,
            updated=stamp,
            location=location or (existing.location if existing else "local"),
        )
        self._store.write_blob(
            name=self._blob(kind, key), data=json.dumps(resource.to_json()).encode(), overwrite=True
        )
        return resource, existing is None

    def delete(self, kind: str, key: str) -> bool:
        """Delete one resource (and its secrets); False when there was none."""
        if self.get(kind, key) is None:
            return False
        self._store.delete_blob(name=self._blob(kind, key), missing_ok=True)
        self._store.delete_blob(name=f"secrets/{kind}/{key}.json", missing_ok=True)
        return True

    def list(self, kind: str, under: str = "") -> list[Resource]:
        """Resources of a kind (below `under`, e.g. one model's versions), sorted by key."""
        prefix = f"{kind}/{under.strip('/')}/" if under else f"{kind}/"
        found: list[Resource] = []
        for blob in self._store.list_blobs(prefix=prefix):
            if blob.name.endswith(".json") and (under or "/" not in blob.name[len(prefix) :]):
                resource = self.get(kind, blob.name[len(kind) + 1 : -len(".json")])
                if resource is not None:
                    found.append(resource)
        return found

    # ------------------------------------------------------------------------------ secrets
    def put_secret(self, kind: str, key: str, value: dict[str, Any] | None) -> None:
        name = f"secrets/{kind}/{key}.json"
        if value is None:
            self._store.delete_blob(name=name, missing_ok=True)
        else:
            self._store.write_blob(name=name, data=json.dumps(value).encode(), overwrite=True)

    def get_secret(self, kind: str, key: str) -> dict[str, Any] | None:
        try:
            secret: dict[str, Any] = json.loads(
                self._store.read_blob(name=f"secrets/{kind}/{key}.json")
            )
        except BlobNotFoundError:
            return None
        return secret
