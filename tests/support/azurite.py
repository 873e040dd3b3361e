"""Start and stop the Azurite blob emulator for tests.

CI installs Azurite with `npm install azurite` into the repository's node_modules (no global
install); developers get the same from `make test`. Each test session runs its own emulator on a
free port with in-memory persistence, so runs never share state or leave files behind.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

# Azurite's well-known development account (public, documented, not a secret).
DEV_ACCOUNT = "devstoreaccount1"
DEV_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


@dataclass(frozen=True)
class Azurite:
    """A running emulator: where it listens and how to connect to it."""

    host: str
    port: int

    @property
    def blob_endpoint(self) -> str:
        return f"http://{self.host}:{self.port}/{DEV_ACCOUNT}"

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={DEV_ACCOUNT};AccountKey={DEV_KEY};"
            f"BlobEndpoint={self.blob_endpoint};"
        )


def find_azurite_blob() -> str:
    """Locate the azurite-blob launcher: the repo's node_modules first, then PATH."""
    local = REPO_ROOT / "node_modules" / ".bin" / "azurite-blob"
    if local.exists():
        return str(local)
    found = shutil.which("azurite-blob")
    if found:
        return found
    raise RuntimeError(
        "Azurite is not installed: run `npm install azurite` in the repository root "
        "(`make test` does it for you)."
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_listening(host: str, port: int, proc: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"Azurite exited early with code {proc.returncode}")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"Azurite did not listen on {host}:{port} within {timeout}s")


def start_azurite(workdir: Path) -> tuple[Azurite, subprocess.Popen[bytes]]:
    """Start an in-memory Azurite blob service; the caller stops the returned process."""
    port = free_port()
    host = "127.0.0.1"
    # the child gets its own copy of the log file descriptor; ours is closed right away
    with open(workdir / "azurite.log", "wb") as log:
        proc = subprocess.Popen(
            [
                find_azurite_blob(),
                "--blobHost",
                host,
                "--blobPort",
                str(port),
                "--inMemoryPersistence",
                "--skipApiVersionCheck",
                "--loose",
                "--disableTelemetry",
                "--silent",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ},
            cwd=str(workdir),  # in-memory persistence may not be combined with --location
        )
    try:
        _wait_listening(host, port, proc, timeout=30)
    except Exception:
        proc.kill()
        raise
    return Azurite(host=host, port=port), proc


def stop_azurite(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
