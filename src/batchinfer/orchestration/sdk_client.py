"""The durable client port over `azure.durable_functions.DurableOrchestrationClient`.

Why: the one place that knows the SDK client's positional signatures, its status class (falsy
for a missing instance, naive or aware times, a runtime status enum of its own), its history
(a list of JSON objects with ISO-text timestamps) and its purge result. Triggers wrap the
client the binding hands them: `SdkDurableClient(client)`.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import azure.durable_functions as df

from batchinfer.orchestration.client import HistoryEvent, InstanceStatus, RuntimeStatus

__all__ = ["SdkDurableClient", "history_events", "instance_status"]

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _utc(moment: datetime | None) -> datetime:
    if moment is None:
        return _EPOCH
    return (
        moment.replace(tzinfo=timezone.utc)
        if moment.tzinfo is None
        else moment.astimezone(timezone.utc)
    )


def _parsed_time(text: Any) -> datetime | None:
    """An ISO-8601 timestamp (`Z` or an offset; naive means UTC) as an aware UTC time."""
    if not isinstance(text, str) or not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return _utc(moment)


def history_events(history: Any) -> tuple[HistoryEvent, ...]:
    """The history list as typed events; entries without a readable time are dropped.

    The extension answers `showHistory=true` with `historyEvents`, which the SDK keeps as an
    extra attribute of its status (its own `history` property stays None)."""
    events = []
    for entry in history or ():
        moment = _parsed_time(entry.get("Timestamp")) if isinstance(entry, dict) else None
        if moment is not None:
            events.append(
                HistoryEvent(
                    event_type=str(entry.get("EventType", "")),
                    timestamp=moment,
                    result=entry.get("Result"),
                )
            )
    return tuple(events)


def instance_status(status: Any) -> InstanceStatus | None:
    """Our status from the SDK's `DurableOrchestrationStatus` (None for a missing instance)."""
    if not status or status.runtime_status is None:
        return None
    return InstanceStatus(
        instance_id=str(status.instance_id),
        name=str(status.name or ""),
        runtime_status=RuntimeStatus(status.runtime_status.value),
        created=_utc(status.created_time),
        updated=_utc(status.last_updated_time),
        output=status.output,
        custom_status=status.custom_status,
        history=history_events(getattr(status, "historyEvents", None) or status.history),
    )


class SdkDurableClient:
    """`DurableClient` backed by the Durable Functions SDK client of a trigger binding."""

    def __init__(self, client: df.DurableOrchestrationClient) -> None:
        self._client = client

    async def get_status(
        self, *, instance_id: str, show_history: bool = False
    ) -> InstanceStatus | None:
        return instance_status(
            await self._client.get_status(
                instance_id, show_history=show_history, show_history_output=show_history
            )
        )

    async def list_statuses(self, *, instance_id_prefix: str) -> list[InstanceStatus]:
        found = await self._client.get_status_by(instance_id_prefix=instance_id_prefix)
        return [s for s in (instance_status(status) for status in found) if s is not None]

    async def start(self, *, orchestration: str, instance_id: str, payload: Any) -> None:
        await self._client.start_new(orchestration, instance_id, payload)

    async def raise_event(self, *, instance_id: str, event: str, data: Any = None) -> None:
        await self._client.raise_event(instance_id, event, data)

    async def terminate(self, *, instance_id: str, reason: str) -> None:
        await self._client.terminate(instance_id, reason)

    async def purge(self, *, instance_id: str) -> None:
        await self._client.purge_instance_history(instance_id)
