"""Start Rollback / Start Teardown: begin deleting NAT gateways found by ownership tags."""

from vpcfactory.observability import lambda_handler, logger
from vpcfactory.polling import PollConfig
from vpcfactory.teardown import Teardown


@lambda_handler
def handler(event, context):
    nat_ids = Teardown.for_event(event).start()
    logger.info("teardown started", extra={"scope": event["scope"], "natGateways": nat_ids})
    return {
        "natGatewayIds": nat_ids,
        "wait": PollConfig.from_event(event.get("poll")).first(done=not nat_ids),
    }
