"""An analyzeBatch request turned into a job spec: the checks every entry point shares.

Why its own module: the HTTP route and the inbox (a blob trigger reading manifests) must
validate a request identically (model, allow-list, paths) but answer differently, so these
functions raise the domain `RequestError`s; the route maps them to HTTP at its edge, the inbox
writes them into a report. Nothing here knows about HTTP.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from batchinfer.api.document_intelligence.schemas import AnalyzeBatchDocumentsRequest
from batchinfer.errors import InvalidRequestError, RequestNotFoundError, invalid_request
from batchinfer.jobs.model import ANALYZE_OPTIONS, DOCUMENT_ANALYSIS, JobSpec
from batchinfer.jobs.service import now_iso_z
from batchinfer.models.ocr.options import AnalyzeOptions, OptionError, parse_options
from batchinfer.storage import InvalidPathError, UrlNotAllowedError, validate_blob_name
from batchinfer.storage.paths import validate_prefix
from batchinfer.wiring import Services

__all__ = ["ANALYSIS_OPTIONS", "MODEL_ID", "analysis_options", "build_spec", "check_model"]

MODEL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._~-]{1,63}$")


def check_model(services: Services, model_id: str) -> str:
    """The model id, if it names a registered model; `RequestNotFoundError` otherwise."""
    if not MODEL_ID.match(model_id) or model_id not in services.registry:
        raise RequestNotFoundError("ModelNotFound", f"Model '{model_id}' was not found.")
    return model_id


ANALYSIS_OPTIONS = (
    "pages",
    "locale",
    "stringIndexType",
    "features",
    "queryFields",
    "outputContentFormat",
    "output",
)
"""Analysis options: query parameters (what the official client sends) or body fields."""


def analysis_options(
    services: Services,
    model_id: str,
    request: AnalyzeBatchDocumentsRequest,
    query: Mapping[str, str] | None = None,
) -> AnalyzeOptions:
    """The options the model is asked to honour; anything it cannot honour is refused."""
    extra = dict(request.model_extra or {})
    unknown = sorted(set(extra) - set(ANALYSIS_OPTIONS))
    if unknown:
        raise InvalidRequestError(
            "InvalidArgument",
            "Invalid argument.",
            inner_code="InvalidParameter",
            inner_message=f"Unknown request field '{unknown[0]}'.",
        )
    raw = {**extra, **{k: v for k, v in (query or {}).items() if k in ANALYSIS_OPTIONS}}
    spec = services.registry.get(model_id)
    try:
        return parse_options(raw, spec.features, model_id, spec.content_formats)
    except OptionError as exc:
        raise InvalidRequestError(
            "InvalidArgument",
            "Invalid argument.",
            inner_code="InvalidParameter",
            inner_message=exc.message,
        ) from None


def build_spec(
    services: Services,
    model_id: str,
    result_id: str,
    request: AnalyzeBatchDocumentsRequest,
    query: Mapping[str, str] | None = None,
) -> JobSpec:
    """Validate locations (allow-list, paths) and options before anything is stored or
    started."""
    options = analysis_options(services, model_id, request, query)
    source = request.azureBlobSource or request.azureBlobFileListSource
    assert source is not None
    try:
        services.policy.check(source.containerUrl)
        services.policy.check(request.resultContainerUrl)
    except UrlNotAllowedError as exc:
        raise invalid_request(
            "Invalid request.", "InvalidContentSourceFormat", exc.message
        ) from None
    try:
        prefix = validate_prefix(getattr(source, "prefix", None) or "")
        file_list = getattr(source, "fileList", None)
        if file_list is not None:
            validate_blob_name(file_list)
        result_prefix = validate_prefix(request.resultPrefix or "")
    except InvalidPathError as exc:
        raise invalid_request("Invalid request.", "InvalidParameter", exc.message) from None
    return JobSpec(
        job_id=result_id,
        kind=DOCUMENT_ANALYSIS,
        model_id=model_id,
        source_url=source.containerUrl,
        source_prefix=prefix,
        file_list=file_list,
        result_url=request.resultContainerUrl,
        result_prefix=result_prefix,
        overwrite=request.overwriteExisting,
        created=now_iso_z(),
        options={ANALYZE_OPTIONS: options.to_json()},
    )
