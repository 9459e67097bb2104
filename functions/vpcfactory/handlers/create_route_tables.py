"""Create Route Tables: tables, associations, public default route (runs during the NAT wait)."""

from vpcfactory import aws
from vpcfactory.network import Build, merge_branches
from vpcfactory.observability import lambda_handler


@lambda_handler
def handler(event, context):
    network = merge_branches(event["network"])
    igw = network.get("internetGateway") or {}
    aws.expect_fresh(event["vpcId"], network)
    tables = Build(event["plan"], event["execution"]).create_route_tables(
        event["vpcId"], network["subnets"], igw.get("internetGatewayId")
    )
    return {"routeTables": tables}
