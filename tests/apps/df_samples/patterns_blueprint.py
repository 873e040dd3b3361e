"""Orchestration patterns registered through a Durable blueprint (`df.Blueprint`).

Function chaining, fan-out/fan-in, sub-orchestrations, custom argument serialization, retries,
human interaction, a timeout race and `call_http`: the patterns of the Durable Functions Python
samples and documentation, written as this project's own small functions.
"""

import json
import os
import time
from datetime import timedelta
from pathlib import Path

import azure.durable_functions as df

from shared_code.shapes import Parcel

bp = df.Blueprint()


# ------------------------------------------------------------------------- function chaining
@bp.orchestration_trigger(context_name="context")
def greet_cities(context: df.DurableOrchestrationContext):
    greetings = []
    for city in ("Lisbon", "Nairobi", "Osaka"):
        greetings.append((yield context.call_activity("greet", city)))
    return greetings


@bp.activity_trigger(input_name="city")
def greet(city: str) -> str:
    return f"Hello {city}!"


# -------------------------------------------------------------------------- fan-out/fan-in
@bp.orchestration_trigger(context_name="context")
def measure_folder(context: df.DurableOrchestrationContext):
    files = yield context.call_activity("list_files", context.get_input())
    sizes = yield context.task_all([context.call_activity("file_size", f) for f in files])
    return {"files": len(files), "bytes": sum(sizes)}


@bp.activity_trigger(input_name="folder")
def list_files(folder: str) -> list:
    return sorted(str(p) for p in Path(folder).rglob("*") if p.is_file())


@bp.activity_trigger(input_name="path")
def file_size(path: str) -> int:
    return Path(path).stat().st_size


# ------------------------------------------------------------------------- sub-orchestration
@bp.orchestration_trigger(context_name="context")
def provision_devices(context: df.DurableOrchestrationContext):
    devices = context.get_input()
    children = [
        context.call_sub_orchestrator("provision_device", d, f"device-{d}") for d in devices
    ]
    return (yield context.task_all(children))


@bp.orchestration_trigger(context_name="context")
def provision_device(context: df.DurableOrchestrationContext):
    key = yield context.call_activity("issue_key", context.get_input())
    return {
        "device": context.get_input(),
        "key": key,
        "instance": context.instance_id,
        "parent": context.parent_instance_id,
    }


@bp.orchestration_trigger(context_name="context")
def provision_with_retry(context: df.DurableOrchestrationContext):
    args = context.get_input()
    options = df.RetryOptions(first_retry_interval_in_milliseconds=50, max_number_of_attempts=3)
    return (
        yield context.call_sub_orchestrator_with_retry(
            "fragile_device", options, args, f"fragile-{args['device']}"
        )
    )


@bp.orchestration_trigger(context_name="context")
def fragile_device(context: df.DurableOrchestrationContext):
    """Fails until its counter says otherwise (the counter is bumped by an activity)."""
    attempt = yield context.call_activity("unreliable", context.get_input())
    return {"attempt": attempt, "instance": context.instance_id}


@bp.activity_trigger(input_name="device")
def issue_key(device: str) -> str:
    return f"key-{device[::-1]}"


# ------------------------------------------------------------- custom argument serialization
@bp.orchestration_trigger(context_name="context")
def weigh_parcel(context: df.DurableOrchestrationContext):
    parcel: Parcel = context.get_input()
    heavier: Parcel = yield context.call_activity("add_packaging", parcel)
    return {"label": heavier.label, "grams": heavier.grams, "type": type(heavier).__name__}


@bp.activity_trigger(input_name="parcel")
def add_packaging(parcel: Parcel) -> Parcel:
    return parcel.heavier(25)


# ------------------------------------------------------------------------------------ retry
@bp.orchestration_trigger(context_name="context")
def unreliable_chain(context: df.DurableOrchestrationContext):
    options = df.RetryOptions(first_retry_interval_in_milliseconds=50, max_number_of_attempts=4)
    return (yield context.call_activity_with_retry("unreliable", options, context.get_input()))


@bp.activity_trigger(input_name="args")
def unreliable(args: dict) -> str:
    counter = Path(args["counter"])
    attempt = int(counter.read_text()) + 1 if counter.exists() else 1
    counter.write_text(str(attempt))
    if attempt < args["succeed_on"]:
        raise ConnectionError(f"attempt {attempt} failed")
    return f"succeeded on attempt {attempt}"


# ------------------------------------------------------------------------- human interaction
@bp.orchestration_trigger(context_name="context")
def expense_approval(context: df.DurableOrchestrationContext):
    seconds = context.get_input()
    deadline = context.current_utc_datetime + timedelta(seconds=seconds)
    timer = context.create_timer(deadline)
    decision = context.wait_for_external_event("ApprovalEvent")
    context.set_custom_status("awaiting approval")
    winner = yield context.task_any([decision, timer])
    if winner == decision:
        timer.cancel()
        return {"outcome": "approved", "by": json.loads(decision.result)}
    return {"outcome": "escalated"}


# ------------------------------------------------------------------------------ timeout race
@bp.orchestration_trigger(context_name="context")
def race_the_clock(context: df.DurableOrchestrationContext):
    args = context.get_input()
    work = context.call_activity("take_time", args["work_seconds"])
    timer = context.create_timer(
        context.current_utc_datetime + timedelta(seconds=args["limit_seconds"])
    )
    winner = yield context.task_any([work, timer])
    if winner == work:
        timer.cancel()
        return {"result": work.result}
    return {"result": "timed out"}


@bp.orchestration_trigger(context_name="context")
def slow_chain(context: df.DurableOrchestrationContext):
    return (yield context.call_activity("take_time", context.get_input()))


@bp.activity_trigger(input_name="seconds")
def take_time(seconds: float) -> str:
    time.sleep(seconds)
    return f"done after {seconds}s"


# ---------------------------------------------------------------------------------- call_http
@bp.orchestration_trigger(context_name="context")
def poll_resource(context: df.DurableOrchestrationContext):
    response = yield context.call_http("GET", context.get_input())
    return {
        "status": response["statusCode"],
        "location": response["headers"].get("Location"),
        "content": response["content"],
    }


# ----------------------------------------------------------------------- continue-as-new
@bp.orchestration_trigger(context_name="context")
def generations(context: df.DurableOrchestrationContext):
    """Each generation's first episode takes a while, so it can be observed from outside:
    generation 0 drops a marker file when its (final) episode starts."""
    args = context.get_input()
    if not context.is_replaying:
        if args["generation"] == 0:
            Path(args["marker"]).write_text("generation 0 is running")
        time.sleep(float(os.environ.get("SAMPLES_EPISODE_SECONDS", "1.0")))
    if args["generation"] == 0:
        context.continue_as_new({**args, "generation": 1})
        return None
    return (yield context.wait_for_external_event("ping"))


# ------------------------------------------------------------- a library calling sys.exit()
@bp.orchestration_trigger(context_name="context")
def survive_exit(context: df.DurableOrchestrationContext):
    try:
        yield context.call_activity("exits", None)
        first = "no exit"
    except Exception as exc:
        first = str(exc).split(" \n")[0]
    return [first, (yield context.call_activity("greet", "afterwards"))]


@bp.activity_trigger(input_name="unused")
def exits(unused) -> None:
    raise SystemExit("a library gave up")


# ------------------------------------------------------------------------------------ failure
@bp.orchestration_trigger(context_name="context")
def doomed(context: df.DurableOrchestrationContext):
    yield context.call_activity("greet", "nowhere")
    raise RuntimeError("doomed by design")
