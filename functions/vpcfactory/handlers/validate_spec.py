"""Validate And Plan: reject a bad spec before anything is created, plan the network, and
decide whether this build creates a VPC or grows the one it built before (same name)."""

from vpcfactory import aws
from vpcfactory.growth import detect_changes
from vpcfactory.observability import lambda_handler, logger
from vpcfactory.plan import plan_network
from vpcfactory.spec import parse_spec, split_input


@lambda_handler
def handler(event, context):
    raw = event["input"]
    allow_replace = isinstance(raw, dict) and raw.get("allowReplace") is True
    if isinstance(raw, dict):
        raw = {k: v for k, v in raw.items() if k != "allowReplace"}
    spec_raw, _target = split_input(raw)
    spec = parse_spec(spec_raw)  # pure: raises InvalidSpec(field, reason) with no AWS call made
    ec2 = aws.client("ec2")
    zones = aws.call("DescribeAvailabilityZones", ec2.describe_availability_zones, AllAvailabilityZones=False)
    plan = plan_network(spec, zones["AvailabilityZones"])
    plan["changes"] = detect_changes(plan, ec2, allow_replace=allow_replace)
    logger.info(
        "planned",
        extra={
            "subnets": len(plan["subnets"]),
            "natGateways": len(plan["natGateways"]),
            "changes": plan["changes"],
        },
    )
    return {"spec": spec.to_dict(), "plan": plan}
