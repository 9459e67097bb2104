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

import os
import threading
from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from vpcfactory.errors import Ec2CallFailed, Ec2Throttled, ResourceInUse

THROTTLING_CODES = frozenset({"RequestLimitExceeded", "Throttling", "ThrottlingException"})
IN_USE_CODES = frozenset({"DependencyViolation", "InvalidIPAddress.InUse", "Resource.AlreadyAssociated"})

# total_max_attempts counts the first attempt (botocore's max_attempts counts only retries).
SDK_ATTEMPTS = 4
_CLIENT_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": SDK_ATTEMPTS}, connect_timeout=5, read_timeout=20
)
_clients: dict[tuple[str, str], Any] = {}
_lock = threading.Lock()


def region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


def client(service: str = "ec2", region_name: str | None = None) -> Any:
    key = (service, region_name or region())
    with _lock:
        if key not in _clients:
            _clients[key] = boto3.session.Session().client(service, region_name=key[1], config=_CLIENT_CONFIG)
        return _clients[key]


def reset_clients() -> None:
    """Forget cached clients (tests start a fresh mock per test)."""
    with _lock:
        _clients.clear()


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", "Unknown"))


def is_not_found(exc: ClientError) -> bool:
    code = error_code(exc)
    return code.endswith(".NotFound") or code.endswith("NotFound") or code == "InvalidAllocationID.NotFound"


def call(operation: str, fn: Callable[..., Any], /, *, missing_ok: bool = False, **kwargs: Any) -> Any:
    """Call one boto3 operation and translate its errors into the classes the ASL matches.

    With missing_ok, a `*.NotFound` answer returns None: deleting what is already gone is success
    (the same path serves rollback, destroy and CloudFormation Delete).
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
