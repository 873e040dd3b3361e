"""The status of an anomaly model and of a detection result, as Anomaly Detector v1.1 spells it.

A `StrEnum`, so records and summaries (JSON in the model and job stores) and the wire keep the
exact strings `CREATED`, `RUNNING`, `READY`, `FAILED`.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["MvadStatus"]


class MvadStatus(StrEnum):
    CREATED = "CREATED"
    RUNNING = "RUNNING"
    READY = "READY"
    FAILED = "FAILED"
