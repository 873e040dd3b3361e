"""Turn an uploaded CSV or Parquet file into a validated, typed Parquet dataset version.

Why Parquet with fixed-size row groups: inference fans out one activity per row group, so the
row-group size decides the parallelism; it is chosen from the row count (`rows_per_chunk`) so a
small table still gets several chunks and a huge one gets chunks of bounded memory.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

TARGET_CHUNKS = 16
MIN_ROWS_PER_CHUNK = 64
MAX_ROWS_PER_CHUNK = 50_000
PARQUET_MAGIC = b"PAR1"


class IngestError(ValueError):
    """The file cannot become a dataset version; the message says why, for the user."""


@dataclass(frozen=True)
class IngestedVersion:
    """What ingest learned about a version: its rows, columns and stored size."""

    row_count: int
    schema: dict[str, Any]
    byte_size: int
    row_groups: int


def rows_per_chunk(row_count: int) -> int:
    """Rows per Parquet row group: about TARGET_CHUNKS groups, within the min/max bounds."""
    wanted = -(-max(1, row_count) // TARGET_CHUNKS)
    return max(MIN_ROWS_PER_CHUNK, min(MAX_ROWS_PER_CHUNK, wanted))


def is_parquet(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(4) == PARQUET_MAGIC


def _csv_header(path: Path) -> list[str]:
    with path.open("r", encoding="utf-8-sig", errors="replace", newline="") as handle:
        for row in csv.reader(handle):
            if any(cell.strip() for cell in row):
                return [cell.strip() for cell in row]
    raise IngestError("The file is empty: no header row and no data.")


def _read_csv(path: Path) -> pa.Table:
    header = _csv_header(path)
    _check_names(header)
    try:
        return pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(use_threads=True, block_size=8 << 20),
            parse_options=pacsv.ParseOptions(newlines_in_values=False),
            convert_options=pacsv.ConvertOptions(strings_can_be_null=True),
        )
    except pa.ArrowInvalid as exc:
        raise IngestError(f"The CSV file cannot be parsed: {_short(exc)}") from None
    except UnicodeDecodeError:
        raise IngestError("The CSV file is not UTF-8 text.") from None


def _read_parquet(path: Path) -> pa.Table:
    try:
        return pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise IngestError(f"The Parquet file cannot be read: {_short(exc)}") from None


def _short(exc: Exception) -> str:
    return str(exc).splitlines()[0][:300]


def _check_names(names: list[str]) -> None:
    seen: set[str] = set()
    for index, name in enumerate(names):
        if not name:
            raise IngestError(f"Column {index + 1} has an empty name.")
        if name in seen:
            raise IngestError(f"Duplicate column name {name!r}: column names must be unique.")
        seen.add(name)


def _check_mixed_types(table: pa.Table) -> None:
    """A text column whose values are mostly numbers is a data error, not a category."""
    import pyarrow.compute as pc

    for name in table.column_names:
        column = table.column(name)
        if not pa.types.is_string(column.type) and not pa.types.is_large_string(column.type):
            continue
        values = pc.utf8_trim_whitespace(column.drop_null())
        total = len(values)
        if total == 0:
            continue
        numeric = pc.match_substring_regex(values, r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
        count = pc.sum(numeric).as_py() or 0
        if 0 < count < total and count * 2 >= total:
            offender = pc.filter(values, pc.invert(numeric))[0].as_py()
            raise IngestError(
                f"Column {name!r} mixes numbers and text (e.g. {offender!r}); "
                "clean the column or make it all text."
            )


def column_kind(dtype: pa.DataType) -> str:
    """The schema_json type of an Arrow type: integer, number, boolean, datetime or string."""
    if pa.types.is_boolean(dtype):
        return "boolean"
    if pa.types.is_integer(dtype):
        return "integer"
    if pa.types.is_floating(dtype) or pa.types.is_decimal(dtype):
        return "number"
    if pa.types.is_temporal(dtype):
        return "datetime"
    if pa.types.is_null(dtype):
        return "number"
    return "string"


def schema_json(table: pa.Table) -> dict[str, Any]:
    columns = [
        {
            "name": field.name,
            "type": column_kind(field.type),
            "arrow_type": str(field.type),
            "nullable": table.column(field.name).null_count > 0,
        }
        for field in table.schema
    ]
    return {"columns": columns, "column_count": len(columns)}


def _normalise(table: pa.Table) -> pa.Table:
    """Nested or binary columns have no place in a model's inputs: refuse them early."""
    for field in table.schema:
        if pa.types.is_nested(field.type) or pa.types.is_binary(field.type):
            raise IngestError(
                f"Column {field.name!r} has type {field.type}, which is not "
                "supported (use numbers, text, booleans or timestamps)."
            )
        if pa.types.is_dictionary(field.type):
            table = table.set_column(
                table.schema.get_field_index(field.name),
                field.name,
                table.column(field.name).cast(pa.string()),
            )
    return table


def read_upload(path: Path) -> pa.Table:
    """Read and validate an uploaded file (Parquet by its magic bytes, else CSV)."""
    if path.stat().st_size == 0:
        raise IngestError("The file is empty.")
    table = _read_parquet(path) if is_parquet(path) else _read_csv(path)
    _check_names(list(table.column_names))
    if table.num_columns == 0:
        raise IngestError("The file has no columns.")
    if table.num_rows == 0:
        raise IngestError("The file has a header but no data rows.")
    table = _normalise(table)
    _check_mixed_types(table)
    return table


def write_version(table: pa.Table, target: Path) -> IngestedVersion:
    """Write the table as Parquet with row groups sized for fan-out; returns what was stored."""
    size = rows_per_chunk(table.num_rows)
    pq.write_table(table, target, row_group_size=size, compression="zstd")
    groups = pq.ParquetFile(target).metadata.num_row_groups
    return IngestedVersion(
        row_count=table.num_rows,
        schema=schema_json(table),
        byte_size=target.stat().st_size,
        row_groups=groups,
    )


def table_from_bytes(data: bytes) -> pa.Table:
    """Parse a small in-memory upload (synchronous inference) with the same rules."""
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".upload") as handle:
        handle.write(data)
        handle.flush()
        return read_upload(Path(handle.name))


def preview_rows(table: pa.Table) -> list[dict[str, Any]]:
    return [{k: _jsonable(v) for k, v in row.items()} for row in table.to_pylist()]


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value
