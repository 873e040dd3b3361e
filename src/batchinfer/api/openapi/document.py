"""Build the OpenAPI 3.1 document from the registered functions and their declarations.

Only the route table is read: each HTTP-triggered function's route template and methods (as
indexed by the Functions worker), translated from ASP.NET templates (`{x:int}`, `{x?}`,
`{*rest}`, `{id}:action`) to OpenAPI paths. Declared operations contribute schemas; the rest
get generic ones, so a new route is documented the moment it is registered.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from batchinfer import __version__
from batchinfer.api.openapi.spec import Operation, declared_operation

PARAMETER = re.compile(r"\{(\*?)([A-Za-z_][A-Za-z0-9_-]*)(\?)?(?:=[^}:]*)?((?::[^}]+)*)\}")
BODY_METHODS = {"POST", "PUT", "PATCH"}
ANY_JSON: dict[str, Any] = {}
CONSTRAINT_TYPES = {
    "int": "integer",
    "long": "integer",
    "double": "number",
    "float": "number",
    "decimal": "number",
    "bool": "boolean",
}


def _method_name(method: Any) -> str:
    return str(getattr(method, "value", method)).upper()


def openapi_path(route: str) -> tuple[str, list[tuple[str, dict[str, Any]]]]:
    """`models/{id:int}:run` -> (`/models/{id}:run`, [("id", {"type": "integer"})])."""
    params: list[tuple[str, dict[str, Any]]] = []

    def replace(match: re.Match[str]) -> str:
        name, constraints = match.group(2), match.group(4) or ""
        schema: dict[str, Any] = {"type": "string"}
        for constraint in filter(None, constraints.split(":")):
            kind = constraint.split("(", 1)[0].lower()
            if kind in CONSTRAINT_TYPES:
                schema = {"type": CONSTRAINT_TYPES[kind]}
            elif kind == "guid":
                schema = {"type": "string", "format": "uuid"}
        params.append((name, schema))
        return "{" + name + "}"

    return "/" + PARAMETER.sub(replace, route.strip("/")), params


class _Schemas:
    """Collects pydantic models once and hands out `$ref`s into components/schemas."""

    def __init__(self) -> None:
        self.models: dict[tuple[type[BaseModel], str], None] = {}

    def want(self, schema: Any, mode: str) -> None:
        if isinstance(schema, type) and issubclass(schema, BaseModel):
            self.models[(schema, mode)] = None

    def build(self) -> tuple[dict[Any, dict[str, Any]], dict[str, Any]]:
        if not self.models:
            return {}, {}
        refs, top = models_json_schema(
            list(self.models),  # type: ignore[arg-type]
            ref_template="#/components/schemas/{model}",
        )
        return refs, top.get("$defs", {})


def _schema_of(schema: Any, mode: str, refs: dict[Any, dict[str, Any]]) -> dict[str, Any]:
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        return refs[(schema, mode)]
    return dict(schema) if isinstance(schema, dict) else ANY_JSON


def _json_content(schema: dict[str, Any], media: str = "application/json") -> dict[str, Any]:
    return {"content": {media: {"schema": schema}}}


def _responses(declared: Operation | None, refs: dict[Any, dict[str, Any]]) -> dict[str, Any]:
    if declared is None or not declared.responses:
        return {
            "default": {
                "description": "Any response (this route declares no schema).",
                **_json_content(ANY_JSON),
            }
        }
    out: dict[str, Any] = {}
    for status, schema in sorted(declared.responses.items()):
        entry: dict[str, Any] = {"description": _reason(status)}
        media = declared.response_types.get(status)
        if media is not None:
            entry.update(_json_content({"type": "string", "contentMediaType": media}, media))
        elif schema is not None:
            entry.update(_json_content(_schema_of(schema, "serialization", refs)))
        out[str(status)] = entry
    errors = (
        _schema_of(declared.errors, "serialization", refs)
        if declared.errors is not None
        else ANY_JSON
    )
    out["default"] = {
        "description": "An error, in the route's error shape.",
        **_json_content(errors),
    }
    return out


def _reason(status: int) -> str:
    return {200: "OK", 201: "Created", 202: "Accepted", 204: "No Content", 302: "Found"}.get(
        status, str(status)
    )


def build_document(
    functions: Iterable[Any],
    server_url: str,
    *,
    title: str = "batchinfer",
    route_prefix: str = "api",
) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every HTTP function in `functions` (the app's index)."""
    schemas = _Schemas()
    entries: list[tuple[str, str, Any, Operation | None, list[tuple[str, dict[str, Any]]]]] = []
    for function in functions:
        if not function.is_http_function():
            continue
        trigger = function.get_trigger()
        path, params = openapi_path(getattr(trigger, "route", None) or function.get_function_name())
        methods = [
            _method_name(m)
            for m in (
                getattr(trigger, "methods", None) or ["GET", "POST", "PUT", "DELETE", "PATCH"]
            )
        ]
        for method in methods:
            declared = declared_operation(function.get_user_function(), method)
            if declared is not None:
                schemas.want(declared.request, "validation")
                schemas.want(declared.errors, "serialization")
                for schema in declared.responses.values():
                    schemas.want(schema, "serialization")
            entries.append((path, method, function, declared, params))
    refs, components = schemas.build()
    paths: dict[str, dict[str, Any]] = {}
    for path, method, function, declared, params in entries:
        name = function.get_function_name()
        op: dict[str, Any] = {
            "operationId": name if len(_methods_of(function)) == 1 else f"{name}_{method.lower()}",
            "tags": list(
                declared.tags if declared and declared.tags else (path.strip("/").split("/", 1)[0],)
            ),
            "summary": (declared.summary if declared else "") or name.replace("_", " "),
            "x-function-name": name,
            "responses": _responses(declared, refs),
        }
        if declared and declared.description:
            op["description"] = declared.description
        parameters = [
            {
                "name": p,
                "in": "path",
                "required": True,
                "schema": (declared.path.get(p) if declared else None) or schema,
            }
            for p, schema in params
        ]
        for q, schema in declared.query.items() if declared else ():
            parameters.append({"name": q, "in": "query", "required": False, "schema": schema})
        if parameters:
            op["parameters"] = parameters
        if method in BODY_METHODS:
            if declared is not None and declared.request is not None:
                op["requestBody"] = {
                    "required": declared.request_required,
                    **_json_content(_schema_of(declared.request, "validation", refs)),
                }
            elif declared is None:
                op["requestBody"] = {"required": False, **_json_content(ANY_JSON)}
        paths.setdefault(path, {})[method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": __version__,
            "description": "Every HTTP route of the function app, generated from its "
            "route table and the pydantic models its routes declare.",
        },
        "servers": [{"url": server_url}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": components,
            "securitySchemes": {
                "apiKey": {"type": "apiKey", "in": "header", "name": "Ocp-Apim-Subscription-Key"}
            },
        },
        "security": [{}, {"apiKey": []}],
    }


def _methods_of(function: Any) -> list[str]:
    return [
        _method_name(m)
        for m in (
            getattr(function.get_trigger(), "methods", None)
            or ["GET", "POST", "PUT", "DELETE", "PATCH"]
        )
    ]
