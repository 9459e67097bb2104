"""Create NAT Gateways for every AZ at once (ClientToken per NAT), the transit gateway attachment
(transit.py) and the interface endpoints (interface_endpoints.py), then start the wait loop for all of them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vpcfactory import aws, interface_endpoints, transit
from vpcfactory.network import Build, merge_branches
from vpcfactory.observability import lambda_handler
from vpcfactory.polling import PollConfig

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from vpcfactory.contracts import CreateNatGatewaysEvent


@lambda_handler
def handler(event: CreateNatGatewaysEvent, context: LambdaContext) -> dict[str, Any]:
    network = merge_branches(event["network"])
    aws.expect_fresh(network)  # the subnets and Elastic IPs (ours, or just given: bring-your-own)
    build = Build(event["plan"], event["execution"], attempt=event.get("attempt"))
    nat_ids = build.create_nat_gateways(network["subnets"], network["eips"])
    nat_ids |= transit.create_attachment(build, network["subnets"])  # the transit gateway attachment, if any
    nat_ids |= interface_endpoints.build(build, network["subnets"])  # vpce/<service>: interface endpoints
    return {"ids": nat_ids, "wait": PollConfig.from_event(event.get("poll")).first(done=not nat_ids)}
