"""Orchestration versioning as the Durable extension applies it (defaultVersion and strategies).

Every new orchestration (and sub-orchestration) gets a version: the one given on start or on the
sub-orchestration call, else host.json's `defaultVersion`. Before running an episode the worker
compares the instance's version with its own `defaultVersion` under `versionMatchStrategy`
(`None`, `Strict`, `CurrentOrOlder`); on a mismatch `versionFailureStrategy` either leaves the
instance untouched for a compatible worker (`Reject`) or fails it (`Fail`).
"""

from __future__ import annotations

import re

_SYSTEM_VERSION = re.compile(r"\d+(\.\d+){1,3}")


def compare_versions(left: str | None, right: str | None) -> int:
    """-1, 0, 1 by the extension's rules: empty equals empty and is older than any version;
    two `System.Version`-like strings compare numerically; others case-insensitively."""
    if not left and not right:
        return 0
    if not left:
        return -1
    if not right:
        return 1
    if _SYSTEM_VERSION.fullmatch(left) and _SYSTEM_VERSION.fullmatch(right):
        a = [int(p) for p in left.split(".")]
        b = [int(p) for p in right.split(".")]
        return (a > b) - (a < b)
    a_text, b_text = left.lower(), right.lower()
    return (a_text > b_text) - (a_text < b_text)


def version_mismatch(
    instance_version: str | None, worker_version: str | None, strategy: str
) -> str | None:
    """Why this worker may not run an instance of `instance_version`, or None if it may."""
    strategy = strategy.lower()
    if strategy == "none":
        return None
    order = compare_versions(instance_version, worker_version)
    if strategy == "strict" and order != 0:
        return (
            f"The orchestration version '{instance_version or ''}' does not match the "
            f"worker version '{worker_version or ''}'."
        )
    if strategy == "currentorolder" and order > 0:
        return (
            f"The orchestration version '{instance_version or ''}' is greater than the "
            f"worker version '{worker_version or ''}'."
        )
    return None
