"""The Document Intelligence batch API over HTTP against a real host, with real OCR.

One host serves the module; the sample job runs once and several tests read its report. The
host runs one item per activity, so a 40-document job is long enough to be canceled midway.
"""

from __future__ import annotations

import json
import re
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from azure.storage.blob import BlobServiceClient, ContainerSasPermissions, generate_container_sas

from batchinfer.samples import SampleDoc, generate_sample_documents
from tests.support.azurite import DEV_ACCOUNT, DEV_KEY, REPO_ROOT, Azurite
from tests.support.host import HostProcess

API_VERSION = "2024-11-30"
MODEL = "prebuilt-read"
TERMINAL = {"succeeded", "failed", "canceled"}
ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


@dataclass
class Api:
    host: HostProcess
    storage: Path  # the allowed local root

    @property
    def base(self) -> str:
        return f"{self.host.base_url}/api/documentintelligence/documentModels"

    def url(self, path: str, **params: Any) -> str:
        query = "&".join([f"api-version={API_VERSION}", *(f"{k}={v}" for k, v in params.items())])
        return f"{self.base}/{path}?{query}"

    def submit(
        self,
        body: Any,
        *,
        model: str = MODEL,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
    ) -> requests.Response:
        data = raw if raw is not None else json.dumps(body).encode()
        return requests.post(
            self.url(f"{model}:analyzeBatch"),
            data=data,
            timeout=30,
            headers={"Content-Type": "application/json", **(headers or {})},
        )

    def get(self, operation_location: str) -> dict[str, Any]:
        response = requests.get(operation_location, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()

    def wait(self, operation_location: str, timeout: float = 120) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            body = self.get(operation_location)
            assert body["status"] in {"notStarted", "running", *TERMINAL}, body
            if body["status"] in TERMINAL:
                return body
            time.sleep(0.2)
        raise AssertionError(f"job did not finish: {body}")

    def list_all(self, **params: Any) -> dict[str, Any]:
        response = requests.get(self.url(f"{MODEL}/analyzeBatchResults", **params), timeout=30)
        assert response.status_code == 200, response.text
        return response.json()

    def jobs_stored(self) -> set[str]:
        """Job ids with any blob in the job store (a local folder may keep empty folders)."""
        folder = self.host.data_dir.parent / "jobs"
        if not folder.is_dir():
            return set()
        return {p.relative_to(folder).parts[0] for p in folder.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, azurite: Azurite) -> Iterator[Api]:
    root = tmp_path_factory.mktemp("docapi")
    storage = root / "storage"
    storage.mkdir()
    host = HostProcess(
        REPO_ROOT,
        root / "host",
        env={
            "BATCHINFER_DATA_ROOT": str(root),
            "BATCHINFER_AZURITE_ENDPOINTS": azurite.blob_endpoint,
            "BATCHINFER_LOCAL_ROOTS": str(storage),
            "BATCHINFER_ITEMS_PER_ACTIVITY": "1",
        },
    )
    host.start()
    try:
        yield Api(host, storage)
    finally:
        code = host.stop()
        assert code == 0, f"host did not shut down cleanly ({code}):\n{host.log()[-5000:]}"


@pytest.fixture(scope="module")
def samples(api: Api) -> list[SampleDoc]:
    return generate_sample_documents(api.storage / "in" / "docs")


@dataclass
class FinishedJob:
    operation_location: str
    submit: requests.Response
    body: dict[str, Any]
    observed: list[str]  # statuses seen while polling


@pytest.fixture(scope="module")
def sample_job(api: Api, samples: list[SampleDoc]) -> FinishedJob:
    response = api.submit(
        {
            "azureBlobSource": {"containerUrl": (api.storage / "in").as_uri(), "prefix": "docs/"},
            "resultContainerUrl": (api.storage / "out").as_uri(),
            "resultPrefix": "results/",
            "overwriteExisting": False,
        }
    )
    assert response.status_code == 202, response.text
    location = response.headers["Operation-Location"]
    observed: list[str] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        body = api.get(location)
        observed.append(body["status"])
        if body["status"] in TERMINAL:
            return FinishedJob(location, response, body, observed)
        time.sleep(0.2)
    raise AssertionError(f"sample job did not finish: {observed[-1:]}")


# ------------------------------------------------------------------------------ submit


def test_submit_answers_202_with_absolute_operation_location(
    api: Api, sample_job: FinishedJob
) -> None:
    response = sample_job.submit
    assert response.status_code == 202
    assert "Location" not in response.headers
    assert "Retry-After" not in response.headers or response.headers["Retry-After"].isdigit()
    location = urlsplit(sample_job.operation_location)
    assert (location.scheme, location.netloc) == ("http", f"127.0.0.1:{api.host.port}")
    assert re.fullmatch(
        rf"/api/documentintelligence/documentModels/{MODEL}/"
        r"analyzeBatchResults/[0-9a-f-]{36}",
        location.path,
    )
    assert parse_qs(location.query)["api-version"] == [API_VERSION]


def test_sample_job_succeeds_with_counts_and_details(
    api: Api, samples: list[SampleDoc], sample_job: FinishedJob
) -> None:
    body = sample_job.body
    assert set(sample_job.observed) <= {"notStarted", "running", "succeeded"}
    assert body["status"] == "succeeded"
    assert body["percentCompleted"] == 100
    assert body["resultId"] == sample_job.operation_location.split("?")[0].rsplit("/", 1)[-1]
    assert "resourceLocation" not in body and "error" not in body
    result = body["result"]
    expected_ok = [s for s in samples if s.expected_error is None]
    expected_bad = {s.path.name: s.expected_error for s in samples if s.expected_error}
    assert (
        (result["succeededCount"], result["failedCount"], result["skippedCount"])
        == (len(expected_ok), len(expected_bad), 0)
        == (5, 2, 0)
    )
    assert len(result["details"]) == len(samples)
    by_name = {d["sourceUrl"].rsplit("/", 1)[-1]: d for d in result["details"]}
    assert set(by_name) == {s.path.name for s in samples}
    for doc in samples:
        detail = by_name[doc.path.name]
        assert detail["sourceUrl"] == doc.path.as_uri()
        if doc.expected_error:
            assert detail["status"] == "failed"
            assert detail["error"]["code"] == doc.expected_error
            assert detail["error"]["message"]
            assert "resultUrl" not in detail
        else:
            assert detail["status"] == "succeeded"
            assert (
                detail["resultUrl"]
                == (api.storage / "out" / "results" / f"{doc.path.name}.ocr.json").as_uri()
            )
            assert "error" not in detail
    assert {by_name[n]["error"]["code"] for n in expected_bad} == {
        "InvalidContent",
        "UnsupportedContent",
    }


def test_result_files_hold_analyze_results(
    api: Api, samples: list[SampleDoc], sample_job: FinishedJob
) -> None:
    out = api.storage / "out" / "results"
    assert sorted(p.name for p in out.iterdir()) == sorted(
        f"{s.path.name}.ocr.json" for s in samples if s.expected_error is None
    )
    for doc in samples:
        if doc.expected_error:
            continue
        result = json.loads((out / f"{doc.path.name}.ocr.json").read_bytes())
        assert result["modelId"] == MODEL
        assert result["apiVersion"] == API_VERSION
        assert len(result["pages"]) == len(doc.pages)
        words = result["content"].split()
        expected = doc.expected_text.split()
        assert len(set(words) & set(expected)) >= 0.8 * len(set(expected)), result["content"]
        for number, page in enumerate(result["pages"], start=1):
            assert page["pageNumber"] == number
            assert page["lines"] and page["words"]
            for element in page["lines"] + page["words"]:
                assert element["content"]
                polygon = element["polygon"]
                assert len(polygon) == 8 and all(isinstance(v, (int, float)) for v in polygon)


def test_dates_are_utc_seconds_with_z(sample_job: FinishedJob) -> None:
    body = sample_job.body
    assert ISO_Z.match(body["createdDateTime"]) and ISO_Z.match(body["lastUpdatedDateTime"])
    created = datetime.strptime(body["createdDateTime"], "%Y-%m-%dT%H:%M:%SZ")
    updated = datetime.strptime(body["lastUpdatedDateTime"], "%Y-%m-%dT%H:%M:%SZ")
    assert created <= updated
    assert abs(datetime.now(UTC).replace(tzinfo=None) - created) < timedelta(minutes=10)


def test_second_run_skips_existing_outputs(
    api: Api, samples: list[SampleDoc], sample_job: FinishedJob
) -> None:
    out = api.storage / "out" / "results"
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    response = api.submit(
        {
            "azureBlobSource": {"containerUrl": (api.storage / "in").as_uri(), "prefix": "docs/"},
            "resultContainerUrl": (api.storage / "out").as_uri(),
            "resultPrefix": "results/",
        }
    )
    assert response.status_code == 202, response.text
    body = api.wait(response.headers["Operation-Location"])
    result = body["result"]
    assert (result["succeededCount"], result["failedCount"], result["skippedCount"]) == (0, 2, 5)
    for detail in result["details"]:
        if detail["status"] == "skipped":
            assert detail["error"]["code"] == "OutputExists"
            assert "resultUrl" not in detail
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


# ------------------------------------------------------------------------- bad requests


def _source(api: Api) -> dict[str, Any]:
    return {"containerUrl": (api.storage / "in").as_uri(), "prefix": "docs/"}


def _valid(api: Api, **changes: Any) -> dict[str, Any]:
    body = {
        "azureBlobSource": _source(api),
        "resultContainerUrl": (api.storage / "out").as_uri(),
        "resultPrefix": "bad/",
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


def _assert_error(
    response: requests.Response, status: int, code: str | None = None, inner: str | None = None
) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    assert "Retry-After" not in response.headers
    error = response.json()["error"]
    assert isinstance(error["code"], str) and isinstance(error["message"], str)
    if code:
        assert error["code"] == code, error
    if inner:
        assert error["innererror"]["code"] == inner, error
        assert error["innererror"]["message"]
    return error


BAD_BODIES: dict[str, Any] = {
    "invalid-json": b'{"azureBlobSource": ',
    "empty": b"",
    "array": b"[]",
    "null": b"null",
}


@pytest.mark.parametrize("case", sorted(BAD_BODIES))
def test_unreadable_bodies_are_400(api: Api, case: str) -> None:
    before = api.jobs_stored()
    _assert_error(api.submit(None, raw=BAD_BODIES[case]), 400, "InvalidRequest")
    assert api.jobs_stored() == before


def test_invalid_json_and_empty_body_say_why(api: Api) -> None:
    _assert_error(api.submit(None, raw=b"{nope"), 400, "InvalidRequest", "InvalidJson")
    _assert_error(api.submit(None, raw=b""), 400, "InvalidRequest", "EmptyRequest")


def _bad_requests(api: Api) -> dict[str, dict[str, Any]]:
    file_list = {"containerUrl": (api.storage / "in").as_uri(), "fileList": "list.jsonl"}
    storage = api.storage
    return {
        "both-sources": _valid(api, azureBlobFileListSource=file_list),
        "no-source": {"resultContainerUrl": (storage / "out").as_uri()},
        "no-result-container": {"azureBlobSource": _source(api)},
        "overwrite-not-bool": _valid(api, overwriteExisting="yes"),
        "result-url-not-string": _valid(api, resultContainerUrl=5),
        "source-not-object": _valid(api, azureBlobSource="file:///x"),
        "prefix-not-string": _valid(
            api, azureBlobSource={"containerUrl": (storage / "in").as_uri(), "prefix": 3}
        ),
        "unknown-source-field": _valid(api, azureBlobSource={**_source(api), "sas": "x"}),
        "evil-source-host": _valid(
            api, azureBlobSource={"containerUrl": "https://evil.example.com/c"}
        ),
        "evil-result-host": _valid(api, resultContainerUrl="https://evil.example.com/c"),
        "http-azure": _valid(api, resultContainerUrl="http://acct.blob.core.windows.net/c"),
        "unlisted-account": _valid(api, resultContainerUrl="https://acct.blob.core.windows.net/c"),
        "ftp": _valid(api, resultContainerUrl="ftp://127.0.0.1/c"),
        "file-outside-roots": _valid(api, azureBlobSource={"containerUrl": "file:///etc"}),
        "file-escape": _valid(api, resultContainerUrl=(storage.as_uri() + "/../../tmp")),
        "dotdot-prefix": _valid(
            api, azureBlobSource={"containerUrl": (storage / "in").as_uri(), "prefix": "../docs/"}
        ),
        "dotdot-result-prefix": _valid(api, resultPrefix="results/../../x/"),
        "dotdot-file-list": _valid(
            api,
            azureBlobSource=None,
            azureBlobFileListSource={**file_list, "fileList": "../l.jsonl"},
        ),
        "absolute-file-list": _valid(
            api,
            azureBlobSource=None,
            azureBlobFileListSource={**file_list, "fileList": "/etc/passwd"},
        ),
    }


def test_invalid_requests_are_400_and_leave_nothing(api: Api) -> None:
    before_jobs = api.jobs_stored()
    before_list = api.list_all()["value"]
    for case, body in _bad_requests(api).items():
        response = api.submit(body)
        assert response.status_code == 400, (case, response.status_code, response.text)
        error = _assert_error(response, 400, "InvalidRequest")
        assert "innererror" in error, case
    assert api.jobs_stored() == before_jobs  # refused before anything was stored or started
    assert api.list_all()["value"] == before_list


def test_disallowed_urls_are_refused_before_any_io(api: Api) -> None:
    for body in (
        _valid(api, azureBlobSource={"containerUrl": "https://evil.example.com/c"}),
        _valid(api, resultContainerUrl="https://evil.example.com/c"),
    ):
        started = time.monotonic()
        error = _assert_error(api.submit(body), 400, "InvalidRequest", "InvalidContentSourceFormat")
        assert time.monotonic() - started < 5  # no DNS lookup or connection attempt
        assert "evil.example.com" in error["innererror"]["message"]
    outside = _assert_error(api.submit(_valid(api, resultContainerUrl="file:///etc")), 400)
    assert "outside" in outside["innererror"]["message"]


def test_unknown_model_is_404(api: Api) -> None:
    _assert_error(api.submit(_valid(api), model="prebuilt-nope"), 404, "ModelNotFound")
    response = requests.get(api.url("prebuilt-nope/analyzeBatchResults"), timeout=30)
    _assert_error(response, 404, "ModelNotFound")


def test_unknown_result_id_is_404(api: Api) -> None:
    for result_id in (str(uuid.uuid4()), "not-a-uuid"):
        url = api.url(f"{MODEL}/analyzeBatchResults/{result_id}")
        _assert_error(requests.get(url, timeout=30), 404, "NotFound")
        _assert_error(requests.delete(url, timeout=30), 404, "NotFound")
        _assert_error(
            requests.post(api.url(f"{MODEL}/analyzeBatchResults/{result_id}:cancel"), timeout=30),
            404,
            "NotFound",
        )


def test_bad_skip_is_400(api: Api) -> None:
    response = requests.get(api.url(f"{MODEL}/analyzeBatchResults", skip="abc"), timeout=30)
    _assert_error(response, 400, "InvalidRequest", "InvalidParameter")


# ------------------------------------------------------------- repeatability, list, delete


def test_repeatability_request_id_creates_one_job(api: Api, samples: list[SampleDoc]) -> None:
    body = _valid(api, resultPrefix="repeat/")
    headers = {
        "Repeatability-Request-ID": str(uuid.uuid4()),
        "Repeatability-First-Sent": "Tue, 01 Oct 2024 00:00:00 GMT",
    }
    first = api.submit(body, headers=headers)
    second = api.submit(body, headers=headers)
    assert first.status_code == second.status_code == 202
    location = first.headers["Operation-Location"]
    assert second.headers["Operation-Location"] == location
    result_id = location.split("?")[0].rsplit("/", 1)[-1]
    ids = [op["resultId"] for op in api.list_all()["value"]]
    assert ids.count(result_id) == 1
    other = api.submit(body, headers={"Repeatability-Request-ID": str(uuid.uuid4())})
    assert other.headers["Operation-Location"] != location
    for loc in (location, other.headers["Operation-Location"]):
        assert api.wait(loc)["status"] == "succeeded"


def test_list_returns_operations_and_pages_with_skip(api: Api, sample_job: FinishedJob) -> None:
    listing = api.list_all()
    assert "nextLink" not in listing  # fewer jobs than a page
    operations = listing["value"]
    assert len(operations) >= 2
    result_id = sample_job.body["resultId"]
    mine = [op for op in operations if op["resultId"] == result_id]
    assert len(mine) == 1
    assert mine[0]["status"] == "succeeded"
    assert mine[0]["percentCompleted"] == 100
    assert ISO_Z.match(mine[0]["createdDateTime"])
    assert "resourceLocation" not in mine[0]
    created = [op["createdDateTime"] for op in operations]
    assert created == sorted(created)
    skipped = api.list_all(skip=1)["value"]
    assert [op["resultId"] for op in skipped] == [op["resultId"] for op in operations[1:]]
    assert api.list_all(skip=len(operations))["value"] == []
    assert api.list_all(skip=10_000) == {"value": []}


def test_delete_then_get_is_404(api: Api, samples: list[SampleDoc]) -> None:
    response = api.submit(_valid(api, resultPrefix="deleted/"))
    location = response.headers["Operation-Location"]
    result_id = location.split("?")[0].rsplit("/", 1)[-1]
    api.wait(location)
    deleted = requests.delete(location, timeout=60)
    assert deleted.status_code == 204, deleted.text
    assert deleted.content == b""
    _assert_error(requests.get(location, timeout=30), 404, "NotFound")
    _assert_error(requests.delete(location, timeout=30), 404, "NotFound")
    assert result_id not in [op["resultId"] for op in api.list_all()["value"]]
    assert result_id not in api.jobs_stored()
    # the results it wrote are the user's and stay
    assert (api.storage / "out" / "deleted" / "invoice.png.ocr.json").is_file()


# -------------------------------------------------------------------------------- cancel


def test_cancel_a_running_job(api: Api, samples: list[SampleDoc]) -> None:
    pdf = next(s.path for s in samples if s.format == "pdf")
    big = api.storage / "big"
    big.mkdir()
    copies = 40
    for i in range(copies):
        shutil.copyfile(pdf, big / f"doc{i:02d}.pdf")
    response = api.submit(
        {
            "azureBlobSource": {"containerUrl": big.as_uri()},
            "resultContainerUrl": (api.storage / "bigout").as_uri(),
        }
    )
    assert response.status_code == 202, response.text
    location = response.headers["Operation-Location"]
    deadline = time.monotonic() + 60
    while api.get(location)["status"] != "running":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    cancel_url = location.replace("?", ":cancel?", 1)
    canceled = requests.post(cancel_url, timeout=30)
    assert canceled.status_code == 202, canceled.text
    body = api.wait(location, timeout=120)
    assert body["status"] == "canceled"
    assert "error" not in body
    result = body["result"]
    details = result["details"]
    assert len(details) < copies
    done = result["succeededCount"] + result["failedCount"] + result["skippedCount"]
    assert done == len(details)
    assert all(d["status"] == "succeeded" for d in details)
    written = (
        list((api.storage / "bigout").glob("*.ocr.json"))
        if (api.storage / "bigout").is_dir()
        else []
    )
    assert len(written) < copies
    assert body["percentCompleted"] < 100
    again = requests.post(cancel_url, timeout=30)
    _assert_error(again, 409, "Conflict")
    # chunks already running stop after their current item; the report stays as it was
    sdk = api.host.sdk()
    try:
        result_id = body["resultId"]
        units = sdk.run(
            lambda c: c.get_status_by(instance_id_prefix=f"docbatch:{MODEL}:{result_id}~shard~")
        )
        assert units
        for unit in units:
            sdk.wait_done(unit.instance_id, timeout=60)
    finally:
        sdk.close()
    assert api.get(location)["result"] == result


def test_path_case_does_not_matter(api: Api, samples: list[SampleDoc]) -> None:
    url = api.url(f"{MODEL}:analyzeBatch").replace(
        "/documentintelligence/", "/DocumentIntelligence/"
    )
    response = requests.post(url, json=_valid(api, resultPrefix="case/"), timeout=30)
    assert response.status_code == 202, response.text
    location = response.headers["Operation-Location"]
    assert location.startswith(f"{api.host.base_url}/api/documentintelligence/")
    assert api.wait(location)["status"] == "succeeded"


def test_failed_job_reports_why(api: Api) -> None:
    missing = _valid(api, azureBlobSource={"containerUrl": (api.storage / "absent").as_uri()})
    no_list = _valid(
        api,
        azureBlobSource=None,
        azureBlobFileListSource={
            "containerUrl": (api.storage / "in").as_uri(),
            "fileList": "nope.jsonl",
        },
    )
    for body, inner in ((missing, "ContainerNotFound"), (no_list, "BlobNotFound")):
        response = api.submit(body)
        assert response.status_code == 202, response.text
        final = api.wait(response.headers["Operation-Location"])
        assert final["status"] == "failed"
        assert final["error"]["innererror"]["code"] == inner
        assert final["result"]["details"] == []


def test_empty_source_succeeds_with_nothing(api: Api) -> None:
    (api.storage / "empty").mkdir()
    response = api.submit(
        _valid(api, azureBlobSource={"containerUrl": (api.storage / "empty").as_uri()})
    )
    final = api.wait(response.headers["Operation-Location"])
    assert (final["status"], final["percentCompleted"]) == ("succeeded", 100)
    assert final["result"] == {
        "succeededCount": 0,
        "failedCount": 0,
        "skippedCount": 0,
        "details": [],
    }


# ------------------------------------------------------------------------- SAS secrecy


def _sas(container: str) -> str:
    return generate_container_sas(
        account_name=DEV_ACCOUNT,
        container_name=container,
        account_key=DEV_KEY,
        permission=ContainerSasPermissions(read=True, write=True, list=True, create=True),
        expiry=datetime.now(UTC) + timedelta(hours=1),
    )


@pytest.mark.azurite
def test_sas_never_appears_in_responses_or_log(
    api: Api, samples: list[SampleDoc], azurite: Azurite
) -> None:
    service = BlobServiceClient.from_connection_string(azurite.connection_string)
    name = f"sas{uuid.uuid4().hex[:12]}"
    container = service.create_container(name)
    try:
        for doc in samples:
            if doc.path.name in ("invoice.png", "notes.txt"):
                container.upload_blob(f"in/{doc.path.name}", doc.path.read_bytes())
        sas = _sas(name)
        signature = parse_qs(sas)["sig"][0]
        url = f"{azurite.blob_endpoint}/{name}?{sas}"
        responses: list[requests.Response] = []
        response = api.submit(
            {
                "azureBlobSource": {"containerUrl": url, "prefix": "in/"},
                "resultContainerUrl": url,
                "resultPrefix": "out/",
            }
        )
        responses.append(response)
        assert response.status_code == 202, response.text
        location = response.headers["Operation-Location"]
        body = api.wait(location)
        assert body["status"] == "succeeded"
        result = body["result"]
        assert (result["succeededCount"], result["failedCount"]) == (1, 1)
        by_status = {d["status"]: d for d in result["details"]}
        assert (
            by_status["succeeded"]["resultUrl"]
            == f"{azurite.blob_endpoint}/{name}/out/invoice.png.ocr.json"
        )
        assert by_status["failed"]["sourceUrl"] == f"{azurite.blob_endpoint}/{name}/in/notes.txt"
        assert container.get_blob_client("out/invoice.png.ocr.json").exists()
        # a refused request that carries a SAS must not echo it either
        responses.append(
            api.submit(
                {
                    "azureBlobSource": {"containerUrl": f"https://evil.example.com/c?{sas}"},
                    "resultContainerUrl": url,
                }
            )
        )
        assert responses[-1].status_code == 400
        responses.append(
            api.submit(
                {
                    "azureBlobSource": {"containerUrl": url, "prefix": ".."},
                    "resultContainerUrl": url,
                }
            )
        )
        assert responses[-1].status_code == 400
        responses.append(requests.get(location, timeout=30))
        responses.append(requests.get(api.url(f"{MODEL}/analyzeBatchResults"), timeout=30))
        for r in responses:
            text = r.text + json.dumps(dict(r.headers))
            assert signature not in text and sas not in text and "sig=" not in text
        time.sleep(0.5)  # let the log flush
        log = api.host.log()
        assert signature not in log and sas not in log
        stored = [p for p in (api.host.data_dir.parent / "jobs").rglob("*") if p.is_file()]
        assert not any(signature.encode() in p.read_bytes() for p in stored)
    finally:
        container.delete_container()


# ------------------------------------------------------------- details pages (extension)


def test_details_pages_of_a_small_job(api: Api, sample_job: FinishedJob) -> None:
    """A job within the status body's bound lists every detail there and has no
    `detailsNextLink`; the details extension serves the same details, in any range."""
    result = sample_job.body["result"]
    assert "detailsNextLink" not in result
    details_url = sample_job.operation_location.replace("?", "/details?", 1)
    whole = requests.get(details_url, timeout=30)
    assert whole.status_code == 200, whole.text
    assert whole.json() == {"value": result["details"]}
    part = requests.get(f"{details_url}&skip=2&top=3", timeout=30).json()
    assert part["value"] == result["details"][2:5]
    assert part["nextLink"].endswith("&skip=5&top=3")
    for bad in ("skip=-1", "top=0", "top=10001", "top=x"):
        response = requests.get(f"{details_url}&{bad}", timeout=30)
        _assert_error(response, 400, "InvalidRequest", "InvalidParameter")
    unknown = api.url(f"{MODEL}/analyzeBatchResults/{uuid.uuid4()}/details")
    _assert_error(requests.get(unknown, timeout=30), 404, "NotFound")
