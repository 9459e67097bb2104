"""Create Subnets: every tier in every AZ, tagged at creation."""

from vpcfactory import aws
from vpcfactory.network import Build
from vpcfactory.observability import lambda_handler


@lambda_handler
def handler(event, context):
    aws.expect_fresh(event["vpcId"])
    return {"subnets": Build(event["plan"], event["execution"]).create_subnets(event["vpcId"])}
