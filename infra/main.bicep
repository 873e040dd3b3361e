// batchinfer: serverless batch inference on Azure Durable Functions.
//
// Deployed at subscription scope so `azd up` (or `az deployment sub create`) creates the resource
// group too. Two hosting modes share everything except the compute:
//   gpu-containerapps (default)  Functions on Azure Container Apps (kind 'functionapp') on a
//                                serverless GPU workload profile, image from our registry.
//   cpu-flex                     Flex Consumption function app for CPU-only models, code deployed
//                                from a blob container (no registry, no Container Apps env).
// Every connection is identity-based (one user-assigned identity); no keys, no shared-key storage.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('Name of the azd environment; part of the resource group name and of the unique token in every resource name.')
param environmentName string

@minLength(1)
@description('Primary location for all resources. For gpu-containerapps it must offer the serverless GPU profile you pick (see docs/deployment.md).')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Object id of the user (or service principal) running the deployment; gets data-plane roles for testing. Leave empty to skip.')
param principalId string = ''

@allowed([
  'User'
  'ServicePrincipal'
])
@description('Kind of principal principalId is (ServicePrincipal for CI pipelines).')
param principalType string = 'User'

@allowed([
  'gpu-containerapps'
  'cpu-flex'
])
@description('gpu-containerapps: Functions on Container Apps with a serverless GPU. cpu-flex: Flex Consumption function app, CPU-only models.')
param hostingMode string = 'gpu-containerapps'

@allowed([
  'Consumption-GPU-NC8as-T4'
  'Consumption-GPU-NC24-A100'
])
@description('Serverless GPU workload profile type of the Container Apps environment (gpu-containerapps only). Needs GPU quota in the subscription and region.')
param gpuProfile string = 'Consumption-GPU-NC8as-T4'

@minValue(1)
@maxValue(100)
@description('Most replicas (gpu-containerapps) the function app scales out to; each replica holds one GPU.')
param maxReplicas int = 10

@description('Container image of the function app. azd fills it with SERVICE_API_IMAGE_NAME after its first deploy; until then a public Functions base image stands in.')
param containerImage string = ''

@allowed([
  'Consumption'
  'Dedicated'
])
@description('Durable Task Scheduler SKU: Consumption (pay per action) or Dedicated (capacity units).')
param durableTaskSchedulerSku string = 'Consumption'

@minValue(1)
@description('Capacity units of a Dedicated scheduler (ignored for Consumption).')
param durableTaskSchedulerCapacity int = 1

@description('Name of the Event Grid blob-triggered function the inbox subscription delivers to.')
param inboxFunctionName string = 'inbox_upload'

@secure()
@description('The function app\'s blobs_extension system key. Empty on the first provision: the event subscription is created once it is set (see docs/deployment.md).')
param inboxWebhookKey string = ''

@secure()
@description('Comma-separated API keys clients must send as Ocp-Apim-Subscription-Key. Empty leaves the APIs open (put them behind your own gateway then).')
param apiKeys string = ''

@allowed([
  2048
  4096
])
@description('Instance memory (MB) of the Flex Consumption app (cpu-flex only).')
param flexInstanceMemoryMB int = 4096

@minValue(1)
@maxValue(1000)
@description('Most instances of the Flex Consumption app (cpu-flex only).')
param flexMaximumInstanceCount int = 40

var abbrs = loadJsonContent('abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
}
var serviceName = 'api'
var isGpu = hostingMode == 'gpu-containerapps'
var isFlex = hostingMode == 'cpu-flex'

var functionAppName = isGpu ? '${abbrs.appContainerApps}${serviceName}-${resourceToken}' : '${abbrs.webSitesFunctions}${serviceName}-${resourceToken}'
var inboxContainerName = 'inbox'
var modelsContainerName = 'models'
var resultsContainerName = 'results'
var jobsContainerName = 'jobs'
var deploymentContainerName = 'app-package-${take(resourceToken, 7)}'
var placeholderImage = 'mcr.microsoft.com/azure-functions/python:4-python3.11'
var image = empty(containerImage) ? placeholderImage : containerImage

// Replica size: serverless GPU profiles hand each replica one whole GPU with these CPU/memory shares.
var gpuReplicaResources = {
  'Consumption-GPU-NC8as-T4': {
    cpu: 8
    memory: '56Gi'
  }
  'Consumption-GPU-NC24-A100': {
    cpu: 24
    memory: '220Gi'
  }
}

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: '${abbrs.resourcesResourceGroups}${environmentName}'
  location: location
  tags: tags
}

