"""The Step Functions API calls the AWS CLI makes against the emulator, answered as AWS answers
them (sfn_api's docstring lists moto's differences). Each behaviour test fails on plain moto; the
`on_plain_moto` tests show the gap each patch closes, and fail once moto closes it itself."""

from __future__ import annotations

import contextlib
import io
import json
import sys
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from vpcfactory_tools.emulator import engine_integrations, engine_time, lambda_runtime, sfn_api
from vpcfactory_tools.emulator.patching import source_fingerprints

REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/states"
ENGINE = {"stepfunctions": {"execute_state_machine": True}, "core": {"reset_boto3_session": False}}
LONG_WAIT = {"Type": "Wait", "Seconds": 10**6}

# The Lambda task that stays in flight until the test lets it return (run in-process by the
# emulator's Lambda runtime, which imports the function's Handler).
HOLDING = threading.Event()
RELEASE = threading.Event()


def hold(event: Any, context: Any) -> dict[str, bool]:  # noqa: ARG001 - a Lambda handler's signature
    HOLDING.set()
    RELEASE.wait(60)
    return {"released": True}


@contextlib.contextmanager
def engine(*, patched: bool = True) -> Iterator[Any]:
    """moto with its Step Functions engine on and the emulator's engine patches, with or without
    sfn_api; yields a client."""
    was = sfn_api.installed()
    engine_integrations.install()
    engine_time.install()  # its waits end on a stop even when it comes as a wait begins
    lambda_runtime.install()
    sfn_api.install() if patched else sfn_api.uninstall()
    try:
        with mock_aws(config=ENGINE):
            yield boto3.client("stepfunctions", region_name=REGION)
    finally:
        sfn_api.install() if was else sfn_api.uninstall()


def wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {timeout}s")
        time.sleep(0.01)


def start(sfn: Any, definition: dict[str, Any], name: str = "run") -> str:
    machine = sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE)
    return sfn.start_execution(stateMachineArn=machine["stateMachineArn"], name=name, input='{"secret": 1}')[
        "executionArn"
    ]


def history(sfn: Any, execution: str, **kwargs: Any) -> list[dict[str, Any]]:
    return sfn.get_execution_history(executionArn=execution, maxResults=1000, **kwargs)["events"]


def passes(count: int) -> dict[str, Any]:
    """A chain of ``count`` Pass states: 2 + 2 * count events."""
    names = [f"Step {i}" for i in range(count)]
    states = {name: {"Type": "Pass", "Next": nxt} for name, nxt in zip(names, names[1:], strict=False)}
    states[names[-1]] = {"Type": "Pass", "End": True}
    return {"StartAt": names[0], "States": states}


def finished(sfn: Any, execution: str) -> bool:
    return sfn.describe_execution(executionArn=execution)["status"] != "RUNNING"


def test_the_moto_code_the_step_functions_api_fixes_rely_on_is_unchanged_since_it_was_pinned():
    assert source_fingerprints(list(sfn_api.PINNED_SOURCES)) == sfn_api.PINNED_SOURCES


def test_install_is_idempotent_and_uninstall_gives_moto_back():
    from moto.stepfunctions.responses import StepFunctionResponse

    was = sfn_api.installed()
    sfn_api.install()
    patched = StepFunctionResponse.stop_execution
    sfn_api.install()
    assert StepFunctionResponse.stop_execution is patched
    sfn_api.uninstall()
    assert StepFunctionResponse.stop_execution is not patched
    if was:
        sfn_api.install()


# -- GetExecutionHistory ------------------------------------------------------------------------
def test_the_history_comes_in_pages_of_100_by_default_and_the_tokens_walk_it_once_in_order():
    with engine() as sfn:
        execution = start(sfn, passes(60))  # 122 events
        wait_for(lambda: finished(sfn, execution))

        first = sfn.get_execution_history(executionArn=execution)
        second = sfn.get_execution_history(executionArn=execution, nextToken=first["nextToken"])
        paginator = sfn.get_paginator("get_execution_history")
        pages = list(paginator.paginate(executionArn=execution, PaginationConfig={"PageSize": 50}))

    assert len(first["events"]) == 100 and "nextToken" in first
    assert len(second["events"]) == 22 and "nextToken" not in second
    assert [e["id"] for e in first["events"] + second["events"]] == list(range(1, 123))
    assert [len(page["events"]) for page in pages] == [50, 50, 22]
    assert [e["id"] for page in pages for e in page["events"]] == list(range(1, 123))


