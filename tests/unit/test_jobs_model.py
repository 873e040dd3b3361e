"""Job data round trips through JSON (job store files and orchestration payloads)."""

from __future__ import annotations

import json

from batchinfer.jobs.model import (
    DOCUMENT_ANALYSIS,
    Counts,
    ItemDetail,
    ItemError,
    ItemOutcome,
    ItemStatus,
    JobRef,
    JobReport,
    JobSpec,
    JobStatus,
    Plan,
)


def _through_json(value: object) -> object:
    return json.loads(json.dumps(value))


def _spec(**changes: object) -> JobSpec:
    base = dict(
        job_id="0b7e",
        kind=DOCUMENT_ANALYSIS,
        model_id="prebuilt-read",
        source_url="https://acct.blob.core.windows.net/in?sv=1&sig=abc",
        source_prefix="docs/",
        file_list=None,
        result_url="https://acct.blob.core.windows.net/out?sv=1&sig=def",
        result_prefix="res/",
        overwrite=False,
        created="2024-01-02T03:04:05Z",
    )
    base.update(changes)
    return JobSpec(**base)  # type: ignore[arg-type]


class TestJobSpec:
    def test_round_trip(self) -> None:
        spec = _spec()
        assert JobSpec.from_json(_through_json(spec.to_json())) == spec  # type: ignore[arg-type]

    def test_round_trip_with_file_list_and_options(self) -> None:
        spec = _spec(
            file_list="lists/files.jsonl", overwrite=True, options={"pages": "1-2", "locale": "en"}
        )
        again = JobSpec.from_json(_through_json(spec.to_json()))  # type: ignore[arg-type]
        assert again == spec
        assert again.options == {"pages": "1-2", "locale": "en"}
        assert again.file_list == "lists/files.jsonl"
        assert again.overwrite is True


class TestJobRef:
    def test_round_trip_carries_no_urls(self) -> None:
        ref = JobRef(job_id="j1", kind=DOCUMENT_ANALYSIS, model_id="prebuilt-read")
        data = _through_json(ref.to_json())
        assert JobRef.from_json(data) == ref  # type: ignore[arg-type]
        assert set(data) == {"job_id", "kind", "model_id"}  # type: ignore[arg-type]


class TestItemOutcome:
    def test_succeeded_round_trip(self) -> None:
        outcome = ItemOutcome("docs/a.pdf", "succeeded", result="res/a.pdf.ocr.json", pages=3)
        data = _through_json(outcome.to_json())
        assert data == {
            "source": "docs/a.pdf",
            "status": "succeeded",
            "result": "res/a.pdf.ocr.json",
            "pages": 3,
        }
        assert ItemOutcome.from_json(data) == outcome  # type: ignore[arg-type]

    def test_failed_round_trip_with_inner_error(self) -> None:
        outcome = ItemOutcome(
            "docs/b.png",
            "failed",
            error=ItemError(
                "InvalidArgument", "could not read", "BlobNotFound", "blob 'docs/b.png' is gone"
            ),
        )
        data = _through_json(outcome.to_json())
        assert data["error"] == {  # type: ignore[index]
            "code": "InvalidArgument",
            "message": "could not read",
            "innererror": {"code": "BlobNotFound", "message": "blob 'docs/b.png' is gone"},
        }
        assert "result" not in data and "pages" not in data  # type: ignore[operator]
        assert ItemOutcome.from_json(data) == outcome  # type: ignore[arg-type]

    def test_skipped_round_trip_without_inner_error(self) -> None:
        outcome = ItemOutcome("c.jpg", "skipped", error=ItemError("OutputExists", "exists"))
        data = _through_json(outcome.to_json())
        assert "innererror" not in data["error"]  # type: ignore[index]
        assert ItemOutcome.from_json(data) == outcome  # type: ignore[arg-type]

    def test_inner_message_defaults_to_message(self) -> None:
        assert ItemError("A", "msg", "B").to_json() == {
            "code": "A",
            "message": "msg",
            "innererror": {"code": "B", "message": "msg"},
        }


