"""Join per-chunk outputs, in input order, into the result file a user downloads.

Every chunk's output is a small Parquet file; assembly streams them one at a time (memory is
bounded by one chunk, whatever the row count) into `rows.parquet` (the per-row table that
result paging reads) and into the requested format:
- json: `{"model_id", "model_version_id", "model_type", "data": {column: [values...]}}`
- csv: the columns (list values as JSON text)
- parquet: the columns, with the model ids in the file's key-value metadata
Anomaly `ids_only` replaces the per-row columns with one column, `anomalous_ids`.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

OUTPUT_TYPES = ("json", "csv", "parquet")
ANOMALY_FORMATS = ("ids_only", "per_row")
CONTENT_TYPES = {
    "json": "application/json",
    "csv": "text/csv",
    "parquet": "application/vnd.apache.parquet",
}


def _chunks(paths: list[Path]) -> Iterator[pa.Table]:
    for path in paths:
        yield pq.read_table(path)


def _ids_only(table: pa.Table) -> pa.Table:
    flagged = table.filter(table.column("is_anomaly"))
    return pa.table({"anomalous_ids": flagged.column("id")})


def _shaped(table: pa.Table, ids_only: bool) -> pa.Table:
    return _ids_only(table) if ids_only else table


def _csv_ready(table: pa.Table) -> pa.Table:
    for index, field in enumerate(table.schema):
        if pa.types.is_list(field.type) or pa.types.is_fixed_size_list(field.type):
            text = pa.array(
                [None if v is None else json.dumps(v) for v in table.column(index).to_pylist()],
                pa.string(),
            )
            table = table.set_column(index, field.name, text)
    return table


def assemble(
    chunk_paths: list[Path],
    rows_target: Path,
    result_target: Path,
    *,
    output_type: str,
    anomaly_format: str,
    header: dict[str, str],
) -> dict[str, Any]:
    """Write rows.parquet and the result file from the ordered chunk outputs; returns the
    summary (`total_row_count` and per-type figures)."""
    ids_only = header["model_type"] == "anomaly" and anomaly_format == "ids_only"
    summary = _Summary(header["model_type"])
    writer: pq.ParquetWriter | None = None
    try:
        for table in _chunks(chunk_paths):
            if writer is None:
                writer = pq.ParquetWriter(rows_target, table.schema, compression="zstd")
            writer.write_table(table)
            summary.add(table)
    finally:
        if writer is not None:
            writer.close()
    if writer is None:
        raise ValueError("no chunk outputs to assemble")
    metadata = {f"woodwide.{k}": v for k, v in header.items()}
    if output_type == "parquet":
        _write_parquet(chunk_paths, result_target, ids_only, metadata)
    elif output_type == "csv":
        _write_csv(chunk_paths, result_target, ids_only)
    else:
        _write_json(chunk_paths, result_target, ids_only, header)
    return summary.to_json()


def _write_parquet(
    paths: list[Path], target: Path, ids_only: bool, metadata: dict[str, str]
) -> None:
    writer: pq.ParquetWriter | None = None
    try:
        for table in _chunks(paths):
            shaped = _shaped(table, ids_only)
            if writer is None:
                schema = shaped.schema.with_metadata(metadata)
                writer = pq.ParquetWriter(target, schema, compression="zstd")
            writer.write_table(shaped.replace_schema_metadata(metadata))
    finally:
        if writer is not None:
            writer.close()


def _write_csv(paths: list[Path], target: Path, ids_only: bool) -> None:
    writer: pacsv.CSVWriter | None = None
    try:
        for table in _chunks(paths):
            shaped = _csv_ready(_shaped(table, ids_only))
            if writer is None:
                writer = pacsv.CSVWriter(target, shaped.schema)
            writer.write_table(shaped)
    finally:
        if writer is not None:
            writer.close()


def _write_json(paths: list[Path], target: Path, ids_only: bool, header: dict[str, str]) -> None:
    first = _shaped(pq.read_table(paths[0]), ids_only)
    with target.open("w", encoding="utf-8") as out:
        head = json.dumps(header, separators=(",", ":"))[:-1]
        out.write(head + ',"data":{')
        for number, name in enumerate(first.column_names):
            out.write(("" if number == 0 else ",") + json.dumps(name) + ":[")
            written = False
            for path in paths:
                table = _shaped(pq.read_table(path), ids_only)
                values = table.column(name).to_pylist()
                if values:
                    out.write(
                        ("," if written else "") + json.dumps(values, separators=(",", ":"))[1:-1]
                    )
                    written = True
            out.write("]")
        out.write("}}")


class _Summary:
    """Per-type figures gathered while assembling, one chunk at a time."""

    def __init__(self, model_type: str) -> None:
        self.model_type = model_type
        self.rows = 0
        self.counts: Counter[str] = Counter()
        self.total = 0.0
        self.low: float | None = None
        self.high: float | None = None
        self.flagged = 0
        self.width = 0

    def add(self, table: pa.Table) -> None:
        self.rows += table.num_rows
        if self.model_type == "anomaly":
            self.flagged += int(pc.sum(table.column("is_anomaly")).as_py() or 0)
        elif self.model_type == "clustering":
            self.counts.update(str(v) for v in table.column("cluster_label").to_pylist())
        elif self.model_type == "embedding":
            self.width = table.num_columns - 1
        elif (
            pa.types.is_floating(table.schema.field("prediction").type)
            and "prediction_prob" not in table.column_names
            and "prediction_probs" not in table.column_names
        ):
            column = table.column("prediction")
            self.total += float(pc.sum(column).as_py() or 0)
            low, high = pc.min(column).as_py(), pc.max(column).as_py()
            self.low = low if self.low is None else min(self.low, low)
            self.high = high if self.high is None else max(self.high, high)
        else:
            self.counts.update(str(v) for v in table.column("prediction").to_pylist())

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"total_row_count": self.rows}
        if self.model_type == "anomaly":
            body.update(
                anomaly_count=self.flagged,
                anomaly_rate=self.flagged / self.rows if self.rows else 0.0,
            )
        elif self.model_type == "clustering":
            body["cluster_counts"] = dict(sorted(self.counts.items()))
        elif self.model_type == "embedding":
            body["embedding_dim"] = self.width
        elif self.counts:
            body["prediction_counts"] = dict(sorted(self.counts.items()))
        elif self.rows:
            body.update(
                prediction_mean=self.total / self.rows,
                prediction_min=self.low,
                prediction_max=self.high,
            )
        return body


def page_rows(
    rows_path: Path,
    *,
    columns: list[str] | None,
    limit: int,
    offset: int,
    sort_by: str | None,
    sort_dir: str,
    filter_column: str | None,
    filter_value: str | None,
    search: str | None,
) -> dict[str, Any]:
    """One page of the per-row results: `{rows, limit, offset, total, total_filtered}`.
    Raises KeyError naming an unknown column."""
    table = pq.read_table(rows_path)
    total = table.num_rows
    for name in [*(columns or []), *(c for c in (sort_by, filter_column) if c)]:
        if name not in table.column_names:
            raise KeyError(name)
    if filter_column and filter_value is not None:
        as_text = (
            pc.cast(table.column(filter_column), pa.string())
            if not pa.types.is_list(table.schema.field(filter_column).type)
            else None
        )
        if as_text is not None:
            table = table.filter(pc.equal(pc.utf8_lower(as_text), filter_value.lower()))
    if search:
        mask = None
        for name in table.column_names:
            field = table.schema.field(name)
            if pa.types.is_list(field.type):
                continue
            hit = pc.match_substring(
                pc.utf8_lower(pc.cast(table.column(name), pa.string())), search.lower()
            )
            hit = pc.fill_null(hit, False)
            mask = hit if mask is None else pc.or_(mask, hit)
        if mask is not None:
            table = table.filter(mask)
    if sort_by:
        order = "descending" if sort_dir.lower() == "desc" else "ascending"
        table = table.take(pc.sort_indices(table, sort_keys=[(sort_by, order)]))
    filtered = table.num_rows
    page = table.slice(offset, limit)
    if columns:
        page = page.select(columns)
    return {
        "rows": page.to_pylist(),
        "limit": limit,
        "offset": offset,
        "total": total,
        "total_filtered": filtered,
    }
