"""A sample dataset and a trained model for `make run`, so infer-batch can be called at once.

Made directly in the tabular store with the same steps the durable jobs run (ingest, train),
once: a second `prepare` finds the dataset by name and leaves everything as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from batchinfer.tabular import steps
from batchinfer.tabular.catalog import Catalog
from batchinfer.tabular.store import tabular_store

SAMPLE_DATASET = "sample-customers"
SAMPLE_ROWS = 5_000


@dataclass(frozen=True)
class SampleTabular:
    dataset_id: str
    model_id: str
    row_count: int


def sample_frame(rows: int = SAMPLE_ROWS, seed: int = 7) -> pd.DataFrame:
    """Customers with a churn label that depends on tenure, spend and plan (learnable)."""
    rng = np.random.default_rng(seed)
    tenure = rng.integers(1, 72, size=rows)
    spend = np.round(rng.gamma(2.0, 40.0, size=rows), 2)
    plan = rng.choice(["basic", "plus", "pro"], size=rows, p=[0.5, 0.3, 0.2])
    tickets = rng.poisson(1.2, size=rows)
    risk = 1.5 - tenure / 24 + tickets * 0.6 - (plan == "pro") * 0.8 + rng.normal(0, 0.7, rows)
    return pd.DataFrame(
        {
            "tenure_months": tenure,
            "monthly_spend": spend,
            "plan": plan,
            "support_tickets": tickets,
            "churned": np.where(risk > 0.5, "yes", "no"),
        }
    )


def prepare_sample(data_root: Path) -> SampleTabular:
    catalog = Catalog(tabular_store(data_root.resolve()))
    for dataset in catalog.datasets():
        if dataset["name"] == SAMPLE_DATASET:
            models = [m for m in catalog.models() if m.get("training_dataset_id") == dataset["id"]]
            version = catalog.latest_ready_version(dataset["id"])
            if models and version:
                return SampleTabular(dataset["id"], models[0]["id"], version["row_count"])
            catalog.delete_dataset(dataset["id"])  # a half-made sample: start again
    dataset = catalog.new_dataset(SAMPLE_DATASET, "Synthetic customers with a churn label")
    version, job = catalog.new_dataset_version(dataset, "sample-customers.csv", "sample", "queued")
    catalog.store.put_bytes(
        catalog.upload_blob(version), sample_frame().to_csv(index=False).encode()
    )
    if steps.ingest(catalog, job["id"]) != "succeeded":
        raise RuntimeError(f"sample ingest failed: {catalog.job(job['id'])}")
    ready = catalog.dataset_version(version["id"])
    if ready is None:
        raise RuntimeError(f"sample dataset version {version['id']} vanished after ingest")
    model = catalog.new_model("prediction", "churned", dataset)
    request = {
        "model_type": "prediction",
        "label_column": "churned",
        "input_columns": None,
        "params": None,
        "training_mode": "fast",
    }
    _, train_job = catalog.new_model_version(model, dataset, ready, request)
    if steps.train_version(catalog, train_job["id"]) != "succeeded":
        raise RuntimeError(f"sample training failed: {catalog.job(train_job['id'])}")
    return SampleTabular(dataset["id"], model["id"], ready["row_count"])
