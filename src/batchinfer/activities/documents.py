"""Analyzing one document: read it, run the model, write `<name>.ocr.json` next to the results.

A failing document fails alone: every error becomes an `ItemOutcome` with a code, never an
exception, so the batch goes on and the report tells what happened to each file.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

from batchinfer.inference.registry import AnalyzePipeline, AnalyzeResultLike
from batchinfer.jobs.model import ItemError, ItemOutcome, ItemStatus
from batchinfer.models.ocr.errors import DocumentError
from batchinfer.models.ocr.options import AnalyzeOptions
from batchinfer.models.ocr.pipeline import DocumentInput
from batchinfer.models.ocr.result import AnalyzeResult
from batchinfer.storage import (
    BlobExistsError,
    BlobStore,
    BlobTooLargeError,
    StorageError,
    relative_to_prefix,
    validate_blob_name,
)
from batchinfer.storage.paths import validate_prefix

log = logging.getLogger("batchinfer.documents")

RESULT_SUFFIX = ".ocr.json"
MAX_DOCUMENT_BYTES = 500 * 1024 * 1024  # the service's per-document limit


def result_name_for(source_name: str, source_prefix: str, result_prefix: str) -> str:
    """`resultPrefix + <path relative to the source prefix> + .ocr.json`.

    The prefix is a plain string prefix, as blob prefixes are: `res-` + `a/b.png` gives
    `res-a/b.png.ocr.json` and `results/` + `a/b.png` gives `results/a/b.png.ocr.json`.
    """
    validate_prefix(result_prefix)
    relative = relative_to_prefix(source_name, source_prefix)
    return validate_blob_name(result_prefix + relative + RESULT_SUFFIX)


def output_exists(result_name: str) -> ItemError:
    return ItemError(
        "OutputExists", f"Analysis skipped because result file {result_name} already exists."
    )


def analyze_document(
    *,
    source: BlobStore,
    results: BlobStore,
    pipeline: AnalyzePipeline,
    name: str,
    result_name: str,
    overwrite: bool,
    options: AnalyzeOptions | None = None,
) -> ItemOutcome:
    """Analyze one blob and write its result; any failure is returned, not raised."""
    try:
        data = source.read_blob(name=name, max_bytes=MAX_DOCUMENT_BYTES)
        analysis = pipeline.analyze(data, filename=name, options=options)
        return write_analysis(results, name, result_name, analysis, overwrite)
    except Exception as exc:
        return failure_outcome(name, result_name, exc)


@runtime_checkable
class SharedBatchPipeline(Protocol):
    """A pipeline that can analyze several documents with shared model calls."""

    def analyze_many(
        self, documents: Sequence[DocumentInput]
    ) -> list[AnalyzeResult | Exception]: ...


def analyze_documents(
    *,
    source: BlobStore,
    results: BlobStore,
    pipeline: AnalyzePipeline,
    items: Sequence[tuple[str, str]],
    overwrite: bool,
    options: AnalyzeOptions | None = None,
    stop: Callable[[], bool] = lambda: False,
) -> list[ItemOutcome]:
    """Analyze (name, result name) pairs and write their results; outcomes in input order.

    A pipeline with `analyze_many` (prebuilt-read) recognises the lines of all these documents
    in shared batches; others go one by one. Either way each item fails alone. `stop` is asked
    before each item (before the whole group when batches are shared); the outcomes then
    cover the items analyzed before it said yes.
    """
    if stop():
        return []
    if not isinstance(pipeline, SharedBatchPipeline) or len(items) < 2:
        outcomes: list[ItemOutcome] = []
        for index, (name, result_name) in enumerate(items):
            if index and stop():
                break
            outcomes.append(
                analyze_document(
                    source=source,
                    results=results,
                    pipeline=pipeline,
                    name=name,
                    result_name=result_name,
                    overwrite=overwrite,
                    options=options,
                )
            )
        return outcomes
    inputs = [
        DocumentInput(
            load=functools.partial(source.read_blob, name=name, max_bytes=MAX_DOCUMENT_BYTES),
            filename=name,
            options=options,
        )
        for name, _ in items
    ]
    outcomes = []
    for (name, result_name), analysis in zip(items, pipeline.analyze_many(inputs), strict=True):
        try:
            if isinstance(analysis, Exception):
                raise analysis
            outcomes.append(write_analysis(results, name, result_name, analysis, overwrite))
        except Exception as exc:
            outcomes.append(failure_outcome(name, result_name, exc))
    return outcomes


def write_analysis(
    results: BlobStore,
    name: str,
    result_name: str,
    analysis: AnalyzeResultLike,
    overwrite: bool,
) -> ItemOutcome:
    """Write one document's result as JSON; the item's outcome (errors raise)."""
    body_json = analysis.to_json()
    body = json.dumps(body_json, ensure_ascii=False, separators=(",", ":")).encode()
    results.write_blob(
        name=result_name, data=body, overwrite=overwrite, content_type="application/json"
    )
    return ItemOutcome(
        name, ItemStatus.SUCCEEDED, result=result_name, pages=len(body_json.get("pages") or [])
    )


def failure_outcome(name: str, result_name: str, exc: Exception) -> ItemOutcome:
    """The outcome of an item whose analysis raised `exc` (called inside its `except`)."""
    if isinstance(exc, BlobExistsError):
        return ItemOutcome(name, ItemStatus.SKIPPED, error=output_exists(result_name))
    if isinstance(exc, DocumentError):
        error = ItemError(exc.code, exc.message, exc.inner_code, exc.inner_message)
        return ItemOutcome(name, ItemStatus.FAILED, error=error)
    if isinstance(exc, BlobTooLargeError):
        return ItemOutcome(
            name,
            ItemStatus.FAILED,
            error=ItemError(
                "InvalidContentLength", "The document is larger than 500 MB.", exc.code, exc.message
            ),
        )
    if isinstance(exc, StorageError):
        return ItemOutcome(
            name,
            ItemStatus.FAILED,
            error=ItemError(
                "InvalidArgument",
                "The document could not be read or its result written.",
                exc.code,
                exc.message,
            ),
        )
    # a model bug must not sink the batch; the item says so
    log.error("Unexpected failure analyzing %s", name, exc_info=exc)
    return ItemOutcome(
        name,
        ItemStatus.FAILED,
        error=ItemError(
            "InternalServerError",
            "An unexpected error occurred while analyzing the document.",
            type(exc).__name__,
            "See the service log for details.",
        ),
    )
