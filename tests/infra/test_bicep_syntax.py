"""Every Bicep file parses cleanly, and the files agree with each other where a compiler would check.

Why: there is no Bicep CLI or Azure subscription in CI, so these are the cheap stand-ins for
`bicep build`: a clean tree-sitter parse, module paths that exist, module parameters that the
module declares (and every required one passed), and `x.outputs.y` references that exist.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.infra.bicep_tree import INFRA, BicepFile, Declaration, bicep_files, parse, prop
from tests.infra.bicep_tree import object_keys, syntax_problems

FILES = bicep_files()


def test_infra_has_the_expected_modules() -> None:
    names = {path.relative_to(INFRA).as_posix() for path in FILES}
    assert {
        "main.bicep",
        "app/rbac.bicep",
        "app/function-app.bicep",
        "app/flex-function.bicep",
        "core/storage.bicep",
        "core/monitoring.bicep",
        "core/dts.bicep",
        "core/registry.bicep",
        "core/containerapps-env.bicep",
        "core/eventgrid.bicep",
    } <= names


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.relative_to(INFRA).as_posix())
def test_bicep_file_parses_without_errors(path: Path) -> None:
    parsed = parse(path)
    problems = list(syntax_problems(parsed.root))
    assert not problems, f"{parsed.relative}: " + "; ".join(problems)
    assert not parsed.root.has_error
    assert parsed.declarations(), f"{parsed.relative} declares nothing"


def _module_target(owner: BicepFile, module: Declaration) -> BicepFile:
    assert module.type_string is not None
    target = (owner.path.parent / module.type_string).resolve()
    assert target.is_file(), (
        f"{owner.relative}: module {module.name} -> missing {module.type_string}"
    )
    return parse(target)


def _modules() -> list[tuple[BicepFile, Declaration]]:
    return [(parse(path), module) for path in FILES for module in parse(path).modules()]


@pytest.mark.parametrize(
    ("owner", "module"),
    _modules(),
    ids=lambda v: v.name if isinstance(v, Declaration) else v.relative,
)
def test_module_params_match_the_module(owner: BicepFile, module: Declaration) -> None:
    target = _module_target(owner, module)
    params = prop(module.body, "params")
    assert params is not None, f"{owner.relative}: module {module.name} passes no params"
    passed = set(object_keys(params))
    declared = target.names("param")
    assert passed <= declared, f"{module.name}: unknown params {sorted(passed - declared)}"
    required = {p.name for p in target.declarations("param") if p.value is None}
    assert required <= passed, f"{module.name}: missing required params {sorted(required - passed)}"


def _member_chains(node) -> list[tuple[str, ...]]:  # type: ignore[no-untyped-def]
    """Every `a.b.c` chain (outermost member expressions only) under node."""
    chains: list[tuple[str, ...]] = []

    def flatten(member) -> tuple[str, ...] | None:  # type: ignore[no-untyped-def]
        obj = member.child_by_field_name("object")
        prop_node = member.child_by_field_name("property")
        if obj is None or prop_node is None:
            return None
        if obj.type == "identifier":
            head: tuple[str, ...] | None = (obj.text.decode(),)
        elif obj.type == "member_expression":
            head = flatten(obj)
        else:
            return None
        return None if head is None else head + (prop_node.text.decode(),)

    def walk(n) -> None:  # type: ignore[no-untyped-def]
        if n.type == "member_expression":
            chain = flatten(n)
            if chain is not None:
                chains.append(chain)
                return
        for child in n.children:
            walk(child)

    walk(node)
    return chains


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.relative_to(INFRA).as_posix())
def test_module_output_references_exist(path: Path) -> None:
    owner = parse(path)
    modules = {m.name: _module_target(owner, m) for m in owner.modules()}
    for chain in _member_chains(owner.root):
        if len(chain) >= 3 and chain[0] in modules and chain[1] == "outputs":
            assert chain[2] in modules[chain[0]].names("output"), (
                f"{owner.relative}: {'.'.join(chain[:3])} is not an output of {chain[0]}"
            )


def test_abbreviations_used_by_main_exist() -> None:
    import json

    abbreviations = json.loads((INFRA / "abbreviations.json").read_text())
    main = parse("main.bicep")
    assert "loadJsonContent('abbreviations.json')" in main.get("var", "abbrs").value.text.decode()
    used = {chain[1] for chain in _member_chains(main.root) if chain[0] == "abbrs"}
    assert used, "main.bicep names nothing from abbreviations.json"
    assert used <= set(abbreviations), sorted(used - set(abbreviations))


def test_no_keys_are_fetched_anywhere() -> None:
    """Identity-based connections only: no listKeys()/listSecrets() and no AccountKey strings."""

    def calls(node) -> list[str]:  # type: ignore[no-untyped-def]
        names = []
        if node.type == "call_expression":
            function = node.child_by_field_name("function")
            if function is not None:
                names.append(function.text.decode())
        for child in node.children:
            names.extend(calls(child))
        return names

    for path in FILES:
        parsed = parse(path)
        used = calls(parsed.root)
        assert not {n for n in used if n.startswith("list")}, f"{parsed.relative}: {used}"
        for decl in parsed.declarations():
            assert "AccountKey=" not in decl.node.text.decode(), parsed.relative
