// Container Apps environment with a serverless (consumption) GPU workload profile next to the
// default Consumption profile. A GPU profile can only be added when the environment is created,
// so changing gpuProfile later means a new environment. Logs go to Azure Monitor (diagnostic
// settings into Log Analytics) rather than the workspace shared key.
param name string
param location string
param tags object = {}
param logAnalyticsWorkspaceId string

@allowed([
  'Consumption-GPU-NC8as-T4'
  'Consumption-GPU-NC24-A100'
])
param gpuProfile string = 'Consumption-GPU-NC8as-T4'

var gpuWorkloadProfileName = gpuProfile == 'Consumption-GPU-NC24-A100' ? 'gpu-a100' : 'gpu-t4'

resource environment 'Microsoft.App/managedEnvironments@2024-03-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    appLogsConfiguration: {
      destination: 'azure-monitor'
    }
    workloadProfiles: [
      {
        name: 'Consumption'
        workloadProfileType: 'Consumption'
      }
      {
        name: gpuWorkloadProfileName
        workloadProfileType: gpuProfile
      }
    ]
    zoneRedundant: false
  }
}

resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: environment
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [
      {
        categoryGroup: 'allLogs'
        enabled: true
      }
    ]
    metrics: [
      {
        category: 'AllMetrics'
        enabled: true
      }
    ]
  }
}

output id string = environment.id
output name string = environment.name
output defaultDomain string = environment.properties.defaultDomain
output gpuWorkloadProfileName string = gpuWorkloadProfileName
