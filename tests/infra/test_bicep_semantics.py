"""Parameters make sense, as `bicep build` and Azure would check them.

Why: the syntax tests passed while `main.bicep` could not deploy (an `@allowed([2048, 4096])`
had slid from `flexInstanceMemoryMB` onto `@secure() param apiKeys string = ''`). These check
that every decorator fits its parameter, every parameter is used and every value in
`main.parameters.json` binds a parameter, over all Bicep files; the snippet tests prove the
checks see the bug they exist for.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.infra.bicep_semantics import (
    decorator_problems,
    param_type,
    parameters_file_problems,
    unused_parameters,
)
from tests.infra.bicep_tree import INFRA, bicep_files, literal, parse, parse_text

FILES = bicep_files()
IDS = [path.relative_to(INFRA).as_posix() for path in FILES]


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_decorators_fit_their_parameters(path: Path) -> None:
    assert decorator_problems(parse(path)) == []


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_every_parameter_is_used(path: Path) -> None:
    assert unused_parameters(parse(path)) == []


def test_every_bound_parameter_exists() -> None:
    assert parameters_file_problems(parse("main.bicep"), INFRA / "main.parameters.json") == []


def test_flex_memory_keeps_its_allowed_sizes_and_api_keys_stay_secure() -> None:
    main = parse("main.bicep")
    memory = main.get("param", "flexInstanceMemoryMB")
    assert param_type(memory) == "int"
    assert literal(memory.decorator_args("allowed")[0]) == [2048, 4096]
    keys = main.get("param", "apiKeys")
    assert keys.decorator("secure") is not None and keys.decorator("allowed") is None


# ----------------------------------------------------------- the checks see what they exist for


def test_the_misplaced_allowed_is_reported() -> None:
    snippet = parse_text("""
@allowed([
  2048
  4096
])
@secure()
param apiKeys string = ''
output keys string = apiKeys
""")
    problems = decorator_problems(snippet)
    assert any(
        "@allowed values ['2048', '4096'] are not of its type string" in p for p in problems
    ), problems
    assert any("default '' is not one of the @allowed values" in p for p in problems), problems


@pytest.mark.parametrize(
    ("declaration", "expected"),
    [
        ("@minValue(1)\nparam a string = 'x'", "@minValue needs an int parameter, not string"),
        ("@maxLength(2)\nparam a int = 3", "@maxLength needs a string or array parameter, not int"),
        ("@secure()\nparam a int = 3", "@secure needs a string or object parameter, not int"),
        ("@maxValue(10)\nparam a int = 11", "default 11 is outside @maxValue(10)"),
        ("@minLength(3)\nparam a string = 'ab'", "default of length 2 is outside @minLength(3)"),
        ("@allowed(['x', 'y'])\nparam a string = 'z'", "default 'z' is not one of the @allowed"),
        ("param a int = 'four'", "default 'four' is not a int"),
    ],
)
def test_misfit_decorators_are_reported(declaration: str, expected: str) -> None:
    problems = decorator_problems(parse_text(declaration + "\noutput o string = '${a}'\n"))
    assert any(expected in p for p in problems), problems


def test_fitting_decorators_pass() -> None:
    snippet = parse_text("""
@minValue(1)
@maxValue(10)
param count int = 5
@minLength(1)
@maxLength(8)
param names array = ['a']
@secure()
param settings object = {}
@allowed(['User', 'ServicePrincipal'])
param kind string = 'User'
param location string = resourceGroup().location
output o string = '${count}${length(names)}${settings.a}${kind}${location}'
""")
    assert decorator_problems(snippet) == []
    assert unused_parameters(snippet) == []


def test_param_only_decorators_elsewhere_are_reported() -> None:
    snippet = parse_text("@secure()\nvar v = 'x'\noutput o string = v\n")
    assert decorator_problems(snippet) == [
        "infra/inline.bicep: var v: @secure only applies to parameters"
    ]


def test_unused_parameters_are_reported_but_keys_and_properties_are_not_uses() -> None:
    snippet = parse_text("""
param used string
param keyOnly string
param propertyOnly string
var v = {
  keyOnly: used
}
output o string = v.propertyOnly
""")
    assert unused_parameters(snippet) == [
        "infra/inline.bicep: param keyOnly is never used",
        "infra/inline.bicep: param propertyOnly is never used",
    ]


def test_unknown_bound_parameters_are_reported(tmp_path: Path) -> None:
    bound = tmp_path / "main.parameters.json"
    bound.write_text('{"parameters": {"location": {"value": "x"}, "gone": {"value": 1}}}')
    assert parameters_file_problems(parse("main.bicep"), bound) == [
        "main.parameters.json: gone is not a parameter of infra/main.bicep"
    ]