def test_reverse_order_lists_the_latest_events_first_page_by_page():
    with engine() as sfn:
        execution = start(sfn, passes(60))
        wait_for(lambda: finished(sfn, execution))
        pages = list(
            sfn.get_paginator("get_execution_history").paginate(
                executionArn=execution, reverseOrder=True, PaginationConfig={"PageSize": 100}
            )
        )

    events = [e for page in pages for e in page["events"]]
    assert events[0]["type"] == "ExecutionSucceeded" and events[-1]["type"] == "ExecutionStarted"
    assert [e["id"] for e in events] == list(range(122, 0, -1))


def test_without_execution_data_no_event_carries_an_input_or_output():
    with engine() as sfn:
        execution = start(sfn, passes(2))
        wait_for(lambda: finished(sfn, execution))
        full = history(sfn, execution)
        bare = history(sfn, execution, includeExecutionData=False)

    def data_keys(events: list[dict[str, Any]]) -> set[str]:
        return {key for e in events for k, d in e.items() if k.endswith("EventDetails") for key in d}

    assert {"input", "inputDetails", "output", "outputDetails"} <= data_keys(full)
    assert data_keys(bare) & {"input", "inputDetails", "output", "outputDetails"} == set()
    assert [e["type"] for e in bare] == [e["type"] for e in full]
    assert bare[0]["executionStartedEventDetails"] == {"roleArn": ROLE}


def test_a_page_size_over_1000_is_refused_and_a_foreign_token_is_invalid_token():
    with engine() as sfn:
        execution = start(sfn, passes(1))
        wait_for(lambda: finished(sfn, execution))
        machine = sfn.describe_execution(executionArn=execution)["stateMachineArn"]
        errors = {}
        for name, call in {
            "history": lambda: sfn.get_execution_history(executionArn=execution, maxResults=1001),
            "executions": lambda: sfn.list_executions(stateMachineArn=machine, maxResults=1001),
            "machines": lambda: sfn.list_state_machines(maxResults=1001),
            "status": lambda: sfn.list_executions(stateMachineArn=machine, statusFilter="DONE"),
            "token": lambda: sfn.get_execution_history(executionArn=execution, nextToken="bm90IG91cnM="),
        }.items():
            with pytest.raises(ClientError) as exc:
                call()
            errors[name] = exc.value.response["Error"]["Code"]

    assert errors == {
        "history": "ValidationException",
        "executions": "ValidationException",
        "machines": "ValidationException",
        "status": "ValidationException",
        "token": "InvalidToken",
    }


def test_on_plain_moto_the_whole_history_comes_in_one_page_oldest_first():
    with engine(patched=False) as sfn:
        execution = start(sfn, passes(60))
        wait_for(lambda: finished(sfn, execution))
        page = sfn.get_execution_history(executionArn=execution, maxResults=10, reverseOrder=True)

    assert len(page["events"]) == 122 and "nextToken" not in page
    assert page["events"][0]["type"] == "ExecutionStarted"


# -- StopExecution ------------------------------------------------------------------------------
def test_a_stop_without_a_reason_aborts_with_empty_details_and_no_error_or_cause():
    # As AWS records it (a Wait stopped: ExecutionStarted, WaitStateEntered, ExecutionAborted {}).
    with engine() as sfn:
        execution = start(sfn, {"StartAt": "Wait", "States": {"Wait": {**LONG_WAIT, "End": True}}})
        wait_for(lambda: len(history(sfn, execution)) == 2)

        stopped = sfn.stop_execution(executionArn=execution)
        described = sfn.describe_execution(executionArn=execution)
        events = history(sfn, execution)

    assert described["status"] == "ABORTED" and described["stopDate"] == stopped["stopDate"]
    assert "error" not in described and "cause" not in described
    assert [e["type"] for e in events] == ["ExecutionStarted", "WaitStateEntered", "ExecutionAborted"]
    assert events[-1]["previousEventId"] == 0 and events[-1]["executionAbortedEventDetails"] == {}


