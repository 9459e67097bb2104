"""Allocate Elastic IPs for the NAT gateways (bring-your-own allocation ids are used as given)."""

from vpcfactory.network import Build
from vpcfactory.observability import lambda_handler


@lambda_handler
def handler(event, context):
    return {"eips": Build(event["plan"], event["execution"]).allocate_eips()}
