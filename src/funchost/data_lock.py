"""One host per data directory: an exclusive advisory lock held for the host's lifetime.

Two hosts on one `--data-dir` would each recover and run the same pending work items; the
second host refuses to start instead. The lock is `flock` on `<data-dir>/host.lock`, released
by the OS when the process exits, even after SIGKILL, so a crash never leaves a stale lock.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO


class DataDirLocked(OSError):
    """Another live process holds the data directory; the message is one line for the user."""


class DataDirLock:
    """Hold `<data_dir>/host.lock` exclusively until `release()`."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / "host.lock"
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held until release
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip()
            handle.close()
            by = f" (pid {holder})" if holder.isdigit() else ""
            raise DataDirLocked(
                f"the data directory {self.path.parent} is in use by another host{by}; "
                "stop it or pass a different --data-dir"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._file = handle

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None
