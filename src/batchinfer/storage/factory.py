"""`open_container`: the one way activities turn a user's container URL into a `BlobStore`.

It checks the allow-list first, so no code path can reach storage with an unchecked URL. The
Azure adapter is imported lazily: local runs and cold starts that only touch folders skip
loading the SDK.
"""

from __future__ import annotations

from typing import Any

from batchinfer.storage.local import LocalFolderStore
from batchinfer.storage.policy import StorageAllowList
from batchinfer.storage.port import BlobStore


def open_container(url: str, policy: StorageAllowList, **azure_options: Any) -> BlobStore:
    """Check `url` against `policy` and open the matching store.

    `azure_options` (`credential`, `account_key`, `connection_string`, SDK client settings) go
    to `AzureBlobStore` and are ignored for `file://` folders. Raises `UrlNotAllowedError`
    before any request if the URL is refused.
    """
    container = policy.check(url)
    if container.is_local:
        assert container.local_root is not None
        return LocalFolderStore(container.local_root)
    from batchinfer.storage.azure_blob import AzureBlobStore

    return AzureBlobStore(container, **azure_options)
