"""A 10,000-file batch completes on the embedded host, every file accounted for.

Slow (a few minutes on 2 cores) but part of CI: it is the check that planning streams, shards
bound each orchestration's history, and the report covers every item. Peak memory is measured
by bench/ocr_scale.py and recorded in the README.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.azurite import REPO_ROOT
from tests.support.host import HostProcess
from tests.support.scale import peak_rss_mib, run_batch, write_documents

COUNT = 10_000


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_ten_thousand_files_complete_with_bounded_histories(tmp_path: Path) -> None:
    container = tmp_path / "storage" / "scale"
    write_documents(container / "in", COUNT)
    host = HostProcess(
        REPO_ROOT,
        tmp_path / "host",
        env={"BATCHINFER_DATA_ROOT": str(tmp_path), "FUNCHOST_LOG_LEVEL": "WARNING"},
    )
    host.start()
    try:
        job = run_batch(host.base_url, container, "in/", "out/")
        assert job["status"] == "succeeded", job
        assert job["percentCompleted"] == 100
        result = job["result"]
        assert (result["succeededCount"], result["failedCount"], result["skippedCount"]) == (
            COUNT,
            0,
            0,
        )
        assert len(result["details"]) == COUNT
        assert len({d["sourceUrl"] for d in result["details"]}) == COUNT
        assert len(list((container / "out").glob("*.ocr.json"))) == COUNT
        assert host.proc is not None
        rss = peak_rss_mib(host.proc.pid)
        assert rss < 2048, f"peak RSS {rss:.0f} MiB"
    finally:
        assert host.stop() == 0
    # no orchestration history grew with the job: the biggest one is a shard's
    import sqlite3

    with sqlite3.connect(tmp_path / "host" / "durable.sqlite3") as db:
        longest = db.execute(
            "SELECT MAX(n) FROM (SELECT COUNT(*) AS n FROM history GROUP BY instance_id)"
        ).fetchone()[0]
    assert longest < 1000, longest
