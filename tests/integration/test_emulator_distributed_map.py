"""The emulator's Distributed Map (emulator/distributed_map.py, whose docstring cites AWS for each
behaviour): small state machines on moto's engine with the emulator's engine patches. Each
behaviour test fails on plain moto; the `on_plain_moto` tests show the gap each patch closes, and
fail once moto closes it itself."""

from __future__ import annotations

import contextlib
import io
import json
import threading
import time
import zipfile
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from vpcfactory_tools.emulator import distributed_map, engine_integrations, engine_time, lambda_runtime
from vpcfactory_tools.emulator.patching import source_fingerprints
from vpcfactory_tools.emulator.settings import EmulatorSettings, configured

REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/states"
ENGINE = {"stepfunctions": {"execute_state_machine": True}, "core": {"reset_boto3_session": False}}
BUCKET = "rollouts"
THRESHOLD = "States.ExceedToleratedFailureThreshold"
THRESHOLD_CAUSE = "The specified tolerated failure threshold was exceeded"

# A child that fails, with the error and cause its input names, when its item says so.
CHILD = {
    "StartAt": "Fails?",
    "States": {
        "Fails?": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.item.fail", "BooleanEquals": True, "Next": "Fail"}],
            "Default": "Done",
        },
        "Done": {
            "Type": "Pass",
            "Parameters": {
                "n.$": "$.item.n",
                "redriveCount.$": "$$.Execution.RedriveCount",
                "execution.$": "$$.Execution.Name",
            },
            "End": True,
        },
        "Fail": {"Type": "Fail", "ErrorPath": "$.item.error", "CausePath": "$.item.cause"},
    },
}
READER = {
    "Resource": "arn:aws:states:::s3:getObject",
    "ReaderConfig": {"InputType": "JSON"},
    "Parameters": {"Bucket.$": "$.bucket", "Key.$": "$.key"},
}
# Its place comes from the Map state's input, as the rollout's does.
WRITER = {"Resource": "arn:aws:states:::s3:putObject", "Parameters": {"Bucket.$": "$.bucket", "Prefix.$": "$.prefix"}}


@contextlib.contextmanager
def engine(*, patched: bool = True) -> Iterator[tuple[Any, Any]]:
    """moto with its Step Functions engine on and the emulator's engine patches, with or without
    distributed_map; yields Step Functions and S3 clients, the bucket made."""
    was = distributed_map.installed()
    engine_integrations.install()
    engine_time.install()
    lambda_runtime.install()
    distributed_map.install() if patched else distributed_map.uninstall()
    try:
        with mock_aws(config=ENGINE):
            s3 = boto3.client("s3", region_name=REGION)
            s3.create_bucket(Bucket=BUCKET)
            yield boto3.client("stepfunctions", region_name=REGION), s3
    finally:
        distributed_map.install() if was else distributed_map.uninstall()


def items(*fails: bool) -> list[dict[str, Any]]:
    return [{"n": n, "fail": fail, "error": f"Broke{n}", "cause": f"item {n} broke"} for n, fail in enumerate(fails)]


def distributed_map_machine(
    child: dict[str, Any] | None = None, *, catch: list[str] | None = None, **fields: Any
) -> dict[str, Any]:
    """A state machine whose one Map (Distributed, STANDARD children) reads its items from S3."""
    state: dict[str, Any] = {
        "Type": "Map",
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            **(child or CHILD),
        },
        "ItemReader": READER,
        "ItemSelector": {"item.$": "$$.Map.Item.Value"},
        **fields,
        "End": True,
    }
    states: dict[str, Any] = {"Roll Out": state}
    if catch:
        state["Catch"] = [{"ErrorEquals": catch, "ResultPath": "$.failure", "Next": "Caught"}]
        states["Caught"] = {"Type": "Pass", "End": True}
    return {"StartAt": "Roll Out", "States": states}


