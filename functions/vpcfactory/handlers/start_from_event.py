"""Start From Event: turn an EventBridge event into a build execution.

- Control Tower `CreateManagedAccount` (state SUCCEEDED): build the default spec (an SSM
  parameter) in the new account, through the configured role.
- Our own `VPC Requested` (source `vpcfactory`): `detail.spec` and optional `detail.target`.
The execution is named after the event id, so EventBridge's at-least-once delivery never starts
a second build for one event.
"""

import json
import os

from vpcfactory import aws
from vpcfactory.events import execution_input
from vpcfactory.observability import lambda_handler, logger


def _default_spec():
    ssm = aws.client("ssm", own_account=True)
    value = aws.call("GetParameter", ssm.get_parameter, Name=os.environ["DEFAULT_SPEC_PARAMETER"])
    return json.loads(value["Parameter"]["Value"])


@lambda_handler
def handler(event, context):
    payload = execution_input(event, _default_spec, os.environ.get("DEFAULT_TARGET_ROLE_NAME"))
    if payload is None:
        logger.info("event ignored", extra={"id": event.get("id"), "detailType": event.get("detail-type")})
        return {"started": None}
    sfn = aws.client("stepfunctions", own_account=True)
    name = f"evt-{event['id']}"[:80]
    try:
        aws.call(
            "StartExecution",
            sfn.start_execution,
            stateMachineArn=os.environ["BUILD_STATE_MACHINE_ARN"],
            name=name,
            input=json.dumps(payload),
        )
    except aws.Ec2CallFailed as exc:
        if exc.code != "ExecutionAlreadyExists":
            raise
    return {"started": name}
