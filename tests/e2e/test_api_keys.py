"""With BATCHINFER_API_KEYS set, both APIs require the key the official clients send."""

from __future__ import annotations

from pathlib import Path

import requests

from tests.support.azurite import REPO_ROOT
from tests.support.host import HostProcess

DI = "/api/documentintelligence/documentModels/prebuilt-read/analyzeBatchResults?api-version=2024-11-30"
AD = "/api/anomalydetector/v1.1/multivariate/models"


def test_keys_are_required_in_each_dialects_error_shape(tmp_path: Path) -> None:
    host = HostProcess(
        REPO_ROOT,
        tmp_path / "host",
        env={"BATCHINFER_DATA_ROOT": str(tmp_path), "BATCHINFER_API_KEYS": "first-key, second-key"},
    )
    host.start()
    try:
        base = host.base_url
        denied = requests.get(base + DI, timeout=30)
        assert denied.status_code == 401
        assert denied.json()["error"]["code"] == "401"
        wrong = requests.get(base + AD, headers={"Ocp-Apim-Subscription-Key": "nope"}, timeout=30)
        assert wrong.status_code == 401
        assert wrong.json()["code"] == "401" and "key" in wrong.json()["message"]
        ok = requests.get(
            base + DI, headers={"Ocp-Apim-Subscription-Key": "second-key"}, timeout=30
        )
        assert ok.status_code == 200 and ok.json() == {"value": []}
        ok = requests.get(base + AD, headers={"api-key": "first-key"}, timeout=30)
        assert ok.status_code == 200 and ok.json()["currentCount"] == 0
        assert requests.get(base + "/api/health", timeout=30).status_code == 200
        assert "first-key" not in host.log() and "second-key" not in host.log()
    finally:
        assert host.stop() == 0
