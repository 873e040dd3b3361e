"""SQLite persistence for the durable engine: the log that makes a SIGKILL survivable.

Everything the engine must not lose lives here, and every state change of an orchestration is one
transaction: an episode's new history, the inbox events it consumed, the work it scheduled and the
instance row are committed together, so a crash at any moment leaves either the state before the
episode or the state after it. Activity completions are recorded by deleting the work item and
inserting the inbox event in the same transaction, so a completion is applied at most once and an
activity whose completion was not recorded runs again (at-least-once, as in Azure).

The store is written from the event-loop thread only, on one connection in WAL mode; a file store
also opens a second, read-only-in-practice connection that activity threads use to page their
pending work items in (`read_work_page`), which sees committed rows only.
"""

from __future__ import annotations

import functools
import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS instances (
    instance_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    execution_id TEXT NOT NULL,
    status TEXT NOT NULL,
    raw_input TEXT,
    output TEXT,
    custom_status TEXT,
    created_time TEXT NOT NULL,
    last_updated_time TEXT NOT NULL,
    parent_instance_id TEXT,
    parent_execution_id TEXT,
    parent_task_id INTEGER,
    engine_state TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS instances_by_created ON instances(created_time, instance_id);
CREATE INDEX IF NOT EXISTS instances_by_status ON instances(status);
CREATE TABLE IF NOT EXISTS history (
    instance_id TEXT NOT NULL,
    execution_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    event TEXT NOT NULL,
    PRIMARY KEY (instance_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS inbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id TEXT NOT NULL,
    execution_id TEXT,
    event TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS inbox_by_instance ON inbox(instance_id, seq);
CREATE TABLE IF NOT EXISTS work_items (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id TEXT NOT NULL,
    execution_id TEXT NOT NULL,
    task_id INTEGER NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    input TEXT
);
CREATE INDEX IF NOT EXISTS work_by_instance ON work_items(instance_id);
CREATE INDEX IF NOT EXISTS work_by_instance_seq ON work_items(instance_id, seq);
CREATE TABLE IF NOT EXISTS timers (
    instance_id TEXT NOT NULL,
    execution_id TEXT NOT NULL,
    timer_id INTEGER NOT NULL,
    fire_at TEXT NOT NULL,
    PRIMARY KEY (instance_id, execution_id, timer_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS entities (
    name TEXT NOT NULL,
    key TEXT NOT NULL,
    state TEXT,
    present INTEGER NOT NULL DEFAULT 0,
    updated TEXT,
    PRIMARY KEY (name, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS entity_ops (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    key TEXT NOT NULL,
    operation TEXT NOT NULL,
    input TEXT,
    is_signal INTEGER NOT NULL,
    reply_instance TEXT,
    reply_execution TEXT,
    request_id TEXT
);
CREATE INDEX IF NOT EXISTS entity_ops_by_entity ON entity_ops(name, key, seq);
CREATE TABLE IF NOT EXISTS blob_receipts (
    function_name TEXT NOT NULL,
    blob_name TEXT NOT NULL,
    etag TEXT NOT NULL,
    outcome TEXT,
    failures INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (function_name, blob_name, etag)
) WITHOUT ROWID;
"""


@dataclass
class InstanceRow:
    """One orchestration instance as stored: what status queries and recovery read."""

    instance_id: str
    name: str
    execution_id: str
    status: str
    raw_input: str | None
    output: str | None
    custom_status: str | None
    created_time: str
    last_updated_time: str
    parent_instance_id: str | None = None
    parent_execution_id: str | None = None
    parent_task_id: int | None = None
    engine_state: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class WorkItem:
    """A scheduled activity (or built-in HTTP call) whose completion is not yet recorded."""

    seq: int
    instance_id: str
    execution_id: str
    task_id: int
    kind: str
    name: str
    input: str | None


@dataclass(frozen=True)
class EntityOp:
    """An operation queued for an entity; calls (not signals) name where the reply goes."""

    name: str
    key: str
    operation: str
    input: str | None
    is_signal: bool
    reply_instance: str | None = None
    reply_execution: str | None = None
    request_id: str | None = None


class InboxEvent:
    """A history event delivered to an instance but not yet consumed by an episode: one row
    of the `inbox` table with its JSON text, as it is written or handed over.

    The engine does not keep these while events wait for an episode: it keeps their seqs
    (`funchost.durable.inbox.PendingInbox`) and reads the text back when an episode runs.
    """

    __slots__ = ("execution_id", "instance_id", "seq", "text")

    def __init__(
        self, seq: int, instance_id: str, execution_id: str | None, event: dict[str, Any] | str
    ) -> None:
        self.seq = seq
        self.instance_id = instance_id
        self.execution_id = execution_id
        self.text = event if isinstance(event, str) else _dumps(event)

    @property
    def event(self) -> dict[str, Any]:
        """The event, parsed (a fresh dict on every access)."""
        parsed: dict[str, Any] = json.loads(self.text)
        return parsed

    def __repr__(self) -> str:
        return f"InboxEvent({self.seq}, {self.instance_id!r}, {self.execution_id!r}, {self.text})"


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


_INSTANCE_COLUMNS = (
    "instance_id, name, execution_id, status, raw_input, output, custom_status, created_time, "
    "last_updated_time, parent_instance_id, parent_execution_id, parent_task_id, engine_state"
)


def _row_to_instance(row: Sequence[Any]) -> InstanceRow:
    values = list(row)
    values[-1] = json.loads(values[-1] or "{}")
    return InstanceRow(*values)


StoreError = sqlite3.Error  # what a failed read or write of the store raises
_RETURNING = sqlite3.sqlite_version_info >= (3, 35, 0)  # DELETE/INSERT ... RETURNING
_ORDERED_AGGREGATE = sqlite3.sqlite_version_info >= (3, 44, 0)  # group_concat(x ORDER BY y)
# Rows per multi-row statement (at most 6 variables a row): 2,000 where the library allows
# 12,000 variables in a statement (SQLite 3.32+ defaults to 32,766), else 150 (old limit 999).
# Each statement releases and retakes the GIL, and with activity threads busy retaking it waits
# a switch interval, so a fan-out's commit wants few, large statements.
_BIG_CHUNK = 2000
_SMALL_CHUNK = 150
_INDEX_PAGE = 1000  # rows per fetch when the inbox index is read at start


# Statement shapes. sqlite3 keeps every distinct SQL text it runs in a per-connection cache (128
# entries), and a multi-row statement of 2,000 rows compiles to a program of hundreds of KB: with
# one text per chunk length, a long run filled the cache with ~40 MiB of compiled programs (host
# RSS 104 MiB after a 100 x 1,000 sub-orchestration fan-out, 66 MiB after 10 x 1,000). A chunk
# is therefore padded up to a power of two (or the chunk limit): each statement kind has at most
# a dozen texts, and each chunk is still one statement.
def _padded(count: int, limit: int) -> int:
    """The number of rows (or list items) a chunk of `count` is run as."""
    size = 1
    while size < count:
        size <<= 1
    return min(size, limit)


@functools.cache
def _insert_sql(head: str, width: int, rows: int, tail: str) -> str:
    """`head` (INSERT INTO t (cols)) for `rows` rows of `width` values; all-NULL rows (padding)
    are skipped, so the first column must never be NULL in a real row."""
    row = "(" + ",".join("?" * width) + ")"
    return f"{head} SELECT * FROM (VALUES {','.join([row] * rows)}) WHERE column1 IS NOT NULL{tail}"


@functools.cache
def _in_list_sql(template: str, count: int) -> str:
    """`template` with `{marks}` replaced by `count` placeholders (padding repeats a value)."""
    return template.format(marks=",".join("?" * count))


class DurableStore:
    """The engine's SQLite log. Methods that write do so inside `transaction()`."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        # a new store frees the pages of purged instances (PRAGMA incremental_vacuum)
        self._conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
        self._conn.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode survives a process kill (only an OS crash may lose the last commits).
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA busy_timeout=5000")
        self._conn.executescript(SCHEMA)
        columns = {r[1] for r in self._conn.execute("PRAGMA table_info(entities)")}
        if "updated" not in columns:  # stores written before entities had a last-operation time
            self._conn.execute("ALTER TABLE entities ADD COLUMN updated TEXT")
        self._depth = 0
        variables = self._conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
        self._chunk = _BIG_CHUNK if variables >= 6 * _BIG_CHUNK else _SMALL_CHUNK
        # a second connection for reads from other threads (paging work items in); it sees
        # committed rows only, which is all those readers need. None for an in-memory store,
        # where a second connection would open another, empty database.
        self._reader: sqlite3.Connection | None = None
        self._reader_lock = threading.Lock()
        if str(path) != ":memory:":
            self._reader = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
            self._reader.execute("PRAGMA busy_timeout=5000")

    @property
    def concurrent_reads(self) -> bool:
        """Whether `read_work_page` may be called from any thread."""
        return self._reader is not None

    def close(self) -> None:
        if self._reader is not None:
            with self._reader_lock:
                self._reader.close()
        self._conn.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One atomic unit; nested uses join the outer transaction."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self._conn.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield
            self._conn.execute("COMMIT")
        except BaseException:
            # also when COMMIT itself fails (disk full, locked): never stay inside a transaction
            if self._conn.in_transaction:
                try:
                    self._conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
            raise
        finally:
            self._depth = 0

    # ----------------------------------------------------------------------------- instances
    def upsert_instance(self, row: InstanceRow) -> None:
        self._conn.execute(
            f"INSERT OR REPLACE INTO instances ({_INSTANCE_COLUMNS}) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                row.instance_id,
                row.name,
                row.execution_id,
                row.status,
                row.raw_input,
                row.output,
                row.custom_status,
                row.created_time,
                row.last_updated_time,
                row.parent_instance_id,
                row.parent_execution_id,
                row.parent_task_id,
                json.dumps(row.engine_state, separators=(",", ":")),
            ),
        )

    def get_instance(self, instance_id: str) -> InstanceRow | None:
        cur = self._conn.execute(
            f"SELECT {_INSTANCE_COLUMNS} FROM instances WHERE instance_id = ?", (instance_id,)
        )
        row = cur.fetchone()
        return _row_to_instance(row) if row else None

    def instances_with_status(self, statuses: Iterable[str]) -> list[InstanceRow]:
        wanted = list(statuses)
        marks = ",".join("?" for _ in wanted)
        cur = self._conn.execute(
            f"SELECT {_INSTANCE_COLUMNS} FROM instances WHERE status IN ({marks})", wanted
        )
        return [_row_to_instance(r) for r in cur.fetchall()]

    def query_instances(
        self,
        *,
        created_from: str | None,
        created_to: str | None,
        statuses: Sequence[str] | None,
        id_prefix: str | None,
        after: tuple[str, str] | None,
        limit: int | None,
    ) -> list[InstanceRow]:
        """Instances in (created_time, instance_id) order, filtered as the list API asks."""
        clauses: list[str] = []
        args: list[Any] = []
        if created_from:
            clauses.append("created_time >= ?")
            args.append(created_from)
        if created_to:
            clauses.append("created_time <= ?")
            args.append(created_to)
        if statuses:
            clauses.append(f"status IN ({','.join('?' for _ in statuses)})")
            args.extend(statuses)
        if id_prefix:
            clauses.append("substr(instance_id, 1, ?) = ?")
            args.extend([len(id_prefix), id_prefix])
        if after:
            clauses.append("(created_time, instance_id) > (?, ?)")
            args.extend(after)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        sql = (
            f"SELECT {_INSTANCE_COLUMNS} FROM instances {where} ORDER BY created_time, instance_id"
        )
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        return [_row_to_instance(r) for r in self._conn.execute(sql, args).fetchall()]

    def delete_instance(self, instance_id: str) -> bool:
        """Purge an instance and everything attached to it."""
        cur = self._conn.execute("DELETE FROM instances WHERE instance_id = ?", (instance_id,))
        for table in ("history", "inbox", "work_items", "timers"):
            self._conn.execute(f"DELETE FROM {table} WHERE instance_id = ?", (instance_id,))
        return cur.rowcount > 0

    def purge_finished_before(self, cutoff: str) -> int:
        """Retention: delete instances that ended (last update) before `cutoff`."""
        ids = [
            r[0]
            for r in self._conn.execute(
                "SELECT instance_id FROM instances WHERE status IN "
                "('Completed','Failed','Terminated','Canceled') AND last_updated_time < ?",
                (cutoff,),
            ).fetchall()
        ]
        for instance_id in ids:
            self.delete_instance(instance_id)
        return len(ids)

    def reclaim_space(self) -> None:
        """Give freed pages back to the file system (outside any transaction).

        A store created before auto_vacuum was set is converted once with a full VACUUM.
        """
        if self._conn.execute("PRAGMA auto_vacuum").fetchone()[0] != 2:
            self._conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
            self._conn.execute("VACUUM")
        self._conn.execute("PRAGMA incremental_vacuum")

    # ------------------------------------------------------------------------------- history
    def append_history(
        self, instance_id: str, execution_id: str, start_seq: int, events: Sequence[str]
    ) -> None:
        # multi-row statements: a fan-out's episode appends tens of thousands of events, and
        # fewer statements keep the event loop (which runs the commit) free sooner
        rows = [
            (instance_id, execution_id, seq, text) for seq, text in enumerate(events, start_seq)
        ]
        self._insert_rows("INSERT INTO history (instance_id, execution_id, seq, event)", 4, rows)

    def history_json(self, instance_id: str) -> str:
        """The stored events joined with commas (a JSON array's body), built inside SQLite.

        One string for the whole history, without a Python object per event: the engine reads
        it once per episode instead of keeping every running instance's history in memory.
        """
        # rows come in primary-key (seq) order from the ordered subquery; SQLite 3.44+ also
        # takes the order inside the aggregate, which makes it explicit
        sql = (
            "SELECT group_concat(event, ',' ORDER BY seq) FROM history WHERE instance_id = ?"
            if _ORDERED_AGGREGATE
            else "SELECT group_concat(event, ',') FROM (SELECT event FROM history "
            "WHERE instance_id = ? ORDER BY seq)"
        )
        row = self._conn.execute(sql, (instance_id,)).fetchone()
        return str(row[0]) if row and row[0] is not None else ""

    def history_length(self, instance_id: str) -> int:
        """How many events are stored for an instance (the next event's seq)."""
        row = self._conn.execute(
            "SELECT count(*) FROM history WHERE instance_id = ?", (instance_id,)
        ).fetchone()
        return int(row[0])

    def load_history(self, instance_id: str) -> list[str]:
        cur = self._conn.execute(
            "SELECT event FROM history WHERE instance_id = ? ORDER BY seq", (instance_id,)
        )
        return [r[0] for r in cur.fetchall()]

    def clear_history(self, instance_id: str) -> None:
        self._conn.execute("DELETE FROM history WHERE instance_id = ?", (instance_id,))

    # --------------------------------------------------------------------------------- inbox
    def add_inbox_event(
        self, instance_id: str, execution_id: str | None, event: dict[str, Any] | str
    ) -> int:
        cur = self._conn.execute(
            "INSERT INTO inbox (instance_id, execution_id, event) VALUES (?,?,?)",
            (instance_id, execution_id, event if isinstance(event, str) else _dumps(event)),
        )
        return int(cur.lastrowid or 0)

    def delete_inbox_events(self, seqs: Iterable[int]) -> None:
        wanted = list(seqs)
        for chunk in self._in_lists(wanted):
            self._conn.execute(
                _in_list_sql("DELETE FROM inbox WHERE seq IN ({marks})", len(chunk)), chunk
            )

    def load_inbox_for(self, instance_id: str) -> list[InboxEvent]:
        cur = self._conn.execute(
            "SELECT seq, instance_id, execution_id, event FROM inbox WHERE instance_id = ? "
            "ORDER BY seq",
            (instance_id,),
        )
        return [InboxEvent(r[0], r[1], r[2], r[3]) for r in cur.fetchall()]

    def delete_orphan_inbox(self) -> int:
        """Drop events addressed to instances that finished or were purged."""
        return self._conn.execute(
            "DELETE FROM inbox WHERE instance_id NOT IN (SELECT instance_id FROM instances "
            "WHERE status NOT IN ('Completed','Failed','Terminated','Canceled'))"
        ).rowcount

    def delete_inbox_for(self, instance_id: str) -> None:
        self._conn.execute("DELETE FROM inbox WHERE instance_id = ?", (instance_id,))

    def load_inbox(self) -> list[InboxEvent]:
        cur = self._conn.execute(
            "SELECT seq, instance_id, execution_id, event FROM inbox ORDER BY seq"
        )
        return [InboxEvent(r[0], r[1], r[2], r[3]) for r in cur.fetchall()]

    def inbox_index(self) -> Iterator[tuple[int, str, str | None]]:
        """Every inbox event's (seq, instance id, execution id) in seq order, without its text.

        Read a page at a time: a restart with 100,000 completions waiting holds neither their
        text nor a row object per event at once. Consume it fully before writing.
        """
        cur = self._conn.execute("SELECT seq, instance_id, execution_id FROM inbox ORDER BY seq")
        while rows := cur.fetchmany(_INDEX_PAGE):
            yield from rows

    def inbox_index_for(self, instance_id: str) -> list[tuple[int, str | None]]:
        """One instance's inbox events as (seq, execution id), in seq order, without text."""
        cur = self._conn.execute(
            "SELECT seq, execution_id FROM inbox WHERE instance_id = ? ORDER BY seq",
            (instance_id,),
        )
        return [(r[0], r[1]) for r in cur.fetchall()]

    def inbox_texts_of(self, seqs: Sequence[int]) -> list[tuple[int, str]]:
        """(seq, JSON text) of the given inbox events that are stored, in seq order."""
        rows: set[tuple[int, str]] = set()  # a set: padding repeats a seq
        for chunk in self._in_lists(seqs):
            rows.update(
                self._conn.execute(
                    _in_list_sql("SELECT seq, event FROM inbox WHERE seq IN ({marks})", len(chunk)),
                    chunk,
                ).fetchall()
            )
        return sorted(rows)

    def inbox_texts(self, instance_id: str, first: int, last: int) -> list[tuple[int, str]]:
        """(seq, JSON text) of an instance's inbox events with seqs in [first, last], in order.

        One range scan of the (instance_id, seq) index: what an episode reads for the events
        the engine holds only by seq.
        """
        cur = self._conn.execute(
            "SELECT seq, event FROM inbox WHERE instance_id = ? AND seq BETWEEN ? AND ? "
            "ORDER BY seq",
            (instance_id, first, last),
        )
        return cur.fetchall()

    # ---------------------------------------------------------------------------- work items
    def add_work_items(
        self, items: Sequence[tuple[str, str, int, str, str, str | None]]
    ) -> list[int]:
        """Insert (instance, execution, task id, kind, name, input) rows; return their seqs."""
        if _RETURNING:
            return self._insert_rows(
                "INSERT INTO work_items (instance_id, execution_id, task_id, kind, name, input)",
                6,
                items,
                returning=True,
            )
        seqs = []
        for item in items:
            cur = self._conn.execute(
                "INSERT INTO work_items (instance_id, execution_id, task_id, kind, name, input) "
                "VALUES (?,?,?,?,?,?)",
                item,
            )
            seqs.append(int(cur.lastrowid or 0))
        return seqs

    def take_work_items(self, seqs: Sequence[int]) -> set[int]:
        """Delete work items; returns the seqs that were still there (completions to apply)."""
        if not _RETURNING:
            return {seq for seq in seqs if self.take_work_item(seq)}
        taken: set[int] = set()
        for chunk in self._in_lists(seqs):
            sql = _in_list_sql(
                "DELETE FROM work_items WHERE seq IN ({marks}) RETURNING seq", len(chunk)
            )
            taken.update(r[0] for r in self._conn.execute(sql, chunk))
        return taken

    def add_inbox_events(
        self, rows: Sequence[tuple[str, str | None, dict[str, Any] | str]]
    ) -> list[int]:
        """Insert many inbox events (dicts or their JSON text) in a few statements; their
        seqs, in the order given."""
        if not _RETURNING:
            return [self.add_inbox_event(*row) for row in rows]
        texts = [
            (instance_id, execution_id, event if isinstance(event, str) else _dumps(event))
            for instance_id, execution_id, event in rows
        ]
        return self._insert_rows(
            "INSERT INTO inbox (instance_id, execution_id, event)", 3, texts, returning=True
        )

    def _insert_rows(
        self, head: str, width: int, rows: Sequence[Sequence[Any]], *, returning: bool = False
    ) -> list[int]:
        """Insert rows in statements of at most one chunk each (padded to a cached shape);
        with `returning`, the new rows' seqs in the order given."""
        seqs: list[int] = []
        tail = " RETURNING seq" if returning else ""
        for start in range(0, len(rows), self._chunk):
            chunk = rows[start : start + self._chunk]
            shape = _padded(len(chunk), self._chunk)
            args = [value for row in chunk for value in row]
            args += [None] * (width * (shape - len(chunk)))
            cur = self._conn.execute(_insert_sql(head, width, shape, tail), args)
            if returning:
                # AUTOINCREMENT numbers one statement's rows in VALUES order; RETURNING's own
                # order is unspecified, so sort
                seqs += sorted(r[0] for r in cur)
        return seqs

    def _in_lists(self, values: Sequence[int] | list[int]) -> Iterator[list[int]]:
        """`values` in chunks padded (by repeating the last) to a cached statement shape."""
        for start in range(0, len(values), self._chunk):
            chunk = list(values[start : start + self._chunk])
            chunk += [chunk[-1]] * (_padded(len(chunk), self._chunk) - len(chunk))
            yield chunk

    def take_work_item(self, seq: int) -> bool:
        """Delete a work item; False when it was already gone (completion applied before)."""
        return self._conn.execute("DELETE FROM work_items WHERE seq = ?", (seq,)).rowcount > 0

    def delete_work_for(self, instance_id: str) -> None:
        self._conn.execute("DELETE FROM work_items WHERE instance_id = ?", (instance_id,))

    def work_instances(self) -> list[str]:
        """Instances that have pending work items."""
        return [r[0] for r in self._conn.execute("SELECT DISTINCT instance_id FROM work_items")]

    def load_work_page(self, instance_id: str, from_seq: int, limit: int) -> list[WorkItem]:
        """An instance's pending work items from `from_seq` on, in order, at most `limit`."""
        cur = self._conn.execute(
            "SELECT seq, instance_id, execution_id, task_id, kind, name, input FROM work_items "
            "WHERE instance_id = ? AND seq >= ? ORDER BY seq LIMIT ?",
            (instance_id, from_seq, limit),
        )
        return [WorkItem(*r) for r in cur.fetchall()]

    def read_work_page(self, instance_id: str, from_seq: int, limit: int) -> list[WorkItem]:
        """`load_work_page` from any thread, on the reader connection (committed rows only)."""
        assert self._reader is not None
        with self._reader_lock:
            cur = self._reader.execute(
                "SELECT seq, instance_id, execution_id, task_id, kind, name, input FROM "
                "work_items WHERE instance_id = ? AND seq >= ? ORDER BY seq LIMIT ?",
                (instance_id, from_seq, limit),
            )
            return [WorkItem(*r) for r in cur.fetchall()]

    def load_work_items(self) -> list[WorkItem]:
        cur = self._conn.execute(
            "SELECT seq, instance_id, execution_id, task_id, kind, name, input FROM work_items "
            "ORDER BY seq"
        )
        return [WorkItem(*r) for r in cur.fetchall()]

    # -------------------------------------------------------------------------------- timers
    def add_timer(self, instance_id: str, execution_id: str, timer_id: int, fire_at: str) -> None:
        self._conn.execute(
            "INSERT OR REPLACE INTO timers (instance_id, execution_id, timer_id, fire_at) "
            "VALUES (?,?,?,?)",
            (instance_id, execution_id, timer_id, fire_at),
        )

    def take_timer(self, instance_id: str, execution_id: str, timer_id: int) -> bool:
        cur = self._conn.execute(
            "DELETE FROM timers WHERE instance_id = ? AND execution_id = ? AND timer_id = ?",
            (instance_id, execution_id, timer_id),
        )
        return cur.rowcount > 0

    def delete_timers_for(self, instance_id: str) -> None:
        self._conn.execute("DELETE FROM timers WHERE instance_id = ?", (instance_id,))

    def load_timers(self) -> list[tuple[str, str, int, str]]:
        cur = self._conn.execute("SELECT instance_id, execution_id, timer_id, fire_at FROM timers")
        return [tuple(r) for r in cur.fetchall()]

    # ------------------------------------------------------------------------------ entities
    def get_entity(self, name: str, key: str) -> tuple[bool, str | None]:
        """(exists, state JSON text) of an entity; a never-used entity does not exist."""
        row = self._conn.execute(
            "SELECT present, state FROM entities WHERE name=? AND key=?", (name, key)
        ).fetchone()
        return (bool(row[0]), row[1]) if row else (False, None)

    def put_entity(
        self, name: str, key: str, exists: bool, state: str | None, updated: str | None = None
    ) -> None:
        self._conn.execute(
            "INSERT OR REPLACE INTO entities (name, key, state, present, updated) "
            "VALUES (?,?,?,?,?)",
            (name, key, state if exists else None, int(exists), updated),
        )

    def list_entities(
        self, name: str | None, *, after: tuple[str, str] | None, limit: int | None
    ) -> list[tuple[str, str, str | None, str | None]]:
        """Existing entities (name, key, state, last operation time) in (name, key) order."""
        clauses: list[str] = ["present = 1"]
        args: list[str | int] = []
        if name:
            clauses.append("name = ?")
            args.append(name)
        if after:
            clauses.append("(name, key) > (?, ?)")
            args.extend(after)
        sql = (
            f"SELECT name, key, state, updated FROM entities WHERE {' AND '.join(clauses)} "
            "ORDER BY name, key"
        )
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        return [tuple(r) for r in self._conn.execute(sql, args).fetchall()]

    def add_entity_op(self, op: EntityOp) -> int:
        cur = self._conn.execute(
            "INSERT INTO entity_ops (name, key, operation, input, is_signal, reply_instance, "
            "reply_execution, request_id) VALUES (?,?,?,?,?,?,?,?)",
            (
                op.name,
                op.key,
                op.operation,
                op.input,
                int(op.is_signal),
                op.reply_instance,
                op.reply_execution,
                op.request_id,
            ),
        )
        return int(cur.lastrowid or 0)

    def load_entity_ops(self, name: str, key: str, limit: int) -> list[tuple[int, EntityOp]]:
        cur = self._conn.execute(
            "SELECT seq, name, key, operation, input, is_signal, reply_instance, "
            "reply_execution, request_id FROM entity_ops WHERE name=? AND key=? ORDER BY seq "
            "LIMIT ?",
            (name, key, limit),
        )
        return [
            (r[0], EntityOp(r[1], r[2], r[3], r[4], bool(r[5]), r[6], r[7], r[8]))
            for r in cur.fetchall()
        ]

    def delete_entity_ops(self, seqs: Iterable[int]) -> None:
        self._conn.executemany("DELETE FROM entity_ops WHERE seq = ?", [(s,) for s in seqs])

    def entities_with_ops(self) -> list[tuple[str, str]]:
        cur = self._conn.execute("SELECT DISTINCT name, key FROM entity_ops")
        return [(r[0], r[1]) for r in cur.fetchall()]

    # ------------------------------------------------------------------------- blob receipts
    def has_receipt(self, function_name: str, blob_name: str, etag: str) -> bool:
        cur = self._conn.execute(
            "SELECT 1 FROM blob_receipts WHERE function_name=? AND blob_name=? AND etag=? "
            "AND outcome IS NOT NULL",
            (function_name, blob_name, etag),
        )
        return cur.fetchone() is not None

    def record_receipt(self, function_name: str, blob_name: str, etag: str, outcome: str) -> None:
        self._conn.execute(
            "INSERT INTO blob_receipts (function_name, blob_name, etag, outcome) VALUES (?,?,?,?) "
            "ON CONFLICT(function_name, blob_name, etag) DO UPDATE SET outcome = excluded.outcome",
            (function_name, blob_name, etag, outcome),
        )

    def failure_count(self, function_name: str, blob_name: str, etag: str) -> int:
        cur = self._conn.execute(
            "SELECT failures FROM blob_receipts WHERE function_name=? AND blob_name=? AND etag=?",
            (function_name, blob_name, etag),
        )
        row = cur.fetchone()
        return int(row[0]) if row else 0

    def record_failure(self, function_name: str, blob_name: str, etag: str) -> int:
        self._conn.execute(
            "INSERT INTO blob_receipts (function_name, blob_name, etag, failures) VALUES (?,?,?,1) "
            "ON CONFLICT(function_name, blob_name, etag) DO UPDATE SET failures = failures + 1",
            (function_name, blob_name, etag),
        )
        return self.failure_count(function_name, blob_name, etag)
