"""Resolve VPC (destroy): is the VPC there, and is it ours? Refuse anything without our tags."""

from vpcfactory import aws
from vpcfactory.errors import NotOwnedByFactory
from vpcfactory.observability import lambda_handler
from vpcfactory.tags import TAG_VPC, tag_dict


@lambda_handler
def handler(event, context):
    vpc_id = event["vpcId"]
    ec2 = aws.client("ec2")
    found = aws.call("DescribeVpcs", ec2.describe_vpcs, missing_ok=True, VpcIds=[vpc_id])
    vpcs = (found or {}).get("Vpcs", [])
    if not vpcs:
        return {"exists": False, "scope": {"vpcId": vpc_id}}
    name = tag_dict(vpcs[0].get("Tags")).get(TAG_VPC)
    if not name:
        raise NotOwnedByFactory(f"{vpc_id} has no {TAG_VPC} tag: it was not built by the factory")
    return {"exists": True, "scope": {"vpcId": vpc_id, "name": name}}
