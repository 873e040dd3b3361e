"""Blob sources: a folder on disk, and Azure Blob Storage through Azurite."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import UTC
from pathlib import Path

import pytest

from funchost.blobs.sources import (
    AZURITE_ENDPOINT_ENV,
    AzureBlobSource,
    BlobSourceError,
    FolderBlobSource,
    source_for_connection,
)
from tests.support.azurite import Azurite

# ------------------------------------------------------------------------------ folder


def write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


@pytest.fixture
def folder(tmp_path: Path) -> FolderBlobSource:
    base = tmp_path / "uploads"
    write(base / "a.txt", b"hello")
    write(base / "in" / "b.pdf", b"%PDF")
    write(base / "in" / "deep" / "c.bin", b"\x00\x01")
    write(base / ".tmp-upload", b"partial")
    write(base / ".hidden" / "d.txt", b"hidden")
    write(tmp_path / "other" / "e.txt", b"other container")
    return FolderBlobSource(tmp_path, "uploads")


class TestFolderBlobSource:
    def test_lists_recursively_with_slash_names(self, folder: FolderBlobSource) -> None:
        names = [item.name for item in folder.list_blobs("")]
        assert names == ["a.txt", "in/b.pdf", "in/deep/c.bin"]

    def test_prefix(self, folder: FolderBlobSource) -> None:
        assert [i.name for i in folder.list_blobs("in/")] == ["in/b.pdf", "in/deep/c.bin"]
        assert [i.name for i in folder.list_blobs("in/d")] == ["in/deep/c.bin"]
        assert folder.list_blobs("zzz") == []

    def test_item_fields(self, folder: FolderBlobSource) -> None:
        item = next(i for i in folder.list_blobs("") if i.name == "a.txt")
        assert item.size == 5
        assert item.content_type == "text/plain"
        assert item.last_modified.tzinfo == UTC
        assert item.metadata == {}
        assert item.etag

    def test_etag_changes_when_file_changes(self, folder: FolderBlobSource, tmp_path: Path) -> None:
        before = folder.list_blobs("a.txt")[0].etag
        target = tmp_path / "uploads" / "a.txt"
        target.write_bytes(b"hello, world")
        stat = target.stat()
        os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
        after = folder.list_blobs("a.txt")[0].etag
        assert before != after
        assert folder.list_blobs("a.txt")[0].etag == after  # stable while unchanged

    def test_read_and_uri(self, folder: FolderBlobSource, tmp_path: Path) -> None:
        assert folder.read_blob("in/deep/c.bin") == b"\x00\x01"
        uri = folder.blob_uri("in/b.pdf")
        assert uri.startswith("file://")
        assert uri == (tmp_path / "uploads" / "in" / "b.pdf").resolve().as_uri()

    @pytest.mark.parametrize(
        "name",
        ["missing.txt", "../other/e.txt", "in/../../other/e.txt", ".tmp-upload", "/etc/passwd"],
    )
    def test_read_refuses_missing_hidden_or_outside(
        self, folder: FolderBlobSource, name: str
    ) -> None:
        with pytest.raises(FileNotFoundError):
            folder.read_blob(name)

    def test_symlink_outside_root_is_skipped(
        self, folder: FolderBlobSource, tmp_path: Path
    ) -> None:
        outside = tmp_path.parent / f"{tmp_path.name}-secret.txt"
        outside.write_text("secret")
        link = tmp_path / "uploads" / "link.txt"
        try:
            link.symlink_to(outside)
        except OSError:
            pytest.skip("symlinks not supported")
        assert "link.txt" not in [i.name for i in folder.list_blobs("")]
        with pytest.raises(FileNotFoundError):
            folder.read_blob("link.txt")

    def test_missing_container_folder_is_empty(self, tmp_path: Path) -> None:
        assert FolderBlobSource(tmp_path, "nothing-here").list_blobs("") == []

    @pytest.mark.parametrize("container", ["", "..", "a/b"])
    def test_bad_container_name(self, tmp_path: Path, container: str) -> None:
        with pytest.raises(BlobSourceError):
            FolderBlobSource(tmp_path, container)


class TestSourceForConnection:
    def test_file_uri(self, tmp_path: Path) -> None:
        source = source_for_connection("Conn", tmp_path.as_uri(), "uploads")
        assert isinstance(source, FolderBlobSource)
        assert source.directory == tmp_path.resolve() / "uploads"

    def test_existing_directory(self, tmp_path: Path) -> None:
        source = source_for_connection("Conn", str(tmp_path), "uploads")
        assert isinstance(source, FolderBlobSource)

    def test_development_storage(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delenv(AZURITE_ENDPOINT_ENV, raising=False)
        source = source_for_connection("AzureWebJobsStorage", "UseDevelopmentStorage=true", "up")
        assert isinstance(source, AzureBlobSource)
        assert source.blob_uri("a b.txt") == "http://127.0.0.1:10000/devstoreaccount1/up/a%20b.txt"

    def test_development_storage_endpoint_override(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv(AZURITE_ENDPOINT_ENV, "http://127.0.0.1:12345/devstoreaccount1")
        source = source_for_connection("AzureWebJobsStorage", "usedevelopmentstorage=TRUE", "up")
        assert source.blob_uri("x") == "http://127.0.0.1:12345/devstoreaccount1/up/x"

    def test_account_connection_string(self) -> None:
        value = (
            "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=c2VjcmV0;"
            "EndpointSuffix=core.windows.net"
        )
        source = source_for_connection("Storage", value, "c")
        assert isinstance(source, AzureBlobSource)
        assert source.blob_uri("x") == "https://acct.blob.core.windows.net/c/x"
        assert "c2VjcmV0" not in repr(source)

    @pytest.mark.parametrize("value", [None, "", "   "])
    def test_missing(self, value: str | None) -> None:
        with pytest.raises(BlobSourceError, match="MySetting"):
            source_for_connection("MySetting", value, "c")

    def test_unsupported_never_echoes_value(self, tmp_path: Path) -> None:
        secret = "SomethingElse=TopSecretKey123"
        with pytest.raises(BlobSourceError, match="MySetting") as info:
            source_for_connection("MySetting", secret, "c")
        assert "TopSecretKey123" not in str(info.value)

    def test_missing_directory_is_unsupported(self, tmp_path: Path) -> None:
        with pytest.raises(BlobSourceError):
            source_for_connection("MySetting", str(tmp_path / "nope"), "c")


# ------------------------------------------------------------------------------ Azurite


@pytest.fixture
def container(azurite: Azurite) -> Iterator[str]:
    from azure.storage.blob import BlobServiceClient, ContentSettings

    name = f"uploads{time.monotonic_ns() % 10**9}"
    service = BlobServiceClient.from_connection_string(azurite.connection_string)
    client = service.create_container(name)
    client.upload_blob(
        "a.txt", b"hello", content_settings=ContentSettings(content_type="text/plain")
    )
    client.upload_blob("in/b.pdf", b"%PDF-1.7", metadata={"owner": "me"})
    client.upload_blob("in/deep/c d.bin", b"\x00\x01\x02")
    try:
        yield name
    finally:
        service.delete_container(name)
        service.close()


@pytest.mark.azurite
class TestAzureBlobSource:
    def test_list(self, azurite: Azurite, container: str) -> None:
        source = AzureBlobSource(azurite.connection_string, container)
        items = {item.name: item for item in source.list_blobs("")}
        assert sorted(items) == ["a.txt", "in/b.pdf", "in/deep/c d.bin"]
        a = items["a.txt"]
        assert a.size == 5
        assert a.content_type == "text/plain"
        assert a.etag
        assert a.last_modified.tzinfo is not None
        assert items["in/b.pdf"].metadata == {"owner": "me"}
        source.close()

    def test_prefix(self, azurite: Azurite, container: str) -> None:
        source = AzureBlobSource(azurite.connection_string, container)
        assert [i.name for i in source.list_blobs("in/")] == ["in/b.pdf", "in/deep/c d.bin"]
        assert source.list_blobs("nope/") == []

    def test_read_and_uri(self, azurite: Azurite, container: str) -> None:
        source = AzureBlobSource(azurite.connection_string, container)
        assert source.read_blob("in/deep/c d.bin") == b"\x00\x01\x02"
        assert source.blob_uri("in/deep/c d.bin") == (
            f"{azurite.blob_endpoint}/{container}/in/deep/c%20d.bin"
        )
        with pytest.raises(FileNotFoundError):
            source.read_blob("missing.txt")

    def test_etag_changes_on_overwrite(self, azurite: Azurite, container: str) -> None:
        from azure.storage.blob import ContainerClient

        source = AzureBlobSource(azurite.connection_string, container)
        before = source.list_blobs("a.txt")[0].etag
        with ContainerClient.from_connection_string(azurite.connection_string, container) as c:
            c.upload_blob("a.txt", b"changed", overwrite=True)
        after = source.list_blobs("a.txt")[0].etag
        assert before != after
        assert source.read_blob("a.txt") == b"changed"

    def test_missing_container_lists_empty(self, azurite: Azurite) -> None:
        source = AzureBlobSource(azurite.connection_string, "does-not-exist")
        assert source.list_blobs("") == []
        with pytest.raises(FileNotFoundError):
            source.read_blob("x")

    def test_development_storage_via_env_override(
        self, azurite: Azurite, container: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv(AZURITE_ENDPOINT_ENV, azurite.blob_endpoint)
        source = source_for_connection(
            "AzureWebJobsStorage", "UseDevelopmentStorage=true", container
        )
        assert source.read_blob("a.txt") == b"hello"
