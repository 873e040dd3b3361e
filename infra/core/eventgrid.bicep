// Event Grid system topic on the storage account and the subscription that turns BlobCreated in
// the inbox container into calls of the function's Event Grid blob-trigger webhook.
//
// The webhook needs the function app's `blobs_extension` system key, which exists only once the
// app code runs, and Event Grid validates the endpoint when the subscription is created. So the
// subscription is created only when webhookKey is set (second `azd provision`, see
// docs/deployment.md); the topic itself is created on the first run.
param systemTopicName string
param subscriptionName string
param location string
param tags object = {}
param storageAccountId string
param containerName string

@description('https://<function app host>, no trailing slash.')
param functionAppUri string

@description('Name of the blob-triggered function (the Python function name).')
param functionName string

@secure()
param webhookKey string = ''

resource systemTopic 'Microsoft.EventGrid/systemTopics@2022-06-15' = {
  name: systemTopicName
  location: location
  tags: tags
  properties: {
    source: storageAccountId
    topicType: 'Microsoft.Storage.StorageAccounts'
  }
}

resource inboxSubscription 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2022-06-15' = if (!empty(webhookKey)) {
  parent: systemTopic
  name: subscriptionName
  properties: {
    destination: {
      endpointType: 'WebHook'
      properties: {
        endpointUrl: '${functionAppUri}/runtime/webhooks/blobs?functionName=Host.Functions.${functionName}&code=${webhookKey}'
        maxEventsPerBatch: 1
        preferredBatchSizeInKilobytes: 64
      }
    }
    eventDeliverySchema: 'EventGridSchema'
    filter: {
      includedEventTypes: [
        'Microsoft.Storage.BlobCreated'
      ]
      subjectBeginsWith: '/blobServices/default/containers/${containerName}/'
    }
    retryPolicy: {
      maxDeliveryAttempts: 30
      eventTimeToLiveInMinutes: 1440
    }
  }
}

output systemTopicName string = systemTopic.name
output subscriptionCreated bool = !empty(webhookKey)
