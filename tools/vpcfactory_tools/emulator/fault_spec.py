"""What to fail, crash or count in the emulator's EC2 (faults.py does it): ``Fault`` and ``CallRef``
and their command-line syntax, ``OP[:N][=CODE][@EXECUTION]`` and ``OP[:N][@EXECUTION]``.

Pure (no moto), so the settings that hold them and the CLI that parses ``--fail-at`` and
``--crash-after`` need not load the emulator. faults.py's docstring says what each one does.
"""

from __future__ import annotations

import difflib
import functools
import re
from dataclasses import dataclass

from vpcfactory.spec import shown

DEFAULT_CODE = "InternalError"
SYNTAX = "OP[:N][=CODE][@EXECUTION]"
CALL_SYNTAX = "OP[:N][@EXECUTION]"

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
_OPERATION = re.compile(r"[A-Z][A-Za-z0-9]*")
_CODE = re.compile(r"[A-Za-z][A-Za-z0-9]*(\.[A-Za-z][A-Za-z0-9]*)*")
_EXECUTION = re.compile(r"[A-Za-z0-9_-]{1,80}")  # Step Functions execution names we generate


def _check_call(operation: str, call: int, execution: str | None) -> None:
    if not _OPERATION.fullmatch(operation):
        raise ValueError(f"operation {operation!r} must be an EC2 operation name in PascalCase, e.g. CreateNatGateway")
    if isinstance(call, bool) or not isinstance(call, int) or call < 1:
        raise ValueError(f"call number must be an integer >= 1, got {call!r}")
    if execution is not None and not _EXECUTION.fullmatch(execution):
        raise ValueError(f"execution {execution!r} is not an execution name ([A-Za-z0-9_-], at most 80)")


@dataclass(frozen=True)
class CallRef:
    """Call number ``call`` (1-based) of EC2 ``operation``; with ``execution``, counted only
    among the calls that Lambda handlers make for that execution."""

    operation: str
    call: int = 1
    execution: str | None = None

    def __post_init__(self) -> None:
        _check_call(self.operation, self.call, self.execution)

    def __str__(self) -> str:
        return f"{self.operation}:{self.call}" + (f"@{self.execution}" if self.execution else "")


@dataclass(frozen=True)
class Fault:
    """Fail call number ``call`` (1-based) of EC2 ``operation`` with error ``code`` (counted
    per execution when ``execution`` is set)."""

    operation: str
    call: int = 1
    code: str = DEFAULT_CODE
    execution: str | None = None

    def __post_init__(self) -> None:
        _check_call(self.operation, self.call, self.execution)
        if not _CODE.fullmatch(self.code):
            raise ValueError(
                f"error code {self.code!r} is not an AWS error code (e.g. InternalError, InvalidSubnetID.NotFound)"
            )

    @property
    def http_status(self) -> int:
        return http_status(self.code)

    def __str__(self) -> str:
        return f"{self.operation}:{self.call}={self.code}" + (f"@{self.execution}" if self.execution else "")


def http_status(code: str) -> int:
    """The HTTP status EC2 sends with an error code."""
    return _HTTP_STATUS.get(code, 400)


@functools.cache
def ec2_operations() -> frozenset[str]:
    """Every EC2 operation name in botocore's service model."""
    import botocore.session

    return frozenset(botocore.session.get_session().get_service_model("ec2").operation_names)


def _parse_head(text: str, syntax: str, example: str) -> tuple[str, int, str | None, str, bool]:
    """``OP[:N]...[@EXECUTION]`` -> (operation, call, execution, rest after '=', has '=')."""
    spec = text.strip()
    where = f"{'fault' if '=' in syntax else 'call'} {shown(text)} (expected {syntax}, e.g. {example})"
    spec, has_execution, execution = spec.partition("@")
    head, has_code, code = spec.partition("=")
    operation, has_call, call = head.partition(":")
    operation, call, execution = operation.strip(), call.strip(), execution.strip()
    if not operation:
        raise ValueError(f"{where}: the operation is missing")
    if not _OPERATION.fullmatch(operation):
        raise ValueError(f"{where}: {shown(operation)} is not an EC2 operation name in PascalCase")
    if operation not in ec2_operations():
        close = difflib.get_close_matches(operation, ec2_operations(), n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        raise ValueError(f"{where}: {shown(operation)} is not an EC2 operation{hint}")
    if has_call and not call.isdigit():
        raise ValueError(f"{where}: the call number {shown(call)} is not a positive integer")
    if has_call and int(call) < 1:
        raise ValueError(f"{where}: the call number must be >= 1 (1 is the first call)")
    if has_execution and not _EXECUTION.fullmatch(execution):
        raise ValueError(f"{where}: {shown(execution)} is not an execution name")
    if has_code and "=" not in syntax:
        raise ValueError(f"{where}: a crash takes no error code")
    return operation, int(call) if has_call else 1, execution or None, code.strip(), bool(has_code)


def parse_fault(text: str) -> Fault:
    """Parse ``OP[:N][=CODE][@EXECUTION]``, e.g. ``CreateNatGateway:2=InsufficientAddressCapacity``.

    OP is an EC2 operation in PascalCase, N the call to fail (default 1), CODE the AWS
    error code (default ``InternalError``), EXECUTION the one execution whose calls are counted
    (default: every call counts). Raises ValueError naming what is wrong.
    """
    operation, call, execution, code, has_code = _parse_head(
        text, SYNTAX, "CreateNatGateway:1=InsufficientAddressCapacity"
    )
    if has_code and not _CODE.fullmatch(code):
        where = f"fault {shown(text)} (expected {SYNTAX}, e.g. CreateNatGateway:1=InsufficientAddressCapacity)"
        raise ValueError(f"{where}: {shown(code)} is not an AWS error code")
    return Fault(operation, call, code if has_code else DEFAULT_CODE, execution)


def parse_call(text: str) -> CallRef:
    """Parse ``OP[:N][@EXECUTION]`` (``--crash-after``), e.g. ``CreateNatGateway:2``."""
    operation, call, execution, _, _ = _parse_head(text, CALL_SYNTAX, "CreateNatGateway:2")
    return CallRef(operation, call, execution)
