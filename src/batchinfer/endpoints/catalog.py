"""Reading the workspace: datastores → containers, data assets → URIs, deployments → configs.

Why a separate module: the API (validation at invoke time) and the job steps both need these
lookups, and they must agree. Every container that comes out of here still goes through the
allow-list when opened (`Services.open_container`), so a datastore can never widen it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from batchinfer.endpoints.config import (
    DEFAULT_ERROR_THRESHOLD,
    DEFAULT_MAX_RETRIES,
    DEFAULT_MINI_BATCH,
    DEFAULT_OUTPUT_FILE,
    DEFAULT_TIMEOUT_S,
    ScoringConfig,
    parse_timeout,
)
from batchinfer.endpoints.tasks import TASKS, model_metadata
from batchinfer.endpoints.uris import DataUri, DataUriError, resolve_data_uri
from batchinfer.endpoints.workspace import (
    DATA,
    DATASTORES,
    DEFAULT_DATASTORE,
    DEPLOYMENTS,
    ENDPOINTS,
    MODELS,
    Resource,
    WorkspaceStore,
)
from batchinfer.storage import BlobStore, StorageError
from batchinfer.storage.paths import resolve_under

_MODEL_ID_TAIL = "/models/"


class CatalogError(ValueError):
    """A reference that does not resolve; `code` and `message` are user-safe."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def datastore_container_url(properties: dict[str, Any], secret: dict[str, Any] | None) -> str:
    """The container URL an AzureBlob datastore names (with its SAS, if it has one).

    `containerUrl` (our extension) names any container form directly, `file://` included;
    otherwise `accountName`/`containerName`/`endpoint`/`protocol` as ARM has them, where an
    endpoint on 127.0.0.1/localhost means Azurite's path-style URLs.
    """
    sas = (secret or {}).get("sasToken", "").lstrip("?")
    url = properties.get("containerUrl")
    if not url:
        account = properties.get("accountName") or ""
        container = properties.get("containerName") or ""
        endpoint = (properties.get("endpoint") or "core.windows.net").strip("/")
        protocol = properties.get("protocol") or "https"
        host = endpoint.split("://", 1)[-1]
        if host.split(":", 1)[0] in ("127.0.0.1", "localhost"):
            url = f"{protocol}://{host}/{account}/{container}"
        else:
            url = f"{protocol}://{account}.blob.{host}/{container}"
    return f"{url}?{sas}" if sas else url


