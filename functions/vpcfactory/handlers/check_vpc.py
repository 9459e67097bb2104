"""Check VPC State: one poll of the VPC wait loop (the VPC `available` and, dual-stack, its IPv6 /56
`associated`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from vpcfactory import aws
from vpcfactory.network import vpc_state
from vpcfactory.observability import lambda_handler
from vpcfactory.polling import PollConfig

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from vpcfactory.contracts import CheckVpcEvent, Wait


@lambda_handler
def handler(event: CheckVpcEvent, context: LambdaContext) -> Wait:
    aws.expect_fresh(event["vpcId"])  # just created: EC2 may not show it yet (then it is pending)
    state = vpc_state(aws.client("ec2"), event["vpcId"], bool(event.get("ipv6")))
    done = state == "available"
    return PollConfig.from_event(event.get("poll")).next(event.get("wait"), done, f"VPC {event['vpcId']} is {state}")
