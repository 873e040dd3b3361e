"""Durable Functions sample patterns as one v2 app: HTTP starter, blueprint, entities.

The end-to-end tests drive it over HTTP and through the SDK client; the patterns follow the
Durable Functions Python samples and documentation (this project's own code).
"""

import json

import azure.durable_functions as df
import azure.functions as func

from patterns_blueprint import bp
from shared_code.shapes import Parcel

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
app.register_functions(bp)


@app.route(route="orchestrators/{functionName}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def start_orchestration(req: func.HttpRequest, client) -> func.HttpResponse:
    body = req.get_body()
    payload = json.loads(body) if body else None
    instance_id = await client.start_new(
        req.route_params["functionName"], None, payload, version=req.params.get("version")
    )
    return client.create_check_status_response(req, instance_id)


@app.route(route="parcels/{label}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def start_parcel(req: func.HttpRequest, client) -> func.HttpResponse:
    """Starts `weigh_parcel` with a custom object as its input (the SDK serializes it)."""
    parcel = Parcel(req.route_params["label"], int(req.params.get("grams", "500")))
    instance_id = await client.start_new("weigh_parcel", client_input=parcel)
    return client.create_check_status_response(req, instance_id)


@app.route(route="resource", methods=["GET"])
def slow_resource(req: func.HttpRequest) -> func.HttpResponse:
    """A long-running-operation style resource: always 202 with a Location to poll."""
    return func.HttpResponse(
        "still working", status_code=202, headers={"Location": "http://example.invalid/status/1"}
    )


# -------------------------------------------------------------------------------- entities
@app.entity_trigger(context_name="context")
def tally(context: df.DurableEntityContext) -> None:
    total = context.get_state(lambda: 0)
    if context.operation_name == "add":
        total += context.get_input()
    elif context.operation_name == "reset":
        total = 0
    elif context.operation_name == "get":
        context.set_result(total)
    context.set_state(total)


@app.entity_trigger(context_name="context")
def notebook(context: df.DurableEntityContext) -> None:
    notes = context.get_state(lambda: [])
    if context.operation_name == "write":
        notes.append(context.get_input())
    context.set_state(notes)


@app.orchestration_trigger(context_name="context")
def tally_user(context: df.DurableOrchestrationContext):
    entity = df.EntityId("tally", context.get_input())
    context.signal_entity(entity, "reset")
    for amount in (4, 5, 6):
        context.signal_entity(entity, "add", amount)
    total = yield context.call_entity(entity, "get")
    context.signal_entity(entity, "add", 100)  # sent in the final episode: still delivered
    return total
