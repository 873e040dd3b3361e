"""Liveness route: tells a caller the app is up and which version answers."""

from __future__ import annotations

import json

import azure.durable_functions as df
import azure.functions as func

from batchinfer import __version__
from batchinfer.api.openapi import operation

blueprint = df.Blueprint()


@blueprint.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@operation(
    summary="Liveness, version and ONNX Runtime providers",
    tags=("health",),
    responses={200: {"type": "object", "required": ["status", "version"]}},
)
def health(req: func.HttpRequest) -> func.HttpResponse:
    """Answer 200 with the version and where inference runs (no model is loaded to answer).

    `onnxRuntime.selectedProviders` is the order new sessions use (CUDA first when a GPU is
    present); `onnxRuntime.sessions` maps each loaded model file to the provider it runs on.
    With `BATCHINFER_API_KEYS` set, a caller without a key gets the bare liveness answer only:
    versions and providers help an attacker more than a load balancer.
    """
    from batchinfer.api.auth import require_api_key
    from batchinfer.api.errors import ApiError
    from batchinfer.wiring import get_services

    try:
        require_api_key(req, get_services().settings.api_keys)
    except ApiError:
        return func.HttpResponse(
            json.dumps({"status": "healthy"}), status_code=200, mimetype="application/json"
        )
    from batchinfer.inference.runtime import (
        RuntimeSettings,
        available_providers,
        default_session_cache,
        select_providers,
    )

    body = {
        "status": "healthy",
        "service": "batchinfer",
        "version": __version__,
        "onnxRuntime": {
            "availableProviders": available_providers(),
            "selectedProviders": list(select_providers(RuntimeSettings.from_env().providers)),
            "sessions": default_session_cache().loaded(),
        },
    }
    return func.HttpResponse(json.dumps(body), status_code=200, mimetype="application/json")
