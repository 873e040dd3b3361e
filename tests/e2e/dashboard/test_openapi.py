"""GET /api/openapi.json documents every registered HTTP function; /api/docs serves Swagger UI
from the package's files, with no CDN."""

from __future__ import annotations

import functools
import re

import requests

from batchinfer.api.openapi.document import openapi_path
from tests.e2e.dashboard.conftest import JobsHost


@functools.cache
def _registered_http_functions() -> list[tuple[str, str, list[str]]]:
    """What the worker indexes: `get_functions()`, which an app allows once per process."""
    import function_app

    out = []
    for function in function_app.app.get_functions():
        if function.is_http_function():
            trigger = function.get_trigger()
            out.append(
                (
                    function.get_function_name(),
                    trigger.route,
                    [str(getattr(m, "value", m)).lower() for m in trigger.methods],
                )
            )
    return out


def test_every_registered_http_function_is_in_the_document(jobs_host: JobsHost) -> None:
    response = jobs_host.get("openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.1")
    assert document["servers"] == [{"url": jobs_host.api}]
    functions = _registered_http_functions()
    assert len(functions) >= 20
    for name, route, methods in functions:
        path, _ = openapi_path(route)
        assert path in document["paths"], f"{name}: {route} missing"
        for method in methods:
            operation = document["paths"][path][method]
            assert operation["x-function-name"] == name
    operations = {
        op["x-function-name"] for item in document["paths"].values() for op in item.values()
    }
    assert operations == {name for name, _, _ in functions}


def test_declared_models_become_components_and_undeclared_routes_are_generic(
    jobs_host: JobsHost,
) -> None:
    document = jobs_host.get("openapi.json").json()
    schemas = document["components"]["schemas"]
    analyze = document["paths"]["/documentintelligence/documentModels/{modelId}:analyzeBatch"]
    body = analyze["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/AnalyzeBatchDocumentsRequest"}
    assert "resultContainerUrl" in schemas["AnalyzeBatchDocumentsRequest"]["required"]
    assert "slidingWindow" in schemas["ModelInfoRequest"]["properties"]
    jobs = document["paths"]["/dashboard/jobs"]["get"]["responses"]["200"]
    assert jobs["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/JobList"}
    # a route that declares nothing still appears, with a generic response
    from batchinfer.api.openapi.document import build_document

    class Bare:
        def is_http_function(self) -> bool:
            return True

        def get_trigger(self) -> object:
            return type("T", (), {"route": "things/{id:int}/{*rest}", "methods": ["POST"]})()

        def get_function_name(self) -> str:
            return "bare_thing"

        def get_user_function(self) -> object:
            return lambda req: None

    bare = build_document([Bare()], "http://h/api")["paths"]["/things/{id}/{rest}"]["post"]
    assert bare["responses"]["default"]["content"]["application/json"]["schema"] == {}
    assert bare["requestBody"]["required"] is False
    assert bare["parameters"][0] == {
        "name": "id",
        "in": "path",
        "required": True,
        "schema": {"type": "integer"},
    }


def test_swagger_ui_is_served_from_the_package_without_a_cdn(jobs_host: JobsHost) -> None:
    redirect = requests.get(f"{jobs_host.api}/docs", allow_redirects=False, timeout=30)
    assert redirect.status_code == 302
    page = jobs_host.get("docs/")
    assert page.status_code == 200 and "SwaggerUIBundle" in page.text
    assert not re.search(r"(src|href)=\"(https?:)?//", page.text)
    for asset in re.findall(r"(?:src|href)=\"([^\"]+)\"", page.text):
        response = jobs_host.get(f"docs/{asset}")
        assert response.status_code == 200, asset
        assert len(response.content) > 1000
    bundle = jobs_host.get("docs/swagger-ui-bundle.js").text
    assert "SwaggerUIBundle" in bundle
    assert jobs_host.get("docs/../openapi.json").status_code in (200, 404)
    assert jobs_host.get("docs/nothing.js").status_code == 404
