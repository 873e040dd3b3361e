"""Start-of-process cleanup: what a killed host left on disk.

Why: a SIGKILL mid-write leaves `.batchinfer-tmp-*` files in the job store and in users' local
result folders, which nothing else would ever remove. The first use of the services in a
process sweeps them: every temp file older than the process is an orphan (writes of this process
are younger). Orphaned stored requests need the durable client and are swept by
`service.forget_orphan_secrets` instead.
"""

from __future__ import annotations

import logging
from pathlib import Path

from batchinfer.jobs.store import JobStore
from batchinfer.storage import StorageAllowList, StorageError
from batchinfer.storage.local import LocalFolderStore, remove_stale_temp_files

log = logging.getLogger("batchinfer.cleanup")


def sweep_temp_files(job_store: JobStore, policy: StorageAllowList, *, before: float) -> int:
    """Remove temp files older than `before` (when this process started; see
    `wiring.PROCESS_STARTED`) from the local job store and from the local result folders of the
    jobs whose requests are still stored (the ones a crash interrupted)."""
    folders: list[Path] = []
    backing = job_store.backing_store
    if isinstance(backing, LocalFolderStore):
        folders.append(backing.root)
    for spec in job_store.iter_specs():
        if not spec.result_url.startswith("file:"):
            continue
        try:
            root = policy.check(spec.result_url).local_root
        except StorageError:
            continue
        if root is not None:
            folders.append(
                root / spec.result_prefix.rsplit("/", 1)[0] if spec.result_prefix else root
            )
    removed = sum(remove_stale_temp_files(folder, before) for folder in folders if folder.is_dir())
    if removed:
        log.info("Removed %d temp files left by an earlier process", removed)
    return removed
