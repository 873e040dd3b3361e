"""The session cache: one session per model file, and a report of where each one runs."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from batchinfer.inference.runtime import SessionCache


class FakeRaw:
    """Stands in for an InferenceSession that had to fall back from CUDA to CPU."""

    def __init__(self, providers: tuple[str, ...]) -> None:
        self.requested = providers

    def get_inputs(self) -> list[Any]:
        return [SimpleNamespace(name="x")]

    def get_modelmeta(self) -> Any:
        return SimpleNamespace(custom_metadata_map={})

    def get_providers(self) -> list[str]:
        return ["CPUExecutionProvider"]


def test_loaded_reports_the_provider_each_session_runs_on(tmp_path: Path) -> None:
    model = tmp_path / "det.onnx"
    model.write_bytes(b"not parsed by the fake")
    built: list[tuple[str, ...]] = []

    def factory(path: str, options: Any, providers: tuple[str, ...]) -> FakeRaw:
        built.append(providers)
        return FakeRaw(providers)

    cache = SessionCache(factory=factory)
    assert cache.loaded() == {}
    first = cache.get(model, ["CUDAExecutionProvider", "CPUExecutionProvider"])
    again = cache.get(model, ["CUDAExecutionProvider", "CPUExecutionProvider"])
    assert first is again and len(built) == 1
    assert cache.loaded() == {"det.onnx": "CPUExecutionProvider"}


def test_idle_onnx_threads_sleep_unless_spinning_is_asked_for() -> None:
    from batchinfer.inference.runtime import RuntimeSettings, session_options

    assert RuntimeSettings.from_env({}).spinning is False
    assert RuntimeSettings.from_env({"BATCHINFER_ONNX_SPINNING": "1"}).spinning is True
    quiet = session_options(RuntimeSettings())
    assert quiet.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    busy = session_options(RuntimeSettings(spinning=True))
    assert busy.get_session_config_entry("session.intra_op.allow_spinning") == "1"
