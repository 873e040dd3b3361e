"""Analyzing one document: read it, run the model, write `<name>.ocr.json` next to the results.

A failing document fails alone: every error becomes an `ItemOutcome` with a code, never an
exception, so the batch goes on and the report tells what happened to each file.
"""

from __future__ import annotations

import json
import logging

from batchinfer.inference.registry import AnalyzePipeline
from batchinfer.jobs.model import ItemError, ItemOutcome, ItemStatus
from batchinfer.models.ocr.errors import DocumentError
from batchinfer.models.ocr.options import AnalyzeOptions
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
        analysis = pipeline.analyze(data, filename=name, options=options).to_json()
        body = json.dumps(analysis, ensure_ascii=False, separators=(",", ":")).encode()
        results.write_blob(
            name=result_name, data=body, overwrite=overwrite, content_type="application/json"
        )
        return ItemOutcome(
            name, ItemStatus.SUCCEEDED, result=result_name, pages=len(analysis.get("pages") or [])
        )
    except BlobExistsError:
        return ItemOutcome(name, ItemStatus.SKIPPED, error=output_exists(result_name))
    except DocumentError as exc:
        error = ItemError(exc.code, exc.message, exc.inner_code, exc.inner_message)
        return ItemOutcome(name, ItemStatus.FAILED, error=error)
    except BlobTooLargeError as exc:
        return ItemOutcome(
            name,
            ItemStatus.FAILED,
            error=ItemError(
                "InvalidContentLength", "The document is larger than 500 MB.", exc.code, exc.message
            ),
        )
    except StorageError as exc:
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
    except Exception as exc:  # a model bug must not sink the batch; the item says so
        log.exception("Unexpected failure analyzing %s", name)
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
