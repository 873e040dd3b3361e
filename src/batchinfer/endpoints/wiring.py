"""Builds the workspace catalog from the app's settings (called once by `Services.catalog`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from batchinfer.endpoints.catalog import Catalog
from batchinfer.endpoints.workspace import WorkspaceStore
from batchinfer.storage.local import LocalFolderStore

if TYPE_CHECKING:
    from batchinfer.wiring import Services


def workspace_folder(services: Services):  # type: ignore[no-untyped-def]
    return services.settings.data_root / "workspace"


def build_catalog(services: Services) -> Catalog:
    """The workspace lives in `<data root>/workspace`; `workspaceblobstore` is
    `<data root>/storage` (the default `file://` root) until a PUT points it elsewhere."""
    settings = services.settings
    folder = workspace_folder(services)
    folder.mkdir(parents=True, exist_ok=True)
    storage = settings.data_root / "storage"
    storage.mkdir(parents=True, exist_ok=True)
    return Catalog(
        WorkspaceStore(LocalFolderStore(folder)),
        storage.resolve().as_uri(),
        settings.data_root / "cache" / "azureml-models",
        services.open_container,
    )
