"""The one place that owns boto3: cached clients and ClientError -> our exception classes.

Clients are created lazily (never at import time: mocks must start before clients exist) and
cached per (service, region). They come from botocore sessions, the clients boto3 itself hands
out: `import boto3` also imports s3transfer and multiprocessing (boto3's S3 transfer manager and
resources), which no handler uses, and was a sixth of every cold start's imports (issue 16).

Retries happen at two levels, on purpose:
- botocore's standard retry mode (a few attempts, exponential backoff with jitter) absorbs the
  short bursts of throttling and transient 5xx that every EC2 caller sees, without costing a
  Lambda invocation and state transitions per blip;
- what survives that becomes a typed error: `AwsThrottled` is retried by the state machine with
  longer, jittered backoff (the whole handler re-runs; it is idempotent), anything else goes to
  the rollback path.
"""

from __future__ import annotations

import contextvars
import os
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import botocore.session
from botocore.config import Config
from botocore.exceptions import ClientError

from vpcfactory.errors import (
    AlreadyDone,
    AwsCallFailed,
    AwsThrottled,
    InvalidSpec,
    ResourceInUse,
    ResourceNotYetVisible,
)

if TYPE_CHECKING:
    from vpcfactory.contracts import Target

THROTTLING_CODES = frozenset({"RequestLimitExceeded", "Throttling", "ThrottlingException"})
IN_USE_CODES = frozenset({"DependencyViolation", "InvalidIPAddress.InUse", "Resource.AlreadyAssociated"})
# What EC2 answers for an id it does not (yet) know: InvalidVpcID.NotFound, InvalidSubnetID.NotFound,
# InvalidRouteTableID.NotFound, InvalidAllocationID.NotFound, InvalidVpcEndpointId.NotFound, ...
NOT_YET_VISIBLE_CODES = re.compile(r"^(Invalid\w*I[Dd]\.NotFound|NatGatewayNotFound)$")
RESOURCE_ID = re.compile(r"\b[a-z]+(?:-[a-z]+)*-[0-9a-f]{8,17}\b")

# total_max_attempts counts the first attempt (botocore's max_attempts counts only retries).
SDK_ATTEMPTS = 4
_CLIENT_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": SDK_ATTEMPTS}, connect_timeout=5, read_timeout=20
)
_clients: dict[tuple[str, str, str], Any] = {}
_sessions: dict[tuple[str, str], tuple[botocore.session.Session, float]] = {}
_lock = threading.Lock()

# The account a handler works in: the factory's own, or a target account reached by assuming a
# role there (cross-account builds). Set per invocation by the handler decorator; a ContextVar so
# concurrent invocations in one process (the emulator) never see each other's target.
_target: contextvars.ContextVar[Mapping[str, Any] | None] = contextvars.ContextVar("vpcfactory_target", default=None)
_session_name: contextvars.ContextVar[str] = contextvars.ContextVar("vpcfactory_session", default="vpcfactory")
# Ids this invocation works with that the build itself just created (or was just given): EC2 may not
# show them yet (eventual consistency). Reset per invocation by the handler decorator.
_fresh: contextvars.ContextVar[frozenset[str]] = contextvars.ContextVar("vpcfactory_fresh", default=frozenset())


def region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


