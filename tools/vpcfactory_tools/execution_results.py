"""Step Functions executions as the CLI sees them, on the emulator or a real account: names,
waiting for the end, the result and the one line a person reads of its cause.

Nothing here imports the emulator (moto): `vpcfactory status` and `apply --stack` against a real
stack use it as they are, and the emulator (emulator/embedded.py) builds on it.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

TERMINAL = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")
DOCS = "docs/operations.md"
# Where the runbook says what to do next, by the error an execution ended with.
RUNBOOK = {
    "RollbackIncomplete": f"{DOCS}#a-rollback-or-destroy-could-not-finish",
    "DestroyIncomplete": f"{DOCS}#a-rollback-or-destroy-could-not-finish",
    "ReplacementRequired": f"{DOCS}#day-2-growth (and `vpcfactory plan SPEC --stack ...` for the diff)",
    "NotOwnedByFactory": f"{DOCS}#a-build-failed",
    "StoppedByOperator": f"{DOCS}#interrupting-apply-or-destroy-ctrl-c",
}


def runbook(error: str | None) -> str:
    return RUNBOOK.get(error or "", f"{DOCS}#a-build-failed")


@dataclass
class ExecutionResult:
    execution_arn: str
    status: str
    output: Any
    error: str | None
    cause: str | None
    input: Any = None

    @property
    def vpc_id(self) -> str | None:
        if isinstance(self.output, dict) and self.output.get("vpcId"):
            return self.output["vpcId"]
        return None

    def as_contract(self) -> dict[str, Any]:
        """The object `vpcfactory apply --json` prints (DESIGN.md, CLI; docs/operations.md lists it).

        `cause` is the execution's cause as Step Functions has it (a Lambda error's JSON, stack
        trace included); `message` is the one line a person reads: the Lambda error's message,
        or the summary of a teardown report (null when the execution succeeded)."""
        message = " ".join(cause_message(self.cause).split()) if self.cause else ""
        return {
            "status": self.status,
            "executionArn": self.execution_arn,
            "vpcId": self.vpc_id,
            "output": self.output,
            "error": self.error,
            "message": message or (self.error if self.status != "SUCCEEDED" else None),
            "cause": self.cause,
        }


def wait_for_execution(sfn: Any, execution_arn: str, timeout: float = 600.0, poll: float = 0.02) -> ExecutionResult:
    deadline = time.monotonic() + timeout
    while True:
        desc = sfn.describe_execution(executionArn=execution_arn)
        if desc["status"] in TERMINAL:
            output = json.loads(desc["output"]) if desc.get("output") else None
            return ExecutionResult(
                execution_arn=execution_arn,
                status=desc["status"],
                output=output,
                error=desc.get("error"),
                cause=desc.get("cause"),
                input=json.loads(desc.get("input") or "null"),
            )
        if time.monotonic() > deadline:
            raise TimeoutError(f"{execution_arn} still {desc['status']} after {timeout}s")
        time.sleep(poll)


def execution_name(prefix: str) -> str:
    # Names are ≤ 80 chars of [A-Za-z0-9-_]; they become the vpcfactory:execution tag.
    return f"{prefix}-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"[:80]


def cause_message(cause: Any) -> str:
    """The clean message of a Step Functions error cause, for people: no JSON, no stack traces.

    - A Lambda error's cause is JSON ({errorType, errorMessage, stackTrace}): its errorMessage.
    - A teardown that could not finish (RollbackIncomplete / DestroyIncomplete, the Report
      Leftovers report {originalError, teardownError, leftovers}): how many resources are left,
      the error that stopped the teardown and, for a rollback, the error that started it.
    - Anything else (a Fail state's text, States.Timeout's): as it is.
    """
    if not cause:
        return ""
    parsed: Any = cause
    if isinstance(cause, str):
        try:
            parsed = json.loads(cause)
        except ValueError:
            return cause
    if not isinstance(parsed, dict):
        return cause if isinstance(cause, str) else json.dumps(cause)
    if "leftovers" in parsed or "teardownError" in parsed:
        return _teardown_report(parsed)
    message = parsed.get("errorMessage")
    if isinstance(message, str) and message:
        return message
    return cause if isinstance(cause, str) else json.dumps(cause)


def error_text(error: Any) -> str:
    if not isinstance(error, dict):
        return ""
    name, message = error.get("Error") or "", cause_message(error.get("Cause"))
    return f"{name}: {message}" if name and message else name or message


def _teardown_report(report: dict[str, Any]) -> str:
    leftovers = [item for item in report.get("leftovers") or [] if isinstance(item, dict)]
    kinds: dict[str, int] = {}
    for item in leftovers:
        kinds[str(item.get("type", "resource"))] = kinds.get(str(item.get("type", "resource")), 0) + 1
    counts = ", ".join(f"{n} {kind}" for kind, n in kinds.items())
    rollback = bool(report.get("originalError"))
    parts = [
        f"{len(leftovers)} resource{'s' if len(leftovers) != 1 else ''} left" + (f" ({counts})" if counts else ""),
    ]
    stopped = error_text(report.get("teardownError"))
    if stopped:
        parts.append(f"the {'rollback' if rollback else 'teardown'} stopped at {stopped}")
    if rollback:
        parts.append(f"it was rolling back after {error_text(report['originalError'])}")
    return "; ".join(parts)


def short_cause(cause: str | None, limit: int = 300) -> str:
    """cause_message, cut to `limit` characters."""
    text = cause_message(cause)
    return text if len(text) <= limit else text[: limit - 1] + "…"
