"""Durable behaviour as on Azure, end to end: the host process over HTTP and the SDK client."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.e2e.conftest import SAMPLE_APP
from tests.support.azurite import REPO_ROOT, free_port
from tests.support.host import HostProcess


def test_a_second_host_on_the_same_data_dir_refuses_to_start(sample_host: HostProcess) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "funchost",
            "start",
            "--app-dir",
            str(SAMPLE_APP),
            "--port",
            str(free_port()),
            "--data-dir",
            str(sample_host.data_dir),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=str(REPO_ROOT),
    )
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.startswith("funchost:")]
    assert len(lines) == 1, result.stderr
    assert "in use by another host" in lines[0] and str(sample_host.data_dir) in lines[0]
    assert f"pid {sample_host.proc.pid}" in lines[0]  # type: ignore[union-attr]
    assert "Traceback" not in result.stderr


def test_the_data_dir_is_free_again_after_a_host_stops(tmp_path: Path) -> None:
    first = HostProcess(SAMPLE_APP, tmp_path / "data").start()
    assert first.stop() == 0
    second = HostProcess(SAMPLE_APP, tmp_path / "data").start()
    assert second.stop() == 0
