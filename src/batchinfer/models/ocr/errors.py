"""Errors a caller can act on: the document itself is wrong, not the service.

Codes follow Document Intelligence's inner error codes so the API layer can pass them through.
"""
from __future__ import annotations


class DocumentError(ValueError):
    """The submitted document cannot be analyzed; `.code` is stable, `.message` is for humans."""

    code = "InvalidRequest"

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
