"""Reading a detect-last body fast, with the request model's exact answers.

A detect-last body holds up to 300 variables × 2,880 timestamps and values (~38 MB of JSON).
Validating it through the pydantic model builds and checks a Python object per element and was
most of the call's time. Here the body is parsed once by pydantic's own JSON parser (the same
numbers and strings the model would see; repeated timestamp strings are shared objects, so
comparing variables' timestamp lists is nearly free) and checked with whole-list operations;
values become numpy arrays. Anything not plainly valid — a wrong type, a missing or extra field,
a length out of range, JSON that does not parse — goes through the pydantic model instead, which
answers with exactly the error (or the lax coercion) it always did.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic_core import from_json

from batchinfer.api.anomaly_detector.schemas import (
    MAX_LAST_TIMESTAMPS,
    MAX_LAST_VARIABLES,
    DetectLastRequest,
)

VARIABLE_FIELDS = frozenset({"variable", "timestamps", "values"})
DEFAULT_TOP_CONTRIBUTORS = 10


@dataclass(frozen=True)
class LastRequest:
    """A valid detect-last body: `variables` as `series_from_variables` takes them (values as
    float64 arrays where the fast path read them, lists otherwise)."""

    variables: list[dict[str, Any]]
    top_contributor_count: int


def read_last_request(body: bytes) -> LastRequest:
    """The request, or pydantic's `ValidationError` for a body the model refuses."""
    fast = _fast(body)
    if fast is not None:
        return fast
    request = DetectLastRequest.model_validate_json(body)
    return LastRequest(
        [
            {"variable": v.variable, "timestamps": v.timestamps, "values": v.values}
            for v in request.variables
        ],
        request.topContributorCount,
    )


def _fast(body: bytes) -> LastRequest | None:
    """The request when every part is of the plain valid shape; None to let the model decide."""
    try:
        data = from_json(body)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    top = data.get("topContributorCount", DEFAULT_TOP_CONTRIBUTORS)
    items = data.get("variables")
    if type(top) is not int or not 1 <= top <= 30:
        return None
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_LAST_VARIABLES:
        return None
    shared: list[Any] | None = None
    variables: list[dict[str, Any]] = []
    for item in items:
        if not isinstance(item, dict) or item.keys() != VARIABLE_FIELDS:
            return None
        name, stamps, values = item["variable"], item["timestamps"], item["values"]
        if type(name) is not str or not name:
            return None
        if not _plain_timestamps(stamps, shared):
            return None
        shared = shared if shared is not None else stamps
        array = _plain_values(values)
        if array is None:
            return None
        variables.append({"variable": name, "timestamps": stamps, "values": array})
    return LastRequest(variables, top)


def _plain_timestamps(stamps: Any, shared: list[Any] | None) -> bool:
    """A list of 1 to 2,880 strings. Equal to the first variable's list (already checked) is
    enough, and cheap: the parser hands out one string object per distinct timestamp."""
    if not isinstance(stamps, list) or not 1 <= len(stamps) <= MAX_LAST_TIMESTAMPS:
        return False
    if shared is not None and stamps == shared:
        return True
    return all(type(stamp) is str for stamp in stamps)


def _plain_values(values: Any) -> np.ndarray | None:
    """1 to 2,880 JSON numbers as float64 — what the model's `list[float]` would hold. Other
    element types (strings, null, booleans alone, integers beyond int64) are left to the model."""
    if not isinstance(values, list) or not 1 <= len(values) <= MAX_LAST_TIMESTAMPS:
        return None
    try:
        array = np.array(values)
    except (ValueError, TypeError, OverflowError):
        return None
    if array.ndim != 1 or array.dtype.kind not in "fi":
        return None
    return array.astype(np.float64, copy=False)
