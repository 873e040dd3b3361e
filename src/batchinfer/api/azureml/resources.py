"""HTTP triggers for the workspace's resources, ARM-shaped (any `api-version`).

  GET|PUT|DELETE .../datastores[/{name}]           (workspaceblobstore always exists)
  GET|PUT|DELETE .../models/{name}/versions[/{version}]
  GET|PUT|DELETE .../data/{name}/versions[/{version}]
  GET|PUT|DELETE .../batchEndpoints[/{endpoint}]
  GET|PUT|DELETE .../batchEndpoints/{endpoint}/deployments[/{deployment}]
  GET            .../                               (the workspace itself)

PUT answers 201 when it created the resource and 200 when it replaced it; DELETE 200, or 204
when there was nothing to delete, as ARM does. References are checked on PUT: a datastore's
container against the allow-list, a deployment's model against the registered models.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import quote

import azure.durable_functions as df
import azure.functions as func
from pydantic import BaseModel

from batchinfer.api.azureml.arm import (
    ANONYMOUS,
    WORKSPACE_ROUTE,
    arm_error,
    arm_resource,
    base_url,
    handle,
    parse,
    resource_name,
    validate_properties,
    workspace_id,
)
from batchinfer.api.azureml.schemas import (
    BatchDeploymentProperties,
    BatchEndpointProperties,
    DatastoreProperties,
    DataVersionProperties,
    ModelVersionProperties,
    ResourceBody,
)
from batchinfer.api.errors import json_response
from batchinfer.api.openapi import operation
from batchinfer.api.openapi.shapes import WrappedError
from batchinfer.endpoints.catalog import Catalog, CatalogError, datastore_container_url
from batchinfer.endpoints.workspace import (
    DATA,
    DATASTORES,
    DEFAULT_DATASTORE,
    DEPLOYMENTS,
    ENDPOINTS,
    MODELS,
    Resource,
)
from batchinfer.storage import UrlNotAllowedError, redact_url
from batchinfer.wiring import get_services

blueprint = df.Blueprint()
WS = WORKSPACE_ROUTE
Handler = TypeVar("Handler", bound=Callable[..., Awaitable[func.HttpResponse]])


def _catalog() -> Catalog:
    return get_services().catalog()


def _put_status(created: bool) -> int:
    return 201 if created else 200


def _deleted(found: bool) -> func.HttpResponse:
    return func.HttpResponse(status_code=200 if found else 204)


def _list(items: list[dict[str, Any]]) -> func.HttpResponse:
    return json_response(200, {"value": items})


def _deletes(what: str) -> Callable[[Handler], Handler]:
    """The OpenAPI declaration of a resource's DELETE: 200 deleted, 204 nothing to delete, both
    without a body; errors in ARM's `{"error": {...}}`. GET and PUT keep generic schemas."""
    return operation(
        method="DELETE",
        summary=f"Delete a {what}",
        tags=("azureml",),
        responses={200: None, 204: None},
        errors=WrappedError,
    )


# ----------------------------------------------------------------------------------- workspace
@blueprint.route(route=WS, methods=["GET"], auth_level=ANONYMOUS)
async def workspace(req: func.HttpRequest) -> func.HttpResponse:
    async def run() -> func.HttpResponse:
        ws = req.route_params.get("ws", "")
        return json_response(
            200,
            {
                "id": workspace_id(req),
                "name": ws,
                "location": "local",
                "type": "Microsoft.MachineLearningServices/workspaces",
                "properties": {
                    "friendlyName": ws,
                    "provisioningState": "Succeeded",
                    "discoveryUrl": f"{base_url(req)}/discovery",
                    "mlFlowTrackingUri": "",
                    "storageAccount": "local",
                },
            },
        )

    return await handle(req, run)