def run(sfn: Any, s3: Any, definition: dict[str, Any], item_list: list[Any], **extra: Any) -> dict[str, Any]:
    """Run ``definition`` over ``item_list`` (an S3 object) to its end; DescribeExecution's answer."""
    s3.put_object(Bucket=BUCKET, Key="items.json", Body=json.dumps(item_list).encode())
    name = f"run-{time.monotonic_ns()}"
    machine = sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE)
    execution = sfn.start_execution(
        stateMachineArn=machine["stateMachineArn"],
        name=name,
        input=json.dumps({"bucket": BUCKET, "key": "items.json", "prefix": "results", **extra}),
    )["executionArn"]
    deadline = time.monotonic() + 60
    while (described := sfn.describe_execution(executionArn=execution))["status"] == "RUNNING":
        assert time.monotonic() < deadline, "the execution did not end within 60s"
        time.sleep(0.02)
    return described


def results(s3: Any) -> dict[str, Any]:
    """The ResultWriter's objects under 'results/', by file name, parsed."""
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix="results/").get("Contents", [])
    return {
        obj["Key"].rsplit("/", 1)[-1]: json.loads(s3.get_object(Bucket=BUCKET, Key=obj["Key"])["Body"].read())
        for obj in listed
    }


def test_the_moto_code_the_distributed_map_fixes_rely_on_is_unchanged_since_it_was_pinned():
    assert source_fingerprints(list(distributed_map.PINNED_SOURCES)) == distributed_map.PINNED_SOURCES


def test_install_is_idempotent_and_uninstall_gives_moto_back():
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.state_map import StateMap

    was = distributed_map.installed()
    distributed_map.install()
    patched = StateMap._eval_execution
    distributed_map.install()
    assert StateMap._eval_execution is patched
    distributed_map.uninstall()
    assert StateMap._eval_execution is not patched
    if was:
        distributed_map.install()


# -- items, ItemSelector, MaxConcurrency (moto already runs them as AWS does) ----------------
ACTIVE = {"now": 0, "most": 0}
ACTIVE_LOCK = threading.Lock()


def track(event: Any, context: Any) -> dict[str, Any]:  # noqa: ARG001 - a Lambda handler's signature
    """A Lambda handler that notes how many of its runs overlap."""
    with ACTIVE_LOCK:
        ACTIVE["now"] += 1
        ACTIVE["most"] = max(ACTIVE["most"], ACTIVE["now"])
    time.sleep(0.15)
    with ACTIVE_LOCK:
        ACTIVE["now"] -= 1
    return {"n": event["item"]["n"]}


def test_items_from_s3_run_at_most_max_concurrency_children_at_once_in_order():
    with engine() as (sfn, s3):
        role = boto3.client("iam", region_name=REGION).create_role(RoleName="track", AssumeRolePolicyDocument="{}")
        code = io.BytesIO()
        with zipfile.ZipFile(code, "w") as archive:
            archive.writestr("handler.py", "")
        function = boto3.client("lambda", region_name=REGION).create_function(
            FunctionName="track",
            Runtime="python3.13",
            Role=role["Role"]["Arn"],
            Handler=f"{__name__}.track",
            Code={"ZipFile": code.getvalue()},
        )["FunctionArn"]
        child = {
            "StartAt": "Track",
            "States": {
                "Track": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke",
                    "Parameters": {"FunctionName": function, "Payload.$": "$"},
                    "OutputPath": "$.Payload",
                    "End": True,
                }
            },
        }
        ACTIVE.update(now=0, most=0)
        described = run(
            sfn, s3, distributed_map_machine(child, MaxConcurrencyPath="$.most"), items(*[False] * 6), most=2
        )

    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == [{"n": n} for n in range(6)]
    assert ACTIVE["most"] == 2


# -- ToleratedFailurePercentage as an integer ---------------------------------------------------
def test_an_integer_tolerated_failure_percentage_is_accepted():
    with engine() as (sfn, s3):
        within = run(sfn, s3, distributed_map_machine(ToleratedFailurePercentage=20), items(True, *[False] * 4))
        past = run(sfn, s3, distributed_map_machine(ToleratedFailurePercentage=20), items(True, True, *[False] * 3))

    assert within["status"] == "SUCCEEDED"  # 1 of 5 = 20%, not more
    assert (past["status"], past["error"]) == ("FAILED", THRESHOLD)


