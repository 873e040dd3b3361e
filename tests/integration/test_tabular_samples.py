"""`batchinfer prepare` ships a ready sample dataset and a trained model, made once."""

from __future__ import annotations

from pathlib import Path

from batchinfer.tabular.catalog import Catalog
from batchinfer.tabular.samples import SAMPLE_ROWS, prepare_sample
from batchinfer.tabular.store import tabular_store


def test_sample_dataset_and_model_are_ready_and_made_once(tmp_path: Path) -> None:
    first = prepare_sample(tmp_path)
    second = prepare_sample(tmp_path)
    assert second == first and first.row_count == SAMPLE_ROWS
    catalog = Catalog(tabular_store(tmp_path.resolve()))
    assert len(catalog.datasets()) == 1 and len(catalog.models()) == 1
    view = catalog.model_view(catalog.model(first.model_id) or {})
    assert view["status"] == "ready" and view["current_version"]["metrics"]["accuracy"] > 0.75
    jobs = catalog.jobs()
    assert sorted(j["type"] for j in jobs) == ["dataset_ingest", "train"]
    assert all(j["status"] == "succeeded" for j in jobs)
