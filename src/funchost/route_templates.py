"""ASP.NET Core route templates, as Azure Functions HTTP triggers use them.

Why: `@app.route(route=...)` takes an ASP.NET Core route template (relative to the host's route
prefix, usually `api`). To serve an unchanged `function_app.py` locally the host must match
request paths exactly as the real Functions host does, including inline constraints, optional
parameters, catch-alls, complex segments such as `{modelId}:analyzeBatch`, and the precedence rule
that picks the most specific of several matching templates.

Input convention: `RouteTemplate.match` takes the *raw* request path (still percent-encoded),
relative to the route prefix, without the query string. It splits on `/`, then percent-decodes
each segment itself, so an encoded `%2F` stays inside a single segment (as in ASP.NET Core) and
captured values come back decoded. Leading and trailing slashes are ignored.

Result convention: a missing optional parameter (`{x?}`) is absent from the result dict; a
parameter with a default (`{x=abc}`) gets its default; a catch-all with nothing to capture is
`""` (or its default).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar
from urllib.parse import unquote

__all__ = [
    "Constraint",
    "Literal",
    "Parameter",
    "RouteTemplate",
    "RouteTemplateError",
    "Segment",
    "best_match",
    "compile_route",
]

T = TypeVar("T")

_INT32 = (-(2**31), 2**31 - 1)
_INT64 = (-(2**63), 2**63 - 1)
_DECIMAL_MAX = 79228162514264337593543950335
_INVALID_NAME_CHARS = set("{}/?*=:\\\"'&#%")


class RouteTemplateError(ValueError):
    """A route template that ASP.NET Core would reject."""


# --------------------------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Constraint:
    """One inline constraint (`int`, `min(1)`, `regex(...)`); `check` tests a decoded value."""

    name: str
    argument: str | None
    check: Callable[[str], bool] = field(compare=False, repr=False)


@dataclass(frozen=True)
class Literal:
    """Literal text inside a segment (compared case-insensitively)."""

    text: str


@dataclass(frozen=True)
class Parameter:
    """A `{name...}` part of a segment."""

    name: str
    constraints: tuple[Constraint, ...] = ()
    default: str | None = None
    optional: bool = False
    catch_all: bool = False

    @property
    def can_be_missing(self) -> bool:
        return self.optional or self.catch_all or self.default is not None


Part = Literal | Parameter


@dataclass(frozen=True)
class Segment:
    """One `/`-separated piece of a template."""

    parts: tuple[Part, ...]

    @property
    def is_literal(self) -> bool:
        return len(self.parts) == 1 and isinstance(self.parts[0], Literal)

    @property
    def parameter(self) -> Parameter | None:
        """The parameter when the segment is exactly one parameter, else None."""
        if len(self.parts) == 1 and isinstance(self.parts[0], Parameter):
            return self.parts[0]
        return None

    @property
    def is_complex(self) -> bool:
        return len(self.parts) > 1


# --------------------------------------------------------------------------------------------
# Constraints
# --------------------------------------------------------------------------------------------

_GUID_RE = re.compile(
    r"^(?:[0-9a-f]{32}"
    r"|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
    r"|\{[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\}"
    r"|\([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\))$",
    re.IGNORECASE,
)
_INTEGER_RE = re.compile(r"^\s*[+-]?\d+\s*$")
_FLOAT_RE = re.compile(r"^\s*[+-]?(?=[\d.])(?:\d[\d,]*)?(?:\.\d*)?(?:[eE][+-]?\d+)?\s*$")
_DECIMAL_RE = re.compile(r"^\s*[+-]?(?=[\d.])(?:\d[\d,]*)?(?:\.\d*)?[+-]?\s*$")
_FLOAT_SYMBOLS = {"nan", "infinity", "-infinity", "+infinity", "∞", "-∞"}
_DATE_FORMATS = (
    "%m/%d/%Y",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%Y/%m/%d",
    "%Y/%m/%d %H:%M:%S",
    "%d %B %Y",
    "%d %b %Y",
    "%B %d, %Y",
    "%b %d, %Y",
)


def _parse_integer(value: str, bounds: tuple[int, int]) -> int | None:
    if not _INTEGER_RE.match(value):
        return None
    number = int(value.strip())
    return number if bounds[0] <= number <= bounds[1] else None


def _is_int(value: str) -> bool:
    return _parse_integer(value, _INT32) is not None


def _is_long(value: str) -> bool:
    return _parse_integer(value, _INT64) is not None


def _is_bool(value: str) -> bool:
    return value.strip().lower() in ("true", "false")


def _is_guid(value: str) -> bool:
    return bool(_GUID_RE.match(value.strip()))


def _is_alpha(value: str) -> bool:
    return bool(re.fullmatch(r"[A-Za-z]*", value))


def _has_digit(value: str) -> bool:
    return any(ch.isdigit() for ch in value)


def _is_double(value: str) -> bool:
    if value.strip().lower() in _FLOAT_SYMBOLS:
        return True
    return bool(_FLOAT_RE.match(value)) and _has_digit(value.split("e")[0].split("E")[0])


def _is_decimal(value: str) -> bool:
    if not _DECIMAL_RE.match(value) or not _has_digit(value):
        return False
    text = value.strip()
    if text.endswith(("+", "-")) and text[0] in "+-":
        return False  # a sign on both ends
    digits = text.replace(",", "").strip("+-").split(".")[0] or "0"
    return int(digits) <= _DECIMAL_MAX


def _is_datetime(value: str) -> bool:
    text = value.strip()
    if not text:
        return False
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        return True
    except ValueError:
        pass
    for fmt in _DATE_FORMATS:
        try:
            datetime.strptime(text, fmt)
            return True
        except ValueError:
            continue
    return False


def _int_args(name: str, argument: str | None, count: int) -> list[int]:
    parts = [] if argument is None else [a.strip() for a in argument.split(",")]
    try:
        numbers = [int(p) for p in parts]
    except ValueError:
        numbers = []
    if len(numbers) != count:
        plural = "argument" if count == 1 else "arguments"
        raise RouteTemplateError(
            f"Constraint '{name}' needs {count} integer {plural}, got ({argument or ''})."
        )
    return numbers


def _length_constraint(name: str, argument: str | None) -> Callable[[str], bool]:
    count = 1 if argument is not None and "," not in argument else 2
    numbers = _int_args(name, argument, count)
    low, high = (numbers[0], numbers[0]) if count == 1 else (numbers[0], numbers[1])
    if low < 0 or high < low:
        raise RouteTemplateError(f"Constraint 'length({argument})' has an invalid range.")
    return lambda v: low <= len(v) <= high


def _bounded_constraint(name: str, argument: str | None) -> Callable[[str], bool]:
    if name == "minlength":
        (low,) = _int_args(name, argument, 1)
        return lambda v: len(v) >= low
    if name == "maxlength":
        (high,) = _int_args(name, argument, 1)
        return lambda v: len(v) <= high
    if name == "min":
        (low,) = _int_args(name, argument, 1)
        return lambda v: (n := _parse_integer(v, _INT64)) is not None and n >= low
    if name == "max":
        (high,) = _int_args(name, argument, 1)
        return lambda v: (n := _parse_integer(v, _INT64)) is not None and n <= high
    low, high = _int_args(name, argument, 2)
    if high < low:
        raise RouteTemplateError(f"Constraint 'range({argument})' has min greater than max.")
    return lambda v: (n := _parse_integer(v, _INT64)) is not None and low <= n <= high


def _dotnet_regex_to_python(expression: str) -> str:
    """Translate the .NET-only named-group syntax; everything else is shared."""
    expression = re.sub(r"\(\?<(?![=!])([A-Za-z_]\w*)>", r"(?P<\1>", expression)
    expression = re.sub(r"\(\?'([A-Za-z_]\w*)'", r"(?P<\1>", expression)
    return re.sub(r"\\k<([A-Za-z_]\w*)>", r"(?P=\1)", expression)


def _regex_constraint(name: str, argument: str | None) -> Callable[[str], bool]:
    if not argument:
        raise RouteTemplateError("Constraint 'regex' needs a pattern argument.")
    try:
        compiled = re.compile(_dotnet_regex_to_python(argument), re.IGNORECASE)
    except re.error as exc:
        raise RouteTemplateError(f"Invalid regex constraint '{argument}': {exc}") from exc
    # ASP.NET uses Regex.IsMatch: unanchored unless the pattern anchors itself.
    return lambda v: compiled.search(v) is not None


_SIMPLE_CONSTRAINTS: dict[str, Callable[[str], bool]] = {
    "int": _is_int,
    "long": _is_long,
    "bool": _is_bool,
    "guid": _is_guid,
    "alpha": _is_alpha,
    "double": _is_double,
    "float": _is_double,
    "decimal": _is_decimal,
    "datetime": _is_datetime,
    "required": lambda v: v != "",
}
_ARG_CONSTRAINTS: dict[str, Callable[[str, str | None], Callable[[str], bool]]] = {
    "minlength": _bounded_constraint,
    "maxlength": _bounded_constraint,
    "min": _bounded_constraint,
    "max": _bounded_constraint,
    "range": _bounded_constraint,
    "length": _length_constraint,
    "regex": _regex_constraint,
}


def _make_constraint(text: str) -> Constraint:
    match = re.fullmatch(r"([A-Za-z]\w*)(?:\((.*)\))?", text, re.DOTALL)
    if not match:
        raise RouteTemplateError(f"Invalid inline constraint '{text}'.")
    name, argument = match.group(1).lower(), match.group(2)
    if name in _SIMPLE_CONSTRAINTS:
        if argument is not None:
            raise RouteTemplateError(f"Constraint '{name}' takes no argument.")
        return Constraint(name, None, _SIMPLE_CONSTRAINTS[name])
    if name in _ARG_CONSTRAINTS:
        return Constraint(name, argument, _ARG_CONSTRAINTS[name](name, argument))
    raise RouteTemplateError(f"Unknown route constraint '{name}' in '{text}'.")


# --------------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------------


def _split_parts(template: str) -> list[list[tuple[str, str]]]:
    """Tokenize into segments of ("lit", text) / ("param", inner text), handling `{{` `}}`."""
    segments: list[list[tuple[str, str]]] = [[]]
    literal: list[str] = []
    i = 0

    def flush() -> None:
        if literal:
            segments[-1].append(("lit", "".join(literal)))
            literal.clear()

    while i < len(template):
        ch = template[i]
        if ch == "/":
            flush()
            segments.append([])
            i += 1
        elif ch in "{}" and template[i + 1 : i + 2] == ch:
            literal.append(ch)
            i += 2
        elif ch == "}":
            raise RouteTemplateError(f"Unbalanced '}}' in route template '{template}'.")
        elif ch == "{":
            flush()
            inner, i = _read_parameter(template, i + 1)
            segments[-1].append(("param", inner))
        else:
            literal.append(ch)
            i += 1
    flush()
    return segments


def _read_parameter(template: str, start: int) -> tuple[str, int]:
    """Read a parameter body after `{`; returns (body, index after the closing `}`)."""
    body: list[str] = []
    i = start
    while i < len(template):
        ch = template[i]
        if ch in "{}" and template[i + 1 : i + 2] == ch:
            body.append(ch)
            i += 2
        elif ch == "}":
            return "".join(body), i + 1
        elif ch == "{":
            raise RouteTemplateError(
                f"Unescaped '{{' inside a parameter in route template '{template}'."
            )
        else:
            body.append(ch)
            i += 1
    raise RouteTemplateError(f"Unbalanced '{{' in route template '{template}'.")


def _constraint_end(text: str, start: int) -> int:
    """Index just past the constraint that starts at `start` (text[start-1] is ':')."""
    i = start
    while i < len(text) and (text[i].isalnum() or text[i] == "_"):
        i += 1
    if i >= len(text) or text[i] != "(":
        return i
    # The argument ends at the first ')' followed by the end, '?', '=' or ':name'.
    close = text.find(")", i)
    while close != -1:
        rest = text[close + 1 :]
        if rest in ("", "?") or rest.startswith("=") or re.match(r":[A-Za-z]", rest):
            return close + 1
        close = text.find(")", close + 1)
    raise RouteTemplateError(f"Unterminated constraint argument in '{{{text}}}'.")


def _parse_parameter(body: str) -> Parameter:
    text = body
    catch_all = False
    if text.startswith("**"):
        text, catch_all = text[2:], True
    elif text.startswith("*"):
        text, catch_all = text[1:], True
    name_end = len(text)
    for stop in ":=?":
        pos = text.find(stop)
        if pos != -1:
            name_end = min(name_end, pos)
    name, rest = text[:name_end], text[name_end:]
    _validate_name(name, body)
    constraints: list[Constraint] = []
    while rest.startswith(":"):
        end = _constraint_end(rest, 1)
        constraints.append(_make_constraint(rest[1:end]))
        rest = rest[end:]
    default: str | None = None
    optional = False
    if rest.startswith("="):
        default, rest = rest[1:], ""
        if default.endswith("?"):
            raise RouteTemplateError(
                f"An optional parameter cannot have a default value: '{{{body}}}'."
            )
    elif rest == "?":
        optional, rest = True, ""
    if rest:
        raise RouteTemplateError(f"Invalid parameter '{{{body}}}'.")
    if catch_all and optional:
        raise RouteTemplateError(f"A catch-all parameter cannot be marked optional: '{{{body}}}'.")
    return Parameter(name, tuple(constraints), default, optional, catch_all)


def _validate_name(name: str, body: str) -> None:
    if not name:
        raise RouteTemplateError(f"Empty parameter name in '{{{body}}}'.")
    bad = _INVALID_NAME_CHARS.intersection(name)
    if bad or name.startswith("*"):
        raise RouteTemplateError(f"Invalid parameter name '{name}' in '{{{body}}}'.")


def _build_segment(tokens: list[tuple[str, str]], template: str) -> Segment:
    if not tokens:
        raise RouteTemplateError(
            f"The separator '/' cannot appear consecutively in route template '{template}'."
        )
    parts: list[Part] = []
    for kind, text in tokens:
        if kind == "lit":
            if "?" in text:
                raise RouteTemplateError(
                    f"Literal '{text}' in route template '{template}' cannot contain '?'."
                )
            parts.append(Literal(text))
        else:
            parts.append(_parse_parameter(text))
    parts = _split_optional_separator(parts, template)
    _validate_segment(parts, template)
    return Segment(tuple(parts))


def _split_optional_separator(parts: list[Part], template: str) -> list[Part]:
    """`{name}.{ext?}`: make the `.` before a trailing optional parameter its own part."""
    if len(parts) < 2 or not isinstance(parts[-1], Parameter) or not parts[-1].optional:
        return parts
    before = parts[-2]
    if not isinstance(before, Literal) or not before.text.endswith("."):
        shown = before.text if isinstance(before, Literal) else "{...}"
        raise RouteTemplateError(
            f"In route template '{template}' the optional parameter '{parts[-1].name}' is "
            f"preceded by '{shown}'; only a period (.) can precede an optional parameter."
        )
    head = [Literal(before.text[:-1])] if len(before.text) > 1 else []
    return [*parts[:-2], *head, Literal("."), parts[-1]]


def _validate_segment(parts: list[Part], template: str) -> None:
    for index, part in enumerate(parts):
        if not isinstance(part, Parameter):
            continue
        if part.catch_all and len(parts) > 1:
            raise RouteTemplateError(
                f"A segment with more than one part cannot hold catch-all '{part.name}' "
                f"in route template '{template}'."
            )
        if index > 0 and isinstance(parts[index - 1], Parameter):
            raise RouteTemplateError(
                f"Two consecutive parameters in one segment of route template '{template}'; "
                "separate them with '/' or a literal."
            )
        if part.optional and len(parts) > 1 and index != len(parts) - 1:
            raise RouteTemplateError(
                f"Optional parameter '{part.name}' must be at the end of its segment "
                f"in route template '{template}'."
            )


def _validate_template(segments: list[Segment], template: str) -> None:
    seen: set[str] = set()
    for index, segment in enumerate(segments):
        for part in segment.parts:
            if not isinstance(part, Parameter):
                continue
            key = part.name.lower()
            if key in seen:
                raise RouteTemplateError(
                    f"The parameter name '{part.name}' appears more than once "
                    f"in route template '{template}'."
                )
            seen.add(key)
            if part.catch_all and index != len(segments) - 1:
                raise RouteTemplateError(
                    f"Catch-all parameter '{part.name}' must be the last segment "
                    f"of route template '{template}'."
                )


def _strip_template(template: str) -> str:
    text = template.strip()
    text = text.removeprefix("~/")
    text = text.lstrip("/")
    if text.endswith("/"):
        text = text.rstrip("/")
    return text


def compile_route(template: str) -> RouteTemplate:
    """Parse an ASP.NET Core route template; raises RouteTemplateError when invalid."""
    text = _strip_template(template)
    segments = [] if text == "" else [_build_segment(t, template) for t in _split_parts(text)]
    _validate_template(segments, template)
    return RouteTemplate(template, tuple(segments))


# --------------------------------------------------------------------------------------------
# Matching
# --------------------------------------------------------------------------------------------


def _split_path(path: str) -> list[str]:
    text = path.split("?", 1)[0].strip("/")
    return [] if text == "" else text.split("/")


def _decode(raw: str) -> str:
    return unquote(raw, encoding="utf-8", errors="replace")


def _match_literal_part(text: str, literal: str) -> bool:
    return text.lower() == literal.lower()


def _rfind_ci(haystack: str, needle: str, end: int) -> int:
    """Last index where `needle` occurs entirely inside haystack[:end], case-insensitively."""
    wanted = needle.lower()
    for start in range(end - len(needle), -1, -1):
        if haystack[start : start + len(needle)].lower() == wanted:
            return start
    return -1


def _match_complex_core(parts: Sequence[Part], value: str) -> dict[str, str] | None:
    """ASP.NET's right-to-left complex-segment match: literals are found with LastIndexOf."""
    last_index = len(value)
    pending: Parameter | None = None
    last_literal: Literal | None = None
    out: dict[str, str] = {}
    for index in range(len(parts) - 1, -1, -1):
        part = parts[index]
        new_last = last_index
        if isinstance(part, Parameter):
            pending = part
        else:
            last_literal = part
            start = last_index - 1 if pending is not None else last_index
            if start <= 0:
                return None
            found = _rfind_ci(value, part.text, start)
            if found == -1:
                return None
            if index == len(parts) - 1 and found + len(part.text) != len(value):
                return None
            new_last = found
        if pending is not None and (
            (last_literal is not None and isinstance(part, Literal)) or index == 0
        ):
            if last_literal is None or (index == 0 and isinstance(part, Parameter)):
                begin, length = 0, last_index
            else:
                begin = new_last + len(last_literal.text)
                length = last_index - begin
            captured = value[begin : begin + length]
            if not captured:
                return None
            out[pending.name] = captured
            pending, last_literal = None, None
        last_index = new_last
    if last_index == 0 or isinstance(parts[0], Parameter):
        return out
    return None


