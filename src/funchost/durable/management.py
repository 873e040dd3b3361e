"""The Durable extension's management HTTP API, served at rpcBaseUrl and the public webhook base.

`DurableOrchestrationClient` (SDK 1.x) calls these routes at `rpcBaseUrl`; the URLs it templates
into check-status responses point at `/runtime/webhooks/durabletask/`, so both bases share one
handler. Status codes and bodies follow the extension's `HttpApiHandler` (protocol note §4).
"""

from __future__ import annotations

import asyncio
import base64
import json
import math
from typing import Any
from urllib.parse import quote, unquote

from aiohttp import web

from funchost.durable import history as h
from funchost.durable.engine import TERMINAL, DurableEngine, DurableError
from funchost.durable.store import InstanceRow, StoreError

WEBHOOK_BASE = "/runtime/webhooks/durabletask"
RPC_BASE = "/durabletask"


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        status=status, text=json.dumps(body), content_type="application/json", headers=headers
    )


def _error(status: int, message: str) -> web.Response:
    return _json(status, {"Message": message, "ExceptionMessage": message})


def _flag(request: web.Request, name: str, default: bool = False) -> bool:
    value = request.query.get(name)
    return default if value is None else value.strip().lower() == "true"


def _loads(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def status_payload(
    row: InstanceRow, *, show_input: bool, history: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The status body the SDK parses into `DurableOrchestrationStatus`."""
    payload: dict[str, Any] = {
        "name": row.name,
        "instanceId": row.instance_id,
        "runtimeStatus": row.status,
        "input": _loads(row.raw_input) if show_input else None,
        "customStatus": _loads(row.custom_status),
        "output": _loads(row.output),
        "createdTime": h.status_timestamp(h.parse_timestamp(row.created_time)),
        "lastUpdatedTime": h.status_timestamp(h.parse_timestamp(row.last_updated_time)),
    }
    if history is not None:
        # only `historyEvents`, as the extension sends (the SDK's `status.history` stays None)
        payload["historyEvents"] = history
    return payload


_COMPLETIONS = {
    h.EventType.TaskCompleted,
    h.EventType.TaskFailed,
    h.EventType.SubOrchestrationInstanceCompleted,
    h.EventType.SubOrchestrationInstanceFailed,
}
_SCHEDULED = {h.EventType.TaskScheduled, h.EventType.SubOrchestrationInstanceCreated}
_HIDDEN = {h.EventType.OrchestratorStarted, h.EventType.OrchestratorCompleted}


def condensed_history(history: list[dict[str, Any]], *, show_output: bool) -> list[dict[str, Any]]:
    """The history as the extension renders it for `showHistory=true`.

    Episode markers are left out; completions name the function they belong to and when it was
    scheduled (the scheduling events themselves are folded in); results are parsed JSON and
    appear only with `showHistoryOutput=true`.
    """
    scheduled: dict[int, dict[str, Any]] = {}
    for event in history:
        if event["EventType"] in _SCHEDULED:
            scheduled[event["EventId"]] = event
    completed = {
        int(e.get("TaskScheduledId", -1)) for e in history if e["EventType"] in _COMPLETIONS
    }
    rendered: list[dict[str, Any]] = []
    for event in history:
        kind = h.EventType(event["EventType"])
        if kind in _HIDDEN or (kind in _SCHEDULED and event["EventId"] in completed):
            continue  # a scheduling event is folded into its completion
        item: dict[str, Any] = {"EventType": kind.name, "Timestamp": event.get("Timestamp")}
        if kind in _COMPLETIONS:
            origin = scheduled.get(int(event.get("TaskScheduledId", -1)), {})
            item["FunctionName"] = origin.get("Name")
            item["ScheduledTime"] = origin.get("Timestamp")
        for key, value in event.items():
            if key in (
                "EventType",
                "EventId",
                "IsPlayed",
                "Timestamp",
                "TaskScheduledId",
                "OrchestrationInstance",
                "ParentInstance",
                "Tags",
            ):
                continue
            if key == "Result" and not show_output:
                continue
            item[key] = _loads(value) if key in ("Result", "Input") else value
        if kind == h.EventType.ExecutionStarted:
            item["FunctionName"] = event.get("Name")
            item.pop("Name", None)
        rendered.append(item)
    return rendered


class ManagementApi:
    """Handlers for one engine; `public_base(request)` builds URLs for check-status payloads."""

    def __init__(self, engine: DurableEngine, hub_name: str, code: str | None) -> None:
        self._engine = engine
        self._hub = hub_name
        self._code = code

    # ---------------------------------------------------------------------------- URL builders
    def _query(self) -> str:
        query = f"taskHub={quote(self._hub)}&connection=Storage"
        return f"{query}&code={quote(self._code)}" if self._code else query

    def management_urls(self, origin: str, instance_id: str) -> dict[str, str]:
        """The check-status payload for `instance_id`, URLs rooted at `origin`."""
        base = f"{origin.rstrip('/')}{WEBHOOK_BASE}/instances/{quote(instance_id, safe='')}"
        q = self._query()
        return {
            "id": instance_id,
            "statusQueryGetUri": f"{base}?{q}",
            "sendEventPostUri": f"{base}/raiseEvent/{{eventName}}?{q}",
            "terminatePostUri": f"{base}/terminate?reason={{text}}&{q}",
            "rewindPostUri": f"{base}/rewind?reason={{text}}&{q}",
            "purgeHistoryDeleteUri": f"{base}?{q}",
            "restartPostUri": f"{base}/restart?{q}",
            "suspendPostUri": f"{base}/suspend?reason={{text}}&{q}",
            "resumePostUri": f"{base}/resume?reason={{text}}&{q}",
        }

    def client_binding(self, origin: str, rpc_base_url: str) -> str:
        """The JSON string a `durableClient` parameter receives (protocol note §1.6)."""
        urls = self.management_urls(origin, "INSTANCEID")
        urls["id"] = "INSTANCEID"
        base = f"{origin.rstrip('/')}{WEBHOOK_BASE}"
        q = self._query()
        return json.dumps(
            {
                "taskHubName": self._hub,
                "creationUrls": {
                    "createNewInstancePostUri": (
                        f"{base}/orchestrators/{{functionName}}[/{{instanceId}}]?{q}"
                    ),
                    "createAndWaitOnNewInstancePostUri": (
                        f"{base}/orchestrators/{{functionName}}[/{{instanceId}}]?timeout="
                        f"{{timeoutInSeconds}}&pollingInterval={{intervalInSeconds}}&{q}"
                    ),
                },
                "managementUrls": urls,
                "baseUrl": base,
                "requiredQueryStringParameters": f"code={self._code}" if self._code else "",
                "rpcBaseUrl": rpc_base_url,
                "httpBaseUrl": None,
                "connectionName": None,
            }
        )

    # ---------------------------------------------------------------------------- dispatching
    async def handle(self, request: web.Request, subpath: str) -> web.Response:
        """Route `subpath` (the part after the base, no leading slash) to its operation."""
        parts = [unquote(p) for p in subpath.split("/")]
        if parts and parts[-1] == "":
            parts = parts[:-1]
        method = request.method.upper()
        try:
            if parts[:1] == ["orchestrators"] and len(parts) in (2, 3) and method == "POST":
                return await self._start(request, parts[1], parts[2] if len(parts) == 3 else None)
            if parts == ["instances"]:
                if method == "GET":
                    return self._list(request)
                if method == "DELETE":
                    return self._purge_many(request)
            if parts[:1] == ["instances"] and len(parts) == 2:
                if method == "GET":
                    return self._status(request, parts[1])
                if method == "DELETE":
                    return self._purge_one(parts[1])
            if parts[:1] == ["instances"] and len(parts) == 3 and method == "POST":
                return self._operation(request, parts[1], parts[2])
            if (
                parts[:1] == ["instances"]
                and len(parts) == 4
                and parts[2] == "raiseEvent"
                and method == "POST"
            ):
                return await self._raise_event(request, parts[1], parts[3])
            if parts[:1] == ["entities"] and len(parts) == 3:
                if method == "GET":
                    return self._entity_state(parts[1], parts[2])
                if method == "POST":
                    return await self._signal_entity(request, parts[1], parts[2])
            if parts[:1] == ["entities"] and len(parts) <= 2 and method == "GET":
                return self._list_entities(request, parts[1] if len(parts) == 2 else None)
            if parts[:1] == ["entities"] and method == "DELETE":
                return _error(501, "Deleting entities is not supported by the embedded host.")
        except DurableError as exc:
            return _error(exc.status, exc.message)
        except StoreError as exc:
            return _error(503, f"The durable store is unavailable: {type(exc).__name__}: {exc}")
        return _error(404, f"No durable management operation matches {method} /{subpath}.")

    # ---------------------------------------------------------------------------- operations
    async def _start(
        self, request: web.Request, name: str, instance_id: str | None
    ) -> web.Response:
        body = await _body_text(request)
        raw_input = body if body.strip() else None
        if raw_input is not None:
            try:
                json.loads(raw_input)
            except (ValueError, RecursionError):
                return _error(400, "The request body must be JSON.")
        # checked before the instance starts: a bad wait must not leave a started orchestration
        timeout, interval = request.query.get("timeout"), request.query.get("pollingInterval")
        wait_seconds = _seconds(timeout, "timeout") if timeout else None
        poll_seconds = max(0.05, _seconds(interval, "pollingInterval")) if interval else 1.0
        instance_id = self._engine.start_orchestration(
            name, instance_id, raw_input, version=request.query.get("version")
        )
        origin = f"{request.scheme}://{request.host}"
        payload = self.management_urls(origin, instance_id)
        if wait_seconds:
            row = await self._wait(instance_id, wait_seconds, poll_seconds)
            if row is not None and row.status == "Completed":
                return _json(200, _loads(row.output))
            if row is not None and row.status in TERMINAL:
                # as the extension: the full status; 500 for a failure only when asked to
                failed = row.status == "Failed" and _flag(
                    request, "returnInternalServerErrorOnFailure"
                )
                return _json(500 if failed else 200, status_payload(row, show_input=True))
        return _json(202, payload, {"Location": payload["statusQueryGetUri"], "Retry-After": "10"})

    async def _wait(self, instance_id: str, timeout: float, interval: float) -> InstanceRow | None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            row = self._engine.get_instance(instance_id)
            if row is None or row.status in TERMINAL or loop.time() >= deadline:
                return row
            changed = self._engine.changed
            try:
                await asyncio.wait_for(changed.wait(), min(interval, deadline - loop.time()))
            except TimeoutError:
                pass

    def _status(self, request: web.Request, instance_id: str) -> web.Response:
        row = self._engine.get_instance(instance_id)
        if row is None:
            return web.Response(status=404)
        history = None
        if _flag(request, "showHistory"):
            history = condensed_history(
                self._engine.history_of(instance_id),
                show_output=_flag(request, "showHistoryOutput"),
            )
        payload = status_payload(row, show_input=_flag(request, "showInput", True), history=history)
        if row.status == "Failed" and _flag(request, "returnInternalServerErrorOnFailure"):
            return _json(500, payload)
        if row.status in TERMINAL:
            return _json(200, payload)
        return _json(202, payload, {"Location": str(request.url), "Retry-After": "5"})

    def _list(self, request: web.Request) -> web.Response:
        statuses = [s for s in request.query.get("runtimeStatus", "").split(",") if s.strip()]
        after = _continuation(request)
        limit = _top(request.query.get("top"))
        rows = self._engine.store.query_instances(
            created_from=_normalise_time(request.query.get("createdTimeFrom")),
            created_to=_normalise_time(request.query.get("createdTimeTo")),
            statuses=[s.strip() for s in statuses] or None,
            id_prefix=request.query.get("instanceIdPrefix"),
            after=after,
            limit=limit,
        )
        show_input = _flag(request, "showInput", False)
        headers = {}
        if limit is not None and len(rows) == limit:
            headers["x-ms-continuation-token"] = _token(rows[-1].created_time, rows[-1].instance_id)
        return _json(200, [status_payload(r, show_input=show_input) for r in rows], headers)

    def _purge_one(self, instance_id: str) -> web.Response:
        deleted = self._engine.purge(instance_id)
        if not deleted:
            return web.Response(status=404)
        return _json(200, {"instancesDeleted": deleted})

    def _purge_many(self, request: web.Request) -> web.Response:
        created_from = _normalise_time(request.query.get("createdTimeFrom"))
        if not created_from:
            return _error(400, "createdTimeFrom is required to purge instances by filter.")
        statuses = [
            s.strip() for s in request.query.get("runtimeStatus", "").split(",") if s.strip()
        ]
        rows = self._engine.store.query_instances(
            created_from=created_from,
            created_to=_normalise_time(request.query.get("createdTimeTo")),
            statuses=statuses or list(TERMINAL),
            id_prefix=None,
            after=None,
            limit=None,
        )
        deleted = sum(self._engine.purge(r.instance_id) for r in rows if r.status in TERMINAL)
        if not deleted:
            return web.Response(status=404)
        return _json(200, {"instancesDeleted": deleted})

    def _operation(self, request: web.Request, instance_id: str, operation: str) -> web.Response:
        reason = request.query.get("reason", "")
        if operation == "terminate":
            self._engine.terminate(instance_id, reason)
        elif operation == "suspend":
            self._engine.suspend(instance_id, reason)
        elif operation == "resume":
            self._engine.resume(instance_id, reason)
        elif operation == "restart":
            new_id = self._engine.restart(
                instance_id, _flag(request, "restartWithNewInstanceId", True)
            )
            origin = f"{request.scheme}://{request.host}"
            urls = self.management_urls(origin, new_id)
            return _json(202, urls, {"Location": urls["statusQueryGetUri"], "Retry-After": "10"})
        elif operation == "rewind":
            return _error(501, "Rewind is not supported by the embedded host.")
        else:
            return _error(404, f"Unknown instance operation '{operation}'.")
        return web.Response(status=202)

    def _list_entities(self, request: web.Request, name: str | None) -> web.Response:
        """`GET entities/[{name}]`: existing entities, paged with a continuation token."""
        after = _continuation(request)
        limit = _top(request.query.get("top"))
        rows = self._engine.store.list_entities(
            name.lower() if name else None, after=after, limit=limit
        )
        fetch_state = _flag(request, "fetchState")
        body = []
        for entity_name, key, state, updated in rows:
            item: dict[str, Any] = {
                "entityId": {"name": entity_name, "key": key},
                "lastOperationTime": h.status_timestamp(h.parse_timestamp(updated))
                if updated
                else None,
            }
            if fetch_state:
                item["state"] = _loads(state)
            body.append(item)
        headers = {}
        if limit is not None and len(rows) == limit:
            headers["x-ms-continuation-token"] = _token(rows[-1][0], rows[-1][1])
        return _json(200, body, headers)

    def _entity_state(self, name: str, key: str) -> web.Response:
        exists, state = self._engine.entities.read_state(name, key)
        if not exists:
            return web.Response(status=404)
        return web.Response(status=200, text=state or "null", content_type="application/json")

    async def _signal_entity(self, request: web.Request, name: str, key: str) -> web.Response:
        operation = request.query.get("op")
        if not operation:
            return _error(400, "The 'op' query parameter names the operation to signal.")
        if not self._engine.entities.known(name):
            return _error(404, f"No entity function named '{name}'.")
        body = await _body_text(request)
        try:
            op_input = entity_operation_input(body, request.content_type)
        except (ValueError, RecursionError):
            return _error(
                400, "The operation input must be JSON (application/json) or text (text/plain)."
            )
        self._engine.entities.signal(name, key, operation, op_input)
        return web.Response(status=202)

    async def _raise_event(
        self, request: web.Request, instance_id: str, event_name: str
    ) -> web.Response:
        if request.content_type != "application/json":
            return _error(400, "Only application/json request content is supported")
        body = await _body_text(request)
        try:
            json.loads(body) if body.strip() else None
        except (ValueError, RecursionError):
            return _error(400, "The event data must be JSON.")
        self._engine.raise_event(instance_id, event_name, body if body.strip() else None)
        return web.Response(status=202)


def entity_operation_input(body: str, content_type: str) -> str | None:
    """The operation input text an entity's `get_input()` decodes (it parses twice).

    The SDK client sends its input JSON-encoded twice (a JSON string holding JSON), which is
    kept as it is; a plain JSON value (curl, another language's client) or a text/plain body
    is wrapped so the entity receives that value.
    """
    if not body.strip():
        return None
    if content_type.startswith("text/"):
        return json.dumps(json.dumps(body))
    value = json.loads(body)  # ValueError: not JSON
    if isinstance(value, str):
        try:
            json.loads(value)
            return body  # the SDK's double encoding
        except (ValueError, RecursionError):
            return json.dumps(body)  # a bare JSON string value
    return json.dumps(body)


async def _body_text(request: web.Request) -> str:
    """The body as UTF-8 text; undecodable bytes are a client error (DurableError 400)."""
    raw = await request.read()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise DurableError(400, "The request body must be UTF-8 JSON.") from None


def _token(first: str, second: str) -> str:
    """A continuation token: the sort key of the last row of a page."""
    return base64.urlsafe_b64encode(json.dumps([first, second]).encode()).decode()


def _continuation(request: web.Request) -> tuple[str, str] | None:
    """The sort key a listing resumes after (`_token`'s pair), from the header or the query;
    anything else is a 400, never a store error."""
    token = request.headers.get("x-ms-continuation-token") or request.query.get("continuationToken")
    if not token:
        return None
    try:
        after = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, TypeError, RecursionError):
        after = None
    if not (
        isinstance(after, list) and len(after) == 2 and all(isinstance(part, str) for part in after)
    ):
        raise DurableError(400, "The continuation token is not valid.")
    return after[0], after[1]


def _normalise_time(text: str | None) -> str | None:
    """Filter times in the store's format, so string comparison orders them correctly."""
    if not text:
        return None
    try:
        return h.iso_timestamp(h.parse_timestamp(text))
    except (ValueError, TypeError, OverflowError):
        raise DurableError(400, f"'{text[:64]}' is not a valid ISO 8601 time.") from None


MAX_TOP = 1000
MAX_WAIT_SECONDS = 3600.0


def _top(text: str | None) -> int | None:
    """The page size of a listing: 1 to MAX_TOP (larger asks get MAX_TOP), else a 400."""
    if not text:
        return None
    if not (text.isascii() and text.isdigit()) or int(text[:12]) < 1:
        raise DurableError(400, "top must be a positive integer.")
    return min(int(text[:12]), MAX_TOP)


def _seconds(text: str, name: str) -> float:
    """A wait in seconds from a query parameter: finite, 0 to an hour, else a 400."""
    try:
        value = float(text)
    except ValueError:
        raise DurableError(400, f"{name} must be a number of seconds.") from None
    if not math.isfinite(value) or value < 0:
        raise DurableError(400, f"{name} must be a non-negative number of seconds.")
    return min(value, MAX_WAIT_SECONDS)
