"""The inbox's plain functions: naming, deterministic ids, manifests, starting jobs, reports,
and the operator-configured containers they use (no host, a fake durable client)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from batchinfer import inbox
from batchinfer.activities import batch_steps
from batchinfer.errors import InvalidRequestError
from batchinfer.jobs.model import Counts, ItemDetail, ItemStatus, JobRef, JobReport, JobStatus
from batchinfer.orchestration.instance_ids import inbox_job_id
from batchinfer.orchestration.names import BATCH_JOB, INBOX_BATCH
from batchinfer.wiring import CONFIGURED_INBOX, CONFIGURED_RESULTS, Services, build_services
from batchinfer.settings import AppSettings
from batchinfer.storage import StorageAllowList, StorageConfigurationError, UrlNotAllowedError
from batchinfer.storage.configured import container_for_connection, container_for_url
from batchinfer.storage.local import LocalFolderStore
from tests.support.durable import FakeDurableClient

MODEL = "prebuilt-read"


# --------------------------------------------------------------------------------- naming


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("a.pdf", "document"),
        ("scans/2024/invoice.png", "document"),
        ("notes.json", "document"),
        ("jobs/nightly.batch.json", "manifest"),
        ("nightly.batch.json", "manifest"),
        (".batch.json", "ignored"),
        ("jobs/nightly.report.json", "ignored"),
        ("scans/invoice.png.ocr.json", "ignored"),
        ("folder/", "ignored"),
        ("scans/.hidden.png", "ignored"),
    ],
)
def test_classify(name: str, kind: str) -> None:
    assert inbox.classify(name) == kind


def test_report_name_sits_next_to_the_manifest() -> None:
    assert inbox.report_name_for("jobs/nightly.batch.json") == "jobs/nightly.report.json"


class TestDeterministicIds:
    def test_same_blob_version_same_id(self) -> None:
        assert inbox_job_id("inbox", "a.pdf", '"0x1"') == inbox_job_id("inbox", "a.pdf", '"0x1"')

    @pytest.mark.parametrize(
        ("container", "name", "version"),
        [
            ("other", "a.pdf", '"0x1"'),
            ("inbox", "b.pdf", '"0x1"'),
            ("inbox", "a.pdf", '"0x2"'),
        ],
    )
    def test_any_part_changes_the_id(self, container: str, name: str, version: str) -> None:
        assert inbox_job_id("inbox", "a.pdf", '"0x1"') != inbox_job_id(container, name, version)

    def test_id_is_a_uuid_usable_as_an_api_result_id(self) -> None:
        import uuid

        job_id = inbox_job_id("inbox", "a.pdf", "v")
        assert str(uuid.UUID(job_id)) == job_id

    def test_upload_from_trigger_uses_the_etag(self) -> None:
        upload = inbox.Upload.from_trigger(
            "inbox/docs/a.pdf", b"x", container="inbox", etag='"0xABC"'
        )
        assert (upload.container, upload.name, upload.version) == ("inbox", "docs/a.pdf", '"0xABC"')
        assert upload.job_id == inbox_job_id("inbox", "docs/a.pdf", '"0xABC"')

    def test_without_etag_the_content_hash_is_the_version(self) -> None:
        one = inbox.Upload.from_trigger("inbox/a.pdf", b"one", container="inbox")
        again = inbox.Upload.from_trigger("inbox/a.pdf", b"one", container="inbox")
        other = inbox.Upload.from_trigger("inbox/a.pdf", b"two", container="inbox")
        assert one.version.startswith("sha256:")
        assert one.job_id == again.job_id != other.job_id


# ------------------------------------------------------------------------------- manifests


def _body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "azureBlobSource": {"containerUrl": "file:///data/in"},
        "resultContainerUrl": "file:///data/out",
    }
    body.update(overrides)
    return body


class TestParseManifest:
    def test_default_model(self) -> None:
        model, request = inbox.parse_manifest(json.dumps(_body()).encode(), MODEL)
        assert model == MODEL
        assert request.azureBlobSource is not None
        assert request.azureBlobSource.containerUrl == "file:///data/in"

    def test_model_id_is_taken_out_of_the_request(self) -> None:
        model, request = inbox.parse_manifest(json.dumps(_body(modelId="custom-1")).encode(), MODEL)
        assert model == "custom-1"
        assert "modelId" not in request.model_dump()

    def test_utf8_bom_is_accepted(self) -> None:
        assert inbox.parse_manifest(b"\xef\xbb\xbf" + json.dumps(_body()).encode(), MODEL)

    @pytest.mark.parametrize(
        ("data", "inner"),
        [
            (b"{not json", "InvalidJson"),
            (b"\xff\xfe", "InvalidJson"),
            (b"[1, 2]", "InvalidArgument"),
            (json.dumps(_body(modelId=7)).encode(), "InvalidArgument"),
            (json.dumps({"resultContainerUrl": "file:///x"}).encode(), "InvalidArgument"),
            (json.dumps(_body(overwriteExisting="yes")).encode(), "InvalidArgument"),
            (b" " * (inbox.MAX_MANIFEST_BYTES + 1), "InvalidContentLength"),
        ],
    )
    def test_invalid_manifests_raise_request_errors(self, data: bytes, inner: str) -> None:
        with pytest.raises(InvalidRequestError) as caught:
            inbox.parse_manifest(data, MODEL)
        assert caught.value.http_status == 400 and caught.value.code == "InvalidRequest"
        assert caught.value.inner_code == inner


# ------------------------------------------------------------------------------- services


@pytest.fixture
def services(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Services:
    for name in ("BATCHINFER_LOCAL_ROOTS", "BATCHINFER_ALLOWED_ACCOUNTS"):
        monkeypatch.delenv(name, raising=False)
    storage = tmp_path / "storage"
    (storage / "inbox").mkdir(parents=True)
    settings = AppSettings.from_env(
        {
            "BATCHINFER_DATA_ROOT": str(tmp_path),
            "BATCHINFER_INBOX_STORAGE": storage.as_uri(),
            "BATCHINFER_RESULTS_CONTAINER_URL": (storage / "results").as_uri(),
        }
    )
    built = build_services(settings)
    built.policy = StorageAllowList(local_roots=[storage / "user"])
    return built


def _upload(name: str, data: bytes = b"doc", version: str = '"v1"') -> inbox.Upload:
    return inbox.Upload("inbox", name, version, data)


def _run(services: Services, client: FakeDurableClient, upload: inbox.Upload) -> str:
    return asyncio.run(inbox.handle_upload(client, services, upload))


class TestHandleUpload:
    def test_document_starts_one_job_over_that_blob(self, services: Services) -> None:
        client = FakeDurableClient()
        upload = _upload("scans/a.png")
        assert _run(services, client, upload) == "started"
        instance_id = f"docbatch:{MODEL}:{upload.job_id}"
        assert client.started == [(BATCH_JOB, instance_id, client.started[0][2])]
        spec = services.job_store.load_spec(upload.job_id)
        assert spec is not None
        assert (spec.source_url, spec.result_url) == (CONFIGURED_INBOX, CONFIGURED_RESULTS)
        assert spec.items == ["scans/a.png"]
        assert spec.overwrite and spec.model_id == MODEL

    def test_duplicate_event_does_nothing_new_version_runs_again(self, services: Services) -> None:
        client = FakeDurableClient()
        assert _run(services, client, _upload("a.png")) == "started"
        assert _run(services, client, _upload("a.png")) == "duplicate"
        assert _run(services, client, _upload("a.png", version='"v2"')) == "started"
        assert len(client.started) == 2

    def test_outputs_are_ignored(self, services: Services) -> None:
        client = FakeDurableClient()
        assert _run(services, client, _upload("a.png.ocr.json")) == "ignored"
        assert _run(services, client, _upload("x.report.json")) == "ignored"
        assert not client.started

    def test_unknown_inbox_model_is_logged_not_raised(self, services: Services) -> None:
        services.settings = AppSettings.from_env(
            {**_env(services), "BATCHINFER_INBOX_MODEL": "no-such-model"}
        )
        assert _run(services, FakeDurableClient(), _upload("a.png")) == "rejected"

    def test_manifest_starts_inbox_batch_once(self, services: Services, tmp_path: Path) -> None:
        client = FakeDurableClient()
        user = tmp_path / "storage" / "user"
        body = _body(
            azureBlobSource={"containerUrl": (user / "in").as_uri(), "prefix": "d/"},
            resultContainerUrl=(user / "out").as_uri(),
        )
        upload = _upload("jobs/n.batch.json", json.dumps(body).encode())
        assert _run(services, client, upload) == "started"
        assert client.started[0][1] == f"inbox:{upload.job_id}"
        name, payload = client.started[0][0], client.started[0][2]
        assert name == INBOX_BATCH
        assert payload == {
            "ref": {"job_id": upload.job_id, "kind": "document-analysis", "model_id": MODEL},
            "job_instance_id": f"docbatch:{MODEL}:{upload.job_id}",
            "report_name": "jobs/n.report.json",
        }
        spec = services.job_store.load_spec(upload.job_id)
        assert spec is not None and spec.source_prefix == "d/" and spec.items is None
        assert _run(services, client, upload) == "duplicate"

    @pytest.mark.parametrize(
        ("body", "code", "inner"),
        [
            (_body(), "InvalidRequest", "InvalidContentSourceFormat"),  # outside the allow-list
            (_body(modelId="nope"), "ModelNotFound", None),
            ({"resultContainerUrl": "file:///x"}, "InvalidRequest", "InvalidArgument"),
        ],
    )
    def test_invalid_manifest_gets_a_failed_report(
        self, services: Services, tmp_path: Path, body: dict[str, Any], code: str, inner: str | None
    ) -> None:
        client = FakeDurableClient()
        assert (
            _run(services, client, _upload("bad.batch.json", json.dumps(body).encode()))
            == "rejected"
        )
        assert not client.started
        report = json.loads((tmp_path / "storage" / "inbox" / "bad.report.json").read_bytes())
        assert report["status"] == "failed"
        assert report["error"]["code"] == code
        assert report["error"].get("innererror", {}).get("code") == inner
        assert report["succeededCount"] == report["failedCount"] == 0


def _env(services: Services) -> dict[str, str]:
    settings = services.settings
    return {
        "BATCHINFER_DATA_ROOT": str(settings.data_root),
        "BATCHINFER_INBOX_STORAGE": settings.inbox_storage or "",
        "BATCHINFER_RESULTS_CONTAINER_URL": settings.results_container_url or "",
    }


class TestReports:
    def test_finished_job_report_has_the_api_result_shape_plus_status(self) -> None:
        stored = JobReport(
            JobStatus.SUCCEEDED, Counts(2, 1, 0, 3), (ItemDetail(ItemStatus.SUCCEEDED),)
        )
        report = inbox.job_report("j", MODEL, stored, JobStatus.SUCCEEDED, None)
        assert report == {
            "status": "succeeded",
            "resultId": "j",
            "modelId": MODEL,
            "succeededCount": 2,
            "failedCount": 1,
            "skippedCount": 0,
            "details": [{"status": "succeeded"}],
        }

    def test_crashed_job_without_stored_report_is_failed_with_an_error(self) -> None:
        report = inbox.job_report("j", MODEL, None, JobStatus.FAILED, None)
        assert report["status"] == "failed" and report["error"]["code"] == "InternalServerError"

    def test_publish_writes_next_to_the_manifest(self, services: Services, tmp_path: Path) -> None:
        services.job_store.save_report("j", JobReport(JobStatus.CANCELED, Counts(succeeded=1)))
        ref = JobRef("j", "document-analysis", MODEL).to_json()
        assert inbox.publish_job_report(
            services,
            {"ref": ref, "report_name": "a/b.report.json", "status": "canceled", "error": None},
        ) == {"status": "canceled"}
        written = json.loads((tmp_path / "storage" / "inbox" / "a" / "b.report.json").read_text())
        assert written["status"] == "canceled" and written["succeededCount"] == 1


class TestItemsOption:
    def test_plan_lists_only_the_given_items(self, services: Services, tmp_path: Path) -> None:
        folder = tmp_path / "storage" / "inbox"
        for name in ("a.png", "b.png", "sub/c.png"):
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_bytes(b"x")
        spec = inbox.document_spec(services, _upload("sub/c.png"))
        services.job_store.save_spec(spec)
        plan = batch_steps.plan_job(services, JobRef(spec.job_id, spec.kind, spec.model_id))
        assert plan.total == 1 and plan.error is None
        assert services.job_store.load_shard_items(spec.job_id, 0) == ["sub/c.png"]

    def test_unsafe_item_fails_the_plan(self, services: Services) -> None:
        spec = inbox.document_spec(services, _upload("a.png"))
        spec.options["items"] = ["../escape"]
        services.job_store.save_spec(spec)
        plan = batch_steps.plan_job(services, JobRef(spec.job_id, spec.kind, spec.model_id))
        assert plan.error is not None and plan.total == 0


# ------------------------------------------------------------------ configured containers


class TestConfiguredContainers:
    def test_folder_connection(self, tmp_path: Path) -> None:
        configured = container_for_connection("S", tmp_path.as_uri(), "inbox")
        assert configured.auth == "folder"
        store = configured.open()
        assert isinstance(store, LocalFolderStore) and store.root == (tmp_path / "inbox")

    def test_development_storage_honours_the_endpoint_override(self) -> None:
        configured = container_for_connection(
            "S",
            "UseDevelopmentStorage=true",
            "inbox",
            development_endpoint="http://127.0.0.1:12345/devstoreaccount1",
        )
        assert configured.auth == "development"
        assert configured.location.url == "http://127.0.0.1:12345/devstoreaccount1/inbox"

    def test_connection_string_keeps_its_key_private(self) -> None:
        value = (
            "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=c2VjcmV0;"
            "EndpointSuffix=core.windows.net"
        )
        configured = container_for_connection("S", value, "inbox")
        assert configured.auth == "connection-string"
        assert configured.location.url == "https://acct.blob.core.windows.net/inbox"
        assert "c2VjcmV0" not in repr(configured)

    def test_identity_based_when_only_account_name_is_set(self) -> None:
        configured = container_for_connection(
            "S", None, "inbox", account_name="acct", client_id="cid"
        )
        assert (configured.auth, configured.client_id) == ("identity", "cid")
        assert configured.location.url == "https://acct.blob.core.windows.net/inbox"

    def test_settings_prefer_identity_when_the_connection_is_unset(self) -> None:
        settings = AppSettings.from_env({"BATCHINFER_INBOX_STORAGE__accountName": "acct"})
        assert settings.inbox_storage is None and settings.inbox_storage_account == "acct"
        assert AppSettings.from_env({}).inbox_storage == "UseDevelopmentStorage=true"

    @pytest.mark.parametrize("value", [None, "", "not a connection", "file://host/x"])
    def test_unusable_connection_names_the_setting_only(self, value: str | None) -> None:
        with pytest.raises(StorageConfigurationError, match="'S'"):
            container_for_connection("S", value, "inbox")

    def test_result_urls(self, tmp_path: Path) -> None:
        assert container_for_url("R", (tmp_path / "out").as_uri()).auth == "folder"
        azurite = container_for_url("R", "http://127.0.0.1:10000/devstoreaccount1/results")
        assert azurite.auth == "development"
        assert (
            container_for_url("R", "https://acct.blob.core.windows.net/results").auth == "identity"
        )
        assert (
            container_for_url("R", "https://acct.blob.core.windows.net/res?sv=1&sig=x").auth
            == "sas"
        )
        with pytest.raises(StorageConfigurationError):
            container_for_url("R", "https://example.com/results")

    def test_references_are_refused_as_user_urls(self, services: Services) -> None:
        for reference in (CONFIGURED_INBOX, CONFIGURED_RESULTS):
            with pytest.raises(UrlNotAllowedError):
                services.policy.check(reference)
            assert services.locate(reference).is_local

    def test_results_default_to_the_inbox(self, services: Services) -> None:
        services.settings = AppSettings.from_env(
            {**_env(services), "BATCHINFER_RESULTS_CONTAINER_URL": ""}
        )
        assert services.locate(CONFIGURED_RESULTS) == services.locate(CONFIGURED_INBOX)
