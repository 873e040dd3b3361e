"""host.json settings the durable host reads: hubName from app settings, versioning, timeouts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from funchost.settings import HostConfigError, load_settings, parse_timespan


def _settings(
    tmp_path: Path,
    host_json: dict,
    monkeypatch: pytest.MonkeyPatch,
    env: dict[str, str] | None = None,
):  # type: ignore[no-untyped-def]
    (tmp_path / "host.json").write_text(json.dumps(host_json))
    for key, value in (env or {}).items():
        monkeypatch.setenv(key, value)
    return load_settings(tmp_path, tmp_path / "data", 0)


def test_hub_name_is_resolved_from_an_app_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _settings(
        tmp_path,
        {"extensions": {"durableTask": {"hubName": "%MY_HUB%"}}},
        monkeypatch,
        {"MY_HUB": "ProdHub"},
    )
    assert settings.hub_name == "ProdHub"


def test_a_missing_hub_name_setting_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NO_SUCH_HUB", raising=False)
    with pytest.raises(HostConfigError, match="NO_SUCH_HUB"):
        _settings(
            tmp_path, {"extensions": {"durableTask": {"hubName": "%NO_SUCH_HUB%"}}}, monkeypatch
        )


def test_versioning_timeout_and_retention(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _settings(
        tmp_path,
        {
            "functionTimeout": "00:10:00",
            "extensions": {
                "durableTask": {
                    "defaultVersion": "2.1",
                    "versionMatchStrategy": "Strict",
                    "versionFailureStrategy": "Fail",
                }
            },
        },
        monkeypatch,
        {"FUNCHOST_DURABLE_RETENTION_HOURS": "48"},
    )
    durable = settings.durable
    assert (durable.default_version, durable.version_match, durable.version_failure) == (
        "2.1",
        "Strict",
        "Fail",
    )
    assert durable.function_timeout == 600 and durable.retention_hours == 48


def test_defaults_match_azure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FUNCHOST_DURABLE_RETENTION_HOURS", raising=False)
    durable = _settings(tmp_path, {}, monkeypatch).durable
    assert durable.default_version is None and durable.retention_hours is None
    assert (durable.version_match, durable.version_failure) == ("CurrentOrOlder", "Reject")
    assert durable.function_timeout is None


@pytest.mark.parametrize(
    "bad",
    [
        {"functionTimeout": "ten minutes"},
        {"extensions": {"durableTask": {"versionMatchStrategy": "Newest"}}},
        {"extensions": {"durableTask": {"versionFailureStrategy": "Ignore"}}},
    ],
)
def test_bad_values_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bad: dict) -> None:
    with pytest.raises(HostConfigError):
        _settings(tmp_path, bad, monkeypatch)


def test_timespans() -> None:
    assert parse_timespan("00:05:00") == 300
    assert parse_timespan("1.02:00:30.5") == 86400 + 7200 + 30.5
    assert parse_timespan("-1") is None
