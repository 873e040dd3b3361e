#!/bin/sh
# azd postdeploy hook: once the function app runs our code, fetch its `blobs_extension` system key
# and provision again so infra/core/eventgrid.bicep creates the inbox Event Grid subscription
# (Event Grid validates the webhook when the subscription is created, so this can't happen on the
# very first provision). Does nothing once BATCHINFER_INBOX_WEBHOOK_KEY is set.
set -eu

if [ -n "$(azd env get-value BATCHINFER_INBOX_WEBHOOK_KEY 2>/dev/null || true)" ]; then
  echo "inbox events: webhook key already set; nothing to do"
  exit 0
fi

name="${SERVICE_API_NAME:?run azd provision first}"
group="${AZURE_RESOURCE_GROUP:?run azd provision first}"
mode="${AZURE_HOSTING_MODE:-gpu-containerapps}"

if [ "$mode" = "cpu-flex" ]; then
  key="$(az functionapp keys list -g "$group" -n "$name" --query "systemKeys.blobs_extension" -o tsv)"
else
  key="$(az containerapp function keys show -g "$group" -n "$name" --key-type systemKey \
    --key-name blobs_extension --query value -o tsv)"
fi

if [ -z "$key" ]; then
  echo "inbox events: no blobs_extension key yet (has the blob-triggered function started?);" \
       "rerun: azd hooks run postdeploy" >&2
  exit 1
fi

azd env set BATCHINFER_INBOX_WEBHOOK_KEY "$key"
azd provision --no-prompt
