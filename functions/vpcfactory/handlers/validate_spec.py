"""Validate And Plan: reject a bad spec before anything is created, then plan the network."""

from vpcfactory import aws
from vpcfactory.observability import lambda_handler, logger
from vpcfactory.plan import plan_network
from vpcfactory.spec import parse_spec, split_input


@lambda_handler
def handler(event, context):
    spec_raw, _target = split_input(event["input"])
    spec = parse_spec(spec_raw)  # pure: raises InvalidSpec(field, reason) with no AWS call made
    ec2 = aws.client("ec2")
    zones = aws.call("DescribeAvailabilityZones", ec2.describe_availability_zones, AllAvailabilityZones=False)
    plan = plan_network(spec, zones["AvailabilityZones"])
    logger.info("planned", extra={"subnets": len(plan["subnets"]), "natGateways": len(plan["natGateways"])})
    return {"spec": spec.to_dict(), "plan": plan}
