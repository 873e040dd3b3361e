"""Dataset infer-batch throughput: the service vs. a raw ONNX Runtime session (prints figures).

Starts the host as a subprocess, trains a prediction model (gradient-boosted trees, 20 input
columns) through the `woodwide` client on a 20,000-row table, registers N-row datasets of the
same 20 columns straight in the data store (ingest is not what is measured), then runs
infer-batch over each with the client and times submit → `succeeded` (results assembled as
Parquet). The raw baseline runs the same model.onnx in one ONNX Runtime session over the same
rows already in memory (features built, then one `run` per row group). Peak host RSS is the
host process's VmHWM (Linux), read before and after each inference.

    .venv/bin/python bench/tabular_batch.py [--rows 1000000,10000000]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from batchinfer.inference.runtime import SessionCache  # noqa: E402
from batchinfer.tabular.catalog import Catalog, new_id, now  # noqa: E402
from batchinfer.tabular.features import FeatureInput, feature_arrays  # noqa: E402
from batchinfer.tabular.ingest import rows_per_chunk, schema_json  # noqa: E402
from batchinfer.tabular.store import tabular_store  # noqa: E402
from tests.support.host import HostProcess  # noqa: E402

COLUMNS = 20
TRAIN_ROWS = 20_000


def _block(rows: int, seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    values = rng.normal(size=(rows, COLUMNS)).astype(np.float32)
    columns = {f"x{i}": values[:, i] for i in range(COLUMNS)}
    columns["label"] = np.where(values[:, 0] + values[:, 1] * values[:, 2] > 0, "yes", "no")
    return pa.table(columns)


def _register(catalog: Catalog, rows: int) -> tuple[str, Path]:
    """A ready dataset version written in row-group blocks (bounded memory at any size)."""
    created = now()
    dataset = {
        "id": new_id("ds"),
        "name": f"bench-{rows}",
        "description": None,
        "created_at": created,
        "updated_at": created,
        "is_archived": False,
    }
    catalog.save_dataset(dataset)
    version = {
        "id": new_id("dsv"),
        "dataset_id": dataset["id"],
        "version": 1,
        "status": "processing",
        "created_at": created,
    }
    path = catalog.store.scratch_file(".parquet")
    group = rows_per_chunk(rows)
    writer = None
    for start in range(0, rows, group):
        block = _block(min(group, rows - start), seed=start).drop(["label"])
        writer = writer or pq.ParquetWriter(path, block.schema)
        writer.write_table(block, row_group_size=group)
    assert writer is not None
    writer.close()
    size = path.stat().st_size
    catalog.store.put_file(catalog.data_blob(version), path)
    version.update(
        status="ready",
        ready_at=now(),
        row_count=rows,
        byte_size=size,
        schema_json=schema_json(_block(1, 0).drop(["label"])),
    )
    catalog.save_dataset_version(version)
    return version["id"], catalog.store.local_path(catalog.data_blob(version))


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _raw_rows_per_second(model_path: Path, meta: dict, data_path: Path) -> float:
    session = SessionCache().get(model_path)
    inputs = [FeatureInput.from_json(i) for i in meta["inputs"]]
    parquet = pq.ParquetFile(data_path)
    feeds = [
        feature_arrays(parquet.read_row_group(g), inputs)
        for g in range(parquet.metadata.num_row_groups)
    ]  # rows in memory, as features
    rows = sum(len(next(iter(f.values()))) for f in feeds)
    started = time.perf_counter()
    for feed in feeds:
        session.run(feed)
    return rows / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", default="1000000,10000000")
    args = parser.parse_args()
    sizes = [int(s) for s in args.rows.split(",") if s]
    from woodwide import WoodWide
    from woodwide.lib import ingest_dataset, train_model, wait_for_job

    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        host = HostProcess(REPO, root / "host", env={"BATCHINFER_DATA_ROOT": str(root)})
        host.start()
        pid = host.proc.pid if host.proc else 0
        try:
            client = WoodWide(base_url=f"{host.base_url}/api/woodwide", api_key="bench")
            train_csv = _block(TRAIN_ROWS, 1).to_pandas().to_csv(index=False).encode()
            data = ingest_dataset(
                client, file=("train.csv", train_csv), dataset_name="train", poll_interval=0.5
            )
            model = train_model(
                client,
                model_type="prediction",
                dataset_id=data.submission.id,
                label_column="label",
                poll_interval=0.5,
                timeout=1800,
            )
            print(
                f"model {model.submission.id}: "
                f"{client.models.retrieve(model.submission.id).current_version.metrics}"
            )
            catalog = Catalog(tabular_store(root.resolve()))
            version = catalog.model_version(model.submission.id, model.submission.version_id)
            assert version is not None
            import json

            meta = json.loads(catalog.store.get_bytes(catalog.model_file(version, "meta.json")))
            model_path = catalog.store.local_path(catalog.model_file(version, "model.onnx"))
            for rows in sizes:
                version_id, data_path = _register(catalog, rows)
                before = _peak_rss_mb(pid)
                started = time.perf_counter()
                job = client.models.infer_batch(
                    model.submission.id, dataset_version_id=version_id, output_type="parquet"
                )
                wait_for_job(client, job.job_id, poll_interval=0.5, timeout=3600)
                service = rows / (time.perf_counter() - started)
                after = _peak_rss_mb(pid)
                raw = _raw_rows_per_second(model_path, meta, data_path)
                print(
                    f"{rows:>11,} rows x {COLUMNS} cols: service {service:>10,.0f} rows/s, "
                    f"raw ORT {raw:>10,.0f} rows/s, ratio {service / raw:.2f}; "
                    f"host peak RSS {before:,.0f} MB before, {after:,.0f} MB after"
                )
                catalog.delete_job(job.job_id)
                catalog.delete_dataset(catalog.dataset_version(version_id)["dataset_id"])
        finally:
            host.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
