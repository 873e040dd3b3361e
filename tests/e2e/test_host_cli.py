"""The host CLI as a user meets it: the product app, another app, keys, and clear failures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import requests

from tests.e2e.conftest import SAMPLE_APP
from tests.support.azurite import REPO_ROOT, free_port
from tests.support.host import HostProcess


def _start_and_fail(app_dir: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "funchost",
            "start",
            "--app-dir",
            str(app_dir),
            "--port",
            str(free_port()),
            "--data-dir",
            str(tmp_path / "data"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=str(REPO_ROOT),
    )


def test_product_app_serves_its_health_route(tmp_path: Path) -> None:
    host = HostProcess(REPO_ROOT, tmp_path / "data").start()
    try:
        r = requests.get(f"{host.base_url}/api/health", timeout=10)
        assert r.status_code == 200
        body = r.json()
        assert body["status"] == "healthy"
        # no GPU here: sessions fall back to CPU, and the health route says so
        assert body["onnxRuntime"]["selectedProviders"][-1] == "CPUExecutionProvider"
        assert "CUDAExecutionProvider" not in body["onnxRuntime"]["selectedProviders"]
        assert body["onnxRuntime"]["sessions"] == {}
    finally:
        assert host.stop() == 0


def test_app_that_fails_to_import_exits_with_a_clear_message(tmp_path: Path) -> None:
    app = tmp_path / "broken"
    app.mkdir()
    (app / "function_app.py").write_text("import no_such_module_here\n")
    result = _start_and_fail(app, tmp_path)
    assert result.returncode == 2
    assert "Importing" in result.stderr and "no_such_module_here" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_app_and_bad_host_json_are_explained(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    result = _start_and_fail(empty, tmp_path)
    assert result.returncode == 2 and "No function_app.py" in result.stderr
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "function_app.py").write_text(
        "import azure.functions as func\napp = func.FunctionApp()\n"
    )
    (bad / "host.json").write_text("{not json")
    result = _start_and_fail(bad, tmp_path)
    assert result.returncode == 2 and "host.json" in result.stderr


def test_app_with_two_function_apps_is_refused(tmp_path: Path) -> None:
    app = tmp_path / "two"
    app.mkdir()
    (app / "function_app.py").write_text(
        "import azure.functions as func\na = func.FunctionApp()\nb = func.FunctionApp()\n"
    )
    result = _start_and_fail(app, tmp_path)
    assert result.returncode == 2 and "more than one FunctionApp" in result.stderr


def test_keys_are_enforced_when_configured(tmp_path: Path) -> None:
    host = HostProcess(
        SAMPLE_APP,
        tmp_path / "data",
        env={
            "FUNCHOST_FUNCTION_KEY": "fn-key",
            "FUNCHOST_MASTER_KEY": "master-key",
            "SAMPLE_OUTPUT_DIR": str(tmp_path / "out"),
        },
    ).start()
    try:
        base = host.base_url
        assert requests.get(f"{base}/api/secret", timeout=10).status_code == 401
        assert requests.get(f"{base}/api/secret?code=wrong", timeout=10).status_code == 401
        assert requests.get(f"{base}/api/secret?code=fn-key", timeout=10).status_code == 200
        assert (
            requests.get(
                f"{base}/api/secret", headers={"x-functions-key": "master-key"}, timeout=10
            ).status_code
            == 200
        )
        assert requests.get(f"{base}/api/hello/anon", timeout=10).status_code == 200
        # the durable client still works (the SDK's RPC channel is loopback-only, keyless)
        started = requests.post(f"{base}/api/orchestrators/fan_out_fan_in", json=[1], timeout=10)
        assert started.status_code == 202
        status_url = started.json()["statusQueryGetUri"]
        assert "code=master-key" in status_url
        assert requests.get(status_url.split("?")[0], timeout=10).status_code == 401
        assert requests.get(status_url, timeout=10).status_code in (200, 202)
    finally:
        assert host.stop() == 0
