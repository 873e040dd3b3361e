"""Ingest rules: what becomes a dataset version, what fails with which message, row groups."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from batchinfer.tabular.ingest import (
    MAX_ROWS_PER_CHUNK,
    MIN_ROWS_PER_CHUNK,
    IngestError,
    read_upload,
    rows_per_chunk,
    write_version,
)


def _file(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_csv_types_and_schema(tmp_path: Path) -> None:
    path = _file(tmp_path, "a.csv", b"x,y,city,flag\n1,2.5,Paris,true\n2,,Oslo,false\n")
    table = read_upload(path)
    stored = write_version(table, tmp_path / "v.parquet")
    kinds = {c["name"]: c["type"] for c in stored.schema["columns"]}
    assert kinds == {"x": "integer", "y": "number", "city": "string", "flag": "boolean"}
    assert stored.row_count == 2 and stored.row_groups == 1
    assert {c["name"]: c["nullable"] for c in stored.schema["columns"]}["y"] is True


def test_parquet_is_detected_by_content(tmp_path: Path) -> None:
    path = tmp_path / "data.bin"
    pq.write_table(pa.table({"a": [1, 2, 3], "b": ["u", "v", "w"]}), path)
    assert read_upload(path).num_rows == 3


@pytest.mark.parametrize(
    "data,message",
    [
        (b"", "empty"),
        (b"\n\n", "empty"),
        (b"a,b\n", "no data rows"),
        (b"a,a\n1,2\n", "Duplicate column name 'a'"),
        (b"a,,c\n1,2,3\n", "empty name"),
        (b"n\n1\n2\n3\nabc\n", "mixes numbers and text"),
        (b"a,b\n1,2\n3\n", "cannot be parsed"),
        (b"PAR1garbage", "Parquet file cannot be read"),
    ],
)
def test_bad_files_fail_with_a_clear_message(tmp_path: Path, data: bytes, message: str) -> None:
    with pytest.raises(IngestError, match=message):
        read_upload(_file(tmp_path, "bad.csv", data))


def test_text_column_with_a_few_numbers_is_a_category(tmp_path: Path) -> None:
    table = read_upload(_file(tmp_path, "c.csv", b"code\nA1\nB2\n7\nC3\n"))
    assert pa.types.is_string(table.schema.field("code").type)


def test_row_groups_sized_for_fan_out() -> None:
    assert rows_per_chunk(10) == MIN_ROWS_PER_CHUNK
    assert rows_per_chunk(500_000) == 31_250
    assert rows_per_chunk(1_000_000) == MAX_ROWS_PER_CHUNK
    assert rows_per_chunk(100_000_000) == MAX_ROWS_PER_CHUNK


def test_many_rows_make_many_row_groups(tmp_path: Path) -> None:
    table = pa.table({"a": list(range(1000))})
    stored = write_version(table, tmp_path / "v.parquet")
    assert stored.row_groups == -(-1000 // rows_per_chunk(1000))
    assert pq.read_table(tmp_path / "v.parquet").column("a").to_pylist() == list(range(1000))
