"""A report's details in pages: how they are collected, read back and bounded in a status body."""

from __future__ import annotations

from pathlib import Path

import pytest

from batchinfer.api.document_intelligence.schemas import batch_result_body, details_page_body
from batchinfer.jobs.details import DETAILS_PAGE_SIZE, DetailPages, read_details
from batchinfer.jobs.model import Counts, ItemDetail, ItemError, ItemStatus, JobReport, JobStatus
from batchinfer.jobs.store import JobStore
from batchinfer.storage.local import LocalFolderStore

LINK = (
    "http://h/api/documentintelligence/documentModels/m/analyzeBatchResults/r/details?api-version=v"
)


@pytest.fixture
def store(tmp_path: Path) -> JobStore:
    return JobStore(LocalFolderStore(tmp_path / "jobs"))


def _detail(index: int) -> ItemDetail:
    if index % 3 == 0:
        return ItemDetail(
            ItemStatus.FAILED,
            f"file:///in/{index}.png",
            error=ItemError("InvalidContent", "The file is corrupted."),
        )
    return ItemDetail(ItemStatus.SUCCEEDED, f"file:///in/{index}.png", f"file:///out/{index}.json")


class _CountingStore(JobStore):
    """Records the size of every page written, to show finalize never holds more than one."""

    def __init__(self, inner: JobStore) -> None:
        super().__init__(inner.backing_store)
        self.written: list[tuple[int, int]] = []

    def save_detail_page(self, job_id: str, page: int, details: object) -> None:
        items = list(details)  # type: ignore[call-overload]
        self.written.append((page, len(items)))
        super().save_detail_page(job_id, page, items)


def test_pages_are_stored_as_they_fill(store: JobStore) -> None:
    counting = _CountingStore(store)
    pages = DetailPages(counting, "j", page_size=4)
    for i in range(6):
        pages.add(_detail(i))
    assert counting.written == []  # the first page is the report's own
    for i in range(6, 13):
        pages.add(_detail(i))
    assert counting.written == [(1, 4), (2, 4)]
    first = pages.finish()
    assert counting.written == [(1, 4), (2, 4), (3, 1)]
    assert [d.source_url for d in first] == [f"file:///in/{i}.png" for i in range(4)]
    assert pages.total == 13


def test_read_details_joins_the_report_and_its_pages(store: JobStore) -> None:
    pages = DetailPages(store, "j", page_size=4)
    everything = [_detail(i) for i in range(10)]
    for detail in everything:
        pages.add(detail)
    report = JobReport(
        JobStatus.SUCCEEDED, Counts(6, 4), pages.finish(), None, pages.total, pages.page_size
    )
    stored = JobReport.from_json(report.to_json())
    assert stored == report
    assert read_details(store, "j", stored, 0, 100) == everything
    assert read_details(store, "j", stored, 3, 6) == everything[3:9]
    assert read_details(store, "j", stored, 10, 5) == []


def test_an_unpaged_report_is_read_as_it_is(store: JobStore) -> None:
    """Reports stored before paging carry every detail inline and no page size."""
    everything = tuple(_detail(i) for i in range(7))
    report = JobReport.from_json(JobReport(JobStatus.SUCCEEDED, Counts(4, 3), everything).to_json())
    assert (report.details_page_size, report.total_details) == (None, 7)
    assert read_details(store, "old", report, 2, 3) == list(everything[2:5])


def test_status_body_lists_at_most_a_page_and_links_the_rest() -> None:
    count = DETAILS_PAGE_SIZE + 5
    first = tuple(_detail(i) for i in range(DETAILS_PAGE_SIZE))
    report = JobReport(
        JobStatus.SUCCEEDED, Counts(count - 3, 3), first, None, count, DETAILS_PAGE_SIZE
    )
    body = batch_result_body(report, LINK)
    assert len(body["details"]) == DETAILS_PAGE_SIZE
    assert (body["succeededCount"], body["failedCount"]) == (count - 3, 3)
    assert body["detailsNextLink"] == f"{LINK}&skip={DETAILS_PAGE_SIZE}"


def test_status_body_of_an_old_large_report_is_bounded_too() -> None:
    everything = tuple(_detail(i) for i in range(DETAILS_PAGE_SIZE + 2))
    body = batch_result_body(JobReport(JobStatus.SUCCEEDED, details=everything), LINK)
    assert len(body["details"]) == DETAILS_PAGE_SIZE
    assert body["detailsNextLink"].endswith(f"&skip={DETAILS_PAGE_SIZE}")


def test_status_body_of_a_job_within_the_bound_has_no_link() -> None:
    details = tuple(_detail(i) for i in range(DETAILS_PAGE_SIZE))
    report = JobReport(JobStatus.SUCCEEDED, Counts(), details, None, len(details), 10_000)
    body = batch_result_body(report, LINK)
    assert len(body["details"]) == DETAILS_PAGE_SIZE
    assert "detailsNextLink" not in body


def test_details_page_links_the_next_page_until_the_last() -> None:
    page = [_detail(i) for i in range(3)]
    body = details_page_body(page, 10, 20, LINK)
    assert [d["sourceUrl"] for d in body["value"]] == [d.source_url for d in page]
    assert body["nextLink"] == f"{LINK}&skip=13&top=3"
    assert "nextLink" not in details_page_body(page, 17, 20, LINK)
    assert details_page_body([], 25, 20, LINK) == {"value": []}


def test_prefetched_reads_in_order_with_a_bounded_window() -> None:
    """Finalize reads chunk outcomes ahead, concurrently, but never more than its window ahead
    of what it has merged: memory stays bounded whatever the job's size."""
    import threading

    from batchinfer.activities.batch_steps import prefetched

    lock = threading.Lock()
    started: list[int] = []

    def read(key: int) -> int:
        with lock:
            started.append(key)
        return key * key

    consumed = 0
    for key, value in prefetched(read, iter(range(200)), window=4):
        assert (key, value) == (consumed, consumed * consumed)
        consumed += 1
        assert len(started) <= consumed + 4
    assert consumed == 200 and sorted(started) == list(range(200))