# ---------------------------------------------------------------------------------- datastores
def _datastore_body(req: func.HttpRequest, name: str, resource: Resource | None) -> dict[str, Any]:
    if resource is None:  # the built-in default: the local data root
        url = _catalog().default_container
        props: dict[str, Any] = {
            "datastoreType": "AzureBlob",
            "accountName": "local",
            "containerName": "storage",
            "endpoint": "local",
            "protocol": "file",
            "containerUrl": url,
            "credentials": {"credentialsType": "None"},
            "isDefault": True,
            "description": "The service's local data root (BATCHINFER_DATA_ROOT/storage).",
        }
    else:
        props = {k: v for k, v in resource.properties.items() if k != "credentials"}
        props["credentials"] = {
            "credentialsType": resource.properties.get("credentials", {}).get(
                "credentialsType", "None"
            )
        }
        props["isDefault"] = name == DEFAULT_DATASTORE
        if "containerUrl" in props:
            props["containerUrl"] = redact_url(props["containerUrl"])
    return arm_resource(req, f"datastores/{name}", name, "datastores", props, resource)


@blueprint.route(route=WS + "/datastores", methods=["GET"], auth_level=ANONYMOUS)
async def list_datastores(req: func.HttpRequest) -> func.HttpResponse:
    async def run() -> func.HttpResponse:
        stored = {r.name: r for r in _catalog().store.list(DATASTORES)}
        names = sorted({DEFAULT_DATASTORE, *stored})
        return _list([_datastore_body(req, n, stored.get(n)) for n in names])

    return await handle(req, run)


@blueprint.route(
    route=WS + "/datastores/{name}", methods=["GET", "PUT", "DELETE"], auth_level=ANONYMOUS
)
@_deletes("datastore")
async def datastore(req: func.HttpRequest) -> func.HttpResponse:
    async def run() -> func.HttpResponse:
        catalog = _catalog()
        name = resource_name(req, "name", "datastore")
        method = req.method.upper()
        if method == "GET":
            resource = catalog.store.get(DATASTORES, name)
            if resource is None and name != DEFAULT_DATASTORE:
                raise arm_error(404, "UserError", f"Datastore '{name}' was not found.")
            return json_response(200, _datastore_body(req, name, resource))
        if method == "DELETE":
            return _deleted(catalog.store.delete(DATASTORES, name))
        body = parse(req, ResourceBody)
        props = validate_properties(DatastoreProperties, body.properties)
        if props.get("datastoreType", "AzureBlob") != "AzureBlob":
            raise arm_error(400, "BadRequest", "Only AzureBlob datastores are supported.")
        credentials = props.get("credentials") or {"credentialsType": "None"}
        kind = str(credentials.get("credentialsType", "None"))
        secret: dict[str, Any] | None = None
        if kind.lower() == "sas":
            token = (credentials.get("secrets") or {}).get("sasToken")
            if not token:
                raise arm_error(400, "BadRequest", "Sas credentials need secrets.sasToken.")
            secret = {"sasToken": str(token)}
        elif kind.lower() != "none":
            raise arm_error(
                400,
                "BadRequest",
                f"credentialsType '{kind}' is not supported; "
                "use Sas or None (managed identity / public).",
            )
        if not props.get("containerUrl") and not (
            props.get("accountName") and props.get("containerName")
        ):
            raise arm_error(
                400,
                "BadRequest",
                "A datastore needs accountName and containerName (or containerUrl).",
            )
        try:
            get_services().policy.check(datastore_container_url(props, secret))
        except UrlNotAllowedError as exc:
            raise arm_error(400, "BadRequest", exc.message) from None
        props["credentials"] = {"credentialsType": "Sas" if secret else "None"}
        resource, created = catalog.store.put(DATASTORES, name, props, body.tags)
        catalog.store.put_secret(DATASTORES, name, secret)
        return json_response(_put_status(created), _datastore_body(req, name, resource))

    return await handle(req, run)


# ------------------------------------------------------------------------ models and data assets
_VERSIONED: dict[str, tuple[str, type[BaseModel], str]] = {
    "models": (MODELS, ModelVersionProperties, "model"),
    "data": (DATA, DataVersionProperties, "data asset"),
}


def _version_body(req: func.HttpRequest, segment: str, resource: Resource) -> dict[str, Any]:
    name, version = resource.key.split("/", 1)
    props = {**resource.properties, "isArchived": resource.properties.get("isArchived", False)}
    if resource.tags:
        props["tags"] = {**resource.tags, **(props.get("tags") or {})}
    return arm_resource(
        req, f"{segment}/{name}/versions/{version}", version, f"{segment}/versions", props, resource
    )


