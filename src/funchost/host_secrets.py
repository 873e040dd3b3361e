"""The host's own secrets: the admin (master) key and the secret path of the durable RPC channel.

Why: the durable management API (`/runtime/webhooks/durabletask/...`, `/admin/host/status`) can
list, terminate and purge any instance and start any orchestrator, so no configuration may leave
it open. Like the Functions host, which generates its keys when none are configured, funchost
derives a random admin key when `FUNCHOST_MASTER_KEY` is unset and keeps it in
`<data-dir>/host-secrets.json` (mode 0600, readable only by the user running the host), so it
survives restarts and the operator can read it. Function-level routes stay as configured.

The SDK's `rpcBaseUrl` channel answers loopback callers only, but on a shared machine every local
user is a loopback caller; its path therefore carries a random segment, handed to the SDK only
through the `durableClient` binding (the SDK uses the URL as given), so other processes cannot
guess it. It is kept in the same private file (stable across restarts, so a client built before a
crash keeps working), which local tools and tests of the same user may read.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

SECRETS_FILE = "host-secrets.json"


@dataclass(frozen=True)
class HostSecrets:
    """The admin key (configured or derived) and this process's RPC path token."""

    admin_key: str
    admin_key_derived: bool
    rpc_token: str


def _read(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_private(path: Path, data: dict[str, str]) -> None:
    """Write with mode 0600 from the first byte (no window where others could read it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle)
    os.chmod(temp, 0o600)
    os.replace(temp, path)


def load_host_secrets(data_dir: Path, configured_master_key: str | None) -> HostSecrets:
    """Resolve the admin key (configured, else the stored derived one, else a new one) and the
    RPC token (stored, else new); record both in `<data_dir>/host-secrets.json`."""
    path = data_dir / SECRETS_FILE
    stored = _read(path)
    derived = not configured_master_key
    admin_key = configured_master_key or stored.get("derivedMasterKey") or secrets.token_urlsafe(32)
    rpc_token = stored.get("rpcToken") or secrets.token_urlsafe(24)
    record = {"rpcToken": rpc_token}
    if derived:
        record["derivedMasterKey"] = admin_key
    _write_private(path, record)
    return HostSecrets(admin_key=admin_key, admin_key_derived=derived, rpc_token=rpc_token)
