"""Request and response bodies of analyzeBatch, as pydantic models at the edge."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr, model_validator

from batchinfer.jobs.details import DETAILS_PAGE_SIZE
from batchinfer.jobs.model import ItemDetail, JobReport

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


def batch_result_body(report: JobReport, details_link: str | None) -> dict[str, Any]:
    """`AnalyzeBatchResult`: the counts and the first 10,000 documents' details, from the job
    report — every document of a batch the service itself accepts. A larger job's body adds
    `detailsNextLink` (our extension): the page of details that follows, `details_link` with
    `skip` set."""
    shown = report.details[:DETAILS_PAGE_SIZE]
    body: dict[str, Any] = {
        "succeededCount": report.counts.succeeded,
        "failedCount": report.counts.failed,
        "skippedCount": report.counts.skipped,
        "details": [detail.to_json() for detail in shown],
    }
    if details_link is not None and report.total_details > len(shown):
        body["detailsNextLink"] = f"{details_link}&skip={len(shown)}"
    return body


def details_page_body(
    details: list[ItemDetail], skip: int, total: int, details_link: str
) -> dict[str, Any]:
    """A page of a job's details, `{value, nextLink?}` as the service's paged lists are."""
    body: dict[str, Any] = {"value": [detail.to_json() for detail in details]}
    following = skip + len(details)
    if details and following < total:
        body["nextLink"] = f"{details_link}&skip={following}&top={len(details)}"
    return body


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
