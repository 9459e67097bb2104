"""Check NAT Gateways: one poll of everything the build waits for (waits.py: NAT gateways first of all);
a `failed` NAT raises NatGatewayFailed with its failureCode; a transit gateway attachment still
`pendingAcceptance` when the wait runs out raises TransitGatewayAttachmentNotAccepted."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from vpcfactory import aws, observability, waits
from vpcfactory.errors import WaitTimedOut
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
    ids = sorted(event["ids"].values())
    aws.expect_fresh(ids)
    states = waits.states(aws.client("ec2"), ids)
    done = waits.ready(ids, states)
    waiting = ", ".join(waits.pending(ids, states))
    try:
        answer = PollConfig.from_event(event.get("poll")).next(event.get("wait"), done, f"still waiting for {waiting}")
    except WaitTimedOut as exc:
        # One stuck waiting for someone else (a transit gateway attachment the gateway's owner has
        # not accepted) is reported as that, naming who must act.
        raise waits.stalled(ids, states) or exc from None
    if done:
        nats = {i: s for i, s in states.items() if waits.kind_of(i) is waits.NAT_GATEWAY}
        waited = nat_wait_seconds(nats, datetime.now(UTC))
        if waited is not None:
            observability.seconds(observability.NAT_WAIT_SECONDS, waited)
    return answer