def _match_complex(segment: Segment, value: str) -> dict[str, str] | None:
    parts = segment.parts
    tail = parts[-1]
    if isinstance(tail, Parameter) and tail.optional:
        full = _match_complex_core(parts, value)
        if full is not None:
            return full
        if value.endswith("."):
            return None
        return _match_complex_core(parts[:-2], value)
    return _match_complex_core(parts, value)


def _match_segment(segment: Segment, value: str) -> dict[str, str] | None:
    if segment.is_literal:
        literal = segment.parts[0]
        assert isinstance(literal, Literal)
        return {} if _match_literal_part(value, literal.text) else None
    parameter = segment.parameter
    if parameter is not None:
        return {parameter.name: value} if value else None
    return _match_complex(segment, value)


def _fill_missing(segment: Segment, values: dict[str, str]) -> bool:
    """A template segment with no path segment left: use its default, or fail."""
    parameter = segment.parameter
    if parameter is None or not parameter.can_be_missing:
        return False
    if parameter.default is not None:
        values[parameter.name] = parameter.default
    elif parameter.catch_all:
        values[parameter.name] = ""
    return True


def _constraints_hold(segments: Sequence[Segment], values: dict[str, str]) -> bool:
    for segment in segments:
        for part in segment.parts:
            if isinstance(part, Parameter) and part.name in values:
                value = values[part.name]
                if part.catch_all and value == "" and part.default is None:
                    continue
                if not all(c.check(value) for c in part.constraints):
                    return False
    return True


