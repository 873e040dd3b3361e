"""The templates deploy what the design asks for, read from the Bicep parse trees.

Why: these are the properties that make the deployment secure and serverless (no shared keys,
scale to zero, identity everywhere, a GPU profile) and the contract azd relies on (parameters and
outputs). A refactor of the templates that drops one of them should fail here, not in Azure.
"""

from __future__ import annotations

from tests.infra.bicep_tree import BicepFile, Declaration, literal, parse, prop, string_text

GPU_PROFILES = ["Consumption-GPU-NC8as-T4", "Consumption-GPU-NC24-A100"]

ROLE_IDS = {
    "Storage Blob Data Owner": "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
    "Storage Queue Data Contributor": "974c5e8b-45b9-4653-ba55-5f855dd0fb88",
    "Storage Table Data Contributor": "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3",
    "Durable Task Data Contributor": "0ad04412-c4d5-4796-b79c-f76d14c8d402",
    "AcrPull": "7f951dda-4ed3-4680-a7ca-43fe172d538d",
    "Monitoring Metrics Publisher": "3913510d-42f4-4e42-8a64-420c390055eb",
}


def _one(file: BicepFile, resource_type: str) -> Declaration:
    found = [r for r in file.resources(resource_type) if not r.is_existing]
    assert len(found) == 1, f"{file.relative}: expected one {resource_type}, found {len(found)}"
    return found[0]


def _text(node) -> str:  # type: ignore[no-untyped-def]
    assert node is not None
    return node.text.decode()


# --- main.bicep: scope, parameters, outputs ---------------------------------------------------


def test_main_is_subscription_scoped_and_creates_the_resource_group() -> None:
    main = parse("main.bicep")
    assert main.target_scope() == "subscription"
    _one(main, "Microsoft.Resources/resourceGroups")
    assert "uniqueString(" in _text(main.get("var", "resourceToken").value)


def test_main_parameters() -> None:
    main = parse("main.bicep")
    params = {p.name: p for p in main.declarations("param")}
    assert {
        "environmentName",
        "location",
        "principalId",
        "gpuProfile",
        "hostingMode",
        "containerImage",
        "inboxFunctionName",
    } <= set(params)
    assert params["environmentName"].value is None  # required, bound to AZURE_ENV_NAME
    assert params["location"].value is None
    assert literal(params["gpuProfile"].decorator_args("allowed")[0]) == GPU_PROFILES
    assert literal(params["gpuProfile"].value) == "Consumption-GPU-NC8as-T4"
    assert literal(params["hostingMode"].decorator_args("allowed")[0]) == [
        "gpu-containerapps",
        "cpu-flex",
    ]
    assert literal(params["hostingMode"].value) == "gpu-containerapps"
    assert literal(params["durableTaskSchedulerSku"].decorator_args("allowed")[0]) == [
        "Consumption",
        "Dedicated",
    ]
    assert literal(params["inboxFunctionName"].value) == "inbox_upload"
    assert params["inboxWebhookKey"].decorator("secure") is not None


def test_main_outputs() -> None:
    outputs = parse("main.bicep").names("output")
    assert {
        "AZURE_LOCATION",
        "AZURE_RESOURCE_GROUP",
        "AZURE_CONTAINER_REGISTRY_ENDPOINT",
        "SERVICE_API_NAME",
        "SERVICE_API_URI",
        "AZURE_STORAGE_ACCOUNT_NAME",
        "DURABLE_TASK_SCHEDULER_ENDPOINT",
        "TASKHUB_NAME",
    } <= outputs


def test_container_image_falls_back_to_a_placeholder() -> None:
    main = parse("main.bicep")
    placeholder = literal(main.get("var", "placeholderImage").value)
    assert placeholder.startswith("mcr.microsoft.com/azure-functions/python:4-python3.11")
    image = _text(main.get("var", "image").value)
    assert "containerImage" in image and "placeholderImage" in image


def test_hosting_mode_selects_exactly_one_function_app() -> None:
    main = parse("main.bicep")
    modules = {m.type_string: m for m in main.modules()}
    gpu, flex = modules["app/function-app.bicep"], modules["app/flex-function.bicep"]
    assert _text(gpu.condition) == "(isGpu)"
    assert _text(flex.condition) == "(isFlex)"
    assert _text(main.get("var", "isGpu").value) == "hostingMode == 'gpu-containerapps'"
    assert _text(main.get("var", "isFlex").value) == "hostingMode == 'cpu-flex'"
    for module in (gpu, flex):
        tags = _text(prop(module.body, "params", "tags"))
        assert "'azd-service-name': serviceName" in tags
    assert literal(main.get("var", "serviceName").value) == "api"


# --- storage, identity, monitoring ------------------------------------------------------------


def test_storage_account_is_locked_to_entra_id_and_https() -> None:
    storage = _one(parse("core/storage.bicep"), "Microsoft.Storage/storageAccounts")
    properties = literal(prop(storage.body, "properties"))
    assert properties["allowSharedKeyAccess"] is False
    assert properties["supportsHttpsTrafficOnly"] is True
    assert properties["minimumTlsVersion"] == "TLS1_2"
    assert properties["allowBlobPublicAccess"] is False
    _one(parse("core/storage.bicep"), "Microsoft.Storage/storageAccounts/blobServices/containers")


