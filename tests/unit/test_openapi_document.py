"""The OpenAPI builder: route templates to paths, declarations through the Durable client
wrapper, per-method operations, generic schemas for undeclared routes."""

from __future__ import annotations

import azure.durable_functions as df
import azure.functions as func
from pydantic import BaseModel

from batchinfer.api.openapi import operation
from batchinfer.api.openapi.document import build_document, openapi_path
from batchinfer.api.openapi.routes import app_functions


class Thing(BaseModel):
    name: str
    size: int = 1


class Problem(BaseModel):
    code: str


def test_route_templates_become_openapi_paths() -> None:
    assert openapi_path("a/{id:int}/{name?}/{*rest}") == (
        "/a/{id}/{name}/{rest}",
        [("id", {"type": "integer"}), ("name", {"type": "string"}), ("rest", {"type": "string"})],
    )
    assert openapi_path("m/{modelId}:analyze") == (
        "/m/{modelId}:analyze",
        [("modelId", {"type": "string"})],
    )
    assert openapi_path("x/{k:guid}/{v=3}")[1] == [
        ("k", {"type": "string", "format": "uuid"}),
        ("v", {"type": "string"}),
    ]


def _app() -> df.DFApp:
    app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
    blueprint = df.Blueprint()

    @blueprint.route(route="things/{id}", methods=["GET", "DELETE"])
    @blueprint.durable_client_input(client_name="client")
    @operation(method="GET", summary="Read", responses={200: Thing}, errors=Problem)
    @operation(method="DELETE", summary="Delete", responses={204: None}, errors=Problem)
    async def thing(
        req: func.HttpRequest, client: df.DurableOrchestrationClient
    ) -> func.HttpResponse:
        return func.HttpResponse()

    @blueprint.route(route="things", methods=["POST"])
    @operation(request=Thing, responses={201: Thing})
    def create(req: func.HttpRequest) -> func.HttpResponse:
        return func.HttpResponse()

    @blueprint.route(route="bare", methods=["POST"])
    def bare(req: func.HttpRequest) -> func.HttpResponse:
        return func.HttpResponse()

    @blueprint.activity_trigger(input_name="x")
    def not_http(x: str) -> str:
        return x

    app.register_functions(blueprint)
    return app


def test_declared_operations_survive_the_durable_client_wrapper() -> None:
    document = build_document(app_functions(_app()), "http://h/api")
    item = document["paths"]["/things/{id}"]
    assert item["get"]["operationId"] == "thing_get" and item["delete"]["summary"] == "Delete"
    assert item["get"]["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Thing"
    }
    assert item["delete"]["responses"]["204"] == {"description": "No Content"}
    assert item["get"]["responses"]["default"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Problem"
    }
    create = document["paths"]["/things"]["post"]
    assert create["requestBody"]["required"] is True
    assert document["components"]["schemas"]["Thing"]["required"] == ["name"]
    bare = document["paths"]["/bare"]["post"]
    assert bare["summary"] == "bare" and bare["requestBody"]["required"] is False
    assert set(document["paths"]) == {"/things/{id}", "/things", "/bare"}


def test_the_route_table_can_be_read_after_the_worker_indexed_the_app() -> None:
    app = _app()
    indexed = app.get_functions()  # what the worker does, once
    assert {f.get_function_name() for f in app_functions(app)} == {
        f.get_function_name() for f in indexed
    }
