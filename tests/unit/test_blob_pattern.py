"""Blob trigger path patterns and the value handed to the user function."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import azure.functions as func
import azure.functions.blob as azblob
import pytest

from funchost.blobs.pattern import BlobPathError, BlobPathPattern
from funchost.blobs.poller import blob_properties, build_trigger_value
from funchost.blobs.sources import BlobItem


class TestPattern:
    def test_container_and_prefix(self) -> None:
        pattern = BlobPathPattern.parse("uploads/in/{name}")
        assert pattern.container == "uploads"
        assert pattern.literal_prefix == "in/"
        assert pattern.parameter_names == ("name",)

    def test_name_captures_slashes(self) -> None:
        pattern = BlobPathPattern.parse("uploads/{name}")
        assert pattern.literal_prefix == ""
        assert pattern.match("a/b.txt") == {"name": "a/b.txt"}

    def test_anchored(self) -> None:
        pattern = BlobPathPattern.parse("uploads/in/{name}.pdf")
        assert pattern.match("in/doc.pdf") == {"name": "doc"}
        assert pattern.match("x/in/doc.pdf") is None
        assert pattern.match("in/doc.pdf.bak") is None

    def test_case_sensitive(self) -> None:
        assert BlobPathPattern.parse("c/in/{n}").match("IN/x") is None

    def test_webjobs_reference_pattern(self) -> None:
        pattern = BlobPathPattern.parse("c/{p1}-p2/{{2014}}/{d3}/folder/{name}.{ext}")
        assert pattern.literal_prefix == ""
        assert pattern.match("x-y-p2/{2014}/d/folder/a.b.txt") == {
            "p1": "x-y",
            "d3": "d",
            "name": "a.b",
            "ext": "txt",
        }
        assert pattern.match("x-p2/2014/d/folder/a.txt") is None

    def test_escaped_braces_in_prefix(self) -> None:
        pattern = BlobPathPattern.parse("c/{{lit}}/{name}")
        assert pattern.literal_prefix == "{lit}/"
        assert pattern.match("{lit}/f") == {"name": "f"}

    def test_regex_metacharacters_are_literal(self) -> None:
        pattern = BlobPathPattern.parse("c/a+b(1)/{name}")
        assert pattern.match("a+b(1)/x") == {"name": "x"}
        assert pattern.match("aab1/x") is None

    def test_empty_capture_allowed(self) -> None:
        assert BlobPathPattern.parse("c/{name}.txt").match(".txt") == {"name": ""}

    def test_container_only_matches_everything(self) -> None:
        pattern = BlobPathPattern.parse("uploads")
        assert pattern.container == "uploads"
        assert pattern.literal_prefix == ""
        assert pattern.match("a/b/c.bin") == {}
        assert BlobPathPattern.parse("uploads/").match("x") == {}

    @pytest.mark.parametrize(
        "path", ["", "/{name}", "{c}/x", "c/{name", "c/name}", "c/{a}/{a}", "c/{}", "c/{a b}"]
    )
    def test_invalid(self, path: str) -> None:
        with pytest.raises(BlobPathError):
            BlobPathPattern.parse(path)


ITEM = BlobItem(
    name="in/hello.txt",
    etag='"0x8DC1"',
    size=5,
    last_modified=datetime(2024, 5, 1, 12, 0, tzinfo=UTC),
    content_type="text/plain",
    metadata={"owner": "me"},
)
URI = "http://127.0.0.1:10000/devstoreaccount1/uploads/in/hello.txt"


def _value(annotation: object, data: bytes = b"hello") -> object:
    return build_trigger_value(data, ITEM, "uploads", URI, {"name": "hello"}, annotation, None)


class TestTriggerValue:
    @pytest.mark.parametrize("annotation", [None, func.InputStream, object()])
    def test_input_stream(self, annotation: object) -> None:
        value = _value(annotation)
        assert isinstance(value, azblob.InputStream)
        assert isinstance(value, func.InputStream)
        assert value.name == "uploads/in/hello.txt"
        assert value.uri == URI
        assert value.length == 5
        assert value.read() == b"hello"
        assert value.metadata == {"owner": "me"}
        props = value.blob_properties
        assert props["ContentLength"] == 5
        assert props["Length"] == 5
        assert props["ContentType"] == "text/plain"
        assert props["ETag"] == '"0x8DC1"'
        assert datetime.fromisoformat(props["LastModified"]) == ITEM.last_modified

    def test_bytes_annotation(self) -> None:
        assert _value(bytes) == b"hello"

    def test_str_annotation(self) -> None:
        assert _value(str, "héllo".encode()) == "héllo"

    def test_properties_are_json_serializable(self) -> None:
        assert json.loads(json.dumps(blob_properties(ITEM)))["Length"] == 5

    def test_data_type_does_not_change_value(self) -> None:
        value = build_trigger_value(b"x", ITEM, "uploads", URI, {}, bytes, "binary")
        assert value == b"x"
