"""Release Build Lock: the build has ended (built and reported, or rolled back as far as it could):
another build of the same name may start. Deletes the lock only if this execution still holds it
(build_lock.release); the answer is the same whether it did or not, so a re-run answers alike."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vpcfactory import build_lock
from vpcfactory.observability import lambda_handler, logger

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from vpcfactory.contracts import ReleaseBuildLockEvent


@lambda_handler
def handler(event: ReleaseBuildLockEvent, context: LambdaContext) -> dict[str, Any]:
    lock = event.get("lock")
    if not lock:  # a build started without an execution ARN holds no lock
        return {"released": None}
    released = build_lock.release({"key": lock["key"], "holder": event["executionArn"]})
    logger.info("build lock", extra={"lockKey": lock["key"], "released": released})
    return {"released": lock["key"]}
