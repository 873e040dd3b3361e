"""Response bodies of the dashboard API, for the OpenAPI document (the code builds plain dicts
through `catalog`; tests check the responses against these schemas)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class JobCounts(BaseModel):
    succeeded: int
    failed: int
    skipped: int
    total: int | None
    unit: str


class JobRow(BaseModel):
    model_config = ConfigDict(extra="allow")

    kind: str
    id: str
    model: str
    title: str
    status: str
    percentCompleted: int
    counts: JobCounts | None
    createdDateTime: str
    lastUpdatedDateTime: str
    durationSeconds: float | None
    actions: list[str]
    views: list[str]
    error: dict[str, Any] | None


class JobKind(BaseModel):
    kind: str
    title: str


class JobList(BaseModel):
    jobs: list[JobRow]
    total: int
    kinds: list[JobKind]
    statuses: list[str]
    running: int


class ProgressPoint(BaseModel):
    time: str
    percent: int


class JobDetailBody(JobRow):
    hasItems: bool
    progress: list[ProgressPoint]
    sections: dict[str, Any]


class ItemRowBody(BaseModel):
    model_config = ConfigDict(extra="allow")

    index: int
    name: str
    status: str
    pages: int
    result: str | None = None
    error: dict[str, Any] | None = None


class ItemList(BaseModel):
    items: list[ItemRowBody]
    total: int
    skip: int
    top: int


class Canceling(BaseModel):
    status: str


class RerunStarted(BaseModel):
    kind: str
    id: str
