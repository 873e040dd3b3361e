"""The product's API error, mapped to each dialect's error shape once, at the edge.

Document Intelligence wraps errors: `{"error": {"code", "message", "innererror"}}`.
Anomaly Detector puts them at the top level: `{"code", "message"}`. Both are JSON, never HTML,
and never carry `Retry-After` (azure-core would retry a 4xx that did).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

import azure.functions as func
from pydantic import ValidationError

from batchinfer.errors import RequestError, describe_validation_error


class ApiError(Exception):
    """A request the API refuses: HTTP status, a code, a message, optional inner detail."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        inner_code: str | None = None,
        inner_message: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.inner_code = inner_code
        self.inner_message = inner_message


def bad_request(message: str, inner_code: str, inner_message: str | None = None) -> ApiError:
    return ApiError(
        400,
        "InvalidRequest",
        message,
        inner_code=inner_code,
        inner_message=inner_message or message,
    )


def not_found(message: str, code: str = "NotFound") -> ApiError:
    return ApiError(404, code, message)


def from_request_error(error: RequestError) -> ApiError:
    """The HTTP form of a domain `RequestError` (400 invalid, 404 not found)."""
    return ApiError(
        error.http_status,
        error.code,
        error.message,
        inner_code=error.inner_code,
        inner_message=error.inner_message,
    )


def from_validation_error(exc: ValidationError, what: str = "request") -> ApiError:
    """Describe the first pydantic error with its JSON path, like the service's messages."""
    return from_request_error(describe_validation_error(exc, what))


def parse_json_body(req: func.HttpRequest) -> Any:
    body = req.get_body()
    if not body:
        raise bad_request("The request body is empty.", "EmptyRequest")
    try:
        return json.loads(body)
    except ValueError as exc:
        raise bad_request("The request body is not valid JSON.", "InvalidJson", str(exc)) from exc
    except RecursionError:  # nesting deeper than the parser's stack: malformed for us
        raise bad_request("The request body is nested too deeply.", "InvalidJson") from None


def json_response(
    status: int, body: Any, headers: dict[str, str] | None = None
) -> func.HttpResponse:
    return func.HttpResponse(
        json.dumps(body), status_code=status, headers=headers, mimetype="application/json"
    )


def wrapped_error_response(error: ApiError) -> func.HttpResponse:
    """`{"error": {...}}` — Document Intelligence (and Azure ML) dialect."""
    body: dict[str, Any] = {"code": error.code, "message": error.message}
    if error.inner_code:
        body["innererror"] = {
            "code": error.inner_code,
            "message": error.inner_message or error.message,
        }
    return json_response(error.status, {"error": body})


def top_level_error_response(error: ApiError) -> func.HttpResponse:
    """`{"code", "message"}` — Anomaly Detector dialect."""
    message = error.message
    if error.inner_message and error.inner_message != error.message:
        message = f"{error.message} {error.inner_message}"
    return json_response(error.status, {"code": error.inner_code or error.code, "message": message})


async def guarded(
    handler: Callable[[], Awaitable[func.HttpResponse]],
    error_response: Callable[[ApiError], func.HttpResponse],
    log: logging.Logger,
) -> func.HttpResponse:
    """Run a handler; ApiError (or a domain RequestError) becomes the dialect's error body,
    anything else a logged 500."""
    try:
        return await handler()
    except ApiError as error:
        return error_response(error)
    except RequestError as error:
        return error_response(from_request_error(error))
    except Exception:
        log.exception("Unhandled error in %s", log.name)
        return error_response(
            ApiError(
                500, "InternalServerError", "An unexpected error occurred; see the service log."
            )
        )


def api_base(req: func.HttpRequest, dialect_segment: str) -> str:
    """Where the URLs this service hands out (Operation-Location, nextLink) point.

    `BATCHINFER_PUBLIC_BASE_URL` when set; otherwise the scheme, host and route prefix the
    client used (e.g. http://127.0.0.1:7071/api), but only for a Host the service answers to
    (`BATCHINFER_ALLOWED_HOSTS`): a forged Host header must not become a link clients follow
    with their keys."""
    from batchinfer.wiring import get_services

    settings = get_services().settings
    if settings.public_base_url:
        return settings.public_base_url
    url: str = req.url.split("?", 1)[0]
    host = (urlsplit(url).hostname or "").lower()
    if host not in settings.allowed_hosts:
        raise ApiError(
            400,
            "InvalidRequest",
            "The request's Host is not one this service answers to.",
            inner_code="InvalidHost",
            inner_message="Set BATCHINFER_PUBLIC_BASE_URL or BATCHINFER_ALLOWED_HOSTS.",
        )
    return url[: url.lower().index(f"/{dialect_segment.lower()}/")]
