"""The function app gets exactly the Azure settings src/batchinfer/settings.py declares.

Why: `SETTINGS` is the one list of app settings. A setting the code reads but infra never emits
fails only in Azure, and one infra emits but nothing declares is dead configuration; both show up
here. The names are read from the Bicep parse trees, following the settings object from main.bicep
into each hosting mode's module and down to where it becomes app settings.
"""

from __future__ import annotations

from tree_sitter import Node

from batchinfer.settings import SETTINGS
from tests.infra.bicep_tree import BicepFile, literal, object_keys, parse, prop

AZURE_SETTINGS = {s.name for s in SETTINGS if s.azure}

# Flex Consumption rejects FUNCTIONS_WORKER_RUNTIME as an app setting; it is carried by
# functionAppConfig.runtime.name instead.
CARRIED_BY_FLEX_RUNTIME = "FUNCTIONS_WORKER_RUNTIME"


def _setting_names(file: BicepFile, expression: Node) -> set[str]:
    """Names in a settings expression: object literals, vars holding them, and union(...)."""
    if expression.type == "object":
        return set(object_keys(expression))
    if expression.type == "identifier":
        return _setting_names(file, file.get("var", expression.text.decode()).value)
    if expression.type == "call_expression":
        function = expression.child_by_field_name("function")
        assert function is not None and function.text.decode() == "union", expression.text
        arguments = next(c for c in expression.named_children if c.type == "arguments")
        names: set[str] = set()
        for argument in arguments.named_children:
            names |= _setting_names(file, argument)
        return names
    raise AssertionError(f"can't read setting names from {expression.text.decode()!r}")


def _module(main: BicepFile, path: str):  # type: ignore[no-untyped-def]
    return next(m for m in main.modules() if m.type_string == path)


def gpu_container_app_settings() -> set[str]:
    main = parse("main.bicep")
    module = _module(main, "app/function-app.bicep")
    passed = _setting_names(main, prop(module.body, "params", "appSettings"))

    # ...and the module turns every key of `appSettings` into a container environment variable.
    app_file = parse("app/function-app.bicep")
    app = next(r for r in app_file.resources("Microsoft.App/containerApps"))
    container = prop(app.body, "properties", "template", "containers").named_children[0]
    env = prop(container, "env")
    assert env is not None and env.type == "for_statement", "env must be built from appSettings"
    loop_source = [c.text.decode() for c in env.named_children if c.type == "call_expression"]
    assert loop_source == ["items(appSettings)"], loop_source
    item = env.named_children[0].text.decode()
    body = next(c for c in env.named_children if c.type == "object")
    assert prop(body, "name").text.decode() == f"{item}.key"
    assert f"{item}.value" in prop(body, "value").text.decode()
    return passed


def flex_app_settings() -> tuple[set[str], set[str]]:
    """(names emitted as app settings, names carried by functionAppConfig.runtime)."""
    main = parse("main.bicep")
    module = _module(main, "app/flex-function.bicep")
    passed = _setting_names(main, prop(module.body, "params", "appSettings"))
    runtime_arg = prop(module.body, "params", "runtimeName")
    assert runtime_arg is not None and runtime_arg.type == "member_expression"
    carried = {runtime_arg.child_by_field_name("property").text.decode()}  # type: ignore[union-attr]

    flex = parse("app/flex-function.bicep")
    config = next(
        r
        for r in flex.resources("Microsoft.Web/sites/config")
        if literal(prop(r.body, "name")) == "appsettings"
    )
    assert prop(config.body, "properties").text.decode() == "appSettings"
    site = next(r for r in flex.resources("Microsoft.Web/sites"))
    runtime = prop(site.body, "properties", "functionAppConfig", "runtime", "name")
    assert runtime is not None and runtime.text.decode() == "runtimeName"
    return passed, carried


def test_gpu_container_app_emits_exactly_the_azure_settings() -> None:
    emitted = gpu_container_app_settings()
    assert emitted == AZURE_SETTINGS, (
        f"missing from infra: {sorted(AZURE_SETTINGS - emitted)}; "
        f"not declared in settings.py: {sorted(emitted - AZURE_SETTINGS)}"
    )


def test_flex_app_emits_exactly_the_azure_settings() -> None:
    app_settings, carried = flex_app_settings()
    assert carried == {CARRIED_BY_FLEX_RUNTIME}
    assert CARRIED_BY_FLEX_RUNTIME not in app_settings
    emitted = app_settings | carried
    assert emitted == AZURE_SETTINGS, (
        f"missing from infra: {sorted(AZURE_SETTINGS - emitted)}; "
        f"not declared in settings.py: {sorted(emitted - AZURE_SETTINGS)}"
    )


def test_connections_are_identity_based() -> None:
    main = parse("main.bicep")
    shared = main.get("var", "sharedAppSettings").value
    values = {key: prop(shared, key).text.decode() for key in object_keys(shared)}
    for connection in ("AzureWebJobsStorage", "BATCHINFER_INBOX_STORAGE"):
        assert values[f"{connection}__credential"] == "'managedidentity'"
        assert values[f"{connection}__clientId"] == "identity.outputs.clientId"
        assert values[f"{connection}__accountName"] == "storage.outputs.name"
    assert values["AZURE_CLIENT_ID"] == "identity.outputs.clientId"
    assert values["DURABLE_TASK_SCHEDULER_CONNECTION_STRING"] == (
        "'Endpoint=${durableTaskScheduler.outputs.endpoint};Authentication=ManagedIdentity;"
        "ClientID=${identity.outputs.clientId}'"
    )
    assert values["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"] == (
        "'ClientId=${identity.outputs.clientId};Authorization=AAD'"
    )
    assert values["TASKHUB_NAME"] == "durableTaskScheduler.outputs.taskHubName"
    for key, value in values.items():
        assert "AccountKey" not in value and "SharedAccessSignature" not in value, key
