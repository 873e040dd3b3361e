"""Reading request bodies without letting clients choose the host's memory or hold it forever.

Why: a body is bytes the host must hold before a function can run. Unbounded, ten unauthenticated
99 MB uploads cost a gigabyte and a client that trickles bytes keeps a connection and its buffer
for as long as it likes. Here a declared length over the limit is refused before a byte is read,
every body in flight draws on one shared byte budget (a request that cannot get its share gets
`503` with `Retry-After` instead of waiting), the body is read in chunks with an idle and a
total deadline (`408`), and `Content-Encoding` is undone here, bounded (gzip and deflate; a body
that does not decode is a `400`, another coding `415`).
"""

from __future__ import annotations

import asyncio
import contextlib
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from aiohttp import web

CHUNK_BYTES = 256 * 1024


class BodyRefused(Exception):
    """The body will not be read (or was not read completely): status, code, message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass
class Reservation:
    """Bytes of the shared budget held by one request; grows as an undeclared body arrives."""

    budget: BodyBudget
    held: int = 0

    def grow_to(self, size: int) -> None:
        if size > self.held:
            self.budget.take(size - self.held)
            self.held = size


class BodyBudget:
    """How many body bytes all requests together may hold at once (one event loop: no lock)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_use = 0

    def take(self, size: int) -> None:
        if self.in_use + size > self.limit:
            raise BodyRefused(
                503, "ServerBusy", "Too many request bodies are being received; retry shortly."
            )
        self.in_use += size

    @contextlib.asynccontextmanager
    async def reserve(self, request: web.Request, max_bytes: int) -> AsyncIterator[Reservation]:
        """Hold the declared length (refused at once if over `max_bytes`) until the response."""
        declared = request.content_length
        if declared is not None and declared > max_bytes:
            raise BodyRefused(
                413, "PayloadTooLarge", f"The request body is larger than {max_bytes} bytes."
            )
        reservation = Reservation(self)
        try:
            reservation.grow_to(declared or 0)
            yield reservation
        finally:
            self.in_use -= reservation.held


async def read_body(
    request: web.Request,
    reservation: Reservation,
    max_bytes: int,
    idle_timeout: float,
    total_timeout: float,
) -> bytes:
    """The whole body, read chunk by chunk under the reservation and both deadlines."""
    if not request.body_exists:
        return b""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + total_timeout
    parts: list[bytes] = []
    size = 0
    while True:
        wait = min(idle_timeout, deadline - loop.time())
        if wait <= 0:
            raise BodyRefused(408, "RequestTimeout", "The request body took too long to arrive.")
        try:
            chunk = await asyncio.wait_for(request.content.read(CHUNK_BYTES), wait)
        except TimeoutError:
            raise BodyRefused(
                408, "RequestTimeout", "The request body stopped arriving; the request was dropped."
            ) from None
        except Exception as exc:  # aiohttp's decoding and payload errors
            if _is_encoding_error(exc):
                raise BodyRefused(
                    400, "InvalidContentEncoding", "The body does not match its Content-Encoding."
                ) from None
            raise BodyRefused(400, "InvalidBody", "The request body could not be read.") from None
        if not chunk:
            return _decode(b"".join(parts), request.headers.get("Content-Encoding", ""), max_bytes)
        size += len(chunk)
        if size > max_bytes:
            raise BodyRefused(
                413, "PayloadTooLarge", f"The request body is larger than {max_bytes} bytes."
            )
        reservation.grow_to(size)
        parts.append(chunk)


def _decode(body: bytes, encoding: str, max_bytes: int) -> bytes:
    """Undo `Content-Encoding` ourselves (the server's automatic decoding is off), bounded:
    a gzip bomb stops at `max_bytes` of output instead of filling memory."""
    coding = encoding.strip().lower()
    if coding in ("", "identity"):
        return body
    if coding not in ("gzip", "x-gzip", "deflate"):
        raise BodyRefused(
            415, "UnsupportedContentEncoding", "Content-Encoding must be gzip, deflate or identity."
        )
    wbits = 16 + zlib.MAX_WBITS if "gzip" in coding else zlib.MAX_WBITS
    try:
        inflater = zlib.decompressobj(wbits)
        out = inflater.decompress(body, max_bytes + 1)
        if len(out) > max_bytes or inflater.unconsumed_tail:
            raise BodyRefused(
                413,
                "PayloadTooLarge",
                f"The decoded request body is larger than {max_bytes} bytes.",
            )
        if not inflater.eof:
            raise zlib.error("truncated")
        return out
    except zlib.error:
        raise BodyRefused(
            400, "InvalidContentEncoding", "The body does not match its Content-Encoding."
        ) from None


def _is_encoding_error(exc: Exception) -> bool:
    names = {type(e).__name__ for e in (exc, exc.__cause__, exc.__context__) if e is not None}
    return (
        bool(names & {"ContentEncodingError", "error", "BadCompressedData"})
        or "encoding" in str(exc).lower()
        or "decompress" in str(exc).lower()
    )
