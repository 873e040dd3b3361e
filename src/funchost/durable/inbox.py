"""What the engine keeps in memory of an instance's pending inbox: seqs, never event text.

Every inbox event is written to the store's `inbox` table before the engine learns of it, so
its JSON text already lives there. A fan-out of 100,000 activities has up to 100,000
completions waiting between two (paced) episodes; holding each as an object with its text
cost ~0.5 KiB apiece, a second copy of what the store has. `PendingInbox` holds per event
only its seq (8 bytes in an array) and which execution it is bound to (a 4-byte code into a
short list of execution ids), which is all scheduling needs: whether there is anything to
run, how much (pacing), which seqs an episode consumes, and which events are bound to no
execution (kept across continue-as-new). The episode reads the texts back from the store in
one query (`DurableStore.inbox_texts`).
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from collections.abc import Iterable, Iterator


class PendingInbox:
    """An instance's undelivered inbox events as (seq, execution id) pairs, in seq order.

    Seq order is the store's order, the order a restarted host reads them in; events are
    normally added in that order already (each after its own commit), and one added out of
    order is inserted at its place.
    """

    __slots__ = ("_codes", "_executions", "_seqs")

    def __init__(self, entries: Iterable[tuple[int, str | None]] = ()) -> None:
        self._seqs = array("q")
        self._codes = array("I")  # index into _executions, per event
        self._executions: list[str | None] = [None]  # the few distinct execution ids
        for seq, execution_id in entries:
            self.add(seq, execution_id)

    def __len__(self) -> int:
        return len(self._seqs)

    def __bool__(self) -> bool:
        return len(self._seqs) > 0

    def __repr__(self) -> str:
        return f"PendingInbox({list(self)!r})"

    def __iter__(self) -> Iterator[tuple[int, str | None]]:
        """(seq, execution id) in seq order; None: bound to no execution (a raised event)."""
        executions = self._executions
        for seq, code in zip(self._seqs, self._codes, strict=True):
            yield seq, executions[code]

    def add(self, seq: int, execution_id: str | None) -> None:
        try:
            code = self._executions.index(execution_id)
        except ValueError:
            code = len(self._executions)
            self._executions.append(execution_id)
        if not self._seqs or seq > self._seqs[-1]:
            self._seqs.append(seq)
            self._codes.append(code)
            return
        at = bisect_right(self._seqs, seq)
        if at and self._seqs[at - 1] == seq:
            return  # already held (the same committed event delivered twice)
        self._seqs.insert(at, seq)
        self._codes.insert(at, code)

    def seqs(self) -> list[int]:
        return self._seqs.tolist()

    def span(self) -> tuple[int, int]:
        """The lowest and highest seq held (the inbox must not be empty)."""
        return self._seqs[0], self._seqs[-1]

    def unbound(self, excluding: set[int]) -> list[int]:
        """Seqs of events bound to no execution (raised events), other than `excluding`."""
        return [seq for seq, execution_id in self if execution_id is None and seq not in excluding]

    def discard(self, consumed: Iterable[int]) -> None:
        """Forget the events an episode consumed (its commit deleted them from the store)."""
        gone = set(consumed)
        if not gone:
            return
        if len(gone) >= len(self._seqs) and all(seq in gone for seq in self._seqs):
            self._seqs = array("q")
            self._codes = array("I")
            self._executions = [None]
            return
        seqs, codes = array("q"), array("I")
        executions: list[str | None] = [None]
        for seq, code in zip(self._seqs, self._codes, strict=True):
            if seq in gone:
                continue
            execution_id = self._executions[code]
            if execution_id not in executions:  # only ids still in use stay listed
                executions.append(execution_id)
            seqs.append(seq)
            codes.append(executions.index(execution_id))
        self._seqs, self._codes, self._executions = seqs, codes, executions
