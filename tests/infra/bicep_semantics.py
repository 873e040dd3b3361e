"""Checks a compiler would make on parameters, over the tree-sitter view of a Bicep file.

Why: a clean parse does not mean a template deploys. A decorator that slid onto the wrong
parameter (an `@allowed([2048, 4096])` above a `@secure() string = ''`) parses fine and fails
only in Azure. These functions return readable problems instead of raising, so one test lists
every problem of every file, and a test can feed them a broken snippet to prove they notice.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tree_sitter import Node

from tests.infra.bicep_tree import BicepFile, Declaration, literal

__all__ = ["decorator_problems", "parameters_file_problems", "unused_parameters"]

PARAM_ONLY_DECORATORS = {"allowed", "minValue", "maxValue", "minLength", "maxLength", "secure"}
LENGTH_TYPES = {"string", "array"}
SECURE_TYPES = {"string", "object"}
_LITERAL_KINDS = {
    "string": "string",
    "number": "int",
    "boolean": "bool",
    "array": "array",
    "object": "object",
}


def param_type(param: Declaration) -> str:
    """The declared type's source text: `string`, `int`, `bool`, `object`, `array`, ..."""
    node = next((c for c in param.node.named_children if c.type == "type"), None)
    return node.text.decode() if node is not None else "?"


def _decorator_names(declaration: Declaration) -> Iterator[tuple[str, list[Node]]]:
    for deco in declaration.decorators:
        call = next((c for c in deco.named_children if c.type == "call_expression"), None)
        if call is None:
            continue
        name = (call.child_by_field_name("function") or call.named_children[0]).text.decode()
        yield name, declaration.decorator_args(name)


def _literal_kind(node: Node | None) -> str | None:
    """`string`/`int`/`bool`/... for a literal node; None for an expression (not checkable)."""
    return None if node is None else _LITERAL_KINDS.get(node.type)


def _int_arg(args: list[Node]) -> int | None:
    return int(args[0].text.decode()) if len(args) == 1 and args[0].type == "number" else None


def _check_param(param: Declaration) -> Iterator[str]:
    kind = param_type(param)
    default = param.value
    default_kind = _literal_kind(default)
    default_value: Any = literal(default) if default_kind else None
    for name, args in _decorator_names(param):
        if name == "allowed":
            values = args[0] if len(args) == 1 and args[0].type == "array" else None
            if values is None:
                yield "@allowed takes one array"
                continue
            items = [c for c in values.named_children if c.type != "comment"]
            wrong = [
                c.text.decode()
                for c in items
                if _literal_kind(c) not in (kind, None) and kind != "array"
            ]
            if wrong:
                yield f"@allowed values {wrong} are not of its type {kind}"
            if (
                default_kind
                and kind != "array"
                and default_value not in [literal(c) for c in items]
            ):
                yield f"default {default_value!r} is not one of the @allowed values"
        elif name in ("minValue", "maxValue"):
            bound = _int_arg(args)
            if kind != "int":
                yield f"@{name} needs an int parameter, not {kind}"
            elif bound is None:
                yield f"@{name} takes one integer"
            elif default_kind == "int" and (
                default_value < bound if name == "minValue" else default_value > bound
            ):
                yield f"default {default_value} is outside @{name}({bound})"
        elif name in ("minLength", "maxLength"):
            bound = _int_arg(args)
            if kind not in LENGTH_TYPES:
                yield f"@{name} needs a string or array parameter, not {kind}"
            elif bound is None:
                yield f"@{name} takes one integer"
            elif default_kind in LENGTH_TYPES and (
                len(default_value) < bound if name == "minLength" else len(default_value) > bound
            ):
                yield f"default of length {len(default_value)} is outside @{name}({bound})"
        elif name == "secure" and kind not in SECURE_TYPES:
            yield f"@secure needs a string or object parameter, not {kind}"
    if default_kind and kind in _LITERAL_KINDS.values() and default_kind != kind:
        yield f"default {default.text.decode()} is not a {kind}"  # type: ignore[union-attr]


def decorator_problems(file: BicepFile) -> list[str]:
    """Decorators that do not fit the declaration (or the parameter type) they sit on."""
    problems: list[str] = []
    for declaration in file.declarations():
        where = f"{file.relative}: {declaration.kind} {declaration.name}"
        if declaration.kind == "param":
            problems.extend(f"{where}: {problem}" for problem in _check_param(declaration))
            continue
        for name, _ in _decorator_names(declaration):
            if name in PARAM_ONLY_DECORATORS:
                problems.append(f"{where}: @{name} only applies to parameters")
    return problems


def _references(node: Node) -> Iterator[str]:
    """Identifiers used as values: not declared names, object keys, function names or
    property names after a dot."""
    skip: set[int] = set()
    if node.type.endswith("_declaration"):
        name = next((c for c in node.named_children if c.type == "identifier"), None)
        if name is not None:
            skip.add(name.id)
    elif node.type == "object_property" and node.named_children:
        skip.add(node.named_children[0].id)
    elif node.type == "call_expression":
        function = node.child_by_field_name("function")
        if function is not None:
            skip.add(function.id)
    for child in node.named_children:
        if child.type == "identifier" and child.id not in skip:
            yield child.text.decode()
        yield from _references(child)


def unused_parameters(file: BicepFile) -> list[str]:
    used = set(_references(file.root))
    return [
        f"{file.relative}: param {param.name} is never used"
        for param in file.declarations("param")
        if param.name not in used
    ]


def parameters_file_problems(main: BicepFile, parameters_json: Path) -> list[str]:
    """Every value in the parameters file must bind a parameter the template declares."""
    declared = main.names("param")
    bound = json.loads(parameters_json.read_text())["parameters"]
    return [
        f"{parameters_json.name}: {name} is not a parameter of {main.relative}"
        for name in bound
        if name not in declared
    ]
