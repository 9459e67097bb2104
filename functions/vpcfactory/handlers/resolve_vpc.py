"""Resolve VPC (destroy): is the VPC there, and is it ours? Refuse anything without our tags."""

from vpcfactory import aws
from vpcfactory.errors import InvalidSpec, NotOwnedByFactory
from vpcfactory.observability import lambda_handler
from vpcfactory.tags import TAG_EXECUTION, TAG_LOGICAL_ID, TAG_VPC, tag_dict


@lambda_handler
def handler(event, context):
    raw = event["input"]
    vpc_id = raw.get("vpcId") if isinstance(raw, dict) else None
    if not isinstance(vpc_id, str) or not vpc_id.startswith("vpc-"):
        raise InvalidSpec("vpcId", f"{vpc_id!r} is not a VPC id (vpc-...)")
    target = aws.normalize_target(raw.get("target"), event.get("defaultRoleName"))
    aws.use_target(target, event["execution"])
    ec2 = aws.client("ec2")
    found = aws.call("DescribeVpcs", ec2.describe_vpcs, missing_ok=True, VpcIds=[vpc_id])
    vpcs = (found or {}).get("Vpcs", [])
    resolved = {"exists": bool(vpcs), "scope": {"vpcId": vpc_id}, "target": target, "cfn": raw.get("cfn")}
    if not vpcs:
        return resolved
    tags = tag_dict(vpcs[0].get("Tags"))
    name = tags.get(TAG_VPC)
    if not name or tags.get(TAG_LOGICAL_ID) != "vpc" or not tags.get(TAG_EXECUTION):
        raise NotOwnedByFactory(
            f"{vpc_id} does not carry the factory's ownership tags: it was not built by the factory"
        )
    resolved["scope"]["name"] = name
    return resolved
