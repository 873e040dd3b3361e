"""The HTTP front door: HTTP-triggered functions, the durable webhooks, and clear errors.

One aiohttp application serves everything, like the Functions host does on port 7071:
`/{routePrefix}/...` for HTTP triggers (ASP.NET route templates, method filters, auth levels),
`/runtime/webhooks/durabletask/...` for the public durable management API,
`/durabletask/<secret>/...` as the SDK's `rpcBaseUrl` (loopback callers that know the host's
random path segment only), and `/admin/host/status`. The management API and admin routes always
need the admin key (configured, or derived by `funchost.host_secrets`). Anything else, and any
failure inside the host, answers JSON, never an HTML page or a hang.

Request bodies are guarded before they are read: keys are checked on the headers first (host
keys, and the app's own API keys when `FUNCHOST_API_KEYS_SETTING` names the app setting that holds
them), a declared length over the limit is refused unread, bodies are read in chunks with an idle
and a total deadline (slow clients get `408`), and all bodies in flight share one byte budget.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import os
import traceback
from dataclasses import dataclass
from typing import Any

import azure.functions as func
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestPayloadError

from funchost.app_index import FunctionSpec
from funchost.durable.management import RPC_BASE, WEBHOOK_BASE, ManagementApi
from funchost.host_secrets import HostSecrets
from funchost.invoker import Invoker
from funchost.request_body import BodyBudget, BodyRefused, read_body
from funchost.route_templates import RouteTemplate, best_match, compile_route
from funchost.settings import HostSettings

log = logging.getLogger("funchost.http")

MAX_BODY_BYTES = 100 * 1024 * 1024  # the Functions host's request size limit
API_KEY_HEADERS = ("Ocp-Apim-Subscription-Key", "api-key")
"""Where `FUNCHOST_API_KEYS_SETTING` keys are looked for (what Azure AI clients send)."""


def _error(status: int, code: str, message: str) -> web.Response:
    return web.Response(
        status=status,
        content_type="application/json",
        text=json.dumps({"error": {"code": code, "message": message}}),
    )


def _api_key_error() -> web.Response:
    """401 readable by both error dialects: `{"error": {...}}` and top-level `code`/`message`."""
    message = (
        "Access denied due to a missing or invalid key. Send it in the "
        "Ocp-Apim-Subscription-Key header (or as 'Authorization: Bearer <key>')."
    )
    return web.Response(
        status=401,
        content_type="application/json",
        text=json.dumps(
            {
                "error": {"code": "401", "message": message},
                "code": "401",
                "message": message,
                "detail": message,
            }
        ),
    )


def _header_text(request: web.Request, name: str) -> str:
    """A header as text; undecodable bytes never match a key (and never raise)."""
    value = request.headers.get(name) or ""
    return value if value.isprintable() else ""


@dataclass(frozen=True)
class HttpRoute:
    """An HTTP-triggered function with its compiled route and accepted methods."""

    spec: FunctionSpec
    template: RouteTemplate
    methods: frozenset[str] | None
    auth_level: str


def build_routes(functions: list[FunctionSpec]) -> list[HttpRoute]:
    routes = []
    for spec in functions:
        if spec.trigger_type != "httpTrigger":
            continue
        methods = spec.trigger.get("methods")
        routes.append(
            HttpRoute(
                spec=spec,
                template=compile_route(str(spec.trigger.get("route") or spec.name)),
                methods=frozenset(m.upper() for m in methods) if methods else None,
                auth_level=str(spec.trigger.get("authLevel") or "FUNCTION").upper(),
            )
        )
    return routes


def _is_loopback(remote: str | None) -> bool:
    try:
        return remote is not None and ipaddress.ip_address(remote).is_loopback
    except ValueError:
        return False


ROOT_PAGE = (
    "<!DOCTYPE html><html><head><title>Your Functions app is up and running</title>"
    "</head><body><h1>Your Functions 4.0 app is up and running</h1>"
    "<p>Azure Functions (embedded host, funchost)</p></body></html>"
)


class HttpFrontDoor:
    """Dispatches every request: functions, durable webhooks, admin, or a JSON 404."""

    def __init__(
        self,
        settings: HostSettings,
        functions: list[FunctionSpec],
        invoker: Invoker,
        management: ManagementApi | None,
        secrets: HostSecrets,
    ) -> None:
        self._settings = settings
        self._routes = build_routes(functions)
        self._invoker = invoker
        self._management = management
        self._secrets = secrets
        self._rpc_prefix = f"{RPC_BASE}/{secrets.rpc_token}/"
        self._rpc_base_url = f"http://127.0.0.1:{settings.port}{self._rpc_prefix}"
        self._budget = BodyBudget(settings.max_inflight_body_bytes)

    @property
    def rpc_base_url(self) -> str:
        return self._rpc_base_url

    @property
    def routes(self) -> list[HttpRoute]:
        return self._routes

    def application(self) -> web.Application:
        app = web.Application(
            client_max_size=MAX_BODY_BYTES,
            handler_args={
                "keepalive_timeout": self._settings.body_idle_timeout,
                "auto_decompress": False,
            },
        )  # request_body decodes, bounded
        app.router.add_route("*", r"/{tail:[\s\S]*}", self.dispatch)
        return app

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.raw_path.split("?", 1)[0]
        try:
            if path.startswith(RPC_BASE + "/") and self._management is not None:
                if not _is_loopback(request.remote) or not hmac.compare_digest(
                    path[: len(self._rpc_prefix)].encode(), self._rpc_prefix.encode()
                ):
                    return _error(404, "NotFound", f"No function or host route matches {path}.")
                return await self._management.handle(request, path[len(self._rpc_prefix) :])
            if path.startswith(WEBHOOK_BASE + "/") and self._management is not None:
                if not self._authorised(request, "ADMIN"):
                    return _error(401, "Unauthorized", "A valid system (master) key is required.")
                return await self._management.handle(request, path[len(WEBHOOK_BASE) + 1 :])
            if path.rstrip("/") == "/admin/host/status":
                if not self._authorised(request, "ADMIN"):
                    return _error(401, "Unauthorized", "A valid master key is required.")
                return web.json_response({"state": "Running", "version": "funchost"})
            if path == "/" and self._settings.route_prefix and request.method in ("GET", "HEAD"):
                return web.Response(text=ROOT_PAGE, content_type="text/html")  # as the host
            return await self._dispatch_function(request, path)
        except BodyRefused as refused:
            return _error(refused.status, refused.code, refused.message)
        except (RequestPayloadError, HttpProcessingError):  # a body that does not decode
            return _error(400, "InvalidBody", "The request body could not be read.")
        except web.HTTPException:
            raise
        except Exception:
            log.error(
                "Unhandled host error for %s %s\n%s", request.method, path, traceback.format_exc()
            )
            return _error(
                500,
                "InternalServerError",
                "The host failed to process the request; see the host log.",
            )

    def _relative_path(self, path: str) -> str | None:
        prefix = self._settings.route_prefix
        if not prefix:
            return path.lstrip("/")
        head = f"/{prefix}"
        if path.lower() == head.lower():
            return ""
        if path.lower().startswith(head.lower() + "/"):
            return path[len(head) + 1 :]
        return None

    async def _dispatch_function(self, request: web.Request, path: str) -> web.StreamResponse:
        relative = self._relative_path(path)
        if relative is None:
            return _error(404, "NotFound", f"No function or host route matches {path}.")
        method = request.method.upper()
        candidates = [
            (r.template, r) for r in self._routes if r.methods is None or method in r.methods
        ]
        found = best_match(candidates, relative)
        if found is None:
            if best_match([(r.template, r) for r in self._routes], relative) is not None:
                return _error(405, "MethodNotAllowed", f"{method} is not allowed on {path}.")
            return _error(404, "NotFound", f"No function matches {method} {path}.")
        route, route_params = found
        if not self._authorised(request, route.auth_level):
            return _error(
                401,
                "Unauthorized",
                "This function requires a key (the 'code' query parameter or the "
                "'x-functions-key' header).",
            )
        if request.body_exists and not self._exempt(route) and not self._api_key_present(request):
            return _api_key_error()  # refused on its headers: the body is never read
        return await self._invoke(request, route, route_params)

    def _authorised(self, request: web.Request, level: str) -> bool:
        settings = self._settings
        if level == "ANONYMOUS" or (level != "ADMIN" and not settings.keys_enabled):
            return True
        supplied = _header_text(request, "x-functions-key") or request.query.get("code") or ""
        accepted = [self._secrets.admin_key]
        if level == "FUNCTION" and settings.function_key:
            accepted.append(settings.function_key)
        raw = supplied.encode("utf-8", "replace")
        return any(hmac.compare_digest(raw, key.encode()) for key in accepted)

    def _exempt(self, route: HttpRoute) -> bool:
        """Routes that carry their own proof (e.g. a signed, expiring upload URL, which clients
        send without any key) are named in `FUNCHOST_API_KEYS_EXEMPT_ROUTES`."""
        template = str(route.spec.trigger.get("route") or route.spec.name).strip("/").lower()
        return any(template.startswith(p) for p in self._settings.api_keys_exempt_routes)

    def _api_key_present(self, request: web.Request) -> bool:
        """The app's own API keys (`FUNCHOST_API_KEYS_SETTING`), checked before a body is read;
        the app checks them again itself. No setting or no keys: nothing to check here."""
        setting = self._settings.api_keys_setting
        keys = [
            k.strip()
            for k in (os.environ.get(setting, "") if setting else "").split(",")
            if k.strip()
        ]
        if not keys:
            return True
        supplied = [v for v in (_header_text(request, h) for h in API_KEY_HEADERS) if v]
        authorization = _header_text(request, "Authorization")
        if authorization.lower().startswith("bearer "):
            supplied.append(authorization[7:].strip())
        return any(hmac.compare_digest(s.encode(), k.encode()) for s in supplied for k in keys)

    async def _invoke(
        self, request: web.Request, route: HttpRoute, route_params: dict[str, str]
    ) -> web.StreamResponse:
        async with self._budget.reserve(request, MAX_BODY_BYTES) as reservation:
            body = await read_body(
                request,
                reservation,
                MAX_BODY_BYTES,
                self._settings.body_idle_timeout,
                self._settings.body_total_timeout,
            )
            return await self._call(request, route, route_params, body)

    async def _call(
        self, request: web.Request, route: HttpRoute, route_params: dict[str, str], body: bytes
    ) -> web.StreamResponse:
        spec = route.spec
        http_request = func.HttpRequest(
            method=request.method.upper(),
            url=str(request.url),
            headers=dict(request.headers.items()),
            params=dict(request.query.items()),
            route_params=route_params,
            body=body,
        )
        kwargs: dict[str, Any] = {spec.trigger_param: http_request}
        if spec.client_param:
            origin = f"{request.scheme}://{request.host}"
            kwargs[spec.client_param] = self._management_binding(origin)
        try:
            result = await self._invoker.invoke(spec, kwargs)
        except Exception as exc:
            return _error(
                500,
                "FunctionInvocationError",
                f"Function '{spec.name}' failed: {type(exc).__name__}: {exc}",
            )
        return _to_response(result, spec.name)

    def _management_binding(self, origin: str) -> str:
        if self._management is None:
            raise RuntimeError("The app has no durable functions, so no durable client binding.")
        return self._management.client_binding(origin, self._rpc_base_url)


def _to_response(result: Any, function_name: str) -> web.StreamResponse:
    """Map what an HTTP function returned to a response, as the worker's $return binding does."""
    if isinstance(result, func.HttpResponse):
        headers = dict(result.headers.items())
        if not any(k.lower() == "content-type" for k in headers) and result.mimetype:
            charset = f"; charset={result.charset}" if result.charset else ""
            headers["Content-Type"] = f"{result.mimetype}{charset}"
        return web.Response(status=result.status_code, body=result.get_body(), headers=headers)
    if result is None:
        return web.Response(status=204)
    if isinstance(result, (str, bytes)):
        body = result if isinstance(result, bytes) else result.encode()
        return web.Response(status=200, body=body, content_type="text/plain")
    log.error(
        "Function %s returned %s, which is not an HTTP response",
        function_name,
        type(result).__name__,
    )
    return _error(
        500,
        "InvalidFunctionResult",
        f"Function '{function_name}' returned {type(result).__name__}, not an HttpResponse or str.",
    )
