"""Errors a caller can act on: the document itself is wrong, not the service.

Codes follow Document Intelligence's inner error codes so the API layer can pass them through.
"""

from __future__ import annotations


class DocumentError(ValueError):
    """The submitted document cannot be analyzed; `.code` is stable, `.message` is for humans."""

    code = "InvalidRequest"
    inner_code: str | None = None  # set where the service reports a generic code + detail
    inner_message: str | None = None

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class InvalidContentError(DocumentError):
    """The file is empty, corrupt, or too large to decode safely."""

    code = "InvalidContent"


class ContentTooLargeError(InvalidContentError):
    """Too many pages or pixels: refused before decoding to avoid decompression bombs."""


class UnsupportedContentError(DocumentError):
    """The file is a type this model does not read (text, Office documents, ...)."""

    code = "UnsupportedContent"


class InvalidPagesError(DocumentError):
    """`pages` asks for a page past the document's end: the service's InvalidParameter."""

    code = "InvalidArgument"
    inner_code = "InvalidParameter"

    def __init__(self, detail: str) -> None:
        super().__init__("Invalid argument.")
        self.inner_message = detail