def test_on_plain_moto_an_integer_tolerated_failure_percentage_is_refused():
    with engine(patched=False) as (sfn, _), pytest.raises(ClientError) as refused:
        definition = distributed_map_machine(ToleratedFailurePercentage=20)
        sfn.create_state_machine(name="integer", definition=json.dumps(definition), roleArn=ROLE)
    assert "ToleratedFailurePercentage" in str(refused.value)


# -- the tolerated failure threshold ------------------------------------------------------------
@pytest.mark.parametrize(
    ("fields", "extra", "status"),
    [
        ({}, {}, "FAILED"),  # none declared: any failure
        ({"ToleratedFailurePercentagePath": "$.tolerated"}, {"tolerated": 40}, "SUCCEEDED"),  # 2 of 5 = 40%
        ({"ToleratedFailurePercentagePath": "$.tolerated"}, {"tolerated": 39.5}, "FAILED"),
        ({"ToleratedFailurePercentage": 100.0}, {}, "SUCCEEDED"),
        ({"ToleratedFailureCount": 2}, {}, "SUCCEEDED"),
        ({"ToleratedFailureCount": 1}, {}, "FAILED"),
        ({"ToleratedFailureCount": 2, "ToleratedFailurePercentage": 20}, {}, "FAILED"),  # exceeds either
    ],
)
def test_the_map_fails_once_its_failed_items_exceed_the_tolerated_threshold(
    fields: dict[str, Any], extra: dict[str, Any], status: str
):
    with engine() as (sfn, s3):
        described = run(sfn, s3, distributed_map_machine(**fields), items(False, True, False, True, False), **extra)

    assert described["status"] == status
    if status == "FAILED":
        assert (described["error"], described["cause"]) == (THRESHOLD, THRESHOLD_CAUSE)


def test_the_map_run_fails_with_the_threshold_error_in_its_history():
    with engine() as (sfn, s3):
        described = run(sfn, s3, distributed_map_machine(), items(False, True))
        events = sfn.get_execution_history(executionArn=described["executionArn"])["events"]
        map_run = sfn.list_map_runs(executionArn=described["executionArn"])["mapRuns"][0]
        counts = sfn.describe_map_run(mapRunArn=map_run["mapRunArn"])

    failed = [e for e in events if e["type"] == "MapRunFailed"]
    assert failed[0]["mapRunFailedEventDetails"] == {"error": THRESHOLD, "cause": THRESHOLD_CAUSE}
    assert [e["type"] for e in events][-2:] == ["MapStateFailed", "ExecutionFailed"]
    assert counts["status"] == "FAILED"
    assert (counts["itemCounts"]["failed"], counts["itemCounts"]["succeeded"]) == (1, 1)


@pytest.mark.parametrize("catch", [[THRESHOLD], ["States.ALL"]])
def test_a_catch_on_the_map_catches_the_threshold_error(catch: list[str]):
    with engine() as (sfn, s3):
        described = run(sfn, s3, distributed_map_machine(catch=catch), items(True))

    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"])["failure"] == {"Error": THRESHOLD, "Cause": THRESHOLD_CAUSE}


def test_on_plain_moto_a_map_whose_items_all_fail_succeeds():
    with engine(patched=False) as (sfn, s3):
        described = run(sfn, s3, distributed_map_machine(), items(True, True))
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == [None, None]


