"""Blob trigger path patterns (`"<container>/<blob-name pattern>"`), as WebJobs parses them.

Why: the blob trigger's `path` decides which blobs fire the function and what binding data
(`{name}`, `{ext}`...) the function sees. WebJobs turns every `{x}` of the blob-name part into a
greedy `(?<x>.*)` group in an anchored, case-sensitive regex, with `{{`/`}}` as literal braces, so
`uploads/{name}` matches `uploads/a/b.txt` with name = `a/b.txt`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["BlobPathError", "BlobPathPattern"]

_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_\-.]*")


class BlobPathError(ValueError):
    """A blob trigger path that cannot be used."""


def _tokenize(pattern: str, path: str) -> list[tuple[str, str]]:
    """Split a blob-name pattern into ("lit", text) and ("param", name) tokens."""
    tokens: list[tuple[str, str]] = []
    literal: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch in "{}" and pattern[i + 1 : i + 2] == ch:
            literal.append(ch)
            i += 2
        elif ch == "}":
            raise BlobPathError(f"Unbalanced '}}' in blob trigger path '{path}'.")
        elif ch == "{":
            end = pattern.find("}", i + 1)
            if end == -1:
                raise BlobPathError(f"Unbalanced '{{' in blob trigger path '{path}'.")
            if literal:
                tokens.append(("lit", "".join(literal)))
                literal.clear()
            tokens.append(("param", _param_name(pattern[i + 1 : end], path)))
            i = end + 1
        else:
            literal.append(ch)
            i += 1
    if literal:
        tokens.append(("lit", "".join(literal)))
    return tokens


def _param_name(text: str, path: str) -> str:
    name = text.strip()
    if not _NAME_RE.fullmatch(name):
        raise BlobPathError(f"Invalid parameter '{{{text}}}' in blob trigger path '{path}'.")
    return name


def _build_regex(
    tokens: list[tuple[str, str]], path: str
) -> tuple[re.Pattern[str], tuple[str, ...]]:
    pieces: list[str] = []
    names: list[str] = []
    for kind, text in tokens:
        if kind == "lit":
            pieces.append(re.escape(text))
            continue
        if text in names:
            raise BlobPathError(
                f"Parameter '{{{text}}}' appears twice in blob trigger path '{path}'."
            )
        pieces.append(f"(?P<g{len(names)}>.*)")
        names.append(text)
    return re.compile("^" + "".join(pieces) + "$", re.DOTALL), tuple(names)


@dataclass(frozen=True)
class BlobPathPattern:
    """A parsed blob trigger path: the container, and a matcher for blob names inside it."""

    path: str
    container: str
    blob_pattern: str
    literal_prefix: str
    parameter_names: tuple[str, ...]
    regex: re.Pattern[str]

    @classmethod
    def parse(cls, path: str) -> BlobPathPattern:
        """Parse `"container"` or `"container/<blob-name pattern>"`."""
        text = path.strip().lstrip("/")
        container, _, blob_pattern = text.partition("/")
        if not container:
            raise BlobPathError(f"Blob trigger path '{path}' has no container name.")
        if "{" in container or "}" in container:
            raise BlobPathError(
                f"The container part of blob trigger path '{path}' cannot hold parameters."
            )
        tokens = _tokenize(blob_pattern, path)
        if not tokens:  # container only: every blob in it
            return cls(path, container, "", "", (), re.compile(r"^.*$", re.DOTALL))
        regex, names = _build_regex(tokens, path)
        prefix = tokens[0][1] if tokens and tokens[0][0] == "lit" else ""
        return cls(path, container, blob_pattern, prefix, names, regex)

    def match(self, blob_name: str) -> dict[str, str] | None:
        """Captures for a blob name inside the container, or None if it does not match."""
        found = self.regex.match(blob_name)
        if found is None:
            return None
        return {name: found.group(f"g{i}") for i, name in enumerate(self.parameter_names)}
