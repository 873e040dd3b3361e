"""Reading the SDK's state JSON: flatten actions and name what each one does.

azure-functions-durable 1.x returns *every* action scheduled since the execution began, nested in
WhenAll/WhenAny compounds, without task ids. Flattening depth-first gives the order in which the
SDK numbered its tasks, which is how the host assigns the same ids (protocol note §3.4).
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any


class ActionType(IntEnum):
    CallActivity = 0
    CallActivityWithRetry = 1
    CallSubOrchestrator = 2
    CallSubOrchestratorWithRetry = 3
    ContinueAsNew = 4
    CreateTimer = 5
    WaitForExternalEvent = 6
    CallEntity = 7
    CallHttp = 8
    SignalEntity = 9
    WhenAny = 11
    WhenAll = 12


# Actions that consume a task id from the SDK's sequence counter.
ID_CONSUMING = frozenset({0, 1, 2, 3, 5, 7, 8, 9})
ACTIVITY_TYPES = frozenset({ActionType.CallActivity, ActionType.CallActivityWithRetry})
SUBORCHESTRATION_TYPES = frozenset(
    {ActionType.CallSubOrchestrator, ActionType.CallSubOrchestratorWithRetry}
)
RETRY_TYPES = frozenset({ActionType.CallActivityWithRetry, ActionType.CallSubOrchestratorWithRetry})


def flatten_actions(actions: Any) -> list[dict[str, Any]]:
    """Depth-first list of atomic actions (compounds expanded) from the state's `actions`.

    Iterative, keeping document order: a fan-out of thousands must not hit the recursion limit.
    """
    flat: list[dict[str, Any]] = []
    pending: list[Any] = [actions]
    while pending:
        item = pending.pop()
        if isinstance(item, list):
            pending.extend(reversed(item))
        elif isinstance(item, dict):
            if item.get("actionType") in (ActionType.WhenAll, ActionType.WhenAny):
                pending.extend(reversed(item.get("compoundActions") or []))
            else:
                flat.append(item)
    return flat
