"""The durable engine: episodes, task ids, retries, timers, sub-orchestrations, recovery.

It plays the part of the Durable extension plus DTFx for azure-functions-durable 1.x:

* an orchestration advances in *episodes*: all inbox events that arrived since the last one are
  appended to its history and the SDK's own `handle()` replays it; completions that arrive while
  an episode runs wait for the next, and the next waits a few times the last episode's duration
  unless everything the orchestration waits for has reported (pacing), so a fan-out of 100,000
  activities is replayed a handful of times, not 100,000 times;
* the history stays in SQLite between episodes (read back as one string per episode), and so
  does the text of pending inbox events: memory holds only their seqs (`PendingInbox`), and an
  episode reads its events back in one query, so a running instance's memory grows neither
  with its history nor with the completions waiting for its next episode;
* the SDK's state JSON carries no task ids, so the engine numbers new actions exactly as the SDK
  does and emulates DTFx retries (at most one retry-related event per episode, delivered last);
* each episode commits atomically to SQLite (`DurableStore`) before any work it scheduled starts,
  so a killed host resumes every orchestration, re-runs activities whose completion was not
  recorded, and never applies a completion twice.

All mutable state is touched only on the event-loop thread; replays and sync activities run in
thread pools and hand their results back to the loop.
"""

from __future__ import annotations

import asyncio
import json
import logging
import traceback
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from funchost.app_index import FunctionSpec
from funchost.durable import history as h
from funchost.durable import sdk_speedups
from funchost.durable.actions import (
    ACTIVITY_TYPES,
    ID_CONSUMING,
    RETRY_TYPES,
    SUBORCHESTRATION_TYPES,
    ActionType,
    flatten_actions,
)
from funchost.durable.activities import ActivityRunner, Completion
from funchost.durable.entities import EntityDispatcher, parse_entity_instance
from funchost.durable.inbox import PendingInbox
from funchost.durable.ready_queue import ReadyQueue
from funchost.durable.store import (
    DurableStore,
    EntityOp,
    InboxEvent,
    InstanceRow,
    StoreError,
    WorkItem,
)
from funchost.durable.versioning import version_mismatch
from funchost.invoker import Invoker
from funchost.settings import DurableOptions

log = logging.getLogger("funchost.durable")

OUT_OF_PROC_MARKER = "\n\n$OutOfProcData$:"
TERMINAL = frozenset({"Completed", "Failed", "Terminated", "Canceled"})
ACTIVE = frozenset({"Pending", "Running", "Suspended", "ContinuedAsNew"})
HTTP_ACTIVITY = "BuiltIn::HttpActivity"
ACTIVITY_DRAIN_SECONDS = 30.0  # how long a shutdown waits for running activities
UNKNOWN_ACTION = "?"  # the signature of an action recorded before signatures were kept
RETENTION_SWEEP_SECONDS = 600.0  # how often finished instances past retention are purged
STORE_RETRY_SECONDS = 1.0  # after a failed commit, how long before the work is tried again
STORE_GIVE_UP_AFTER = 30  # consecutive failed writes of completions before the host stops
# Episode pacing: an instance whose last episode took t seconds (replay + bookkeeping, both
# growing with its history) waits EPISODE_GAP_FACTOR * t (at most EPISODE_GAP_MAX) before the
# next, unless every task it waits for has already reported. Each completion then costs a bounded
# share of replay, and a huge fan-out takes a few large episodes instead of one per moment.
EPISODE_GAP_FACTOR = 3.0
EPISODE_GAP_MAX = 10.0


