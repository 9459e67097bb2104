"""The CloudFormation custom-resource provider (`Custom::Vpc`).

It validates, starts the build (Create/Update) or the destroy (Delete) and returns at once; the
state machine answers CloudFormation when it ends, on success and on every failure path. Only
what cannot start is answered here: an invalid Spec, a Delete of something that was never built
(or whose failed Create left nothing), a failure to start, and any crash of this function.
A Delete of a failed Create that left resources runs the destroy in rollback-of-execution mode.
The ResponseURL is stored out of band (outcomes.store_request) and never logged.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.data_classes import CloudFormationCustomResourceEvent, event_source

from vpcfactory import aws, outcomes
from vpcfactory.cfn_properties import coerce_spec
from vpcfactory.errors import InvalidSpec
from vpcfactory.executions import start_execution_once
from vpcfactory.observability import lambda_handler, logger
from vpcfactory.spec import parse_spec

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from vpcfactory.contracts import CfnRequest


def _start(state_machine_arn, request_id, payload):
    return start_execution_once(state_machine_arn, outcomes.execution_name(request_id), payload)


def _handle(event: CloudFormationCustomResourceEvent):
    request_type = event.request_type
    request_id = event.request_id
    props = event.resource_properties
    target = props.get("Target")
    cfn: CfnRequest = {"requestId": request_id, "requestType": request_type}
    outcomes.store_request(event)
    if request_type == "Delete":
        physical = event.physical_resource_id
        if physical.startswith(outcomes.FAILED_PREFIX):
            # Its Create failed. If that rollback left resources, the factory recorded the
            # execution (Report Failure): retry its rollback, scoped by `vpcfactory:execution`.
            failed = outcomes.execution_name(physical.removeprefix(outcomes.FAILED_PREFIX))
            if outcomes.pending_rollback(failed):
                payload: dict[str, Any] = {"rollbackOf": failed, "cfn": cfn}
                return {"started": _start(os.environ["DESTROY_STATE_MACHINE_ARN"], request_id, payload)}
        if not physical.startswith("vpc-"):  # nothing was left (or never built): nothing to delete
            outcomes.respond(request_id, "SUCCESS", physical_id=physical or outcomes.failed_physical_id(request_id))
            return {"answered": "SUCCESS"}
        name = _start(
            os.environ["DESTROY_STATE_MACHINE_ARN"], request_id, {"vpcId": physical, "target": target, "cfn": cfn}
        )
        return {"started": name}
    try:
        spec = coerce_spec(props.get("Spec"))
        parse_spec(spec)
        aws.normalize_target(target, os.environ.get("DEFAULT_TARGET_ROLE_NAME"))
    except InvalidSpec as exc:
        outcomes.respond(request_id, "FAILED", reason=f"invalid Spec: {exc}")
        return {"answered": "FAILED"}
    if str(props.get("AdoptExisting", "")).lower() == "true":  # every property arrives as a string
        # Create only refuses a VPC of the same spec name unless told it may take it over
        # (Validate And Plan decides: it knows whether one exists).
        cfn["adoptExisting"] = True
    payload = {"spec": spec, "target": target, "cfn": cfn}
    if request_type == "Update":
        # A change that needs a new VPC builds one and returns its id: CloudFormation then
        # deletes the old one (a changed PhysicalResourceId is a replacement).
        payload["allowReplace"] = True
    return {"started": _start(os.environ["BUILD_STATE_MACHINE_ARN"], request_id, payload)}


@lambda_handler
@event_source(data_class=CloudFormationCustomResourceEvent)
def handler(request: CloudFormationCustomResourceEvent, context: LambdaContext) -> dict[str, Any]:
    logger.info(
        "custom resource request",
        extra={
            "requestType": request.get("RequestType"),
            "requestId": request.get("RequestId"),
            "logicalResourceId": request.get("LogicalResourceId"),
            "physicalResourceId": request.get("PhysicalResourceId"),
        },
    )  # never the event itself: its ResponseURL is a pre-signed credential
    try:
        return _handle(request)
    except Exception as exc:  # a crash must still answer, or the stack waits for an hour
        logger.exception("custom resource provider failed")
        try:
            outcomes.store_request(request)
            outcomes.respond(request.request_id, "FAILED", reason=f"provider error: {type(exc).__name__}: {exc}")
        except Exception:
            logger.exception("could not answer CloudFormation")
        return {"answered": "FAILED"}
