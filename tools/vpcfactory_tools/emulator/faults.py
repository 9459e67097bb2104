"""Fault injection for the emulator's EC2: fail the Nth call of an operation, or throttle.

``--fail-at CreateNatGateway:1=InsufficientAddressCapacity`` (see :func:`parse_fault`)
makes the first CreateNatGateway call fail with that AWS error code *before* moto runs
it, so nothing is created. ``EmulatorSettings(throttle=0.2, seed=7)`` fails a seeded,
reproducible 20 % of all EC2 calls with ``RequestLimitExceeded``.

The hook wraps moto's EC2 request dispatch (``EC2Response.call_action``), which every EC2
request goes through, in-process (``mock_aws``) and in server mode.

A *call* is one API call as the caller makes it: the SDK's automatic retries of that call
(same ``amz-sdk-invocation-id`` header, which botocore and the other AWS SDKs send) are
the same call. So an injected fault fails every attempt of the Nth call and reaches the
caller even through botocore's retries, and :func:`call_counts` counts calls, not HTTP
attempts. Requests without that header count one attempt as one call. Throttling, by
contrast, is drawn per attempt, as AWS throttling is, so SDK retries can get through it.

HTTP status codes follow EC2: server errors (``InternalError``, ``Insufficient*Capacity``)
are 500, ``Unavailable``/``ServiceUnavailable``/``RequestLimitExceeded`` 503, everything
else 400.
"""

from __future__ import annotations

import difflib
import functools
import random
import re
import threading
from collections import Counter, OrderedDict
from dataclasses import dataclass
from typing import Any

from moto.core.responses import ActionResult, BaseResponse
from moto.ec2.exceptions import EC2ClientError
from moto.ec2.responses import EC2Response

from .fidelity import Patcher, check_moto_version
from .settings import EmulatorSettings, current

DEFAULT_CODE = "InternalError"
SYNTAX = "OP[:N][=CODE]"

PINNED_SOURCES: dict[str, str] = {
    "moto.core.responses:BaseResponse.call_action": "26076963fd17fd1a",
    "moto.core.responses:BaseResponse._dispatch": "446e22484251a00b",
    "moto.core.responses:BaseResponse.serialized": "af486a0ef1327162",
}

_HTTP_STATUS = {
    "InternalError": 500,
    "InternalFailure": 500,
    "InsufficientAddressCapacity": 500,
    "InsufficientCapacity": 500,
    "InsufficientHostCapacity": 500,
    "InsufficientInstanceCapacity": 500,
    "InsufficientReservedInstanceCapacity": 500,
    "InsufficientVolumeCapacity": 500,
    "ServiceUnavailable": 503,
    "Unavailable": 503,
    "RequestLimitExceeded": 503,
}
_MESSAGES = {
    "InternalError": "An internal error has occurred.",
    "RequestLimitExceeded": "Request limit exceeded.",
    "Unavailable": "The server is overloaded and can't handle the request.",
    "ServiceUnavailable": "The request has failed due to a temporary failure of the server.",
}
_OPERATION = re.compile(r"[A-Z][A-Za-z0-9]*")
_CODE = re.compile(r"[A-Za-z][A-Za-z0-9]*(\.[A-Za-z][A-Za-z0-9]*)*")


@dataclass(frozen=True)
class Fault:
    """Fail call number ``call`` (1-based) of EC2 ``operation`` with error ``code``."""

    operation: str
    call: int = 1
    code: str = DEFAULT_CODE

    def __post_init__(self) -> None:
        if not _OPERATION.fullmatch(self.operation):
            raise ValueError(
                f"operation {self.operation!r} must be an EC2 operation name in PascalCase, "
                "e.g. CreateNatGateway"
            )
        if isinstance(self.call, bool) or not isinstance(self.call, int) or self.call < 1:
            raise ValueError(f"call number must be an integer >= 1, got {self.call!r}")
        if not _CODE.fullmatch(self.code):
            raise ValueError(
                f"error code {self.code!r} is not an AWS error code (e.g. InternalError, "
                "InvalidSubnetID.NotFound)"
            )

    @property
    def http_status(self) -> int:
        return http_status(self.code)

    def __str__(self) -> str:
        return f"{self.operation}:{self.call}={self.code}"


def http_status(code: str) -> int:
    """The HTTP status EC2 sends with an error code."""
    return _HTTP_STATUS.get(code, 400)


@functools.cache
def ec2_operations() -> frozenset[str]:
    """Every EC2 operation name in botocore's service model."""
    import botocore.session

    return frozenset(botocore.session.get_session().get_service_model("ec2").operation_names)


