"""The dashboard in a real browser: Debian's headless Chromium driven by selenium loads each
view against a host with real jobs and checks what is rendered. Screenshots are saved under
`test-artifacts/dashboard/` (gitignored)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.dashboard.conftest import JobsHost
from tests.support.azurite import REPO_ROOT

ARTIFACTS = REPO_ROOT / "test-artifacts" / "dashboard"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")

# Locally a machine without a browser skips these; in CI (`CI` set, as `.ci/run` runs) a missing
# browser is a failure, so the dashboard is never left untested there.
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER) and not os.environ.get("CI"),
    reason="needs Debian's chromium and chromium-driver (.ci/run installs them)",
)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1400,1000",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(60)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _wait(driver: object, css: str, count: int = 1, timeout: float = 30) -> list[object]:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(  # type: ignore[arg-type]
        lambda d: (found := d.find_elements(By.CSS_SELECTOR, css)) and len(found) >= count and found
    )


def _shot(driver: object, name: str) -> Path:
    path = ARTIFACTS / f"{name}.png"
    driver.save_screenshot(str(path))  # type: ignore[attr-defined]
    assert path.stat().st_size > 5_000
    return path


def test_jobs_table_lists_every_kind_with_progress(browser: object, jobs_host: JobsHost) -> None:
    browser.get(f"{jobs_host.api}/ui/")  # type: ignore[attr-defined]
    rows = _wait(browser, "tr.job-row", 5)
    kinds = {r.get_attribute("data-kind") for r in rows}
    assert kinds == {
        "document-analysis",
        "anomaly-training",
        "anomaly-detection",
        "dataset-job",
        "batch-endpoint",
    }
    endpoint = next(r for r in rows if r.get_attribute("data-id") == jobs_host.endpoint_job)
    assert endpoint.get_attribute("data-status") == "succeeded"
    assert endpoint.find_element("css selector", "td.failed").text == "1"
    doc = next(r for r in rows if r.get_attribute("data-id") == jobs_host.document_job)
    assert doc.get_attribute("data-status") == "succeeded"
    assert doc.find_element("css selector", ".progress-label").text == "100%"
    assert doc.find_element("css selector", "td.failed").text == "2"
    assert doc.find_element("css selector", "td.succeeded").text == "5"
    page = browser.page_source  # type: ignore[attr-defined]
    assert "sig=" not in page and "https://" not in page
    _shot(browser, "jobs")
    from selenium.webdriver.support.ui import Select

    Select(browser.find_element("id", "filter-kind")).select_by_value(  # type: ignore[attr-defined]
        "anomaly-training"
    )
    _wait(browser, "tr.job-row[data-kind='anomaly-training']")
    assert {r.get_attribute("data-kind") for r in _wait(browser, "tr.job-row")} == {
        "anomaly-training"
    }


def test_job_detail_pages_items_and_filters_failures(browser: object, jobs_host: JobsHost) -> None:
    browser.get(f"{jobs_host.api}/ui/#/job/document-analysis/{jobs_host.document_job}")  # type: ignore[attr-defined]
    items = _wait(browser, "tr.item-row", 7)
    assert len(items) == 7
    assert browser.find_element("id", "count-failed").text == "2"  # type: ignore[attr-defined]
    assert _wait(browser, "svg.progress-chart path.series")
    assert browser.find_element("id", "rerun-failed").is_displayed()  # type: ignore[attr-defined]
    _shot(browser, "job-detail")
    browser.find_element("id", "failures-only").click()  # type: ignore[attr-defined]
    _wait(browser, "#page-range")
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, 20).until(
        lambda d: (
            len(
                d.find_elements(  # type: ignore[arg-type]
                    "css selector", "tr.item-row"
                )
            )
            == 2
        )
    )
    statuses = {
        r.get_attribute("data-status")
        for r in browser.find_elements(  # type: ignore[attr-defined]
            "css selector", "tr.item-row"
        )
    }
    assert statuses == {"failed"}


def test_document_view_draws_line_polygons_over_the_page(
    browser: object, jobs_host: JobsHost
) -> None:
    details = jobs_host.get(
        f"dashboard/jobs/document-analysis/{jobs_host.document_job}/items"
    ).json()["items"]
    item = next(i for i in details if i["name"].endswith(".png") and i["status"] == "succeeded")
    result = jobs_host.get(
        f"dashboard/jobs/document-analysis/{jobs_host.document_job}/views/document",
        item=item["index"],
    ).json()
    lines = len(result["analyzeResult"]["pages"][0]["lines"])
    assert lines > 0
    browser.get(f"{jobs_host.api}/ui/#/doc/{jobs_host.document_job}/{item['index']}")  # type: ignore[attr-defined]
    polygons = _wait(browser, "#overlay polygon.line", lines)
    assert len(polygons) == lines
    texts = [li.text for li in browser.find_elements("css selector", "#lines li")]  # type: ignore[attr-defined]
    assert texts == [line["content"] for line in result["analyzeResult"]["pages"][0]["lines"]]
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, 30).until(
        lambda d: d.execute_script(  # type: ignore[arg-type]
            "const i = document.getElementById('page-image');"
            " return i.complete && i.naturalWidth > 0"
        )
    )
    # the overlay covers exactly the drawn image, so polygons land on their lines
    image_box, overlay_box = browser.execute_script(  # type: ignore[attr-defined]
        "const r = e => { const b = e.getBoundingClientRect(); "
        "return [b.left, b.top, b.width, b.height]; }; "
        "return [r(document.getElementById('page-image')), r(document.getElementById('overlay'))]"
    )
    assert image_box[2] > 100
    assert all(abs(a - b) < 1.5 for a, b in zip(image_box, overlay_box, strict=True))
    _shot(browser, "document")


def test_anomaly_view_marks_anomalies_and_shows_contributors(
    browser: object, jobs_host: JobsHost
) -> None:
    series = jobs_host.get(
        f"dashboard/jobs/anomaly-detection/{jobs_host.detection_id}/views/series"
    ).json()
    assert series["anomalies"], "the injected anomalies were not found"
    browser.get(f"{jobs_host.api}/ui/#/series/{jobs_host.detection_id}")  # type: ignore[attr-defined]
    markers = _wait(browser, "svg.severity-chart circle.anomaly-marker", len(series["anomalies"]))
    assert len(markers) == len(series["anomalies"])
    assert len(_wait(browser, "svg.variable-chart", 3)) == 3
    assert _wait(browser, "#contributors svg.bars rect.bar")
    _shot(browser, "anomalies")


def test_training_view_shows_diagnostics(browser: object, jobs_host: JobsHost) -> None:
    browser.get(f"{jobs_host.api}/ui/#/job/anomaly-training/{jobs_host.model_id}")  # type: ignore[attr-defined]
    rows = _wait(browser, "#variable-states tr.variable-row", 3)
    assert [r.find_element("css selector", "td").text for r in rows] == [
        "series_0",
        "series_1",
        "series_2",
    ]
    assert "trainLosses" in browser.page_source  # type: ignore[attr-defined]
    _shot(browser, "training")


def test_key_entry_is_kept_in_session_storage(browser: object, jobs_host: JobsHost) -> None:
    browser.get(f"{jobs_host.api}/ui/")  # type: ignore[attr-defined]
    _wait(browser, "tr.job-row")
    box = browser.find_element("id", "api-key")  # type: ignore[attr-defined]
    box.send_keys("local-key")
    browser.find_element("css selector", "#key-form button").click()  # type: ignore[attr-defined]
    stored = browser.execute_script(  # type: ignore[attr-defined]
        "return sessionStorage.getItem('batchinfer.apiKey')"
    )
    assert stored == "local-key"
    assert "local-key" not in browser.page_source  # type: ignore[attr-defined]
    browser.execute_script("sessionStorage.clear()")  # type: ignore[attr-defined]


def test_swagger_ui_renders_every_operation(browser: object, jobs_host: JobsHost) -> None:
    document = jobs_host.get("openapi.json").json()
    operations = sum(len(item) for item in document["paths"].values())
    browser.get(f"{jobs_host.api}/docs/")  # type: ignore[attr-defined]
    blocks = _wait(browser, ".opblock", operations, timeout=60)
    assert len(blocks) == operations
    scripts = browser.execute_script(  # type: ignore[attr-defined]
        "return [...document.scripts].map(s => s.src).concat("
        "[...document.querySelectorAll('link')].map(l => l.href))"
    )
    assert all(src == "" or src.startswith(jobs_host.api) for src in scripts), scripts
    _shot(browser, "swagger")


def test_running_job_refreshes_itself_and_delete_asks_first(
    browser: object, jobs_host: JobsHost
) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    location = jobs_host.submit_documents(result_prefix="live/")
    job_id = location.split("?")[0].rsplit("/", 1)[1]
    browser.get(f"{jobs_host.api}/ui/")  # type: ignore[attr-defined]
    row = f"tr.job-row[data-id='{job_id}']"
    first = _wait(browser, row)[0].get_attribute("data-status")
    browser.execute_script("window.__samePage = true")  # type: ignore[attr-defined]
    # no reload: the table refreshes itself while the job runs, until it has finished
    WebDriverWait(browser, 120).until(
        lambda d: d.find_elements(  # type: ignore[arg-type]
            "css selector", f"{row}[data-status='succeeded']"
        )
    )
    assert first in ("notStarted", "running", "succeeded")
    assert browser.execute_script("return window.__samePage === true")  # type: ignore[attr-defined]
    # Delete asks for confirmation: dismissing keeps the job, accepting deletes it
    browser.find_element("css selector", f"{row} button.delete").click()  # type: ignore[attr-defined]
    WebDriverWait(browser, 10).until(lambda d: d.switch_to.alert)  # type: ignore[arg-type]
    browser.switch_to.alert.dismiss()  # type: ignore[attr-defined]
    assert jobs_host.get(f"dashboard/jobs/document-analysis/{job_id}").status_code == 200
    browser.find_element("css selector", f"{row} button.delete").click()  # type: ignore[attr-defined]
    WebDriverWait(browser, 10).until(lambda d: d.switch_to.alert)  # type: ignore[arg-type]
    browser.switch_to.alert.accept()  # type: ignore[attr-defined]
    WebDriverWait(browser, 60).until(
        lambda d: (
            not d.find_elements(  # type: ignore[arg-type]
                "css selector", row
            )
        )
    )
    assert jobs_host.get(f"dashboard/jobs/document-analysis/{job_id}").status_code == 404


def test_a_keyed_host_needs_the_key_typed_into_the_page(browser: object, tmp_path: Path) -> None:
    from tests.support.host import HostProcess

    host = HostProcess(
        REPO_ROOT,
        tmp_path / "host",
        env={"BATCHINFER_DATA_ROOT": str(tmp_path), "BATCHINFER_API_KEYS": "k-123"},
    )
    host.start()
    try:
        browser.get(f"{host.base_url}/api/ui/")  # type: ignore[attr-defined]
        error = _wait(browser, "#load-error")[0]
        assert error.text.startswith("401")
        browser.find_element("id", "api-key").send_keys("k-123")  # type: ignore[attr-defined]
        browser.find_element("css selector", "#key-form button").click()  # type: ignore[attr-defined]
        assert _wait(browser, "#no-jobs")
        assert "k-123" not in browser.page_source  # type: ignore[attr-defined]
    finally:
        browser.execute_script("sessionStorage.clear()")  # type: ignore[attr-defined]
        assert host.stop() == 0
