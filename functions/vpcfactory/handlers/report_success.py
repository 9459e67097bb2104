"""Report Success: publish the outputs (SSM in the target account), give the build lock back,
announce `VPC Ready`, and answer CloudFormation when it asked for the build.

The lock is released here, before anyone hears that the network is ready: CloudFormation may send
its next request for the same name as soon as it has our answer (a stack update rolling back when
another resource failed), and a consumer of `VPC Ready` may start one; either would otherwise find
this execution still RUNNING and be refused with BuildInProgress. The Release Build Lock state
after this one stays as the backstop (a release is conditional on holding the lock, so doing it
twice is harmless)."""

from vpcfactory import build_lock, outcomes
from vpcfactory.observability import lambda_handler, logger


def _release(event):
    lock = event.get("lock")
    if not lock or not event.get("executionArn"):
        return
    try:
        build_lock.release(build_lock.Lock(key=lock["key"], holder=event["executionArn"]))
    except Exception:  # the network is built: a lock left behind is the backstop's, then the next build's
        logger.exception("could not release the build lock; Release Build Lock tries again", extra=lock)


@lambda_handler
def handler(event, context):
    network = event["network"]
    parameters = outcomes.publish_outputs(network)
    _release(event)
    outcomes.announce("VPC Ready", {"execution": event["execution"], "target": event.get("target"), **network})
    cfn = event.get("cfn") or {}
    if cfn.get("requestId"):
        answered = outcomes.respond(
            cfn["requestId"], "SUCCESS", physical_id=network["vpcId"], data=outcomes.response_data(network)
        )
        logger.info("answered CloudFormation", extra={"requestId": cfn["requestId"], "answered": answered})
    return {"parameters": parameters}