module identity 'core/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: '${abbrs.managedIdentityUserAssignedIdentities}${serviceName}-${resourceToken}'
    location: location
    tags: tags
  }
}

module storage 'core/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: '${abbrs.storageStorageAccounts}${resourceToken}'
    location: location
    tags: tags
    containerNames: concat([
      'inputs'
      resultsContainerName
      modelsContainerName
      inboxContainerName
      jobsContainerName
    ], isFlex ? [deploymentContainerName] : [])
  }
}

module monitoring 'core/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
    applicationInsightsName: '${abbrs.insightsComponents}${resourceToken}'
    location: location
    tags: tags
  }
}

module durableTaskScheduler 'core/dts.bicep' = {
  name: 'durableTaskScheduler'
  scope: rg
  params: {
    name: '${abbrs.durableTaskSchedulers}${resourceToken}'
    taskHubName: 'batchinfer'
    location: location
    tags: tags
    skuName: durableTaskSchedulerSku
    capacity: durableTaskSchedulerCapacity
  }
}

module registry 'core/registry.bicep' = if (isGpu) {
  name: 'registry'
  scope: rg
  params: {
    name: '${abbrs.containerRegistryRegistries}${resourceToken}'
    location: location
    tags: tags
  }
}

module containerAppsEnvironment 'core/containerapps-env.bicep' = if (isGpu) {
  name: 'containerAppsEnvironment'
  scope: rg
  params: {
    name: '${abbrs.appManagedEnvironments}${resourceToken}'
    location: location
    tags: tags
    logAnalyticsWorkspaceId: monitoring.outputs.logAnalyticsWorkspaceId
    gpuProfile: gpuProfile
  }
}

module rbac 'app/rbac.bicep' = {
  name: 'rbac'
  scope: rg
  params: {
    identityPrincipalId: identity.outputs.principalId
    storageAccountName: storage.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    schedulerName: durableTaskScheduler.outputs.name
    registryName: isGpu ? registry.outputs.name : ''
    userPrincipalId: principalId
    userPrincipalType: principalType
  }
}

// The function app's settings, by name. This object IS the list infra emits: its keys must equal
// the `azure` settings of src/batchinfer/settings.py (tests/infra checks it). Both hosting modes
// receive it; Flex Consumption carries FUNCTIONS_WORKER_RUNTIME as functionAppConfig.runtime.name
// because that plan rejects it as an app setting.
var runtimeAppSettings = {
  FUNCTIONS_WORKER_RUNTIME: 'python'
}
var sharedAppSettings = {
  AzureWebJobsStorage__accountName: storage.outputs.name
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identity.outputs.clientId
  APPLICATIONINSIGHTS_CONNECTION_STRING: monitoring.outputs.applicationInsightsConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identity.outputs.clientId};Authorization=AAD'
  DURABLE_TASK_SCHEDULER_CONNECTION_STRING: 'Endpoint=${durableTaskScheduler.outputs.endpoint};Authentication=ManagedIdentity;ClientID=${identity.outputs.clientId}'
  TASKHUB_NAME: durableTaskScheduler.outputs.taskHubName
  AZURE_CLIENT_ID: identity.outputs.clientId
  BATCHINFER_ALLOWED_ACCOUNTS: storage.outputs.name
  BATCHINFER_ALLOW_AZURITE: 'false'
  BATCHINFER_API_KEYS: apiKeys
  BATCHINFER_ENDPOINT_SUFFIXES: environment().suffixes.storage
  BATCHINFER_JOB_STORE_URL: '${storage.outputs.blobEndpoint}${jobsContainerName}'
  BATCHINFER_MODEL_STORE_URL: '${storage.outputs.blobEndpoint}${modelsContainerName}'
  BATCHINFER_ONNX_PROVIDERS: isGpu ? 'CUDAExecutionProvider,CPUExecutionProvider' : 'CPUExecutionProvider'
  BATCHINFER_ONNX_THREADS: isGpu ? string(gpuReplicaResources[gpuProfile].cpu) : string(flexInstanceMemoryMB / 2048)
  BATCHINFER_ONNX_BATCH_ROWS: '65536'
  BATCHINFER_ONNX_BATCH_IMAGES: '256'
  BATCHINFER_ITEMS_PER_ACTIVITY: '8'
  BATCHINFER_ACTIVITIES_PER_SHARD: '50'
  BATCHINFER_STATUS_RETENTION_HOURS: '24'
  BATCHINFER_MAX_DETECT_TIMESTAMPS: '20000'
  BATCHINFER_INBOX_CONTAINER: inboxContainerName
  BATCHINFER_RESULTS_CONTAINER_URL: '${storage.outputs.blobEndpoint}${resultsContainerName}'
  BATCHINFER_INBOX_MODEL: 'prebuilt-read'
  BATCHINFER_INBOX_STORAGE__accountName: storage.outputs.name
  BATCHINFER_INBOX_STORAGE__credential: 'managedidentity'
  BATCHINFER_INBOX_STORAGE__clientId: identity.outputs.clientId
  BATCHINFER_OCR_BATCH_SIZE: isGpu ? '64' : '4'
}

