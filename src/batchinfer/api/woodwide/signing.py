"""Signed, expiring URLs served by the app itself (result downloads, large-file uploads).

The client fetches `inference_results_uri` and PUTs to `upload_url` without its bearer
header, as it would with a storage SAS URL; the URL carries its own proof instead: an HMAC of
the method, path, expiry and (for uploads) the content type, with a key kept in the store.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import quote

RESULT_TTL_SECONDS = 3600
UPLOAD_TTL_SECONDS = 3600


def signature(key: bytes, method: str, path: str, expires: int, extra: str = "") -> str:
    message = f"{method.upper()}\n{path}\n{expires}\n{extra}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def signed_query(key: bytes, method: str, path: str, ttl: int, extra: str = "") -> str:
    expires = int(time.time()) + ttl
    return f"expires={expires}&sig={signature(key, method, path, expires, extra)}" + (
        f"&ct={quote(extra, safe='')}" if extra else ""
    )


def verify(
    key: bytes, method: str, path: str, expires: str | None, sig: str | None, extra: str = ""
) -> str | None:
    """None when the URL is valid now; otherwise why not (for the 403 body)."""
    if not expires or not sig or not expires.isdigit():
        return "The URL is not signed."
    if int(expires) < time.time():
        return "The signed URL has expired."
    expected = signature(key, method, path, int(expires), extra)
    if not hmac.compare_digest(expected, sig):
        return "The URL signature does not match."
    return None
