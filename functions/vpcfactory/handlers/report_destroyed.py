"""Report Destroyed: remove the published outputs, announce `VPC Destroyed`, answer CloudFormation."""

from vpcfactory import outcomes
from vpcfactory.observability import lambda_handler


@lambda_handler
def handler(event, context):
    scope = event["scope"]
    removed = outcomes.remove_outputs(scope["name"]) if scope.get("name") else []
    outcomes.announce(
        "VPC Destroyed", {"execution": event["execution"], "vpcId": scope["vpcId"], "target": event.get("target")}
    )
    cfn = event.get("cfn") or {}
    if cfn.get("requestId"):
        outcomes.respond(cfn["requestId"], "SUCCESS", physical_id=scope["vpcId"])
    return {"removedParameters": removed}
