"""Shared fixtures: the Azurite emulator, started once per test session when a test asks for it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.azurite import Azurite, start_azurite, stop_azurite


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Azurite]:
    workdir = tmp_path_factory.mktemp("azurite")
    emulator, proc = start_azurite(workdir)
    try:
        yield emulator
    finally:
        stop_azurite(proc)