def parse_fault(text: str) -> Fault:
    """Parse ``OP[:N][=CODE]``, e.g. ``CreateNatGateway:2=InsufficientAddressCapacity``.

    OP is an EC2 operation in PascalCase, N the call to fail (default 1), CODE the AWS
    error code (default ``InternalError``). Raises ValueError naming what is wrong.
    """
    spec = text.strip()
    head, has_code, code = spec.partition("=")
    operation, has_call, call = head.partition(":")
    operation, call, code = operation.strip(), call.strip(), code.strip()
    where = f"fault {text!r} (expected {SYNTAX}, e.g. CreateNatGateway:1=InsufficientAddressCapacity)"
    if not operation:
        raise ValueError(f"{where}: the operation is missing")
    if not _OPERATION.fullmatch(operation):
        raise ValueError(f"{where}: {operation!r} is not an EC2 operation name in PascalCase")
    if operation not in ec2_operations():
        close = difflib.get_close_matches(operation, ec2_operations(), n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        raise ValueError(f"{where}: {operation!r} is not an EC2 operation{hint}")
    if has_call and not call.isdigit():
        raise ValueError(f"{where}: the call number {call!r} is not a positive integer")
    if has_call and int(call) < 1:
        raise ValueError(f"{where}: the call number must be >= 1 (1 is the first call)")
    if has_code and not _CODE.fullmatch(code):
        raise ValueError(f"{where}: {code!r} is not an AWS error code")
    return Fault(operation, int(call) if has_call else 1, code if has_code else DEFAULT_CODE)


# ---------------------------------------------------------------------------------------

_lock = threading.Lock()
_counts: Counter[str] = Counter()
# invocation id -> the fault decided for that call (None: not failed), for its SDK retries
_invocations: OrderedDict[str, Fault | None] = OrderedDict()
_MAX_INVOCATIONS = 10_000
_rng: random.Random | None = None
_rng_settings: EmulatorSettings | None = None
_patcher = Patcher()


def call_counts() -> dict[str, int]:
    """EC2 calls received per operation since the last :func:`reset` (failed ones too)."""
    with _lock:
        return dict(_counts)


def reset() -> None:
    """Forget call counts and restart the throttling sequence from its seed."""
    global _rng, _rng_settings
    with _lock:
        _counts.clear()
        _invocations.clear()
        _rng = _rng_settings = None


def _fault_for_call(operation: str, invocation_id: str | None, settings: EmulatorSettings) -> Fault | None:
    """Count a new call (not an SDK retry of a known one); the fault it must fail with."""
    if invocation_id is not None and invocation_id in _invocations:
        return _invocations[invocation_id]
    _counts[operation] += 1
    number = _counts[operation]
    fault = next((f for f in settings.faults if f.operation == operation and f.call == number), None)
    if invocation_id is not None:
        _invocations[invocation_id] = fault
        if len(_invocations) > _MAX_INVOCATIONS:
            _invocations.popitem(last=False)
    return fault


def _injected_error(operation: str, invocation_id: str | None = None) -> tuple[str, str] | None:
    """Account for this request; return (code, message) if it must fail."""
    global _rng, _rng_settings
    settings = current()
    with _lock:
        fault = _fault_for_call(operation, invocation_id, settings)
        if fault is not None:
            message = _MESSAGES.get(fault.code, f"{operation} failed with {fault.code}.")
            return fault.code, f"{message} [injected by the vpcfactory emulator: {fault}]"
        if settings.throttle > 0:
            if _rng is None or _rng_settings is not settings:
                _rng, _rng_settings = random.Random(settings.seed), settings
            if _rng.random() < settings.throttle:
                return "RequestLimitExceeded", (
                    f"{_MESSAGES['RequestLimitExceeded']} [throttled by the vpcfactory emulator: "
                    f"{operation}, throttle={settings.throttle}, seed={settings.seed}]"
                )
    return None


def _make_call_action(original: Any) -> Any:
    def call_action(self: BaseResponse) -> Any:
        """Fail the call before moto runs it if a configured fault (or throttling) says so."""
        operation = self._get_action()
        invocation_id = self.headers.get("amz-sdk-invocation-id")
        injected = _injected_error(operation, invocation_id) if operation else None
        if injected is None:
            return original(self)
        code, message = injected
        status = http_status(code)
        _, headers, body = self.serialized(ActionResult(EC2ClientError(code, message)))
        headers["status"] = str(status)
        headers, body = self._enrich_response(headers, body)
        return status, headers, body

    call_action.__wrapped__ = original  # type: ignore[attr-defined]
    return call_action


def installed() -> bool:
    return _patcher.active


def install() -> None:
    """Hook fault injection into moto's EC2 dispatch (idempotent; inert without faults)."""
    check_moto_version()
    with _lock:
        if _patcher.active:
            return
        _patcher.set(EC2Response, "call_action", _make_call_action(EC2Response.call_action))


def uninstall() -> None:
    with _lock:
        _patcher.undo()
