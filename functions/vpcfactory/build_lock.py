"""The build lock: one build per network at a time.

A network is identified by (account, Region, spec name): a build reconciles into the VPC that
carries its name (growth.py), so two executions building one name at once build into each other's
half-made network and fail with raw EC2 errors (RouteAlreadyExists, InvalidSubnet.Conflict). The
same name in two accounts or two Regions is two networks, and builds in parallel.

Validate And Plan takes the lock before anything is created; the build state machine releases it on
every path that ends the build (success, failure after the rollback, rollback failed). The lock is
an item in a DynamoDB table (the stack's BuildLocksTable), written with conditional writes, which
DynamoDB decides against the item's current value: of two writers racing on one key, exactly one
succeeds. Asking Step Functions which executions are running would not do: ListExecutions and
DescribeExecution are documented as eventually consistent ("the results are best effort and may
not reflect very recent updates"), so two builds started together could each miss the other.

Taking it (acquire):
1. PutItem with ``attribute_not_exists(lockKey) OR holder = :me``: free, or already ours (a retried
   Validate And Plan, or a re-run of it, re-takes its own lock).
2. Held by another execution: DescribeExecution on the holder. RUNNING or PENDING_REDRIVE: refused at
   once with BuildInProgress, naming the holder; nothing was created. Ended without releasing
   (stopped, timed out, failed before its failure path ran): the lock is stale and is taken over
   with a PutItem conditional on ``holder = :stale``, so of two builds taking over one stale lock
   only one can; the other then finds the winner running and is refused. A holder Step Functions
   does not know yet may simply be too new to be visible (eventual consistency): stale only once
   the lock is older than UNKNOWN_HOLDER_GRACE_SECONDS.

Releasing it: DeleteItem conditional on ``holder = :me``: an execution never deletes a lock it does
not hold (one taken over from it, or another build's). An item's ``expiresAt`` (the table's TTL
attribute) is only a safety net that removes forgotten items; DynamoDB deletes expired items in the
background, typically within two days, so correctness never depends on it.
"""

from __future__ import annotations

import datetime
import os
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

from botocore.exceptions import ClientError

from vpcfactory import aws
from vpcfactory.errors import BuildInProgress, BuildLockFailed
from vpcfactory.observability import logger

if TYPE_CHECKING:  # types only: contracts.py's ~50 TypedDicts would cost each cold start a few ms
    from vpcfactory.contracts import Lock

TABLE_VARIABLE = "BUILD_LOCKS_TABLE"
KEY = "lockKey"
# DescribeExecution statuses of an execution that may still build. PENDING_REDRIVE is documented for
# Distributed Map child executions (ListExecutions allows it only with a mapRunArn); a top-level
# build should not report it, but if it ever does, it is about to run again: live. A redriven build
# resumes at its failed state without re-taking the lock (docs/operations.md says when to redrive).
LIVE_STATUSES = frozenset({"RUNNING", "PENDING_REDRIVE"})
# A holder Step Functions does not report yet is treated as running this long after it took the lock.
UNKNOWN_HOLDER_GRACE_SECONDS = 300
# The TTL safety net: well past the build state machine's TimeoutSeconds (3300 s).
LOCK_LIFETIME_SECONDS = 24 * 3600
TAKE_ATTEMPTS = 3


def table_name() -> str:
    name = os.environ.get(TABLE_VARIABLE)
    if not name:
        raise BuildLockFailed(
            f"{TABLE_VARIABLE} is not set: the function has no build-lock table (template.yaml: BuildLocksTable)"
        )
    return name


def lock_key(name: str, target: Mapping[str, Any] | None, execution_arn: str) -> str:
    """(account, Region, spec name) of the network a build makes: the target's, or, without a target,
    the factory's own account and Region, read from the execution's ARN
    (arn:partition:states:region:account:execution:machine:name)."""
    parts = execution_arn.split(":")
    if len(parts) < 8 or parts[2] != "states":
        raise BuildLockFailed(f"{execution_arn!r} is not a Step Functions execution ARN")
    account, region = (target["accountId"], target["region"]) if target else (parts[4], parts[3])
    return f"{account}/{region}/{name}"


def is_stale(status: str | None, acquired_at: int, now: float) -> bool:
    """Whether a lock whose holder has this DescribeExecution status (None: unknown to Step
    Functions) may be taken over."""
    if status is None:
        return now - acquired_at > UNKNOWN_HOLDER_GRACE_SECONDS
    return status not in LIVE_STATUSES


