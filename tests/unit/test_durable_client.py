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

from batchinfer.orchestration.client import HistoryEvent, InstanceStatus, RuntimeStatus
from batchinfer.orchestration.sdk_client import SdkDurableClient
from tests.support.durable import FakeDurableClient, instance

HISTORY = [  # condensed, as the extension answers showHistory=true&showHistoryOutput=true
    {
        "EventType": "ExecutionStarted",
        "Timestamp": "2024-09-24T13:00:46.5Z",
        "FunctionName": "batch_job",
    },
    {
        "EventType": "SubOrchestrationInstanceCompleted",
        "Timestamp": "2024-09-24T13:00:48Z",
        "FunctionName": "batch_shard",
        "Result": {"counts": {"succeeded": 2}},
    },
    {"EventType": "TaskCompleted", "Timestamp": "not a time"},
    {
        "EventType": "ExecutionCompleted",
        "Timestamp": "2024-09-24T13:00:49+00:00",
        "Result": {"status": "succeeded"},
    },
]


def _sdk_status(
    instance_id: str, runtime: str = "Running", history: bool = False
) -> DurableOrchestrationStatus:
    body: dict[str, Any] = {
        "name": "batch_job",
        "instanceId": instance_id,
        "runtimeStatus": runtime,
        "createdTime": "2024-09-24T13:00:46Z",
        "lastUpdatedTime": "2024-09-24T13:00:49Z",
        "output": {"status": "succeeded"},
        "customStatus": {"percentCompleted": 5},
    }
    if history:
        body["historyEvents"] = HISTORY
    return DurableOrchestrationStatus.from_json(body)


class FakeSdkClient:
    """Records calls with the SDK client's positional signatures."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    async def get_status(
        self, instance_id: str, show_history: bool = False, show_history_output: bool = False
    ) -> DurableOrchestrationStatus:
        self.calls.append(("get_status", (instance_id,)))
        if instance_id == "missing":
            return DurableOrchestrationStatus.from_json({})  # what the SDK returns on 404
        assert show_history == show_history_output  # results come with the history
        return _sdk_status(instance_id, history=show_history)

    async def get_status_by(self, instance_id_prefix: str) -> list[DurableOrchestrationStatus]:
        self.calls.append(("get_status_by", (instance_id_prefix,)))
        return [
            _sdk_status(f"{instance_id_prefix}1", "Completed"),
            _sdk_status(f"{instance_id_prefix}2", "Canceled"),
        ]

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
        instance_id="docbatch:m:1",
        name="batch_job",
        runtime_status=RuntimeStatus.RUNNING,
        created=datetime(2024, 9, 24, 13, 0, 46, tzinfo=timezone.utc),
        updated=datetime(2024, 9, 24, 13, 0, 49, tzinfo=timezone.utc),
        output={"status": "succeeded"},
        custom_status={"percentCompleted": 5},
    )
    assert not status.terminal


def test_history_only_when_asked_as_typed_events() -> None:
    client = SdkDurableClient(FakeSdkClient())  # type: ignore[arg-type]
    plain = asyncio.run(client.get_status(instance_id="docbatch:m:1"))
    assert plain is not None and plain.history == ()
    status = asyncio.run(client.get_status(instance_id="docbatch:m:1", show_history=True))
    assert status is not None
    assert status.history == (  # the event without a readable time is dropped
        HistoryEvent(
            "ExecutionStarted", datetime(2024, 9, 24, 13, 0, 46, 500000, tzinfo=timezone.utc)
        ),
        HistoryEvent(
            "SubOrchestrationInstanceCompleted",
            datetime(2024, 9, 24, 13, 0, 48, tzinfo=timezone.utc),
            {"counts": {"succeeded": 2}},
        ),
        HistoryEvent(
            "ExecutionCompleted",
            datetime(2024, 9, 24, 13, 0, 49, tzinfo=timezone.utc),
            {"status": "succeeded"},
        ),
    )


def test_the_fake_keeps_history_behind_the_same_flag() -> None:
    fake = FakeDurableClient.holding(instance("Running", instance_id="i"))
    event = HistoryEvent("TaskCompleted", datetime(2024, 9, 24, 13, 1, tzinfo=timezone.utc), 7)
    fake.add_history("i", event)
    plain = asyncio.run(fake.get_status(instance_id="i"))
    full = asyncio.run(fake.get_status(instance_id="i", show_history=True))
    assert plain is not None and plain.history == ()
    assert full is not None and full.history == (event,)


def test_missing_instance_is_none() -> None:
    client = SdkDurableClient(FakeSdkClient())  # type: ignore[arg-type]
    assert asyncio.run(client.get_status(instance_id="missing")) is None


def test_listing_and_terminal_statuses() -> None:
    client = SdkDurableClient(FakeSdkClient())  # type: ignore[arg-type]
    found = asyncio.run(client.list_statuses(instance_id_prefix="p:"))
    assert [(s.instance_id, s.runtime_status, s.terminal) for s in found] == [
        ("p:1", RuntimeStatus.COMPLETED, True),
        ("p:2", RuntimeStatus.CANCELED, True),
    ]


def test_commands_reach_the_sdk_with_its_signatures() -> None:
    sdk = FakeSdkClient()
    client = SdkDurableClient(sdk)  # type: ignore[arg-type]

    async def run() -> None:
        await client.start(orchestration="batch_job", instance_id="i", payload={"a": 1})
        await client.raise_event(instance_id="i", event="cancel")
        await client.terminate(instance_id="i", reason="why")
        await client.purge(instance_id="i")

    asyncio.run(run())
    assert sdk.calls == [
        ("start_new", ("batch_job", "i", {"a": 1})),
        ("raise_event", ("i", "cancel", None)),
        ("terminate", ("i", "why")),
        ("purge_instance_history", ("i",)),
    ]


def test_every_sdk_runtime_status_has_a_counterpart() -> None:
    from azure.durable_functions.models.OrchestrationRuntimeStatus import (
        OrchestrationRuntimeStatus,
    )

    assert {s.value for s in OrchestrationRuntimeStatus} <= {s.value for s in RuntimeStatus}
