"""The standing reliability suite, short version: a few SIGKILLs during real jobs.

`bench/reliability.py` runs the full version (x10 kills, a 300-item document batch and a
detect-batch); both share `tests/support/reliability.py`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.reliability import detect_batch, document_batch

pytestmark = pytest.mark.reliability


def test_document_batch_survives_sigkills(tmp_path: Path) -> None:
    outcome = document_batch(tmp_path, items=60, kills=2, gap=(0.4, 1.2))
    assert outcome.problems == []
    assert outcome.kills >= 1  # the job lasted long enough to be killed at least once


def test_detect_batch_survives_sigkills(tmp_path: Path) -> None:
    outcome = detect_batch(tmp_path, timestamps=60_000, kills=2, gap=(0.1, 0.5))
    assert outcome.problems == []
    assert outcome.kills >= 1
