"""Blob-name rules: nothing a user supplies may climb out of its container."""

from __future__ import annotations

from pathlib import Path

import pytest

from batchinfer.storage.errors import InvalidPathError
from batchinfer.storage.paths import (
    relative_to_prefix,
    resolve_under,
    safe_blob_name,
    validate_blob_name,
    validate_prefix,
)


@pytest.mark.parametrize("name", ["a.pdf", "folder/sub/a.pdf", "é/ü 1.png", "a" * 1024, ".hidden"])
def test_valid_names(name: str) -> None:
    assert validate_blob_name(name) == name


@pytest.mark.parametrize(
    "name",
    [
        "",
        "../a.pdf",
        "a/../../b",
        "a/..",
        "./a",
        "/etc/passwd",
        "C:/x",
        "c:x",
        "a\\b",
        "..\\..\\x",
        "a\x00b",
        "a\nb",
        "a\x7f",
        "a//b",
        "a/",
        "a" * 1025,
        "/".join(["x"] * 255),
    ],
)
def test_invalid_names(name: str) -> None:
    with pytest.raises(InvalidPathError) as info:
        validate_blob_name(name)
    assert info.value.code == "InvalidArgument"
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("prefix", ["", "in/", "in", "in/2024-", "a/b/"])
def test_valid_prefixes(prefix: str) -> None:
    assert validate_prefix(prefix) == prefix


@pytest.mark.parametrize("prefix", ["/in", "../", "a/../", "a//", "a\\", "\x00"])
def test_invalid_prefixes(prefix: str) -> None:
    with pytest.raises(InvalidPathError):
        validate_prefix(prefix)


@pytest.mark.parametrize(
    ("prefix", "relative", "expected"),
    [
        ("", "a.json", "a.json"),
        ("results", "a.json", "results/a.json"),
        ("results/", "sub/a.json", "results/sub/a.json"),
    ],
)
def test_safe_blob_name(prefix: str, relative: str, expected: str) -> None:
    assert safe_blob_name(prefix, relative) == expected


@pytest.mark.parametrize(
    ("prefix", "relative"),
    [("results", "../x"), ("results", "/abs"), ("../up", "x"), ("/abs", "x"), ("r", "")],
)
def test_safe_blob_name_refuses(prefix: str, relative: str) -> None:
    with pytest.raises(InvalidPathError):
        safe_blob_name(prefix, relative)


@pytest.mark.parametrize(
    ("name", "prefix", "expected"),
    [
        ("a/b.pdf", "", "a/b.pdf"),
        ("in/a/b.pdf", "in/", "a/b.pdf"),
        ("in/a/b.pdf", "in", "a/b.pdf"),
        ("in/2024-01.pdf", "in/2024-", "2024-01.pdf"),
        ("invoice1.pdf", "inv", "invoice1.pdf"),
        ("in/x.pdf", "in/x.pdf", "x.pdf"),
    ],
)
def test_relative_to_prefix(name: str, prefix: str, expected: str) -> None:
    assert relative_to_prefix(name, prefix) == expected


def test_relative_to_prefix_requires_prefix() -> None:
    with pytest.raises(InvalidPathError):
        relative_to_prefix("other/a.pdf", "in/")


def test_resolve_under_refuses_symlink_escape(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (root / "link").symlink_to(outside)
    assert resolve_under(root, "a/b.txt") == root / "a" / "b.txt"
    with pytest.raises(InvalidPathError):
        resolve_under(root, "link/secret.txt")
