"""Run the embedded host as a real subprocess for end-to-end tests, and drive it.

Tests talk to it only over HTTP and through the SDK's own `DurableOrchestrationClient`, exactly
as a user's code would; the crash test kills it with SIGKILL and starts it again on the same data.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import requests

from tests.support.azurite import REPO_ROOT, free_port

T = TypeVar("T")


class HostProcess:
    """`python -m funchost start` on a free port, with its log captured to a file."""

    def __init__(
        self,
        app_dir: Path,
        data_dir: Path,
        env: dict[str, str] | None = None,
        port: int | None = None,
    ) -> None:
        self.app_dir = app_dir
        self.data_dir = data_dir
        self.port = port or free_port()
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.log_path = data_dir.parent / f"host-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def secrets(self) -> dict[str, str]:
        """The host's private secrets file (admin key when derived, RPC path token)."""
        return json.loads((self.data_dir / "host-secrets.json").read_text())

    @property
    def admin_key(self) -> str:
        """The admin key the management API needs (configured, else the derived one)."""
        return self.env.get("FUNCHOST_MASTER_KEY") or self.secrets()["derivedMasterKey"]

    @property
    def rpc_base_url(self) -> str:
        return f"{self.base_url}/durabletask/{self.secrets()['rpcToken']}/"

    def sdk(self, hub: str = "SampleHub") -> SdkClient:
        """The SDK's client bound to this host as a `durableClient` binding would be."""
        return SdkClient(self.base_url, hub, rpc_base_url=self.rpc_base_url)

    def start(self, timeout: float = 60) -> HostProcess:
        with open(self.log_path, "ab") as log:  # the child keeps its own descriptor
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "funchost",
                    "start",
                    "--app-dir",
                    str(self.app_dir),
                    "--port",
                    str(self.port),
                    "--data-dir",
                    str(self.data_dir),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=str(REPO_ROOT),
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"host exited with {self.proc.returncode}:\n{self.log()}")
            try:
                status = requests.get(f"{self.base_url}/admin/host/status", timeout=1).status_code
                if status in (200, 401):  # up (401: keys are configured)
                    return self
            except requests.RequestException:
                time.sleep(0.1)
        raise RuntimeError(f"host did not start within {timeout}s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self) -> None:
        """SIGKILL: no cleanup at all, as in a crash."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> int:
        """SIGTERM and wait for a clean exit; returns the exit code."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


class SdkClient:
    """The SDK's `DurableOrchestrationClient` on one long-lived event loop, called synchronously.

    The SDK caches one aiohttp session per process, bound to the loop that created it, so every
    call must run on the same loop (a fresh `asyncio.run` per call would fail). Build it with
    `HostProcess.sdk()`: the host serves the SDK's channel only under its secret path.
    """

    def __init__(self, base_url: str, hub: str = "SampleHub", *, rpc_base_url: str) -> None:
        from azure.durable_functions import DurableOrchestrationClient

        self._runner = asyncio.Runner()
        binding = {
            "taskHubName": hub,
            "creationUrls": {},
            "managementUrls": {
                "id": "INSTANCEID",
                "statusQueryGetUri": f"{base_url}/runtime/webhooks/durabletask/instances/INSTANCEID",
            },
            "baseUrl": f"{base_url}/runtime/webhooks/durabletask",
            "requiredQueryStringParameters": "",
            "rpcBaseUrl": rpc_base_url,  # the host's secret path: `HostProcess.sdk()` has it
            "httpBaseUrl": None,
            "connectionName": None,
        }
        self.client = DurableOrchestrationClient(json.dumps(binding))

    def run(self, make: Callable[[Any], Coroutine[Any, Any, T]]) -> T:
        return self._runner.run(make(self.client))

    def wait_for(
        self, instance_id: str, predicate: Callable[[Any], bool], timeout: float = 60
    ) -> Any:
        """Poll get_status until `predicate(status)` holds; returns that status."""
        deadline = time.monotonic() + timeout
        status = None
        while time.monotonic() < deadline:
            status = self.run(lambda c: c.get_status(instance_id))
            if status and predicate(status):
                return status
            time.sleep(0.1)
        raise AssertionError(f"instance {instance_id} did not reach the state: last {status}")

    def wait_done(self, instance_id: str, timeout: float = 60) -> Any:
        terminal = {"Completed", "Failed", "Terminated", "Canceled"}
        return self.wait_for(instance_id, lambda s: s.runtime_status.value in terminal, timeout)

    def close(self) -> None:
        async def close_session() -> None:
            from azure.durable_functions.models.utils import http_utils

            await http_utils._close_session()

        self._runner.run(close_session())
        self._runner.close()
