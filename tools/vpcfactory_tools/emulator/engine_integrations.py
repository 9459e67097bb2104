"""The Step Functions engine's `states:startExecution` integration, made to work as on AWS.

AWS: a Task with Resource `arn:aws:states:::states:startExecution[.sync[:2]]` takes PascalCase
parameters (`StateMachineArn`, `Input`, `Name`) and returns PascalCase fields (`ExecutionArn`,
and for `.sync:2` the child's `Output` parsed as JSON) — the Step Functions developer guide,
"Start a new AWS Step Functions state machine from a running execution". moto 5.2.5 inherits
LocalStack's engine without the key conversion LocalStack does elsewhere: it passes
`StateMachineArn` to botocore (KeyError) and reads `ExecutionArn` from a camelCase response.
This is what account-vending pipelines (AFT) use to call the factory, so the emulator must run it.

AWS SDK integrations (`arn:aws:states:::aws-sdk:<service>:<apiAction>`) take and return the API's
members in PascalCase whatever the service's own casing ("AWS SDK service integrations": "the
parameters ... and the response ... use PascalCase"), with timestamps as ISO 8601 strings. moto
5.2.5 passes the ASL's keys to botocore as they are (a camelCase service such as Step Functions
answers `ExecutionArn` with a KeyError) and returns botocore's camelCase answer with datetime
objects. Here parameters are matched to the operation's members by name, case aside, and the
answer's structure members are given PascalCase (map keys stay as they are).
"""

from __future__ import annotations

import datetime
import json
import uuid
from typing import Any

from moto.stepfunctions.exceptions import InvalidExecutionInput
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_aws_sdk import (
    StateTaskServiceAwsSdk,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn import (
    StateTaskServiceSfn,
)
from moto.stepfunctions.parser.models import StepFunctionsParserBackend

from .patching import Patcher, PatchSet

PINNED_SOURCES: dict[str, str] = {
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn:"
    "StateTaskServiceSfn._eval_service_task": "dc94f9e92201e833",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn:"
    "StateTaskServiceSfn._build_sync2_resolver": "fbbf50b684b90a7e",
    "moto.stepfunctions.parser.models:StepFunctionsParserBackend.start_execution": "0f8d9dd57baf0c28",
    "moto.stepfunctions.models:StepFunctionBackend._validate_name": "806d9e79745ec339",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_aws_sdk:"
    "StateTaskServiceAwsSdk._eval_service_task": "e68dc9e06e6ae0ce",
}


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

    _eval_service_task.__wrapped__ = original  # type: ignore[attr-defined]
    return _eval_service_task


def _normalise_response(self, response: Any, boto_service_name=None, service_action_name=None) -> None:  # noqa: ANN001
    if isinstance(response, dict):
        pascal = {_pascal(k): v for k, v in response.items()}
        response.clear()
        response.update(pascal)


def _make_start_execution(original: Any) -> Any:
    """StartExecution as AWS answers it, with the engine on.

    AWS (Step Functions API reference, StartExecution): ``name`` is optional -- "If you don't
    provide a name for the execution, Step Functions automatically generates a universally unique
    identifier (UUID)" -- and must be 1-80 characters without whitespace, brackets, wildcards,
    special or control characters (``InvalidName``); an ``input`` that is not JSON is
    ``InvalidExecutionInput``. moto 5.2.5's engine backend names an unnamed execution ``None``
    (so the AWS CLI's ``start-execution`` without ``--name`` builds once, then answers
    ``ExecutionAlreadyExists``), accepts any name, and raises an input error its responses cannot
    serialize (the client sees ``UnknownError``). Here: a UUID when no name is given, the name
    rules of moto's own non-engine backend, and the documented error for bad input.
    """

    def start_execution(self, state_machine_arn, name=None, execution_input=None, trace_header=None):  # noqa: ANN001
        if name:
            self._validate_name(name)
        else:
            name = str(uuid.uuid4())
        if execution_input is not None:
            try:
                json.loads(execution_input)
            except ValueError as exc:
                raise InvalidExecutionInput(f"Invalid State Machine Execution Input: '{exc}'") from exc
        return original(self, state_machine_arn, name, execution_input, trace_header)

    start_execution.__wrapped__ = original  # type: ignore[attr-defined]
    return start_execution


def _operation(service: str, action: str) -> Any:
    import botocore.session

    model = botocore.session.get_session().get_service_model(service)
    return model.operation_model(action[:1].upper() + action[1:])


def _to_members(value: Any, shape: Any) -> Any:
    """The ASL's PascalCase parameters as the operation's members (matched by name, case aside)."""
    if shape is None:
        return value
    if shape.type_name == "structure" and isinstance(value, dict):
        by_lower = {name.lower(): name for name in shape.members}
        out = {}
        for key, item in value.items():
            member = by_lower.get(key.lower(), key)
            out[member] = _to_members(item, shape.members.get(member))
        return out
    if shape.type_name == "list" and isinstance(value, list):
        return [_to_members(item, shape.member) for item in value]
    if shape.type_name == "map" and isinstance(value, dict):
        return {key: _to_members(item, shape.value) for key, item in value.items()}
    return value


def _to_pascal(value: Any, shape: Any) -> Any:
    """botocore's answer as an AWS SDK integration gives it: PascalCase members, ISO 8601 dates."""
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    if shape is None:
        return value
    if shape.type_name == "structure" and isinstance(value, dict):
        return {_pascal(key): _to_pascal(item, shape.members.get(key)) for key, item in value.items()}
    if shape.type_name == "list" and isinstance(value, list):
        return [_to_pascal(item, shape.member) for item in value]
    if shape.type_name == "map" and isinstance(value, dict):
        return {key: _to_pascal(item, shape.value) for key, item in value.items()}
    return value


def _make_sdk_eval(original: Any) -> Any:
    def _eval_service_task(self, env, resource_runtime_part, normalised_parameters, state_credentials):  # noqa: ANN001
        operation = _operation(self._get_boto_service_name(), self.resource.api_action)
        parameters = _to_members(normalised_parameters, operation.input_shape)
        original(self, env, resource_runtime_part, parameters, state_credentials)
        env.stack.append(_to_pascal(env.stack.pop(), operation.output_shape))

    _eval_service_task.__wrapped__ = original  # type: ignore[attr-defined]
    return _eval_service_task


def _apply(patcher: Patcher) -> None:
    patcher.set(StateTaskServiceSfn, "_eval_service_task", _make_eval(StateTaskServiceSfn._eval_service_task))
    patcher.set(StateTaskServiceSfn, "_normalise_response", _normalise_response)
    patcher.set(StateTaskServiceAwsSdk, "_eval_service_task", _make_sdk_eval(StateTaskServiceAwsSdk._eval_service_task))
    patcher.set(
        StepFunctionsParserBackend,
        "start_execution",
        _make_start_execution(StepFunctionsParserBackend.start_execution),
    )


_patches = PatchSet(_apply)
installed = _patches.installed
install = _patches.install
uninstall = _patches.uninstall
