"""Report Success: publish the outputs (SSM in the target account), announce `VPC Ready`, and
answer CloudFormation when it asked for the build."""

from vpcfactory import outcomes
from vpcfactory.observability import lambda_handler, logger


@lambda_handler
def handler(event, context):
    network = event["network"]
    parameters = outcomes.publish_outputs(network)
    outcomes.announce("VPC Ready", {"execution": event["execution"], "target": event.get("target"), **network})
    cfn = event.get("cfn") or {}
    if cfn.get("requestId"):
        answered = outcomes.respond(
            cfn["requestId"], "SUCCESS", physical_id=network["vpcId"], data=outcomes.response_data(network)
        )
        logger.info("answered CloudFormation", extra={"requestId": cfn["requestId"], "answered": answered})
    return {"parameters": parameters}
