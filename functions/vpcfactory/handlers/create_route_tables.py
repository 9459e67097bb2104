"""Create Route Tables: tables, associations, public default route (runs during the NAT wait)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vpcfactory import aws
from vpcfactory.network import Build, merge_branches
from vpcfactory.observability import lambda_handler

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from vpcfactory.contracts import CreateRouteTablesEvent


@lambda_handler
def handler(event: CreateRouteTablesEvent, context: LambdaContext) -> dict[str, Any]:
    network = merge_branches(event["network"])
    igw = network.get("internetGateway") or {}
    aws.expect_fresh(event["vpcId"], network)
    tables = Build(event["plan"], event["execution"], attempt=event.get("attempt")).create_route_tables(
        event["vpcId"], network["subnets"], igw.get("internetGatewayId")
    )
    return {"routeTables": tables}
