"""Shared response shapes for the document: the dialects' error bodies."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class InnerError(BaseModel):
    model_config = ConfigDict(extra="allow")

    code: str
    message: str | None = None


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="allow")

    code: str
    message: str
    innererror: InnerError | None = None


class WrappedError(BaseModel):
    """`{"error": {"code", "message", "innererror"}}` (Document Intelligence, dashboard)."""

    model_config = ConfigDict(extra="allow")

    error: ErrorDetail


class TopLevelError(BaseModel):
    """`{"code", "message"}` (Anomaly Detector)."""

    model_config = ConfigDict(extra="allow")

    code: str
    message: str
