"""Check VPC State: one poll of the VPC wait loop (the VPC `available` and, dual-stack, its IPv6 /56
`associated`)."""

from vpcfactory import aws
from vpcfactory.network import Build
from vpcfactory.observability import lambda_handler
from vpcfactory.polling import PollConfig


@lambda_handler
def handler(event, context):
    aws.expect_fresh(event["vpcId"])  # just created: EC2 may not show it yet (then it is pending)
    state = Build({"ipv6": bool(event.get("ipv6"))}, event["execution"]).vpc_state(event["vpcId"])
    done = state == "available"
    return PollConfig.from_event(event.get("poll")).next(event.get("wait"), done, f"VPC {event['vpcId']} is {state}")