class DurableError(Exception):
    """A management request the engine refuses; `status` is the HTTP status to answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class EngineState:
    """Per-execution bookkeeping the SDK does not send back: ids, open tasks, retries."""

    next_id: int = 0
    action_count: int = 0
    open_tasks: dict[int, str] = field(default_factory=dict)  # id -> activity|sub|timer|http
    retry_attempts: dict[int, list[int]] = field(default_factory=dict)  # id -> [pos, attempt]
    retry_timers: dict[int, list[int]] = field(default_factory=dict)  # timer id -> [pos, attempt]
    timer_positions: dict[int, int] = field(default_factory=dict)  # timer id -> action position
    action_sigs: list[str] = field(default_factory=list)  # what each action position scheduled
    episodes: int = 0  # replays of this execution so far (reported when it ends)

    def to_json(self) -> dict[str, Any]:
        """The compact stored form: runs instead of one entry per task or action.

        A fan-out of 100,000 activities has 100,000 open tasks and action positions; stored one
        by one they made every commit and every status read (de)serialise megabytes. Runs of
        consecutive task ids of one kind, and of positions with one signature, are a few entries.
        """
        return {
            "next_id": self.next_id,
            "action_count": self.action_count,
            "open_runs": _id_runs(self.open_tasks),
            "retry_attempts": self.retry_attempts,
            "retry_timers": self.retry_timers,
            "timer_positions": self.timer_positions,
            "action_runs": _value_runs(self.action_sigs),
            "episodes": self.episodes,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EngineState:
        def ints(d: dict[str, Any]) -> dict[int, Any]:
            return {int(k): v for k, v in (d or {}).items()}

        if "open_runs" in data:
            open_tasks = {
                task_id: str(kind)
                for start, end, kind in data["open_runs"]
                for task_id in range(int(start), int(end))
            }
        else:  # a state stored before runs were used
            open_tasks = ints(data.get("open_tasks", {}))
        if "action_runs" in data:
            sigs = [_interned(str(sig)) for sig, count in data["action_runs"] for _ in range(count)]
        elif "action_sigs" in data:
            sigs = [_interned(str(sig)) for sig in data["action_sigs"]]
        else:  # a state saved before signatures were kept: positions so far are not checked
            sigs = [UNKNOWN_ACTION] * int(data.get("action_count", 0))
        return cls(
            next_id=int(data.get("next_id", 0)),
            action_count=int(data.get("action_count", 0)),
            open_tasks=open_tasks,
            retry_attempts=ints(data.get("retry_attempts", {})),
            retry_timers=ints(data.get("retry_timers", {})),
            timer_positions=ints(data.get("timer_positions", {})),
            action_sigs=sigs,
            episodes=int(data.get("episodes", 0)),
        )


LEGACY_STATE_KEYS = ("open_tasks", "action_sigs")  # replaced by their run forms


def _id_runs(tasks: dict[int, str]) -> list[list[Any]]:
    """[[first id, end id (exclusive), kind], ...] for consecutive ids of the same kind."""
    runs: list[list[Any]] = []
    for task_id in sorted(tasks):
        kind = tasks[task_id]
        if runs and runs[-1][1] == task_id and runs[-1][2] == kind:
            runs[-1][1] = task_id + 1
        else:
            runs.append([task_id, task_id + 1, kind])
    return runs


def _value_runs(values: list[str]) -> list[list[Any]]:
    """[[value, count], ...] for repeated neighbours (a fan-out's positions share one)."""
    runs: list[list[Any]] = []
    for value in values:
        if runs and runs[-1][0] == value:
            runs[-1][1] += 1
        else:
            runs.append([value, 1])
    return runs


_INTERNED: dict[str, str] = {}


def _interned(signature: str) -> str:
    """One string object per distinct signature, however many positions share it."""
    if len(_INTERNED) > 10_000:
        _INTERNED.clear()
    return _INTERNED.setdefault(signature, signature)


@dataclass
class ActiveInstance:
    """An orchestration that is not terminal, kept in memory while the host runs."""

    row: InstanceRow
    history_len: int  # events stored for this execution; the events themselves stay in SQLite
    state: EngineState
    inbox: PendingInbox = field(default_factory=PendingInbox)  # seqs only; texts in the store
    in_flight: bool = False
    queued: bool = False
    refused: bool = False  # its version is not one this worker runs (logged once)
    not_before: float = 0.0  # loop time before which its next episode is held back (pacing)
    wake_armed: bool = False  # a timer will enqueue it at `not_before`
    tree: str | None = None  # its root orchestration's id, once asked (`DurableEngine._tree_of`)


@dataclass
class EpisodeOutcome:
    """What one replay produced: the SDK's state, or its failure message."""

    state: dict[str, Any] | None
    error: str | None
    traceback: str | None = None  # the orchestrator's own, when its code raised


@dataclass
class _Commit:
    """Everything one episode writes, applied to the store in one transaction."""

    history: list[dict[str, Any] | str] = field(default_factory=list)  # str: inbox JSON text
    consumed: list[int] = field(default_factory=list)
    work: list[tuple[int, str, str, str | None]] = field(default_factory=list)  # id, kind, name, in
    timers: list[tuple[int, str]] = field(default_factory=list)
    cancel_timers: list[int] = field(default_factory=list)
    children: list[tuple[InstanceRow, dict[str, Any]]] = field(default_factory=list)
    outbox: list[tuple[str, str | None, dict[str, Any]]] = field(default_factory=list)
    entity_ops: list[EntityOp] = field(default_factory=list)


def _run_handle(handle: Callable[[str], str], context_json: str) -> EpisodeOutcome:
    """Replay in a worker thread; translate the SDK's failure convention into an outcome."""
    try:
        return EpisodeOutcome(json.loads(handle(context_json)), None)
    except Exception as exc:  # the SDK raises with the state appended to the message
        message = str(exc)
        if OUT_OF_PROC_MARKER in message:
            _, _, data = message.partition(OUT_OF_PROC_MARKER)
            cause = exc.__cause__  # the SDK re-raises `from` the orchestrator's exception
            trace = "".join(traceback.format_exception(cause)).rstrip() if cause else None
            try:
                state = json.loads(data)
                return EpisodeOutcome(state, str(state.get("error") or message), trace)
            except ValueError:
                pass
        return EpisodeOutcome(
            None,
            f"{type(exc).__name__}: {message}",
            "".join(traceback.format_exception(exc)).rstrip(),
        )


_SIGNATURES: dict[tuple[Any, str], str] = {}


def _signature(action: dict[str, Any]) -> str:
    """What an action position schedules: its type and target, as nondeterminism checks see it.

    Cached per (type, target): every episode of a fan-out checks every position, and the same
    few signatures repeat (one string object each, so most comparisons are identity checks).
    """
    kind: Any = action.get("actionType")  # JSON from the SDK: an int, or anything if corrupt
    if kind in (ActionType.CallEntity, ActionType.SignalEntity):
        target = f"{action.get('instanceId')}:{action.get('operation')}"
    elif kind == ActionType.WaitForExternalEvent:
        target = ""  # DTFx does not check event names; only the position's kind matters
    else:
        target = str(action.get("functionName") or "")
    key = (kind if isinstance(kind, (int, str)) else repr(kind), target)
    cached = _SIGNATURES.get(key)
    if cached is not None:
        return cached
    try:
        kind_name = ActionType(kind).name
    except ValueError:
        kind_name = str(kind)
    if len(_SIGNATURES) > 10_000:
        _SIGNATURES.clear()
    signature = _SIGNATURES[key] = _interned(f"{kind_name}|{target}")
    return signature


def _same_action(expected: str, actual: str) -> bool:
    return expected.split("|")[0] == actual.split("|")[0] and (
        expected.split("|", 1)[1].lower() == actual.split("|", 1)[1].lower()
    )


def _describe(signature: str) -> str:
    kind, _, target = signature.partition("|")
    return f"{kind} '{target}'" if target else kind


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


_UNPLAYED = '"IsPlayed":false'
_PLAYED = '"IsPlayed":true'


def _played(event: dict[str, Any] | str) -> str:
    """The stored form of an event: `IsPlayed: true` (the SDK replays it as past).

    Events are built by `history.event`, whose third key is IsPlayed, and inbox text was
    written by `_dumps` from such a dict: the flag is flipped in the text (no dict copy), at
    its place near the start, before any event data.
    """
    text = event if isinstance(event, str) else _dumps(event)
    if text.startswith('{"EventType":') and text.find(_PLAYED, 0, 80) >= 0:
        return text  # already in its stored form
    at = text.find(_UNPLAYED, 0, 80)
    if text.startswith('{"EventType":') and at >= 0:
        return f'{text[:at]}"IsPlayed":true{text[at + len(_UNPLAYED) :]}'
    parsed = json.loads(text) if isinstance(event, str) else event
    return _dumps({**parsed, "IsPlayed": True})


def context_input_for(raw_input: str | None) -> Any:
    """The context `input` the extension sends: the parsed RawInput value.

    For SDK-started instances that value is a JSON string the SDK decodes again. A non-Python
    client posting a bare array or number would crash the SDK (`df_loads(list)`), so for those
    the raw text is passed instead, which the SDK decodes to the same value.
    """
    if raw_input is None or raw_input == "":
        return None
    try:
        value = json.loads(raw_input)
    except ValueError:
        return raw_input
    return value if isinstance(value, str) or value is None else raw_input


class DurableEngine:
    """Runs orchestrations and activities of one app against one SQLite store."""

    def __init__(
        self,
        *,
        store: DurableStore,
        functions: list[FunctionSpec],
        invoker: Invoker,
        max_activities: int = 10,
        max_orchestrators: int = 4,
        on_fatal: Callable[[str], None] | None = None,
        options: DurableOptions | None = None,
    ) -> None:
        self.store = store
        self.options = options or DurableOptions()
        self._fatal_hook = on_fatal
        self._completion_failures = 0
        self._invoker = invoker
        self._orchestrators = {
            s.durable_name.lower(): s
            for s in functions
            if s.trigger_type == "orchestrationTrigger" and s.durable_name
        }
        self._activities = {
            s.durable_name.lower(): s
            for s in functions
            if s.trigger_type == "activityTrigger" and s.durable_name
        }
        self._max_activities = max(1, max_activities)
        self._max_orchestrators = max(1, max_orchestrators)
        self._runner = ActivityRunner(
            activities=self._activities,
            invoker=invoker,
            size=self._max_activities,
            is_live=lambda item: item.instance_id in self._active,
            on_batch=self._record_completions,
            timeout=self.options.function_timeout,
            load_page=self.store.load_work_page,
            # a file store pages work in on a read connection of its own, off the loop
            read_page=self.store.read_work_page if self.store.concurrent_reads else None,
            group_of=self._tree_of_id,
        )
        self._replay_pool = ThreadPoolExecutor(self._max_orchestrators, "replay")
        self.entities = EntityDispatcher(
            store=store,
            functions=functions,
            pool=self._replay_pool,
            deliver=self._deliver_in_memory,
            notify=self._notify,
            accepts=self._accepts,
        )
        self._active: dict[str, ActiveInstance] = {}
        self._ready: ReadyQueue | None = None
        self._timers: dict[tuple[str, str, int], asyncio.TimerHandle] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self.changed = asyncio.Event()

    # ================================================================== lifecycle & recovery
    async def start(self) -> None:
        """Load every non-terminal instance, pending work and timers, then start workers."""
        sdk_speedups.install()
        self._loop = asyncio.get_running_loop()
        self._ready = ReadyQueue()
        self.changed = asyncio.Event()
        with self.store.transaction():
            dropped = self.store.delete_orphan_inbox()
        if dropped:
            log.info("Dropped %d message(s) addressed to finished or purged instances", dropped)
        for row in self.store.instances_with_status(ACTIVE):
            self._active[row.instance_id] = ActiveInstance(
                row=row,
                history_len=self.store.history_length(row.instance_id),
                state=EngineState.from_json(row.engine_state),
            )
        for seq, instance_id, execution_id in self.store.inbox_index():  # no event text
            inst = self._active.get(instance_id)
            if inst is not None:
                inst.inbox.add(seq, execution_id)
        for instance_id in self.store.work_instances():  # first pages only: bounded memory
            self._runner.submit_many(
                self.store.load_work_page(instance_id, 0, self._runner.window + 1)
            )
        for instance_id, execution_id, timer_id, fire_at in self.store.load_timers():
            self._arm_timer(instance_id, execution_id, timer_id, fire_at)
        for inst in self._active.values():
            if inst.inbox:
                self._enqueue(inst)
        recovered = len(self._active)
        if recovered:
            log.info("Recovered %d in-flight orchestration(s) from the durable store", recovered)
        self._tasks = [
            asyncio.create_task(self._orchestration_worker())
            for _ in range(self._max_orchestrators)
        ]
        if self.options.retention_hours is not None:
            self._tasks.append(asyncio.create_task(self._retention_loop()))
        self._runner.start(self._loop)
        self.entities.start()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass
        self._tasks = []
        await self.entities.stop()
        await self._runner.stop(ACTIVITY_DRAIN_SECONDS)
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        self._replay_pool.shutdown(wait=False, cancel_futures=True)

    async def _retention_loop(self) -> None:
        while True:
            try:
                self.sweep_retention()
            except StoreError as exc:
                log.error(
                    "Retention sweep failed (%s: %s); trying again later", type(exc).__name__, exc
                )
            await asyncio.sleep(RETENTION_SWEEP_SECONDS)

    def sweep_retention(self, now: datetime | None = None) -> int:
        """Purge instances that finished more than the retention period ago (opt-in)."""
        hours = self.options.retention_hours
        if hours is None:
            return 0
        cutoff = h.iso_timestamp((now or h.utcnow()) - timedelta(hours=hours))
        with self.store.transaction():
            purged = self.store.purge_finished_before(cutoff)
        if purged:
            self.store.reclaim_space()
            log.info(
                "Retention: purged %d orchestration(s) that finished before %s", purged, cutoff
            )
        return purged

    # ======================================================================= public operations
    def orchestrator_names(self) -> list[str]:
        return [s.durable_name or s.name for s in self._orchestrators.values()]

    def start_orchestration(
        self,
        name: str,
        instance_id: str | None,
        raw_input: str | None,
        *,
        parent: tuple[str, str, int] | None = None,
        version: str | None = None,
    ) -> str:
        """Create an instance (or replace a terminal one with the same id) and queue it."""
        spec = self._orchestrators.get(name.lower())
        if spec is None:
            raise DurableError(
                400,
                f"The function '{name}' doesn't exist, is disabled, or is not an orchestrator "
                "function. Additional info: the app has these orchestrator functions: "
                f"{', '.join(sorted(self.orchestrator_names())) or 'none'}.",
            )
        instance_id = instance_id or uuid.uuid4().hex
        with self.store.transaction():
            row, started = self._new_instance_row(
                spec,
                instance_id,
                raw_input,
                parent,
                version=version if version is not None else self.options.default_version,
            )
            existing = self.store.get_instance(instance_id)
            if existing is not None and existing.status not in TERMINAL:
                raise DurableError(
                    409,
                    f"An instance with ID '{instance_id}' already exists and is {existing.status}.",
                )
            if existing is not None:
                self.store.delete_instance(instance_id)
            self.store.upsert_instance(row)
            seq = self.store.add_inbox_event(instance_id, row.execution_id, started)
        inst = ActiveInstance(row=row, history_len=0, state=EngineState())
        inst.inbox.add(seq, row.execution_id)
        self._active[instance_id] = inst
        self._enqueue(inst)
        self._notify()
        return instance_id

    def _new_instance_row(
        self,
        spec: FunctionSpec,
        instance_id: str,
        raw_input: str | None,
        parent: tuple[str, str, int] | None,
        *,
        version: str | None = None,
    ) -> tuple[InstanceRow, dict[str, Any]]:
        now = h.utcnow()
        execution_id = uuid.uuid4().hex
        row = InstanceRow(
            instance_id=instance_id,
            name=spec.durable_name or spec.name,
            execution_id=execution_id,
            status="Pending",
            raw_input=raw_input,
            output=None,
            custom_status=None,
            created_time=h.iso_timestamp(now),
            last_updated_time=h.iso_timestamp(now),
            parent_instance_id=parent[0] if parent else None,
            parent_execution_id=parent[1] if parent else None,
            parent_task_id=parent[2] if parent else None,
            engine_state={"version": version} if version is not None else {},
        )
        parent_info = None
        if parent:
            parent_info = {
                "OrchestrationInstance": {"InstanceId": parent[0], "ExecutionId": parent[1]},
                "TaskScheduleId": parent[2],
            }
        started = h.execution_started(
            now,
            name=row.name,
            context_input=context_input_for(raw_input),
            instance_id=instance_id,
            execution_id=execution_id,
            parent=parent_info,
            version=version,
        )
        return row, started

    def get_instance(self, instance_id: str) -> InstanceRow | None:
        return self.store.get_instance(instance_id)

    def raise_event(self, instance_id: str, name: str, data: str | None) -> None:
        inst = self._require_active(instance_id, gone_status=410)
        event = h.event_raised(h.utcnow(), name, data)
        # Not bound to an execution (as in Azure): one raised while the instance continues as
        # new goes to the new generation.
        with self.store.transaction():
            seq = self.store.add_inbox_event(instance_id, None, event)
        inst.inbox.add(seq, None)
        self._enqueue(inst)

    def terminate(self, instance_id: str, reason: str) -> None:
        inst = self._require_active(instance_id, gone_status=410)
        self._guarded(inst, lambda: self._finish(inst, "Terminated", _dumps(reason), reason=reason))

    def suspend(self, instance_id: str, reason: str) -> None:
        inst = self._require_active(instance_id, gone_status=410)
        if inst.row.status == "Suspended":
            return
        inst.row.engine_state["resume_status"] = inst.row.status
        self._guarded(
            inst,
            lambda: self._set_status(
                inst,
                "Suspended",
                h.event(h.EventType.ExecutionSuspended, h.utcnow(), Reason=reason),
            ),
        )

    def resume(self, instance_id: str, reason: str) -> None:
        inst = self._require_active(instance_id, gone_status=410)
        if inst.row.status != "Suspended":
            return
        self._guarded(
            inst,
            lambda: self._set_status(
                inst,
                inst.row.engine_state.pop("resume_status", "Running"),
                h.event(h.EventType.ExecutionResumed, h.utcnow(), Reason=reason),
            ),
        )
        if inst.inbox:
            self._enqueue(inst)

    def purge(self, instance_id: str) -> int:
        row = self.store.get_instance(instance_id)
        if row is None:
            return 0
        if row.status not in TERMINAL:
            raise DurableError(
                400, f"Instance '{instance_id}' is {row.status}; terminate it before purging."
            )
        with self.store.transaction():
            self.store.delete_instance(instance_id)
        self._notify()
        return 1

    def restart(self, instance_id: str, new_instance_id: bool) -> str:
        row = self.store.get_instance(instance_id)
        if row is None:
            raise DurableError(404, f"No instance with ID '{instance_id}' found.")
        if row.status not in TERMINAL and not new_instance_id:
            raise DurableError(
                409,
                f"Instance '{instance_id}' is {row.status}; it can restart under its own "
                "ID only once it has finished.",
            )
        target = uuid.uuid4().hex if new_instance_id else instance_id
        return self.start_orchestration(
            row.name, target, row.raw_input, version=row.engine_state.get("version")
        )

    def history_of(self, instance_id: str) -> list[dict[str, Any]]:
        return [json.loads(e) for e in self.store.load_history(instance_id)]

    def _require_active(self, instance_id: str, gone_status: int) -> ActiveInstance:
        inst = self._active.get(instance_id)
        if inst is not None:
            return inst
        if self.store.get_instance(instance_id) is None:
            raise DurableError(404, f"No instance with ID '{instance_id}' found.")
        raise DurableError(
            gone_status, f"Instance with ID {instance_id} is gone: either completed or failed"
        )

    def _on_fatal(self, message: str) -> None:
        log.critical("Durable engine stopping: %s", message)
        if self._fatal_hook is not None:
            self._fatal_hook(message)
        else:
            raise SystemExit(f"funchost: {message}")

    def _notify(self) -> None:
        self.changed.set()
        self.changed = asyncio.Event()

    # =============================================================================== episodes
    def _enqueue(self, inst: ActiveInstance) -> None:
        if inst.queued or inst.in_flight or inst.row.status == "Suspended":
            return
        if self._held_back(inst):
            return
        inst.queued = True
        assert self._ready is not None
        self._ready.put_nowait(self._tree_of(inst), inst.row.instance_id)

    def _tree_of(self, inst: ActiveInstance) -> str:
        """The id of the root of `inst`'s orchestration tree (itself unless it is a running
        sub-orchestration): episodes and activities are served round-robin between trees, so
        a job's sub-orchestrations together get one turn, like a job without them."""
        if inst.tree is None:
            parent_id = inst.row.parent_instance_id
            parent = self._active.get(parent_id) if parent_id else None
            inst.tree = self._tree_of(parent) if parent is not None else inst.row.instance_id
        return inst.tree

    def _tree_of_id(self, instance_id: str) -> str:
        """`_tree_of` by id, for the activity queue (any thread; an unknown id is its own)."""
        inst = self._active.get(instance_id)
        return self._tree_of(inst) if inst is not None else instance_id

    def _held_back(self, inst: ActiveInstance) -> bool:
        """Whether the next episode waits for its pacing gap (a wake-up is then armed).

        Not when the inbox already holds as many events as the instance has open tasks: there
        is nothing more to batch (a sequence of single activities, a fan-out's last completion,
        a timer, an external event to an instance waiting on nothing else all run at once).
        """
        if self._loop is None or inst.not_before <= self._loop.time():
            return False
        if len(inst.inbox) >= len(inst.state.open_tasks):
            return False
        if not inst.wake_armed:
            inst.wake_armed = True
            self._loop.call_at(inst.not_before, self._wake, inst)
        return True

    def _wake(self, inst: ActiveInstance) -> None:
        inst.wake_armed = False
        if self._active.get(inst.row.instance_id) is inst and inst.inbox:
            self._enqueue(inst)

    async def _orchestration_worker(self) -> None:
        assert self._ready is not None
        while True:
            instance_id = await self._ready.get()
            inst = self._active.get(instance_id)
            if inst is None:
                continue
            inst.queued = False
            if inst.in_flight or inst.row.status == "Suspended" or not inst.inbox:
                continue
            inst.in_flight = True
            retry_later = False
            try:
                if self._version_refused(inst):
                    continue
                assert self._loop is not None
                started = self._loop.time()
                await self._run_episode(inst)
                took = self._loop.time() - started
                inst.not_before = self._loop.time() + min(
                    EPISODE_GAP_MAX, EPISODE_GAP_FACTOR * took
                )
            except StoreError as exc:
                retry_later = self._store_failed(inst, exc)
            except Exception:
                log.exception("Episode of orchestration %s failed inside the host", instance_id)
                try:
                    self._finish(
                        inst,
                        "Failed",
                        _dumps(
                            f"Orchestrator function '{inst.row.name}' failed: the host could not "
                            f"run it: {traceback.format_exc(limit=3)}"
                        ),
                    )
                except StoreError as exc:
                    retry_later = self._store_failed(inst, exc)
            finally:
                inst.in_flight = False
            if retry_later:
                assert self._loop is not None
                self._loop.call_later(STORE_RETRY_SECONDS, self._enqueue, inst)
            elif instance_id in self._active and inst.inbox:
                self._enqueue(inst)

    def _version_refused(self, inst: ActiveInstance) -> bool:
        """Apply versionMatchStrategy/versionFailureStrategy before running an episode."""
        options = self.options
        if options.default_version is None:
            return False
        problem = version_mismatch(
            inst.row.engine_state.get("version"), options.default_version, options.version_match
        )
        if problem is None:
            return False
        if options.version_failure.lower() == "fail":
            log.error(
                "Orchestration '%s' (%s) failed: %s", inst.row.name, inst.row.instance_id, problem
            )
            self._finish(inst, "Failed", _dumps(problem))
        elif not inst.refused:
            inst.refused = True
            log.warning(
                "Orchestration '%s' (%s) left for a compatible worker: %s",
                inst.row.name,
                inst.row.instance_id,
                problem,
            )
        return True

    def _store_failed(self, inst: ActiveInstance, exc: Exception) -> bool:
        """A commit failed: drop the in-memory state the store does not have, read it back.

        Returns True when the instance should run again later; a store that cannot even be
        read stops the host (`on_fatal`), since going on would act on state nobody recorded.
        """
        instance_id = inst.row.instance_id
        log.error(
            "Could not record an episode of orchestration %s in the durable store (%s: "
            "%s); reloading it from the store and retrying in %.0fs",
            instance_id,
            type(exc).__name__,
            exc,
            STORE_RETRY_SECONDS,
        )
        try:
            self._reload(inst)
        except StoreError as again:
            self._on_fatal(
                f"the durable store is unusable ({type(again).__name__}: {again}); "
                "stopping so no work runs on state it has not recorded"
            )
            return False
        return instance_id in self._active

    def _reload(self, inst: ActiveInstance) -> None:
        """Replace an instance's in-memory state with what the store holds."""
        instance_id = inst.row.instance_id
        row = self.store.get_instance(instance_id)
        if row is None or row.status in TERMINAL:
            self._active.pop(instance_id, None)
            return
        inst.row = row
        inst.history_len = self.store.history_length(instance_id)
        inst.state = EngineState.from_json(row.engine_state)
        inst.inbox = PendingInbox(self.store.inbox_index_for(instance_id))
        self._active[instance_id] = inst

    def _guarded(self, inst: ActiveInstance, change: Callable[[], None]) -> None:
        """Run a management change; if the store refuses it, reload and answer 503."""
        try:
            change()
        except StoreError as exc:
            self._store_failed(inst, exc)
            raise DurableError(
                503, f"The durable store could not record the change: {exc}"
            ) from exc

    def _select_events(
        self, inst: ActiveInstance
    ) -> tuple[list[str], list[int], str | None, dict[str, Any] | None]:
        """Pick this episode's events: valid ones in order, stopping after one retry event.

        Returns the events (as the store holds them: JSON text), the inbox seqs consumed
        (delivered or dropped), and the kind of the trailing retry-related event ('failure' or
        'timer') with that event, if any.
        """
        events: list[str] = []
        consumed: list[int] = []
        retry_kind: str | None = None
        trigger: dict[str, Any] | None = None
        state = inst.state
        for seq, execution_id, text in self._pending_events(inst):
            consumed.append(seq)
            if execution_id not in (None, inst.row.execution_id):
                continue  # belongs to an execution that continued as new
            if text is None:
                continue  # not in the store (the store is the truth): nothing to deliver
            event = json.loads(text)
            kind = event["EventType"]
            if kind in (
                h.EventType.TaskCompleted,
                h.EventType.TaskFailed,
                h.EventType.SubOrchestrationInstanceCompleted,
                h.EventType.SubOrchestrationInstanceFailed,
            ):
                task_id = event["TaskScheduledId"]
                if task_id not in state.open_tasks:
                    continue  # a duplicate or stale completion: applying it would stall the SDK
                del state.open_tasks[task_id]
                events.append(text)
                failed = kind in (
                    h.EventType.TaskFailed,
                    h.EventType.SubOrchestrationInstanceFailed,
                )
                if failed and task_id in state.retry_attempts:
                    retry_kind, trigger = "failure", event
                    break
            elif kind == h.EventType.TimerFired:
                timer_id = event["TimerId"]
                if timer_id not in state.open_tasks:
                    continue
                del state.open_tasks[timer_id]
                state.timer_positions.pop(timer_id, None)
                events.append(text)
                if timer_id in state.retry_timers:
                    retry_kind, trigger = "timer", event
                    break
            else:
                events.append(text)
        return events, consumed, retry_kind, trigger

    def _pending_events(self, inst: ActiveInstance) -> Iterator[tuple[int, str | None, str | None]]:
        """The instance's pending events as (seq, execution id, JSON text), in seq order.

        Memory holds their seqs only; the texts are read from the store in one range scan, on
        the episode's path that also reads the history. An event held here but missing from
        the store gets None (it is consumed, not delivered).
        """
        if not inst.inbox:
            return
        rows = self.store.inbox_texts(inst.row.instance_id, *inst.inbox.span())
        at = 0
        for seq, execution_id in inst.inbox:  # both in seq order: one merge pass
            while at < len(rows) and rows[at][0] < seq:
                at += 1
            found = at < len(rows) and rows[at][0] == seq
            yield seq, execution_id, rows[at][1] if found else None

    async def _run_episode(self, inst: ActiveInstance) -> None:
        spec = self._orchestrators.get(inst.row.name.lower())
        events, consumed, retry_kind, trigger = self._select_events(inst)
        if not events:
            self._commit(inst, _Commit(consumed=consumed), persist_state=True)
            return
        if spec is None:
            self._finish(
                inst,
                "Failed",
                _dumps(f"The orchestrator function '{inst.row.name}' no longer exists in the app."),
            )
            return
        now = h.utcnow()
        started = h.event(h.EventType.OrchestratorStarted, now)
        new_events: list[dict[str, Any] | str] = [started, *events]
        # the stored history is read per episode (one string, built by SQLite), not kept in
        # memory between episodes: an idle or waiting instance costs no memory for its history
        stored = self.store.history_json(inst.row.instance_id) if inst.history_len else ""
        context_json = "".join(  # one copy of the (possibly tens of MB of) history text
            [
                '{"history":[',
                stored,
                "," if stored else "",
                ",".join([_dumps(started), *events]),
                '],"instanceId":',
                _dumps(inst.row.instance_id),
                ',"isReplaying":false,"parentInstanceId":',
                _dumps(inst.row.parent_instance_id),
                ',"input":',
                _dumps(context_input_for(inst.row.raw_input)),
                ',"upperSchemaVersion":1,"upperSchemaVersionNew":2}',
            ]
        )
        del stored  # the context holds it; the replay may need the memory
        loop = asyncio.get_running_loop()
        inst.state.episodes += 1
        outcome = await self._invoke_replay(spec, context_json, loop)
        if inst.row.instance_id not in self._active or inst.row.status in TERMINAL:
            return  # terminated while replaying: the termination already committed
        commit = _Commit(history=new_events, consumed=consumed)
        state = outcome.state or {}
        if outcome.state is not None:
            custom = state.get("customStatus")
            inst.row.custom_status = _dumps(custom) if custom is not None else None
        actions = flatten_actions(state.get("actions") or [])
        divergence = self._nondeterminism(inst, actions) if outcome.state is not None else None
        if divergence is not None:
            log.error(
                "Orchestration '%s' (%s) failed: %s",
                inst.row.name,
                inst.row.instance_id,
                divergence,
            )
            self._finish(
                inst,
                "Failed",
                _dumps(f"Orchestrator function '{inst.row.name}' failed: {divergence}"),
                commit=commit,
            )
            return
        # Azure schedules an episode's actions before it looks at completion, so a signal sent
        # in the same episode as `return`, continue-as-new or an exception is still delivered.
        problem = self._schedule_new_actions(inst, actions, commit, now)
        if outcome.error is not None or (problem is None and state.get("isDone")):
            self._complete_final_episode(
                inst, state, outcome.error, actions, commit, outcome.traceback
            )
            return
        if problem is not None:
            self._finish(
                inst,
                "Failed",
                _dumps(f"Orchestrator function '{inst.row.name}' failed: {problem}"),
                commit=commit,
            )
            return
        if retry_kind is not None and trigger is not None:
            self._retry_follow_up(inst, trigger, retry_kind, actions, commit, now)
        self._cancel_timers(inst, actions, commit)
        commit.history.append(h.event(h.EventType.OrchestratorCompleted, h.utcnow()))
        if inst.row.status in ("Pending", "ContinuedAsNew"):
            inst.row.status = "Running"
        self._commit(inst, commit, persist_state=True)

    def _complete_final_episode(
        self,
        inst: ActiveInstance,
        state: dict[str, Any],
        error: str | None,
        actions: list[dict[str, Any]],
        commit: _Commit,
        trace: str | None = None,
    ) -> None:
        """The orchestrator returned, raised or continued as new: end this execution."""
        if error is not None:
            log.error(
                "Orchestration '%s' (%s) failed: %s%s",
                inst.row.name,
                inst.row.instance_id,
                error,
                f"\n{trace}" if trace else "",
            )
            self._finish(
                inst,
                "Failed",
                _dumps(f"Orchestrator function '{inst.row.name}' failed: {error}"),
                commit=commit,
            )
            return
        continue_as_new = next(
            (a for a in actions if a.get("actionType") == ActionType.ContinueAsNew), None
        )
        if continue_as_new is not None:
            self._continue_as_new(inst, continue_as_new, commit)
            return
        output = state.get("output")
        self._finish(
            inst, "Completed", _dumps(output) if output is not None else None, commit=commit
        )

    def _nondeterminism(self, inst: ActiveInstance, actions: list[dict[str, Any]]) -> str | None:
        """Compare the replay's actions with those earlier episodes scheduled, as DTFx does.

        Each action position remembers what it scheduled; a replay that puts another action
        there, or yields fewer actions than were scheduled, means the code changed under a
        running instance, and handing the old result to the new action would be wrong.
        """
        recorded = inst.state.action_sigs
        for position, expected in enumerate(recorded):
            if expected == UNKNOWN_ACTION:
                continue
            if position >= len(actions):
                return (
                    f"Non-Deterministic workflow detected: a previous execution of this "
                    f"orchestration scheduled {_describe(expected)} at action position "
                    f"{position}, but the current replay execution yielded only "
                    f"{len(actions)} action(s). Was a change made to the orchestrator code "
                    "after this instance had already started running?"
                )
            actual = _signature(actions[position])
            if actual is not expected and not _same_action(expected, actual):
                return (
                    f"Non-Deterministic workflow detected: a previous execution of this "
                    f"orchestration scheduled {_describe(expected)} at action position "
                    f"{position}, but the current replay execution scheduled "
                    f"{_describe(actual)} instead. Was a change made to the orchestrator "
                    "code after this instance had already started running?"
                )
        return None

    async def _invoke_replay(
        self, spec: FunctionSpec, context_json: str, loop: asyncio.AbstractEventLoop
    ) -> EpisodeOutcome:
        started = loop.time()
        outcome = await loop.run_in_executor(
            self._replay_pool, _run_handle, spec.func, context_json
        )
        log.debug(
            "Executed 'Functions.%s' (%s, Duration=%.0fms)",
            spec.name,
            "Failed" if outcome.error else "Succeeded",
            (loop.time() - started) * 1000,
        )
        return outcome

    # ============================================================================ scheduling
    def _schedule_new_actions(
        self, inst: ActiveInstance, actions: list[dict[str, Any]], commit: _Commit, now: datetime
    ) -> str | None:
        state = inst.state
        for position in range(state.action_count, len(actions)):
            action = actions[position]
            kind = action.get("actionType")
            state.action_count = position + 1
            state.action_sigs.append(_signature(action))
            if kind not in ID_CONSUMING:
                continue
            task_id = state.next_id
            state.next_id += 1
            problem = self._schedule_action(inst, action, task_id, position, 1, commit, now)
            if problem is not None:
                return problem
        return None

    def _schedule_action(
        self,
        inst: ActiveInstance,
        action: dict[str, Any],
        task_id: int,
        position: int,
        attempt: int,
        commit: _Commit,
        now: datetime,
    ) -> str | None:
        state = inst.state
        kind = action.get("actionType")
        if kind in ACTIVITY_TYPES:
            name = str(action.get("functionName"))
            if name.lower() not in self._activities:
                return (
                    f"The function '{name}' doesn't exist, is disabled, or is not an "
                    "activity function."
                )
            # stored form right away: a fan-out's episode schedules tens of thousands of these
            commit.history.append(
                _played(
                    h.event(
                        h.EventType.TaskScheduled,
                        now,
                        task_id,
                        Name=name,
                        Input=action.get("input"),
                    )
                )
            )
            commit.work.append((task_id, "activity", name, action.get("input")))
            state.open_tasks[task_id] = "activity"
        elif kind in SUBORCHESTRATION_TYPES:
            name = str(action.get("functionName"))
            spec = self._orchestrators.get(name.lower())
            if spec is None:
                return (
                    f"The function '{name}' doesn't exist, is disabled, or is not an "
                    "orchestrator function."
                )
            child_id = action.get("instanceId") or f"{inst.row.execution_id}:{task_id}"
            raw_input = _dumps(action.get("input")) if action.get("input") is not None else None
            commit.history.append(
                h.event(
                    h.EventType.SubOrchestrationInstanceCreated,
                    now,
                    task_id,
                    Name=name,
                    InstanceId=child_id,
                    Input=action.get("input"),
                )
            )
            state.open_tasks[task_id] = "sub"
            existing = self.store.get_instance(child_id)
            if (existing is not None and existing.status not in TERMINAL) or any(
                c[0].instance_id == child_id for c in commit.children
            ):
                commit.outbox.append(
                    (
                        inst.row.instance_id,
                        inst.row.execution_id,
                        h.suborchestration_failed(
                            now,
                            task_id,
                            f"An instance with ID '{child_id}' already exists and is running.",
                            "",
                        ),
                    )
                )
            else:
                version = action.get("version")
                row, started = self._new_instance_row(
                    spec,
                    child_id,
                    raw_input,
                    (inst.row.instance_id, inst.row.execution_id, task_id),
                    version=version if version is not None else self.options.default_version,
                )
                commit.children.append((row, started))
        elif kind == ActionType.CreateTimer:
            fire_at = h.iso_timestamp(h.parse_timestamp(str(action.get("fireAt"))))
            commit.history.append(h.event(h.EventType.TimerCreated, now, task_id, FireAt=fire_at))
            commit.timers.append((task_id, fire_at))
            state.open_tasks[task_id] = "timer"
            state.timer_positions[task_id] = position
        elif kind == ActionType.CallHttp:
            request = action.get("httpRequest") or {}
            commit.history.append(
                h.event(
                    h.EventType.TaskScheduled,
                    now,
                    task_id,
                    Name=HTTP_ACTIVITY,
                    Input=_dumps(request),
                )
            )
            commit.work.append((task_id, "http", HTTP_ACTIVITY, _dumps(request)))
            state.open_tasks[task_id] = "http"
        elif kind in (ActionType.CallEntity, ActionType.SignalEntity):
            target = parse_entity_instance(str(action.get("instanceId") or ""))
            if target is None or not self.entities.known(target[0]):
                return (
                    f"The entity '{action.get('instanceId')}' doesn't exist, is disabled, or "
                    "is not an entity function."
                )
            signal = kind == ActionType.SignalEntity
            request_id = str(
                uuid.uuid5(
                    uuid.NAMESPACE_URL, f"{inst.row.instance_id}/{inst.row.execution_id}/{task_id}"
                )
            )
            payload = action.get("input")
            commit.history.append(
                h.event(
                    h.EventType.EventSent,
                    now,
                    task_id,
                    InstanceId=action.get("instanceId"),
                    Name="op",
                    Input=_dumps(
                        {
                            "id": request_id,
                            "op": action.get("operation"),
                            "signal": signal,
                            "input": payload,
                            "parent": inst.row.instance_id,
                        }
                    ),
                )
            )
            commit.entity_ops.append(
                EntityOp(
                    target[0],
                    target[1],
                    str(action.get("operation")),
                    _dumps(payload) if payload is not None else None,
                    signal,
                    None if signal else inst.row.instance_id,
                    None if signal else inst.row.execution_id,
                    None if signal else request_id,
                )
            )
        else:
            return f"the embedded host does not support action type {kind}."
        if kind in RETRY_TYPES:
            state.retry_attempts[task_id] = [position, attempt]
        return None

    def _retry_follow_up(
        self,
        inst: ActiveInstance,
        trigger: dict[str, Any],
        retry_kind: str,
        actions: list[dict[str, Any]],
        commit: _Commit,
        now: datetime,
    ) -> None:
        """DTFx's retry interceptor: failure → timer; timer → next attempt (or give up)."""
        state = inst.state
        if retry_kind == "failure":
            position, attempt = state.retry_attempts.pop(trigger["TaskScheduledId"])
            options = actions[position].get("retryOptions") or {}
            interval = int(options.get("firstRetryIntervalInMilliseconds") or 0)
            timer_id = state.next_id
            state.next_id += 1
            fire_at = h.iso_timestamp(now + timedelta(milliseconds=interval))
            commit.history.append(h.event(h.EventType.TimerCreated, now, timer_id, FireAt=fire_at))
            commit.timers.append((timer_id, fire_at))
            state.open_tasks[timer_id] = "timer"
            state.retry_timers[timer_id] = [position, attempt]
        else:
            position, attempt = state.retry_timers.pop(trigger["TimerId"])
            action = actions[position]
            options = action.get("retryOptions") or {}
            if attempt >= int(options.get("maxNumberOfAttempts") or 1):
                return  # the SDK raises the last failure now
            task_id = state.next_id
            state.next_id += 1
            # an explicit child instance id is kept for every attempt, as DTFx does
            self._schedule_action(inst, action, task_id, position, attempt + 1, commit, now)

    def _cancel_timers(
        self, inst: ActiveInstance, actions: list[dict[str, Any]], commit: _Commit
    ) -> None:
        for timer_id, position in list(inst.state.timer_positions.items()):
            if position < len(actions) and actions[position].get("isCanceled"):
                inst.state.timer_positions.pop(timer_id)
                inst.state.open_tasks.pop(timer_id, None)
                commit.cancel_timers.append(timer_id)

    # ============================================================================= committing
    def _commit(self, inst: ActiveInstance, commit: _Commit, *, persist_state: bool) -> None:
        """Write the episode atomically, then start what it scheduled."""
        row = inst.row
        row.last_updated_time = h.iso_timestamp(h.utcnow())
        if persist_state:
            kept = {k: v for k, v in row.engine_state.items() if k not in LEGACY_STATE_KEYS}
            row.engine_state = {**kept, **inst.state.to_json()}
        played = [_played(e) for e in commit.history]
        work_seqs: list[int] = []
        with self.store.transaction():
            if played:
                self.store.append_history(
                    row.instance_id, row.execution_id, inst.history_len, played
                )
            self.store.delete_inbox_events(commit.consumed)
            work_seqs = self.store.add_work_items(
                [
                    (row.instance_id, row.execution_id, task_id, kind, name, payload)
                    for task_id, kind, name, payload in commit.work
                ]
            )
            for timer_id, fire_at in commit.timers:
                self.store.add_timer(row.instance_id, row.execution_id, timer_id, fire_at)
            for timer_id in commit.cancel_timers:
                self.store.take_timer(row.instance_id, row.execution_id, timer_id)
            if row.status in TERMINAL:
                self.store.delete_work_for(row.instance_id)
                self.store.delete_timers_for(row.instance_id)
                self.store.delete_inbox_for(row.instance_id)
            written = self._write_side_effects(commit)
            self.store.upsert_instance(row)
        # --- the commit is durable: now mirror it in memory and start the work ---
        inst.history_len += len(played)
        inst.inbox.discard(commit.consumed)
        self._runner.submit_many(  # lazily: items past the line's window stay in the store
            WorkItem(seq, row.instance_id, row.execution_id, task_id, kind, name, payload)
            for seq, (task_id, kind, name, payload) in zip(work_seqs, commit.work, strict=False)
        )
        for timer_id, fire_at in commit.timers:
            self._arm_timer(row.instance_id, row.execution_id, timer_id, fire_at)
        for timer_id in commit.cancel_timers:
            handle = self._timers.pop((row.instance_id, row.execution_id, timer_id), None)
            if handle:
                handle.cancel()
        self._start_side_effects(commit, written)
        self._notify()

    def _accepts(self, instance_id: str) -> bool:
        """Whether events may still be delivered to an instance (not finished, not purged)."""
        inst = self._active.get(instance_id)
        return inst is not None and inst.row.status not in TERMINAL

    def _write_side_effects(self, commit: _Commit) -> tuple[list[int], list[InboxEvent]]:
        """Store an episode's messages to others: new children, replies, entity operations.

        A reply to an instance that has finished or was purged is dropped (as Azure discards
        messages to a completed instance) rather than left in the inbox for ever.
        """
        child_seqs: list[int] = []
        for child, started in commit.children:
            if self.store.get_instance(child.instance_id) is not None:
                self.store.delete_instance(child.instance_id)
            self.store.upsert_instance(child)
            child_seqs.append(
                self.store.add_inbox_event(child.instance_id, child.execution_id, started)
            )
        delivered: list[InboxEvent] = []
        for target, execution_id, event in commit.outbox:
            if not self._accepts(target):
                log.info("Dropped a reply to instance %s: it is no longer running", target)
                continue
            seq = self.store.add_inbox_event(target, execution_id, event)
            delivered.append(InboxEvent(seq, target, execution_id, event))
        for op in commit.entity_ops:
            self.store.add_entity_op(op)
        return child_seqs, delivered

    def _start_side_effects(
        self, commit: _Commit, written: tuple[list[int], list[InboxEvent]]
    ) -> None:
        child_seqs, delivered = written
        for seq, (child, _started) in zip(child_seqs, commit.children, strict=False):
            child_inst = ActiveInstance(row=child, history_len=0, state=EngineState())
            child_inst.inbox.add(seq, child.execution_id)
            self._active[child.instance_id] = child_inst
            self._enqueue(child_inst)
        for item in delivered:
            self._deliver_in_memory(item.instance_id, item)
        for op in commit.entity_ops:
            self.entities.enqueue(op.name, op.key)

    def _deliver_in_memory(self, target: str, item: InboxEvent) -> None:
        inst = self._active.get(target)
        if inst is not None:
            inst.inbox.add(item.seq, item.execution_id)  # the text stays in the store
            self._enqueue(inst)

    def _set_status(
        self, inst: ActiveInstance, status: str, event: dict[str, Any] | None = None
    ) -> None:
        """Change the status; `event` (suspend/resume) is appended to the history with it."""
        inst.row.status = status
        inst.row.last_updated_time = h.iso_timestamp(h.utcnow())
        played = [_played(event)] if event is not None else []
        with self.store.transaction():
            if played:
                self.store.append_history(
                    inst.row.instance_id, inst.row.execution_id, inst.history_len, played
                )
            self.store.upsert_instance(inst.row)
        inst.history_len += len(played)
        self._notify()

    def _finish(
        self,
        inst: ActiveInstance,
        status: str,
        output: str | None,
        *,
        commit: _Commit | None = None,
        reason: str | None = None,
    ) -> None:
        """Make an instance terminal, drop its pending work and tell its parent.

        Messages the final episode sent (entity signals and calls, new sub-orchestrations) are
        still delivered; its activities and timers are not started, as nothing would wait
        for them.
        """
        commit = commit or _Commit(consumed=inst.inbox.seqs())
        row = inst.row
        now = h.utcnow()
        if status == "Terminated":
            commit.history.append(h.event(h.EventType.ExecutionTerminated, now, Input=reason))
        else:
            commit.history.append(h.event(h.EventType.OrchestratorCompleted, now))
            commit.history.append(
                h.event(
                    h.EventType.ExecutionCompleted,
                    now,
                    OrchestrationStatus=status,
                    Result=output,
                    FailureDetails=None,
                )
            )
        commit.work.clear()
        commit.timers.clear()
        commit.consumed = sorted(set(commit.consumed) | set(inst.inbox.seqs()))
        row.status = status
        row.output = output
        row.engine_state = {k: v for k, v in row.engine_state.items() if k == "version"}
        if row.parent_instance_id and row.parent_task_id is not None:
            if status == "Completed":
                event = h.suborchestration_completed(now, row.parent_task_id, output)
            else:
                detail = json.loads(output) if output else status
                event = h.suborchestration_failed(
                    now,
                    row.parent_task_id,
                    f"Sub-orchestration '{row.name}' ({row.instance_id}) {status.lower()}: "
                    f"{detail}",
                    str(detail),
                )
            commit.outbox.append((row.parent_instance_id, row.parent_execution_id, event))
        self._commit(inst, commit, persist_state=False)
        for key in [k for k in self._timers if k[0] == row.instance_id]:
            self._timers.pop(key).cancel()
        self._active.pop(row.instance_id, None)
        self._runner.forget(row.instance_id)
        log.info(
            "Orchestration '%s' (%s) %s (episodes=%d)",
            row.name,
            row.instance_id,
            status.lower(),
            inst.state.episodes,
        )
        self._notify()

    def _continue_as_new(
        self, inst: ActiveInstance, action: dict[str, Any], commit: _Commit
    ) -> None:
        """Start a fresh execution with the new input; the instance shows ContinuedAsNew.

        Events raised to the instance while the old execution's last episode ran belong to no
        execution: they are kept, after the new ExecutionStarted, for the new generation.
        """
        row = inst.row
        raw_input = _dumps(action.get("input")) if action.get("input") is not None else None
        spec = self._orchestrators[row.name.lower()]
        parent = None
        if row.parent_instance_id and row.parent_execution_id and row.parent_task_id is not None:
            parent = (row.parent_instance_id, row.parent_execution_id, row.parent_task_id)
        fresh, started = self._new_instance_row(
            spec, row.instance_id, raw_input, parent, version=row.engine_state.get("version")
        )
        carried = inst.inbox.unbound(excluding=set(commit.consumed))
        with self.store.transaction():
            carried_texts = [text for _, text in self.store.inbox_texts_of(carried)]
            self.store.delete_inbox_events(inst.inbox.seqs())
            self.store.clear_history(row.instance_id)
            self.store.delete_work_for(row.instance_id)
            self.store.delete_timers_for(row.instance_id)
            written = self._write_side_effects(commit)
            row.execution_id = fresh.execution_id
            row.raw_input = raw_input
            row.status = "ContinuedAsNew"
            row.output = None
            row.engine_state = {k: v for k, v in row.engine_state.items() if k == "version"}
            row.last_updated_time = fresh.last_updated_time
            self.store.upsert_instance(row)
            seq = self.store.add_inbox_event(row.instance_id, row.execution_id, started)
            kept = [self.store.add_inbox_event(row.instance_id, None, t) for t in carried_texts]
        for key in [k for k in self._timers if k[0] == row.instance_id]:
            self._timers.pop(key).cancel()
        self._runner.forget(row.instance_id)  # the old execution's queued work is void
        inst.history_len = 0
        inst.state = EngineState()
        inst.inbox = PendingInbox([(seq, row.execution_id), *((k, None) for k in kept)])
        self._start_side_effects(commit, written)
        log.info("Orchestration '%s' (%s) continued as new", row.name, row.instance_id)
        self._notify()

    # ============================================================================ activities
    def _record_completions(self, batch: list[Completion]) -> None:
        """Record a batch of completions in one transaction and wake their orchestrations."""
        delivered: list[tuple[int, WorkItem, str]] = []
        try:
            with self.store.transaction():
                # a work item already gone was recorded before (or its instance ended): a
                # completion is applied at most once
                taken = self.store.take_work_items([item.seq for item, _ in batch])
                fresh = [(item, _dumps(event)) for item, event in batch if item.seq in taken]
                seqs = self.store.add_inbox_events(
                    [(item.instance_id, item.execution_id, text) for item, text in fresh]
                )
                delivered = [
                    (seq, item, event) for seq, (item, event) in zip(seqs, fresh, strict=False)
                ]
        except StoreError as exc:
            self._completion_failures += 1
            if self._completion_failures >= STORE_GIVE_UP_AFTER:
                self._on_fatal(
                    f"activity results could not be recorded {STORE_GIVE_UP_AFTER} "
                    f"times in a row ({type(exc).__name__}: {exc})"
                )
                return
            log.error(
                "Could not record %d activity result(s) (%s: %s); retrying in %.0fs",
                len(batch),
                type(exc).__name__,
                exc,
                STORE_RETRY_SECONDS,
            )
            assert self._loop is not None
            self._loop.call_later(STORE_RETRY_SECONDS, self._record_completions, batch)
            return
        self._completion_failures = 0
        woken: dict[str, ActiveInstance] = {}
        for seq, item, _ in delivered:  # one wake-up per instance, not per completion
            inst = self._active.get(item.instance_id)
            if inst is not None:
                inst.inbox.add(seq, item.execution_id)  # the text stays in the store
                woken[item.instance_id] = inst
        for inst in woken.values():
            self._enqueue(inst)

    # ================================================================================ timers
    def _arm_timer(self, instance_id: str, execution_id: str, timer_id: int, fire_at: str) -> None:
        assert self._loop is not None
        delay = (h.parse_timestamp(fire_at) - h.utcnow()).total_seconds()
        key = (instance_id, execution_id, timer_id)
        old = self._timers.pop(key, None)
        if old:
            old.cancel()
        self._timers[key] = self._loop.call_later(max(0.0, delay), self._fire_timer, key, fire_at)

    def _fire_timer(self, key: tuple[str, str, int], fire_at: str) -> None:
        self._timers.pop(key, None)
        instance_id, execution_id, timer_id = key
        event = h.timer_fired(h.utcnow(), timer_id, fire_at)
        try:
            with self.store.transaction():
                if not self.store.take_timer(instance_id, execution_id, timer_id):
                    return
                seq = self.store.add_inbox_event(instance_id, execution_id, event)
        except StoreError as exc:
            log.error(
                "Could not record timer %d of %s (%s: %s); retrying in %.0fs",
                timer_id,
                instance_id,
                type(exc).__name__,
                exc,
                STORE_RETRY_SECONDS,
            )
            assert self._loop is not None
            self._timers[key] = self._loop.call_later(
                STORE_RETRY_SECONDS, self._fire_timer, key, fire_at
            )
            return
        self._deliver_in_memory(instance_id, InboxEvent(seq, instance_id, execution_id, event))
