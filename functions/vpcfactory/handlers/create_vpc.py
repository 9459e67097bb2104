"""Create VPC (find-or-create by ownership tags) and start the VPC wait loop."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vpcfactory.network import Build
from vpcfactory.observability import lambda_handler
from vpcfactory.polling import PollConfig

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from vpcfactory.contracts import CreateVpcEvent


@lambda_handler
def handler(event: CreateVpcEvent, context: LambdaContext) -> dict[str, Any]:
    vpc = Build(event["plan"], event["execution"]).create_vpc()
    vpc["wait"] = PollConfig.from_event(event.get("poll")).first(done=vpc.pop("state") == "available")
    return vpc
