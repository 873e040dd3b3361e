"""Request bodies of the multivariate v1.1 API as pydantic models (camelCase, as on the wire)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr, field_validator

ALIGN_MODES = ("Inner", "Outer")
FILL_METHODS = ("Previous", "Subsequent", "Linear", "Zero", "Fixed")
SCHEMAS = ("OneTable", "MultiTable")
MAX_LAST_TIMESTAMPS = 2880
MAX_LAST_VARIABLES = 300


def _canonical(value: Any, allowed: tuple[str, ...]) -> Any:
    """Enum values are matched case-insensitively, as the service does."""
    if isinstance(value, str):
        for option in allowed:
            if option.lower() == value.lower():
                return option
    return value


class AlignPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    alignMode: Literal["Inner", "Outer"] = "Outer"
    fillNAMethod: Literal["Previous", "Subsequent", "Linear", "Zero", "Fixed"] = "Linear"
    paddingValue: float = 0.0

    @field_validator("alignMode", mode="before")
    @classmethod
    def _mode(cls, value: Any) -> Any:
        return _canonical(value, ALIGN_MODES)

    @field_validator("fillNAMethod", mode="before")
    @classmethod
    def _fill(cls, value: Any) -> Any:
        return _canonical(value, FILL_METHODS)


class ModelInfoRequest(BaseModel):
    """POST /multivariate/models."""

    model_config = ConfigDict(extra="ignore")

    dataSource: StrictStr = Field(min_length=1)
    dataSchema: Literal["OneTable", "MultiTable"] = "OneTable"
    startTime: StrictStr
    endTime: StrictStr
    displayName: StrictStr | None = Field(default=None, max_length=24)
    slidingWindow: int = Field(default=300, ge=28, le=2880)
    alignPolicy: AlignPolicy = Field(default_factory=AlignPolicy)

    @field_validator("dataSchema", mode="before")
    @classmethod
    def _schema(cls, value: Any) -> Any:
        return _canonical(value, SCHEMAS)


class DetectBatchRequest(BaseModel):
    """POST /multivariate/models/{modelId}:detect-batch."""

    model_config = ConfigDict(extra="ignore")

    dataSource: StrictStr = Field(min_length=1)
    startTime: StrictStr
    endTime: StrictStr
    topContributorCount: int = Field(default=10, ge=1, le=30)


class VariableValues(BaseModel):
    model_config = ConfigDict(extra="forbid")

    variable: StrictStr = Field(min_length=1)
    timestamps: list[StrictStr] = Field(min_length=1, max_length=MAX_LAST_TIMESTAMPS)
    values: list[float] = Field(min_length=1, max_length=MAX_LAST_TIMESTAMPS)


class DetectLastRequest(BaseModel):
    """POST /multivariate/models/{modelId}:detect-last."""

    model_config = ConfigDict(extra="ignore")

    variables: list[VariableValues] = Field(min_length=1, max_length=MAX_LAST_VARIABLES)
    topContributorCount: int = Field(default=10, ge=1, le=30)
