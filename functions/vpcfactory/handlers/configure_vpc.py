"""Configure VPC: VPC-wide settings that are off the critical path (DNS hostnames)."""

from vpcfactory.network import Build
from vpcfactory.observability import lambda_handler


@lambda_handler
def handler(event, context):
    Build(event["plan"], event["execution"]).enable_dns(event["vpcId"])
    return {"dnsHostnames": True}
