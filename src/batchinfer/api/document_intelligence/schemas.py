"""Request and response bodies of analyzeBatch, as pydantic models at the edge."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr, model_validator

from batchinfer.jobs.model import JobReport

API_VERSION = "2024-11-30"


class AzureBlobContentSource(BaseModel):
    model_config = ConfigDict(extra="forbid")

    containerUrl: StrictStr = Field(min_length=1)
    prefix: StrictStr | None = None


class AzureBlobFileListContentSource(BaseModel):
    model_config = ConfigDict(extra="forbid")

    containerUrl: StrictStr = Field(min_length=1)
    fileList: StrictStr = Field(min_length=1)


class AnalyzeBatchDocumentsRequest(BaseModel):
    """`AnalyzeBatchDocumentsRequest`. Analysis options (`pages`, `locale`, `features`, ...)
    may come as body fields too; they land in `model_extra` and are checked by the routes."""

    model_config = ConfigDict(extra="allow")

    azureBlobSource: AzureBlobContentSource | None = None
    azureBlobFileListSource: AzureBlobFileListContentSource | None = None
    resultContainerUrl: StrictStr = Field(min_length=1)
    resultPrefix: StrictStr | None = None
    overwriteExisting: StrictBool = False

    @model_validator(mode="after")
    def one_source(self) -> AnalyzeBatchDocumentsRequest:
        if (self.azureBlobSource is None) == (self.azureBlobFileListSource is None):
            raise ValueError(
                "exactly one of azureBlobSource and azureBlobFileListSource is required"
            )
        return self


def batch_result_body(report: JobReport) -> dict[str, Any]:
    """`AnalyzeBatchResult`: the counts and every document's detail, from the job report."""
    return {
        "succeededCount": report.counts.succeeded,
        "failedCount": report.counts.failed,
        "skippedCount": report.counts.skipped,
        "details": [detail.to_json() for detail in report.details],
    }


def batch_operation_body(
    *,
    result_id: str,
    status: str,
    percent: int,
    created: str,
    updated: str,
    result: dict[str, Any] | None,
    error: dict[str, Any] | None,
) -> dict[str, Any]:
    """`AnalyzeBatchOperation`: what the poller and get/list calls read."""
    body: dict[str, Any] = {
        "resultId": result_id,
        "status": status,
        "percentCompleted": percent,
        "createdDateTime": created,
        "lastUpdatedDateTime": updated,
    }
    if result is not None:
        body["result"] = result
    if error is not None:
        body["error"] = error
    return body
