"""template.yaml <-> statemachine/*.asl.json <-> functions/: the wiring that breaks silently.

moto accepts a `Next` to a missing state at create time and cfn-lint does not read
DefinitionUri files, so these checks are ours.
"""

from __future__ import annotations

import importlib
import inspect
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from vpcfactory import errors
from vpcfactory_tools.emulator.deploy import load_template

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = load_template(ROOT / "template.yaml")
RESOURCES = TEMPLATE["Resources"]
FUNCTIONS = {k: v for k, v in RESOURCES.items() if v["Type"] == "AWS::Serverless::Function"}
STATE_MACHINES = {k: v for k, v in RESOURCES.items() if v["Type"] == "AWS::Serverless::StateMachine"}
LAMBDA_TRANSIENT = {
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
}
# The rollout's service integrations' errors ("<Service>.<Exception>"; Step Functions developer guide,
# "Handling errors in Step Functions workflows"): startExecution.sync:2 (StepFunctions.*) and the
# AWS SDK integration sfn:describeExecution (Sfn.*).
SERVICE_INTEGRATION_ERRORS = {
    "StepFunctions.AWSStepFunctionsException",
    "StepFunctions.SdkClientException",
    "StepFunctions.ExecutionAlreadyExistsException",
    "StepFunctions.ExecutionLimitExceededException",
    "Sfn.SfnException",
    "Sfn.SdkClientException",
}
OUR_ERRORS = {name for name, obj in vars(errors).items() if inspect.isclass(obj) and issubclass(obj, Exception)}


def _definition(logical_id: str) -> dict:
    return json.loads((ROOT / STATE_MACHINES[logical_id]["Properties"]["DefinitionUri"]).read_text())


def _all_states(states: dict) -> dict:
    """Every state, including those inside Parallel branches and Map iterators."""
    found = {}
    for name, state in states.items():
        found[name] = state
        for branch in state.get("Branches", []):
            found.update(_all_states(branch["States"]))
        if "ItemProcessor" in state:
            found.update(_all_states(state["ItemProcessor"]["States"]))
    return found


def _scopes(definition: dict):
    """Each state collection whose Next/Default must resolve within itself."""
    yield definition["StartAt"], definition["States"]
    for state in _all_states(definition["States"]).values():
        for branch in state.get("Branches", []):
            yield branch["StartAt"], branch["States"]


def test_the_template_has_a_build_a_destroy_and_a_rollout_state_machine_with_their_definition_files():
    assert set(STATE_MACHINES) == {"BuildStateMachine", "DestroyStateMachine", "RolloutStateMachine"}
    for sm in STATE_MACHINES.values():
        uri = sm["Properties"]["DefinitionUri"]
        assert (ROOT / uri).is_file(), uri  # exact case: Linux is case-sensitive
        assert sm["Properties"]["Type"] == "STANDARD"


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_every_function_handler_resolves_to_a_callable_in_functions(logical_id):
    handler = FUNCTIONS[logical_id]["Properties"]["Handler"]
    module_name, _, attr = handler.rpartition(".")
    module = importlib.import_module(module_name)
    assert callable(getattr(module, attr))
    assert Path(module.__file__).resolve().is_relative_to(ROOT / "functions")


def test_every_handler_module_is_used_by_exactly_one_function():
    handlers = sorted(p.stem for p in (ROOT / "functions/vpcfactory/handlers").glob("*.py") if p.stem != "__init__")
    used = sorted(f["Properties"]["Handler"].split(".")[-2] for f in FUNCTIONS.values())
    assert used == handlers


@pytest.mark.parametrize("logical_id", sorted(STATE_MACHINES))
def test_every_substitution_in_the_asl_is_defined_and_every_definition_is_used(logical_id):
    text = (ROOT / STATE_MACHINES[logical_id]["Properties"]["DefinitionUri"]).read_text()
    used = set(re.findall(r"\$\{([A-Za-z0-9]+)\}", text))
    defined = set(STATE_MACHINES[logical_id]["Properties"]["DefinitionSubstitutions"])
    assert used == defined


@pytest.mark.parametrize("logical_id", sorted(STATE_MACHINES))
def test_every_next_and_default_names_a_state_in_its_scope(logical_id):
    for start, states in _scopes(_definition(logical_id)):
        assert start in states
        for name, state in states.items():
            targets = [state.get("Next"), state.get("Default")]
            targets += [c["Next"] for c in state.get("Choices", [])]
            targets += [c["Next"] for c in state.get("Catch", [])]
            for target in filter(None, targets):
                assert target in states, f"{name} -> {target}"


@pytest.mark.parametrize("logical_id", sorted(STATE_MACHINES))
def test_every_state_is_reachable(logical_id):
    for start, states in _scopes(_definition(logical_id)):
        seen, todo = set(), [start]
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            state = states[name]
            todo += [t for t in (state.get("Next"), state.get("Default")) if t]
            todo += [c["Next"] for c in state.get("Choices", []) + state.get("Catch", [])]
        assert seen == set(states), f"unreachable: {set(states) - seen}"


