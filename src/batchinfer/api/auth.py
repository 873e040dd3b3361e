"""API keys: the header the official clients send with an `AzureKeyCredential`.

Both SDKs put the key in `Ocp-Apim-Subscription-Key`; `api-key` is accepted too. With
`BATCHINFER_API_KEYS` empty (the local default) no key is required, as with `func start`; in
Azure set it (infra passes the `apiKeys` parameter), or put the app behind your own gateway.
Keys are compared in constant time and never logged.
"""

from __future__ import annotations

import hmac

import azure.functions as func

from batchinfer.api.errors import ApiError

KEY_HEADERS = ("Ocp-Apim-Subscription-Key", "api-key")


def require_api_key(req: func.HttpRequest, keys: tuple[str, ...]) -> None:
    """Raise a 401 ApiError unless a configured key came with the request."""
    if not keys:
        return
    supplied = next((req.headers.get(h) for h in KEY_HEADERS if req.headers.get(h)), "") or ""
    # undecodable header bytes arrive as surrogates: they can never match a key
    raw = supplied.encode("utf-8", "surrogateescape") if supplied.isprintable() else b"\0"
    if not any(hmac.compare_digest(raw, key.encode()) for key in keys):
        raise ApiError(
            401,
            "401",
            "Access denied due to a missing or invalid key. Send it in "
            "the Ocp-Apim-Subscription-Key header.",
        )
