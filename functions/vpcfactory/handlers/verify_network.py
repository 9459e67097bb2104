"""Verify Network: read the network back, check it against the plan, and describe it."""

from vpcfactory import aws
from vpcfactory.observability import lambda_handler
from vpcfactory.verify import verify_network


@lambda_handler
def handler(event, context):
    aws.expect_fresh(event["vpcId"])
    return verify_network(event["plan"], event["execution"], event["vpcId"])