class Catalog:
    """Lookups over one `WorkspaceStore`; `default_container` is the local data root's URL."""

    def __init__(
        self,
        store: WorkspaceStore,
        default_container: str,
        cache_root: Path,
        open_container: Callable[[str], BlobStore],
    ) -> None:
        self.store = store
        self.default_container = default_container
        self._cache_root = cache_root
        self._open = open_container

    # ----------------------------------------------------------------------------- datastores
    def datastore_url(self, name: str) -> str:
        resource = self.store.get(DATASTORES, name)
        if resource is None:
            if name == DEFAULT_DATASTORE:
                return self.default_container
            raise DataUriError(f"Datastore '{name}' was not found in the workspace.")
        return datastore_container_url(resource.properties, self.store.get_secret(DATASTORES, name))

    def data_asset_uri(self, name: str, version: str) -> str:
        resource = self.store.get(DATA, f"{name}/{version}")
        if resource is None:
            raise DataUriError(f"Data asset '{name}' version '{version}' was not found.")
        return str(resource.properties.get("dataUri", ""))

    def resolve(self, uri: str, *, is_folder: bool) -> DataUri:
        return resolve_data_uri(
            uri, datastore=self.datastore_url, asset=self.data_asset_uri, is_folder=is_folder
        )

    # --------------------------------------------------------------------------------- models
    def model_version(self, asset_id: str) -> Resource:
        """A model version from its ARM id (`.../models/<n>/versions/<v>`) or `azureml:<n>:<v>`."""
        text = asset_id.strip()
        if text.lower().startswith("azureml:") and not text.startswith("azureml://"):
            parts = text.split(":")
            key = f"{parts[1]}/{parts[2]}" if len(parts) == 3 else ""
        else:
            tail = (
                text[text.lower().rfind(_MODEL_ID_TAIL) + len(_MODEL_ID_TAIL) :]
                if _MODEL_ID_TAIL in text.lower()
                else ""
            )
            name, _, version = tail.partition("/versions/")
            key = f"{name}/{version.strip('/')}" if name and version else ""
        resource = self.store.get(MODELS, key) if key else None
        if resource is None:
            raise CatalogError("ModelNotFound", f"Model '{asset_id}' was not found.")
        return resource

    def model_file(self, model: Resource) -> str:
        """The local ONNX file of a model version, fetched into the cache when it is remote."""
        uri = str(model.properties.get("modelUri", ""))
        is_file = uri.split("?", 1)[0].lower().endswith(".onnx")
        try:
            where = self.resolve(uri, is_folder=not is_file)
            container = self._open(where.container_url)
            if is_file:
                name = where.path
            else:
                prefix = f"{where.path}/" if where.path else ""
                name = next(
                    (
                        b.name
                        for b in container.list_blobs(prefix=prefix)
                        if b.name.lower().endswith(".onnx")
                    ),
                    "",
                )
                if not name:
                    raise CatalogError("ModelNotFound", f"No .onnx file under {where.display}.")
            local = getattr(container, "root", None)
            if local is not None:  # a local folder: use the file in place, never escaping it
                path = resolve_under(Path(local), name)
                if path.is_file():
                    return str(path)
            target = self._cache_root / model.key / Path(name).name
            if not target.is_file():
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(container.read_blob(name=name))
            return str(target)
        except (DataUriError, StorageError) as exc:
            raise CatalogError(
                "ModelNotFound",
                f"The model file of '{model.key}' cannot be read: {getattr(exc, 'message', exc)}",
            ) from None

    # ----------------------------------------------------------------------------- deployments
    def deployment(self, endpoint: str, name: str | None) -> Resource:
        """The named deployment, or the endpoint's default one."""
        ep = self.store.get(ENDPOINTS, endpoint)
        if ep is None:
            raise CatalogError("EndpointNotFound", f"Batch endpoint '{endpoint}' was not found.")
        chosen = name or (ep.properties.get("defaults") or {}).get("deploymentName")
        if not chosen:
            deployments = self.store.list(DEPLOYMENTS, endpoint)
            if len(deployments) != 1:
                raise CatalogError(
                    "DeploymentNotFound",
                    f"Batch endpoint '{endpoint}' has no "
                    "default deployment; set defaults.deploymentName or send "
                    "the azureml-model-deployment header.",
                )
            return deployments[0]
        found = self.store.get(DEPLOYMENTS, f"{endpoint}/{chosen}")
        if found is None:
            raise CatalogError(
                "DeploymentNotFound",
                f"Deployment '{chosen}' was not found under batch endpoint '{endpoint}'.",
            )
        return found

    def scoring_config(
        self, endpoint: str, deployment: Resource, overrides: dict[str, Any]
    ) -> ScoringConfig:
        """The deployment's settings with the invoke's overrides, its model file and task."""
        props = {**deployment.properties, **{k: v for k, v in overrides.items() if v is not None}}
        model_ref = (props.get("model") or {}).get("assetId") or ""
        if not model_ref:
            raise CatalogError(
                "InvalidDeployment",
                f"Deployment '{deployment.name}' names no model (properties.model.assetId).",
            )
        model = self.model_version(model_ref)
        path = self.model_file(model)
        options: dict[str, str] = {}
        try:
            options.update(model_metadata(path))
        except Exception:  # not an ONNX file: reported below
            raise CatalogError(
                "InvalidModel", f"Model '{model.key}' is not a readable ONNX file."
            ) from None
        for source in (
            model.tags,
            model.properties.get("properties") or {},
            deployment.properties.get("properties") or {},
        ):
            options.update({str(k): str(v) for k, v in source.items()})
        task = options.pop("task", "")
        if task not in TASKS:
            raise CatalogError(
                "InvalidDeployment",
                f"The model declares no known task ({task!r}"
                f"); set properties.task to one of {', '.join(TASKS)}.",
            )
        retry = props.get("retrySettings") or {}
        threshold = props.get("errorThreshold")
        return ScoringConfig(
            endpoint=endpoint,
            deployment=deployment.name,
            model_id=model_ref,
            model_path=path,
            task=task,
            task_options=options,
            mini_batch_size=int(props.get("miniBatchSize") or DEFAULT_MINI_BATCH),
            error_threshold=DEFAULT_ERROR_THRESHOLD if threshold is None else int(threshold),
            max_retries=int(retry.get("maxRetries", DEFAULT_MAX_RETRIES)),
            timeout_s=parse_timeout(retry.get("timeout") or DEFAULT_TIMEOUT_S),
            output_action=props.get("outputAction") or "AppendRow",
            output_file_name=props.get("outputFileName") or DEFAULT_OUTPUT_FILE,
            logging_level=props.get("loggingLevel") or "Info",
        )