def normalize_target(raw: Any, default_role_name: str | None = None) -> Target | None:
    """{accountId, region, roleName, externalId?} or None (build in the factory's own account).

    Raises InvalidSpec naming the field: a target is input like the spec, checked before any call.
    """
    # shown: every message that echoes input cuts it; the patterns: shared with manifest.py
    from vpcfactory.spec import ACCOUNT_ID_RE, REGION_RE, ROLE_NAME_RE, shown

    if raw in (None, {}):
        return None
    if not isinstance(raw, dict):
        raise InvalidSpec("target", f"must be a mapping, not {shown(raw)}")
    unknown = sorted(str(key) for key in set(raw) - {"accountId", "region", "roleName", "externalId"})
    if unknown:
        raise InvalidSpec(f"target.{unknown[0]}", "unknown key (accountId, region, roleName, externalId)")
    given = raw.get("accountId") or ""
    account = given if isinstance(given, str) else str(given) if isinstance(given, int) and given < 10**12 else ""
    if not ACCOUNT_ID_RE.fullmatch(account):
        raise InvalidSpec("target.accountId", f"{shown(given)} is not a 12-digit AWS account id")
    role = raw.get("roleName") or default_role_name or "AWSControlTowerExecution"
    if not isinstance(role, str) or not ROLE_NAME_RE.fullmatch(role):
        raise InvalidSpec("target.roleName", f"{shown(role)} is not an IAM role name")
    if default_role_name and role != default_role_name:
        # The functions may assume only the stack's DefaultTargetRoleName (CrossAccountPolicy):
        # any other name would be denied at AssumeRole, after the build had started.
        raise InvalidSpec(
            "target.roleName",
            f"the factory may assume only {default_role_name!r} in target accounts (the stack's "
            f"DefaultTargetRoleName), not {role!r}: leave roleName out, or deploy with DefaultTargetRoleName={role}",
        )
    target_region = raw.get("region") or region()
    if not isinstance(target_region, str) or not REGION_RE.fullmatch(target_region):
        raise InvalidSpec("target.region", f"{shown(target_region)} is not an AWS region")
    out: Target = {"accountId": account, "region": target_region, "roleName": role}
    if raw.get("externalId"):
        out["externalId"] = str(raw["externalId"])
    return out


def use_target(target: Mapping[str, Any] | None, session_name: str | None = None) -> None:
    """Make this invocation's clients act in `target` (None: the factory's own account)."""
    _target.set(target)
    if session_name:
        # RoleSessionName: 2-64 chars of [\w+=,.@-]; the execution name, so CloudTrail in the
        # target account says which build did what.
        _session_name.set(re.sub(r"[^\w+=,.@-]", "-", session_name)[:64])


def current_target() -> Mapping[str, Any] | None:
    return _target.get()


def partition(region_name: str) -> str:
    """The ARN partition of a region: aws-cn (cn-*), aws-us-gov (us-gov-*) or aws."""
    return "aws-us-gov" if region_name.startswith("us-gov-") else "aws-cn" if region_name.startswith("cn-") else "aws"


def role_arn(target: Mapping[str, Any]) -> str:
    """The target's role ARN, in the partition of its region."""
    return f"arn:{partition(target['region'])}:iam::{target['accountId']}:role/{target['roleName']}"


