"""The Durable Functions Python sample patterns, end to end on the embedded host.

The app under tests/apps/df_samples is this project's own code in the shape of Microsoft's v2
samples (chaining, fan-out/fan-in, blueprint, sub-orchestration, custom serialization, entities,
human interaction, timeout race, retry, call_http); tests/apps/df_versioning is driven as the
versioning sample's README drives it. Everything goes over HTTP or through the SDK client.
"""

from __future__ import annotations

import base64
import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import azure.durable_functions as df
import pytest
import requests

from tests.support.host import HostProcess, SdkClient

APPS = Path(__file__).resolve().parents[1] / "apps"
HUB = "SamplesHub"


@pytest.fixture(scope="module")
def samples_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostProcess]:
    root = tmp_path_factory.mktemp("samples")
    host = HostProcess(APPS / "df_samples", root / "data", env={"SAMPLES_TASK_HUB": HUB})
    host.start()
    try:
        yield host
    finally:
        assert host.stop() == 0, host.log()


@pytest.fixture(scope="module")
def client(samples_host: HostProcess) -> Iterator[SdkClient]:
    sdk = samples_host.sdk(hub=HUB)
    try:
        yield sdk
    finally:
        sdk.close()


def _admin(host: HostProcess, **headers: str) -> dict[str, str]:
    """Headers for the management API, which always needs the host's admin key."""
    return {"x-functions-key": host.admin_key, **headers}


def _start(host: HostProcess, name: str, payload: object = None, **query: str) -> dict:
    r = requests.post(
        f"{host.base_url}/api/orchestrators/{name}",
        params=query,
        data=json.dumps(payload) if payload is not None else None,
        timeout=10,
    )
    assert r.status_code == 202, r.text
    return r.json()


def _finished(url: str, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = requests.get(url, timeout=10).json()
        if body["runtimeStatus"] in ("Completed", "Failed", "Terminated"):
            return body
        time.sleep(0.05)
    raise AssertionError(f"{url} did not finish")


# ---------------------------------------------------------------------------- the patterns
def test_function_chaining_from_a_blueprint(samples_host: HostProcess) -> None:
    started = _start(samples_host, "greet_cities")
    assert f"taskHub={HUB}" in started["statusQueryGetUri"]  # hubName "%SAMPLES_TASK_HUB%"
    status = _finished(started["statusQueryGetUri"])
    assert status["output"] == ["Hello Lisbon!", "Hello Nairobi!", "Hello Osaka!"]


def test_fan_out_fan_in(samples_host: HostProcess, tmp_path: Path) -> None:
    for i in range(7):
        (tmp_path / f"f{i}.bin").write_bytes(b"x" * (10 * i))
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "deep.bin").write_bytes(b"y" * 5)
    status = _finished(_start(samples_host, "measure_folder", str(tmp_path))["statusQueryGetUri"])
    assert status["output"] == {"files": 8, "bytes": 10 * sum(range(7)) + 5}


def test_sub_orchestrations_with_explicit_ids(client: SdkClient) -> None:
    instance_id = client.run(lambda c: c.start_new("provision_devices", None, ["a1", "b2"]))
    status = client.wait_done(instance_id)
    assert status.output == [
        {"device": "a1", "key": "key-1a", "instance": "device-a1", "parent": instance_id},
        {"device": "b2", "key": "key-2b", "instance": "device-b2", "parent": instance_id},
    ]
    child = client.run(lambda c: c.get_status("device-a1"))
    assert child.runtime_status.value == "Completed"


def test_sub_orchestration_retries_keep_the_explicit_instance_id(
    client: SdkClient, tmp_path: Path
) -> None:
    args = {"device": "z9", "counter": str(tmp_path / "attempts"), "succeed_on": 3}
    instance_id = client.run(lambda c: c.start_new("provision_with_retry", None, args))
    assert client.wait_done(instance_id).output == {
        "attempt": "succeeded on attempt 3",
        "instance": "fragile-z9",
    }
    history = client.run(lambda c: c.get_status(instance_id, show_history=True)).historyEvents
    failures = [e for e in history if e["EventType"] == "SubOrchestrationInstanceFailed"]
    assert len(failures) == 2  # two failed attempts, all under the same child id
    child = client.run(lambda c: c.get_status("fragile-z9"))
    assert child.runtime_status.value == "Completed"


