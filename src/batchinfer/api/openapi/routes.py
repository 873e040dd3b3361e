"""`GET openapi.json` (the generated document) and `GET docs/` (Swagger UI, no CDN).

The document is built from the app's own function index, handed in by the composition root
(`app.register_functions(openapi_blueprint(app))`), so it lists exactly the functions the
worker indexed. `FunctionApp.get_functions()` may run only once per app (it records names to
refuse duplicates, and the worker calls it), so the route table is read from the app's
function builders instead, each built as the worker builds it. Swagger UI's files come from
the `swagger-ui-py` package's bundled `static/` folder, found without importing the package.
"""

from __future__ import annotations

import importlib.util
import json
import mimetypes
from collections.abc import Callable
from pathlib import Path
from typing import Any

import azure.durable_functions as df
import azure.functions as func

from batchinfer.api.openapi.document import build_document

ANONYMOUS = func.AuthLevel.ANONYMOUS
SWAGGER_FILES = (
    "swagger-ui.css",
    "swagger-ui-bundle.js",
    "swagger-ui-standalone-preset.js",
    "favicon-32x32.png",
    "favicon-16x16.png",
)
DOCS_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>batchinfer API</title>
<link rel="stylesheet" href="swagger-ui.css"><link rel="icon" href="favicon-32x32.png"></head>
<body><div id="swagger-ui"></div>
<script src="swagger-ui-bundle.js"></script><script src="swagger-ui-standalone-preset.js"></script>
<script>
window.ui = SwaggerUIBundle({url: new URL("../openapi.json", window.location.href).href,
  dom_id: "#swagger-ui", deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset], layout: "StandaloneLayout",
  validatorUrl: null});
</script></body></html>
"""


def swagger_static() -> Path | None:
    """The folder of Swagger UI's dist files shipped by `swagger-ui-py`, if installed."""
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "static"
    return folder if folder.is_dir() else None


def server_url(req: func.HttpRequest, suffix: str) -> str:
    """Scheme, host and route prefix the client used, from the request URL."""
    url: str = req.url.split("?", 1)[0]
    return url[: len(url) - len(suffix)] if url.endswith(suffix) else url.rsplit("/", 1)[0]


def app_functions(app: Any) -> list[Any]:
    """The app's functions as the worker indexes them, without its one-time name check."""
    return [builder.build(app.auth_level) for builder in app._function_builders]


def openapi_blueprint(app: Any, functions: Callable[[], list[Any]] | None = None) -> df.Blueprint:
    """The two routes, reading the app's functions when asked (all are registered by then)."""
    blueprint = df.Blueprint()
    functions = functions or (lambda: app_functions(app))

    @blueprint.route(route="openapi.json", methods=["GET"], auth_level=ANONYMOUS)
    def openapi_document(req: func.HttpRequest) -> func.HttpResponse:
        """The OpenAPI 3.1 document of every HTTP route of the app."""
        document = build_document(functions(), server_url(req, "/openapi.json"))
        return func.HttpResponse(json.dumps(document), status_code=200, mimetype="application/json")

    @blueprint.route(route="docs/{*path}", methods=["GET"], auth_level=ANONYMOUS)
    def api_docs(req: func.HttpRequest) -> func.HttpResponse:
        """Swagger UI over `openapi.json`, served from the package's files."""
        if req.url.split("?", 1)[0].endswith("/docs"):
            return func.HttpResponse(status_code=302, headers={"Location": "docs/"})
        name = (req.route_params.get("path") or "").strip("/")
        if not name:
            return func.HttpResponse(
                DOCS_PAGE, status_code=200, mimetype="text/html", charset="utf-8"
            )
        folder = swagger_static()
        if name not in SWAGGER_FILES or folder is None:
            return func.HttpResponse(
                json.dumps({"error": {"code": "NotFound", "message": "No such file."}}),
                status_code=404,
                mimetype="application/json",
            )
        kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
        return func.HttpResponse(
            (folder / name).read_bytes(),
            status_code=200,
            headers={"Content-Type": kind, "Cache-Control": "max-age=3600"},
        )

    return blueprint
