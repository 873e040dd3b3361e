"""History events in the DTFx JSON shape the azure-functions-durable 1.x SDK replays.

Each builder returns a plain dict; the engine serialises it once, stores it, and replays it on
every later episode with `IsPlayed: true`. Field names and event numbers are those of DTFx's
`DurableTask.Core.History` event classes and `EventType` enum, as azure-functions-durable's
`models/history/HistoryEventType.py` and `TaskOrchestrationExecutor` read them.
"""

from __future__ import annotations

from datetime import datetime, timezone
from enum import IntEnum
from functools import lru_cache
from typing import Any


class EventType(IntEnum):
    """DTFx `EventType` numbers."""

    ExecutionStarted = 0
    ExecutionCompleted = 1
    ExecutionFailed = 2
    ExecutionTerminated = 3
    TaskScheduled = 4
    TaskCompleted = 5
    TaskFailed = 6
    SubOrchestrationInstanceCreated = 7
    SubOrchestrationInstanceCompleted = 8
    SubOrchestrationInstanceFailed = 9
    TimerCreated = 10
    TimerFired = 11
    OrchestratorStarted = 12
    OrchestratorCompleted = 13
    EventSent = 14
    EventRaised = 15
    ContinueAsNew = 16
    GenericEvent = 17
    HistoryState = 18
    ExecutionSuspended = 19
    ExecutionResumed = 20


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


@lru_cache(maxsize=64)  # an episode stamps thousands of events with the same moment
def iso_timestamp(moment: datetime) -> str:
    """Microsecond ISO-8601 with a Z suffix, so the SDK parses tz-aware datetimes."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def status_timestamp(moment: datetime) -> str:
    """`yyyy-MM-ddTHH:mm:ssZ`, the format of status payload times."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_timestamp(text: str) -> datetime:
    """Parse the ISO forms the SDK and our store emit (naive values are UTC)."""
    cleaned = text.strip().replace("Z", "+00:00")
    if "." in cleaned:
        head, _, tail = cleaned.partition(".")
        digits = ""
        rest = ""
        for i, ch in enumerate(tail):
            if ch.isdigit():
                digits += ch
            else:
                rest = tail[i:]
                break
        cleaned = f"{head}.{digits[:6].ljust(6, '0')}{rest}"
    moment = datetime.fromisoformat(cleaned)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment


def event(kind: EventType, moment: datetime, event_id: int = -1, **fields: Any) -> dict[str, Any]:
    """A history event with the four fields every event must carry."""
    return {
        "EventType": int(kind),
        "EventId": event_id,
        "IsPlayed": False,
        "Timestamp": iso_timestamp(moment),
        **fields,
    }


def execution_started(
    moment: datetime,
    *,
    name: str,
    context_input: Any,
    instance_id: str,
    execution_id: str,
    parent: dict[str, Any] | None,
    version: str | None = None,
) -> dict[str, Any]:
    return event(
        EventType.ExecutionStarted,
        moment,
        Name=name,
        Version=version,
        Input=context_input,
        OrchestrationInstance={"InstanceId": instance_id, "ExecutionId": execution_id},
        ParentInstance=parent,
        Tags=None,
    )


def task_completed(moment: datetime, task_id: int, result: str | None) -> dict[str, Any]:
    return event(EventType.TaskCompleted, moment, TaskScheduledId=task_id, Result=result)


def task_failed(moment: datetime, task_id: int, reason: str, details: str) -> dict[str, Any]:
    return event(
        EventType.TaskFailed, moment, TaskScheduledId=task_id, Reason=reason, Details=details
    )


def suborchestration_completed(
    moment: datetime, task_id: int, result: str | None
) -> dict[str, Any]:
    return event(
        EventType.SubOrchestrationInstanceCompleted, moment, TaskScheduledId=task_id, Result=result
    )


def suborchestration_failed(
    moment: datetime, task_id: int, reason: str, details: str
) -> dict[str, Any]:
    return event(
        EventType.SubOrchestrationInstanceFailed,
        moment,
        TaskScheduledId=task_id,
        Reason=reason,
        Details=details,
    )


def timer_fired(moment: datetime, timer_id: int, fire_at: str) -> dict[str, Any]:
    return event(EventType.TimerFired, moment, TimerId=timer_id, FireAt=fire_at)


def event_raised(moment: datetime, name: str, data: str | None) -> dict[str, Any]:
    return event(EventType.EventRaised, moment, Name=name, Input=data)
