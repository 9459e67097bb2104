"""Create Internet Gateway and attach it (only when the plan has a public tier)."""

from vpcfactory import aws
from vpcfactory.network import Build
from vpcfactory.observability import lambda_handler


@lambda_handler
def handler(event, context):
    aws.expect_fresh(event["vpcId"])
    return {"internetGateway": Build(event["plan"], event["execution"]).create_internet_gateway(event["vpcId"])}
