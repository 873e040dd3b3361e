"""`LocalFolderStore`: a local folder served as a container, for the embedded local host.

The folder plays the container and `/`-separated names map to nested files. Writes go to a
hidden temp file in the target folder and are then published atomically: `os.replace` when
overwriting, `os.link` for create-only writes (a hard link fails if the target exists, so a
concurrent writer can never be overwritten). Reads and writes resolve paths and refuse anything
that lands outside the folder.

A folder can hold what a container cannot: symbolic links, FIFOs, sockets, devices and hard links
shared with files elsewhere. They are listed (so a job reports them as failed items with a
reason instead of dropping them silently) but never read: links are not followed, a special file
is opened non-blocking and refused (a FIFO would block a reader forever), and a file with more
than one hard link is refused, since its other name may lie outside every allowed root.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from batchinfer.storage.errors import (
    BlobExistsError,
    BlobNotFoundError,
    BlobTooLargeError,
    InvalidPathError,
    StorageAccessError,
)
from batchinfer.storage.paths import resolve_under, validate_blob_name, validate_prefix
from batchinfer.storage.port import BlobInfo

TEMP_PREFIX = ".batchinfer-tmp-"
"""Name prefix of in-flight temp files; listings skip them and writes may not use it."""

_LINK_UNSUPPORTED = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK}


def _info(name: str, st: os.stat_result) -> BlobInfo:
    return BlobInfo(
        name=name,
        size=st.st_size,
        etag=f'"{st.st_mtime_ns:x}-{st.st_size:x}"',
        last_modified=datetime.fromtimestamp(st.st_mtime, tz=UTC),
    )


def _kind(st: os.stat_result) -> str:
    mode = st.st_mode
    for test, kind in (
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    ):
        if test(mode):
            return kind
    return "a special file"


def _access_error(action: str, name: str, error: OSError) -> StorageAccessError:
    reason = error.strerror or type(error).__name__
    return StorageAccessError(f"cannot {action} {name!r}: {reason}")


class LocalFolderStore:
    """The `BlobStore` port over a local folder (created on the first write if missing)."""

    def __init__(self, root: Path) -> None:
        self.root: Path = Path(root).resolve()

    def __repr__(self) -> str:
        return f"LocalFolderStore({str(self.root)!r})"

    # -- listing -------------------------------------------------------------------------

    def list_blobs(self, *, prefix: str = "") -> Iterator[BlobInfo]:
        """Yield files under the folder whose names start with `prefix`, in name order.

        Entries are sorted per folder with folders keyed as `name/`, which makes the depth-first
        walk come out in the same global order as an Azure listing, without collecting it.
        """
        validate_prefix(prefix)
        if not self.root.is_dir():
            raise BlobNotFoundError(
                f"container folder {self.root.name!r} does not exist", code="ContainerNotFound"
            )
        return self._walk(self.root, "", prefix)

    def _walk(self, folder: Path, base: str, prefix: str) -> Iterator[BlobInfo]:
        try:
            with os.scandir(folder) as scan:
                entries = [(entry.name, entry) for entry in scan]
        except FileNotFoundError:
            return
        except OSError as error:
            raise _access_error("list", base or "/", error) from None
        keyed: list[tuple[str, str, os.DirEntry[str], bool]] = []
        for name, entry in entries:
            if name.startswith(TEMP_PREFIX):
                continue
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                continue
            full = f"{base}{name}"
            keyed.append((f"{full}/" if is_dir else full, full, entry, is_dir))
        keyed.sort(key=lambda item: item[0])
        for key, full, entry, is_dir in keyed:
            if is_dir:
                if key.startswith(prefix) or prefix.startswith(key):
                    yield from self._walk(Path(entry.path), key, prefix)
            elif full.startswith(prefix):
                try:
                    st = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                yield _info(full, st)  # links and special files too: reading them fails

    # -- reading -------------------------------------------------------------------------

    def read_blob(self, *, name: str, max_bytes: int | None = None) -> bytes:
        path = resolve_under(self.root, name)
        try:
            if stat.S_ISLNK(os.lstat(self.root / name).st_mode):
                raise InvalidPathError(
                    f"{name!r} is a symbolic link; links are not followed", code="SymbolicLink"
                )
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
            with open(fd, "rb") as handle:
                st = os.fstat(handle.fileno())
                if stat.S_ISDIR(st.st_mode):
                    raise BlobNotFoundError(f"blob {name!r} does not exist")
                if not stat.S_ISREG(st.st_mode):
                    raise InvalidPathError(
                        f"{name!r} is not a regular file ({_kind(st)})", code="NotARegularFile"
                    )
                if st.st_nlink > 1:
                    raise InvalidPathError(
                        f"{name!r} has {st.st_nlink} hard links; a file "
                        "linked elsewhere is not read",
                        code="HardLink",
                    )
                os.set_blocking(handle.fileno(), True)
                if max_bytes is not None:
                    if st.st_size > max_bytes:
                        raise BlobTooLargeError(
                            f"blob {name!r} is {st.st_size} bytes, over the {max_bytes}-byte limit"
                        )
                    data = handle.read(max_bytes + 1)
                    if len(data) > max_bytes:
                        raise BlobTooLargeError(f"blob {name!r} is over the {max_bytes}-byte limit")
                    return data
                return handle.read()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise BlobNotFoundError(f"blob {name!r} does not exist") from None
        except OSError as error:
            raise _access_error("read", name, error) from None

    def exists(self, *, name: str) -> bool:
        path = resolve_under(self.root, name)
        return path.is_file()

    # -- writing -------------------------------------------------------------------------

    def write_blob(
        self, *, name: str, data: bytes, overwrite: bool, content_type: str | None = None
    ) -> None:
        """Write atomically via a temp file; `content_type` is not kept by local folders."""
        validate_blob_name(name)
        if name.rsplit("/", 1)[-1].startswith(TEMP_PREFIX):
            raise InvalidPathError(f"blob names may not start with {TEMP_PREFIX!r}")
        path = resolve_under(self.root, name)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise InvalidPathError(
                f"cannot write {name!r}: a parent of it is a blob, and local folders cannot "
                "hold both a file and a folder of the same name"
            ) from None
        except OSError as error:
            raise _access_error("write", name, error) from None
        path = resolve_under(self.root, name)  # again: mkdir may have raced with a symlink swap
        temp = self._write_temp(path.parent, name, data)
        try:
            self._publish(temp, path, name, overwrite)
        finally:
            temp.unlink(missing_ok=True)  # after a link or a failure; gone after a replace

    def _write_temp(self, folder: Path, name: str, data: bytes) -> Path:
        try:
            fd, temp = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=folder)
        except OSError as error:
            raise _access_error("write", name, error) from None
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(temp, 0o644)
        except OSError as error:
            Path(temp).unlink(missing_ok=True)
            raise _access_error("write", name, error) from None
        return Path(temp)

    @staticmethod
    def _publish(temp: Path, path: Path, name: str, overwrite: bool) -> None:
        try:
            if path.is_dir():
                raise InvalidPathError(f"cannot write {name!r}: it is a folder")
            if overwrite:
                os.replace(temp, path)
                return
            try:
                os.link(temp, path)
            except OSError as error:
                if isinstance(error, FileExistsError) or error.errno not in _LINK_UNSUPPORTED:
                    raise
                # No hard links here (some network/FUSE file systems): fall back to an
                # exclusive create. Still never overwrites, but readers may see a partial file.
                with open(path, "xb") as handle:
                    handle.write(temp.read_bytes())
        except FileExistsError:
            raise BlobExistsError(f"blob {name!r} already exists") from None
        except OSError as error:
            raise _access_error("write", name, error) from None

    def delete_blob(self, *, name: str, missing_ok: bool = False) -> None:
        path = resolve_under(self.root, name)
        try:
            if path.is_dir():
                raise FileNotFoundError(name)
            path.unlink()
        except FileNotFoundError:
            if not missing_ok:
                raise BlobNotFoundError(f"blob {name!r} does not exist") from None
        except OSError as error:
            raise _access_error("delete", name, error) from None


def remove_stale_temp_files(root: Path, before: float) -> int:
    """Delete this adapter's temp files under `root` last modified before `before` (a Unix
    time): what a killed process left behind mid-write. Newer ones may be in flight. Links are
    not followed. Returns how many were removed."""
    removed = 0
    for folder, _dirs, files in os.walk(root, followlinks=False):
        for name in files:
            if not name.startswith(TEMP_PREFIX):
                continue
            path = os.path.join(folder, name)
            try:
                st = os.lstat(path)
                if stat.S_ISREG(st.st_mode) and st.st_mtime < before:
                    os.unlink(path)
                    removed += 1
            except OSError:
                continue
    return removed
