"""Create VPC (find-or-create by ownership tags) and start the VPC wait loop."""

from vpcfactory.network import Build
from vpcfactory.observability import lambda_handler
from vpcfactory.polling import PollConfig


@lambda_handler
def handler(event, context):
    vpc = Build(event["plan"], event["execution"]).create_vpc()
    vpc["wait"] = PollConfig.from_event(event.get("poll")).first(done=vpc.pop("state") == "available")
    return vpc
