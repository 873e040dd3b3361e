"""Multi-row statements come in a few fixed shapes, so sqlite3's statement cache stays small.

sqlite3 caches each distinct SQL text; with one text per chunk length, a long run cached ~40 MiB
of compiled 2,000-row programs. Chunks are padded (NULL rows skipped, IN lists repeating their
last value): the rows written and the answers must be exactly those of unpadded statements.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from funchost.durable import store as store_module
from funchost.durable.store import DurableStore


def _work(instance: str, count: int) -> list[tuple[str, str, int, str, str, str | None]]:
    return [(instance, "exec", i, "activity", "noop", str(i)) for i in range(count)]


def test_padded_chunks_write_exactly_the_rows_given_in_order(tmp_path: Path) -> None:
    store = DurableStore(tmp_path / "durable.db")
    try:
        sizes = [1, 2, 3, 5, 17, 100, 129, 2000, 2001, 4500]
        with store.transaction():
            for n, size in enumerate(sizes):
                seqs = store.add_work_items(_work(f"i{n}", size))
                assert len(seqs) == size and seqs == sorted(seqs)  # the order given
                page = store.load_work_page(f"i{n}", 0, size + 10)
                assert [item.seq for item in page] == seqs  # no padding row was written
                assert [item.input for item in page] == [str(i) for i in range(size)]
            inbox = store.add_inbox_events([("x", None, f'{{"n":{i}}}') for i in range(37)])
            assert len(inbox) == 37 and inbox == sorted(inbox)
            store.append_history("x", "exec", 0, [f'{{"n":{i}}}' for i in range(301)])
        assert store.history_json("x").count('"n"') == 301
        assert store.history_length("x") == 301
    finally:
        store.close()


def test_padded_in_lists_take_and_read_exactly_the_seqs_asked(tmp_path: Path) -> None:
    store = DurableStore(tmp_path / "durable.db")
    try:
        with store.transaction():
            seqs = store.add_work_items(_work("w", 50))
            inbox = store.add_inbox_events([("x", None, f'{{"n":{i}}}') for i in range(9)])
        with store.transaction():
            wanted = seqs[3:10] + seqs[20:23]  # 10 seqs: run as a list of 16
            assert store.take_work_items(wanted) == set(wanted)
            assert store.take_work_items(wanted) == set()  # already gone: applied once
        assert len(store.load_work_page("w", 0, 100)) == 40
        texts = store.inbox_texts_of(inbox[:3])  # 3 seqs: run as a list of 4
        assert texts == [(seq, f'{{"n":{i}}}') for i, seq in enumerate(inbox[:3])]
        with store.transaction():
            store.delete_inbox_events(inbox[:5])
        assert [seq for seq, _ in store.inbox_index_for("x")] == inbox[5:]
    finally:
        store.close()


def test_statement_texts_are_bounded_whatever_the_chunk_lengths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    texts: set[str] = set()

    def recording(builder: Callable[..., str]) -> Callable[..., str]:
        def build(*args: object) -> str:
            text = builder(*args)
            texts.add(text)
            return text

        return build

    monkeypatch.setattr(store_module, "_insert_sql", recording(store_module._insert_sql))
    monkeypatch.setattr(store_module, "_in_list_sql", recording(store_module._in_list_sql))
    store = DurableStore(tmp_path / "durable.db")
    try:
        with store.transaction():
            for size in range(1, 300):
                seqs = store.add_work_items(_work(f"s{size}", size))
                assert store.take_work_items(seqs) == set(seqs)
    finally:
        store.close()
    inserts = {t for t in texts if t.startswith("INSERT INTO work_items")}
    deletes = {t for t in texts if t.startswith("DELETE FROM work_items")}
    # 299 chunk lengths run as a power of two each: 1, 2, 4, ..., 256, 512
    assert len(inserts) == 10 and len(deletes) == 10
