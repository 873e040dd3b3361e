"""Analysis options of a request (`pages`, `locale`, `stringIndexType`, `features`,
`outputContentFormat`), parsed once at the edge and carried to the model as plain data.

Why here and not in the API layer: the models decide what they can honour (a feature the model
cannot compute is refused, never ignored), and batch activities rebuild the options from the
job's stored JSON, so parsing and (de)serialising live next to the code that uses them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from batchinfer.models.ocr.errors import InvalidPagesError

STRING_INDEX_TYPES = ("textElements", "unicodeCodePoint", "utf16CodeUnit")
CONTENT_FORMATS = ("text", "markdown")
KNOWN_FEATURES = (
    "ocrHighResolution",
    "languages",
    "barcodes",
    "formulas",
    "styleFont",
    "keyValuePairs",
    "queryFields",
)
"""Every `features` value the 2024-11-30 API defines; which ones a model honours is its own."""

_RANGE = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$")
_LOCALE = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")
MAX_PAGE_NUMBER = 100_000


class OptionError(ValueError):
    """An option the request got wrong or the model cannot honour (a 400 at the edge)."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(message)
        self.parameter = parameter
        self.message = message


@dataclass(frozen=True)
class PageSelection:
    """1-based inclusive page ranges, as in `pages=1-3,5`; never expanded into a set."""

    ranges: tuple[tuple[int, int], ...]

    def __contains__(self, page: object) -> bool:
        return isinstance(page, int) and any(a <= page <= b for a, b in self.ranges)

    @property
    def last(self) -> int:
        return max(b for _, b in self.ranges)

    def check_within(self, page_count: int) -> None:
        """Raise `InvalidPagesError` when a range starts past the document's last page."""
        beyond = [a for a, _ in self.ranges if a > page_count]
        if beyond:
            raise InvalidPagesError(
                f"The parameter pages is invalid: page {beyond[0]} is out of range; the "
                f"document has {page_count} page{'s' if page_count != 1 else ''}."
            )

    def text(self) -> str:
        return ",".join(f"{a}" if a == b else f"{a}-{b}" for a, b in self.ranges)


def parse_pages(text: str) -> PageSelection:
    """`1-3,5,7-9` → ranges; raises `OptionError` for empty, reversed or zero page numbers."""
    ranges: list[tuple[int, int]] = []
    for part in text.split(","):
        match = _RANGE.match(part)
        if not match:
            raise OptionError(
                "pages",
                f"The parameter pages is invalid: {text!r} is not a list "
                "of page numbers and ranges such as '1-3,5'.",
            )
        first = int(match.group(1))
        last = int(match.group(2)) if match.group(2) else first
        if first < 1 or last < first or last > MAX_PAGE_NUMBER:
            raise OptionError(
                "pages",
                f"The parameter pages is invalid: range {part.strip()!r} "
                "must be ascending page numbers from 1.",
            )
        ranges.append((first, last))
    return PageSelection(tuple(ranges))


@dataclass(frozen=True)
class AnalyzeOptions:
    """What a request asks of the model, beyond the document itself."""

    pages: PageSelection | None = None
    locale: str | None = None
    string_index_type: str = "textElements"
    content_format: str = "text"
    features: frozenset[str] = field(default_factory=frozenset)

    def to_json(self) -> dict[str, Any]:
        """The request's own names, so the stored job reads like what the user sent."""
        body: dict[str, Any] = {
            "stringIndexType": self.string_index_type,
            "outputContentFormat": self.content_format,
            "features": sorted(self.features),
        }
        if self.pages is not None:
            body["pages"] = self.pages.text()
        if self.locale is not None:
            body["locale"] = self.locale
        return body

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> AnalyzeOptions:
        return parse_options(data or {}, KNOWN_FEATURES)


def _as_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [v for v in (p.strip() for p in value.split(",")) if v]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [v.strip() for v in value if v.strip()]
    raise OptionError("features", "The parameter features must be a list of feature names.")


def _choice(data: Mapping[str, Any], name: str, allowed: tuple[str, ...], default: str) -> str:
    value = data.get(name)
    if value is None:
        return default
    for choice in allowed:  # the service matches enum values case-insensitively
        if isinstance(value, str) and value.lower() == choice.lower():
            return choice
    raise OptionError(
        name, f"The parameter {name} is invalid: {value!r} is not one of {', '.join(allowed)}."
    )


def parse_options(
    data: Mapping[str, Any],
    supported_features: Iterable[str],
    model_id: str = "this model",
    content_formats: tuple[str, ...] = CONTENT_FORMATS,
) -> AnalyzeOptions:
    """Validate raw option values (query or body strings); refuse what the model can't honour."""
    for unsupported in ("queryFields", "output"):
        if data.get(unsupported):
            raise OptionError(
                unsupported, f"The parameter {unsupported} is not supported by {model_id}."
            )
    pages = data.get("pages")
    if pages is not None and not isinstance(pages, str):
        raise OptionError("pages", "The parameter pages must be a string such as '1-3,5'.")
    locale = data.get("locale")
    if locale is not None and (not isinstance(locale, str) or not _LOCALE.match(locale)):
        raise OptionError(
            "locale",
            f"The parameter locale is invalid: {locale!r} is not a "
            "language tag such as 'en' or 'en-US'.",
        )
    features = _as_list(data.get("features") or [])
    supported = set(supported_features)
    for feature in features:
        known = {k.lower(): k for k in KNOWN_FEATURES}
        name = known.get(feature.lower())
        if name is None:
            raise OptionError(
                "features", f"The parameter features is invalid: unknown feature {feature!r}."
            )
        if name not in supported:
            raise OptionError(
                "features",
                f"The feature {name!r} is not supported by "
                f"{model_id}; supported: "
                f"{', '.join(sorted(supported)) or 'none'}.",
            )
    canonical = {k.lower(): k for k in KNOWN_FEATURES}
    content_format = _choice(data, "outputContentFormat", CONTENT_FORMATS, "text")
    if content_format not in content_formats:
        raise OptionError(
            "outputContentFormat",
            f"The parameter outputContentFormat is invalid: "
            f"{model_id} supports "
            f"{', '.join(content_formats)}.",
        )
    return AnalyzeOptions(
        pages=parse_pages(pages) if pages else None,
        locale=locale,
        string_index_type=_choice(data, "stringIndexType", STRING_INDEX_TYPES, "textElements"),
        content_format=content_format,
        features=frozenset(canonical[f.lower()] for f in features),
    )
