"""Decode memory is bounded: early downscaling, and one budget across all decoding threads.

A 349-byte PDF declaring a huge page, or a tiny PNG of 9,999 x 9,999 blank pixels, used to be
decoded at up to 10^8 pixels each, in as many threads as activities ran.
"""

from __future__ import annotations

import io
import threading
import time

from PIL import Image

from batchinfer.models.ocr.budget import ByteBudget
from batchinfer.models.ocr.decode import DecodeLimits, iter_pages


def huge_page_pdf(side_pt: int = 14_400) -> bytes:
    """A few hundred bytes declaring one page of side_pt x side_pt points (200 x 200 inches)."""
    return (
        b"%%PDF-1.4\n1 0 obj <</Type/Catalog/Pages 2 0 R>> endobj\n"
        b"2 0 obj <</Type/Pages/Kids[3 0 R]/Count 1>> endobj\n"
        b"3 0 obj <</Type/Page/Parent 2 0 R/MediaBox[0 0 %d %d]>> endobj\n"
        b"trailer <</Root 1 0 R>>\n%%%%EOF\n" % (side_pt, side_pt)
    )


def blank_png(width: int, height: int, mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, (width, height), "white").save(buffer, format="PNG")
    return buffer.getvalue()


def test_a_huge_pdf_page_is_rendered_at_the_working_size() -> None:
    data = huge_page_pdf()
    assert len(data) < 400
    limits = DecodeLimits(max_work_pixels=1_000_000, budget=ByteBudget(1 << 30))
    (page,) = list(iter_pages(data, "huge.pdf", limits))
    assert page.width * page.height <= 1_000_000
    assert page.dpi is not None
    assert abs(page.width / page.dpi - 200.0) < 0.5  # still 200 inches wide when reported


def test_a_large_raster_is_reduced_and_reports_its_original_size() -> None:
    data = blank_png(3000, 2000, "RGBA")
    limits = DecodeLimits(max_work_pixels=600_000, budget=ByteBudget(1 << 30))
    (page,) = list(iter_pages(data, "big.png", limits))
    assert page.width * page.height <= 600_000
    assert abs(page.width * page.pixel_scale - 3000) <= 3
    assert abs(page.height * page.pixel_scale - 2000) <= 3
    assert page.rgb.shape[2] == 3 and int(page.rgb.min()) == 255  # transparent → white paper


def test_small_pages_are_untouched() -> None:
    (page,) = list(iter_pages(blank_png(800, 600), "a.png", DecodeLimits()))
    assert (page.width, page.height, page.pixel_scale) == (800, 600, 1.0)


def test_pages_in_flight_across_threads_stay_within_the_budget() -> None:
    budget = ByteBudget(40 * 1024 * 1024)
    limits = DecodeLimits(max_work_pixels=1_000_000, budget=budget)
    data = blank_png(2500, 2500)  # each page costs about 2500^2 * 7 + 10^6 * 12 bytes
    errors: list[BaseException] = []
    held: list[int] = []

    def analyze() -> None:
        try:
            for page in iter_pages(data, "p.png", limits):
                held.append(budget.in_use)
                time.sleep(0.05)  # the caller analyzing the page, budget still held
                assert page.width * page.height <= 1_000_000
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=analyze) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    assert len(held) == 8
    assert budget.peak <= budget.limit
    assert max(held) <= budget.limit and budget.in_use == 0


def test_a_page_costing_more_than_the_budget_runs_alone() -> None:
    budget = ByteBudget(1024 * 1024)
    limits = DecodeLimits(max_work_pixels=250_000, budget=budget)
    (page,) = list(iter_pages(blank_png(1500, 1500), "p.png", limits))
    assert page.width * page.height <= 250_000
    assert budget.peak == budget.limit and budget.in_use == 0
