"""A generic Durable Functions v2 app used by the host's end-to-end tests.

It knows nothing of batchinfer: it exercises the host the way any user app would (HTTP starter,
fan-out/fan-in, retries, sub-orchestrations, timers, external events, continue-as-new, blob
triggers). Side effects go to the folder named by the SAMPLE_OUTPUT_DIR setting.
"""

import json
import os
import time
from datetime import timedelta
from pathlib import Path

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


def _output_dir() -> Path:
    path = Path(os.environ.get("SAMPLE_OUTPUT_DIR", "sample-output"))
    path.mkdir(parents=True, exist_ok=True)
    return path


# ------------------------------------------------------------------------------------- HTTP
@app.route(route="orchestrators/{functionName}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def http_start(req: func.HttpRequest, client) -> func.HttpResponse:
    body = req.get_body()
    payload = json.loads(body) if body else None
    instance_id = await client.start_new(req.route_params["functionName"], None, payload)
    return client.create_check_status_response(req, instance_id)


@app.route(route="hello/{name:alpha}", methods=["GET"])
def hello(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(
        json.dumps({"hello": req.route_params["name"], "q": req.params.get("q")}),
        mimetype="application/json",
    )


@app.route(route="items/{id:int}/{*rest}", methods=["GET", "PUT"])
def items(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(
        json.dumps(
            {
                "id": req.route_params["id"],
                "rest": req.route_params.get("rest", ""),
                "method": req.method,
            }
        ),
        mimetype="application/json",
    )


@app.route(route="models/{modelId}:analyze", methods=["POST"])
def analyze(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(
        json.dumps({"modelId": req.route_params["modelId"], "body": req.get_json()}),
        status_code=202,
        mimetype="application/json",
        headers={"Operation-Location": "x"},
    )


@app.route(route="secret", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
def secret(req: func.HttpRequest) -> str:
    return "you may pass"


@app.route(route="boom", methods=["GET"])
def boom(req: func.HttpRequest) -> func.HttpResponse:
    raise RuntimeError("deliberate failure")


# ----------------------------------------------------------------------------- orchestrators
@app.orchestration_trigger(context_name="context")
def fan_out_fan_in(context: df.DurableOrchestrationContext):
    """Doubles every number; an item 'fail' makes one activity fail, which is reported."""
    items = context.get_input()
    context.set_custom_status({"phase": "fan-out", "count": len(items)})
    tasks = [context.call_activity("double", item) for item in items]
    try:
        results = yield context.task_all(tasks)
    except Exception as exc:  # task_all fails fast on the first failure
        return {"failed": str(exc).split("\n")[0]}
    context.set_custom_status({"phase": "done"})
    return {"sum": sum(results), "results": results}


@app.orchestration_trigger(context_name="context")
def retry_until_success(context: df.DurableOrchestrationContext):
    args = context.get_input()
    options = df.RetryOptions(
        first_retry_interval_in_milliseconds=200, max_number_of_attempts=args["max_attempts"]
    )
    result = yield context.call_activity_with_retry("flaky", options, args)
    return result


@app.orchestration_trigger(context_name="context")
def parent(context: df.DurableOrchestrationContext):
    value = context.get_input()
    child = yield context.call_sub_orchestrator("child", {"value": value})
    return {"child": child, "parent_id": context.instance_id}


@app.orchestration_trigger(context_name="context")
def child(context: df.DurableOrchestrationContext):
    args = context.get_input()
    doubled = yield context.call_activity("double", args["value"])
    return {"doubled": doubled, "my_parent": context.parent_instance_id}


@app.orchestration_trigger(context_name="context")
def wait_timer(context: df.DurableOrchestrationContext):
    seconds = context.get_input()
    started = context.current_utc_datetime
    yield context.create_timer(started + timedelta(seconds=seconds))
    return {"elapsed": (context.current_utc_datetime - started).total_seconds()}


@app.orchestration_trigger(context_name="context")
def approval(context: df.DurableOrchestrationContext):
    context.set_custom_status("waiting for approval")
    decision = yield context.wait_for_external_event("approve")
    return {"decision": decision}


@app.orchestration_trigger(context_name="context")
def counter(context: df.DurableOrchestrationContext):
    n = context.get_input()
    if n < 3:
        yield context.call_activity("double", n)
        context.continue_as_new(n + 1)
        return None
    return {"final": n}


@app.orchestration_trigger(context_name="context")
def ledger_fan_out(context: df.DurableOrchestrationContext):
    """Crash test: every item appends to a ledger file and returns its value."""
    args = context.get_input()
    tasks = [
        context.call_activity("record", {"item": i, "delay": args["delay"]})
        for i in range(args["count"])
    ]
    results = yield context.task_all(tasks)
    return {"count": len(results), "sum": sum(results)}


@app.orchestration_trigger(context_name="context")
def noop_fan_out(context: df.DurableOrchestrationContext):
    """Benchmark: a fan-out of no-op activities."""
    count = context.get_input()
    results = yield context.task_all([context.call_activity("noop", i) for i in range(count)])
    return len(results)


@app.orchestration_trigger(context_name="context")
def noop_nested_fan_out(context: df.DurableOrchestrationContext):
    """Benchmark: the same no-op fan-out cut into sub-orchestrations of `per` activities."""
    args = context.get_input()
    count, per = args["count"], args["per"]
    sizes = [min(per, count - first) for first in range(0, count, per)]
    counts = yield context.task_all(
        [context.call_sub_orchestrator("noop_fan_out", size) for size in sizes]
    )
    return sum(counts)


@app.orchestration_trigger(context_name="context")
def entity_user(context: df.DurableOrchestrationContext):
    """Signals and calls a counter entity; a failing operation comes back as an exception."""
    entity = df.EntityId("counter_entity", context.get_input())
    context.signal_entity(entity, "reset")
    for amount in (1, 2, 3):
        yield context.call_entity(entity, "add", amount)
    total = yield context.call_entity(entity, "get")
    try:
        yield context.call_entity(entity, "fail")
        error = None
    except Exception as exc:
        error = str(exc)
    return {"total": total, "error": error}


# ---------------------------------------------------------------------------------- entities
@app.entity_trigger(context_name="context")
def counter_entity(context: df.DurableEntityContext) -> None:
    current = context.get_state(lambda: 0)
    operation = context.operation_name
    if operation == "add":
        current += context.get_input()
    elif operation == "reset":
        current = 0
    elif operation == "get":
        context.set_result(current)
    elif operation == "fail":
        raise ValueError("the counter refuses")
    context.set_state(current)


# -------------------------------------------------------------------------------- activities
@app.activity_trigger(input_name="value")
def double(value):
    if value == "fail":
        raise ValueError("boom on item fail")
    return value * 2


@app.activity_trigger(input_name="args")
def flaky(args: dict) -> str:
    counter_file = Path(args["counter_file"])
    attempts = int(counter_file.read_text()) + 1 if counter_file.exists() else 1
    counter_file.write_text(str(attempts))
    if attempts < args["succeed_on"]:
        raise RuntimeError(f"transient failure on attempt {attempts}")
    return f"succeeded on attempt {attempts}"


@app.activity_trigger(input_name="args")
def record(args: dict) -> int:
    time.sleep(args["delay"])
    with open(_output_dir() / "ledger.txt", "a", encoding="utf-8") as ledger:
        ledger.write(f"{args['item']}\n")
    return args["item"]


@app.activity_trigger(input_name="value")
def noop(value):
    return value


# ----------------------------------------------------------------------------- blob triggers
@app.blob_trigger(arg_name="blob", path="inbox/{name}", connection="SAMPLE_FOLDER_STORAGE")
def folder_upload(blob: func.InputStream) -> None:
    _write_receipt("folder", blob)


@app.blob_trigger(
    arg_name="blob", path="uploads/{name}", connection="SAMPLE_AZURITE_STORAGE", source="EventGrid"
)
def azurite_upload(blob: func.InputStream) -> None:
    _write_receipt("azurite", blob)


def _write_receipt(kind: str, blob: func.InputStream) -> None:
    data = blob.read()
    receipt = {
        "name": blob.name,
        "length": blob.length,
        "uri": blob.uri,
        "content": data.decode("utf-8", "replace"),
    }
    safe = blob.name.replace("/", "__")
    with open(_output_dir() / f"{kind}-{safe}.json", "a", encoding="utf-8") as handle:
        handle.write(json.dumps(receipt) + "\n")