@pytest.mark.parametrize("logical_id", sorted(STATE_MACHINES))
def test_every_error_name_is_a_states_a_lambda_or_one_of_our_exception_classes(logical_id):
    for name, state in _all_states(_definition(logical_id)["States"]).items():
        for rule in state.get("Retry", []) + state.get("Catch", []):
            for error in rule["ErrorEquals"]:
                assert (
                    error.startswith("States.")
                    or error in LAMBDA_TRANSIENT
                    or error in OUR_ERRORS
                    or error in SERVICE_INTEGRATION_ERRORS
                ), (
                    name,
                    error,
                )


@pytest.mark.parametrize("logical_id", sorted(STATE_MACHINES))
def test_every_task_retries_lambda_transients_and_throttling_with_full_jitter(logical_id):
    for name, state in _all_states(_definition(logical_id)["States"]).items():
        if state["Type"] != "Task":
            continue
        retried = {e for rule in state["Retry"] for e in rule["ErrorEquals"]}
        if state["Resource"].endswith(":lambda:invoke"):
            assert LAMBDA_TRANSIENT | {"AwsThrottled"} <= retried, name
        else:  # a service integration (the rollout's builds): its own transient errors
            assert retried and retried <= SERVICE_INTEGRATION_ERRORS, name
        for rule in state["Retry"]:
            assert rule["JitterStrategy"] == "FULL" and rule["MaxDelaySeconds"] > 0 and rule["BackoffRate"] >= 1, name


def test_every_build_stage_outside_a_parallel_catches_into_the_rollback_path():
    states = _definition("BuildStateMachine")["States"]
    rollback = {
        "Roll Back",
        "NAT Gateways Deleted?",
        "Wait For NAT Deletion",
        "Check NAT Deletion",
        "Finish Rollback",
        "Report Leftovers",
    }
    for name, state in states.items():
        if (
            state["Type"] in ("Task", "Parallel")
            and name not in rollback
            and name
            not in (
                "Validate And Plan",
                "Report Failure",
                # after the build or its rollback: a release that fails never undoes a build
                "Release Build Lock",
                "Release Build Lock After Rollback",
            )
        ):
            catchers = [c for c in state.get("Catch", []) if "States.ALL" in c["ErrorEquals"]]
            assert catchers and catchers[0]["Next"] == "Roll Back", name
            assert catchers[0]["ResultPath"] == "$.error", f"{name} must keep its input for the rollback"
    for name in rollback - {"NAT Gateways Deleted?", "Wait For NAT Deletion"}:
        assert states[name]["Catch"], f"a failing rollback step ({name}) must report what is left"


def test_the_rollback_fails_the_execution_with_the_original_error():
    build_failed = _definition("BuildStateMachine")["States"]["Build Failed"]
    assert build_failed == {
        **build_failed,
        "Type": "Fail",
        "ErrorPath": "$.error.Error",
        "CausePath": "$.error.Cause",
    }


def test_poll_intervals_and_attempts_are_template_parameters():
    subs = STATE_MACHINES["BuildStateMachine"]["Properties"]["DefinitionSubstitutions"]
    for key in (
        "VpcPollIntervalSeconds",
        "VpcPollMaxAttempts",
        "NatInitialWaitSeconds",
        "NatPollIntervalSeconds",
        "NatPollMaxAttempts",
    ):
        assert subs[key] == {"Ref": key}
        assert key in TEMPLATE["Parameters"]


def test_functions_run_python313_on_arm64_with_the_powertools_layer_and_no_requirements_file():
    fn = TEMPLATE["Globals"]["Function"]
    assert fn["Runtime"] == "python3.13" and fn["Architectures"] == ["arm64"]
    assert fn["Layers"] == [{"Ref": "PowertoolsLayerArn"}]
    assert fn["CodeUri"] == "functions/"
    assert not list((ROOT / "functions").rglob("requirements.txt"))


def test_the_deployed_code_imports_nothing_but_the_stdlib_boto_and_powertools():
    allowed = {"vpcfactory", "boto3", "botocore", "aws_lambda_powertools", "__future__"}
    for path in (ROOT / "functions").rglob("*.py"):
        for line in path.read_text().splitlines():
            m = re.match(r"\s*(?:from|import)\s+([A-Za-z_][A-Za-z0-9_]*)", line)
            if m and m.group(1) not in allowed:
                assert m.group(1) in sys.stdlib_module_names, f"{path.name} imports {m.group(1)}"


SAM = shutil.which("sam", path=str(Path(sys.executable).parent))


@pytest.mark.skipif(SAM is None, reason="aws-sam-cli is installed by `make` into .venv")
def test_sam_validate_lint_passes_offline():
    proc = subprocess.run(
        [SAM, "validate", "--lint", "--region", "us-east-1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.skipif(SAM is None, reason="aws-sam-cli is installed by `make` into .venv")
def test_sam_build_packages_the_functions_offline(tmp_path):
    proc = subprocess.run(
        [SAM, "build", "--build-dir", str(tmp_path / "build")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    built = tmp_path / "build" / "CreateVpcFunction" / "vpcfactory" / "handlers" / "create_vpc.py"
    assert built.is_file()
    assert not (tmp_path / "build" / "CreateVpcFunction" / "vpcfactory_tools").exists()


CFN_LINT = shutil.which("cfn-lint", path=str(Path(sys.executable).parent))


@pytest.mark.skipif(CFN_LINT is None, reason="cfn-lint is installed by `make` into .venv")
def test_the_example_custom_resource_stack_passes_cfn_lint():
    proc = subprocess.run([CFN_LINT, "examples/custom-resource-stack.yaml"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
