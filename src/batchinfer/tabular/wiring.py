"""The process-wide catalog, built from the app settings (as `batchinfer.wiring.get_services`)."""

from __future__ import annotations

from batchinfer.tabular.catalog import Catalog
from batchinfer.tabular.store import tabular_store
from batchinfer.wiring import get_services


def get_catalog() -> Catalog:
    settings = get_services().settings
    return Catalog(tabular_store(settings.data_root, settings.model_store_url))