def _versioned_routes(segment: str) -> None:
    kind, model, what = _VERSIONED[segment]

    async def versions(req: func.HttpRequest) -> func.HttpResponse:
        async def run() -> func.HttpResponse:
            name = resource_name(req, "name", what)
            found = _catalog().store.list(kind, name)
            return _list([_version_body(req, segment, r) for r in found])

        return await handle(req, run)

    async def version(req: func.HttpRequest) -> func.HttpResponse:
        async def run() -> func.HttpResponse:
            catalog = _catalog()
            name = resource_name(req, "name", what)
            number = resource_name(req, "version", "version")
            key = f"{name}/{number}"
            method = req.method.upper()
            if method == "DELETE":
                return _deleted(catalog.store.delete(kind, key))
            if method == "GET":
                resource = catalog.store.get(kind, key)
                if resource is None:
                    raise arm_error(
                        404,
                        "UserError",
                        f"{what.capitalize()} '{name}' version '{number}' was not found.",
                    )
                return json_response(200, _version_body(req, segment, resource))
            body = parse(req, ResourceBody)
            props = validate_properties(model, body.properties)
            resource, created = catalog.store.put(kind, key, props, body.tags)
            return json_response(_put_status(created), _version_body(req, segment, resource))

        return await handle(req, run)

    versions.__name__ = f"list_{segment}_versions"
    version.__name__ = f"{segment}_version"
    blueprint.route(
        route=f"{WS}/{segment}/{{name}}/versions", methods=["GET"], auth_level=ANONYMOUS
    )(versions)
    blueprint.route(
        route=f"{WS}/{segment}/{{name}}/versions/{{version}}",
        methods=["GET", "PUT", "DELETE"],
        auth_level=ANONYMOUS,
    )(_deletes(f"{what} version")(version))


_versioned_routes("models")
_versioned_routes("data")


# ------------------------------------------------------------------------------ batch endpoints
def scoring_uri(req: func.HttpRequest, endpoint: str) -> str:
    return f"{base_url(req)}{quote(workspace_id(req))}/batchEndpoints/{quote(endpoint)}/jobs"


def _endpoint_body(req: func.HttpRequest, resource: Resource) -> dict[str, Any]:
    props = {
        **resource.properties,
        "authMode": resource.properties.get("authMode", "AADToken"),
        "scoringUri": scoring_uri(req, resource.name),
        "swaggerUri": None,
        "provisioningState": "Succeeded",
        "defaults": resource.properties.get("defaults") or {"deploymentName": None},
    }
    return arm_resource(
        req,
        f"batchEndpoints/{resource.name}",
        resource.name,
        "batchEndpoints",
        props,
        resource,
        location=resource.location,
        tags=resource.tags,
        kind="BatchEndpoint",
        identity={"type": "None"},
    )


@blueprint.route(route=WS + "/batchEndpoints", methods=["GET"], auth_level=ANONYMOUS)
async def list_batch_endpoints(req: func.HttpRequest) -> func.HttpResponse:
    async def run() -> func.HttpResponse:
        return _list([_endpoint_body(req, r) for r in _catalog().store.list(ENDPOINTS)])

    return await handle(req, run)


