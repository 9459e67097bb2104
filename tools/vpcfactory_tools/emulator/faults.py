"""Fault injection for the emulator's EC2: fail the Nth call of an operation, kill the Lambda
handler right after it, or throttle.

- **Faults** (``--fail-at CreateNatGateway:1=InsufficientAddressCapacity``, see
  :func:`parse_fault`) fail the Nth call of an operation with an AWS error code *before* moto runs
  it, so nothing is created.
- **Crashes** (``--crash-after CreateVpc:1``, see :func:`parse_call`) let the Nth call run -- moto
  creates the resource and answers -- and then kill the Lambda handler that made it, before it can
  return: the emulator's Lambda runtime reports ``Runtime.ExitError`` (see
  :mod:`.lambda_runtime`). This is the "crashed between create and return" case that only
  tag-at-creation plus lookup-by-tag can clean up.
- **Throttling** (``EmulatorSettings(throttle=0.2, seed=7)``) fails a seeded, reproducible 20 % of
  EC2 request attempts with ``RequestLimitExceeded``. ``throttle_from`` starts it at a given call
  (before that nothing is throttled) and ``throttle_limit`` ends it after that many throttled
  attempts -- a throttling storm that passes, so a test can watch the retries that follow it work.

The hook wraps moto's EC2 request dispatch (``EC2Response.call_action``), which every EC2
request goes through, in-process (``mock_aws``) and in server mode.

A *call* is one API call as the caller makes it: the SDK's automatic retries of that call
(same ``amz-sdk-invocation-id`` header, which botocore and the other AWS SDKs send) are
the same call. So an injected fault fails every attempt of the Nth call and reaches the
caller even through botocore's retries, and :func:`call_counts` counts calls, not HTTP
attempts. Requests without that header count one attempt as one call. Throttling, by
contrast, is drawn per attempt, as AWS throttling is, so SDK retries can get through it.
With several executions running at once, which call draws which number depends on thread
scheduling: a seed reproduces a sequential run exactly, a concurrent one only statistically.

**Per execution**: ``@EXECUTION`` after a fault or crash (``CreateRoute:2@build-a-1``) counts
only the calls made by Lambda handlers working for that Step Functions execution, so one build
among many running at once can be failed. The attribution is done on the client side: while an
in-process handler runs, a botocore hook adds the execution named in its event (``execution``)
and the function's name to each EC2 request (``x-vpcfactory-execution``,
``x-vpcfactory-function``); :func:`call_sequence` lists what each execution called, and from
which function. The same client-side hook is what
kills the handler for a crash: the server marks the successful response with
``x-vpcfactory-crash`` and the hook raises :class:`~.lambda_runtime.RuntimeExit` in the
handler's thread when it sees the mark. Both work in server mode too, because the emulator's
Lambda handlers always run in the emulator's process; a call made by anything else (a test's
own client, the AWS CLI) is never attributed to an execution and never killed.

HTTP status codes follow EC2: server errors (``InternalError``, ``Insufficient*Capacity``)
are 500, ``Unavailable``/``ServiceUnavailable``/``RequestLimitExceeded`` 503, everything
else 400.
"""

from __future__ import annotations

import random
import threading
from collections import Counter, OrderedDict
from dataclasses import dataclass
from typing import Any

from botocore import handlers as botocore_handlers
from moto.core.responses import ActionResult, BaseResponse
from moto.ec2.exceptions import EC2ClientError
from moto.ec2.responses import EC2Response

from . import lambda_runtime
from .fault_spec import CallRef, Fault, http_status
from .fault_spec import parse_call as parse_call  # re-exported: faults.parse_call, as before
from .fault_spec import parse_fault as parse_fault
from .patching import Patcher, PatchSet
from .settings import EmulatorSettings, current

EXECUTION_HEADER = "x-vpcfactory-execution"
FUNCTION_HEADER = "x-vpcfactory-function"
CRASH_HEADER = "x-vpcfactory-crash"

