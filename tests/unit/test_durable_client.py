"""The SDK adapter of the durable-client port, over a stand-in for the SDK client.

The stand-in returns the SDK's own `DurableOrchestrationStatus` objects (built from the JSON the
Durable HTTP API answers), so the adapter's conversions are tested against the real class.
"""
from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from typing import Any

from azure.durable_functions.models.DurableOrchestrationStatus import (
    DurableOrchestrationStatus,
)

from batchinfer.orchestration.client import InstanceStatus, RuntimeStatus
from batchinfer.orchestration.sdk_client import SdkDurableClient


def _sdk_status(instance_id: str, runtime: str = "Running") -> DurableOrchestrationStatus:
    return DurableOrchestrationStatus.from_json({
        "name": "batch_job", "instanceId": instance_id, "runtimeStatus": runtime,
        "createdTime": "2024-09-24T13:00:46Z", "lastUpdatedTime": "2024-09-24T13:00:49Z",
        "output": {"status": "succeeded"}, "customStatus": {"percentCompleted": 5}})


class FakeSdkClient:
    """Records calls with the SDK client's positional signatures."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    async def get_status(self, instance_id: str) -> DurableOrchestrationStatus:
        self.calls.append(("get_status", (instance_id,)))
        if instance_id == "missing":
            return DurableOrchestrationStatus.from_json({})  # what the SDK returns on 404
        return _sdk_status(instance_id)

    async def get_status_by(self, instance_id_prefix: str) -> list[DurableOrchestrationStatus]:
        self.calls.append(("get_status_by", (instance_id_prefix,)))
        return [_sdk_status(f"{instance_id_prefix}1", "Completed"),
                _sdk_status(f"{instance_id_prefix}2", "Canceled")]

    async def start_new(self, name: str, instance_id: str, payload: Any) -> str:
        self.calls.append(("start_new", (name, instance_id, payload)))
        return instance_id

    async def raise_event(self, instance_id: str, event: str, data: Any) -> None:
        self.calls.append(("raise_event", (instance_id, event, data)))

    async def terminate(self, instance_id: str, reason: str) -> None:
        self.calls.append(("terminate", (instance_id, reason)))

    async def purge_instance_history(self, instance_id: str) -> None:
        self.calls.append(("purge_instance_history", (instance_id,)))


def test_status_is_plain_data_with_aware_times_and_an_enum() -> None:
    client = SdkDurableClient(FakeSdkClient())  # type: ignore[arg-type]
    status = asyncio.run(client.get_status(instance_id="docbatch:m:1"))
    assert status == InstanceStatus(
        instance_id="docbatch:m:1", name="batch_job", runtime_status=RuntimeStatus.RUNNING,
        created=datetime(2024, 9, 24, 13, 0, 46, tzinfo=timezone.utc),
        updated=datetime(2024, 9, 24, 13, 0, 49, tzinfo=timezone.utc),
        output={"status": "succeeded"}, custom_status={"percentCompleted": 5})
    assert not status.terminal


def test_missing_instance_is_none() -> None:
    client = SdkDurableClient(FakeSdkClient())  # type: ignore[arg-type]
    assert asyncio.run(client.get_status(instance_id="missing")) is None


def test_listing_and_terminal_statuses() -> None:
    client = SdkDurableClient(FakeSdkClient())  # type: ignore[arg-type]
    found = asyncio.run(client.list_statuses(instance_id_prefix="p:"))
    assert [(s.instance_id, s.runtime_status, s.terminal) for s in found] == [
        ("p:1", RuntimeStatus.COMPLETED, True), ("p:2", RuntimeStatus.CANCELED, True)]


def test_commands_reach_the_sdk_with_its_signatures() -> None:
    sdk = FakeSdkClient()
    client = SdkDurableClient(sdk)  # type: ignore[arg-type]

    async def run() -> None:
        await client.start(orchestration="batch_job", instance_id="i", payload={"a": 1})
        await client.raise_event(instance_id="i", event="cancel")
        await client.terminate(instance_id="i", reason="why")
        await client.purge(instance_id="i")

    asyncio.run(run())
    assert sdk.calls == [("start_new", ("batch_job", "i", {"a": 1})),
                         ("raise_event", ("i", "cancel", None)),
                         ("terminate", ("i", "why")), ("purge_instance_history", ("i",))]


def test_every_sdk_runtime_status_has_a_counterpart() -> None:
    from azure.durable_functions.models.OrchestrationRuntimeStatus import (
        OrchestrationRuntimeStatus,
    )

    assert {s.value for s in OrchestrationRuntimeStatus} <= {s.value for s in RuntimeStatus}
