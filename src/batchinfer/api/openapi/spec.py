"""What a route declares for the OpenAPI document: a decorator that attaches it to the handler.

Put `@operation(...)` directly above the handler's `def` (below the blueprint decorators); a
function serving several methods stacks one per method. Models are pydantic classes (their JSON
Schema lands in `components/schemas`) or plain JSON Schema dicts; `None` means "no body".

    @blueprint.route(route="things/{id}", methods=["GET"])
    @operation(summary="Read a thing", responses={200: Thing}, errors=ErrorBody)
    async def thing(req): ...

The attribute survives the Durable client wrapper (it copies the function's `__dict__`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

ATTRIBUTE = "__openapi_operations__"
ANY_METHOD = "*"
Schema = Any  # a pydantic model class, a JSON Schema dict, or None (no body)
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Operation:
    """One method of one route, as the document describes it."""

    summary: str = ""
    description: str = ""
    tags: tuple[str, ...] = ()
    request: Schema = None
    request_required: bool = True
    responses: dict[int, Schema] = field(default_factory=dict)
    errors: Schema = None  # every other status (4xx/5xx) answers this shape
    query: dict[str, dict[str, Any]] = field(default_factory=dict)
    path: dict[str, dict[str, Any]] = field(default_factory=dict)  # schemas of path params
    response_types: dict[int, str] = field(default_factory=dict)  # non-JSON bodies
    deprecated: bool = False


def operation(
    *,
    method: str = ANY_METHOD,
    summary: str = "",
    description: str = "",
    tags: tuple[str, ...] = (),
    request: Schema = None,
    request_required: bool = True,
    responses: dict[int, Schema] | None = None,
    errors: Schema = None,
    query: dict[str, dict[str, Any]] | None = None,
    path: dict[str, dict[str, Any]] | None = None,
    response_types: dict[int, str] | None = None,
) -> Callable[[F], F]:
    """Attach an `Operation` for `method` (all the function's methods by default)."""
    declared = Operation(
        summary=summary,
        description=description,
        tags=tags,
        request=request,
        request_required=request_required,
        responses=dict(responses or {}),
        errors=errors,
        query=dict(query or {}),
        path=dict(path or {}),
        response_types=dict(response_types or {}),
    )

    def attach(handler: F) -> F:
        operations = dict(getattr(handler, ATTRIBUTE, {}))
        operations[method.upper()] = declared
        setattr(handler, ATTRIBUTE, operations)
        return handler

    return attach


def declared_operation(handler: Any, method: str) -> Operation | None:
    """The operation a handler declared for a method (or for all), if any."""
    for candidate in (
        handler,
        getattr(handler, "client_function", None),
        getattr(handler, "__wrapped__", None),
    ):
        operations = getattr(candidate, ATTRIBUTE, None) if candidate is not None else None
        if operations:
            found: Operation | None = operations.get(method.upper()) or operations.get(ANY_METHOD)
            return found
    return None