def test_custom_argument_serialization(samples_host: HostProcess) -> None:
    r = requests.post(f"{samples_host.base_url}/api/parcels/box?grams=475", timeout=10)
    assert r.status_code == 202
    status = _finished(r.json()["statusQueryGetUri"])
    assert status["output"] == {"label": "box", "grams": 500, "type": "Parcel"}


def test_retry_until_the_activity_succeeds(client: SdkClient, tmp_path: Path) -> None:
    args = {"counter": str(tmp_path / "attempts"), "succeed_on": 3}
    instance_id = client.run(lambda c: c.start_new("unreliable_chain", None, args))
    status = client.wait_done(instance_id)
    assert status.output == "succeeded on attempt 3"


def test_human_interaction_approved_and_escalated(client: SdkClient) -> None:
    approved = client.run(lambda c: c.start_new("expense_approval", None, 30))
    client.wait_for(approved, lambda s: s.custom_status == "awaiting approval")
    client.run(lambda c: c.raise_event(approved, "ApprovalEvent", {"manager": "kim"}))
    assert client.wait_done(approved).output == {"outcome": "approved", "by": {"manager": "kim"}}
    ignored = client.run(lambda c: c.start_new("expense_approval", None, 1))
    assert client.wait_done(ignored).output == {"outcome": "escalated"}


def test_timeout_race(client: SdkClient) -> None:
    quick = client.run(
        lambda c: c.start_new("race_the_clock", None, {"work_seconds": 0.05, "limit_seconds": 20})
    )
    slow = client.run(
        lambda c: c.start_new("race_the_clock", None, {"work_seconds": 3, "limit_seconds": 0.5})
    )
    assert client.wait_done(quick).output == {"result": "done after 0.05s"}
    assert client.wait_done(slow).output == {"result": "timed out"}


def test_call_http_hands_back_the_202_unpolled(
    client: SdkClient, samples_host: HostProcess
) -> None:
    url = f"{samples_host.base_url}/api/resource"
    instance_id = client.run(lambda c: c.start_new("poll_resource", None, url))
    status = client.wait_done(instance_id)
    assert status.output == {
        "status": 202,
        "location": "http://example.invalid/status/1",
        "content": "still working",
    }


def test_entities_signalled_and_called_from_an_orchestration(client: SdkClient) -> None:
    instance_id = client.run(lambda c: c.start_new("tally_user", None, "orchestrated"))
    assert client.wait_done(instance_id).output == 15
    entity = df.EntityId("tally", "orchestrated")
    deadline = time.monotonic() + 20
    while client.run(lambda c: c.read_entity_state(entity)).entity_state != 115:
        assert time.monotonic() < deadline, "the final-episode signal never arrived"
        time.sleep(0.05)


# --------------------------------------------------------------------- entities over HTTP
def _entity_state(host: HostProcess, name: str, key: str, expected: object) -> None:
    url = f"{host.base_url}/runtime/webhooks/durabletask/entities/{name}/{key}"
    deadline = time.monotonic() + 20
    while True:
        r = requests.get(url, headers=_admin(host), timeout=10)
        if r.status_code == 200 and r.json() == expected:
            return
        assert time.monotonic() < deadline, (r.status_code, r.text)
        time.sleep(0.05)