def test_a_stop_reason_longer_than_the_model_allows_is_refused_and_the_execution_runs_on():
    # SensitiveError max 256, SensitiveCause max 32768 (botocore checks only minimums)
    with engine() as sfn:
        execution = start(sfn, {"StartAt": "Wait", "States": {"Wait": {**LONG_WAIT, "End": True}}})
        wait_for(lambda: len(history(sfn, execution)) == 2)

        for reason in ({"error": "e" * 257}, {"cause": "c" * 32769}):
            with pytest.raises(ClientError) as refused:
                sfn.stop_execution(executionArn=execution, **reason)
            assert refused.value.response["Error"]["Code"] == "ValidationException"
        running = sfn.describe_execution(executionArn=execution)["status"]
        sfn.stop_execution(executionArn=execution, error="e" * 256, cause="c" * 32768)

    assert running == "RUNNING"


def _held_in_a_parallel(sfn: Any) -> str:
    """An execution whose Parallel holds a Lambda task in flight (and a long Wait) before 'After'."""
    iam = boto3.client("iam", region_name=REGION)
    role = iam.create_role(RoleName="hold", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("handler.py", "")
    function = boto3.client("lambda", region_name=REGION).create_function(
        FunctionName="hold",
        Runtime="python3.13",
        Role=role,
        Handler=f"{__name__}.hold",
        Code={"ZipFile": code.getvalue()},
    )["FunctionArn"]
    task = {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": True}
    definition = {
        "StartAt": "Both",
        "States": {
            "Both": {
                "Type": "Parallel",
                "Next": "After",
                "Branches": [
                    {"StartAt": "Hold", "States": {"Hold": {**task, "Parameters": {"FunctionName": function}}}},
                    {"StartAt": "Wait", "States": {"Wait": {**LONG_WAIT, "End": True}}},
                ],
            },
            "After": {"Type": "Pass", "End": True},
        },
    }
    HOLDING.clear()
    RELEASE.clear()
    execution = start(sfn, definition)
    assert HOLDING.wait(30), "the Lambda task never started"
    # and the other branch is in its Wait: a stop before a branch starts its program makes plain
    # moto's branch thread fail ("Could not set NextState ... ProgramStopped"), and the execution
    # then never ends, which is a different defect from the one these tests show
    wait_for(lambda: any(e["type"] == "WaitStateEntered" for e in history(sfn, execution)))
    return execution


def test_a_stop_ends_the_execution_at_once_while_a_parallel_branch_still_runs_a_task():
    with engine() as sfn:
        threads_before = threading.active_count()
        execution = _held_in_a_parallel(sfn)

        # When the operator stops it while the task is in flight
        stopped = sfn.stop_execution(executionArn=execution, error="Operator.Stop", cause="wrong CIDR")
        at_once = sfn.describe_execution(executionArn=execution)

        # Then, once the task returns, nothing it did is recorded and no state starts after it
        RELEASE.set()
        wait_for(lambda: lambda_runtime.running_handlers() == 0 and threading.active_count() <= threads_before)
        later = sfn.describe_execution(executionArn=execution)
        events = history(sfn, execution)
        listed = sfn.list_executions(stateMachineArn=at_once["stateMachineArn"])["executions"][0]

    assert at_once["status"] == "ABORTED" and at_once["stopDate"] == stopped["stopDate"]
    assert (at_once["error"], at_once["cause"]) == ("Operator.Stop", "wrong CIDR")
    assert {**later, "ResponseMetadata": None} == {**at_once, "ResponseMetadata": None}
    assert listed["status"] == "ABORTED" and listed["stopDate"] == stopped["stopDate"]
    assert events[-1]["type"] == "ExecutionAborted"
    assert events[-1]["executionAbortedEventDetails"] == {"error": "Operator.Stop", "cause": "wrong CIDR"}
    types = [e["type"] for e in events]
    assert "TaskSucceeded" not in types and "ParallelStateSucceeded" not in types
    assert "After" not in {e.get("stateEnteredEventDetails", {}).get("name") for e in events}


def test_on_plain_moto_a_stop_waits_for_the_task_in_flight_and_drops_error_and_cause():
    with engine(patched=False) as sfn:
        threads_before = threading.active_count()
        execution = _held_in_a_parallel(sfn)
        stopped = sfn.stop_execution(executionArn=execution, error="Operator.Stop", cause="wrong CIDR")
        at_once = sfn.describe_execution(executionArn=execution)
        RELEASE.set()
        wait_for(lambda: finished(sfn, execution))
        later = sfn.describe_execution(executionArn=execution)
        wait_for(lambda: threading.active_count() <= threads_before)
        aborted = history(sfn, execution)[-1]

    assert "stopDate" not in stopped  # a required member
    assert at_once["status"] == "RUNNING"
    assert later["status"] == "ABORTED" and "error" not in later
    assert aborted["executionAbortedEventDetails"] == {"error": "", "cause": ""}


def test_an_execution_that_timed_out_has_its_stop_date_where_aws_gives_it():
    with engine() as sfn:
        execution = start(sfn, {"StartAt": "Wait", "TimeoutSeconds": 1, "States": {"Wait": {**LONG_WAIT, "End": True}}})
        wait_for(lambda: finished(sfn, execution))
        described = sfn.describe_execution(executionArn=execution)
        listed = sfn.list_executions(stateMachineArn=described["stateMachineArn"])["executions"][0]

    assert described["status"] == listed["status"] == "TIMED_OUT"
    assert described["stopDate"] == listed["stopDate"] > described["startDate"]


# -- DescribeExecution of an execution that has just ended --------------------------------------
@contextlib.contextmanager
def output_copy_held() -> Iterator[tuple[threading.Event, threading.Event, threading.Event]]:
    """Hold the engine inside the copy of an execution's output (``States.get_input``, called as the
    execution ends) until the test lets it go on: where a busy machine may preempt it. Yields
    (it is copying, let it go on, it has copied)."""
    from moto.stepfunctions.parser.asl.eval.states import States

    copying, go_on = threading.Event(), threading.Event()
    original = States.get_input

    def get_input(self: Any, query: str | None = None) -> Any:
        if sys._getframe(1).f_code.co_name != "_reflect_execution_status":
            return original(self, query)
        copying.set()
        go_on.wait(10)
        try:
            return original(self, query)
        finally:
            copied.set()

    copied = threading.Event()
    States.get_input = get_input  # type: ignore[method-assign]
    try:
        yield copying, go_on, copied
    finally:
        States.get_input = original  # type: ignore[method-assign]
        go_on.set()


def _described_while_the_output_is_copied(sfn: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """(DescribeExecution while the ending execution copies its output, once it has ended)."""
    with output_copy_held() as (copying, go_on, copied):
        execution = start(sfn, passes(1))
        assert copying.wait(10)
        meanwhile = sfn.describe_execution(executionArn=execution)
        go_on.set()
        assert copied.wait(10)
        wait_for(lambda: "output" in sfn.describe_execution(executionArn=execution))  # (moto: set just after)
        return meanwhile, sfn.describe_execution(executionArn=execution)


def test_an_execution_that_is_ending_is_described_as_running_until_its_output_is_there():
    with engine() as sfn:
        meanwhile, ended = _described_while_the_output_is_copied(sfn)

    assert meanwhile["status"] == "RUNNING" and "output" not in meanwhile
    assert ended["status"] == "SUCCEEDED" and json.loads(ended["output"]) == {"secret": 1}


def test_on_plain_moto_an_execution_is_described_succeeded_before_its_output_is_there():
    # moto sets the status, then copies the output: a reader in between sees output null (issue 16:
    # a bench build "came back without output" on a busy machine)
    with engine(patched=False) as sfn:
        meanwhile, ended = _described_while_the_output_is_copied(sfn)

    assert meanwhile["status"] == "SUCCEEDED"
    assert json.loads(meanwhile.get("output") or "null") is None  # what wait_for_execution reads as no output
    assert json.loads(ended["output"]) == {"secret": 1}


# -- DescribeStateMachineForExecution -----------------------------------------------------------
def test_the_state_machine_for_an_execution_is_the_one_it_runs_with_its_update_date():
    with engine() as sfn:
        first = {"StartAt": "Wait", "States": {"Wait": {**LONG_WAIT, "End": True}}}
        execution = start(sfn, first)
        machine = sfn.describe_execution(executionArn=execution)["stateMachineArn"]
        sfn.update_state_machine(stateMachineArn=machine, definition=json.dumps(passes(1)))
        described = sfn.describe_state_machine_for_execution(executionArn=execution)
        with pytest.raises(ClientError) as unknown:
            sfn.describe_state_machine_for_execution(executionArn=f"{execution}-unknown")
        sfn.stop_execution(executionArn=execution)

    assert json.loads(described["definition"]) == first
    assert described["stateMachineArn"] == machine and described["name"] == "run"
    assert described["updateDate"] and described["roleArn"] == ROLE
    assert unknown.value.response["Error"]["Code"] == "ExecutionDoesNotExist"


def test_on_plain_moto_the_state_machine_for_an_execution_has_no_update_date():
    with engine(patched=False) as sfn:
        execution = start(sfn, passes(1))
        wait_for(lambda: finished(sfn, execution))
        described = sfn.describe_state_machine_for_execution(executionArn=execution)
        with pytest.raises(ClientError) as unknown:
            sfn.describe_state_machine_for_execution(executionArn=f"{execution}-unknown")

    assert "updateDate" not in described
    assert unknown.value.response["Error"]["Code"] == "ResourceNotFound"


# -- a Map Run's children: ListExecutions (mapRunArn), DescribeExecution ------------------------
# Three items, the second failing: a Distributed Map whose threshold tolerates it (33 % < 50 %).
DISTRIBUTED = {
    "StartAt": "Each",
    "States": {
        "Each": {
            "Type": "Map",
            "Label": "Account",
            "ToleratedFailurePercentage": 50,
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                "StartAt": "Good?",
                "States": {
                    "Good?": {
                        "Type": "Choice",
                        "Choices": [{"Variable": "$.good", "BooleanEquals": True, "Next": "Done"}],
                        "Default": "Refused",
                    },
                    "Done": {"Type": "Succeed"},
                    "Refused": {"Type": "Fail", "Error": "InvalidSpec", "Cause": "cidr: not a CIDR"},
                },
            },
            "End": True,
        }
    },
}
ITEMS = [{"good": True, "n": 1}, {"good": False, "n": 2}, {"good": True, "n": 3}]


@contextlib.contextmanager
def map_run(*, patched: bool = True) -> Iterator[tuple[Any, str]]:
    """A finished execution of DISTRIBUTED (children recorded by distributed_map); yields the
    client and the Map Run's ARN."""
    from vpcfactory_tools.emulator import distributed_map

    was = distributed_map.installed()
    distributed_map.install()
    try:
        with engine(patched=patched) as sfn:
            machine = sfn.create_state_machine(name="fleet", definition=json.dumps(DISTRIBUTED), roleArn=ROLE)
            execution = sfn.start_execution(stateMachineArn=machine["stateMachineArn"], input=json.dumps(ITEMS))
            wait_for(lambda: finished(sfn, execution["executionArn"]))
            (run,) = sfn.list_map_runs(executionArn=execution["executionArn"])["mapRuns"]
            yield sfn, run["mapRunArn"]
    finally:
        if not was:
            distributed_map.uninstall()


def test_a_map_runs_children_are_listed_by_its_arn_most_recent_first_with_the_map_run_and_item_count():
    with map_run() as (sfn, map_run_arn):
        listed = sfn.list_executions(mapRunArn=map_run_arn)["executions"]
        failed = sfn.list_executions(mapRunArn=map_run_arn, statusFilter="FAILED")["executions"]

    assert len(listed) == 3
    assert [child["startDate"] for child in listed] == sorted((c["startDate"] for c in listed), reverse=True)
    for child in listed:
        assert child["mapRunArn"] == map_run_arn and child["itemCount"] == 1
        assert child["stateMachineArn"].endswith(":stateMachine:fleet/Account")
        assert (
            child["executionArn"]
            == f"{child['stateMachineArn'].replace(':stateMachine:', ':execution:')}:{child['name']}"
        )
        assert child["stopDate"] >= child["startDate"]
    assert sorted(child["status"] for child in listed) == ["FAILED", "SUCCEEDED", "SUCCEEDED"]
    assert [child["status"] for child in failed] == ["FAILED"]


def test_a_failed_child_is_described_with_its_item_as_input_and_its_error_and_cause():
    with map_run() as (sfn, map_run_arn):
        (child,) = sfn.list_executions(mapRunArn=map_run_arn, statusFilter="FAILED")["executions"]
        described = sfn.describe_execution(executionArn=child["executionArn"])
        (ok, _) = sfn.list_executions(mapRunArn=map_run_arn, statusFilter="SUCCEEDED")["executions"]
        succeeded = sfn.describe_execution(executionArn=ok["executionArn"])

    assert json.loads(described["input"]) == {"good": False, "n": 2}
    assert (described["status"], described["error"], described["cause"]) == (
        "FAILED",
        "InvalidSpec",
        "cidr: not a CIDR",
    )
    assert described["mapRunArn"] == map_run_arn and described["stopDate"] >= described["startDate"]
    assert described["redriveStatus"] == "REDRIVABLE_BY_MAP_RUN" and "output" not in described
    assert json.loads(succeeded["output"]) == json.loads(succeeded["input"])
    assert "error" not in succeeded and succeeded["redriveStatus"] == "NOT_REDRIVABLE"


def test_a_map_runs_children_come_in_pages_and_a_foreign_token_is_invalid_token():
    with map_run() as (sfn, map_run_arn):
        first = sfn.list_executions(mapRunArn=map_run_arn, maxResults=2)
        second = sfn.list_executions(mapRunArn=map_run_arn, maxResults=2, nextToken=first["nextToken"])
        everything = sfn.list_executions(mapRunArn=map_run_arn)["executions"]
        with pytest.raises(ClientError) as foreign:
            sfn.list_executions(mapRunArn=map_run_arn, nextToken="bm90IG91cnM=")

    assert [c["executionArn"] for c in first["executions"] + second["executions"]] == [
        c["executionArn"] for c in everything
    ]
    assert "nextToken" not in second
    assert foreign.value.response["Error"]["Code"] == "InvalidToken"


def test_both_arns_are_refused_and_an_unknown_map_run_is_resource_not_found():
    with map_run() as (sfn, map_run_arn):
        machine = sfn.list_state_machines()["stateMachines"][0]["stateMachineArn"]
        with pytest.raises(ClientError) as both:
            sfn.list_executions(mapRunArn=map_run_arn, stateMachineArn=machine)
        with pytest.raises(ClientError) as unknown:
            sfn.list_executions(mapRunArn=f"{map_run_arn[:-4]}0000")
        with pytest.raises(ClientError) as no_child:
            sfn.describe_execution(executionArn=machine.replace(":stateMachine:", ":execution:") + "/Account:nobody")

    assert both.value.response["Error"]["Code"] == "ValidationException"
    assert unknown.value.response["Error"]["Code"] == "ResourceNotFound"
    assert no_child.value.response["Error"]["Code"] == "ExecutionDoesNotExist"


def test_on_plain_moto_a_map_runs_children_cannot_be_listed_or_described():
    with map_run(patched=False) as (sfn, map_run_arn):
        with pytest.raises(Exception) as listing:  # noqa: PT011 - moto fails inside (a 500 behind a server)
            sfn.list_executions(mapRunArn=map_run_arn)
        from vpcfactory_tools.emulator import distributed_map

        (run,) = [r for r in distributed_map._runs.values() if r.record.map_run_arn == map_run_arn]
        child = next(iter(run.children.values()))
        with pytest.raises(ClientError):
            sfn.describe_execution(executionArn=child.arn)

    assert not isinstance(listing.value, ClientError)  # moto's own TypeError: no answer at all


@contextlib.contextmanager
def another_execution_starting(sfn: Any) -> Iterator[None]:
    """An execution caught as it starts: its engine has no environment yet (as a rollout's builds
    are, while the rollout asks for its Map Run)."""
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    machine = sfn.create_state_machine(name="starting", definition=json.dumps(passes(1)), roleArn=ROLE)
    arn = sfn.start_execution(stateMachineArn=machine["stateMachineArn"])["executionArn"]
    wait_for(lambda: finished(sfn, arn))
    backend = stepfunctions_parser_backends["123456789012"][REGION]
    execution = backend.describe_execution(arn)
    worker = execution.exec_worker
    execution.exec_worker = type("Starting", (), {"env": None})()
    # looked at first, as a rollout's builds are (the build state machine was created before it)
    backend.state_machines.insert(0, backend.state_machines.pop())
    try:
        yield
    finally:
        execution.exec_worker = worker


def test_a_map_run_is_described_and_listed_while_another_execution_starts():
    with map_run() as (sfn, map_run_arn), another_execution_starting(sfn):
        described = sfn.describe_map_run(mapRunArn=map_run_arn)
        execution = described["executionArn"]
        (listed,) = sfn.list_map_runs(executionArn=execution)["mapRuns"]
        with pytest.raises(ClientError) as unknown:
            sfn.describe_map_run(mapRunArn=f"{map_run_arn[:-4]}0000")

    assert described["itemCounts"]["total"] == 3 and described["itemCounts"]["failed"] == 1
    assert listed["mapRunArn"] == map_run_arn
    assert unknown.value.response["Error"]["Code"] == "ResourceNotFound"


def test_on_plain_moto_describing_a_map_run_fails_while_another_execution_starts():
    # (moto's own AttributeError: a 500 behind a server)
    with map_run(patched=False) as (sfn, map_run_arn), another_execution_starting(sfn), pytest.raises(AttributeError):
        sfn.describe_map_run(mapRunArn=map_run_arn)
