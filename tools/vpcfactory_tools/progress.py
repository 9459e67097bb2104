"""Follow an execution's history and print each state as it completes.

Works the same against the embedded emulator and a real account: it only reads
GetExecutionHistory. Durations are shown in simulated seconds when the emulator runs faster
than real time (time scale < 1), so a 90 s NAT wait reads as 90 s, not 0.09 s.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from vpcfactory_tools.emulator.embedded import TERMINAL

ROLLBACK_STATES = {"Roll Back", "Finish Rollback", "Report Leftovers"}


def _events(sfn: Any, execution_arn: str, token: str | None) -> tuple[list[dict[str, Any]], str | None]:
    kwargs: dict[str, Any] = {"executionArn": execution_arn, "maxResults": 1000}
    if token:
        kwargs["nextToken"] = token
    page = sfn.get_execution_history(**kwargs)
    return page["events"], page.get("nextToken")


def follow(
    sfn: Any,
    execution_arn: str,
    emit: Callable[[str], None],
    *,
    time_scale: float = 1.0,
    poll_seconds: float = 0.05,
    timeout: float = 3600.0,
) -> None:
    """Print one line per finished state until the execution ends."""
    seen = 0
    entered: dict[str, Any] = {}
    rollback_announced = False
    deadline = time.monotonic() + timeout
    while True:
        events: list[dict[str, Any]] = []
        token = None
        while True:  # the whole history each time: moto's tokens are not stable across polls
            page, token = _events(sfn, execution_arn, token)
            events.extend(page)
            if not token:
                break
        for event in events[seen:]:
            kind = event["type"]
            if kind.endswith("StateEntered"):
                name = event["stateEnteredEventDetails"]["name"]
                entered[name] = event["timestamp"]
                if name == "Roll Back" and not rollback_announced:
                    emit("!! rolling back: deleting what this execution created (found by its tags)")
                    rollback_announced = True
            elif kind.endswith("StateExited"):
                name = event["stateExitedEventDetails"]["name"]
                start = entered.get(name)
                took = (event["timestamp"] - start).total_seconds() / max(time_scale, 1e-9) if start else 0.0
                if kind == "WaitStateExited":
                    emit(f"   … {name}: waited {took:.0f}s")
                elif kind != "ChoiceStateExited":
                    emit(f"ok {name} ({took:.1f}s)")
            elif kind in ("TaskFailed", "LambdaFunctionFailed"):
                details = event.get("taskFailedEventDetails") or event.get("lambdaFunctionFailedEventDetails") or {}
                emit(f"xx {details.get('error')}: {short_cause(details.get('cause'))}")
            elif kind in ("ExecutionFailed", "ExecutionSucceeded", "ExecutionTimedOut", "ExecutionAborted"):
                return
        seen = len(events)
        status = sfn.describe_execution(executionArn=execution_arn)["status"]
        if status in TERMINAL and seen == len(events):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{execution_arn} still running after {timeout}s")
        time.sleep(poll_seconds)


def short_cause(cause: str | None, limit: int = 300) -> str:
    """A Lambda error's cause is JSON ({errorMessage, errorType, stackTrace}); show the message."""
    if not cause:
        return ""
    try:
        parsed = json.loads(cause)
        if isinstance(parsed, dict):
            cause = parsed.get("errorMessage") or cause
    except ValueError:
        pass
    return cause if len(cause) <= limit else cause[: limit - 1] + "…"