def test_entity_signals_over_http_with_json_and_text_bodies(
    samples_host: HostProcess, client: SdkClient
) -> None:
    base = f"{samples_host.base_url}/runtime/webhooks/durabletask/entities"
    r = requests.post(f"{base}/tally/http?op=add", json=7, headers=_admin(samples_host), timeout=10)
    assert r.status_code == 202
    client.run(lambda c: c.signal_entity(df.EntityId("tally", "http"), "add", 3))
    _entity_state(samples_host, "tally", "http", 10)
    for body, kind in (
        ("first note", "text/plain"),
        (json.dumps({"n": 2}), "application/json"),
        (json.dumps("a json string"), "application/json"),
    ):
        r = requests.post(
            f"{base}/notebook/mine?op=write",
            data=body,
            headers=_admin(samples_host, **{"Content-Type": kind}),
            timeout=10,
        )
        assert r.status_code == 202
    _entity_state(samples_host, "notebook", "mine", ["first note", {"n": 2}, "a json string"])
    r = requests.post(
        f"{base}/notebook/mine?op=write",
        data="{not json",
        headers=_admin(samples_host, **{"Content-Type": "application/json"}),
        timeout=10,
    )
    assert r.status_code == 400 and "JSON" in r.json()["Message"]
    assert "Executed 'Functions.notebook' (Succeeded, operation 'write'" in samples_host.log()


def test_list_entities(samples_host: HostProcess) -> None:
    base = f"{samples_host.base_url}/runtime/webhooks/durabletask/entities"
    assert requests.get(f"{base}/tally", timeout=10).status_code == 401  # admin key only
    for key in ("l1", "l2", "l3"):
        requests.post(
            f"{base}/tally/{key}?op=add", json=1, headers=_admin(samples_host), timeout=10
        )
    for key in ("l1", "l2", "l3"):
        _entity_state(samples_host, "tally", key, 1)
    listed = requests.get(
        f"{base}/tally?fetchState=true", headers=_admin(samples_host), timeout=10
    ).json()
    mine = {e["entityId"]["key"]: e for e in listed if e["entityId"]["key"].startswith("l")}
    assert set(mine) == {"l1", "l2", "l3"}
    assert all(e["state"] == 1 and e["lastOperationTime"].endswith("Z") for e in mine.values())
    keys: list[str] = []
    token = None
    while True:  # paging with the continuation header
        headers = _admin(samples_host, **({"x-ms-continuation-token": token} if token else {}))
        r = requests.get(f"{base}/?top=2", headers=headers, timeout=10)
        keys += [f"{e['entityId']['name']}/{e['entityId']['key']}" for e in r.json()]
        assert all("state" not in e for e in r.json())
        token = r.headers.get("x-ms-continuation-token")
        if not token:
            break
    assert {"tally/l1", "tally/l2", "tally/l3"} <= set(keys) and len(keys) == len(set(keys))


@pytest.mark.parametrize(
    ("query", "token"),
    [
        ("top=0", None),
        ("top=-2", None),
        ("top=abc", None),
        ("", "%%%notbase64"),
        ("", base64.urlsafe_b64encode(b'["tally"]').decode()),
        ("", base64.urlsafe_b64encode(b"[1, 2]").decode()),
        ("", base64.urlsafe_b64encode(b'{"a": "b"}').decode()),
    ],
)
def test_entity_listing_refuses_bad_paging(
    samples_host: HostProcess, query: str, token: str | None
) -> None:
    headers = _admin(samples_host, **({"x-ms-continuation-token": token} if token else {}))
    r = requests.get(
        f"{samples_host.base_url}/runtime/webhooks/durabletask/entities/tally?{query}",
        headers=headers,
        timeout=10,
    )
    assert r.status_code == 400, r.text
    assert r.json()["Message"] in (
        "top must be a positive integer.",
        "The continuation token is not valid.",
    )


