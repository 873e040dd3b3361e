"""The three batch steps (plan, run a chunk, finalize) called directly on real stores.

A fake pipeline stands in for OCR so these tests exercise the job logic only: listing, result
naming, create-only writes, retries after a crash, cancellation and the final report.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from azure.storage.blob import BlobServiceClient, ContainerSasPermissions, generate_container_sas

from batchinfer.activities.batch_steps import finalize_job, plan_job, run_chunk
from batchinfer.inference.registry import ModelRegistry, ModelSpec
from batchinfer.jobs.details import read_details
from batchinfer.jobs.model import DOCUMENT_ANALYSIS, Counts, JobRef, JobSpec, JobStatus, Plan
from batchinfer.jobs.planning import chunk_slices
from batchinfer.jobs.store import JobStore
from batchinfer.models.ocr.errors import InvalidContentError, UnsupportedContentError
from batchinfer.settings import AppSettings
from batchinfer.storage import StorageAllowList
from batchinfer.wiring import Services, build_services
from tests.support.azurite import DEV_ACCOUNT, DEV_KEY, Azurite

MODEL = "prebuilt-read"


@dataclass
class FakeResult:
    body: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return self.body


class FakePipeline:
    """Deterministic stand-in: the document's text is its content, one page per line.

    `BAD` content is corrupt, `TXT` unsupported, `BOOM` a model bug. `on_analyze` lets a test
    act between items (e.g. request a cancel).
    """

    model_id = MODEL

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.on_analyze: Any = None

    def analyze(self, data: bytes, filename: str = "", options: Any = None) -> FakeResult:
        self.calls.append(filename)
        if self.on_analyze:
            self.on_analyze(filename)
        if data.startswith(b"BAD"):
            raise InvalidContentError("The file is corrupted.")
        if data.startswith(b"TXT"):
            raise UnsupportedContentError("Unsupported content type.")
        if data.startswith(b"BOOM"):
            raise RuntimeError("model bug")
        text = data.decode()
        return FakeResult(
            {
                "modelId": MODEL,
                "content": text,
                "pages": [{"pageNumber": i + 1} for i, _ in enumerate(text.splitlines() or [""])],
            }
        )


@dataclass
class Env:
    services: Services
    pipeline: FakePipeline
    root: Path
    source: Path
    results: Path

    @property
    def store(self) -> JobStore:
        return self.services.job_store

    def put(self, name: str, data: bytes, folder: Path | None = None) -> None:
        path = (folder or self.source) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    def job(
        self,
        *,
        prefix: str = "",
        result_prefix: str = "res/",
        overwrite: bool = False,
        file_list: str | None = None,
        source_url: str | None = None,
        result_url: str | None = None,
    ) -> JobRef:
        job_id = str(uuid.uuid4())
        self.store.save_spec(
            JobSpec(
                job_id=job_id,
                kind=DOCUMENT_ANALYSIS,
                model_id=MODEL,
                source_url=source_url or self.source.as_uri(),
                source_prefix=prefix,
                file_list=file_list,
                result_url=result_url or self.results.as_uri(),
                result_prefix=result_prefix,
                overwrite=overwrite,
                created="2024-01-01T00:00:00Z",
            )
        )
        return JobRef(job_id=job_id, kind=DOCUMENT_ANALYSIS, model_id=MODEL)

    def run_all(
        self, ref: JobRef, status: str = "succeeded"
    ) -> tuple[Plan, Counts, dict[str, Any]]:
        plan = plan_job(self.services, ref)
        counts = Counts()
        for shard in range(plan.shards):
            for chunk in range(plan.chunks_in_shard(shard)):
                counts = counts.add(run_chunk(self.services, ref, shard, chunk))
        summary = finalize_job(self.services, ref, JobStatus(status), None).summary()
        assert summary["status"] == status
        return plan, counts, self.report(ref)

    def report(self, ref: JobRef) -> dict[str, Any]:
        report = self.store.load_report(ref.job_id)
        assert report is not None
        return report.to_json()  # the stored form, as the dialects read it


def _services(
    root: Path,
    pipeline: FakePipeline,
    *,
    items_per_activity: int = 2,
    activities_per_shard: int = 2,
) -> Services:
    settings = AppSettings.from_env(
        {
            "BATCHINFER_DATA_ROOT": str(root),
            "BATCHINFER_ITEMS_PER_ACTIVITY": str(items_per_activity),
            "BATCHINFER_ACTIVITIES_PER_SHARD": str(activities_per_shard),
        }
    )
    registry = ModelRegistry(
        [ModelSpec(id=MODEL, description="fake", onnx_files={}, factory=lambda sessions: pipeline)]
    )
    return build_services(
        settings, policy=StorageAllowList(local_roots=[root / "storage"]), registry=registry
    )


@pytest.fixture
def env(tmp_path: Path) -> Env:
    pipeline = FakePipeline()
    source, results = tmp_path / "storage" / "in", tmp_path / "storage" / "out"
    source.mkdir(parents=True)
    results.mkdir(parents=True)
    return Env(_services(tmp_path, pipeline), pipeline, tmp_path, source, results)


def _by_source(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {d["sourceUrl"].rsplit("/in/", 1)[-1]: d for d in report["details"]}


# ------------------------------------------------------------------------------- planning


class TestPlan:
    def test_prefix_listing_skips_results_and_other_folders(self, env: Env) -> None:
        for name in (
            "docs/a.txt",
            "docs/sub/b.txt",
            "docs/c.txt",
            "docs/old.pdf.ocr.json",
            "other/d.txt",
            "docs-2/e.txt",
        ):
            env.put(name, b"text")
        ref = env.job(prefix="docs/")
        plan = plan_job(env.services, ref)
        assert (plan.total, plan.shard_size, plan.items_per_activity, plan.shards) == (3, 4, 2, 1)
        assert env.store.load_shard_items(ref.job_id, 0) == [
            "docs/a.txt",
            "docs/c.txt",
            "docs/sub/b.txt",
        ]
        assert env.store.load_plan(ref.job_id) == plan

    def test_many_items_cut_into_shards(self, env: Env) -> None:
        for i in range(9):
            env.put(f"f{i}.txt", b"x")
        ref = env.job()
        plan = plan_job(env.services, ref)  # 2 per activity, 2 activities per shard
        assert (plan.total, plan.shards) == (9, 3)
        shards = [env.store.load_shard_items(ref.job_id, s) for s in range(plan.shards)]
        assert [len(s) for s in shards] == [4, 4, 1]
        assert [n for s in shards for n in s] == [f"f{i}.txt" for i in range(9)]

    def test_file_list(self, env: Env) -> None:
        for name in ("a.txt", "b/c.txt", "d.txt"):
            env.put(name, b"x")
        env.put("lists/files.jsonl", b'{"file": "b/c.txt"}\n\n{"file": "a.txt"}\n')
        ref = env.job(file_list="lists/files.jsonl")
        plan, counts, _report = env.run_all(ref)
        assert plan.total == 2
        assert env.store.load_shard_items(ref.job_id, 0) == ["b/c.txt", "a.txt"]
        assert counts.succeeded == 2
        assert (env.results / "res" / "b" / "c.txt.ocr.json").is_file()
        assert not (env.results / "res" / "d.txt.ocr.json").exists()

    def test_missing_file_list_fails_the_job(self, env: Env) -> None:
        ref = env.job(file_list="nope.jsonl")
        plan = plan_job(env.services, ref)
        assert plan.error is not None and plan.shards == 0
        assert plan.error.inner_code == "BlobNotFound"
        finalize_job(env.services, ref, JobStatus.FAILED, plan.error).summary()
        report = env.report(ref)
        assert report["status"] == "failed" and report["details"] == []
        assert report["error"]["innererror"]["code"] == "BlobNotFound"

    def test_malformed_file_list_fails_the_job(self, env: Env) -> None:
        env.put("list.jsonl", b'{"file": "../etc/passwd"}\n')
        plan = plan_job(env.services, env.job(file_list="list.jsonl"))
        assert plan.error is not None and plan.error.inner_code == "InvalidArgument"

    def test_missing_source_container_fails_the_job(self, env: Env) -> None:
        ref = env.job(source_url=(env.root / "storage" / "absent").as_uri())
        plan = plan_job(env.services, ref)
        assert plan.error is not None and plan.error.inner_code == "ContainerNotFound"

    def test_spec_gone_is_an_error_not_a_crash(self, env: Env) -> None:
        plan = plan_job(env.services, JobRef("nope", DOCUMENT_ANALYSIS, MODEL))
        assert plan.error is not None and plan.total == 0


# ------------------------------------------------------------------------------ chunks


class TestRunChunk:
    def test_result_prefix_is_a_plain_string_prefix(self, env: Env) -> None:
        env.put("docs/a/b.txt", b"alpha")
        _, counts, _ = env.run_all(env.job(prefix="docs/", result_prefix="res-"))
        assert counts.succeeded == 1
        assert [
            p.relative_to(env.results).as_posix() for p in env.results.rglob("*") if p.is_file()
        ] == ["res-a/b.txt.ocr.json"]

    def test_results_named_after_relative_path(self, env: Env) -> None:
        env.put("docs/a.txt", b"alpha\nbeta")
        env.put("docs/sub/b.txt", b"gamma")
        ref = env.job(prefix="docs/", result_prefix="out/run1/")
        _, counts, report = env.run_all(ref)
        assert counts == Counts(succeeded=2, pages=3)
        assert sorted(
            p.relative_to(env.results).as_posix() for p in env.results.rglob("*") if p.is_file()
        ) == ["out/run1/a.txt.ocr.json", "out/run1/sub/b.txt.ocr.json"]
        result = json.loads((env.results / "out/run1/a.txt.ocr.json").read_bytes())
        assert result == {
            "modelId": MODEL,
            "content": "alpha\nbeta",
            "pages": [{"pageNumber": 1}, {"pageNumber": 2}],
        }
        details = _by_source(report)
        assert (
            details["docs/a.txt"]["resultUrl"] == (env.results / "out/run1/a.txt.ocr.json").as_uri()
        )
        assert details["docs/sub/b.txt"]["status"] == "succeeded"
        assert report["pages"] == 3

    def test_partial_prefix_keeps_whole_file_name(self, env: Env) -> None:
        env.put("in/2024-01.txt", b"x")
        env.put("in/2023-12.txt", b"x")
        _, counts, _ = env.run_all(env.job(prefix="in/2024-", result_prefix=""))
        assert counts.succeeded == 1
        assert (env.results / "2024-01.txt.ocr.json").is_file()

    def test_existing_result_is_skipped_and_untouched(self, env: Env) -> None:
        env.put("a.txt", b"new")
        env.put("b.txt", b"new")
        env.put("res/a.txt.ocr.json", b"OLD BYTES", folder=env.results)
        _, counts, report = env.run_all(env.job(overwrite=False))
        assert (counts.succeeded, counts.skipped) == (1, 1)
        assert (env.results / "res/a.txt.ocr.json").read_bytes() == b"OLD BYTES"
        skipped = _by_source(report)["a.txt"]
        assert skipped["status"] == "skipped"
        assert skipped["error"]["code"] == "OutputExists"
        assert "res/a.txt.ocr.json" in skipped["error"]["message"]
        assert "resultUrl" not in skipped
        assert report["skippedCount"] == 1
        assert "a.txt" not in env.pipeline.calls  # not even analyzed

    def test_overwrite_existing_replaces_result(self, env: Env) -> None:
        env.put("a.txt", b"new")
        env.put("res/a.txt.ocr.json", b"OLD BYTES", folder=env.results)
        _, counts, _ = env.run_all(env.job(overwrite=True))
        assert counts.succeeded == 1
        assert json.loads((env.results / "res/a.txt.ocr.json").read_bytes())["content"] == "new"

    def test_a_failing_item_fails_alone(self, env: Env) -> None:
        env.put("1.png", b"BAD data")
        env.put("2.txt", b"TXT data")
        env.put("3.png", b"BOOM")
        env.put("4.png", b"fine")
        env.put("5.png", b"also fine")
        _, counts, report = env.run_all(env.job())
        assert (counts.succeeded, counts.failed, counts.skipped) == (2, 3, 0)
        details = _by_source(report)
        assert details["1.png"]["error"]["code"] == "InvalidContent"
        assert details["2.txt"]["error"]["code"] == "UnsupportedContent"
        assert details["3.png"]["error"]["code"] == "InternalServerError"
        assert details["3.png"]["error"]["innererror"]["code"] == "RuntimeError"
        for failed in ("1.png", "2.txt", "3.png"):
            assert details[failed]["status"] == "failed"
            assert "resultUrl" not in details[failed]
            assert not (env.results / "res" / f"{failed}.ocr.json").exists()
        assert details["4.png"]["status"] == details["5.png"]["status"] == "succeeded"
        assert (report["succeededCount"], report["failedCount"]) == (2, 3)

    def test_rerun_after_crash_does_not_skip_its_own_outputs(self, env: Env) -> None:
        env.put("a.txt", b"one")
        env.put("b.txt", b"two")
        env.put("res/b.txt.ocr.json", b"SOMEONE ELSE'S", folder=env.results)
        ref = env.job(overwrite=False)
        plan = plan_job(env.services, ref)
        assert plan.chunks_in_shard(0) == 1
        run_chunk(env.services, ref, 0, 0)
        assert env.store.load_claims(ref.job_id, 0, 0) == {"a.txt": True, "b.txt": False}
        # crash: the result was written, the outcomes never recorded, the activity retried
        (env.root / "jobs" / ref.job_id / "outcomes" / "000000-000000.json").unlink()
        assert (env.results / "res/a.txt.ocr.json").is_file()
        counts = run_chunk(env.services, ref, 0, 0)
        assert (counts.succeeded, counts.skipped) == (1, 1)
        outcomes = {o.source: o for o in env.store.load_outcomes(ref.job_id, 0, 0) or []}
        assert outcomes["a.txt"].status == "succeeded"
        assert outcomes["b.txt"].status == "skipped"
        assert (env.results / "res/b.txt.ocr.json").read_bytes() == b"SOMEONE ELSE'S"

    def test_cancel_before_a_chunk_stops_it(self, env: Env) -> None:
        for i in range(4):
            env.put(f"{i}.txt", b"x")
        ref = env.job()
        plan_job(env.services, ref)
        env.store.request_cancel(ref.job_id)
        assert run_chunk(env.services, ref, 0, 0) == Counts()
        assert env.pipeline.calls == []
        assert env.store.load_outcomes(ref.job_id, 0, 0) == []

    def test_cancel_during_a_chunk_stops_after_the_current_item(self, tmp_path: Path) -> None:
        pipeline = FakePipeline()
        env = Env(
            _services(tmp_path, pipeline, items_per_activity=5),
            pipeline,
            tmp_path,
            tmp_path / "storage" / "in",
            tmp_path / "storage" / "out",
        )
        for i in range(5):
            env.put(f"{i}.txt", b"x")
        ref = env.job()
        pipeline.on_analyze = lambda name: env.store.request_cancel(ref.job_id)
        plan_job(env.services, ref)
        counts = run_chunk(env.services, ref, 0, 0)
        assert counts.succeeded == 1
        assert pipeline.calls == ["0.txt"]
        finalize_job(env.services, ref, JobStatus.CANCELED, None).summary()
        report = env.report(ref)
        assert report["status"] == "canceled"
        assert len(report["details"]) == 1 < 5

    def test_deleting_the_job_stops_a_running_chunk(self, tmp_path: Path) -> None:
        """`delete_job` asks to cancel, then removes the job's state (the flag included): the
        chunk in flight must still stop, and leave nothing behind in the job store."""
        pipeline = FakePipeline()
        env = Env(
            _services(tmp_path, pipeline, items_per_activity=4),
            pipeline,
            tmp_path,
            tmp_path / "storage" / "in",
            tmp_path / "storage" / "out",
        )
        for i in range(4):
            env.put(f"{i}.txt", b"x")
        ref = env.job()
        plan_job(env.services, ref)

        def delete(name: str) -> None:
            env.store.request_cancel(ref.job_id)
            env.store.delete_job(ref.job_id)

        pipeline.on_analyze = delete
        counts = run_chunk(env.services, ref, 0, 0)
        assert pipeline.calls == ["0.txt"]
        assert counts.done <= 1
        assert sorted(p.name for p in env.results.rglob("*") if p.is_file()) in (
            [],
            ["0.txt.ocr.json"],
        )
        assert [p for p in (tmp_path / "jobs").rglob("*") if p.is_file()] == []

    def test_chunk_after_finalize_does_nothing(self, env: Env) -> None:
        env.put("a.txt", b"x")
        ref = env.job()
        plan_job(env.services, ref)
        finalize_job(env.services, ref, JobStatus.CANCELED, None).summary()
        assert run_chunk(env.services, ref, 0, 0) == Counts()
        assert env.pipeline.calls == []


# ---------------------------------------------------------------------------- finalize


class TestFinalize:
    def _job_with_two_chunks(self, env: Env) -> tuple[JobRef, Plan]:
        for i in range(4):
            env.put(f"{i}.txt", b"x")
        ref = env.job()
        plan = plan_job(env.services, ref)
        assert (plan.shards, plan.chunks_in_shard(0)) == (1, 2)
        run_chunk(env.services, ref, 0, 0)
        return ref, plan

    def test_unprocessed_chunks_are_reported_failed(self, env: Env) -> None:
        ref, _ = self._job_with_two_chunks(env)
        summary = finalize_job(env.services, ref, JobStatus.SUCCEEDED, None).summary()
        assert (summary["succeeded"], summary["failed"]) == (2, 2)
        report = env.report(ref)
        assert (report["succeededCount"], report["failedCount"]) == (2, 2)
        details = _by_source(report)
        for name in ("2.txt", "3.txt"):
            assert details[name]["status"] == "failed"
            assert details[name]["error"]["innererror"]["code"] == "NotProcessed"
        assert len(report["details"]) == 4

    def test_canceled_job_reports_only_what_ran(self, env: Env) -> None:
        ref, _ = self._job_with_two_chunks(env)
        finalize_job(env.services, ref, JobStatus.CANCELED, None).summary()
        report = env.report(ref)
        assert report["status"] == "canceled"
        assert sorted(_by_source(report)) == ["0.txt", "1.txt"]

    def test_spec_with_its_secrets_is_deleted(self, env: Env) -> None:
        env.put("a.txt", b"x")
        ref = env.job()
        env.run_all(ref)
        assert env.store.load_spec(ref.job_id) is None
        assert not (env.root / "jobs" / ref.job_id / "spec.json").exists()

    def test_finalize_retried_keeps_the_report(self, env: Env) -> None:
        """An activity retried after it finished (host crash before its result was recorded)
        must not replace the report with one that lost its URLs."""
        env.put("a.txt", b"x")
        ref = env.job()
        _, _, first = env.run_all(ref)
        again = finalize_job(env.services, ref, JobStatus.SUCCEEDED, None).summary()
        assert again["succeeded"] == 1
        assert env.report(ref) == first
        assert "sourceUrl" in env.report(ref)["details"][0]

    def test_plan_error_report(self, env: Env) -> None:
        ref = env.job(source_url=(env.root / "storage" / "absent").as_uri())
        plan = plan_job(env.services, ref)
        assert plan.error is not None
        summary = finalize_job(env.services, ref, JobStatus.FAILED, plan.error).summary()
        assert summary["status"] == "failed"
        assert env.report(ref)["error"]["code"] == "InvalidRequest"


class TestPagedReport:
    """Finalize streams a report larger than one page of details: the report keeps the first
    page, later pages are stored beside it, and reading them back gives every item in order
    (the status body's bound is 10,000; a page of 5 makes the test small)."""

    def _job(self, env: Env, count: int = 23) -> tuple[JobRef, list[tuple[str, str]]]:
        expected: list[tuple[str, str]] = []
        for i in range(count):
            content = "BAD" if i % 7 == 3 else "TXT" if i % 5 == 4 else "ok"
            env.put(f"{i:03d}.txt", content.encode())
            expected.append((f"{i:03d}.txt", "succeeded" if content == "ok" else "failed"))
        return env.job(), expected

    def _finalize(self, env: Env, ref: JobRef, skip_chunk: tuple[int, int] | None = None) -> Any:
        plan = plan_job(env.services, ref)
        for shard in range(plan.shards):
            for chunk in range(plan.chunks_in_shard(shard)):
                if (shard, chunk) != skip_chunk:
                    run_chunk(env.services, ref, shard, chunk)
        return finalize_job(env.services, ref, JobStatus.SUCCEEDED, None, page_size=5)

    def test_every_item_is_reported_in_order_across_pages(self, env: Env) -> None:
        ref, expected = self._job(env)
        # shard 1 (items 4..7), chunk 1 (items 6 and 7) never recorded outcomes: NotProcessed
        expected[6] = (expected[6][0], "failed")
        expected[7] = (expected[7][0], "failed")
        returned = self._finalize(env, ref, skip_chunk=(1, 1))
        assert len(returned.details) == 5
        stored = env.report(ref)
        assert (stored["detailsTotal"], stored["detailsPageSize"], len(stored["details"])) == (
            23,
            5,
            5,
        )
        pages = sorted(p.name for p in (env.root / "jobs" / ref.job_id / "details").iterdir())
        assert pages == ["000001.json", "000002.json", "000003.json", "000004.json"]
        report = env.store.load_report(ref.job_id)
        assert report is not None and report.total_details == 23
        details = read_details(env.store, ref.job_id, report, 0, 100)
        got = [(d.source_url.rsplit("/in/", 1)[-1], d.status) for d in details if d.source_url]
        assert got == expected
        failed = sum(1 for _, status in expected if status == "failed")
        assert (report.counts.succeeded, report.counts.failed) == (23 - failed, failed)
        assert details[6].error is not None and details[6].error.inner_code == "NotProcessed"
        assert details[3].error is not None and details[3].error.code == "InvalidContent"
        assert all(d.result_url for d in details if d.status == "succeeded")
        assert not any(d.result_url for d in details if d.status == "failed")

    def test_any_range_reads_only_what_it_covers(self, env: Env) -> None:
        ref, _ = self._job(env)
        self._finalize(env, ref)
        report = env.store.load_report(ref.job_id)
        assert report is not None
        everything = read_details(env.store, ref.job_id, report, 0, 23)
        for skip, top in ((0, 5), (3, 9), (5, 5), (19, 10), (22, 1), (23, 5), (40, 3)):
            assert (
                read_details(env.store, ref.job_id, report, skip, top)
                == everything[skip : skip + top]
            )

    def test_a_report_of_one_page_stores_no_pages(self, env: Env) -> None:
        ref, expected = self._job(env, count=5)
        self._finalize(env, ref)
        assert len(env.report(ref)["details"]) == 5
        assert not (env.root / "jobs" / ref.job_id / "details").exists()
        report = env.store.load_report(ref.job_id)
        assert report is not None
        assert len(read_details(env.store, ref.job_id, report, 0, 10_000)) == len(expected)


# ------------------------------------------------------------------- SAS never in details


def _sas(container: str) -> str:
    return generate_container_sas(
        account_name=DEV_ACCOUNT,
        container_name=container,
        account_key=DEV_KEY,
        permission=ContainerSasPermissions(read=True, write=True, list=True, create=True),
        expiry=datetime.now(UTC) + timedelta(hours=1),
    )


@pytest.fixture
def containers(azurite: Azurite) -> Iterator[tuple[str, str]]:
    service = BlobServiceClient.from_connection_string(azurite.connection_string)
    names = [f"in{uuid.uuid4().hex[:12]}", f"out{uuid.uuid4().hex[:12]}"]
    clients = [service.create_container(n) for n in names]
    clients[0].upload_blob("docs/a.txt", b"hello")
    clients[0].upload_blob("docs/b.png", b"BAD")
    yield names[0], names[1]
    for client in clients:
        client.delete_container()


@pytest.mark.azurite
def test_details_carry_urls_without_sas(
    env: Env, azurite: Azurite, containers: tuple[str, str]
) -> None:
    source, results = containers
    env.services.policy = StorageAllowList(
        local_roots=[env.root / "storage"], emulator_endpoints=[azurite.blob_endpoint]
    )
    source_url = f"{azurite.blob_endpoint}/{source}?{_sas(source)}"
    result_url = f"{azurite.blob_endpoint}/{results}?{_sas(results)}"
    ref = env.job(prefix="docs/", source_url=source_url, result_url=result_url)
    _, counts, report = env.run_all(ref)
    assert (counts.succeeded, counts.failed) == (1, 1)
    urls = [d[k] for d in report["details"] for k in ("sourceUrl", "resultUrl") if k in d]
    assert sorted(urls) == sorted(
        [
            f"{azurite.blob_endpoint}/{source}/docs/a.txt",
            f"{azurite.blob_endpoint}/{source}/docs/b.png",
            f"{azurite.blob_endpoint}/{results}/res/a.txt.ocr.json",
        ]
    )
    assert all(not urlsplit(u).query for u in urls)
    stored = b"".join(
        p.read_bytes() for p in (env.root / "jobs" / ref.job_id).rglob("*") if p.is_file()
    )
    assert b"sig=" not in stored  # the spec (and its SAS) is gone, nothing else kept it
    blob = (
        BlobServiceClient.from_connection_string(azurite.connection_string)
        .get_blob_client(results, "res/a.txt.ocr.json")
        .download_blob()
        .readall()
    )
    assert json.loads(blob)["content"] == "hello"


def test_chunk_slices_match_stored_shards(env: Env) -> None:
    for i in range(7):
        env.put(f"{i}.txt", b"x")
    ref = env.job()
    plan = plan_job(env.services, ref)
    seen: list[str] = []
    for shard in range(plan.shards):
        names = env.store.load_shard_items(ref.job_id, shard)
        for start, stop in chunk_slices(len(names), plan.items_per_activity):
            seen.extend(names[start:stop])
    assert seen == [f"{i}.txt" for i in range(7)]
