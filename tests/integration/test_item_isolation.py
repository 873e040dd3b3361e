"""Names and files a container may hold but the service cannot process fail alone, with a reason.

Blob Storage allows backslashes, newlines and DEL in names; a local folder also holds symbolic
links, FIFOs and hard links. Each must become one failed item in the report while its
neighbours in the same chunk succeed, and nothing may block a reader (a FIFO used to hang).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from batchinfer.storage import InvalidPathError
from batchinfer.storage.local import LocalFolderStore
from tests.integration.test_batch_steps import Env, FakePipeline, _services


@pytest.fixture
def env(tmp_path: Path) -> Env:
    pipeline = FakePipeline()
    source, results = tmp_path / "storage" / "in", tmp_path / "storage" / "out"
    source.mkdir(parents=True)
    results.mkdir(parents=True)
    return Env(
        _services(tmp_path, pipeline, items_per_activity=8), pipeline, tmp_path, source, results
    )


def _details(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {unquote(d["sourceUrl"].rsplit("/in/", 1)[-1]): d for d in report["details"]}


def test_unusable_names_fail_alone_and_neighbours_succeed(env: Env) -> None:
    bad = ["back\\slash.txt", "new\nline.txt", "del\x7f.txt"]
    for name in ["a.txt", *bad, "z.txt"]:
        env.put(name, b"hello")
    plan, counts, report = env.run_all(env.job())
    assert report["status"] == "succeeded"
    assert (counts.succeeded, counts.failed) == (2, 3)
    details = _details(report)
    assert set(details) == {"a.txt", *bad, "z.txt"}
    for name in bad:
        assert details[name]["status"] == "failed"
        assert details[name]["error"]["code"] == "InvalidArgument"
        assert details[name]["error"]["innererror"]["code"] == "InvalidBlobName"
    assert details["a.txt"]["status"] == details["z.txt"]["status"] == "succeeded"
    assert len(env.pipeline.calls) == 2  # the bad names were never read


def test_result_name_over_1024_characters_fails_only_that_item(env: Env) -> None:
    result_prefix = "/".join(["p" * 200] * 4) + "/" + "q" * 180 + "/"  # 985 characters
    long_name = "l" * 40 + ".txt"  # its result name is 985 + 44 + 9 characters
    for name in ("a.txt", long_name, "b.txt"):
        env.put(name, b"hello")
    _, counts, report = env.run_all(env.job(result_prefix=result_prefix))
    details = _details(report)
    assert (counts.succeeded, counts.failed) == (2, 1)
    assert details[long_name]["status"] == "failed"
    assert details[long_name]["error"]["code"] == "InvalidArgument"
    assert details[long_name]["error"]["innererror"]["code"] == "ResultNameTooLong"
    assert details["a.txt"]["status"] == details["b.txt"]["status"] == "succeeded"


def test_links_and_special_files_are_reported_failed_never_read(env: Env, tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"secret outside the root")
    env.put("a.txt", b"hello")
    os.mkfifo(env.source / "pipe.txt")
    os.symlink(env.source / "a.txt", env.source / "link.txt")
    os.link(outside, env.source / "hard.txt")
    _, counts, report = env.run_all(env.job())
    details = _details(report)
    assert set(details) == {"a.txt", "pipe.txt", "link.txt", "hard.txt"}
    assert details["a.txt"]["status"] == "succeeded"
    reasons = {
        n: details[n]["error"]["innererror"]["code"] for n in ("pipe.txt", "link.txt", "hard.txt")
    }
    assert reasons == {
        "pipe.txt": "NotARegularFile",
        "link.txt": "SymbolicLink",
        "hard.txt": "HardLink",
    }
    assert "FIFO" in details["pipe.txt"]["error"]["innererror"]["message"]
    assert all(details[n]["status"] == "failed" for n in reasons)
    assert env.pipeline.calls == ["a.txt"]
    assert (counts.succeeded, counts.failed) == (1, 3)


def test_reading_a_fifo_by_name_does_not_block(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(InvalidPathError) as caught:
        LocalFolderStore(tmp_path).read_blob(name="pipe")  # used to block forever
    assert caught.value.code == "NotARegularFile"


def test_file_list_naming_a_fifo_fails_that_item(env: Env) -> None:
    env.put("a.txt", b"hello")
    os.mkfifo(env.source / "pipe")
    env.put("list.jsonl", b'{"file": "pipe"}\n{"file": "a.txt"}\n')
    _, counts, report = env.run_all(env.job(file_list="list.jsonl"))
    assert (counts.succeeded, counts.failed) == (1, 1)
    assert _details(report)["pipe"]["error"]["innererror"]["code"] == "NotARegularFile"
