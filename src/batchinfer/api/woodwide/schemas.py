"""Request bodies of the dataset inference API, validated at the edge (extra fields ignored,
as the reference API tolerates fields it does not use)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


class UploadFile(_Body):
    filename: str = Field(min_length=1, max_length=500)
    bytes: int = Field(gt=0)
    content_type: str = Field(default="application/octet-stream", max_length=200)


class UploadRequest(_Body):
    file: UploadFile
    dataset_id: str | None = None
    dataset_name: str | None = Field(default=None, max_length=500)
    description: str | None = Field(default=None, max_length=5000)
    override: bool = False


class DatasetPatch(_Body):
    name: str | None = Field(default=None, min_length=1, max_length=500)
    description: str | None = Field(default=None, max_length=5000)


class RowsLookup(_Body):
    ids: list[int] = Field(max_length=10_000)


class TrainRequest(_Body):
    model_type: str
    dataset_id: str | None = None
    dataset_version_id: str | None = None
    label_column: str | None = None
    input_columns: list[str] | None = None
    model_id: str | None = None
    params: dict[str, Any] | None = None
    training_mode: Literal["fast", "best"] = "fast"
    force_retrain: bool = False
    filters: list[Any] | None = None
    parent_job_id: str | None = None


class InferBatchRequest(_Body):
    dataset_id: str | None = None
    dataset_version_id: str | None = None
    model_version_id: str | None = None
    output_type: Literal["json", "csv", "parquet"] = "parquet"
    anomaly_format: Literal["ids_only", "per_row"] = "ids_only"
    force_rerun: bool = False
    filters: list[Any] | None = None
    k: int | None = None
    parent_job_id: str | None = None
    exclude_self_matches: bool = False
