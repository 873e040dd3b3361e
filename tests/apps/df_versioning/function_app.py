"""Orchestration versioning as the Durable Functions Python versioning sample shows it.

The orchestrator branches on `context.version`; the tests start an instance under
`defaultVersion` 1.0, stop the host while it waits for an event, "deploy" 2.0 by editing
host.json, and check that the old instance keeps its path while new sub-orchestrations and new
instances get 2.0 (this project's own code, modelled on the sample's README).
"""

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="orchestrators/{functionName}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def http_start(req: func.HttpRequest, client) -> func.HttpResponse:
    version = req.params.get("version")
    instance_id = await client.start_new(req.route_params["functionName"], version=version)
    return client.create_check_status_response(req, instance_id)


@app.orchestration_trigger(context_name="context")
def versioned_flow(context: df.DurableOrchestrationContext):
    if context.version == "1.0":
        step = yield context.call_activity("old_step")
    else:
        step = yield context.call_activity("new_step")
    context.set_custom_status("Waiting for Continue event...")
    yield context.wait_for_external_event("Continue")
    context.set_custom_status("Continue event received")
    pinned = yield context.call_sub_orchestrator("report_version", version="0.9")
    default = yield context.call_sub_orchestrator("report_version")
    return [
        f"Orchestration version: {context.version}",
        f"Suborchestration version (explicit): {pinned}",
        f"Suborchestration version (default): {default}",
        step,
    ]


@app.orchestration_trigger(context_name="context")
def report_version(context: df.DurableOrchestrationContext):
    return context.version


@app.activity_trigger(input_name="unused")
def old_step(unused) -> str:
    return "Hello from the old step!"


@app.activity_trigger(input_name="unused")
def new_step(unused) -> str:
    return "Hello from the new step!"
