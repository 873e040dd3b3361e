"""Liveness route: tells a caller the app is up and which version answers."""
from __future__ import annotations

import json

import azure.durable_functions as df
import azure.functions as func

from batchinfer import __version__

blueprint = df.Blueprint()


@blueprint.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def health(req: func.HttpRequest) -> func.HttpResponse:
    """Answer 200 with the service name and version; no dependency is touched."""
    body = {"status": "healthy", "service": "batchinfer", "version": __version__}
    return func.HttpResponse(json.dumps(body), status_code=200, mimetype="application/json")