def test_storage_containers_include_inputs_results_models_inbox() -> None:
    main = parse("main.bicep")
    storage = next(m for m in main.modules() if m.type_string == "core/storage.bicep")
    expression = prop(storage.body, "params", "containerNames")
    names = set()

    def collect(node) -> None:  # type: ignore[no-untyped-def]
        if node.type == "string":
            names.add(string_text(node))
        elif node.type == "identifier" and node.text.decode() in main.names("var"):
            value = main.get("var", node.text.decode()).value
            if value is not None and value.type == "string":
                names.add(string_text(value))
        for child in node.children:
            collect(child)

    collect(expression)
    assert {"inputs", "results", "models", "inbox"} <= names


def test_one_user_assigned_identity() -> None:
    identities = [
        r
        for path in ("core/identity.bicep",)
        for r in parse(path).resources("Microsoft.ManagedIdentity/userAssignedIdentities")
    ]
    assert len(identities) == 1


def test_monitoring_has_local_auth_disabled() -> None:
    monitoring = parse("core/monitoring.bicep")
    workspace = _one(monitoring, "Microsoft.OperationalInsights/workspaces")
    insights = _one(monitoring, "Microsoft.Insights/components")
    assert literal(prop(insights.body, "properties", "DisableLocalAuth")) is True
    assert literal(prop(workspace.body, "properties", "features", "disableLocalAuth")) is True
    assert _text(prop(insights.body, "properties", "WorkspaceResourceId")) == "logAnalytics.id"


# --- Durable Task Scheduler, registry, Container Apps --------------------------------------------


def test_durable_task_scheduler_and_task_hub() -> None:
    dts = parse("core/dts.bicep")
    scheduler = _one(dts, "Microsoft.DurableTask/schedulers")
    hub = _one(dts, "Microsoft.DurableTask/schedulers/taskHubs")
    assert _text(prop(hub.body, "parent")) == scheduler.name
    sku = _text(prop(scheduler.body, "properties", "sku"))
    assert "'Dedicated'" in sku and "'Consumption'" in sku and "capacity" in sku
    assert literal(prop(scheduler.body, "properties", "ipAllowlist")) == ["0.0.0.0/0"]
    assert {"endpoint", "taskHubName"} <= dts.names("output")


def test_container_registry_has_no_admin_user() -> None:
    registry = _one(parse("core/registry.bicep"), "Microsoft.ContainerRegistry/registries")
    assert literal(prop(registry.body, "properties", "adminUserEnabled")) is False


def test_container_apps_environment_has_the_gpu_workload_profile() -> None:
    env_file = parse("core/containerapps-env.bicep")
    environment = _one(env_file, "Microsoft.App/managedEnvironments")
    profiles = prop(environment.body, "properties", "workloadProfiles")
    assert profiles is not None and profiles.type == "array"
    types = [
        _text(prop(p, "workloadProfileType")) for p in profiles.named_children if p.type == "object"
    ]
    assert "'Consumption'" in types
    assert "gpuProfile" in types  # the parameter, restricted to the serverless GPU types
    gpu_param = env_file.get("param", "gpuProfile")
    assert literal(gpu_param.decorator_args("allowed")[0]) == GPU_PROFILES
    assert literal(gpu_param.value) == "Consumption-GPU-NC8as-T4"
    assert (
        literal(prop(environment.body, "properties", "appLogsConfiguration", "destination"))
        == "azure-monitor"
    )
    main = parse("main.bicep")
    env_module = next(m for m in main.modules() if m.type_string == "core/containerapps-env.bicep")
    assert _text(prop(env_module.body, "params", "gpuProfile")) == "gpuProfile"


def test_function_app_is_a_scale_to_zero_functionapp_container_app() -> None:
    app_file = parse("app/function-app.bicep")
    app = _one(app_file, "Microsoft.App/containerApps")
    assert literal(prop(app.body, "kind")) == "functionapp"
    assert literal(prop(app.body, "properties", "template", "scale", "minReplicas")) == 0
    assert _text(prop(app.body, "properties", "workloadProfileName")) == "workloadProfileName"
    assert literal(prop(app.body, "identity", "type")) == "UserAssigned"
    registries = prop(app.body, "properties", "configuration", "registries")
    registry = registries.named_children[0]
    assert _text(prop(registry, "identity")) == "identityId"  # pull with the identity, no password
    container = prop(app.body, "properties", "template", "containers").named_children[0]
    assert _text(prop(container, "image")) == "image"
    assert literal(prop(app.body, "properties", "configuration", "ingress", "external")) is True

    main = parse("main.bicep")
    module = next(m for m in main.modules() if m.type_string == "app/function-app.bicep")
    params = prop(module.body, "params")
    assert _text(prop(params, "image")) == "image"
    assert _text(prop(params, "workloadProfileName")) == (
        "containerAppsEnvironment.outputs.gpuWorkloadProfileName"
    )
    assert _text(prop(params, "registryServer")) == "registry.outputs.loginServer"


