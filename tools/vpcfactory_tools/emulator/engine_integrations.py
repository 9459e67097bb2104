"""The Step Functions engine's `states:startExecution` integration, made to work as on AWS.

AWS: a Task with Resource `arn:aws:states:::states:startExecution[.sync[:2]]` takes PascalCase
parameters (`StateMachineArn`, `Input`, `Name`) and returns PascalCase fields (`ExecutionArn`,
and for `.sync:2` the child's `Output` parsed as JSON) — the Step Functions developer guide,
"Start a new AWS Step Functions state machine from a running execution". moto 5.2.5 inherits
LocalStack's engine without the key conversion LocalStack does elsewhere: it passes
`StateMachineArn` to botocore (KeyError) and reads `ExecutionArn` from a camelCase response.
This is what account-vending pipelines (AFT) use to call the factory, so the emulator must run it.
"""

from __future__ import annotations

import threading
from typing import Any

from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn import (
    StateTaskServiceSfn,
)

from .fidelity import Patcher, check_moto_version

PINNED_SOURCES: dict[str, str] = {
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn:"
    "StateTaskServiceSfn._eval_service_task": "dc94f9e92201e833",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn:"
    "StateTaskServiceSfn._build_sync2_resolver": "fbbf50b684b90a7e",
}

_patcher = Patcher()
_lock = threading.Lock()


def _camel(key: str) -> str:
    return key[:1].lower() + key[1:]


def _pascal(key: str) -> str:
    return key[:1].upper() + key[1:]


def _make_eval(original: Any) -> Any:
    def _eval_service_task(self, env, resource_runtime_part, normalised_parameters, state_credentials):  # noqa: ANN001
        parameters = {_camel(k): v for k, v in normalised_parameters.items()}
        original(self, env, resource_runtime_part, parameters, state_credentials)
        response = env.stack.pop()
        env.stack.append({_pascal(k): v for k, v in response.items()})

    return _eval_service_task


def _normalise_response(self, response: Any, boto_service_name=None, service_action_name=None) -> None:  # noqa: ANN001
    if isinstance(response, dict):
        pascal = {_pascal(k): v for k, v in response.items()}
        response.clear()
        response.update(pascal)


def installed() -> bool:
    return _patcher.active


def install() -> None:
    check_moto_version()
    with _lock:
        if _patcher.active:
            return
        _patcher.set(StateTaskServiceSfn, "_eval_service_task", _make_eval(StateTaskServiceSfn._eval_service_task))
        _patcher.set(StateTaskServiceSfn, "_normalise_response", _normalise_response)


def uninstall() -> None:
    with _lock:
        _patcher.undo()
