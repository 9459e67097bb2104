"""Verify Network: read the network back, check it against the plan, and describe it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vpcfactory import aws
from vpcfactory.observability import lambda_handler
from vpcfactory.verify import verify_network

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from vpcfactory.contracts import VerifyNetworkEvent


@lambda_handler
def handler(event: VerifyNetworkEvent, context: LambdaContext) -> dict[str, Any]:
    aws.expect_fresh(event["vpcId"])
    return verify_network(event["plan"], event["execution"], event["vpcId"], cidr=event.get("cidr"))