# -- ResultWriter ---------------------------------------------------------------------------
def test_the_result_writer_exports_each_child_by_status_with_a_manifest():
    with engine() as (sfn, s3):
        described = run(
            sfn,
            s3,
            distributed_map_machine(ResultWriter=WRITER, ToleratedFailurePercentage=50),
            items(False, True, False),
        )
        files = results(s3)

    assert described["status"] == "SUCCEEDED"
    output = json.loads(described["output"])
    map_run_id = output["MapRunArn"].rsplit(":", 1)[-1]
    assert output["ResultWriterDetails"] == {"Bucket": BUCKET, "Key": f"results/{map_run_id}/manifest.json"}
    assert set(files) == {"manifest.json", "SUCCEEDED_0.json", "FAILED_0.json"}
    manifest = files.pop("manifest.json")
    assert manifest["DestinationBucket"] == BUCKET and manifest["MapRunArn"] == output["MapRunArn"]
    assert [f["Key"] for f in manifest["ResultFiles"]["SUCCEEDED"]] == [f"results/{map_run_id}/SUCCEEDED_0.json"]
    assert [f["Key"] for f in manifest["ResultFiles"]["FAILED"]] == [f"results/{map_run_id}/FAILED_0.json"]
    assert manifest["ResultFiles"]["PENDING"] == []

    succeeded, failed = files["SUCCEEDED_0.json"], files["FAILED_0.json"]
    assert [json.loads(r["Input"])["item"]["n"] for r in succeeded] == [0, 2]
    first = succeeded[0]
    assert list(first) == sorted(first)  # AWS's order
    assert set(first) == {
        "ExecutionArn", "Input", "InputDetails", "Name", "Output", "OutputDetails", "RedriveCount",
        "RedriveStatus", "RedriveStatusReason", "StartDate", "StateMachineArn", "Status", "StopDate",
    }  # fmt: skip
    # the child ran as an execution of its own: its context object names it
    assert json.loads(first["Output"]) == {"n": 0, "redriveCount": 0, "execution": first["Name"]}
    assert first["ExecutionArn"].endswith(f":{first['Name']}")
    assert first["ExecutionArn"].startswith(first["StateMachineArn"].replace(":stateMachine:", ":execution:") + ":")
    assert first["Status"] == "SUCCEEDED" and first["StartDate"].endswith("Z")
    assert (failed[0]["Status"], failed[0]["Error"], failed[0]["Cause"]) == ("FAILED", "Broke1", "item 1 broke")
    assert "Output" not in failed[0]


def test_the_results_are_written_when_the_map_run_fails():
    with engine() as (sfn, s3):
        described = run(
            sfn,
            s3,
            distributed_map_machine(ResultWriter=WRITER, MaxConcurrency=1, catch=["States.ALL"]),
            items(False, True, False, False),
        )
        files = results(s3)

    assert described["status"] == "SUCCEEDED"  # caught
    assert json.loads(described["output"])["failure"]["Error"] == THRESHOLD
    manifest = files["manifest.json"]
    assert {status: len(listed) for status, listed in manifest["ResultFiles"].items()} == {
        "FAILED": 1,
        "PENDING": 1,
        "SUCCEEDED": 1,
    }
    assert [r["Status"] for r in files["SUCCEEDED_0.json"] + files["FAILED_0.json"]] == ["SUCCEEDED", "FAILED"]
    # no child started after the threshold was exceeded
    assert [json.loads(r["Input"])["item"]["n"] for r in files["PENDING_0.json"]] == [2, 3]


def test_on_plain_moto_the_result_writer_resolves_its_paths_against_the_results_and_lists_no_files():
    with engine(patched=False) as (sfn, s3):
        from_input = run(sfn, s3, distributed_map_machine(ResultWriter=WRITER), items(False))
        literal = {**WRITER, "Parameters": {"Bucket": BUCKET, "Prefix": "results"}}
        run(sfn, s3, distributed_map_machine(ResultWriter=literal, ToleratedFailurePercentage=50.0), items(False, True))
        files = results(s3)
    assert (from_input["status"], from_input["error"]) == ("FAILED", "States.Runtime")
    assert "The JSONPath '$.bucket' could not be found in the input '[" in from_input["cause"]
    assert set(files) == {"manifest.json"}
    assert files["manifest.json"]["ResultFiles"] == {"FAILED": [], "PENDING": [], "SUCCEEDED": []}


# -- $$.Execution.RedriveCount ------------------------------------------------------------------
REDRIVE_COUNT = {
    "StartAt": "Count",
    "States": {"Count": {"Type": "Pass", "Parameters": {"count.$": "$$.Execution.RedriveCount"}, "End": True}},
}


def test_a_new_execution_has_redrive_count_zero():
    with engine() as (sfn, s3):
        described = run(sfn, s3, REDRIVE_COUNT, [])
    assert json.loads(described["output"]) == {"count": 0}


