"""The woodwide dataset jobs and Azure ML batch endpoint jobs in the dashboard API: listed
with every other kind, with their status, counts and items, and canceled/deleted through their
own dialect's rules."""

from __future__ import annotations

import requests

from tests.e2e.dashboard import dialect_jobs
from tests.e2e.dashboard.conftest import JobsHost


def _row(jobs_host: JobsHost, kind: str, job_id: str) -> dict[str, object]:
    body = jobs_host.get("dashboard/jobs", kind=kind).json()
    assert {j["kind"] for j in body["jobs"]} == {kind}
    rows = [j for j in body["jobs"] if j["id"] == job_id]
    assert len(rows) == 1, body
    return dict(rows[0])


def test_every_dialect_is_a_kind_of_the_listing(jobs_host: JobsHost) -> None:
    body = jobs_host.get("dashboard/jobs").json()
    kinds = {k["kind"] for k in body["kinds"]}
    assert {"dataset-job", "batch-endpoint"} <= kinds
    listed = {(j["kind"], j["id"]) for j in body["jobs"]}
    assert ("dataset-job", jobs_host.dataset_job) in listed
    assert ("batch-endpoint", jobs_host.endpoint_job) in listed
    assert ("document-analysis", jobs_host.document_job) in listed


def test_dataset_ingest_row_detail_and_refusals(jobs_host: JobsHost) -> None:
    row = _row(jobs_host, "dataset-job", jobs_host.dataset_job)
    assert row["status"] == "succeeded" and row["percentCompleted"] == 100
    assert row["actions"] == ["delete"] and row["title"] == "Dataset job (dataset_ingest)"
    assert row["createdDateTime"] and row["lastUpdatedDateTime"]
    base = f"dashboard/jobs/dataset-job/{jobs_host.dataset_job}"
    detail = jobs_host.get(base).json()
    assert detail["sections"]["job"]["type"] == "dataset_ingest"
    assert detail["sections"]["job"]["dataset_name"] == "tiny"
    assert "internal" not in str(detail)
    assert jobs_host.get(f"{base}/items").json()["items"] == []
    ended = requests.post(f"{jobs_host.api}/{base}:cancel", timeout=30)
    assert ended.status_code == 409, ended.text
    assert jobs_host.get("dashboard/jobs/dataset-job/job_nothing").status_code == 404


def test_dataset_job_canceled_then_deleted_from_the_dashboard(jobs_host: JobsHost) -> None:
    job_id = dialect_jobs.start_dataset_ingest(jobs_host.api, "to-cancel")
    base = f"{jobs_host.api}/dashboard/jobs/dataset-job/{job_id}"
    early = requests.delete(base, timeout=30)
    if early.status_code == 204:  # the (tiny) job had already ended: an ended job may go
        assert requests.post(f"{base}:cancel", timeout=30).status_code == 404
        assert requests.get(base, timeout=30).status_code == 404
        return
    assert early.status_code == 409, early.text  # a queued or running job is canceled first
    canceled = requests.post(f"{base}:cancel", timeout=30)
    assert canceled.status_code in (202, 409), canceled.text  # 409: it ended meanwhile
    job = dialect_jobs.wait_dataset_job(jobs_host.api, job_id)
    if canceled.status_code == 202:
        assert job["status"] == "canceled"
        row = _row(jobs_host, "dataset-job", job_id)
        assert row["status"] == "canceled"
    assert requests.delete(base, timeout=30).status_code == 204
    assert requests.get(base, timeout=30).status_code == 404
    gone = requests.get(f"{jobs_host.api}/woodwide/jobs/{job_id}", timeout=30)
    assert gone.status_code == 404


def test_endpoint_job_row_counts_and_failed_files(jobs_host: JobsHost) -> None:
    row = _row(jobs_host, "batch-endpoint", jobs_host.endpoint_job)
    assert row["status"] == "succeeded" and row["percentCompleted"] == 100
    assert row["model"] == f"{dialect_jobs.ENDPOINT}/main"
    assert row["counts"] == {
        "succeeded": dialect_jobs.N_DIGITS,
        "failed": 1,
        "skipped": 0,
        "total": dialect_jobs.N_DIGITS + 1,
        "unit": "files",
    }
    base = f"dashboard/jobs/batch-endpoint/{jobs_host.endpoint_job}"
    detail = jobs_host.get(base).json()
    assert detail["hasItems"] is True
    assert detail["sections"]["invoke"]["endpoint"] == dialect_jobs.ENDPOINT
    every = jobs_host.get(f"{base}/items").json()
    assert every["total"] == 1  # the report itemises the failed files only
    failed = jobs_host.get(f"{base}/items", status="failed").json()
    assert [i["name"].rsplit("/", 1)[-1] for i in failed["items"]] == ["broken.png"]
    assert failed["items"][0]["error"]["code"]
    assert jobs_host.get("dashboard/jobs/batch-endpoint/no-such-job").status_code == 404
    ended = requests.post(f"{jobs_host.api}/{base}:cancel", timeout=30)
    assert ended.status_code == 409


def test_endpoint_job_canceled_then_deleted_from_the_dashboard(jobs_host: JobsHost) -> None:
    name = dialect_jobs.invoke_endpoint(jobs_host.api)
    base = f"{jobs_host.api}/dashboard/jobs/batch-endpoint/{name}"
    canceled = requests.post(f"{base}:cancel", timeout=30)
    assert canceled.status_code in (202, 409), canceled.text  # 409: it ended first
    job = dialect_jobs.wait_endpoint_job(jobs_host.api, name)
    if canceled.status_code == 202:
        assert job["properties"]["status"] == "Canceled"
        assert _row(jobs_host, "batch-endpoint", name)["status"] == "canceled"
    assert requests.delete(base, timeout=30).status_code == 204
    assert requests.get(base, timeout=30).status_code == 404
    assert name not in {j["id"] for j in jobs_host.get("dashboard/jobs").json()["jobs"]}
