"""The one place that owns boto3: cached clients and ClientError -> our exception classes.

Clients are created lazily (never at import time: mocks must start before clients exist) and
cached per (service, region).

Retries happen at two levels, on purpose:
- botocore's standard retry mode (a few attempts, exponential backoff with jitter) absorbs the
  short bursts of throttling and transient 5xx that every EC2 caller sees, without costing a
  Lambda invocation and state transitions per blip;
- what survives that becomes a typed error: `Ec2Throttled` is retried by the state machine with
  longer, jittered backoff (the whole handler re-runs; it is idempotent), anything else goes to
  the rollback path.
"""

from __future__ import annotations

import contextvars
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from vpcfactory.errors import Ec2CallFailed, Ec2Throttled, InvalidSpec, ResourceInUse, ResourceNotYetVisible

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
_sessions: dict[tuple[str, str], tuple[boto3.session.Session, float]] = {}
_lock = threading.Lock()

# The account a handler works in: the factory's own, or a target account reached by assuming a
# role there (cross-account builds). Set per invocation by the handler decorator; a ContextVar so
# concurrent invocations in one process (the emulator) never see each other's target.
_target: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("vpcfactory_target", default=None)
_session_name: contextvars.ContextVar[str] = contextvars.ContextVar("vpcfactory_session", default="vpcfactory")
# Ids this invocation works with that the build itself just created (or was just given): EC2 may not
# show them yet (eventual consistency). Reset per invocation by the handler decorator.
_fresh: contextvars.ContextVar[frozenset[str]] = contextvars.ContextVar("vpcfactory_fresh", default=frozenset())
ROLE_NAME_PATTERN = re.compile(r"^[\w+=,.@-]{1,64}$")


def region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


def normalize_target(raw: Any, default_role_name: str | None = None) -> dict[str, Any] | None:
    """{accountId, region, roleName, externalId?} or None (build in the factory's own account).

    Raises InvalidSpec naming the field: a target is input like the spec, checked before any call.
    """
    if raw in (None, {}):
        return None
    if not isinstance(raw, dict):
        raise InvalidSpec("target", f"must be a mapping, not {type(raw).__name__}")
    unknown = sorted(set(raw) - {"accountId", "region", "roleName", "externalId"})
    if unknown:
        raise InvalidSpec(f"target.{unknown[0]}", "unknown key (accountId, region, roleName, externalId)")
    account = str(raw.get("accountId") or "")
    if not re.fullmatch(r"\d{12}", account):
        raise InvalidSpec("target.accountId", f"{account!r} is not a 12-digit AWS account id")
    role = raw.get("roleName") or default_role_name or "AWSControlTowerExecution"
    if not isinstance(role, str) or not ROLE_NAME_PATTERN.fullmatch(role):
        raise InvalidSpec("target.roleName", f"{role!r} is not an IAM role name")
    if default_role_name and role != default_role_name:
        # The functions may assume only the stack's DefaultTargetRoleName (CrossAccountPolicy):
        # any other name would be denied at AssumeRole, after the build had started.
        raise InvalidSpec(
            "target.roleName",
            f"the factory may assume only {default_role_name!r} in target accounts (the stack's "
            f"DefaultTargetRoleName), not {role!r}: leave roleName out, or deploy with DefaultTargetRoleName={role}",
        )
    target_region = raw.get("region") or region()
    if not isinstance(target_region, str) or not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d", target_region):
        raise InvalidSpec("target.region", f"{target_region!r} is not an AWS region")
    out = {"accountId": account, "region": target_region, "roleName": role}
    if raw.get("externalId"):
        out["externalId"] = str(raw["externalId"])
    return out


def use_target(target: dict[str, Any] | None, session_name: str | None = None) -> None:
    """Make this invocation's clients act in `target` (None: the factory's own account)."""
    _target.set(target)
    if session_name:
        # RoleSessionName: 2-64 chars of [\w+=,.@-]; the execution name, so CloudTrail in the
        # target account says which build did what.
        _session_name.set(re.sub(r"[^\w+=,.@-]", "-", session_name)[:64])


