"""An in-memory `DurableClient`: the port's typed fake for unit tests.

Why: the jobs service, the inbox and the retention sweep are tested against the port, not the
SDK; the fake records what they asked for and lets a test set any instance's status.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any

from batchinfer.orchestration.client import (
    DurableClient,
    HistoryEvent,
    InstanceStatus,
    RuntimeStatus,
)
from batchinfer.orchestration.names import BATCH_JOB

T0 = datetime(2024, 9, 24, 13, 0, 46, tzinfo=timezone.utc)


def instance(
    runtime: str | RuntimeStatus,
    *,
    output: Any = None,
    custom: Any = None,
    instance_id: str = "i:1",
    name: str = BATCH_JOB,
    created: datetime = T0,
    updated: datetime | None = None,
) -> InstanceStatus:
    """A status as the port returns it."""
    return InstanceStatus(
        instance_id=instance_id,
        name=name,
        runtime_status=RuntimeStatus(runtime),
        created=created,
        updated=updated or created,
        output=output,
        custom_status=custom,
    )


@dataclass
class FakeDurableClient:
    """Instances in a dict; every call the product made, in lists."""

    statuses: dict[str, InstanceStatus] = field(default_factory=dict)
    started: list[tuple[str, str, Any]] = field(default_factory=list)
    events: list[tuple[str, str, Any]] = field(default_factory=list)
    terminated: list[str] = field(default_factory=list)
    purged: list[str] = field(default_factory=list)

    @classmethod
    def holding(cls, *statuses: InstanceStatus) -> FakeDurableClient:
        return cls({s.instance_id: s for s in statuses})

    async def get_status(
        self, *, instance_id: str, show_history: bool = False
    ) -> InstanceStatus | None:
        status = self.statuses.get(instance_id)
        if status is None or show_history:
            return status
        return replace(status, history=())  # history only when asked, like the SDK

    def add_history(self, instance_id: str, *events: HistoryEvent) -> None:
        """Append events to an instance's execution history."""
        status = self.statuses[instance_id]
        self.statuses[instance_id] = replace(status, history=(*status.history, *events))

    async def list_statuses(self, *, instance_id_prefix: str) -> list[InstanceStatus]:
        return [s for i, s in self.statuses.items() if i.startswith(instance_id_prefix)]

    async def start(self, *, orchestration: str, instance_id: str, payload: Any) -> None:
        assert instance_id not in self.statuses, f"{instance_id} started twice"
        self.started.append((orchestration, instance_id, payload))
        self.statuses[instance_id] = instance(
            RuntimeStatus.PENDING, instance_id=instance_id, name=orchestration
        )

    async def raise_event(self, *, instance_id: str, event: str, data: Any = None) -> None:
        self.events.append((instance_id, event, data))

    async def terminate(self, *, instance_id: str, reason: str) -> None:
        self.terminated.append(instance_id)
        self.statuses[instance_id] = replace(
            self.statuses[instance_id], runtime_status=RuntimeStatus.TERMINATED
        )

    async def purge(self, *, instance_id: str) -> None:
        self.purged.append(instance_id)
        self.statuses.pop(instance_id, None)

    def set_updated(self, instance_id: str, updated: datetime) -> None:
        self.statuses[instance_id] = replace(self.statuses[instance_id], updated=updated)


def _conforms(client: FakeDurableClient) -> DurableClient:
    return client  # mypy checks the fake against the port here
