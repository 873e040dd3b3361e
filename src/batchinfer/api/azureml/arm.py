"""What every Azure ML route shares: the ARM path prefix, ids, auth, errors and resource shapes.

Routes hang under `azureml/` in the app's route prefix, so `AZUREML_DEV_URL_MFE=
http://host:7071/api/azureml` makes `azure-ai-ml` call them unchanged. Any subscription,
resource group and workspace name is accepted and echoed back in ids; one local workspace
serves them all. Errors are ARM's `{"error": {"code", "message"}}`.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

import azure.functions as func
from pydantic import BaseModel, ValidationError

from batchinfer.api.auth import KEY_HEADERS
from batchinfer.api.errors import ApiError, api_base, guarded, parse_json_body
from batchinfer.endpoints.workspace import NAME, Resource
from batchinfer.wiring import get_services

log = logging.getLogger("batchinfer.api.azureml")

PROVIDER = "Microsoft.MachineLearningServices"
WORKSPACE_ROUTE = (
    "azureml/subscriptions/{sub}/resourceGroups/{rg}/providers/"
    "Microsoft.MachineLearningServices/workspaces/{ws}"
)
ANONYMOUS = func.AuthLevel.ANONYMOUS


def arm_error(status: int, code: str, message: str) -> ApiError:
    return ApiError(status, code, message)


def error_response(error: ApiError) -> func.HttpResponse:
    """ARM errors carry no innererror; the detail goes into the message."""
    import json

    message = error.message
    if error.inner_message and error.inner_message != error.message:
        message = f"{error.message} {error.inner_message}"
    code = error.code if error.code != "InvalidRequest" else (error.inner_code or "BadRequest")
    return func.HttpResponse(
        json.dumps({"error": {"code": code, "message": message}}),
        status_code=error.status,
        mimetype="application/json",
    )


def require_token(req: func.HttpRequest) -> None:
    """`Authorization: Bearer <one of BATCHINFER_API_KEYS>` (the key headers work too)."""
    keys = get_services().settings.api_keys
    if not keys:
        return
    auth = req.headers.get("Authorization", "")
    supplied = auth[7:].strip() if auth[:7].lower() == "bearer " else ""
    supplied = (
        supplied or next((req.headers.get(h) for h in KEY_HEADERS if req.headers.get(h)), "") or ""
    )
    if not any(hmac.compare_digest(supplied.encode(), key.encode()) for key in keys):
        raise arm_error(
            401,
            "AuthenticationFailed",
            "Send one of the service's API keys as 'Authorization: Bearer <key>'.",
        )


async def handle(
    req: func.HttpRequest, handler: Callable[[], Awaitable[func.HttpResponse]]
) -> func.HttpResponse:
    async def authorised() -> func.HttpResponse:
        require_token(req)
        return await handler()

    return await guarded(authorised, error_response, log)


def parse(req: func.HttpRequest, model: type[BaseModel], what: str = "request body") -> Any:
    try:
        return model.model_validate(parse_json_body(req))
    except ApiError as exc:
        raise arm_error(400, "BadRequest", exc.inner_message or exc.message) from None
    except ValidationError as exc:
        first = exc.errors()[0]
        path = ".".join(str(p) for p in first.get("loc", ())) or what
        raise arm_error(
            400, "BadRequest", f"Invalid {what}: {path}: {first.get('msg', 'invalid value')}"
        ) from None


def validate_properties(model: type[BaseModel], properties: dict[str, Any]) -> dict[str, Any]:
    """Validate an envelope's `properties` and return them normalised to camelCase."""
    try:
        return model.model_validate(properties).model_dump(exclude_none=True)
    except ValidationError as exc:
        first = exc.errors()[0]
        path = ".".join(str(p) for p in ("properties", *first.get("loc", ())))
        raise arm_error(
            400, "BadRequest", f"Invalid request body: {path}: {first.get('msg', 'invalid value')}"
        ) from None


def resource_name(req: func.HttpRequest, param: str, what: str) -> str:
    name = str(req.route_params.get(param, ""))
    if not NAME.match(name):
        raise arm_error(400, "BadRequest", f"'{name}' is not a valid {what} name.")
    return name


def workspace_id(req: func.HttpRequest) -> str:
    p = req.route_params
    return (
        f"/subscriptions/{p.get('sub', '')}/resourceGroups/{p.get('rg', '')}/providers/"
        f"{PROVIDER}/workspaces/{p.get('ws', '')}"
    )


def base_url(req: func.HttpRequest) -> str:
    """`http://host:port/api/azureml`: what AZUREML_DEV_URL_MFE should be."""
    return api_base(req, "azureml") + "/azureml"


def workspace_url(req: func.HttpRequest) -> str:
    return base_url(req) + quote(workspace_id(req))


def system_data(resource: Resource) -> dict[str, Any]:
    return {
        "createdAt": resource.created,
        "createdBy": "batchinfer",
        "createdByType": "Application",
        "lastModifiedAt": resource.updated,
        "lastModifiedBy": "batchinfer",
        "lastModifiedByType": "Application",
    }


def arm_resource(
    req: func.HttpRequest,
    resource_path: str,
    name: str,
    type_: str,
    properties: dict[str, Any],
    resource: Resource | None = None,
    **extra: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": f"{workspace_id(req)}/{resource_path}",
        "name": name,
        "type": f"{PROVIDER}/workspaces/{type_}",
        "properties": properties,
    }
    if resource is not None:
        body["systemData"] = system_data(resource)
    body.update(extra)
    return body
