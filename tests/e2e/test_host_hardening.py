"""The host's management plane and front door, as an attacker on the same machine would probe them.

With product keys set and no host master key, the durable management API and the admin status
used to be open, and the SDK's RPC channel answered any loopback caller; bodies were read in full
before any key was checked and a slow client could hold a connection for as long as it liked.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.support.azurite import REPO_ROOT
from tests.support.host import HostProcess

KEY = "product-key"
WEBHOOKS = "/runtime/webhooks/durabletask"
DI_BATCH = (
    "/api/documentintelligence/documentModels/prebuilt-read:analyzeBatch?api-version=2024-11-30"
)


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostProcess]:
    root = tmp_path_factory.mktemp("hardened")
    process = HostProcess(
        REPO_ROOT,
        root / "host",
        env={
            "BATCHINFER_DATA_ROOT": str(root),
            "BATCHINFER_API_KEYS": KEY,
            "FUNCHOST_API_KEYS_SETTING": "BATCHINFER_API_KEYS",
            "FUNCHOST_BODY_TIMEOUT_SECONDS": "1",
            "FUNCHOST_API_KEYS_EXEMPT_ROUTES": "woodwide/signed/",
            "FUNCHOST_MASTER_KEY": "",
        },
    )
    process.start()
    try:
        yield process
    finally:
        assert process.stop() == 0, process.log()


def _raw(host: HostProcess, data: bytes, wait: float = 10) -> bytes:
    """Send raw bytes, return what the server answers (b"" if it closes without answering)."""
    with socket.create_connection(("127.0.0.1", host.port), timeout=wait) as sock:
        sock.sendall(data)
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
                if b"\r\n\r\n" in b"".join(chunks):
                    break
        except TimeoutError:
            pass
        return b"".join(chunks)


# ------------------------------------------------------------------- management plane (item 1)


@pytest.mark.parametrize(
    "method,path",
    [
        ("GET", f"{WEBHOOKS}/instances"),
        ("GET", f"{WEBHOOKS}/instances/some-id"),
        ("POST", f"{WEBHOOKS}/instances/some-id/terminate"),
        ("DELETE", f"{WEBHOOKS}/instances/some-id"),
        ("POST", f"{WEBHOOKS}/orchestrators/batch_job"),
        ("GET", "/admin/host/status"),
    ],
)
def test_management_api_needs_the_admin_key(host: HostProcess, method: str, path: str) -> None:
    response = requests.request(method, host.base_url + path, json={}, timeout=30)
    assert response.status_code == 401, response.text
    wrong = requests.request(
        method, host.base_url + path, timeout=30, headers={"x-functions-key": KEY}
    )  # a product key is not admin
    assert wrong.status_code == 401


def test_derived_admin_key_opens_it_and_is_private(host: HostProcess) -> None:
    secrets_file = host.data_dir / "host-secrets.json"
    assert stat.S_IMODE(os.stat(secrets_file).st_mode) == 0o600
    key = host.admin_key
    assert len(key) >= 32
    listed = requests.get(
        f"{host.base_url}{WEBHOOKS}/instances", headers={"x-functions-key": key}, timeout=30
    )
    assert listed.status_code == 200 and isinstance(listed.json(), list)
    status = requests.get(f"{host.base_url}/admin/host/status?code={key}", timeout=30)
    assert status.status_code == 200
    assert key not in host.log()


def test_rpc_channel_needs_its_secret_path(host: HostProcess) -> None:
    guessed = requests.get(f"{host.base_url}/durabletask/instances", timeout=30)
    assert guessed.status_code == 404
    near = requests.get(f"{host.base_url}/durabletask/{'x' * 32}/instances", timeout=30)
    assert near.status_code == 404
    secret = requests.get(f"{host.rpc_base_url}instances", timeout=30)
    assert secret.status_code == 200 and isinstance(secret.json(), list)


def test_the_sdk_client_works_through_the_secret_rpc_url(host: HostProcess) -> None:
    sdk = host.sdk(hub="TestHubName")
    try:
        assert isinstance(sdk.run(lambda c: c.get_status_all()), list)
    finally:
        sdk.close()


# ---------------------------------------------------------------------- request bodies (item 4)


def test_keys_are_checked_on_headers_before_the_body_is_read(host: HostProcess) -> None:
    started = time.monotonic()
    answer = _raw(
        host,
        (
            f"POST {DI_BATCH} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
            f"\r\nContent-Length: {99 * 1024 * 1024}\r\n\r\n"
        ).encode(),
    )
    assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
    assert time.monotonic() - started < 5  # answered without waiting for 99 MB


def test_oversized_declared_body_is_refused_unread(host: HostProcess) -> None:
    answer = _raw(
        host,
        (
            f"POST {DI_BATCH} HTTP/1.1\r\nHost: x\r\nOcp-Apim-Subscription-Key: "
            f"{KEY}\r\nContent-Length: {200 * 1024 * 1024}\r\n\r\n"
        ).encode(),
    )
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]


def test_a_body_that_stops_arriving_times_out(host: HostProcess) -> None:
    started = time.monotonic()
    answer = _raw(
        host,
        (
            f"POST {DI_BATCH} HTTP/1.1\r\nHost: x\r\nOcp-Apim-Subscription-Key: "
            f'{KEY}\r\nContent-Length: 1000\r\n\r\n{{"a":'
        ).encode(),
        wait=30,
    )
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert time.monotonic() - started < 15


def test_a_request_whose_headers_never_finish_is_dropped(host: HostProcess) -> None:
    started = time.monotonic()
    answer = _raw(host, b"GET /api/health HTTP/1.1\r\nHost: x\r\nX-Slow: ", wait=40)
    assert time.monotonic() - started < 35
    assert not answer.startswith(b"HTTP/1.1 200")


def test_authenticated_small_body_still_reaches_the_api(host: HostProcess) -> None:
    response = requests.post(
        host.base_url + DI_BATCH,
        data=json.dumps({"nope": 1}),
        headers={"Ocp-Apim-Subscription-Key": KEY, "Content-Type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "InvalidRequest"


def test_bearer_keys_pass_the_header_check_and_wrong_ones_are_refused(host: HostProcess) -> None:
    """The woodwide and Azure ML dialects send their key as a bearer token."""
    url = host.base_url + "/api/woodwide/models/train"
    good = requests.post(
        url, json={"model_type": "nope"}, timeout=30, headers={"Authorization": f"Bearer {KEY}"}
    )
    assert good.status_code in (400, 422), good.text  # the app's own validation answered
    bad = requests.post(
        url, json={"model_type": "nope"}, timeout=30, headers={"Authorization": "Bearer wrong"}
    )
    assert bad.status_code == 401
    assert "detail" in bad.json()  # readable by the woodwide client too


def test_signed_routes_skip_the_key_check_and_prove_themselves(host: HostProcess) -> None:
    """A signed upload URL is PUT without any key; its own signature is what is checked."""
    response = requests.put(
        host.base_url + "/api/woodwide/signed/uploads/dsv_x?expires=1&sig=x",
        data=b"a,b\n1,2\n",
        timeout=30,
    )
    assert response.status_code == 403, response.text  # the app refused the signature
    assert "signature" in response.text.lower() or "expired" in response.text.lower()


def test_gzip_header_on_a_plain_body_is_a_400(host: HostProcess) -> None:
    response = requests.post(
        host.base_url + DI_BATCH,
        data=b'{"not": "gzip"}',
        timeout=30,
        headers={
            "Ocp-Apim-Subscription-Key": KEY,
            "Content-Encoding": "gzip",
            "Content-Type": "application/json",
        },
    )
    assert response.status_code == 400, response.text


# --------------------------------------------------------------- malformed requests (item 8)

AD_MODELS = "/api/anomalydetector/v1.1/multivariate/models"
KEYED = {"Ocp-Apim-Subscription-Key": KEY}


def _storage(host: HostProcess) -> Path:
    return host.data_dir.parent / "storage"


def test_deeply_nested_json_is_a_400(host: HostProcess) -> None:
    body = "[" * 5000 + "]" * 5000
    for path in (DI_BATCH, AD_MODELS):
        response = requests.post(
            host.base_url + path,
            data=body,
            timeout=30,
            headers={**KEYED, "Content-Type": "application/json"},
        )
        assert response.status_code == 400, (path, response.text)


def test_undecodable_key_and_repeatability_headers_are_4xx(host: HostProcess) -> None:
    get = (
        f"GET {DI_BATCH.replace(':analyzeBatch', '/analyzeBatchResults')} HTTP/1.1\r\n"
        "Host: 127.0.0.1\r\nOcp-Apim-Subscription-Key: \xff\xfe\r\n\r\n"
    )
    assert _raw(host, get.encode("latin-1")).startswith(b"HTTP/1.1 401")
    body = b'{"azureBlobSource": {"containerUrl": "file:///nowhere"}, "resultContainerUrl": "x"}'
    post = (
        f"POST {DI_BATCH} HTTP/1.1\r\nHost: 127.0.0.1\r\nOcp-Apim-Subscription-Key: {KEY}\r\n"
        f"Repeatability-Request-ID: \xff\xfe\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode("latin-1") + body
    assert _raw(host, post).startswith(b"HTTP/1.1 400")


def test_file_colon_data_source_is_a_400(host: HostProcess) -> None:
    response = requests.post(
        host.base_url + AD_MODELS,
        headers=KEYED,
        timeout=30,
        json={
            "dataSource": "file:",
            "startTime": "2024-01-01T00:00:00Z",
            "endTime": "2024-01-02T00:00:00Z",
            "slidingWindow": 30,
        },
    )
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "InvalidDataSource"


@pytest.mark.parametrize(
    "query",
    [
        "top=0",
        "top=99999999999999999999999",
        "top=abc",
        "createdTimeFrom=yesterday",
        "createdTimeFrom=2024-13-45",
    ],
)
def test_management_listing_rejects_bad_filters(host: HostProcess, query: str) -> None:
    response = requests.get(
        f"{host.base_url}{WEBHOOKS}/instances?{query}",
        timeout=30,
        headers={"x-functions-key": host.admin_key},
    )
    if query.startswith("top=9"):
        assert response.status_code == 200  # capped, not an overflow
    else:
        assert response.status_code == 400, response.text


@pytest.mark.parametrize("timeout", ["abc", "nan", "-1"])
def test_management_start_rejects_bad_timeouts(host: HostProcess, timeout: str) -> None:
    response = requests.post(
        f"{host.base_url}{WEBHOOKS}/orchestrators/batch_job?timeout={timeout}",
        json={},
        headers={"x-functions-key": host.admin_key},
        timeout=30,
    )
    assert response.status_code == 400, response.text


def test_concurrent_submissions_with_one_repeatability_id_share_one_operation(
    host: HostProcess,
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    import threading

    source = _storage(host) / "repeat"
    source.mkdir(parents=True, exist_ok=True)
    for i in range(40):
        (source / f"f{i}.txt").write_text("not a document")
    body = {
        "azureBlobSource": {"containerUrl": source.as_uri()},
        "resultContainerUrl": source.as_uri(),
        "resultPrefix": "out/",
    }
    headers = {**KEYED, "Repeatability-Request-ID": "same-id-for-all"}
    clients = 16
    barrier = threading.Barrier(clients)

    def submit(_: int) -> requests.Response:
        session = requests.Session()
        session.get(host.base_url + "/api/health", timeout=30)  # connect before the race
        barrier.wait()
        return session.post(host.base_url + DI_BATCH, json=body, headers=headers, timeout=60)

    with ThreadPoolExecutor(clients) as pool:
        answers = list(pool.map(submit, range(clients)))
    assert [a.status_code for a in answers] == [202] * clients, [a.text for a in answers]
    assert len({a.headers["Operation-Location"] for a in answers}) == 1


# --------------------------------------------------------------------- small leaks (item 10)


def test_forged_host_header_never_becomes_an_operation_location(host: HostProcess) -> None:
    source = _storage(host) / "hosts"
    source.mkdir(parents=True, exist_ok=True)
    response = requests.post(
        host.base_url + DI_BATCH,
        timeout=30,
        headers={**KEYED, "Host": "evil.example.com"},
        json={
            "azureBlobSource": {"containerUrl": source.as_uri()},
            "resultContainerUrl": source.as_uri(),
        },
    )
    assert response.status_code == 400, response.text
    assert "evil" not in response.headers.get("Operation-Location", "")
    assert response.json()["error"]["innererror"]["code"] == "InvalidHost"


def test_errors_do_not_tell_whether_a_server_path_is_a_folder(host: HostProcess) -> None:
    def message(path: str) -> str:
        response = requests.post(
            host.base_url + AD_MODELS,
            headers=KEYED,
            timeout=30,
            json={
                "dataSource": Path(path).as_uri(),
                "startTime": "2024-01-01T00:00:00Z",
                "endTime": "2024-01-02T00:00:00Z",
                "slidingWindow": 30,
            },
        )
        assert response.status_code == 400
        return response.json()["message"].replace(Path(path).as_uri(), "<url>")

    assert message("/etc") == message("/etc/hostname") == message("/no/such/path")


@pytest.mark.parametrize("version", ["2023-07-31", "2024-11-30x", ""])
def test_document_routes_validate_api_version(host: HostProcess, version: str) -> None:
    url = DI_BATCH.replace(":analyzeBatch", "/analyzeBatchResults").split("?")[0]
    query = f"?api-version={version}" if version else ""
    response = requests.get(host.base_url + url + query, headers=KEYED, timeout=30)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["innererror"]["code"] == "UnsupportedApiVersion"


def test_health_is_bare_without_a_key_and_detailed_with_one(host: HostProcess) -> None:
    bare = requests.get(f"{host.base_url}/api/health", timeout=30)
    assert bare.status_code == 200 and bare.json() == {"status": "healthy"}
    full = requests.get(f"{host.base_url}/api/health", headers=KEYED, timeout=30)
    assert full.status_code == 200
    assert "version" in full.json() and "onnxRuntime" in full.json()


# ------------------------------------------------------------------- secrets at rest (item 9)


def test_a_job_that_fails_unexpectedly_still_deletes_its_request(host: HostProcess) -> None:
    job_id = "0f0e0d0c-0000-4000-8000-000000000009"
    spec = host.data_dir.parent / "jobs" / job_id / "spec.json"
    spec.parent.mkdir(parents=True)
    spec.write_text('{"source_url": "https://acct.blob.core.windows.net/c?sig=SECRET", ')  # cut
    headers = {"x-functions-key": host.admin_key}
    instance = f"docbatch:prebuilt-read:{job_id}"
    started = requests.post(
        f"{host.base_url}{WEBHOOKS}/orchestrators/batch_job/{instance}",
        json={"job_id": job_id, "kind": "document-analysis", "model_id": "prebuilt-read"},
        headers=headers,
        timeout=30,
    )
    assert started.status_code == 202, started.text
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        state = requests.get(
            f"{host.base_url}{WEBHOOKS}/instances/{instance}", headers=headers, timeout=30
        ).json()
        if state["runtimeStatus"] in ("Completed", "Failed", "Terminated"):
            break
        time.sleep(0.3)
    assert state["runtimeStatus"] == "Completed", state
    assert state["output"]["status"] == "failed"
    assert not spec.exists()


def test_gzip_bodies_are_decoded_and_bombs_refused(host: HostProcess) -> None:
    import gzip

    headers = {
        "Ocp-Apim-Subscription-Key": KEY,
        "Content-Encoding": "gzip",
        "Content-Type": "application/json",
    }
    fine = requests.post(
        host.base_url + DI_BATCH, data=gzip.compress(b'{"nope": 1}'), headers=headers, timeout=30
    )
    assert fine.status_code == 400 and fine.json()["error"]["code"] == "InvalidRequest"
    bomb = gzip.compress(b" " * (150 * 1024 * 1024))  # 150 MB of spaces in ~150 KB
    refused = requests.post(host.base_url + DI_BATCH, data=bomb, headers=headers, timeout=60)
    assert refused.status_code == 413
    brotli = requests.post(
        host.base_url + DI_BATCH,
        data=b"x",
        timeout=30,
        headers={**headers, "Content-Encoding": "br"},
    )
    assert brotli.status_code == 415


def test_azurite_urls_on_other_loopback_ports_are_refused_before_connecting(
    host: HostProcess,
) -> None:
    for port in (22, 6379, 10001):
        url = f"http://127.0.0.1:{port}/devstoreaccount1/cont?sv=1&sig=x"
        response = requests.post(
            host.base_url + DI_BATCH,
            headers=KEYED,
            timeout=30,
            json={"azureBlobSource": {"containerUrl": url}, "resultContainerUrl": url},
        )
        assert response.status_code == 400, response.text
        inner = response.json()["error"]["innererror"]
        assert "emulator endpoint" in inner["message"] and "sig=" not in response.text
