"""A job's origin keeps where it came from without any secret, and whether a SAS was used."""

from __future__ import annotations

from pathlib import Path

from batchinfer.jobs.model import DOCUMENT_ANALYSIS, JobSpec
from batchinfer.jobs.origin import load_origin, save_origin
from batchinfer.jobs.store import JobStore
from batchinfer.storage.local import LocalFolderStore


def _spec(source: str, result: str) -> JobSpec:
    return JobSpec(
        job_id="j1",
        kind=DOCUMENT_ANALYSIS,
        model_id="prebuilt-read",
        source_url=source,
        source_prefix="in/",
        file_list=None,
        result_url=result,
        result_prefix="out/",
        overwrite=False,
        created="2026-01-01T00:00:00Z",
        options={"rerunOf": "j0"},
    )


def test_origin_is_redacted_and_remembers_the_sas(tmp_path: Path) -> None:
    store = JobStore(LocalFolderStore(tmp_path / "jobs"))
    save_origin(
        store, _spec("https://acct.blob.core.windows.net/c?sv=1&sig=SECRET", "configured:results")
    )
    raw = (tmp_path / "jobs" / "j1" / "origin.json").read_text()
    assert "SECRET" not in raw and "sig=" not in raw
    origin = load_origin(store, "j1")
    assert origin is not None
    assert origin.source_url == "https://acct.blob.core.windows.net/c"
    assert origin.result_url == "configured:results"
    assert (origin.source_had_sas, origin.result_had_sas, origin.needs_sas) == (True, False, True)
    assert origin.rerun_of == "j0" and origin.source_prefix == "in/"
    assert load_origin(store, "missing") is None


def test_local_folders_need_no_sas(tmp_path: Path) -> None:
    store = JobStore(LocalFolderStore(tmp_path / "jobs"))
    folder = (tmp_path / "data").as_uri()
    save_origin(store, _spec(folder, folder))
    origin = load_origin(store, "j1")
    assert origin is not None and not origin.needs_sas and origin.source_url == folder
