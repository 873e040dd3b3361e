"""Durable histories of ended woodwide jobs are purged after the retention period, once per
interval; running ones and recent ones are kept."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from enum import Enum
from typing import Any

from batchinfer.api.woodwide.jobs import sweep_histories


class Runtime(Enum):
    COMPLETED = "Completed"
    RUNNING = "Running"
    TERMINATED = "Terminated"


@dataclass
class Status:
    instance_id: str
    runtime_status: Runtime
    last_updated_time: datetime


@dataclass
class FakeClient:
    statuses: list[Status]
    purged: list[str] = field(default_factory=list)

    async def get_status_by(self, instance_id_prefix: str) -> list[Status]:
        return [s for s in self.statuses if s.instance_id.startswith(instance_id_prefix)]

    async def purge_instance_history(self, instance_id: str) -> None:
        self.purged.append(instance_id)


@dataclass
class FakeSettings:
    status_retention_hours: int = 24


@dataclass
class FakeServices:
    settings: FakeSettings = field(default_factory=FakeSettings)
    due: list[bool] = field(default_factory=lambda: [True, False])

    def sweep_due(self, kind: str, interval: float) -> bool:
        assert kind == "ww:" and interval > 0
        return self.due.pop(0)


def test_only_old_ended_histories_are_purged_once_per_interval() -> None:
    old = datetime.now(timezone.utc) - timedelta(hours=30)
    recent = datetime.now(timezone.utc) - timedelta(hours=1)
    client = FakeClient(
        [
            Status("ww:job_a", Runtime.COMPLETED, old),
            Status("ww:job_b", Runtime.TERMINATED, old.replace(tzinfo=None)),
            Status("ww:job_c", Runtime.RUNNING, old),
            Status("ww:job_d", Runtime.COMPLETED, recent),
            Status("mvaddetect:x", Runtime.COMPLETED, old),
        ]
    )
    services: Any = FakeServices()
    assert asyncio.run(sweep_histories(client, services)) == 2
    assert client.purged == ["ww:job_a", "ww:job_b"]
    assert asyncio.run(sweep_histories(client, services)) == 0  # not due again yet
