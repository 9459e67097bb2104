"""Add NAT Routes: each private route table's default route -> the NAT in its AZ (or the single NAT);
the transit gateway attachment's association, propagation and routes (transit.connect)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vpcfactory import aws, transit
from vpcfactory.network import Build, merge_branches
from vpcfactory.observability import lambda_handler

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from vpcfactory.contracts import AddNatRoutesEvent


@lambda_handler
def handler(event: AddNatRoutesEvent, context: LambdaContext) -> dict[str, Any]:
    routing = merge_branches(event["routing"])  # [{ids, wait} of the NAT wait, {routeTables}]
    aws.expect_fresh(routing["routeTables"], routing["ids"])
    build = Build(event["plan"], event["execution"], attempt=event.get("attempt"))
    routes = build.add_nat_routes(routing["routeTables"], routing["ids"])
    # The transit gateway: association and propagation as asked, its routes in every private and
    # isolated table (transit.connect): the attachment is available by now.
    connected = transit.connect(build, routing["routeTables"], routing["ids"])
    return {"natRoutes": routes, **({"transitGateway": connected} if connected else {})}
