"""Host logging that costs the logging thread next to nothing: a queue and one writer thread.

Per-invocation INFO lines from many activity threads used to serialise the host on the stream
handler's lock and one write() per line. Here a record is put on a lock-free queue as it is
(its message is formatted by the writer, unless its arguments are mutable objects whose later
state could differ), and a single writer thread formats what has accumulated and writes it in
one call.
"""

from __future__ import annotations

import logging
import queue
import sys
import threading
from typing import TextIO

FORMAT = "[%(asctime)s] %(levelname)s %(name)s: %(message)s"
_IMMUTABLE = (str, int, float, bool, type(None))
BATCH = 1024  # records per write at most


class _EnqueueHandler(logging.Handler):
    """Puts records on the queue; formatting happens on the writer thread."""

    def __init__(self, records: queue.SimpleQueue[logging.LogRecord | None]) -> None:
        super().__init__()
        self._records = records

    def createLock(self) -> None:  # logging's API name
        self.lock = None  # the queue is thread-safe; no handler lock on the hot path

    def acquire(self) -> None:
        pass

    def release(self) -> None:
        pass

    def handle(self, record: logging.LogRecord) -> bool:
        if self.filters and not self.filter(record):
            return False
        self.emit(record)
        return True

    def emit(self, record: logging.LogRecord) -> None:
        args = record.args
        if args and not (isinstance(args, tuple) and all(isinstance(a, _IMMUTABLE) for a in args)):
            record.msg, record.args = record.getMessage(), None  # freeze mutable arguments
        self._records.put(record)


class LogWriter:
    """The one thread that formats and writes queued records, in batches."""

    def __init__(self, stream: TextIO, formatter: logging.Formatter) -> None:
        self.records: queue.SimpleQueue[logging.LogRecord | None] = queue.SimpleQueue()
        self._stream = stream
        self._formatter = formatter
        self._thread = threading.Thread(target=self._run, name="log-writer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Write what is queued, then end the thread."""
        self.records.put(None)
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while True:
            first = self.records.get()
            batch = [first]
            while len(batch) < BATCH:
                try:
                    batch.append(self.records.get_nowait())
                except queue.Empty:
                    break
            lines = []
            done = False
            for record in batch:
                if record is None:
                    done = True
                    continue
                try:
                    lines.append(self._formatter.format(record))
                except Exception:  # a broken record must not stop the writer
                    lines.append(f"<unformattable log record from {record.name}>")
            if lines:
                try:
                    self._stream.write("\n".join(lines) + "\n")
                    self._stream.flush()
                except (OSError, ValueError):
                    pass
            if done:
                return


def configure(level: str, stream: TextIO | None = None) -> LogWriter:
    """Route the root logger through the queue; call `stop()` on the result at exit."""
    writer = LogWriter(stream or sys.stderr, logging.Formatter(FORMAT))
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.addHandler(_EnqueueHandler(writer.records))
    root.setLevel(level.upper())
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    writer.start()
    return writer
