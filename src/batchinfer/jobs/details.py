"""A report's per-item details, written page by page as finalize streams the outcomes.

A job of a million items must not be reported by building a million details in memory, nor
answered with all of them in one status body. The report (`report.json`) keeps the counts and
the first page of details — at most 10,000, the size of the largest batch the service itself
accepts, so its status body lists every item of any batch the service could run — and each
later page is a blob of its own beside it (`details/000001.json`, ...). Finalize holds one page
at a time; a reader loads only the pages its range covers.
"""

from __future__ import annotations

from batchinfer.jobs.model import ItemDetail, JobReport
from batchinfer.jobs.store import JobStore

DETAILS_PAGE_SIZE = 10_000
"""Details per page, and the most a status body lists."""


class DetailPages:
    """Collects a report's details in order: keeps the first page, stores each later one as it
    fills, so memory stays at one page whatever the job's size."""

    def __init__(self, store: JobStore, job_id: str, page_size: int = DETAILS_PAGE_SIZE) -> None:
        self._store, self._job_id = store, job_id
        self.page_size = max(1, page_size)
        self._first: list[ItemDetail] = []
        self._page: list[ItemDetail] = []
        self._pages = 0  # later pages stored so far
        self.total = 0

    def add(self, detail: ItemDetail) -> None:
        self.total += 1
        if len(self._first) < self.page_size:
            self._first.append(detail)
            return
        self._page.append(detail)
        if len(self._page) == self.page_size:
            self._flush()

    def finish(self) -> tuple[ItemDetail, ...]:
        """Store the last, partial page; return the first page (the report's own details)."""
        if self._page:
            self._flush()
        return tuple(self._first)

    def _flush(self) -> None:
        self._pages += 1
        self._store.save_detail_page(self._job_id, self._pages, self._page)
        self._page = []


def read_details(
    store: JobStore, job_id: str, report: JobReport, skip: int, top: int
) -> list[ItemDetail]:
    """Details `skip .. skip+top` of a report, loading only the pages they are on. A report
    stored unpaged (all details inline) is sliced as it is."""
    skip, top = max(0, skip), max(0, top)
    stop = min(report.total_details, skip + top)
    size = report.details_page_size
    if size is None or len(report.details) >= report.total_details:
        return list(report.details[skip:stop])
    found: list[ItemDetail] = []
    position = skip
    while position < stop:
        page = position // size
        items = list(report.details) if page == 0 else store.load_detail_page(job_id, page)
        offset = position - page * size
        taken = (items or [])[offset : offset + stop - position]
        if not taken:
            break  # a page missing from the store: return what there is
        found.extend(taken)
        position += len(taken)
    return found
