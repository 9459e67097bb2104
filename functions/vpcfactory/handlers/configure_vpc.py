"""Configure VPC: DNS hostnames, default security group lockdown, flow logs, gateway endpoints
(all off the critical path: this runs while the NAT gateways are pending)."""

from vpcfactory import aws
from vpcfactory.network import Build
from vpcfactory.observability import lambda_handler
from vpcfactory.safeguards import configure_vpc


@lambda_handler
def handler(event, context):
    aws.expect_fresh(event["vpcId"], event["routeTables"])
    build = Build(event["plan"], event["execution"])
    return configure_vpc(build, event["vpcId"], event["routeTables"], event.get("flowLogsRoleArn"))
