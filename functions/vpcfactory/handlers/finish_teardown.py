"""Finish Rollback / Finish Teardown: EIPs, route tables, IGW, subnets, VPC — ours only."""

from vpcfactory.observability import lambda_handler, logger
from vpcfactory.teardown import Teardown


@lambda_handler
def handler(event, context):
    deleted = Teardown.for_event(event).finish()
    logger.info("teardown finished", extra={"scope": event["scope"], "deleted": deleted})
    return {"deleted": deleted}
