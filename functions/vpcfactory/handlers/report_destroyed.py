"""Report Destroyed: remove the published outputs, announce `VPC Destroyed`, answer CloudFormation."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vpcfactory import aws, ipam, outcomes
from vpcfactory.observability import lambda_handler

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from vpcfactory.contracts import ReportDestroyedEvent


@lambda_handler
def handler(event: ReportDestroyedEvent, context: LambdaContext) -> dict[str, Any]:
    scope = event["scope"]
    # Only the outputs that describe this VPC: after a replacing Update they name the new one.
    removed = outcomes.remove_outputs(scope["name"], scope.get("vpcId")) if scope.get("name") else []
    if scope.get("rollbackOf"):  # the leftovers of a failed Create are gone: nothing to retry any more
        outcomes.forget_rollback(scope["rollbackOf"])
    detail: dict[str, Any] = {
        "execution": event["execution"],
        "vpcId": scope.get("vpcId"),
        "target": event.get("target"),
    }
    if scope.get("rollbackOf"):
        detail["rollbackOf"] = scope["rollbackOf"]
    allocation = None
    if scope.get("ipamPoolId") and scope.get("vpcId"):
        # IPAM frees a deleted VPC's block itself, minutes to 48 h later: say which (ipam.py).
        allocation = ipam.allocation_status(aws.client("ec2"), scope["ipamPoolId"], scope["vpcId"])
        detail["ipamAllocation"] = allocation
    outcomes.announce("VPC Destroyed", detail)
    cfn = event.get("cfn") or {}
    if cfn.get("requestId"):
        # A rollback-of-execution Delete keeps the failed Create's physical id (the stored request's).
        outcomes.respond(cfn["requestId"], "SUCCESS", physical_id=scope.get("vpcId"))
    return {"removedParameters": removed, "ipamAllocation": allocation}