def assumed_session(sts: Any, target: Mapping[str, Any], session_name: str) -> tuple[botocore.session.Session, float]:
    """A session in the target account (AssumeRole of role_arn(target), with its ExternalId, through
    `sts`) and when its credentials expire (epoch seconds). The handlers and the operator CLI both
    reach a target account through here; errors are botocore's (the handlers call it through `call`)."""
    kwargs: dict[str, Any] = {"RoleArn": role_arn(target), "RoleSessionName": session_name}
    if target.get("externalId"):
        kwargs["ExternalId"] = target["externalId"]
    creds = sts.assume_role(**kwargs)["Credentials"]
    session = botocore.session.get_session()
    session.set_credentials(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
    session.set_config_variable("region", target["region"])
    expires = creds["Expiration"].timestamp() if hasattr(creds["Expiration"], "timestamp") else time.time() + 900
    return session, expires


def _assumed_session(target: Mapping[str, Any]) -> botocore.session.Session:
    key = (role_arn(target), _session_name.get())
    with _lock:
        cached = _sessions.get(key)
        if cached and cached[1] > time.time() + 300:
            return cached[0]
    sts = client("sts", own_account=True)
    session, expires = call("AssumeRole", assumed_session, sts=sts, target=target, session_name=key[1])
    with _lock:
        _sessions[key] = (session, expires)
    return session


def client(service: str = "ec2", region_name: str | None = None, *, own_account: bool = False) -> Any:
    """A cached client in this invocation's account (the target's, unless own_account)."""
    target = None if own_account else _target.get()
    if target is None:
        key = (service, region_name or region(), "self")
        with _lock:
            if key not in _clients:
                own = botocore.session.get_session()
                _clients[key] = own.create_client(service, region_name=key[1], config=_CLIENT_CONFIG)
            return _clients[key]
    session = _assumed_session(target)
    key = (
        service,
        region_name or target["region"],
        f"{target['accountId']}/{target['roleName']}/{_session_name.get()}",
    )
    with _lock:
        if key not in _clients:
            _clients[key] = session.create_client(service, region_name=key[1], config=_CLIENT_CONFIG)
        return _clients[key]


def reset_clients() -> None:
    """Forget cached clients (tests start a fresh mock per test)."""
    with _lock:
        _clients.clear()
        _sessions.clear()


def _strings(value: Any) -> Iterator[str]:
    """Every string in a value, walking dicts (their values), lists, tuples and sets."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            yield from _strings(item)


def expect_fresh(*values: Any) -> None:
    """Declare ids this invocation uses that are new: created by this build (in this invocation or
    an earlier task of the execution) or just given to it (a bring-your-own Elastic IP). An
    `Invalid*ID.NotFound` that names one of them becomes ResourceNotYetVisible, which the workflow
    retries with backoff. Accepts ids, and lists/dicts holding ids (walked); anything else is
    ignored. Never declare ids in teardown paths: there the NotFound of the deleted resource means
    gone (`missing_ok`, GONE_CODES)."""
    found = {s for s in _strings(values) if RESOURCE_ID.fullmatch(s)}
    if found:
        _fresh.set(_fresh.get() | found)


def forget_fresh() -> None:
    """No id is new (the start of an invocation)."""
    _fresh.set(frozenset())


def _fresh_id_named(message: str, kwargs: dict[str, Any]) -> str | None:
    """The new id a NotFound answer is about: one named in its message, else (a message naming
    no id) one the request named."""
    fresh = _fresh.get()
    if not fresh:
        return None
    named = RESOURCE_ID.findall(message) or list(_strings(kwargs))
    return next((i for i in named if i in fresh), None)


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", "Unknown"))


# What "already gone" is, per operation: only the codes that say *the resource this operation acts
# on* does not exist. Any other NotFound -- a route (InvalidRoute.NotFound from a gateway endpoint's
# DeleteVpcEndpoints), a prefix list, another resource the request names -- is a failure, never
# success. EC2 codes from the EC2 API Reference, "Error codes" (errors-overview.html), which lists
# more than one spelling for some (NatGatewayNotFound and InvalidNatGatewayID.NotFound,
# InvalidSubnetID/InvalidSubnetId, InvalidAllocationID and InvalidAddressID for a release); for an
# egress-only IGW also InvalidGatewayID.NotFound ("the specified gateway does not exist": what
# moto answers, and what Terraform's AWS provider treats as gone on this delete). SSM:
# ParameterNotFound (GetParameter, DeleteParameter API reference); CloudWatch Logs:
# ResourceNotFoundException (DeleteLogGroup API reference).
GONE_CODES: dict[str, frozenset[str]] = {
    "DeleteVpcEndpoints": frozenset({"InvalidVpcEndpointId.NotFound", "InvalidVpcEndpoint.NotFound"}),
    "DeleteFlowLogs": frozenset({"InvalidFlowLogId.NotFound"}),
    "DeleteNatGateway": frozenset({"NatGatewayNotFound", "InvalidNatGatewayID.NotFound"}),
    "DeleteTransitGatewayVpcAttachment": frozenset({"InvalidTransitGatewayAttachmentID.NotFound"}),
    "ReleaseAddress": frozenset({"InvalidAllocationID.NotFound", "InvalidAddressID.NotFound"}),
    "DisassociateRouteTable": frozenset({"InvalidAssociationID.NotFound"}),
    "DeleteRouteTable": frozenset({"InvalidRouteTableID.NotFound", "InvalidRouteTableId.NotFound"}),
    # the attachment is what a detach deletes: a gateway that is gone, or not attached, has none
    "DetachInternetGateway": frozenset({"InvalidInternetGatewayID.NotFound", "Gateway.NotAttached"}),
    "DeleteInternetGateway": frozenset({"InvalidInternetGatewayID.NotFound"}),
    "DeleteEgressOnlyInternetGateway": frozenset(
        {"InvalidEgressOnlyInternetGatewayId.NotFound", "InvalidGatewayID.NotFound"}
    ),
    "DeleteSubnet": frozenset({"InvalidSubnetID.NotFound", "InvalidSubnetId.NotFound"}),
    "DeleteSecurityGroup": frozenset({"InvalidGroup.NotFound", "InvalidGroupId.NotFound"}),  # sg/endpoints
    "DeleteVpc": frozenset({"InvalidVpcID.NotFound"}),
    "DescribeVpcs": frozenset({"InvalidVpcID.NotFound"}),  # Resolve VPC: is the VPC to destroy there?
    "DeleteLogGroup": frozenset({"ResourceNotFoundException"}),
    "GetParameter": frozenset({"ParameterNotFound"}),
    "GetObject": frozenset({"NoSuchKey"}),  # a rollout's manifest or spec that is not there
    "DeleteParameter": frozenset({"ParameterNotFound"}),
}


def is_gone(operation: str, exc: ClientError, kwargs: dict[str, Any]) -> bool:
    """True only if this answer says the resource `operation` acts on does not exist: its code is
    one GONE_CODES lists for the operation and, when the message names resource ids, one of them
    is an id the request named (a NotFound about some other id is not about ours)."""
    if error_code(exc) not in GONE_CODES.get(operation, frozenset()):
        return False
    named = set(RESOURCE_ID.findall(str(exc.response.get("Error", {}).get("Message", ""))))
    if not named:
        return True
    requested = set(_strings(kwargs))
    requested |= {token for value in requested for token in RESOURCE_ID.findall(value)}  # ids inside names
    return bool(named & requested)


# What EC2 answers when a create or an association repeats one already made (call's `exists`):
# CreateSubnet with a CIDR a subnet of the VPC has ("InvalidSubnet.Conflict"), AssociateRouteTable of
# a subnet already associated ("Resource.AlreadyAssociated": not idempotent by default, EC2 developer
# guide "Ensuring idempotency"), CreateRoute to a destination the table routes ("RouteAlreadyExists",
# whatever the target). EC2 API Reference, "Error codes".
EXISTS_CODES: dict[str, str] = {
    "CreateSubnet": "InvalidSubnet.Conflict",
    "AssociateRouteTable": "Resource.AlreadyAssociated",
    "CreateRoute": "RouteAlreadyExists",
}


def call(
    operation: str, fn: Callable[..., Any], /, *, missing_ok: bool = False, exists: bool = False, **kwargs: Any
) -> Any:
    """Call one boto3 operation and translate its errors into the classes the ASL matches.

    With missing_ok, an answer that the resource being deleted is already gone (is_gone: a code
    GONE_CODES lists for this operation, about an id of this request) returns None: deleting what
    is already gone is success (the same path serves rollback, destroy and CloudFormation Delete).
    Any other NotFound is an error like any other. Without missing_ok, an `Invalid*ID.NotFound`
    about an id declared new (expect_fresh) raises ResourceNotYetVisible. With exists, the answer
    that what the call would make exists already (EXISTS_CODES) raises AlreadyDone.
    """
    try:
        return fn(**kwargs)
    except ClientError as exc:
        if missing_ok and is_gone(operation, exc, kwargs):
            return None
        message = str(exc.response.get("Error", {}).get("Message", exc))
        if exists and error_code(exc) == EXISTS_CODES.get(operation):
            raise AlreadyDone(operation, error_code(exc), message) from exc
        raise translate(operation, error_code(exc), message, kwargs) from exc


def translate(operation: str, code: str, message: str, kwargs: dict[str, Any]) -> Exception:
    """The exception class the ASL matches for an AWS error code."""
    if code in THROTTLING_CODES:
        return AwsThrottled(f"{operation}: {code}: {message}")
    if code in IN_USE_CODES:
        return ResourceInUse(f"{operation}: {code}: {message}")
    if NOT_YET_VISIBLE_CODES.match(code):
        resource_id = _fresh_id_named(message, kwargs)
        if resource_id is not None:
            return ResourceNotYetVisible(operation, code, message, resource_id)
    return AwsCallFailed(operation, code, message)


def delete_batch(operation: str, fn: Callable[..., Any], id_param: str, ids: list[str]) -> None:
    """A batch delete whose answer lists per-item failures instead of raising (DeleteVpcEndpoints,
    DeleteFlowLogs: `Unsuccessful`, botocore's UnsuccessfulItemSet). An id counts as done only if
    it is not listed, or its entry says that very id is gone (a GONE_CODES code for the
    operation); any other entry raises, naming the id and EC2's code and message. A whole-call
    error saying one id is gone says nothing of the others: each id is then deleted on its own."""
    if not ids:
        return
    try:
        kwargs: dict[str, Any] = {id_param: ids}
        result = call(operation, fn, missing_ok=len(ids) == 1, **kwargs)
    except AwsCallFailed as exc:
        if len(ids) > 1 and exc.code in GONE_CODES.get(operation, frozenset()):
            for one in ids:
                delete_batch(operation, fn, id_param, [one])
            return
        raise
    gone = GONE_CODES.get(operation, frozenset())
    failed: list[tuple[str, str]] = []
    for item in (result or {}).get("Unsuccessful") or []:
        error = item.get("Error") or {}
        code = str(error.get("Code") or "Unsuccessful")
        if code in gone and item.get("ResourceId") in ids:
            continue  # that very id is already gone
        failed.append((code, f"{item.get('ResourceId') or '?'}: {code}: {error.get('Message', '')}"))
    if failed:
        message = "not deleted: " + "; ".join(text for _, text in failed)
        raise translate(operation, failed[0][0], message, {id_param: ids})


def describe_all(ec2: Any, operation: str, key: str, filters: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every item a Describe* call returns for these filters, across pages where the API pages."""
    method = snake_case(operation)
    if ec2.can_paginate(method):
        pages = call(operation, lambda **kw: list(ec2.get_paginator(method).paginate(**kw)), Filters=filters)
        return [item for page in pages for item in page.get(key, [])]
    return call(operation, getattr(ec2, method), Filters=filters).get(key, [])


def bucket_status(bucket: str) -> int:
    """The HTTP status S3 HeadBucket answers for `bucket`, asked in this invocation's account (the
    target's role for a cross-account build). HeadBucket has no error body, so the status is all
    there is (S3 API reference): 200 the bucket exists and we may list it (HeadBucket is authorized
    as s3:ListBucket); 403 it exists but is not ours to read, e.g. another account's log archive
    (or we are denied); 404 no such bucket; 400 or 5xx otherwise. botocore follows a bucket in
    another Region itself (the x-amz-bucket-region header of a 301/400 answer)."""
    try:
        client("s3").head_bucket(Bucket=bucket)
    except ClientError as exc:
        return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    return 200


def snake_case(operation: str) -> str:
    """CreateNatGateway -> create_nat_gateway (boto3's method name for an API operation)."""
    return "".join(f"_{c.lower()}" if c.isupper() and i else c.lower() for i, c in enumerate(operation))
