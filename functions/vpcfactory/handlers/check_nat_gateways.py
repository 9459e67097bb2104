"""Check NAT Gateways: one poll; a `failed` NAT raises NatGatewayFailed with its failureCode."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from vpcfactory import aws, observability
from vpcfactory.network import nat_states, nat_wait_status
from vpcfactory.observability import lambda_handler
from vpcfactory.polling import PollConfig

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from vpcfactory.contracts import CheckNatGatewaysEvent, Wait


def nat_wait_seconds(states, now):
    """How long the NAT gateways took to become available, seen from the poll that found them all
    available: from the newest one's CreateTime (one reused from an earlier execution is older
    than this build's wait), or None without creation times."""
    created = [s["CreateTime"] for s in states.values() if isinstance(s.get("CreateTime"), datetime)]
    created = [c if c.tzinfo else c.replace(tzinfo=UTC) for c in created]
    return (now - max(created)).total_seconds() if created else None


@lambda_handler
def handler(event: CheckNatGatewaysEvent, context: LambdaContext) -> Wait:
    nat_ids = sorted(event["ids"].values())
    aws.expect_fresh(nat_ids)
    states = nat_states(aws.client("ec2"), nat_ids)
    done = nat_wait_status(states) == "done"
    pending = [i for i, s in states.items() if s.get("State") != "available"]
    answer = PollConfig.from_event(event.get("poll")).next(event.get("wait"), done, f"NAT gateways {pending} pending")
    if done:
        waited = nat_wait_seconds(states, datetime.now(UTC))
        if waited is not None:
            observability.seconds(observability.NAT_WAIT_SECONDS, waited)
    return answer