PINNED_SOURCES: dict[str, str] = {
    "moto.core.responses:BaseResponse.call_action": "26076963fd17fd1a",
    "moto.core.responses:BaseResponse._dispatch": "446e22484251a00b",
    "moto.core.responses:BaseResponse.serialized": "af486a0ef1327162",
    # The client-side hooks: before-call may add a header to params["headers"]; after-call
    # sees the response before the client returns it (or raises its ClientError).
    "botocore.client:BaseClient._make_api_call": "75ba491f61ffbd4e",
}

_MESSAGES = {
    "InternalError": "An internal error has occurred.",
    "RequestLimitExceeded": "Request limit exceeded.",
    "Unavailable": "The server is overloaded and can't handle the request.",
    "ServiceUnavailable": "The request has failed due to a temporary failure of the server.",
}


# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Call:
    """What was decided for one call when it was first seen (its SDK retries reuse it)."""

    fault: Fault | None
    crash: CallRef | None


class _Throttle:
    """Throttling state for one settings object: seeded draws, started yet, attempts throttled."""

    def __init__(self, settings: EmulatorSettings) -> None:
        self.settings = settings
        self.rng = random.Random(settings.seed)
        self.started = settings.throttle_from is None
        self.throttled = 0

    def draw(self, operation: str) -> tuple[str, str] | None:
        settings = self.settings
        if not self.started or settings.throttle <= 0:
            return None
        if settings.throttle_limit is not None and self.throttled >= settings.throttle_limit:
            return None
        if self.rng.random() >= settings.throttle:
            return None
        self.throttled += 1
        return "RequestLimitExceeded", (
            f"{_MESSAGES['RequestLimitExceeded']} [throttled by the vpcfactory emulator: "
            f"{operation}, throttle={settings.throttle}, seed={settings.seed}]"
        )


_lock = threading.Lock()
_dispatch_lock = threading.RLock()
_counts: Counter[str] = Counter()
_execution_counts: Counter[tuple[str, str]] = Counter()  # (execution, operation)
_sequences: dict[str, list[tuple[str, str]]] = {}  # execution -> [(function, operation)] in call order
# invocation id -> what was decided for that call, for its SDK retries
_invocations: OrderedDict[str, _Call] = OrderedDict()
_MAX_INVOCATIONS = 10_000
_throttle: _Throttle | None = None


def call_counts(execution: str | None = None) -> dict[str, int]:
    """EC2 calls received per operation since the last :func:`reset` (failed ones too); with
    ``execution``, only the calls Lambda handlers made for that execution."""
    with _lock:
        if execution is None:
            return dict(_counts)
        return {op: n for (ex, op), n in _execution_counts.items() if ex == execution}


def call_sequence(execution: str) -> list[tuple[str, str]]:
    """(Lambda function, EC2 operation) of each call made for ``execution``, in the order the
    emulator received them, since the last :func:`reset`."""
    with _lock:
        return list(_sequences.get(execution, []))


def throttled_attempts() -> int:
    """Request attempts throttled under the current settings since the last :func:`reset`."""
    with _lock:
        return _throttle.throttled if _throttle is not None and _throttle.settings is current() else 0


def reset() -> None:
    """Forget call counts and restart the throttling sequence from its seed."""
    global _throttle
    with _lock:
        _counts.clear()
        _execution_counts.clear()
        _sequences.clear()
        _invocations.clear()
        _throttle = None


def _matches(ref: CallRef | Fault, operation: str, number: int, execution: str | None, in_execution: int) -> bool:
    if ref.operation != operation:
        return False
    if ref.execution is None:
        return ref.call == number
    return ref.execution == execution and ref.call == in_execution


def _count_call(
    operation: str, execution: str | None, function: str | None, settings: EmulatorSettings, throttle: _Throttle
) -> _Call:
    _counts[operation] += 1
    number, in_execution = _counts[operation], 0
    if execution is not None:
        _execution_counts[(execution, operation)] += 1
        in_execution = _execution_counts[(execution, operation)]
        _sequences.setdefault(execution, []).append((function or "", operation))
    fault = next((f for f in settings.faults if _matches(f, operation, number, execution, in_execution)), None)
    crash = next((c for c in settings.crash_after if _matches(c, operation, number, execution, in_execution)), None)
    start = settings.throttle_from
    if start is not None and _matches(start, operation, number, execution, in_execution):
        throttle.started = True
    return _Call(fault, crash)


