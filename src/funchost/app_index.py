"""Loading a Python v2-model function app and describing its functions, as the worker does.

The real Python worker imports `function_app.py`, finds the single `FunctionRegister`, and calls
`get_functions()` once; we do the same and turn each function into a `FunctionSpec` the host can
route, trigger and invoke without touching the SDK's decorator internals again.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import json
import logging
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import azure.functions as func
from azure.functions.decorators.utils import StringifyEnumJsonEncoder

log = logging.getLogger("funchost.index")

DURABLE_TRIGGERS = {
    "orchestrationTrigger": "orchestration",
    "activityTrigger": "activity",
    "entityTrigger": "entityName",
}


class AppIndexError(Exception):
    """The app could not be imported or indexed; the message says why, for a human."""


@dataclass
class FunctionSpec:
    """One indexed function: its trigger, bindings and the callable to invoke."""

    name: str
    trigger_type: str
    trigger: dict[str, Any]
    bindings: list[dict[str, Any]]
    func: Callable[..., Any]
    is_async: bool
    parameters: dict[str, inspect.Parameter] = field(default_factory=dict)

    @property
    def trigger_param(self) -> str:
        return str(self.trigger.get("name"))

    @property
    def durable_name(self) -> str | None:
        """Name that call_activity / start_new use to address this function, if durable."""
        key = DURABLE_TRIGGERS.get(self.trigger_type)
        if key is None:
            return None
        return str(self.trigger.get(key) or self.name)

    @property
    def client_param(self) -> str | None:
        for binding in self.bindings:
            if binding.get("type") == "durableClient":
                return str(binding["name"])
        return None

    def input_bindings(self) -> list[dict[str, Any]]:
        """Non-trigger IN bindings (only the durable client is supported besides triggers)."""
        return [
            b
            for b in self.bindings
            if b.get("direction") == "IN"
            and b is not self.trigger
            and b.get("type") != self.trigger_type
        ]


def _binding_dict(binding: Any) -> dict[str, Any]:
    plain: dict[str, Any] = json.loads(
        json.dumps(binding.get_dict_repr(), cls=StringifyEnumJsonEncoder)
    )
    return plain


def _find_register(module: Any) -> func.FunctionRegister:
    registers = [v for v in vars(module).values() if isinstance(v, func.FunctionRegister)]
    if not registers:
        raise AppIndexError(
            "function_app.py defines no FunctionApp (or DFApp) instance: nothing to serve."
        )
    if len(registers) > 1:
        raise AppIndexError(
            "function_app.py defines more than one FunctionApp instance; the Functions worker "
            "accepts exactly one (register blueprints on a single app instead)."
        )
    return registers[0]


def import_app(app_dir: Path, script: str = "function_app.py") -> Any:
    """Import the app module from `app_dir` with the app root on sys.path, as the worker does."""
    script_path = app_dir / script
    if not script_path.is_file():
        raise AppIndexError(f"No {script} in {app_dir}: is --app-dir the function app's root?")
    root = str(app_dir.resolve())
    if root not in sys.path:
        sys.path.insert(0, root)
    module_name = script_path.stem
    sys.modules.pop(module_name, None)
    try:
        spec = importlib.util.spec_from_file_location(module_name, script_path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    except Exception as exc:  # the app's own import error, reported without a host traceback
        detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        raise AppIndexError(f"Importing {script_path} failed: {detail}") from exc
    return module


def index_app(module: Any) -> list[FunctionSpec]:
    """Index the app's functions exactly once (a second get_functions() call raises)."""
    register = _find_register(module)
    try:
        functions = register.get_functions()
    except Exception as exc:
        raise AppIndexError(f"Indexing the function app failed: {exc}") from exc
    specs: list[FunctionSpec] = []
    seen: set[str] = set()
    for function in functions:
        name = function.get_function_name()
        trigger = function.get_trigger()
        if name is None or trigger is None:  # the SDK's indexing sets both; say so if not
            raise AppIndexError(f"A function has no name or no trigger: {function!r}")
        if name.lower() in seen:
            raise AppIndexError(f"Two functions are named {name!r}; names must be unique.")
        seen.add(name.lower())
        bindings = [_binding_dict(b) for b in function.get_bindings()]
        trigger_dict = next(
            (
                b
                for b in bindings
                if b.get("type") == trigger.type and b.get("name") == trigger.name
            ),
            _binding_dict(trigger),
        )
        user_function = function.get_user_function()
        try:
            parameters = dict(inspect.signature(user_function).parameters)
        except (TypeError, ValueError):
            parameters = {}
        spec = FunctionSpec(
            name=name,
            trigger_type=str(trigger.type),
            trigger=trigger_dict,
            bindings=bindings,
            func=user_function,
            is_async=inspect.iscoroutinefunction(user_function),
            parameters=parameters,
        )
        durable = spec.trigger_type in ("orchestrationTrigger", "entityTrigger")
        if durable and spec.trigger_param != "context":
            log.warning(
                "Function %s names its %s parameter %r; the Azure Functions worker can only index "
                "it when the parameter is named 'context'.",
                name,
                spec.trigger_type,
                spec.trigger_param,
            )
        specs.append(spec)
    return specs


def load_functions(app_dir: Path) -> list[FunctionSpec]:
    """Import and index the app in `app_dir`."""
    return index_app(import_app(app_dir))
