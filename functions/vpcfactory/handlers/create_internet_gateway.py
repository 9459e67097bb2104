"""Create Internet Gateway and attach it (only when the plan has a public tier)."""

from vpcfactory.network import Build
from vpcfactory.observability import lambda_handler


@lambda_handler
def handler(event, context):
    return {"internetGateway": Build(event["plan"], event["execution"]).create_internet_gateway(event["vpcId"])}