class TestPlan:
    def test_round_trip(self) -> None:
        plan = Plan(total=1001, shard_size=400, items_per_activity=8, shards=3)
        data = _through_json(plan.to_json())
        assert "error" not in data  # type: ignore[operator]
        assert Plan.from_json(data) == plan  # type: ignore[arg-type]

    def test_round_trip_with_error(self) -> None:
        plan = Plan(
            0,
            400,
            8,
            0,
            ItemError(
                "InvalidRequest",
                "The source could not be listed.",
                "ContainerNotFound",
                "no such container",
            ),
        )
        again = Plan.from_json(_through_json(plan.to_json()))  # type: ignore[arg-type]
        assert again == plan
        assert again.error is not None and again.error.inner_code == "ContainerNotFound"


class TestCounts:
    def test_record_and_add(self) -> None:
        counts = Counts()
        counts.record(ItemOutcome("a", "succeeded", result="a.ocr.json", pages=2))
        counts.record(ItemOutcome("b", "failed", error=ItemError("X", "x")))
        counts.record(ItemOutcome("c", "skipped", error=ItemError("OutputExists", "y")))
        counts.record(ItemOutcome("d", "succeeded", result="d.ocr.json", pages=1))
        assert counts.to_json() == {"succeeded": 2, "failed": 1, "skipped": 1, "pages": 3}
        assert counts.done == 4
        total = counts.add(Counts(1, 1, 1, 1))
        assert total.to_json() == {"succeeded": 3, "failed": 2, "skipped": 2, "pages": 4}
        assert counts.done == 4  # add returns a new object

    def test_round_trip_and_missing(self) -> None:
        counts = Counts(3, 2, 1, 9)
        assert Counts.from_json(_through_json(counts.to_json())) == counts  # type: ignore[arg-type]
        assert Counts.from_json(None) == Counts()
        assert Counts.from_json({"failed": 2}) == Counts(failed=2)


# ----------------------------------------------------------------- one report, one error type


def test_item_error_round_trips_with_and_without_inner_error() -> None:
    full = ItemError("InvalidArgument", "m", "BlobNotFound", "inner")
    assert ItemError.from_json(full.to_json()) == full
    bare = ItemError("OutputExists", "skipped")
    assert bare.to_json() == {"code": "OutputExists", "message": "skipped"}
    assert ItemError.from_json(bare.to_json()) == bare
    assert ItemError.optional(None) is None


def test_job_report_round_trips_in_its_stored_shape() -> None:
    report = JobReport(
        JobStatus.SUCCEEDED,
        Counts(1, 1, 0, 2),
        (
            ItemDetail(ItemStatus.SUCCEEDED, "file:///in/a.png", "file:///out/a.png.ocr.json"),
            ItemDetail(
                ItemStatus.FAILED, "file:///in/b.txt", error=ItemError("UnsupportedContent", "no")
            ),
        ),
    )
    stored = report.to_json()
    assert stored == {
        "status": "succeeded",
        "succeededCount": 1,
        "failedCount": 1,
        "skippedCount": 0,
        "pages": 2,
        "details": [
            {
                "status": "succeeded",
                "sourceUrl": "file:///in/a.png",
                "resultUrl": "file:///out/a.png.ocr.json",
            },
            {
                "status": "failed",
                "sourceUrl": "file:///in/b.txt",
                "error": {"code": "UnsupportedContent", "message": "no"},
            },
        ],
    }
    assert JobReport.from_json(stored) == report
    assert report.summary() == {
        "status": "succeeded",
        "succeeded": 1,
        "failed": 1,
        "skipped": 0,
        "pages": 2,
    }
    failed = JobReport(JobStatus.FAILED, error=ItemError("InvalidRequest", "m"))
    assert failed.to_json()["error"] == {"code": "InvalidRequest", "message": "m"}
    assert JobReport.from_json(failed.to_json()) == failed


def test_statuses_are_their_wire_strings() -> None:
    assert json.dumps([JobStatus.NOT_STARTED, ItemStatus.SKIPPED]) == '["notStarted", "skipped"]'
    assert JobStatus("canceled").finished and not JobStatus.RUNNING.finished
    assert f"{JobStatus.FAILED}" == "failed"
