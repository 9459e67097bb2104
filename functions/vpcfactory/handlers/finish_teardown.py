"""Finish Rollback / Finish Teardown: EIPs, route tables, IGW, subnets, VPC — ours only."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vpcfactory.observability import lambda_handler, logger
from vpcfactory.teardown import Teardown

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from vpcfactory.contracts import TeardownEvent


@lambda_handler
def handler(event: TeardownEvent, context: LambdaContext) -> dict[str, Any]:
    deleted = Teardown.for_event(event).finish()
    logger.info("teardown finished", extra={"scope": event["scope"], "deleted": deleted})
    return {"deleted": deleted}
