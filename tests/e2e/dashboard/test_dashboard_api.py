"""The dashboard's JSON API against a host with real jobs: listing and filters, job detail with
progress over time, paged items, document/page/series views, rerun of failed items (dashboard
and Document Intelligence extension), cancel/delete, static files, no secrets."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

import pytest
import requests
from azure.storage.blob import BlobServiceClient, ContainerSasPermissions, generate_container_sas

from tests.e2e.dashboard.conftest import API_VERSION, JobsHost
from tests.support.azurite import DEV_ACCOUNT, DEV_KEY, Azurite


def test_jobs_of_every_kind_with_filters(jobs_host: JobsHost) -> None:
    body = jobs_host.get("dashboard/jobs").json()
    kinds = {(j["kind"], j["id"]) for j in body["jobs"]}
    assert ("document-analysis", jobs_host.document_job) in kinds
    assert ("anomaly-training", jobs_host.model_id) in kinds
    assert ("anomaly-detection", jobs_host.detection_id) in kinds
    doc = next(j for j in body["jobs"] if j["id"] == jobs_host.document_job)
    assert doc["counts"] == {
        "succeeded": 5,
        "failed": 2,
        "skipped": 0,
        "total": 7,
        "unit": "documents",
    }
    assert doc["percentCompleted"] == 100 and doc["durationSeconds"] >= 0
    newest = jobs_host.get("dashboard/jobs", top=1).json()
    assert newest["total"] == len(body["jobs"]) and newest["jobs"] == body["jobs"][:1]
    only = jobs_host.get("dashboard/jobs", kind="anomaly-training").json()["jobs"]
    assert {j["kind"] for j in only} == {"anomaly-training"}
    assert jobs_host.get("dashboard/jobs", status="canceled").json()["jobs"] == [] or all(
        j["status"] == "canceled"
        for j in jobs_host.get("dashboard/jobs", status="canceled").json()["jobs"]
    )
    bad = jobs_host.get("dashboard/jobs", status="bogus")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "InvalidRequest"


def test_detail_progress_items_and_views(jobs_host: JobsHost) -> None:
    base = f"dashboard/jobs/document-analysis/{jobs_host.document_job}"
    detail = jobs_host.get(base).json()
    percents = [p["percent"] for p in detail["progress"]]
    assert percents[0] == 0 and percents[-1] == 100 and percents == sorted(percents)
    assert len(percents) >= 4  # one point per finished unit
    page = jobs_host.get(f"{base}/items", skip=2, top=3).json()
    assert page["total"] == 7 and [i["index"] for i in page["items"]] == [2, 3, 4]
    failed = jobs_host.get(f"{base}/items", status="failed").json()
    assert failed["total"] == 2
    assert {i["error"]["code"] for i in failed["items"]} == {"InvalidContent", "UnsupportedContent"}
    ok = next(
        i for i in jobs_host.get(f"{base}/items").json()["items"] if i["status"] == "succeeded"
    )
    document = jobs_host.get(f"{base}/views/document", item=ok["index"]).json()
    assert document["analyzeResult"]["pages"][0]["lines"][0]["polygon"]
    image = jobs_host.get(f"{base}/views/page", item=ok["index"], page=1)
    assert image.status_code == 200 and image.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert jobs_host.get(f"{base}/views/page", item=ok["index"], page=99).status_code == 404
    # a PDF page (measured in inches) renders with the aspect ratio its result gives
    pdf = next(
        i for i in jobs_host.get(f"{base}/items").json()["items"] if i["name"].endswith(".pdf")
    )
    pages = jobs_host.get(f"{base}/views/document", item=pdf["index"]).json()["analyzeResult"][
        "pages"
    ]
    assert len(pages) == 3 and pages[1]["unit"] == "inch"
    from io import BytesIO

    from PIL import Image

    png = Image.open(
        BytesIO(jobs_host.get(f"{base}/views/page", item=pdf["index"], page=2).content)
    )
    assert abs(png.width / png.height - pages[1]["width"] / pages[1]["height"]) < 0.01
    series = jobs_host.get(
        f"dashboard/jobs/anomaly-detection/{jobs_host.detection_id}/views/series"
    ).json()
    assert series["count"] == 3000 and len(series["variables"]) == 3
    assert all(a["contributors"] for a in series["anomalies"])


def test_rerun_failed_items_through_the_api_extension_and_the_dashboard(
    jobs_host: JobsHost,
) -> None:
    url = (
        f"{jobs_host.api}/documentintelligence/documentModels/prebuilt-read/"
        f"analyzeBatchResults/{jobs_host.document_job}:rerunFailed"
    )
    response = requests.post(url, params={"api-version": API_VERSION}, timeout=30)
    assert response.status_code == 202, response.text
    location = response.headers["Operation-Location"]
    assert jobs_host.document_job not in location
    rerun = jobs_host.wait_document_job(location)
    assert rerun["status"] == "succeeded"
    sources = sorted(d["sourceUrl"].rsplit("/", 1)[1] for d in rerun["result"]["details"])
    assert sources == ["corrupt.png", "notes.txt"]
    assert rerun["result"]["failedCount"] == 2
    new_id = location.split("?")[0].rsplit("/", 1)[1]
    detail = jobs_host.get(f"dashboard/jobs/document-analysis/{new_id}").json()
    assert detail["sections"]["origin"]["rerunOf"] == jobs_host.document_job
    again = requests.post(
        f"{jobs_host.api}/dashboard/jobs/document-analysis/{new_id}:rerun-failed", timeout=30
    )
    assert again.status_code == 202 and again.json()["id"] not in (new_id, jobs_host.document_job)
    missing = requests.post(
        url.replace(jobs_host.document_job, "00000000-0000-0000-0000-000000000000"),
        params={"api-version": API_VERSION},
        timeout=30,
    )
    assert missing.status_code == 404, missing.text


def test_cancel_and_delete_with_the_dashboard(jobs_host: JobsHost) -> None:
    location = jobs_host.submit_documents(result_prefix="again/")
    job_id = location.split("?")[0].rsplit("/", 1)[1]
    base = f"{jobs_host.api}/dashboard/jobs/document-analysis/{job_id}"
    cancel = requests.post(f"{base}:cancel", timeout=30)
    assert cancel.status_code in (202, 409)
    assert jobs_host.wait_document_job(location)["status"] in ("canceled", "succeeded")
    assert requests.post(f"{base}:cancel", timeout=30).status_code == 409
    assert requests.delete(base, timeout=30).status_code == 204
    assert requests.get(base, timeout=30).status_code == 404
    unsupported = requests.post(
        f"{jobs_host.api}/dashboard/jobs/anomaly-training/{jobs_host.model_id}:cancel", timeout=30
    )
    assert unsupported.status_code == 409


def test_static_files_and_no_secrets(jobs_host: JobsHost) -> None:
    root = requests.get(f"{jobs_host.api}/ui", allow_redirects=False, timeout=30)
    assert root.status_code == 302
    page = jobs_host.get("ui/")
    assert page.status_code == 200 and "app.js" in page.text
    assert "//cdn" not in page.text and "https://" not in page.text
    assert jobs_host.get("ui/app.js").headers["Content-Type"].startswith("text/javascript")
    assert jobs_host.get("ui/..%2Froutes.py").status_code == 404
    assert jobs_host.get("ui/../routes.py").status_code == 404
    # an encoded newline in a path still gets the host's JSON 404 (found by the fuzz test)
    newline = requests.get(f"{jobs_host.api}/dashboard/jobs/x/%0A", timeout=30)
    assert newline.status_code == 404 and newline.headers["Content-Type"].startswith(
        "application/json"
    )
    everything = jobs_host.get("dashboard/jobs").text
    for job in jobs_host.get("dashboard/jobs").json()["jobs"]:
        everything += jobs_host.get(f"dashboard/jobs/{job['kind']}/{job['id']}").text
    assert "sig=" not in everything and "?se=" not in everything


def test_real_answers_conform_to_the_openapi_document(jobs_host: JobsHost) -> None:
    """The fuzz test mostly meets 4xx; here every documented 200 body of a real job is checked."""
    import schemathesis

    schema = schemathesis.openapi.from_dict(jobs_host.get("openapi.json").json())
    doc = f"dashboard/jobs/document-analysis/{jobs_host.document_job}"
    checked = {
        ("/dashboard/jobs", "GET"): jobs_host.get("dashboard/jobs"),
        ("/dashboard/jobs/{kind}/{jobId}", "GET"): jobs_host.get(doc),
        ("/dashboard/jobs/{kind}/{jobId}/items", "GET"): jobs_host.get(f"{doc}/items", top=3),
        ("/health", "GET"): jobs_host.get("health"),
        ("/anomalydetector/v1.1/multivariate/models/{modelId}", "GET"): jobs_host.get(
            f"anomalydetector/v1.1/multivariate/models/{jobs_host.model_id}"
        ),
        ("/anomalydetector/v1.1/multivariate/detect-batch/{resultId}", "GET"): jobs_host.get(
            f"anomalydetector/v1.1/multivariate/detect-batch/{jobs_host.detection_id}", top=5
        ),
        (
            "/documentintelligence/documentModels/{modelId}/analyzeBatchResults/{resultId}",
            "GET",
        ): jobs_host.get(
            f"documentintelligence/documentModels/prebuilt-read/"
            f"analyzeBatchResults/{jobs_host.document_job}",
            **{"api-version": API_VERSION},
        ),
    }
    for kind in ("anomaly-training", "anomaly-detection"):
        job = jobs_host.model_id if kind == "anomaly-training" else jobs_host.detection_id
        checked[("/dashboard/jobs/{kind}/{jobId}", "GET")] = jobs_host.get(
            f"dashboard/jobs/{kind}/{job}"
        )
        response = checked[("/dashboard/jobs/{kind}/{jobId}", "GET")]
        assert response.status_code == 200
        schema["/dashboard/jobs/{kind}/{jobId}"]["GET"].validate_response(response)
    for (path, method), response in checked.items():
        assert response.status_code == 200, (path, response.text)
        schema[path][method].validate_response(response)


def test_rerun_extension_with_the_official_client(jobs_host: JobsHost) -> None:
    """The SDK has no method for our extension; its `send_request` calls it, and its own
    `list_analyze_batch_results` lists the new batch."""
    from azure.ai.documentintelligence import DocumentIntelligenceClient
    from azure.core.credentials import AzureKeyCredential
    from azure.core.rest import HttpRequest

    client = DocumentIntelligenceClient(jobs_host.api, AzureKeyCredential("local"))
    try:
        response = client.send_request(
            HttpRequest(
                "POST",
                f"{jobs_host.api}/documentintelligence/documentModels/prebuilt-read/"
                f"analyzeBatchResults/{jobs_host.document_job}:rerunFailed"
                f"?api-version={API_VERSION}",
            )
        )
        assert response.status_code == 202
        result_id = response.headers["Operation-Location"].split("?")[0].rsplit("/", 1)[1]
        body = jobs_host.wait_document_job(response.headers["Operation-Location"])
        assert (body["result"]["succeededCount"], body["result"]["failedCount"]) == (0, 2)
        listed = {b.result_id: b.status for b in client.list_analyze_batch_results("prebuilt-read")}
        assert listed[result_id] == "succeeded"
    finally:
        client.close()


@pytest.mark.azurite
def test_jobs_on_sas_containers_never_show_the_sas(jobs_host: JobsHost, azurite: Azurite) -> None:
    service = BlobServiceClient.from_connection_string(azurite.connection_string)
    name = f"dash{uuid.uuid4().hex[:12]}"
    container = service.create_container(name)
    try:
        for doc in jobs_host.samples:
            if doc.path.name in ("invoice.png", "notes.txt"):
                container.upload_blob(f"in/{doc.path.name}", doc.path.read_bytes())
        sas = generate_container_sas(
            account_name=DEV_ACCOUNT,
            container_name=name,
            account_key=DEV_KEY,
            permission=ContainerSasPermissions(read=True, write=True, list=True, create=True),
            expiry=datetime.now(UTC) + timedelta(hours=1),
        )
        url = f"{azurite.blob_endpoint}/{name}?{sas}"
        submitted = requests.post(
            f"{jobs_host.api}/documentintelligence/documentModels/prebuilt-read:analyzeBatch",
            params={"api-version": API_VERSION},
            timeout=30,
            json={
                "azureBlobSource": {"containerUrl": url, "prefix": "in/"},
                "resultContainerUrl": url,
                "resultPrefix": "out/",
            },
        )
        assert submitted.status_code == 202, submitted.text
        location = submitted.headers["Operation-Location"]
        assert jobs_host.wait_document_job(location)["status"] == "succeeded"
        job_id = location.split("?")[0].rsplit("/", 1)[1]
        base = f"dashboard/jobs/document-analysis/{job_id}"
        detail = jobs_host.get(base)
        assert detail.json()["sections"]["origin"]["source"] == f"{azurite.blob_endpoint}/{name}"
        answers = [
            jobs_host.get("dashboard/jobs"),
            detail,
            jobs_host.get(f"{base}/items"),
            jobs_host.get(f"{base}/views/document", item=0),
            jobs_host.get(f"{base}/views/page", item=0, page=1),
            requests.post(f"{jobs_host.api}/{base}:rerun-failed", timeout=30),
        ]
        assert all(a.status_code < 500 for a in answers)
        assert "rerunFailed" not in detail.json()["actions"]  # the page cannot give a SAS
        assert answers[-1].status_code == 409
        assert answers[-1].json()["error"]["code"] == "SasRequired"
        assert answers[3].status_code == 409  # results are not readable without the SAS
        # the API extension takes the URLs (with their SAS) again
        rerun = requests.post(
            f"{jobs_host.api}/documentintelligence/documentModels/prebuilt-read/"
            f"analyzeBatchResults/{job_id}:rerunFailed",
            params={"api-version": API_VERSION},
            json={"azureBlobSource": {"containerUrl": url}, "resultContainerUrl": url},
            timeout=30,
        )
        assert rerun.status_code == 202, rerun.text
        again = jobs_host.wait_document_job(rerun.headers["Operation-Location"])
        assert [d["sourceUrl"] for d in again["result"]["details"]] == [
            f"{azurite.blob_endpoint}/{name}/in/notes.txt"
        ]
        answers.append(rerun)
        signature = parse_qs(sas)["sig"][0]
        for answer in answers:
            text = answer.text if "json" in answer.headers.get("Content-Type", "") else ""
            assert signature not in text and "sig=" not in text
    finally:
        container.delete_container()
