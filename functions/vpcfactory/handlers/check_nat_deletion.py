"""Check NAT Deletion: one poll of the teardown's wait for NAT gateways to reach `deleted`."""

from vpcfactory.observability import lambda_handler
from vpcfactory.polling import PollConfig
from vpcfactory.teardown import Teardown


@lambda_handler
def handler(event, context):
    nat_ids = event["natGatewayIds"]
    done = Teardown.for_event(event).nats_deleted(nat_ids)
    return PollConfig.from_event(event.get("poll")).next(event.get("wait"), done, f"NAT gateways {nat_ids} deleting")