def _decide(
    operation: str, invocation_id: str | None, execution: str | None, function: str | None = None
) -> tuple[_Call, Any]:
    """Account for this request attempt: (the call's decision, (code, message) if it must fail)."""
    global _throttle
    settings = current()
    with _lock:
        if _throttle is None or _throttle.settings is not settings:
            _throttle = _Throttle(settings)
        call = _invocations.get(invocation_id) if invocation_id is not None else None
        if call is None:
            call = _count_call(operation, execution, function, settings, _throttle)
            if invocation_id is not None:
                _invocations[invocation_id] = call
                if len(_invocations) > _MAX_INVOCATIONS:
                    _invocations.popitem(last=False)
        if call.fault is not None:
            message = _MESSAGES.get(call.fault.code, f"{operation} failed with {call.fault.code}.")
            return call, (call.fault.code, f"{message} [injected by the vpcfactory emulator: {call.fault}]")
        return call, _throttle.draw(operation)


def _make_call_action(original: Any) -> Any:
    def call_action(self: BaseResponse) -> Any:
        """Fail the call before moto runs it if a fault (or throttling) says so; mark the
        answer of a call after which the calling handler must die.

        One EC2 request is handled at a time: EC2 is safe under concurrent calls, moto's
        in-memory backend is not (a Describe iterating a dict while another request adds to it
        raises RuntimeError), and concurrent builds must see AWS's behaviour, not that race.
        """
        with _dispatch_lock:
            return _call_action(self, original)

    call_action.__wrapped__ = original  # type: ignore[attr-defined]
    return call_action


def _call_action(self: BaseResponse, original: Any) -> Any:
    operation = self._get_action()
    if not operation:
        return original(self)
    call, injected = _decide(
        operation,
        self.headers.get("amz-sdk-invocation-id"),
        self.headers.get(EXECUTION_HEADER),
        self.headers.get(FUNCTION_HEADER),
    )
    if injected is None:
        status, headers, body = original(self)
        if call.crash is not None and int(status) < 300:
            headers[CRASH_HEADER] = str(call.crash)
        return status, headers, body
    code, message = injected
    status = http_status(code)
    _, headers, body = self.serialized(ActionResult(EC2ClientError(code, message)))
    headers["status"] = str(status)
    headers, body = self._enrich_response(headers, body)
    return status, headers, body


# -- the client side: botocore hooks every new session registers (as moto's own stubber is) ------


def _attribute_to_execution(params: dict[str, Any], **_: Any) -> None:
    """before-call.ec2: name the execution (and the function) the running handler works for."""
    running = lambda_runtime.current_invocation()
    if running is not None and running.execution:
        headers = params.setdefault("headers", {})
        headers[EXECUTION_HEADER] = running.execution
        headers[FUNCTION_HEADER] = running.function_name


def _die_if_marked(http_response: Any, **_: Any) -> None:
    """after-call.ec2: the call succeeded and the emulator said this handler dies right now."""
    crash = http_response.headers.get(CRASH_HEADER) if http_response is not None else None
    if crash and lambda_runtime.current_invocation() is not None:
        raise lambda_runtime.RuntimeExit(f"signal: killed (by the vpcfactory emulator after {crash})")


_CLIENT_HOOKS = (("before-call.ec2", _attribute_to_execution), ("after-call.ec2", _die_if_marked))


def _apply(patcher: Patcher) -> None:
    """Hook fault injection into moto's EC2 dispatch and into botocore sessions created from now
    on (idempotent; inert without faults, crashes or throttling)."""
    patcher.set(EC2Response, "call_action", _make_call_action(EC2Response.call_action))
    for hook in _CLIENT_HOOKS:
        patcher.append(botocore_handlers.BUILTIN_HANDLERS, hook)


_patches = PatchSet(_apply, _lock)
installed = _patches.installed
install = _patches.install
uninstall = _patches.uninstall
