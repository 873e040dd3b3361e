"""Shared edges of the dataset inference API: the blueprint, auth, errors, bodies, paging.

Errors are `{"detail": "..."}` (the client keeps bodies as they are); keys come as
`Authorization: Bearer <key>` and are checked against BATCHINFER_API_KEYS (open when unset).
The client retries 408/409/429/5xx, so no normal outcome uses those codes.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import azure.durable_functions as df
import azure.functions as func
from pydantic import BaseModel, ValidationError

from batchinfer.api.errors import ApiError, api_base, guarded, json_response
from batchinfer.tabular.catalog import Catalog
from batchinfer.tabular.wiring import get_catalog
from batchinfer.wiring import get_services

log = logging.getLogger("batchinfer.api.woodwide")
blueprint = df.Blueprint()

BASE = "woodwide"
ANONYMOUS = func.AuthLevel.ANONYMOUS
DEFAULT_LIMIT = 50
MAX_LIMIT = 500
T = TypeVar("T", bound=BaseModel)


def detail_response(error: ApiError) -> func.HttpResponse:
    return json_response(error.status, {"detail": error.message})


def fail(status: int, message: str) -> ApiError:
    return ApiError(status, str(status), message)


def require_bearer(req: func.HttpRequest) -> None:
    keys = get_services().settings.api_keys
    if not keys:
        return
    header = req.headers.get("Authorization") or ""
    scheme, _, supplied = header.partition(" ")
    if scheme.lower() != "bearer" or not any(
        hmac.compare_digest(supplied.strip().encode(), k.encode()) for k in keys
    ):
        raise fail(401, "Missing or invalid API key: send 'Authorization: Bearer <key>'.")


async def handle(
    req: func.HttpRequest,
    handler: Callable[[Catalog], Awaitable[func.HttpResponse]],
    *,
    auth: bool = True,
) -> func.HttpResponse:
    """Auth, then the handler with the catalog; ApiError becomes `{"detail"}`."""

    async def run() -> func.HttpResponse:
        if auth:
            require_bearer(req)
        return await handler(get_catalog())

    return await guarded(run, detail_response, log)


def body(req: func.HttpRequest, model: type[T]) -> T:
    raw = req.get_body()
    if not raw:
        raise fail(422, "The request body is empty; a JSON object is expected.")
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        path = ".".join(str(p) for p in first.get("loc", ())) or "body"
        raise fail(422, f"{path}: {first.get('msg', 'invalid value')}") from None


def ok(payload: Any, status: int = 200) -> func.HttpResponse:
    return json_response(status, payload)


def base_url(req: func.HttpRequest) -> str:
    return api_base(req, BASE) + "/" + BASE


def int_param(req: func.HttpRequest, name: str, default: int, low: int, high: int) -> int:
    raw = req.params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise fail(422, f"{name} must be an integer.") from None
    if not low <= value <= high:
        raise fail(422, f"{name} must be from {low} to {high}.")
    return value


def bool_value(raw: Any, name: str) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw or "").strip().lower()
    if text in ("", "false", "0", "no"):
        return False
    if text in ("true", "1", "yes"):
        return True
    raise fail(422, f"{name} must be true or false.")


def page(req: func.HttpRequest, items: list[dict[str, Any]]) -> dict[str, Any]:
    """Cursor paging over a listed collection: the cursor is an opaque offset."""
    limit = int_param(req, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    cursor = req.params.get("cursor") or "0"
    if not cursor.isdigit():
        raise fail(422, "cursor is not one this API returned.")
    start = int(cursor)
    chunk = items[start : start + limit]
    following = start + limit
    return {"items": chunk, "next_cursor": str(following) if following < len(items) else None}


async def offload(fn: Callable[..., Any], *args: Any) -> Any:
    """Store and data work runs in a thread so the host's event loop keeps serving."""
    return await asyncio.to_thread(fn, *args)


def multipart(req: func.HttpRequest) -> tuple[dict[str, str], Any]:
    """The form fields and the `file` part of a multipart request (400 when missing)."""
    content_type = req.headers.get("Content-Type") or ""
    if "multipart/form-data" not in content_type.lower():
        raise fail(422, "Send the file as multipart/form-data with a 'file' field.")
    try:
        files, form = req.files, req.form
    except Exception:  # malformed multipart bodies raise from the parser
        raise fail(400, "The multipart body cannot be parsed.") from None
    upload = files.get("file")
    if upload is None:
        raise fail(422, "The multipart body has no 'file' field.")
    return {k: form.get(k) for k in form}, upload
