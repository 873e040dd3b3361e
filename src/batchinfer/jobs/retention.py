"""The one retention sweep: finished instances older than the retention period are removed.

Why one: document jobs and anomaly detections both expire after
`BATCHINFER_STATUS_RETENTION_HOURS`, and two sweeps had come to disagree on whether a
`Canceled` instance is finished. It is (`RuntimeStatus.terminal`), here for both. The sweep
runs with ordinary API calls (no timer trigger to deploy), at most once per interval per kind.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone

from batchinfer.orchestration.client import DurableClient, InstanceStatus
from batchinfer.wiring import Services

__all__ = ["SWEEP_INTERVAL_SECONDS", "expired", "sweep_expired"]

SWEEP_INTERVAL_SECONDS = 600


def expired(status: InstanceStatus, cutoff: datetime) -> bool:
    """Finished (`Canceled` included) and last updated before the cutoff."""
    return status.terminal and status.updated < cutoff


async def sweep_expired(
    client: DurableClient,
    services: Services,
    *,
    instance_prefix: str,
    orchestration: str | None,
    remove: Callable[[InstanceStatus], Awaitable[None]],
) -> int:
    """`remove` every expired instance under the prefix (of `orchestration`, when given);
    at most once per `SWEEP_INTERVAL_SECONDS` per prefix. Returns how many were removed."""
    if not services.sweep_due(instance_prefix, SWEEP_INTERVAL_SECONDS):
        return 0
    cutoff = datetime.now(timezone.utc) - timedelta(hours=services.settings.status_retention_hours)
    removed = 0
    for status in await client.list_statuses(instance_id_prefix=instance_prefix):
        if orchestration is not None and status.name.lower() != orchestration:
            continue
        if expired(status, cutoff):
            await remove(status)
            removed += 1
    return removed
