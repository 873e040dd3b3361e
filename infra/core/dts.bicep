// Durable Task Scheduler (the Durable Functions backend in Azure) and its task hub.
param name string
param taskHubName string
param location string
param tags object = {}

@allowed([
  'Consumption'
  'Dedicated'
])
param skuName string = 'Consumption'

@minValue(1)
@description('Capacity units; only a Dedicated scheduler has them.')
param capacity int = 1

resource scheduler 'Microsoft.DurableTask/schedulers@2025-11-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    // An empty allow list denies everything; access is still gated by Entra ID + RBAC.
    ipAllowlist: [
      '0.0.0.0/0'
    ]
    sku: skuName == 'Dedicated' ? {
      name: 'Dedicated'
      capacity: capacity
    } : {
      name: 'Consumption'
    }
  }
}

resource taskHub 'Microsoft.DurableTask/schedulers/taskHubs@2025-11-01' = {
  parent: scheduler
  name: taskHubName
}

output id string = scheduler.id
output name string = scheduler.name
output endpoint string = scheduler.properties.endpoint
output taskHubName string = taskHub.name
