"""A small read-only view of Bicep files, built on the tree-sitter-bicep grammar.

Why: the infra tests assert facts about the templates (which resources exist, which properties
they set, which app settings the function app gets) without an Azure subscription or the Bicep
CLI. Walking the parse tree keeps those assertions about structure, not about how the text happens
to be laid out, and the same parse proves every file is syntactically well formed.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tree_sitter_bicep
from tree_sitter import Language, Node, Parser

__all__ = [
    "REPO_ROOT",
    "INFRA",
    "BicepFile",
    "Declaration",
    "bicep_files",
    "parse",
    "parse_text",
    "syntax_problems",
    "object_keys",
    "prop",
    "literal",
    "string_text",
]

REPO_ROOT = Path(__file__).resolve().parents[2]
INFRA = REPO_ROOT / "infra"

_PARSER = Parser(Language(tree_sitter_bicep.language()))

_DECLARATION_KINDS = {
    "parameter_declaration": "param",
    "variable_declaration": "var",
    "resource_declaration": "resource",
    "module_declaration": "module",
    "output_declaration": "output",
}


@dataclass(frozen=True)
class Declaration:
    """One top-level `param`/`var`/`resource`/`module`/`output` with the decorators above it."""

    kind: str
    name: str
    node: Node
    decorators: tuple[Node, ...]

    @property
    def type_string(self) -> str | None:
        """`'Microsoft.X/y@api'` of a resource, or the path of a module."""
        for child in self.node.named_children:
            if child.type == "string":
                return string_text(child)
        return None

    @property
    def resource_type(self) -> str | None:
        """The resource type without its API version, e.g. `Microsoft.App/containerApps`."""
        if self.kind != "resource" or self.type_string is None:
            return None
        return self.type_string.split("@", 1)[0]

    @property
    def is_existing(self) -> bool:
        return any(child.type == "existing" for child in self.node.children)

    @property
    def condition(self) -> Node | None:
        """The `if (...)` condition of a conditional resource or module."""
        for child in self.node.named_children:
            if child.type == "if_statement":
                return next(c for c in child.named_children if c.type == "parenthesized_expression")
        return None

    @property
    def body(self) -> Node | None:
        """The object after `=`, looking through `if (...)` and `[for ...: ...]`."""
        for child in self.node.named_children:
            found = _object_inside(child)
            if found is not None:
                return found
        return None

    @property
    def value(self) -> Node | None:
        """The expression after `=` of a param default, var or output."""
        seen_equals = False
        for child in self.node.children:
            if seen_equals:
                return child
            seen_equals = child.type == "="
        return None

    def decorator(self, name: str) -> Node | None:
        """The call node of `@name(...)` above this declaration."""
        for deco in self.decorators:
            call = next((c for c in deco.named_children if c.type == "call_expression"), None)
            if call is not None and _call_name(call) == name:
                return call
        return None

    def decorator_args(self, name: str) -> list[Node]:
        call = self.decorator(name)
        if call is None:
            return []
        args = next(c for c in call.named_children if c.type == "arguments")
        return list(args.named_children)


def _object_inside(node: Node) -> Node | None:
    if node.type == "object":
        return node
    if node.type in ("if_statement", "for_statement"):
        for child in node.named_children:
            found = _object_inside(child)
            if found is not None:
                return found
    return None


def _call_name(call: Node) -> str:
    function = call.child_by_field_name("function") or call.named_children[0]
    return function.text.decode()


@dataclass(frozen=True)
class BicepFile:
    path: Path
    root: Node

    @property
    def relative(self) -> str:
        return self.path.relative_to(REPO_ROOT).as_posix()

    def declarations(self, kind: str | None = None) -> list[Declaration]:
        found: list[Declaration] = []
        pending: list[Node] = []
        for child in self.root.named_children:
            if child.type == "decorators":
                pending.extend(c for c in child.named_children if c.type == "decorator")
                continue
            if child.type in _DECLARATION_KINDS:
                name_node = next(c for c in child.named_children if c.type == "identifier")
                found.append(
                    Declaration(
                        _DECLARATION_KINDS[child.type],
                        name_node.text.decode(),
                        child,
                        tuple(pending),
                    )
                )
            if child.type != "comment":
                pending = []
        return [d for d in found if kind is None or d.kind == kind]

    def get(self, kind: str, name: str) -> Declaration:
        matches = [d for d in self.declarations(kind) if d.name == name]
        assert matches, f"{self.relative}: no {kind} named {name}"
        return matches[0]

    def names(self, kind: str) -> set[str]:
        return {d.name for d in self.declarations(kind)}

    def resources(self, resource_type: str | None = None) -> list[Declaration]:
        return [
            d
            for d in self.declarations("resource")
            if resource_type is None or d.resource_type == resource_type
        ]

    def modules(self) -> list[Declaration]:
        return self.declarations("module")

    def target_scope(self) -> str | None:
        for child in self.root.named_children:
            if child.type == "target_scope_assignment":
                value = next(c for c in child.named_children if c.type == "string")
                return string_text(value)
        return None


def bicep_files() -> list[Path]:
    return sorted(INFRA.rglob("*.bicep"))


@functools.lru_cache(maxsize=None)
def parse(path: Path | str) -> BicepFile:
    path = Path(path)
    if not path.is_absolute():
        path = INFRA / path
    tree = _PARSER.parse(path.read_bytes())
    return BicepFile(path.resolve(), tree.root_node)


def parse_text(source: str, name: str = "inline.bicep") -> BicepFile:
    """A snippet parsed as if it were `infra/<name>` (for tests of the checks themselves)."""
    return BicepFile(INFRA / name, _PARSER.parse(source.encode()).root_node)


def syntax_problems(node: Node) -> Iterator[str]:
    """Every ERROR or MISSING node under `node`, as `line:col type text`."""
    if node.type == "ERROR" or node.is_missing:
        line, column = node.start_point
        kind = "MISSING" if node.is_missing else "ERROR"
        yield f"{line + 1}:{column + 1} {kind} {node.text.decode()[:60]!r}"
    for child in node.children:
        yield from syntax_problems(child)


def _key_text(key: Node) -> str:
    return string_text(key) if key.type == "string" else key.text.decode()


def object_keys(obj: Node) -> list[str]:
    """Property names of an object literal, in order."""
    assert obj.type == "object", obj.type
    keys = []
    for child in obj.named_children:
        if child.type == "object_property":
            keys.append(_key_text(child.named_children[0]))
    return keys


def prop(obj: Node | None, *path: str) -> Node | None:
    """The value node at `path` inside nested object literals (None when absent)."""
    node = obj
    for name in path:
        if node is None or node.type != "object":
            return None
        node = next(
            (
                c.named_children[-1]
                for c in node.named_children
                if c.type == "object_property" and _key_text(c.named_children[0]) == name
            ),
            None,
        )
    return node


def string_text(node: Node) -> str:
    """A string literal's text; interpolations are kept as `${...}` source text."""
    assert node.type == "string", node.type
    parts = []
    for child in node.named_children:
        if child.type == "string_content":
            parts.append(child.text.decode())
        elif child.type == "escape_sequence":
            parts.append(child.text.decode()[1:])
        else:
            parts.append(child.text.decode())
    return "".join(parts)


def literal(node: Node | None) -> Any:
    """Python value of a literal (string, number, bool, null, array, object); else the source text."""
    if node is None:
        return None
    if node.type == "string":
        return string_text(node)
    if node.type == "number":
        return int(node.text.decode())
    if node.type == "boolean":
        return node.text.decode() == "true"
    if node.type == "null":
        return None
    if node.type == "array":
        return [literal(c) for c in node.named_children if c.type != "comment"]
    if node.type == "object":
        return {
            _key_text(c.named_children[0]): literal(c.named_children[-1])
            for c in node.named_children
            if c.type == "object_property"
        }
    return node.text.decode()