def acquire(name: str, target: Mapping[str, Any] | None, execution_arn: str) -> Lock:
    """Take the build lock of `name` in the target for `execution_arn`, or raise BuildInProgress."""
    table = table_name()
    key = lock_key(name, target, execution_arn)
    now = int(time.time())
    item = {
        KEY: {"S": key},
        "holder": {"S": execution_arn},
        "specName": {"S": name},
        "acquiredAt": {"N": str(now)},
        "expiresAt": {"N": str(now + LOCK_LIFETIME_SECONDS)},
    }
    holder, status, acquired_at = "another execution", None, now
    for _attempt in range(TAKE_ATTEMPTS):
        free_or_mine = "attribute_not_exists(#key) OR holder = :me"
        written, current = _put(table, item, free_or_mine, {":me": {"S": execution_arn}})
        if written:
            return {"key": key, "holder": execution_arn}
        if current is None:
            continue  # released between our write and our read: free again
        holder = current["holder"]["S"]
        acquired_at = int(current.get("acquiredAt", {}).get("N", "0"))
        status = holder_status(holder)
        if not is_stale(status, acquired_at, time.time()):
            raise BuildInProgress(_in_progress(name, key, holder, status, acquired_at))
        if _put(table, item, "holder = :stale", {":stale": {"S": holder}})[0]:
            logger.warning(
                "took over a stale build lock",
                extra={"lockKey": key, "staleHolder": holder, "staleStatus": status or "unknown"},
            )
            return {"key": key, "holder": execution_arn}
        # Another build wrote the item between our two writes: look again.
    raise BuildInProgress(_in_progress(name, key, holder, status, acquired_at))


def release(lock: Lock) -> bool:
    """Delete the lock if `lock.holder` still holds it; False if it does not (nothing is touched).

    Released already is the normal case for the backstop (Release Build Lock runs after Report
    Success, which released it first): said at INFO. Held by another build -- ours went stale and was
    taken over -- is worth a WARNING. The failed condition answers with the item as it is
    (ReturnValuesOnConditionCheckFailure: no read capacity, no other permission), so telling the two
    apart costs no second call."""
    table = table_name()
    dynamodb = aws.client("dynamodb", own_account=True)
    try:
        dynamodb.delete_item(
            TableName=table,
            Key={KEY: {"S": lock["key"]}},
            ConditionExpression="holder = :me",
            ExpressionAttributeValues={":me": {"S": lock["holder"]}},
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except ClientError as exc:
        if aws.error_code(exc) == "ConditionalCheckFailedException":
            answer: dict[str, Any] = dict(exc.response)
            holder = (answer.get("Item") or {}).get("holder", {}).get("S")
            if holder is None:
                logger.info("the build lock was already released", extra={"lockKey": lock["key"]})
            else:
                logger.warning(
                    "the build lock is held by another build now: left as it is",
                    extra={"lockKey": lock["key"], "holder": holder},
                )
            return False
        raise _failed("DeleteItem", exc) from exc
    return True


def holder_status(execution_arn: str) -> str | None:
    """The holder's DescribeExecution status, or None if Step Functions does not know it."""
    sfn = aws.client("stepfunctions", own_account=True)
    try:
        return str(sfn.describe_execution(executionArn=execution_arn)["status"])
    except ClientError as exc:
        if aws.error_code(exc) in ("ExecutionDoesNotExist", "InvalidArn"):
            return None
        raise _failed("DescribeExecution", exc) from exc


def _put(
    table: str, item: dict[str, Any], condition: str, values: dict[str, Any]
) -> tuple[bool, dict[str, Any] | None]:
    """A conditional PutItem: (True, None) if it wrote the item; else (False, the item that failed
    the condition), or (False, None) if that item was deleted before we could read it."""
    dynamodb = aws.client("dynamodb", own_account=True)
    names = {"ExpressionAttributeNames": {"#key": KEY}} if "#key" in condition else {}
    try:
        dynamodb.put_item(
            TableName=table,
            Item=item,
            ConditionExpression=condition,
            ExpressionAttributeValues=values,
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
            **names,
        )
    except ClientError as exc:
        if aws.error_code(exc) != "ConditionalCheckFailedException":
            raise _failed("PutItem", exc) from exc
        old = cast(dict[str, Any], exc.response).get("Item")  # ALL_OLD: the item that failed the condition
        if old:
            return False, dict(old)
        try:
            found = dynamodb.get_item(TableName=table, Key={KEY: item[KEY]}, ConsistentRead=True).get("Item")
        except ClientError as read_exc:
            raise _failed("GetItem", read_exc) from read_exc
        return False, dict(found) if found else None
    return True, None


def _failed(operation: str, exc: ClientError) -> BuildLockFailed:
    message = exc.response.get("Error", {}).get("Message", str(exc))
    return BuildLockFailed(f"{operation} failed with {aws.error_code(exc)}: {message} (nothing was created)")


def _in_progress(name: str, key: str, holder: str, status: str | None, acquired_at: int) -> str:
    account, region, _ = key.split("/", 2)
    since = datetime.datetime.fromtimestamp(acquired_at, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    state = status or "just started, not yet listed by Step Functions"
    return (
        f"{name!r} is already being built in account {account}, {region} by execution "
        f"{holder.rsplit(':', 1)[-1]} ({holder}; {state}; holding the build lock since {since}). Two builds "
        "of one name would build into each other's network, so this one was refused before it created "
        "anything: nothing was created. Wait for that execution to end, then apply again "
        "(docs/operations.md, BuildInProgress)."
    )