def test_on_plain_moto_the_context_object_has_no_redrive_count():
    with engine(patched=False) as (sfn, s3):
        described = run(sfn, s3, REDRIVE_COUNT, [])
    assert (described["status"], described["error"]) == ("FAILED", "States.Runtime")


# -- states:startExecution.sync:2 in a child ----------------------------------------------------
def _build_machines(sfn: Any) -> dict[str, str]:
    ok = {"StartAt": "Built", "States": {"Built": {"Type": "Pass", "Result": {"vpcId": "vpc-1"}, "End": True}}}
    broken = {"StartAt": "Broke", "States": {"Broke": {"Type": "Fail", "Error": "BuildFailed", "Cause": "no VPC"}}}
    return {
        name: sfn.create_state_machine(name=name, definition=json.dumps(body), roleArn=ROLE)["stateMachineArn"]
        for name, body in (("ok", ok), ("broken", broken))
    }


def _build(**fields: Any) -> dict[str, Any]:
    """The Task that starts the item's build machine and waits for it."""
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::states:startExecution.sync:2",
        "Parameters": {"StateMachineArn.$": "$.item.machine", "Name.$": "$.item.name", "Input": {"spec": "x"}},
        **fields,
    }


def test_a_child_build_that_fails_or_exists_already_is_reported_as_on_aws():
    """The rollout's child: a build named after the item and its redrive count; a name a closed
    execution holds is StepFunctions.ExecutionAlreadyExistsException, caught; a failed build fails
    the child with States.TaskFailed and the build's description as the cause."""
    with engine() as (sfn, s3):
        machines = _build_machines(sfn)
        build = _build(
            ResultSelector={"vpcId.$": "$.Output.vpcId"},
            Catch=[{"ErrorEquals": ["StepFunctions.ExecutionAlreadyExistsException"], "Next": "Reused"}],
            End=True,
        )
        build["Parameters"]["Name.$"] = "States.Format('{}-r{}', $.item.name, $$.Execution.RedriveCount)"
        child = {
            "StartAt": "Build",
            "States": {"Build": build, "Reused": {"Type": "Pass", "Result": "reused", "End": True}},
        }
        builds = [
            {"machine": machines["ok"], "name": "a"},
            {"machine": machines["ok"], "name": "a"},  # the same name again, once the first has ended
            {"machine": machines["broken"], "name": "b"},
        ]
        described = run(
            sfn,
            s3,
            distributed_map_machine(child, ResultWriter=WRITER, MaxConcurrency=1, ToleratedFailureCount=1),
            builds,
        )
        files = results(s3)

    assert described["status"] == "SUCCEEDED"
    assert [json.loads(r["Output"]) for r in files["SUCCEEDED_0.json"]] == [{"vpcId": "vpc-1"}, "reused"]
    (failed,) = files["FAILED_0.json"]
    assert failed["Error"] == "States.TaskFailed"
    cause = json.loads(failed["Cause"])
    assert (cause["Status"], cause["Error"], cause["Cause"], cause["Name"]) == (
        "FAILED",
        "BuildFailed",
        "no VPC",
        "b-r0",
    )
    assert cause["InputDetails"] == {"Included": True}
    assert list(cause) == sorted(cause)  # AWS's order


# A child that reports the started execution's InputDetails and OutputDetails.
DETAILS_CHILD = {
    "StartAt": "Build",
    "States": {
        "Build": {},
        "Input details?": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.build.InputDetails", "IsPresent": True, "Next": "With"}],
            "Default": "Without",
        },
        "With": {"Type": "Pass", "Parameters": {"input": True, "output.$": "$.build.OutputDetails"}, "End": True},
        "Without": {"Type": "Pass", "Parameters": {"input": False, "output.$": "$.build.OutputDetails"}, "End": True},
    },
}


@pytest.mark.parametrize(
    ("patched", "details"),
    [(True, {"input": True, "output": {"Included": True}}), (False, {"input": False, "output": {"included": True}})],
)
def test_a_started_execution_is_described_with_aws_details_and_on_plain_moto_without(
    patched: bool, details: dict[str, Any]
):
    with engine(patched=patched) as (sfn, s3):
        child = json.loads(json.dumps(DETAILS_CHILD))
        child["States"]["Build"] = _build(ResultPath="$.build", Next="Input details?")
        described = run(sfn, s3, distributed_map_machine(child), [{"machine": _build_machines(sfn)["ok"], "name": "c"}])
    assert json.loads(described["output"]) == [details]


