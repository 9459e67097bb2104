"""Resolve VPC (destroy): is the VPC there, and is it ours? Refuse anything without our tags.

A VPC that does not exist is VpcNotFound (nothing is deleted): a destroy asked for by a person
(the console, `vpcfactory destroy`) names a VPC that should be there, and a typo must not read as
success. A CloudFormation Delete (the input carries `cfn`) of a VPC already gone succeeds instead:
Delete must be idempotent, or the stack cannot be deleted.

With `rollbackOf` (a custom-resource Delete of a Create that failed with leftovers): is
anything that execution created still there?"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vpcfactory import aws, inventory, ipam, outcomes
from vpcfactory.errors import InvalidSpec, NotOwnedByFactory, VpcNotFound
from vpcfactory.observability import lambda_handler
from vpcfactory.spec import VPC_ID_RE, shown
from vpcfactory.teardown import Teardown

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from vpcfactory.contracts import ResolveVpcEvent, TeardownScope


def _rollback_of(raw, event):
    """Delete of a custom resource whose Create failed with leftovers: the scope is that
    execution, as the factory recorded it (target and flow-log group from the record, not from
    the input); without the record there is nothing of ours to retry."""
    execution = raw["rollbackOf"]
    record = outcomes.pending_rollback(execution) if isinstance(execution, str) else None
    if not record:
        return {"exists": False, "scope": {"rollbackOf": execution}, "target": None, "cfn": raw.get("cfn")}
    target = aws.normalize_target(record.get("target"), event.get("defaultRoleName"))
    aws.use_target(target, event["execution"])
    scope: TeardownScope = {"execution": execution, "rollbackOf": execution, "flowLogs": record.get("flowLogs")}
    left = Teardown(scope).leftovers()
    return {"exists": bool(left), "scope": scope, "target": target, "cfn": raw.get("cfn")}


@lambda_handler
def handler(event: ResolveVpcEvent, context: LambdaContext) -> dict[str, Any]:
    raw = event["input"]
    if isinstance(raw, dict) and "rollbackOf" in raw:
        return _rollback_of(raw, event)
    vpc_id = raw.get("vpcId") if isinstance(raw, dict) else None
    from_cloudformation = bool(raw.get("cfn")) if isinstance(raw, dict) else False
    if not isinstance(vpc_id, str) or not vpc_id.startswith("vpc-"):
        raise InvalidSpec("vpcId", f"{shown(vpc_id)} is not a VPC id (vpc-...)")
    if not from_cloudformation and not VPC_ID_RE.fullmatch(vpc_id):
        raise InvalidSpec("vpcId", f"{shown(vpc_id)} is not a VPC id (vpc- and 8 or 17 hex digits)")
    target = aws.normalize_target(raw.get("target"), event.get("defaultRoleName"))
    aws.use_target(target, event["execution"])
    ec2 = aws.client("ec2")
    found = aws.call("DescribeVpcs", ec2.describe_vpcs, missing_ok=True, VpcIds=[vpc_id])
    vpcs = (found or {}).get("Vpcs", [])
    resolved = {"exists": bool(vpcs), "scope": {"vpcId": vpc_id}, "target": target, "cfn": raw.get("cfn")}
    if not vpcs and not from_cloudformation:
        where = f"account {target['accountId']}, {target['region']}" if target else f"this account, {aws.region()}"
        raise VpcNotFound(f"{vpc_id} does not exist ({where}): nothing was deleted")
    if not vpcs:
        return resolved
    name = inventory.factory_vpc_name(vpcs[0])
    if not name:
        raise NotOwnedByFactory(
            f"{vpc_id} does not carry the factory's ownership tags: it was not built by the factory"
        )
    resolved["scope"]["name"] = name
    if pool := ipam.pool_of(vpcs[0]):  # Report Destroyed asks that pool about the VPC's allocation
        resolved["scope"]["ipamPoolId"] = pool
    return resolved
