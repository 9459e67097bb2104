"""Report Success: publish the outputs (SSM in the target account), give the build lock back,
announce `VPC Ready`, and answer CloudFormation when it asked for the build.

The lock is released here, before anyone hears that the network is ready: CloudFormation may send
its next request for the same name as soon as it has our answer (a stack update rolling back when
another resource failed), and a consumer of `VPC Ready` may start one; either would otherwise find
this execution still RUNNING and be refused with BuildInProgress. The Release Build Lock state
after this one stays as the backstop (a release is conditional on holding the lock, so doing it
twice is harmless)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from vpcfactory import build_lock, observability, outcomes
from vpcfactory.observability import lambda_handler, logger

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from vpcfactory.contracts import ReportSuccessEvent


def _release(event):
    lock = event.get("lock")
    if not lock or not event.get("executionArn"):
        return
    try:
        build_lock.release({"key": lock["key"], "holder": event["executionArn"]})
    except Exception:  # the network is built: a lock left behind is the backstop's, then the next build's
        logger.exception("could not release the build lock; Release Build Lock tries again", extra=lock)


def _build_seconds(start_time):
    """Seconds since the execution started (`$$.Execution.StartTime`, ISO 8601), or None."""
    try:
        started = datetime.fromisoformat(str(start_time).replace("Z", "+00:00"))
    except ValueError:
        return None
    if started.tzinfo is None:
        started = started.replace(tzinfo=UTC)
    return (datetime.now(UTC) - started).total_seconds()


@lambda_handler
def handler(event: ReportSuccessEvent, context: LambdaContext) -> dict[str, Any]:
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
    # Counted once everything above worked: a failure here rolls back, and counts as failed.
    observability.count(observability.BUILDS_SUCCEEDED)
    elapsed = _build_seconds(event["startTime"]) if event.get("startTime") else None
    if elapsed is not None:
        observability.seconds(observability.BUILD_SECONDS, elapsed)
    return {"parameters": parameters}
