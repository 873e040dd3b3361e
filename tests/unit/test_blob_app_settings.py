"""`%NAME%` app-setting expressions in blob trigger paths resolve as on the Functions host."""

from __future__ import annotations

import pytest

from funchost.blob_triggers import resolve_app_settings


def test_app_setting_expressions_are_replaced(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INBOX_CONTAINER", "uploads")
    assert resolve_app_settings("%INBOX_CONTAINER%/{name}") == "uploads/{name}"
    assert resolve_app_settings("plain/{name}") == "plain/{name}"


def test_missing_app_setting_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOT_THERE", raising=False)
    with pytest.raises(ValueError, match="NOT_THERE"):
        resolve_app_settings("%NOT_THERE%/{name}")