@dataclass(frozen=True)
class RouteTemplate:
    """A compiled route template; `match` a raw relative path, `precedence` to order matches."""

    template: str
    segments: tuple[Segment, ...]

    @property
    def parameter_names(self) -> list[str]:
        return [p.name for s in self.segments for p in s.parts if isinstance(p, Parameter)]

    @property
    def precedence(self) -> tuple[int, ...]:
        """Smaller sorts first (more specific). One digit per segment, as ASP.NET's inbound
        precedence: literal 1, complex 2, constrained parameter 3, parameter 4, constrained
        catch-all 5, catch-all 6. Tuples compare segment by segment."""
        return tuple(_precedence_digit(s) for s in self.segments)

    def match(self, path: str) -> dict[str, str] | None:
        """Match a raw (percent-encoded) path relative to the route prefix; decoded captures."""
        raw = _split_path(path)
        values: dict[str, str] = {}
        for index, segment in enumerate(self.segments):
            parameter = segment.parameter
            if parameter is not None and parameter.catch_all:
                rest = "/".join(_decode(r) for r in raw[index:])
                values[parameter.name] = rest or (parameter.default or "")
                return values if _constraints_hold(self.segments, values) else None
            if index >= len(raw):
                if not _fill_missing(segment, values):
                    return None
                continue
            captured = _match_segment(segment, _decode(raw[index]))
            if captured is None:
                return None
            values.update(captured)
        if len(raw) > len(self.segments):
            return None
        return values if _constraints_hold(self.segments, values) else None


def _precedence_digit(segment: Segment) -> int:
    if segment.is_complex:
        return 2
    if segment.is_literal:
        return 1
    parameter = segment.parameter
    assert parameter is not None
    base = 6 if parameter.catch_all else 4
    return base - 1 if parameter.constraints else base


def best_match(
    templates: Sequence[tuple[RouteTemplate, T]], path: str
) -> tuple[T, dict[str, str]] | None:
    """The value of the most specific matching template (ties: the earliest listed)."""
    best: tuple[tuple[tuple[int, ...], int], T, dict[str, str]] | None = None
    for order, (template, value) in enumerate(templates):
        key = (template.precedence, order)
        if best is not None and key >= best[0]:
            continue
        captured = template.match(path)
        if captured is not None:
            best = (key, value, captured)
    return None if best is None else (best[1], best[2])
