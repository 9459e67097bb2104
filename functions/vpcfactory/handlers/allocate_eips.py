"""Allocate Elastic IPs for the NAT gateways (bring-your-own allocation ids are used as given)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vpcfactory.network import Build
from vpcfactory.observability import lambda_handler

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from vpcfactory.contracts import AllocateEipsEvent


@lambda_handler
def handler(event: AllocateEipsEvent, context: LambdaContext) -> dict[str, Any]:
    return {"eips": Build(event["plan"], event["execution"]).allocate_eips()}
