"""Roll Back / Start Teardown: delete what goes at once, and begin deleting what takes minutes (NAT
gateways and the other kinds in waits.py), found by ownership tags."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vpcfactory.observability import lambda_handler, logger
from vpcfactory.polling import PollConfig
from vpcfactory.teardown import Teardown

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from vpcfactory.contracts import TeardownEvent


@lambda_handler
def handler(event: TeardownEvent, context: LambdaContext) -> dict[str, Any]:
    deleting = Teardown.for_event(event).start()
    logger.info("teardown started", extra={"scope": event["scope"], "deleting": deleting})
    return {
        "deletingIds": deleting,
        "wait": PollConfig.from_event(event.get("poll")).first(done=not deleting),
    }
