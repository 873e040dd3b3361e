"""Fixtures that start the embedded host on the generic sample app under tests/apps."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.host import HostProcess, SdkClient

SAMPLE_APP = Path(__file__).resolve().parents[1] / "apps" / "durable_app"


@pytest.fixture(scope="module")
def sample_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostProcess]:
    root = tmp_path_factory.mktemp("host")
    host = HostProcess(SAMPLE_APP, root / "data", env={"SAMPLE_OUTPUT_DIR": str(root / "out")})
    host.start()
    try:
        yield host
    finally:
        code = host.stop()
        assert code == 0, f"host did not shut down cleanly ({code}):\n{host.log()}"


@pytest.fixture(scope="module")
def sdk(sample_host: HostProcess) -> Iterator[SdkClient]:
    client = sample_host.sdk()
    try:
        yield client
    finally:
        client.close()