# --------------------------------------------------------------------- management details
def test_continue_as_new_shows_continued_as_new_and_keeps_raised_events(
    client: SdkClient, tmp_path: Path
) -> None:
    marker = tmp_path / "marker"
    instance_id = client.run(
        lambda c: c.start_new("generations", None, {"generation": 0, "marker": str(marker)})
    )
    deadline = time.monotonic() + 30
    while not marker.exists():  # generation 0's (final) episode is running now
        assert time.monotonic() < deadline
        time.sleep(0.01)
    client.run(lambda c: c.raise_event(instance_id, "ping", "for the next generation"))
    seen: set[str] = set()
    deadline = time.monotonic() + 30
    while True:
        status = client.run(lambda c: c.get_status(instance_id))
        seen.add(status.runtime_status.value)
        if status.runtime_status.value == "Completed":
            break
        assert time.monotonic() < deadline, seen
        time.sleep(0.05)
    assert "ContinuedAsNew" in seen
    assert json.loads(status.output) == "for the next generation"


def test_suspend_and_resume_are_recorded_in_the_history(client: SdkClient) -> None:
    instance_id = client.run(lambda c: c.start_new("expense_approval", None, 60))
    client.wait_for(instance_id, lambda s: s.custom_status == "awaiting approval")
    client.run(lambda c: c.suspend(instance_id, "lunch"))
    client.run(lambda c: c.resume(instance_id, "back"))
    client.run(lambda c: c.raise_event(instance_id, "ApprovalEvent", "lee"))
    client.wait_done(instance_id)
    history = client.run(lambda c: c.get_status(instance_id, show_history=True)).historyEvents
    kinds = [e["EventType"] for e in history]
    assert kinds.index("ExecutionSuspended") < kinds.index("ExecutionResumed")
    suspended = history[kinds.index("ExecutionSuspended")]
    assert suspended["Reason"] == "lunch"
    assert "OrchestratorStarted" not in kinds


def test_failures_with_wait_and_return_internal_server_error(samples_host: HostProcess) -> None:
    base = f"{samples_host.base_url}/runtime/webhooks/durabletask"
    key = _admin(samples_host)
    r = requests.post(f"{base}/orchestrators/doomed?timeout=20", headers=key, timeout=30)
    assert r.status_code == 200, r.text
    failed = r.json()
    assert failed["runtimeStatus"] == "Failed" and "doomed by design" in failed["output"]
    assert failed["instanceId"] and failed["createdTime"]
    r = requests.post(
        f"{base}/orchestrators/doomed?timeout=20&returnInternalServerErrorOnFailure=true",
        headers=key,
        timeout=30,
    )
    assert r.status_code == 500 and r.json()["runtimeStatus"] == "Failed"
    url = f"{base}/instances/{failed['instanceId']}"
    assert requests.get(url, headers=key, timeout=10).status_code == 200
    assert (
        requests.get(
            f"{url}?returnInternalServerErrorOnFailure=true", headers=key, timeout=10
        ).status_code
        == 500
    )
    log = samples_host.log()
    assert "ERROR funchost.durable: Orchestration 'doomed'" in log
    assert 'raise RuntimeError("doomed by design")' in log  # the orchestrator's own traceback


def test_restart_answers_with_location_and_retry_after(samples_host: HostProcess) -> None:
    status = _finished(_start(samples_host, "greet_cities")["statusQueryGetUri"])
    base = f"{samples_host.base_url}/runtime/webhooks/durabletask"
    r = requests.post(
        f"{base}/instances/{status['instanceId']}/restart", headers=_admin(samples_host), timeout=10
    )
    assert r.status_code == 202
    body = r.json()
    assert r.headers["Location"] == body["statusQueryGetUri"]
    assert r.headers["Retry-After"] == "10"
    assert _finished(body["statusQueryGetUri"])["output"][0] == "Hello Lisbon!"


def test_the_root_page_answers_like_the_functions_host(samples_host: HostProcess) -> None:
    r = requests.get(f"{samples_host.base_url}/", timeout=10)
    assert r.status_code == 200 and "text/html" in r.headers["Content-Type"]
    assert "up and running" in r.text


