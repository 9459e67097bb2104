"""Create NAT Gateways for every AZ at once (ClientToken per NAT), then start the NAT wait loop."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vpcfactory import aws
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
    nat_ids = Build(event["plan"], event["execution"]).create_nat_gateways(network["subnets"], network["eips"])
    return {"ids": nat_ids, "wait": PollConfig.from_event(event.get("poll")).first(done=not nat_ids)}
