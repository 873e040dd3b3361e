"""The durable client as the product uses it: a small port, plus the status it returns.

Why: the jobs service, the API dialects and the inbox start, read, list, cancel and purge
orchestrations. They depend on this `Protocol` (keyword-only, like every port here), not on
`azure.durable_functions`; the SDK client is adapted once in `sdk_client.py`, and unit tests
pass a typed in-memory fake. `InstanceStatus` is plain data with aware UTC times and an enum
runtime status, so callers never touch the SDK's status class or its `.value` strings.
History is read only on request (`show_history`): it grows with the instance, and only the
dashboard's "progress over time" needs it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

__all__ = ["DurableClient", "HistoryEvent", "InstanceStatus", "RuntimeStatus"]


class RuntimeStatus(StrEnum):
    """An orchestration's runtime status, spelled as the Durable Functions HTTP API spells it."""

    PENDING = "Pending"
    RUNNING = "Running"
    CONTINUED_AS_NEW = "ContinuedAsNew"
    SUSPENDED = "Suspended"
    COMPLETED = "Completed"
    FAILED = "Failed"
    TERMINATED = "Terminated"
    CANCELED = "Canceled"

    @property
    def terminal(self) -> bool:
        """Finished for good: its history may be purged. `Canceled` is finished."""
        return self in _TERMINAL


_TERMINAL = frozenset(
    {
        RuntimeStatus.COMPLETED,
        RuntimeStatus.FAILED,
        RuntimeStatus.TERMINATED,
        RuntimeStatus.CANCELED,
    }
)


@dataclass(frozen=True)
class HistoryEvent:
    """One event of an instance's execution history, as the Durable Functions HTTP API lists it.

    `event_type` is the API's `EventType` (`TaskCompleted`, `SubOrchestrationInstanceCompleted`,
    `ExecutionCompleted`, ...); `result` is the event's `Result` as the API gives it (a JSON
    text for activities and sub-orchestrations), None when absent.
    """

    event_type: str
    timestamp: datetime
    result: Any = None


@dataclass(frozen=True)
class InstanceStatus:
    """What the product reads of an orchestration instance."""

    instance_id: str
    name: str
    runtime_status: RuntimeStatus
    created: datetime
    updated: datetime
    output: Any = None
    custom_status: Any = None
    history: tuple[HistoryEvent, ...] = ()  # oldest first; empty unless asked for

    @property
    def terminal(self) -> bool:
        return self.runtime_status.terminal


class DurableClient(Protocol):
    """The durable client calls the product makes."""

    async def get_status(
        self, *, instance_id: str, show_history: bool = False
    ) -> InstanceStatus | None:
        """The instance's status; None if no such instance exists. With `show_history`, its
        `history` holds the execution history with each event's result."""
        ...

    async def list_statuses(self, *, instance_id_prefix: str) -> list[InstanceStatus]:
        """Every instance whose id starts with the prefix (any order)."""
        ...

    async def start(self, *, orchestration: str, instance_id: str, payload: Any) -> None:
        """Start `orchestration` under `instance_id` with a JSON payload."""
        ...

    async def raise_event(self, *, instance_id: str, event: str, data: Any = None) -> None: ...

    async def terminate(self, *, instance_id: str, reason: str) -> None: ...

    async def purge(self, *, instance_id: str) -> None:
        """Delete a finished instance's history and status."""
        ...
