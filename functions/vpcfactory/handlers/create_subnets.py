"""Create Subnets: every tier in every AZ, tagged at creation."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vpcfactory import aws
from vpcfactory.network import Build
from vpcfactory.observability import lambda_handler

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from vpcfactory.contracts import VpcStageEvent


@lambda_handler
def handler(event: VpcStageEvent, context: LambdaContext) -> dict[str, Any]:
    aws.expect_fresh(event["vpcId"])
    build = Build(event["plan"], event["execution"], attempt=event.get("attempt"))
    return {"subnets": build.create_subnets(event["vpcId"])}
