"""Activity trigger of the inbox: JSON in, a plain function from `batchinfer.inbox`, JSON out."""

from __future__ import annotations

from typing import Any

import azure.durable_functions as df

from batchinfer import inbox
from batchinfer.orchestration.names import PUBLISH_INBOX_REPORT
from batchinfer.wiring import get_services

blueprint = df.Blueprint()


@blueprint.activity_trigger(input_name="args", activity=PUBLISH_INBOX_REPORT)
def publish_inbox_report(args: dict[str, Any]) -> dict[str, Any]:
    return inbox.publish_job_report(get_services(), args)