@pytest.mark.parametrize("counted", [True, False])
def test_a_childs_cpu_counts_its_task_threads(monkeypatch: pytest.MonkeyPatch, counted: bool):
    # Given a child whose Task (a build started and awaited) burns 60 ms of CPU in its service call:
    # moto runs a Task's body on a thread of its own, not on the child's worker thread
    from moto.stepfunctions.parser.asl.component.state.exec import execute_state
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn import (
        StateTaskServiceSfn,
    )

    def busy(self: Any, *args: Any, **kwargs: Any) -> Any:
        started = time.thread_time()
        while time.thread_time() - started < 0.06:
            pass
        return original(self, *args, **kwargs)

    # (patched inside the engine, undone before it closes: the emulator's own patches wrap the same
    # attributes, installed on entry and, for a first test in the process, removed on exit)
    with engine() as (sfn, s3), monkeypatch.context() as patch:
        original = StateTaskServiceSfn._eval_service_task
        patch.setattr(StateTaskServiceSfn, "_eval_service_task", busy)
        if not counted:  # the emulator's counted Task thread taken out
            patch.setattr(execute_state, "Thread", threading.Thread)
        machines = _build_machines(sfn)
        child = {"StartAt": "Build", "States": {"Build": _build(End=True)}}
        described = run(
            sfn, s3, distributed_map_machine(child, ResultWriter=WRITER), [{"machine": machines["ok"], "name": "c"}]
        )
        (record,) = results(s3)["SUCCEEDED_0.json"]
        cpu = distributed_map.children_cpu_seconds()[record["ExecutionArn"]]

    # Then the child's CPU holds its Task thread's 60 ms (without the counted thread it would not),
    # beside its record, not in it (the record is AWS's)
    assert described["status"] == "SUCCEEDED"
    assert (cpu >= 0.06) is counted
    assert not any("cpu" in key.lower() for key in record)


def test_a_childs_cpu_leaves_out_the_sync_polls_that_found_its_build_still_running(monkeypatch: pytest.MonkeyPatch):
    # Given a child whose build runs 3 s (a Wait), so moto's .sync:2 polls it every 0.5 s, each
    # poll's reading of the answer burning 50 ms of CPU
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import state_task_service_sfn

    polls: list[float] = []
    original = state_task_service_sfn.select_from_typed_dict

    def costly(*args: Any, **kwargs: Any) -> Any:
        polls.append(time.monotonic())
        started = time.thread_time()
        while time.thread_time() - started < 0.05:
            pass
        return original(*args, **kwargs)

    # (real time: the Wait's 3 s are 3 s of the clock whatever an earlier test of this process set)
    with engine() as (sfn, s3), monkeypatch.context() as patch, configured(EmulatorSettings(time_scale=1.0)):
        patch.setattr(state_task_service_sfn, "select_from_typed_dict", costly)
        slow = {"StartAt": "Slow", "States": {"Slow": {"Type": "Wait", "Seconds": 3, "Next": "Built"}, "Built": {
            "Type": "Pass", "Result": {"vpcId": "vpc-1"}, "End": True}}}  # fmt: skip
        machine = sfn.create_state_machine(name="slow", definition=json.dumps(slow), roleArn=ROLE)["stateMachineArn"]
        child = {"StartAt": "Build", "States": {"Build": _build(End=True)}}
        described = run(
            sfn, s3, distributed_map_machine(child, ResultWriter=WRITER), [{"machine": machine, "name": "s"}]
        )
        (record,) = results(s3)["SUCCEEDED_0.json"]
        cpu = distributed_map.children_cpu_seconds()[record["ExecutionArn"]]

    # Then of its polls (at least 3: 2 x 50 ms would already pass the bound) only the one that saw
    # the end counts: moto's real-time polling is the emulator's, not the child's work
    assert described["status"] == "SUCCEEDED"
    assert len(polls) >= 3
    assert 0.05 <= cpu < 0.05 * 2 + 0.05