def test_flex_function_app() -> None:
    flex = parse("app/flex-function.bicep")
    plan = _one(flex, "Microsoft.Web/serverfarms")
    assert literal(prop(plan.body, "sku")) == {"tier": "FlexConsumption", "name": "FC1"}
    site = _one(flex, "Microsoft.Web/sites")
    assert literal(prop(site.body, "kind")) == "functionapp,linux"
    config = prop(site.body, "properties", "functionAppConfig")
    assert _text(prop(config, "runtime", "name")) == "runtimeName"
    storage = literal(prop(config, "deployment", "storage"))
    assert storage["type"] == "blobContainer"
    assert storage["authentication"]["type"] == "UserAssignedIdentity"
    assert literal(prop(site.body, "properties", "httpsOnly")) is True

    main = parse("main.bicep")
    module = next(m for m in main.modules() if m.type_string == "app/flex-function.bicep")
    assert literal(prop(module.body, "params", "runtimeVersion")) == "3.11"


# --- Event Grid -----------------------------------------------------------------------------


def test_inbox_event_subscription_targets_the_blob_trigger_webhook() -> None:
    grid = parse("core/eventgrid.bicep")
    topic = _one(grid, "Microsoft.EventGrid/systemTopics")
    assert (
        literal(prop(topic.body, "properties", "topicType")) == "Microsoft.Storage.StorageAccounts"
    )
    subscription = _one(grid, "Microsoft.EventGrid/systemTopics/eventSubscriptions")
    assert _text(prop(subscription.body, "parent")) == topic.name
    flt = literal(prop(subscription.body, "properties", "filter"))
    assert flt["includedEventTypes"] == ["Microsoft.Storage.BlobCreated"]
    assert flt["subjectBeginsWith"] == "/blobServices/default/containers/${containerName}/"
    destination = literal(prop(subscription.body, "properties", "destination"))
    assert destination["endpointType"] == "WebHook"
    assert destination["properties"]["endpointUrl"] == (
        "${functionAppUri}/runtime/webhooks/blobs?functionName=Host.Functions.${functionName}"
        "&code=${webhookKey}"
    )
    assert grid.get("param", "webhookKey").decorator("secure") is not None

    main = parse("main.bicep")
    module = next(m for m in main.modules() if m.type_string == "core/eventgrid.bicep")
    params = prop(module.body, "params")
    assert _text(prop(params, "containerName")) == "inboxContainerName"
    assert literal(main.get("var", "inboxContainerName").value) == "inbox"
    assert _text(prop(params, "functionName")) == "inboxFunctionName"
    assert _text(prop(params, "storageAccountId")) == "storage.outputs.id"


# --- role assignments -------------------------------------------------------------------------


def test_role_assignments_are_deterministic_and_complete() -> None:
    rbac = parse("app/rbac.bicep")
    roles = literal(rbac.get("var", "roles").value)
    by_id = {role_id: key for key, role_id in roles.items()}
    scopes = {r.name: r.resource_type for r in rbac.resources()}
    granted_to_app: dict[str, str] = {}
    for assignment in rbac.resources("Microsoft.Authorization/roleAssignments"):
        name = _text(prop(assignment.body, "name"))
        assert name.startswith("guid("), f"{assignment.name}: name must be a deterministic guid()"
        role_ref = _text(prop(assignment.body, "properties", "roleDefinitionId"))
        role_key = role_ref.rsplit("roles.", 1)[1].rstrip(")")
        assert f"roles.{role_key}" in name, f"{assignment.name}: guid() must include the role"
        principal = _text(prop(assignment.body, "properties", "principalId"))
        if principal == "identityPrincipalId":
            scope = _text(prop(assignment.body, "scope"))
            granted_to_app[roles[role_key]] = scopes[scope]
    assert set(ROLE_IDS.values()) <= set(by_id)
    expected_scopes = {
        ROLE_IDS["Storage Blob Data Owner"]: "Microsoft.Storage/storageAccounts",
        ROLE_IDS["Storage Queue Data Contributor"]: "Microsoft.Storage/storageAccounts",
        ROLE_IDS["Storage Table Data Contributor"]: "Microsoft.Storage/storageAccounts",
        ROLE_IDS["Durable Task Data Contributor"]: "Microsoft.DurableTask/schedulers",
        ROLE_IDS["AcrPull"]: "Microsoft.ContainerRegistry/registries",
        ROLE_IDS["Monitoring Metrics Publisher"]: "Microsoft.Insights/components",
    }
    assert granted_to_app == expected_scopes


def test_function_apps_wait_for_their_role_assignments() -> None:
    main = parse("main.bicep")
    for module in main.modules():
        if module.type_string in ("app/function-app.bicep", "app/flex-function.bicep"):
            assert literal(prop(module.body, "dependsOn")) == ["rbac"], module.name
