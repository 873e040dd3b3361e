"""Durable patterns on the embedded host, driven over HTTP and by the SDK's own client."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from tests.support.host import HostProcess, SdkClient


def _start_over_http(host: HostProcess, name: str, payload: object) -> dict:
    r = requests.post(f"{host.base_url}/api/orchestrators/{name}", json=payload, timeout=10)
    assert r.status_code == 202, r.text
    body = r.json()
    assert r.headers["Location"] == body["statusQueryGetUri"]
    return body


def _poll_http(url: str, timeout: float = 60) -> dict:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = requests.get(url, timeout=10)
        body = r.json()
        if body["runtimeStatus"] in ("Completed", "Failed", "Terminated"):
            assert r.status_code == 200
            return body
        assert r.status_code == 202
        time.sleep(0.1)
    raise AssertionError(f"{url} did not finish")


def test_fan_out_fan_in_over_http(sample_host: HostProcess) -> None:
    started = _start_over_http(sample_host, "fan_out_fan_in", list(range(1, 21)))
    status = _poll_http(started["statusQueryGetUri"])
    assert status["runtimeStatus"] == "Completed"
    assert status["output"]["results"] == [2 * i for i in range(1, 21)]
    assert status["output"]["sum"] == 420
    assert status["customStatus"] == {"phase": "done"}
    assert status["input"] == "[" + ", ".join(str(i) for i in range(1, 21)) + "]"


def test_fan_out_with_one_failing_item_reports_that_item(sdk: SdkClient) -> None:
    instance_id = sdk.run(lambda c: c.start_new("fan_out_fan_in", None, [1, "fail", 3]))
    status = sdk.wait_done(instance_id)
    assert status.runtime_status.value == "Completed"
    assert status.output == {
        "failed": "Activity function 'double' failed: ValueError: boom on item fail "
    }


def test_retry_succeeds_on_third_attempt(sdk: SdkClient, tmp_path: Path) -> None:
    counter = tmp_path / "attempts"
    args = {"counter_file": str(counter), "succeed_on": 3, "max_attempts": 5}
    instance_id = sdk.run(lambda c: c.start_new("retry_until_success", None, args))
    status = sdk.wait_done(instance_id)
    assert status.runtime_status.value == "Completed"
    assert status.output == "succeeded on attempt 3"
    assert counter.read_text() == "3"


def test_retry_gives_up_after_max_attempts(sdk: SdkClient, tmp_path: Path) -> None:
    counter = tmp_path / "attempts"
    args = {"counter_file": str(counter), "succeed_on": 99, "max_attempts": 2}
    instance_id = sdk.run(lambda c: c.start_new("retry_until_success", None, args))
    status = sdk.wait_done(instance_id)
    assert status.runtime_status.value == "Failed"
    assert "transient failure on attempt 2" in status.output
    assert counter.read_text() == "2"


def test_sub_orchestration(sdk: SdkClient) -> None:
    instance_id = sdk.run(lambda c: c.start_new("parent", None, 21))
    status = sdk.wait_done(instance_id)
    assert status.runtime_status.value == "Completed"
    assert status.output == {
        "child": {"doubled": 42, "my_parent": instance_id},
        "parent_id": instance_id,
    }


def test_durable_timer(sdk: SdkClient) -> None:
    instance_id = sdk.run(lambda c: c.start_new("wait_timer", None, 1))
    running = sdk.run(lambda c: c.get_status(instance_id))
    assert running.runtime_status.value in ("Pending", "Running")
    status = sdk.wait_done(instance_id, timeout=30)
    assert status.runtime_status.value == "Completed"
    assert status.output["elapsed"] >= 1.0


def test_external_event(sdk: SdkClient) -> None:
    instance_id = sdk.run(lambda c: c.start_new("approval", None, None))
    sdk.wait_for(instance_id, lambda s: s.custom_status == "waiting for approval")
    sdk.run(lambda c: c.raise_event(instance_id, "approve", {"by": "bob"}))
    status = sdk.wait_done(instance_id)
    assert status.runtime_status.value == "Completed"
    # As in Azure, raise_event's data arrives JSON-encoded once more (a str the app decodes).
    assert json.loads(status.output["decision"]) == {"by": "bob"}


def test_terminate_then_events_are_refused(sdk: SdkClient) -> None:
    instance_id = sdk.run(lambda c: c.start_new("approval", None, None))
    sdk.wait_for(instance_id, lambda s: s.runtime_status.value == "Running")
    sdk.run(lambda c: c.terminate(instance_id, "user asked & done"))
    status = sdk.wait_done(instance_id)
    assert status.runtime_status.value == "Terminated"
    assert status.output == "user asked & done"
    with pytest.raises(Exception, match="gone"):
        sdk.run(lambda c: c.raise_event(instance_id, "approve", "late"))


def test_suspend_and_resume(sdk: SdkClient) -> None:
    instance_id = sdk.run(lambda c: c.start_new("approval", None, None))
    sdk.wait_for(instance_id, lambda s: s.custom_status == "waiting for approval")
    sdk.run(lambda c: c.suspend(instance_id, "hold on"))
    sdk.wait_for(instance_id, lambda s: s.runtime_status.value == "Suspended")
    sdk.run(lambda c: c.raise_event(instance_id, "approve", "yes"))
    import time

    time.sleep(0.5)
    assert sdk.run(lambda c: c.get_status(instance_id)).runtime_status.value == "Suspended"
    sdk.run(lambda c: c.resume(instance_id, "go"))
    status = sdk.wait_done(instance_id)
    assert status.runtime_status.value == "Completed"
    assert json.loads(status.output["decision"]) == "yes"


def test_continue_as_new(sdk: SdkClient) -> None:
    instance_id = sdk.run(lambda c: c.start_new("counter", None, 0))
    status = sdk.wait_done(instance_id)
    assert status.runtime_status.value == "Completed"
    assert status.output == {"final": 3}


def test_purge(sdk: SdkClient) -> None:
    instance_id = sdk.run(lambda c: c.start_new("fan_out_fan_in", None, [1]))
    sdk.wait_done(instance_id)
    result = sdk.run(lambda c: c.purge_instance_history(instance_id))
    assert result.instances_deleted == 1
    assert not sdk.run(lambda c: c.get_status(instance_id))
    assert sdk.run(lambda c: c.purge_instance_history(instance_id)).instances_deleted == 0


def test_purge_of_a_running_instance_is_refused(sdk: SdkClient) -> None:
    instance_id = sdk.run(lambda c: c.start_new("approval", None, None))
    sdk.wait_for(instance_id, lambda s: s.runtime_status.value == "Running")
    with pytest.raises(Exception, match="unexpected status code"):  # the SDK's own exception
        sdk.run(lambda c: c.purge_instance_history(instance_id))
    sdk.run(lambda c: c.terminate(instance_id, "cleanup"))
    sdk.wait_done(instance_id)


def test_history_and_input_in_status(sdk: SdkClient, sample_host: HostProcess) -> None:
    instance_id = sdk.run(lambda c: c.start_new("fan_out_fan_in", None, [5, 6]))
    sdk.wait_done(instance_id)
    status = sdk.run(lambda c: c.get_status(instance_id, show_history=True, show_input=True))
    # condensed as the extension renders it: no episode markers, scheduling folded into the
    # completions, results only with showHistoryOutput, and only under `historyEvents`
    kinds = [e["EventType"] for e in status.historyEvents]
    assert kinds == ["ExecutionStarted", "TaskCompleted", "TaskCompleted", "ExecutionCompleted"]
    assert status.historyEvents[0]["FunctionName"] == "fan_out_fan_in"
    assert {e["FunctionName"] for e in status.historyEvents[1:3]} == {"double"}
    assert all("ScheduledTime" in e and "Result" not in e for e in status.historyEvents[1:3])
    assert status.history is None  # the SDK reads `history`, which the extension never sends
    assert status.input_ == "[5, 6]"
    r = requests.get(
        f"{sample_host.base_url}/runtime/webhooks/durabletask/instances/"
        f"{instance_id}?showHistory=true&showHistoryOutput=true",
        headers={"x-functions-key": sample_host.admin_key},
        timeout=10,
    )
    with_output = r.json()["historyEvents"]
    assert sorted(e["Result"] for e in with_output if e["EventType"] == "TaskCompleted") == [10, 12]
    assert with_output[-1]["Result"] == {"results": [10, 12], "sum": 22}


def test_list_filter_and_continuation(sdk: SdkClient, sample_host: HostProcess) -> None:
    ids = [sdk.run(lambda c, i=i: c.start_new("fan_out_fan_in", None, [i])) for i in range(3)]
    for instance_id in ids:
        sdk.wait_done(instance_id)
    from azure.durable_functions.models.OrchestrationRuntimeStatus import (
        OrchestrationRuntimeStatus,
    )

    completed = sdk.run(
        lambda c: c.get_status_by(runtime_status=[OrchestrationRuntimeStatus.Completed])
    )
    assert set(ids) <= {s.instance_id for s in completed}
    assert all(s.runtime_status.value == "Completed" for s in completed)
    everything = sdk.run(lambda c: c.get_status_all())
    assert len(everything) >= len(completed)
    # paging over raw HTTP with the continuation header
    url = f"{sample_host.base_url}/runtime/webhooks/durabletask/instances/?top=2"
    seen: list[str] = []
    token = None
    while True:
        headers = {"x-ms-continuation-token": token} if token else {}
        headers["x-functions-key"] = sample_host.admin_key
        r = requests.get(url, headers=headers, timeout=10)
        assert r.status_code == 200
        seen += [s["instanceId"] for s in r.json()]
        token = r.headers.get("x-ms-continuation-token")
        if not token:
            break
    assert sorted(seen) == sorted(s.instance_id for s in everything)
    assert len(seen) == len(set(seen))


def test_restart_with_new_instance_id(sdk: SdkClient) -> None:
    instance_id = sdk.run(lambda c: c.start_new("fan_out_fan_in", None, [4]))
    sdk.wait_done(instance_id)
    restarted = sdk.run(lambda c: c.restart(instance_id))
    new_id = restarted["id"] if isinstance(restarted, dict) else restarted
    assert new_id != instance_id
    assert sdk.wait_done(new_id).output["sum"] == 8


def test_unknown_orchestrator_is_a_clear_error(sdk: SdkClient) -> None:
    with pytest.raises(Exception, match="doesn't exist"):
        sdk.run(lambda c: c.start_new("no_such_orchestrator", None, None))


def test_check_status_response_from_the_http_starter(sample_host: HostProcess) -> None:
    started = _start_over_http(sample_host, "approval", None)
    event_url = started["sendEventPostUri"].replace("{eventName}", "approve")
    r = requests.post(
        event_url, data=json.dumps("ok"), headers={"Content-Type": "application/json"}, timeout=10
    )
    assert r.status_code == 202
    status = _poll_http(started["statusQueryGetUri"])
    assert status["output"] == {"decision": "ok"}
    r = requests.delete(started["purgeHistoryDeleteUri"], timeout=10)
    assert r.status_code == 200 and r.json() == {"instancesDeleted": 1}
    assert requests.get(started["statusQueryGetUri"], timeout=10).status_code == 404


def test_entities_called_and_signaled_from_an_orchestration(sdk: SdkClient) -> None:
    instance_id = sdk.run(lambda c: c.start_new("entity_user", None, "k1"))
    status = sdk.wait_done(instance_id)
    assert status.runtime_status.value == "Completed", status.output
    assert status.output["total"] == 6
    assert "the counter refuses" in status.output["error"]


def test_entities_signaled_and_read_by_the_client(sdk: SdkClient) -> None:
    import time

    import azure.durable_functions as df

    entity = df.EntityId("counter_entity", "from-client")
    assert not sdk.run(lambda c: c.read_entity_state(entity)).entity_exists
    sdk.run(lambda c: c.signal_entity(entity, "add", 5))
    sdk.run(lambda c: c.signal_entity(entity, "add", 7))
    deadline = time.monotonic() + 30
    while True:
        state = sdk.run(lambda c: c.read_entity_state(entity))
        if state.entity_exists and state.entity_state == 12:
            break
        assert time.monotonic() < deadline, state.entity_state
        time.sleep(0.1)
