"""Configure VPC: DNS hostnames, default security group lockdown, flow logs, gateway endpoints
(all off the critical path: this runs while the NAT gateways are pending)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vpcfactory import aws
from vpcfactory.network import Build
from vpcfactory.observability import lambda_handler
from vpcfactory.safeguards import configure_vpc

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from vpcfactory.contracts import ConfigureVpcEvent


@lambda_handler
def handler(event: ConfigureVpcEvent, context: LambdaContext) -> dict[str, Any]:
    aws.expect_fresh(event["vpcId"], event["routeTables"])
    build = Build(event["plan"], event["execution"])
    return configure_vpc(build, event["vpcId"], event["routeTables"], event.get("flowLogsRoleArn"))
