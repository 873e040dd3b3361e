"""The fast detect-last body reader answers exactly as the pydantic request model does.

Each body is read both ways: through `read_last_request` (the route's reader) and through
`DetectLastRequest.model_validate_json` (what the route did before). Valid bodies must give the
same series and contributor count, invalid ones the same validation errors.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from batchinfer.anomaly.steps import series_from_variables
from batchinfer.api.anomaly_detector.last_body import _fast, read_last_request
from batchinfer.api.anomaly_detector.schemas import DetectLastRequest
from batchinfer.models.mvad import MvadDataError

STAMPS = [f"2024-01-01T00:{m:02d}:00Z" for m in range(6)]


def _body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "variables": [
            {
                "variable": f"v{i}",
                "timestamps": list(STAMPS),
                "values": [i + 0.5 * j for j in range(6)],
            }
            for i in range(3)
        ],
        "topContributorCount": 5,
    }
    body.update(changes)
    return body


def _with(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    body = _body()
    target: Any = body
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return body


def _slow(raw: bytes) -> tuple[list[dict[str, Any]], int]:
    request = DetectLastRequest.model_validate_json(raw)
    variables = [
        {"variable": v.variable, "timestamps": v.timestamps, "values": v.values}
        for v in request.variables
    ]
    return variables, request.topContributorCount


def _outcome(variables: list[dict[str, Any]]) -> Any:
    try:
        series = series_from_variables(variables)
    except MvadDataError as exc:
        return ("error", exc.code, exc.message)
    return (series.variables, series.timestamps.tolist(), series.values.tobytes())


VALID = {
    "plain": _body(),
    "default top": {"variables": _body()["variables"]},
    "extra top-level field": _body(comment="ignored"),
    "integers": _with(("variables", 0, "values"), [1, 2, 3, 4, 5, 6]),
    "huge integer": _with(("variables", 0, "values"), [10**26, 1.5, 2, 3, 4, 5]),
    "booleans among numbers": _with(("variables", 1, "values"), [True, 1.5, 2, 3, 4, 5]),
    "numeric strings": _with(("variables", 1, "values"), ["1.5", 2, 3, 4, 5, 6]),
    "float top": _body(topContributorCount=3.0),
    "string top": _body(topContributorCount="3"),
    "boolean top": _body(topContributorCount=True),
    "own timestamps": _with(("variables", 2, "timestamps"), [*STAMPS[1:], "2024-01-01T00:09:00Z"]),
    "beyond float32": _with(("variables", 1, "values", 4), 1e39),
    "duplicate timestamps": {
        "variables": [{"variable": "a", "timestamps": [STAMPS[0]] * 3, "values": [1.0, 2.0, 3.0]}]
    },
    "bad timestamp": _with(("variables", 0, "timestamps", 2), "yesterday"),
    "length mismatch": _with(("variables", 2, "values"), [1.0, 2.0]),
    "duplicate variable": _with(("variables", 1, "variable"), "v0"),
}

INVALID = {
    "null value": _with(("variables", 0, "values", 3), None),
    "text value": _with(("variables", 0, "values", 3), "abc"),
    "nested value": _with(("variables", 0, "values", 3), [1.0]),
    "number timestamp": _with(("variables", 1, "timestamps", 0), 17),
    "number name": _with(("variables", 1, "variable"), 5),
    "empty name": _with(("variables", 1, "variable"), ""),
    "extra variable field": _with(("variables", 0, "unit"), "bar"),
    "missing values": {"variables": [{"variable": "a", "timestamps": STAMPS}]},
    "no variables": _body(variables=[]),
    "variables not a list": _body(variables={"a": 1}),
    "too many variables": _body(
        variables=[{"variable": f"v{i}", "timestamps": ["t"], "values": [0.0]} for i in range(301)]
    ),
    "too many timestamps": _with(("variables", 0, "timestamps"), ["t"] * 2881),
    "top 0": _body(topContributorCount=0),
    "top 31": _body(topContributorCount=31),
    "fractional top": _body(topContributorCount=1.5),
    "body a list": [1, 2],
    "empty values": _with(("variables", 0, "values"), []),
}


@pytest.mark.parametrize("name", sorted(VALID))
def test_valid_bodies_read_as_the_model_reads_them(name: str) -> None:
    raw = json.dumps(VALID[name]).encode()
    fast = read_last_request(raw)
    variables, top = _slow(raw)
    assert fast.top_contributor_count == top
    assert [v["variable"] for v in fast.variables] == [v["variable"] for v in variables]
    assert _outcome(fast.variables) == _outcome(variables)


@pytest.mark.parametrize("name", sorted(INVALID))
def test_invalid_bodies_get_the_models_errors(name: str) -> None:
    raw = json.dumps(INVALID[name]).encode()
    with pytest.raises(ValidationError) as fast:
        read_last_request(raw)
    with pytest.raises(ValidationError) as slow:
        DetectLastRequest.model_validate_json(raw)
    assert fast.value.errors() == slow.value.errors()


@pytest.mark.parametrize("raw", [b"{", b"not json", b'{"variables": [1,]}', b"\xff\xfe"])
def test_unparsable_bodies_get_the_models_errors(raw: bytes) -> None:
    with pytest.raises(ValidationError) as fast:
        read_last_request(raw)
    with pytest.raises(ValidationError) as slow:
        DetectLastRequest.model_validate_json(raw)
    assert fast.value.errors() == slow.value.errors()


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_non_json_numbers_reach_the_value_check(literal: str) -> None:
    raw = json.dumps(_body()).replace("1.5", literal, 1).encode()
    fast = read_last_request(raw)
    with pytest.raises(MvadDataError) as error:
        series_from_variables(fast.variables)
    assert error.value.code == "InvalidValueFormat"
    assert _outcome(fast.variables) == _outcome(_slow(raw)[0])


def test_plain_bodies_take_the_fast_path_with_shared_timestamps() -> None:
    """The common body (every variable on the same timestamps) is read without the model:
    values come back as float64 arrays and the timestamps as one shared list of strings."""
    fast = _fast(json.dumps(_body()).encode())
    assert fast is not None
    assert all(isinstance(v["values"], np.ndarray) for v in fast.variables)
    assert all(v["values"].dtype == np.float64 for v in fast.variables)
    assert fast.variables[1]["timestamps"] == STAMPS
    assert _fast(json.dumps(INVALID["text value"]).encode()) is None
