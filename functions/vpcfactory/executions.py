"""Start a workflow execution once per request, however often the request is delivered.

Both entry points that start executions from outside Step Functions get their requests at least
once: CloudFormation resends a custom-resource request it got no answer to, EventBridge may
deliver an event twice. Each names the execution after the request (`cfn-<RequestId>`,
`evt-<event id>`), so a second delivery finds the first execution: Step Functions answers a
StartExecution of a name and input it is still running with that execution, and one of a name it
already ran (or with another input) with `ExecutionAlreadyExists`. Either way the request has
started its execution, once.
"""

from __future__ import annotations

import json
from typing import Any

from vpcfactory import aws
from vpcfactory.errors import AwsCallFailed

MAX_NAME = 80  # Step Functions' limit on an execution name


def start_execution_once(state_machine_arn: str, name: str, payload: dict[str, Any]) -> str:
    """Start execution `name` (cut to 80 characters) of the factory's own state machine with
    `payload`, unless an execution of that name exists; return the name either way."""
    name = name[:MAX_NAME]
    sfn = aws.client("stepfunctions", own_account=True)
    try:
        aws.call(
            "StartExecution",
            sfn.start_execution,
            stateMachineArn=state_machine_arn,
            name=name,
            input=json.dumps(payload),
        )
    except AwsCallFailed as exc:
        if exc.code != "ExecutionAlreadyExists":  # a redelivered request: already started
            raise
    return name