def test_function_timeout_fails_an_activity_that_runs_too_long(client: SdkClient) -> None:
    # host.json functionTimeout is 00:00:05; the activity would take 8 s
    instance_id = client.run(lambda c: c.start_new("slow_chain", None, 8))
    status = client.wait_done(instance_id, timeout=40)
    assert status.runtime_status.value == "Failed"
    assert "Timeout value of 00:00:05 was exceeded by function: Functions.take_time" in (
        status.output
    )


def test_system_exit_in_an_activity_fails_only_that_task(
    client: SdkClient, samples_host: HostProcess
) -> None:
    instance_id = client.run(lambda c: c.start_new("survive_exit", None, None))
    assert client.wait_done(instance_id).output == [
        "Activity function 'exits' failed: SystemExit: a library gave up",
        "Hello afterwards!",
    ]
    assert "ERROR funchost.invocations: Executed 'Functions.exits' (Failed" in samples_host.log()
    assert samples_host.proc is not None and samples_host.proc.poll() is None  # still serving


# ------------------------------------------------------------------------------ versioning
def _wait_custom_status(url: str, expected: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while requests.get(url, timeout=10).json().get("customStatus") != expected:
        assert time.monotonic() < deadline, f"{url} never reached {expected!r}"
        time.sleep(0.05)


def _continue(started: dict) -> None:
    r = requests.post(
        started["sendEventPostUri"].replace("{eventName}", "Continue"),
        data="null",
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert r.status_code == 202, r.text


def test_orchestration_versioning_as_the_sample_readme_drives_it(tmp_path: Path) -> None:
    # over HTTP only: the SDK client of this module holds the SDK's one global session
    app = tmp_path / "app"
    shutil.copytree(APPS / "df_versioning", app)
    host = HostProcess(app, tmp_path / "data").start()
    waiting = "Waiting for Continue event..."
    try:
        old = _start(host, "versioned_flow")
        _wait_custom_status(old["statusQueryGetUri"], waiting)
        assert host.stop() == 0
        host_json = app / "host.json"  # "deploy" version 2.0
        host_json.write_text(host_json.read_text().replace('"1.0"', '"2.0"'))
        host.start()
        _continue(old)
        assert _finished(old["statusQueryGetUri"])["output"] == [
            "Orchestration version: 1.0",
            "Suborchestration version (explicit): 0.9",
            "Suborchestration version (default): 2.0",
            "Hello from the old step!",
        ]
        new = _start(host, "versioned_flow")
        pinned = _start(host, "versioned_flow", version="1.0")
        for started in (new, pinned):
            _wait_custom_status(started["statusQueryGetUri"], waiting)
            _continue(started)
        assert _finished(new["statusQueryGetUri"])["output"] == [
            "Orchestration version: 2.0",
            "Suborchestration version (explicit): 0.9",
            "Suborchestration version (default): 2.0",
            "Hello from the new step!",
        ]
        pinned_output = _finished(pinned["statusQueryGetUri"])["output"]
        assert pinned_output[0] == "Orchestration version: 1.0"
        assert pinned_output[3] == "Hello from the old step!"
    finally:
        assert host.stop() == 0, host.log()


def test_changed_orchestrator_code_fails_as_nondeterministic(tmp_path: Path) -> None:
    app = tmp_path / "app"
    shutil.copytree(APPS / "df_versioning", app)
    host = HostProcess(app, tmp_path / "data").start()
    try:
        started = _start(host, "versioned_flow")
        _wait_custom_status(started["statusQueryGetUri"], "Waiting for Continue event...")
        assert host.stop() == 0
        code = app / "function_app.py"  # an unversioned change to the running path
        code.write_text(
            code.read_text().replace('call_activity("old_step")', 'call_activity("new_step")')
        )
        host.start()
        _continue(started)
        status = _finished(started["statusQueryGetUri"])
        assert status["runtimeStatus"] == "Failed"
        assert "Non-Deterministic workflow detected" in status["output"]
        assert "CallActivity 'old_step'" in status["output"]
        assert "CallActivity 'new_step'" in status["output"]
    finally:
        assert host.stop() == 0, host.log()
