"""Orchestrations ready for an episode, served round-robin between orchestration trees.

One FIFO of ready instances let a job that fans out into many sub-orchestrations hold up every
orchestration started after it: each of its 100 children queued an episode first, so a
one-activity orchestration waited for all of them twice (to start, then to finish), ~12 s
behind a 100 x 1,000 fan-out. Here each group (the engine groups an orchestration with its
sub-orchestrations) has its own FIFO, and the workers take from the groups in turn: a small job
waits for at most one episode of each other group.

Lives on the event loop: `put_nowait` and `get` are called from the loop thread only.
"""

from __future__ import annotations

import asyncio
from collections import deque


class ReadyQueue:
    """`asyncio.Queue`-like (put_nowait / await get) with one FIFO line per group, in turn."""

    def __init__(self) -> None:
        self._lines: dict[str, deque[str]] = {}  # group -> ready instance ids (never empty)
        self._ring: deque[str] = deque()  # groups with a line, in turn
        self._tokens: asyncio.Queue[None] = asyncio.Queue()  # one per queued instance id

    def put_nowait(self, group: str, instance_id: str) -> None:
        line = self._lines.get(group)
        if line is None:
            line = self._lines[group] = deque()
            self._ring.append(group)
        line.append(instance_id)
        self._tokens.put_nowait(None)

    async def get(self) -> str:
        """The next ready instance: the head of the next group's line."""
        await self._tokens.get()  # each token stands for one queued id: the ring is not empty
        group = self._ring.popleft()
        line = self._lines[group]
        instance_id = line.popleft()
        if line:
            self._ring.append(group)
        else:
            del self._lines[group]
        return instance_id

    def qsize(self) -> int:
        return self._tokens.qsize()