module gpuFunctionApp 'app/function-app.bicep' = if (isGpu) {
  name: 'gpuFunctionApp'
  scope: rg
  params: {
    name: functionAppName
    location: location
    tags: union(tags, {
      'azd-service-name': serviceName
    })
    environmentId: containerAppsEnvironment.outputs.id
    workloadProfileName: containerAppsEnvironment.outputs.gpuWorkloadProfileName
    image: image
    registryServer: registry.outputs.loginServer
    identityId: identity.outputs.id
    appSettings: union(runtimeAppSettings, sharedAppSettings)
    cpu: gpuReplicaResources[gpuProfile].cpu
    memory: gpuReplicaResources[gpuProfile].memory
    maxReplicas: maxReplicas
  }
  dependsOn: [
    rbac
  ]
}

module flexFunctionApp 'app/flex-function.bicep' = if (isFlex) {
  name: 'flexFunctionApp'
  scope: rg
  params: {
    name: functionAppName
    planName: '${abbrs.webServerFarms}${resourceToken}'
    location: location
    tags: union(tags, {
      'azd-service-name': serviceName
    })
    identityId: identity.outputs.id
    runtimeName: runtimeAppSettings.FUNCTIONS_WORKER_RUNTIME
    runtimeVersion: '3.11'
    appSettings: sharedAppSettings
    deploymentContainerUrl: '${storage.outputs.blobEndpoint}${deploymentContainerName}'
    instanceMemoryMB: flexInstanceMemoryMB
    maximumInstanceCount: flexMaximumInstanceCount
  }
  dependsOn: [
    rbac
  ]
}

var functionAppUri = isGpu ? gpuFunctionApp.outputs.uri : flexFunctionApp.outputs.uri

module inboxEvents 'core/eventgrid.bicep' = {
  name: 'inboxEvents'
  scope: rg
  params: {
    systemTopicName: '${abbrs.eventGridSystemTopics}${resourceToken}'
    subscriptionName: '${abbrs.eventGridEventSubscriptions}inbox-${resourceToken}'
    location: location
    tags: tags
    storageAccountId: storage.outputs.id
    containerName: inboxContainerName
    functionAppUri: functionAppUri
    functionName: inboxFunctionName
    webhookKey: inboxWebhookKey
  }
}

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_HOSTING_MODE string = hostingMode
output AZURE_CONTAINER_REGISTRY_ENDPOINT string = isGpu ? registry.outputs.loginServer : ''
output AZURE_CONTAINER_REGISTRY_NAME string = isGpu ? registry.outputs.name : ''
output AZURE_CONTAINER_APPS_ENVIRONMENT_NAME string = isGpu ? containerAppsEnvironment.outputs.name : ''
output AZURE_MANAGED_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output SERVICE_API_NAME string = functionAppName
output SERVICE_API_URI string = functionAppUri
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output AZURE_STORAGE_BLOB_ENDPOINT string = storage.outputs.blobEndpoint
output DURABLE_TASK_SCHEDULER_ENDPOINT string = durableTaskScheduler.outputs.endpoint
output DURABLE_TASK_SCHEDULER_NAME string = durableTaskScheduler.outputs.name
output TASKHUB_NAME string = durableTaskScheduler.outputs.taskHubName
output INBOX_SYSTEM_TOPIC_NAME string = inboxEvents.outputs.systemTopicName
output INBOX_FUNCTION_NAME string = inboxFunctionName
