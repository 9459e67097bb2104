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
    failed: set[str] = set()
    deadline = time.monotonic() + timeout
    while True:
        # Status first: if it was already terminal, the history read next is complete.
        finished = sfn.describe_execution(executionArn=execution_arn)["status"] in TERMINAL
        events: list[dict[str, Any]] = []
        token = None
        while True:  # the whole history each time: moto's tokens are not stable across polls
            page, token = _events(sfn, execution_arn, token)
            events.extend(page)
            if not token:
                break
        by_id = {e["id"]: e for e in events}
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
                took = (event["timestamp"] - start).total_seconds() if start else 0.0
                if kind == "WaitStateExited":
                    # waits are simulated time on the emulator: show what AWS would take
                    emit(f"   … {name}: waited {took / max(time_scale, 1e-9):.0f}s")
                elif kind != "ChoiceStateExited":
                    emit(f"{'xx' if name in failed else 'ok'} {name} ({took:.2f}s)")
            elif kind in ("TaskFailed", "LambdaFunctionFailed"):
                details = event.get("taskFailedEventDetails") or event.get("lambdaFunctionFailedEventDetails") or {}
                state = _entered_state(event, by_id)
                failed.add(state)
                emit(f"xx {state}: {details.get('error')}: {short_cause(details.get('cause'))}")
            elif kind in ("ExecutionFailed", "ExecutionSucceeded", "ExecutionTimedOut", "ExecutionAborted"):
                return
        seen = len(events)
        if finished:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{execution_arn} still running after {timeout}s")
        time.sleep(poll_seconds)


def _entered_state(event: dict[str, Any], by_id: dict[int, dict[str, Any]]) -> str:
    """The state a task event belongs to: walk previousEventId back to its StateEntered event."""
    current = event
    while current is not None:
        details = current.get("stateEnteredEventDetails")
        if details:
            return details["name"]
        current = by_id.get(current.get("previousEventId"))
    return "?"


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
