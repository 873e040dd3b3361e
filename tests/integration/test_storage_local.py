"""LocalFolderStore against a real folder: the port's contract as the local host uses it."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from batchinfer.storage.errors import (
    BlobExistsError,
    BlobNotFoundError,
    BlobTooLargeError,
    InvalidPathError,
    UrlNotAllowedError,
)
from batchinfer.storage.factory import open_container
from batchinfer.storage.local import TEMP_PREFIX, LocalFolderStore
from batchinfer.storage.policy import StorageAllowList
from batchinfer.storage.port import BlobStore, read_file_list


@pytest.fixture()
def store(tmp_path: Path) -> LocalFolderStore:
    root = tmp_path / "container"
    for name, data in {
        "in/a.pdf": b"A",
        "in/sub/b.pdf": b"BB",
        "in-2/c.pdf": b"C",
        "in.txt": b"T",
        "other/d.pdf": b"D",
    }.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return LocalFolderStore(root)


def test_is_a_blob_store(store: LocalFolderStore) -> None:
    assert isinstance(store, BlobStore)


def test_list_is_recursive_sorted_like_azure(store: LocalFolderStore) -> None:
    names = [info.name for info in store.list_blobs(prefix="")]
    assert (
        names
        == sorted(names)
        == ["in-2/c.pdf", "in.txt", "in/a.pdf", "in/sub/b.pdf", "other/d.pdf"]
    )


def test_list_with_prefix(store: LocalFolderStore) -> None:
    assert [i.name for i in store.list_blobs(prefix="in/")] == ["in/a.pdf", "in/sub/b.pdf"]
    assert [i.name for i in store.list_blobs(prefix="in")] == [
        "in-2/c.pdf",
        "in.txt",
        "in/a.pdf",
        "in/sub/b.pdf",
    ]
    assert [i.name for i in store.list_blobs(prefix="in/s")] == ["in/sub/b.pdf"]
    assert list(store.list_blobs(prefix="nothing/")) == []
    info = next(iter(store.list_blobs(prefix="in/sub/")))
    assert info.size == 2 and info.etag and info.last_modified is not None


def test_list_skips_temp_files_and_lists_symlinks_unreadable(
    store: LocalFolderStore, tmp_path: Path
) -> None:
    (store.root / "in" / f"{TEMP_PREFIX}abc").write_bytes(b"partial")
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"s")
    (store.root / "in" / "link.txt").symlink_to(secret)
    # listed, so a job reports it as a failed item instead of dropping it silently
    assert [i.name for i in store.list_blobs(prefix="in/")] == [
        "in/a.pdf",
        "in/link.txt",
        "in/sub/b.pdf",
    ]
    with pytest.raises(InvalidPathError):
        store.read_blob(name="in/link.txt")


def test_list_streams(tmp_path: Path) -> None:
    store = LocalFolderStore(tmp_path / "many")
    for i in range(300):
        store.write_blob(name=f"d{i % 3}/f{i:04d}.txt", data=b"x", overwrite=False)
    listing = store.list_blobs(prefix="")
    assert next(iter(listing)).name == "d0/f0000.txt"
    names = [info.name for info in store.list_blobs(prefix="d1/")]
    assert len(names) == 100 and names == sorted(names)


def test_list_missing_container(tmp_path: Path) -> None:
    with pytest.raises(BlobNotFoundError) as info:
        list(LocalFolderStore(tmp_path / "absent").list_blobs(prefix=""))
    assert info.value.code == "ContainerNotFound"


def test_read(store: LocalFolderStore) -> None:
    assert store.read_blob(name="in/sub/b.pdf") == b"BB"
    assert store.read_blob(name="in/sub/b.pdf", max_bytes=2) == b"BB"
    with pytest.raises(BlobTooLargeError):
        store.read_blob(name="in/sub/b.pdf", max_bytes=1)
    for missing in ("in/nope.pdf", "in", "in/a.pdf/x"):
        with pytest.raises(BlobNotFoundError):
            store.read_blob(name=missing)
    for unsafe in ("../container/in/a.pdf", "/etc/passwd", "in\\a.pdf"):
        with pytest.raises(InvalidPathError):
            store.read_blob(name=unsafe)


def test_write_create_only_keeps_existing_bytes(store: LocalFolderStore) -> None:
    store.write_blob(
        name="out/r.json", data=b"first", overwrite=False, content_type="application/json"
    )
    with pytest.raises(BlobExistsError) as info:
        store.write_blob(name="out/r.json", data=b"second", overwrite=False)
    assert info.value.code == "OutputExists" and isinstance(info.value, FileExistsError)
    assert store.read_blob(name="out/r.json") == b"first"
    store.write_blob(name="out/r.json", data=b"third", overwrite=True)
    assert store.read_blob(name="out/r.json") == b"third"
    assert not any(p.name.startswith(TEMP_PREFIX) for p in (store.root / "out").iterdir())


def test_concurrent_create_only_writes_have_one_winner(tmp_path: Path) -> None:
    store = LocalFolderStore(tmp_path / "race")
    results: list[str] = []

    def write(i: int) -> None:
        try:
            store.write_blob(name="r.json", data=str(i).encode() * 1000, overwrite=False)
            results.append(f"won {i}")
        except BlobExistsError:
            results.append("lost")

    threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [r for r in results if r.startswith("won")]
    assert len(winners) == 1
    assert store.read_blob(name="r.json") == winners[0].split()[1].encode() * 1000


def test_write_refusals(store: LocalFolderStore) -> None:
    for unsafe in ("../escape.txt", "/abs.txt", "a/../../x", f"x/{TEMP_PREFIX}1", "a\x00"):
        with pytest.raises(InvalidPathError):
            store.write_blob(name=unsafe, data=b"x", overwrite=True)
    with pytest.raises(InvalidPathError):
        store.write_blob(name="in.txt/child", data=b"x", overwrite=True)
    with pytest.raises(InvalidPathError):
        store.write_blob(name="in/sub", data=b"x", overwrite=True)
    assert not (store.root.parent / "escape.txt").exists()


def test_write_creates_missing_container_folder(tmp_path: Path) -> None:
    store = LocalFolderStore(tmp_path / "results")
    store.write_blob(name="a/b.json", data=b"{}", overwrite=False)
    assert (tmp_path / "results" / "a" / "b.json").read_bytes() == b"{}"


def test_exists_and_delete(store: LocalFolderStore) -> None:
    assert store.exists(name="in/a.pdf")
    assert not store.exists(name="in")
    store.delete_blob(name="in/a.pdf")
    assert not store.exists(name="in/a.pdf")
    with pytest.raises(BlobNotFoundError):
        store.delete_blob(name="in/a.pdf")
    store.delete_blob(name="in/a.pdf", missing_ok=True)


def test_file_list(store: LocalFolderStore) -> None:
    store.write_blob(
        name="list.jsonl",
        data=b'\xef\xbb\xbf{"file": "in/a.pdf"}\r\n\n  \n{"file": "in/sub/b.pdf"}\n',
        overwrite=False,
    )
    assert list(read_file_list(store, "list.jsonl")) == ["in/a.pdf", "in/sub/b.pdf"]


@pytest.mark.parametrize(
    ("content", "line"),
    [
        (b'{"file": "a.pdf"}\nnot json\n', 2),
        (b'{"file": "a.pdf"}\n\n{"path": "b.pdf"}\n', 3),
        (b'["a.pdf"]\n', 1),
        (b'{"file": "a.pdf"}\n{"file": "../etc/passwd"}\n', 2),
        (b'{"file": 3}\n', 1),
    ],
)
def test_file_list_malformed_line(store: LocalFolderStore, content: bytes, line: int) -> None:
    store.write_blob(name="bad.jsonl", data=content, overwrite=True)
    with pytest.raises(InvalidPathError, match=f"line {line}\\b"):
        list(read_file_list(store, "bad.jsonl"))


def test_file_list_missing(store: LocalFolderStore) -> None:
    with pytest.raises(BlobNotFoundError):
        read_file_list(store, "absent.jsonl")


def test_open_container_file_url(tmp_path: Path) -> None:
    policy = StorageAllowList(local_roots=[tmp_path / "data"])
    store = open_container((tmp_path / "data" / "jobs").as_uri(), policy)
    assert isinstance(store, LocalFolderStore)
    store.write_blob(name="x.txt", data=b"x", overwrite=False)
    assert (tmp_path / "data" / "jobs" / "x.txt").exists()
    with pytest.raises(UrlNotAllowedError):
        open_container((tmp_path / "elsewhere").as_uri(), policy)