@blueprint.route(
    route=WS + "/batchEndpoints/{endpoint}", methods=["GET", "PUT", "DELETE"], auth_level=ANONYMOUS
)
@_deletes("batch endpoint")
async def batch_endpoint(req: func.HttpRequest) -> func.HttpResponse:
    async def run() -> func.HttpResponse:
        catalog = _catalog()
        name = resource_name(req, "endpoint", "batch endpoint")
        method = req.method.upper()
        if method == "DELETE":
            for deployment in catalog.store.list(DEPLOYMENTS, name):
                catalog.store.delete(DEPLOYMENTS, deployment.key)
            return _deleted(catalog.store.delete(ENDPOINTS, name))
        if method == "GET":
            resource = catalog.store.get(ENDPOINTS, name)
            if resource is None:
                raise arm_error(404, "UserError", f"Batch endpoint '{name}' was not found.")
            return json_response(200, _endpoint_body(req, resource))
        body = parse(req, ResourceBody)
        props = validate_properties(BatchEndpointProperties, body.properties)
        default = (props.get("defaults") or {}).get("deploymentName")
        if (
            default
            and catalog.store.get(DEPLOYMENTS, f"{name}/{default}") is None
            and catalog.store.get(ENDPOINTS, name) is not None
        ):
            raise arm_error(
                400,
                "BadRequest",
                f"Deployment '{default}' does not exist under batch endpoint '{name}'.",
            )
        resource, created = catalog.store.put(ENDPOINTS, name, props, body.tags, body.location)
        return json_response(_put_status(created), _endpoint_body(req, resource))

    return await handle(req, run)


# ---------------------------------------------------------------------------------- deployments
def _deployment_body(req: func.HttpRequest, endpoint: str, resource: Resource) -> dict[str, Any]:
    props = {**resource.properties, "provisioningState": "Succeeded"}
    return arm_resource(
        req,
        f"batchEndpoints/{endpoint}/deployments/{resource.name}",
        resource.name,
        "batchEndpoints/deployments",
        props,
        resource,
        location=resource.location,
        tags=resource.tags,
    )


def _endpoint_or_404(catalog: Catalog, endpoint: str) -> Resource:
    resource = catalog.store.get(ENDPOINTS, endpoint)
    if resource is None:
        raise arm_error(404, "UserError", f"Batch endpoint '{endpoint}' was not found.")
    return resource


@blueprint.route(
    route=WS + "/batchEndpoints/{endpoint}/deployments", methods=["GET"], auth_level=ANONYMOUS
)
async def list_deployments(req: func.HttpRequest) -> func.HttpResponse:
    async def run() -> func.HttpResponse:
        catalog = _catalog()
        endpoint = resource_name(req, "endpoint", "batch endpoint")
        _endpoint_or_404(catalog, endpoint)
        return _list(
            [_deployment_body(req, endpoint, r) for r in catalog.store.list(DEPLOYMENTS, endpoint)]
        )

    return await handle(req, run)


@blueprint.route(
    route=WS + "/batchEndpoints/{endpoint}/deployments/{deployment}",
    methods=["GET", "PUT", "DELETE"],
    auth_level=ANONYMOUS,
)
@_deletes("deployment")
async def deployment(req: func.HttpRequest) -> func.HttpResponse:
    async def run() -> func.HttpResponse:
        catalog = _catalog()
        endpoint = resource_name(req, "endpoint", "batch endpoint")
        name = resource_name(req, "deployment", "deployment")
        key = f"{endpoint}/{name}"
        method = req.method.upper()
        if method == "DELETE":
            return _deleted(catalog.store.delete(DEPLOYMENTS, key))
        _endpoint_or_404(catalog, endpoint)
        if method == "GET":
            resource = catalog.store.get(DEPLOYMENTS, key)
            if resource is None:
                raise arm_error(
                    404,
                    "UserError",
                    f"Deployment '{name}' was not found under batch endpoint '{endpoint}'.",
                )
            return json_response(200, _deployment_body(req, endpoint, resource))
        body = parse(req, ResourceBody)
        props = validate_properties(BatchDeploymentProperties, body.properties)
        if props.get("codeConfiguration"):
            raise arm_error(
                400,
                "BadRequest",
                "Scoring scripts are not run by this service: "
                "remove codeConfiguration and declare the model's task "
                "(properties.task: image-classification or tabular).",
            )
        if not props.get("model"):
            raise arm_error(400, "BadRequest", "properties.model.assetId is required.")
        try:
            catalog.model_version(props["model"]["assetId"])
        except CatalogError as exc:
            raise arm_error(400, "BadRequest", exc.message) from None
        resource, created = catalog.store.put(DEPLOYMENTS, key, props, body.tags, body.location)
        return json_response(_put_status(created), _deployment_body(req, endpoint, resource))

    return await handle(req, run)
