"""The host's queued logging: every record written, in order, by one thread, args frozen."""

from __future__ import annotations

import io
import logging
import threading

from funchost import log_setup


def test_records_from_many_threads_are_all_written_once() -> None:
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    stream = io.StringIO()
    writer = log_setup.configure("INFO", stream)
    try:
        log = logging.getLogger("funchost.test")
        mutable = {"state": "at call time"}
        log.info("mutable %s", mutable)
        mutable["state"] = "changed later"

        def spam(n: int) -> None:
            for i in range(200):
                log.info("thread %d line %d", n, i)

        threads = [threading.Thread(target=spam, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        log.debug("below the level")
    finally:
        writer.stop()
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved_handlers:
            root.addHandler(handler)
        root.setLevel(saved_level)
    lines = stream.getvalue().splitlines()
    assert "INFO funchost.test: mutable {'state': 'at call time'}" in lines[0]
    body = [line.split(": ", 1)[1] for line in lines[1:]]
    assert len(body) == 8 * 200 and len(set(body)) == 8 * 200
    for n in range(8):  # each thread's lines keep their order
        mine = [int(b.rsplit(" ", 1)[1]) for b in body if b.startswith(f"thread {n} ")]
        assert mine == list(range(200))
    assert not any("below the level" in line for line in lines)
