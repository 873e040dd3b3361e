"""AzureBlobStore against a real Azurite emulator, reached through SAS container URLs."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from azure.storage.blob import BlobServiceClient, ContainerSasPermissions, generate_container_sas

from batchinfer.storage.azure_blob import AzureBlobStore
from batchinfer.storage.errors import (
    BlobExistsError,
    BlobNotFoundError,
    BlobTooLargeError,
    InvalidPathError,
    StorageAccessError,
    StorageError,
    UrlNotAllowedError,
)
from batchinfer.storage.factory import open_container
from batchinfer.storage.policy import StorageAllowList
from batchinfer.storage.port import BlobStore, read_file_list
from tests.support.azurite import DEV_ACCOUNT, DEV_KEY, Azurite

pytestmark = pytest.mark.azurite

SEED = {
    "in/a.pdf": b"A",
    "in/sub/b.pdf": b"BB",
    "in-2/c.pdf": b"C",
    "other/d.pdf": b"D",
    "empty.bin": b"",
    "list.jsonl": b'{"file": "in/a.pdf"}\n\n{"file": "in/sub/b.pdf"}\n',
}


def _sas(container: str, **permissions: bool) -> str:
    return generate_container_sas(
        account_name=DEV_ACCOUNT,
        container_name=container,
        account_key=DEV_KEY,
        permission=ContainerSasPermissions(**permissions),
        expiry=datetime.now(UTC) + timedelta(hours=1),
    )


@pytest.fixture()
def container(azurite: Azurite) -> Iterator[str]:
    name = f"t{uuid.uuid4().hex[:20]}"
    service = BlobServiceClient.from_connection_string(azurite.connection_string)
    client = service.create_container(name)
    for blob, data in SEED.items():
        client.upload_blob(blob, data)
    yield name
    client.delete_container()


@pytest.fixture()
def policy(azurite: Azurite) -> StorageAllowList:
    return StorageAllowList(local_roots=(), emulator_endpoints=[azurite.blob_endpoint])


@pytest.fixture()
def sas() -> str:
    return ""


def _url(azurite: Azurite, container: str, sas: str) -> str:
    return f"{azurite.blob_endpoint}/{container}?{sas}"


@pytest.fixture()
def store(azurite: Azurite, container: str, policy: StorageAllowList) -> Iterator[BlobStore]:
    token = _sas(container, read=True, write=True, delete=True, list=True, create=True)
    opened = open_container(_url(azurite, container, token), policy, retry_total=0)
    yield opened
    assert isinstance(opened, AzureBlobStore)
    opened.close()


def test_open_container_gives_azure_store(store: BlobStore) -> None:
    assert isinstance(store, AzureBlobStore) and isinstance(store, BlobStore)
    assert "sig=" not in repr(store)


def test_list_with_prefix(store: BlobStore) -> None:
    assert [i.name for i in store.list_blobs(prefix="in/")] == ["in/a.pdf", "in/sub/b.pdf"]
    assert [i.name for i in store.list_blobs(prefix="in")] == [
        "in-2/c.pdf",
        "in/a.pdf",
        "in/sub/b.pdf",
    ]
    everything = list(store.list_blobs(prefix=""))
    assert [i.name for i in everything] == sorted(SEED)
    info = next(i for i in everything if i.name == "in/sub/b.pdf")
    assert info.size == 2 and info.etag and info.last_modified is not None


def test_read(store: BlobStore) -> None:
    assert store.read_blob(name="in/sub/b.pdf") == b"BB"
    assert store.read_blob(name="in/sub/b.pdf", max_bytes=2) == b"BB"
    assert store.read_blob(name="empty.bin") == b""
    assert store.read_blob(name="empty.bin", max_bytes=10) == b""
    with pytest.raises(BlobTooLargeError):
        store.read_blob(name="in/sub/b.pdf", max_bytes=1)


def test_missing_blob(store: BlobStore) -> None:
    with pytest.raises(BlobNotFoundError) as info:
        store.read_blob(name="in/missing.pdf")
    assert info.value.code == "BlobNotFound" and isinstance(info.value, LookupError)
    with pytest.raises(BlobNotFoundError):
        store.read_blob(name="in/missing.pdf", max_bytes=10)
    assert not store.exists(name="in/missing.pdf")
    assert store.exists(name="in/a.pdf")


def test_write_create_only_keeps_bytes(store: BlobStore) -> None:
    store.write_blob(
        name="out/r.json", data=b"first", overwrite=False, content_type="application/json"
    )
    with pytest.raises(BlobExistsError) as info:
        store.write_blob(name="out/r.json", data=b"second", overwrite=False)
    assert info.value.code == "OutputExists"
    assert store.read_blob(name="out/r.json") == b"first"
    store.write_blob(name="out/r.json", data=b"third", overwrite=True)
    assert store.read_blob(name="out/r.json") == b"third"


def test_delete(store: BlobStore) -> None:
    store.delete_blob(name="in/a.pdf")
    assert not store.exists(name="in/a.pdf")
    with pytest.raises(BlobNotFoundError):
        store.delete_blob(name="in/a.pdf")
    store.delete_blob(name="in/a.pdf", missing_ok=True)


def test_unsafe_names_refused_before_request(store: BlobStore) -> None:
    for unsafe in ("../x", "/x", "a//b", "a\\b"):
        with pytest.raises(InvalidPathError):
            store.read_blob(name=unsafe)


def test_file_list(store: BlobStore) -> None:
    assert list(read_file_list(store, "list.jsonl")) == ["in/a.pdf", "in/sub/b.pdf"]


def test_list_many_blobs_pages(azurite: Azurite, container: str) -> None:
    service = BlobServiceClient.from_connection_string(azurite.connection_string)
    client = service.get_container_client(container)
    for i in range(30):
        client.upload_blob(f"many/{i:03d}.txt", b"x")
    container_url = StorageAllowList(
        local_roots=(), emulator_endpoints=[azurite.blob_endpoint]
    ).check(_url(azurite, container, _sas(container, read=True, list=True)))
    store = AzureBlobStore(container_url, results_per_page=7)
    names = [info.name for info in store.list_blobs(prefix="many/")]
    assert names == [f"many/{i:03d}.txt" for i in range(30)]


def test_read_only_sas_errors_never_show_sas(
    azurite: Azurite, container: str, policy: StorageAllowList
) -> None:
    token = _sas(container, read=True, list=True)
    signature = next(p.split("=", 1)[1] for p in token.split("&") if p.startswith("sig="))
    store = open_container(_url(azurite, container, token), policy, retry_total=0)
    assert store.read_blob(name="in/a.pdf") == b"A"
    errors: list[StorageError] = []
    for action in (
        lambda: store.write_blob(name="new.txt", data=b"x", overwrite=False),
        lambda: store.delete_blob(name="in/a.pdf"),
        lambda: store.read_blob(name="absent.pdf"),
    ):
        with pytest.raises(StorageError) as info:
            action()
        errors.append(info.value)
    assert isinstance(errors[0], StorageAccessError) and errors[0].code == "StorageError"
    assert isinstance(errors[2], BlobNotFoundError)
    for error in errors:
        for text in (str(error), repr(error), error.message, str(error.args)):
            assert signature not in text and "sig=" not in text
        assert error.__cause__ is None


def test_bad_signature_is_access_error(
    azurite: Azurite, container: str, policy: StorageAllowList
) -> None:
    token = _sas(container, read=True, list=True)
    forged = "&".join(
        "sig=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA%3D" if p.startswith("sig=") else p
        for p in token.split("&")
    )
    store = open_container(_url(azurite, container, forged), policy, retry_total=0)
    with pytest.raises(StorageAccessError) as info:
        list(store.list_blobs(prefix=""))
    assert "AAAAAAAA" not in str(info.value) and "sig=" not in str(info.value)
    assert info.value.code == "InvalidSasToken"
    assert "not valid" in info.value.message


def test_expired_sas_is_invalid_sas_token(
    azurite: Azurite, container: str, policy: StorageAllowList
) -> None:
    expired = generate_container_sas(
        account_name=DEV_ACCOUNT,
        container_name=container,
        account_key=DEV_KEY,
        permission=ContainerSasPermissions(read=True, list=True),
        expiry=datetime.now(UTC) - timedelta(minutes=5),
    )
    store = open_container(_url(azurite, container, expired), policy, retry_total=0)
    for action in (
        lambda: store.read_blob(name="in/a.pdf"),
        lambda: store.read_blob(name="in/a.pdf", max_bytes=10),
        lambda: list(store.list_blobs(prefix="in/")),
    ):
        with pytest.raises(StorageAccessError) as info:
            action()
        assert info.value.code == "InvalidSasToken"
        assert "expired" in info.value.message and "sig=" not in info.value.message


def test_missing_container(azurite: Azurite, policy: StorageAllowList) -> None:
    store = open_container(
        f"{azurite.blob_endpoint}/nosuchcontainer",
        policy,
        connection_string=azurite.connection_string,
    )
    with pytest.raises(BlobNotFoundError) as info:
        list(store.list_blobs(prefix=""))
    assert info.value.code == "ContainerNotFound"


def test_connection_string_and_account_key(
    azurite: Azurite, container: str, policy: StorageAllowList
) -> None:
    url = f"{azurite.blob_endpoint}/{container}"
    by_string = open_container(url, policy, connection_string=azurite.connection_string)
    assert by_string.read_blob(name="in/a.pdf") == b"A"
    by_key = open_container(url, policy, account_key=DEV_KEY)
    by_key.write_blob(name="k.txt", data=b"k", overwrite=False)
    assert by_string.read_blob(name="k.txt") == b"k"


def test_policy_refuses_before_any_request(azurite: Azurite, container: str) -> None:
    policy = StorageAllowList(allow_azurite=False, local_roots=())
    with pytest.raises(UrlNotAllowedError):
        open_container(_url(azurite, container, _sas(container, read=True)), policy)
