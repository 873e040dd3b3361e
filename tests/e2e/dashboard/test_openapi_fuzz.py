"""Schema-driven fuzzing: schemathesis generates requests for every documented operation (a
bounded number each) against a host with real jobs; no answer may be a 5xx or violate the
document (status code, content type, body schema)."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.e2e.dashboard.conftest import JobsHost

EXAMPLES = 12
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def _document() -> dict[str, Any]:
    import function_app
    from batchinfer.api.openapi.document import build_document
    from batchinfer.api.openapi.routes import app_functions

    return build_document(app_functions(function_app.app), "http://127.0.0.1/api")


DOCUMENT = _document()
OPERATIONS = [(path, method) for path, item in DOCUMENT["paths"].items() for method in item]


@pytest.mark.parametrize(
    ("path", "method"), OPERATIONS, ids=[f"{m.upper()} {p}" for p, m in OPERATIONS]
)
def test_route_survives_generated_requests(jobs_host: JobsHost, path: str, method: str) -> None:
    served = jobs_host.get("openapi.json").json()
    schema = schemathesis.openapi.from_dict(served)
    operation = schema[path][method.upper()]
    calls: list[int] = []

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def fuzz(case: Any) -> None:
        response = case.call_and_validate(base_url=jobs_host.api, checks=CHECKS, timeout=60)
        calls.append(response.status_code)

    fuzz()
    assert calls, "no request was generated"
    assert all(code < 500 for code in calls)
