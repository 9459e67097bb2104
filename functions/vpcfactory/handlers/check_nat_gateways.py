"""Check NAT Gateways: one poll; a `failed` NAT raises NatGatewayFailed with its failureCode."""

from vpcfactory import aws
from vpcfactory.network import Build, nat_wait_status
from vpcfactory.observability import lambda_handler
from vpcfactory.polling import PollConfig


@lambda_handler
def handler(event, context):
    nat_ids = sorted(event["ids"].values())
    aws.expect_fresh(nat_ids)
    states = Build({}, event["execution"]).nat_states(nat_ids)
    done = nat_wait_status(states) == "done"
    pending = [i for i, s in states.items() if s.get("State") != "available"]
    return PollConfig.from_event(event.get("poll")).next(event.get("wait"), done, f"NAT gateways {pending} pending")
