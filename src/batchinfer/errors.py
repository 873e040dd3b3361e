"""The product's own request errors, raised inside and mapped to HTTP once, at the edge.

    RequestError                   a request (HTTP body, inbox manifest) the product refuses
    ├── InvalidRequestError        ... and ValueError: malformed, disallowed, out of range
    └── RequestNotFoundError       ... and LookupError: the model or result does not exist

Why not `api.errors.ApiError`: the inbox validates manifests exactly as the Document
Intelligence API validates requests, but it is a blob trigger, not an HTTP route; it reports
these errors in a JSON file. Each carries what every dialect's error shape needs (a code, a
user-safe message, an optional inner code and message); `api.errors.guarded` turns one into the
dialect's HTTP error body (400 and 404), and the inbox into its report's `error`. The storage
tree (`storage.errors`) and the anomaly model's `MvadDataError` stay separate families.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

__all__ = [
    "InvalidRequestError",
    "RequestError",
    "RequestNotFoundError",
    "describe_validation_error",
    "invalid_request",
]


class RequestError(Exception):
    """A refused request: a code, a user-safe message, optional inner code and message."""

    http_status = 400

    def __init__(
        self,
        code: str,
        message: str,
        *,
        inner_code: str | None = None,
        inner_message: str | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.inner_code = inner_code
        self.inner_message = inner_message

    def to_json(self) -> dict[str, Any]:
        """`{code, message, innererror?}`: the Azure error object."""
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.inner_code:
            body["innererror"] = {
                "code": self.inner_code,
                "message": self.inner_message or self.message,
            }
        return body


class InvalidRequestError(RequestError, ValueError):
    http_status = 400


class RequestNotFoundError(RequestError, LookupError):
    http_status = 404


def invalid_request(
    message: str, inner_code: str, inner_message: str | None = None
) -> InvalidRequestError:
    """`InvalidRequest` with the detail in its inner error, as the Azure services answer."""
    return InvalidRequestError(
        "InvalidRequest", message, inner_code=inner_code, inner_message=inner_message or message
    )


def describe_validation_error(exc: ValidationError, what: str = "request") -> InvalidRequestError:
    """The first pydantic error with its JSON path, like the service's messages."""
    first = exc.errors()[0]
    path = ".".join(str(p) for p in first.get("loc", ())) or what
    return InvalidRequestError(
        "InvalidRequest",
        f"Invalid {what}.",
        inner_code="InvalidArgument",
        inner_message=f"{path}: {first.get('msg', 'invalid value')}",
    )
