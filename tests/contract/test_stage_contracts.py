"""The ASL's Payload of each Task state <-> the event type its handler declares (vpcfactory.contracts).

mypy checks every reader of an event against its TypedDict; this checks the TypedDict against the
writer, the state machine: a key the ASL sends that the handler does not declare, or a key the
handler requires that the ASL does not send, fails here instead of at 3 a.m. in a KeyError.
"""

from __future__ import annotations

import importlib
import inspect
import json
import typing
from pathlib import Path

import pytest

from vpcfactory_tools.emulator.deploy import load_template

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = load_template(ROOT / "template.yaml")
RESOURCES = TEMPLATE["Resources"]
STATE_MACHINES = {k: v for k, v in RESOURCES.items() if v["Type"] == "AWS::Serverless::StateMachine"}


def _tasks(states: dict):
    for name, state in states.items():
        if state.get("Type") == "Task":
            yield name, state
        for branch in state.get("Branches", []):
            yield from _tasks(branch["States"])
        if "ItemProcessor" in state:
            yield from _tasks(state["ItemProcessor"]["States"])


def _function_of(substitutions: dict, reference: str) -> str:
    """`${ValidateSpecFunctionArn}` -> the template's function logical id (ValidateSpecFunction)."""
    value = substitutions[reference.strip("${}")]
    if isinstance(value, dict):
        value = value.get("Fn::GetAtt") or value.get("GetAtt")
    if isinstance(value, str):
        value = value.split(".")
    return value[0]


def _lambda_tasks():
    for machine_id, machine in STATE_MACHINES.items():
        definition = json.loads((ROOT / machine["Properties"]["DefinitionUri"]).read_text())
        substitutions = machine["Properties"]["DefinitionSubstitutions"]
        for state_name, state in _tasks(definition["States"]):
            parameters = state.get("Parameters") or state.get("Arguments") or {}
            function_ref = parameters.get("FunctionName", "")
            if not function_ref.startswith("${"):
                continue
            function_id = _function_of(substitutions, function_ref)
            handler = RESOURCES[function_id]["Properties"]["Handler"]
            yield pytest.param(machine_id, state_name, parameters["Payload"], handler, id=f"{machine_id}:{state_name}")


def _event_type(handler_path: str):
    module_name, _, attribute = handler_path.rpartition(".")
    module = importlib.import_module(module_name)
    function = inspect.unwrap(getattr(module, attribute))  # through the Powertools decorators
    hints = typing.get_type_hints(function, vars(module) | _contract_types())
    return hints[next(iter(inspect.signature(function).parameters))]


def _contract_types() -> dict:
    """What the handlers import for type checking only (under TYPE_CHECKING)."""
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from vpcfactory import contracts

    types = {name: value for name, value in vars(contracts).items() if not name.startswith("_")}
    return types | {"LambdaContext": LambdaContext}


LAMBDA_TASKS = list(_lambda_tasks())


def test_every_lambda_task_of_both_state_machines_is_checked():
    machines = {param.values[0] for param in LAMBDA_TASKS}
    assert machines == set(STATE_MACHINES) and len(LAMBDA_TASKS) >= 20


@pytest.mark.parametrize(("machine", "state", "payload", "handler"), LAMBDA_TASKS)
def test_the_payload_is_exactly_what_the_handler_declares(machine, state, payload, handler):
    event_type = _event_type(handler)
    assert typing.is_typeddict(event_type), f"{handler} takes {event_type}, not a vpcfactory.contracts TypedDict"
    sent = {key.removesuffix(".$") for key in payload}
    declared = set(event_type.__required_keys__) | set(event_type.__optional_keys__)

    assert sent - declared == set(), f"{state} sends keys {handler} does not declare ({event_type.__name__})"
    assert set(event_type.__required_keys__) - sent == set(), f"{state} leaves out keys {handler} requires"


def test_a_payload_the_handler_does_not_match_fails_the_check():
    """The check can fail: Create Subnets without its vpcId, or with a key nobody reads."""
    event_type = _event_type("vpcfactory.handlers.create_subnets.handler")
    required = set(event_type.__required_keys__)
    declared = required | set(event_type.__optional_keys__)

    assert "vpcId" in required
    assert "subnetIds" not in declared
