"""Check NAT Deletion: one poll of the teardown's wait for NAT gateways to reach `deleted`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from vpcfactory.observability import lambda_handler
from vpcfactory.polling import PollConfig
from vpcfactory.teardown import Teardown

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from vpcfactory.contracts import CheckNatDeletionEvent, Wait


@lambda_handler
def handler(event: CheckNatDeletionEvent, context: LambdaContext) -> Wait:
    nat_ids = event["natGatewayIds"]
    done = Teardown.for_event(event).nats_deleted(nat_ids)
    return PollConfig.from_event(event.get("poll")).next(event.get("wait"), done, f"NAT gateways {nat_ids} deleting")
