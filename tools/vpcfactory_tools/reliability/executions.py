"""Reading one execution: its name, whether it ended as it must, each attempt of one of its Task
states (from the Step Functions history), and the Retry bounds of the build ASL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from vpcfactory_tools.emulator.deploy import PROJECT_ROOT
from vpcfactory_tools.emulator.embedded import EmbeddedEmulator, ExecutionResult

BUILD_ASL = PROJECT_ROOT / "statemachine" / "build_vpc.asl.json"


def _checked(result: ExecutionResult, status: str, what: str) -> ExecutionResult:
    if result.status != status:
        raise RuntimeError(f"{what}: expected {status}, got {result.status} {result.error}: {result.cause}")
    return result


def asl_max_attempts(state: str, error: str, path: Path = BUILD_ASL) -> int:
    """MaxAttempts of the Retry on ``error`` of the Task ``state`` in the build ASL."""

    def find(states: dict[str, Any]) -> dict[str, Any] | None:
        for name, body in states.items():
            if name == state:
                return body
            for branch in body.get("Branches", []):
                if (hit := find(branch["States"])) is not None:
                    return hit
        return None

    body = find(json.loads(path.read_text())["States"])
    if body is None:
        raise KeyError(f"no state {state!r} in {path.name}")
    for retrier in body.get("Retry", []):
        if error in retrier["ErrorEquals"]:
            return int(retrier.get("MaxAttempts", 3))
    return 0


def execution_of(result: ExecutionResult) -> str:
    return result.execution_arn.rsplit(":", 1)[-1]


def task_outcomes(emu: EmbeddedEmulator, result: ExecutionResult, state: str) -> list[str]:
    """Each attempt of Task ``state``: its error name, or SUCCEEDED (from the execution history)."""
    sfn = emu.client("stepfunctions")
    events: list[dict[str, Any]] = []
    for page in sfn.get_paginator("get_execution_history").paginate(executionArn=result.execution_arn):
        events += page["events"]
    by_id = {e["id"]: e for e in events}

    def state_of(event: dict[str, Any]) -> str | None:
        current: dict[str, Any] | None = event
        while current is not None:
            if current["type"] == "TaskStateEntered":
                return current["stateEnteredEventDetails"]["name"]
            current = by_id.get(current.get("previousEventId"))
        return None

    out = []
    for event in events:
        if event["type"] == "TaskFailed" and state_of(event) == state:
            out.append(event["taskFailedEventDetails"].get("error", ""))
        elif event["type"] == "TaskSucceeded" and state_of(event) == state:
            out.append("SUCCEEDED")
    return out
