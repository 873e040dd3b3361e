"""Blob-name safety: the rules every name, prefix and local path must pass before use.

Names come from users (prefixes, file lists) and from listings of containers users control, so
they are validated as untrusted input: a name must never climb out of its container (`..`),
look absolute, smuggle Windows separators or control characters, or exceed Azure's limits.
The same rules apply to Azure and local folders so that a job behaves the same on both.
"""

from __future__ import annotations

import re
from pathlib import Path

from batchinfer.storage.errors import InvalidPathError

MAX_NAME_LENGTH = 1024
"""Azure's limit on blob-name length, in characters."""

MAX_SEGMENTS = 254
"""Azure's limit on the number of `/`-separated segments in a blob name."""

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DRIVE = re.compile(r"^[A-Za-z]:")


def _check_characters(value: str, what: str) -> None:
    if len(value) > MAX_NAME_LENGTH:
        raise InvalidPathError(f"{what} is longer than {MAX_NAME_LENGTH} characters")
    if _CONTROL.search(value):
        raise InvalidPathError(f"{what} contains a control character")
    if "\\" in value:
        raise InvalidPathError(f"{what} contains a backslash; use '/' to separate folders")
    if value.startswith("/") or _DRIVE.match(value):
        raise InvalidPathError(f"{what} must be relative, not absolute: {value!r}")


def _check_segments(segments: list[str], what: str, value: str) -> None:
    if len(segments) > MAX_SEGMENTS:
        raise InvalidPathError(f"{what} has more than {MAX_SEGMENTS} path segments")
    for segment in segments:
        if segment in (".", ".."):
            raise InvalidPathError(f"{what} must not contain '.' or '..' segments: {value!r}")


def validate_blob_name(name: str) -> str:
    """Return `name` unchanged if it is a safe blob name, else raise `InvalidPathError`.

    A safe name is non-empty, relative, at most 1024 characters, free of control characters
    and backslashes, and its `/`-separated segments are neither empty (`a//b`, trailing `/`)
    nor `.`/`..`.
    """
    if not isinstance(name, str) or not name:
        raise InvalidPathError("blob name must be a non-empty string")
    _check_characters(name, "blob name")
    segments = name.split("/")
    if any(segment == "" for segment in segments):
        raise InvalidPathError(f"blob name has an empty path segment: {name!r}")
    _check_segments(segments, "blob name", name)
    return name


def validate_prefix(prefix: str) -> str:
    """Return a listing prefix unchanged if safe; the empty prefix (whole container) is allowed.

    A prefix is a raw name prefix as in Azure (`invoices/2024-` matches `invoices/2024-01.pdf`),
    so it may end with `/` or mid-segment, but it obeys the same rules as a name otherwise.
    """
    if not isinstance(prefix, str):
        raise InvalidPathError("prefix must be a string")
    if not prefix:
        return prefix
    _check_characters(prefix, "prefix")
    segments = prefix.split("/")
    body = segments[:-1] if segments[-1] == "" else segments
    if any(segment == "" for segment in body):
        raise InvalidPathError(f"prefix has an empty path segment: {prefix!r}")
    _check_segments(body, "prefix", prefix)
    return prefix


def safe_blob_name(prefix: str, relative: str) -> str:
    """Join an output prefix and a relative name into one validated blob name.

    The prefix is treated as a folder: `safe_blob_name("results", "a.json")` and
    `safe_blob_name("results/", "a.json")` both give `results/a.json`; an empty prefix gives the
    relative name itself. Neither part may climb out with `..` or be absolute.
    """
    validate_prefix(prefix)
    validate_blob_name(relative)
    folder = prefix.rstrip("/")
    return validate_blob_name(f"{folder}/{relative}" if folder else relative)


def relative_to_prefix(name: str, prefix: str) -> str:
    """Return the part of a listed `name` that a job should mirror under its output prefix.

    With a folder prefix (`in/` or `in`, when the name continues with `/`) the part after the
    folder is returned: `in/a/b.pdf` -> `a/b.pdf`. With a partial prefix (`in/2024-`) the name
    is taken relative to the prefix's folder, so the file keeps its whole own name:
    `in/2024-01.pdf` -> `2024-01.pdf`. Raises `InvalidPathError` if `name` does not start with
    `prefix`.
    """
    validate_blob_name(name)
    validate_prefix(prefix)
    if not name.startswith(prefix):
        raise InvalidPathError(f"blob name {name!r} does not start with prefix {prefix!r}")
    rest = name[len(prefix) :]
    if not prefix or prefix.endswith("/"):
        relative = rest
    elif rest.startswith("/"):
        relative = rest[1:]
    else:
        relative = name[prefix.rfind("/") + 1 :]
    return validate_blob_name(relative)


def resolve_under(root: Path, name: str) -> Path:
    """Map a blob name to a path under a local container folder, refusing any escape.

    The result is resolved (symlinks followed), so a symlink inside the folder that points
    elsewhere is caught here rather than trusted. `root` should already be resolved.
    """
    validate_blob_name(name)
    path = (root / name).resolve()
    if not path.is_relative_to(root):
        raise InvalidPathError(f"blob name {name!r} resolves outside its container folder")
    return path
