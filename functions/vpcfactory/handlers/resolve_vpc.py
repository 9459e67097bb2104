"""Resolve VPC (destroy): is the VPC there, and is it ours? Refuse anything without our tags."""

from vpcfactory import aws
from vpcfactory.errors import InvalidSpec, NotOwnedByFactory
from vpcfactory.observability import lambda_handler
from vpcfactory.tags import TAG_VPC, tag_dict


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
    name = tag_dict(vpcs[0].get("Tags")).get(TAG_VPC)
    if not name:
        raise NotOwnedByFactory(f"{vpc_id} has no {TAG_VPC} tag: it was not built by the factory")
    resolved["scope"]["name"] = name
    return resolved
