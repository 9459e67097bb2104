"""Start From Event: turn an EventBridge event into a build execution.

- Control Tower `CreateManagedAccount` (state SUCCEEDED): build the default spec (an SSM
  parameter) in the new account, through the configured role.
- Our own `VPC Requested` (source `vpcfactory`): `detail.spec` and optional `detail.target`.
The execution is named after the event id, so EventBridge's at-least-once delivery never starts
a second build for one event.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, event_source

from vpcfactory import aws
from vpcfactory.events import execution_input
from vpcfactory.executions import start_execution_once
from vpcfactory.observability import lambda_handler, logger

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


def _default_spec():
    ssm = aws.client("ssm", own_account=True)
    value = aws.call("GetParameter", ssm.get_parameter, Name=os.environ["DEFAULT_SPEC_PARAMETER"])
    return json.loads(value["Parameter"]["Value"])


@lambda_handler
@event_source(data_class=EventBridgeEvent)
def handler(event: EventBridgeEvent, context: LambdaContext) -> dict[str, Any]:
    payload = execution_input(event, _default_spec, os.environ.get("DEFAULT_TARGET_ROLE_NAME"))
    if payload is None:
        logger.info("event ignored", extra={"id": event.get_id, "detailType": event.detail_type})
        return {"started": None}
    name = start_execution_once(os.environ["BUILD_STATE_MACHINE_ARN"], f"evt-{event.get_id}", payload)
    return {"started": name}
