"""Check VPC State: one poll of the VPC wait loop."""

from vpcfactory.network import Build
from vpcfactory.observability import lambda_handler
from vpcfactory.polling import PollConfig


@lambda_handler
def handler(event, context):
    state = Build({}, event["execution"]).vpc_state(event["vpcId"])
    done = state == "available"
    return PollConfig.from_event(event.get("poll")).next(event.get("wait"), done, f"VPC {event['vpcId']} is {state}")
