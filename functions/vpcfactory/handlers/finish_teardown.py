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
    teardown = Teardown.for_event(event)
    deleted = teardown.finish()
    # An IPAM VPC's allocation: released, or pending release by IPAM (not ours to wait for: ipam.py).
    allocations = teardown.ipam_allocations
    logger.info(
        "teardown finished", extra={"scope": event["scope"], "deleted": deleted, "ipamAllocations": allocations}
    )
    # Only an IPAM VPC's teardown reports its allocation.
    return {"deleted": deleted, "ipamAllocations": allocations} if allocations else {"deleted": deleted}
