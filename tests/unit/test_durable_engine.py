"""The engine's task-id assignment and DTFx retry emulation, driven by the real SDK replay.

In-process and in-memory (SQLite `:memory:`): orchestrators from a small DFApp defined here run
through `Orchestrator.create(...).handle`, so any drift between the host's ids and the SDK's
would surface as a stalled orchestration or a "Potential duplicate Task completion" warning.
"""

from __future__ import annotations

import asyncio
import types
import warnings
from datetime import timedelta
from pathlib import Path
from typing import Any

import azure.durable_functions as df
import azure.functions as func
import pytest

from funchost.app_index import index_app
from funchost.durable.actions import flatten_actions
from funchost.durable.engine import DurableEngine
from funchost.durable.store import DurableStore
from funchost.invoker import Invoker

ATTEMPTS: dict[str, int] = {}


def _build_app() -> types.ModuleType:
    app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)

    @app.orchestration_trigger(context_name="context")
    def protocol_walkthrough(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
        results: list[Any] = []
        try:
            yield context.task_all([context.call_activity("double", x) for x in (1, "fail", 3)])
        except Exception as exc:
            results.append(str(exc).split("\n")[0])
        retry = df.RetryOptions(10, 2)
        results.append((yield context.call_activity_with_retry("flaky", retry, "walk")))
        results.append((yield context.call_sub_orchestrator("child", 4)))
        yield context.create_timer(context.current_utc_datetime + timedelta(milliseconds=50))
        results.append((yield context.wait_for_external_event("approve")))
        return results

    @app.orchestration_trigger(context_name="context")
    def child(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
        return (yield context.call_activity("double", context.get_input()))

    @app.orchestration_trigger(context_name="context")
    def retry_race(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
        """task_any([retry(A), B]) then C, plus two concurrent always-failing retries."""
        retry = df.RetryOptions(10, 3)
        first = yield context.task_any(
            [
                context.call_activity_with_retry("always_fails", retry, "a"),
                context.call_activity("double", 5),
            ]
        )
        after = yield context.call_activity("double", 6)
        outcomes = []
        for name in ("x", "y"):
            try:
                outcomes.append(
                    (
                        yield context.call_activity_with_retry(
                            "always_fails", df.RetryOptions(10, 2), name
                        )
                    )
                )
            except Exception as exc:
                outcomes.append(str(exc).split("\n")[0])
        both = []
        try:
            yield context.task_all(
                [
                    context.call_activity_with_retry("always_fails", df.RetryOptions(10, 2), "p"),
                    context.call_activity_with_retry("always_fails", df.RetryOptions(10, 2), "q"),
                ]
            )
        except Exception as exc:
            both.append(str(exc).split(":")[0])
        tail = yield context.task_all([context.call_activity("double", i) for i in range(3)])
        return {
            "first": first.result,
            "after": after,
            "outcomes": outcomes,
            "both": both,
            "tail": tail,
        }

    @app.activity_trigger(input_name="value")
    def double(value):  # type: ignore[no-untyped-def]
        if value == "fail":
            raise ValueError("boom")
        return value * 2

    @app.activity_trigger(input_name="key")
    def flaky(key: str) -> str:
        ATTEMPTS[key] = ATTEMPTS.get(key, 0) + 1
        if ATTEMPTS[key] < 2:
            raise RuntimeError("transient")
        return "ok"

    @app.activity_trigger(input_name="key")
    def always_fails(key: str) -> str:
        ATTEMPTS[key] = ATTEMPTS.get(key, 0) + 1
        raise RuntimeError(f"nope {key}")

    module = types.ModuleType("engine_test_app")
    module.app = app  # type: ignore[attr-defined]
    return module


async def _run(
    orchestrator: str, payload: Any, *, event: tuple[str, str] | None = None, timeout: float = 20
) -> tuple[Any, list[dict[str, Any]]]:
    from concurrent.futures import ThreadPoolExecutor

    functions = index_app(_build_app())
    store = DurableStore(Path(":memory:"))
    engine = DurableEngine(
        store=store,
        functions=functions,
        invoker=Invoker(Path("."), ThreadPoolExecutor(4)),
        max_activities=4,
        max_orchestrators=1,
    )
    await engine.start()
    try:
        instance_id = engine.start_orchestration(
            orchestrator, None, None if payload is None else f'"{payload}"'
        )
        deadline = asyncio.get_running_loop().time() + timeout
        raised = False
        while True:
            row = engine.get_instance(instance_id)
            assert row is not None
            if row.status in ("Completed", "Failed", "Terminated"):
                break
            if event and not raised and row.custom_status is None and row.status == "Running":
                history = engine.history_of(instance_id)
                # raise once the timer fired, so the wait is registered (an event that arrives
                # earlier is buffered by the SDK, but it warns about it)
                if any(e["EventType"] == 11 and e["TimerId"] == 7 for e in history):
                    engine.raise_event(instance_id, event[0], event[1])
                    raised = True
            assert asyncio.get_running_loop().time() < deadline, "orchestration stalled"
            await asyncio.sleep(0.01)
        return row, engine.history_of(instance_id)
    finally:
        await engine.stop()
        store.close()


def _run_sync(*args: Any, **kwargs: Any) -> tuple[Any, list[dict[str, Any]]]:
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # a duplicate-completion warning fails
        return asyncio.run(_run(*args, **kwargs))


def test_flatten_expands_compounds_in_document_order() -> None:
    actions = [
        [
            {
                "actionType": 12,
                "compoundActions": [
                    {"actionType": 0, "functionName": "a"},
                    {
                        "actionType": 11,
                        "compoundActions": [
                            {"actionType": 5},
                            {"actionType": 0, "functionName": "b"},
                        ],
                    },
                ],
            },
            {"actionType": 6, "externalEventName": "e"},
            {"actionType": 0, "functionName": "c"},
        ]
    ]
    kinds = [(a["actionType"], a.get("functionName")) for a in flatten_actions(actions)]
    assert kinds == [(0, "a"), (5, None), (0, "b"), (6, None), (0, "c")]


def test_ids_follow_the_sdk_sequence_through_retries_suborchestration_and_timer() -> None:
    ATTEMPTS.clear()
    row, history = _run_sync("protocol_walkthrough", None, event=("approve", '"yes"'))
    assert row.status == "Completed", row.output
    scheduling = [(e["EventType"], e["EventId"]) for e in history if e["EventType"] in (4, 7, 10)]
    # fan-out 0,1,2; flaky attempt 3; retry timer 4; attempt 5; sub-orchestration 6; timer 7
    assert scheduling == [(4, 0), (4, 1), (4, 2), (4, 3), (10, 4), (4, 5), (7, 6), (10, 7)]
    import json

    assert json.loads(row.output) == [
        "Activity function 'double' failed: ValueError: boom ",
        "ok",
        8,
        "yes",
    ]
    assert ATTEMPTS["walk"] == 2


def test_retry_events_are_delivered_one_per_episode_without_id_drift() -> None:
    ATTEMPTS.clear()
    row, history = _run_sync("retry_race", None)
    assert row.status == "Completed", row.output
    import json

    output = json.loads(row.output)
    assert output["first"] == 10
    assert output["after"] == 12
    assert output["outcomes"] == [
        "Activity function 'always_fails' failed: RuntimeError: nope x ",
        "Activity function 'always_fails' failed: RuntimeError: nope y ",
    ]
    assert output["both"] == ["Activity function 'always_fails' failed"]
    assert output["tail"] == [0, 2, 4]
    # DTFx semantics: each attempt is retried until maxNumberOfAttempts, then one more timer
    assert ATTEMPTS == {"a": 3, "x": 2, "y": 2, "p": 2, "q": 2}
    timer_ids = [e["EventId"] for e in history if e["EventType"] == 10]
    task_ids = [e["EventId"] for e in history if e["EventType"] == 4]
    assert len(set(timer_ids + task_ids)) == len(timer_ids) + len(task_ids)
    assert len(timer_ids) == 3 + 2 + 2 + 2 + 2  # one timer after every failed attempt


@pytest.mark.parametrize(
    "raw,expected",
    [
        (None, None),
        ('"[1, 2]"', "[1, 2]"),
        ("[1, 2]", "[1, 2]"),
        ("7", "7"),
        ('"x"', "x"),
    ],
)
def test_context_input_matches_what_the_extension_sends(raw: str | None, expected: Any) -> None:
    from funchost.durable.engine import context_input_for

    assert context_input_for(raw) == expected
