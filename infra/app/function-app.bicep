// The function app as Azure Functions on Azure Container Apps (kind 'functionapp') on the GPU
// workload profile. The platform derives the scale rules from the app's triggers (Functions scale
// controller / KEDA); minReplicas 0 lets it scale to zero, so the GPU is billed only while a
// replica runs. Settings arrive as one object and become the container's environment variables.
param name string
param location string
param tags object = {}
param environmentId string
param workloadProfileName string
param image string
param registryServer string
param identityId string

@description('App settings by name: every key becomes an environment variable of the container.')
param appSettings object

@description('vCPU of one replica (the GPU profile\'s share).')
param cpu int
@description('Memory of one replica, e.g. 56Gi.')
param memory string

@minValue(1)
param maxReplicas int = 10

resource functionApp 'Microsoft.App/containerApps@2025-02-02-preview' = {
  name: name
  location: location
  tags: tags
  kind: 'functionapp'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    environmentId: environmentId
    workloadProfileName: workloadProfileName
    configuration: {
      activeRevisionsMode: 'Single'
      ingress: {
        external: true
        targetPort: 80
        transport: 'auto'
        allowInsecure: false
      }
      registries: [
        {
          server: registryServer
          identity: identityId
        }
      ]
    }
    template: {
      containers: [
        {
          name: 'functions'
          image: image
          env: [for setting in items(appSettings): {
            name: setting.key
            value: string(setting.value)
          }]
          resources: {
            cpu: cpu
            memory: memory
          }
        }
      ]
      scale: {
        minReplicas: 0
        maxReplicas: maxReplicas
      }
    }
  }
}

output id string = functionApp.id
output name string = functionApp.name
output fqdn string = functionApp.properties.configuration.ingress.fqdn
output uri string = 'https://${functionApp.properties.configuration.ingress.fqdn}'
