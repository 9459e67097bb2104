"""Describe Network: read the built network back into the execution's output."""

from vpcfactory.observability import lambda_handler
from vpcfactory.outputs import describe_network


@lambda_handler
def handler(event, context):
    return describe_network(event["plan"], event["execution"], event["vpcId"])