def current_target() -> dict[str, Any] | None:
    return _target.get()


def partition(region_name: str) -> str:
    """The ARN partition of a region: aws-cn (cn-*), aws-us-gov (us-gov-*) or aws."""
    return "aws-us-gov" if region_name.startswith("us-gov-") else "aws-cn" if region_name.startswith("cn-") else "aws"


def role_arn(target: dict[str, Any]) -> str:
    """The target's role ARN, in the partition of its region."""
    return f"arn:{partition(target['region'])}:iam::{target['accountId']}:role/{target['roleName']}"


def _assumed_session(target: dict[str, Any]) -> boto3.session.Session:
    arn = role_arn(target)
    key = (arn, _session_name.get())
    with _lock:
        cached = _sessions.get(key)
        if cached and cached[1] > time.time() + 300:
            return cached[0]
    kwargs: dict[str, Any] = {"RoleArn": arn, "RoleSessionName": key[1]}
    if target.get("externalId"):
        kwargs["ExternalId"] = target["externalId"]
    creds = call("AssumeRole", client("sts", own_account=True).assume_role, **kwargs)["Credentials"]
    session = boto3.session.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        region_name=target["region"],
    )
    expires = creds["Expiration"].timestamp() if hasattr(creds["Expiration"], "timestamp") else time.time() + 900
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
                _clients[key] = boto3.session.Session().client(service, region_name=key[1], config=_CLIENT_CONFIG)
            return _clients[key]
    session = _assumed_session(target)
    key = (
        service,
        region_name or target["region"],
        f"{target['accountId']}/{target['roleName']}/{_session_name.get()}",
    )
    with _lock:
        if key not in _clients:
            _clients[key] = session.client(service, region_name=key[1], config=_CLIENT_CONFIG)
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
    ignored. Never declare ids in teardown paths: there NotFound means gone (`missing_ok`)."""
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


def is_not_found(exc: ClientError) -> bool:
    code = error_code(exc)
    return code.endswith(".NotFound") or code.endswith("NotFound") or code == "InvalidAllocationID.NotFound"


def call(operation: str, fn: Callable[..., Any], /, *, missing_ok: bool = False, **kwargs: Any) -> Any:
    """Call one boto3 operation and translate its errors into the classes the ASL matches.

    With missing_ok, a `*.NotFound` answer returns None: deleting what is already gone is success
    (the same path serves rollback, destroy and CloudFormation Delete). Without it, an
    `Invalid*ID.NotFound` about an id declared new (expect_fresh) raises ResourceNotYetVisible.
    """
    try:
        return fn(**kwargs)
    except ClientError as exc:
        if missing_ok and is_not_found(exc):
            return None
        code = error_code(exc)
        message = str(exc.response.get("Error", {}).get("Message", exc))
        if code in THROTTLING_CODES:
            raise Ec2Throttled(f"{operation}: {code}: {message}") from exc
        if code in IN_USE_CODES:
            raise ResourceInUse(f"{operation}: {code}: {message}") from exc
        if NOT_YET_VISIBLE_CODES.match(code):
            resource_id = _fresh_id_named(message, kwargs)
            if resource_id is not None:
                raise ResourceNotYetVisible(operation, code, message, resource_id) from exc
        raise Ec2CallFailed(operation, code, message) from exc


def describe_all(ec2: Any, operation: str, key: str, filters: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every item a Describe* call returns for these filters, across pages where the API pages."""
    method = snake_case(operation)
    if ec2.can_paginate(method):
        pages = call(operation, lambda **kw: list(ec2.get_paginator(method).paginate(**kw)), Filters=filters)
        return [item for page in pages for item in page.get(key, [])]
    return call(operation, getattr(ec2, method), Filters=filters).get(key, [])


def snake_case(operation: str) -> str:
    """CreateNatGateway -> create_nat_gateway (boto3's method name for an API operation)."""
    return "".join(f"_{c.lower()}" if c.isupper() and i else c.lower() for i, c in enumerate(operation))
