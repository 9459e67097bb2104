"""Check NAT Deletion: one poll of the teardown's wait for what Start Teardown began deleting (waits.py:
NAT gateways, and every other resource whose deletion takes minutes)."""

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
    ids = event["deletingIds"]
    done = Teardown.for_event(event).deleted(ids)
    return PollConfig.from_event(event.get("poll")).next(event.get("wait"), done, f"{', '.join(ids)} still deleting")
