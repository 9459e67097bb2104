"""The emulator's speed patches change how long things take, never what they answer: a resource's
tags read directly, one parse per state machine definition, one parse per service model."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

from tests.integration.conftest import MOCK_CONFIG, REGION
from vpcfactory_tools.emulator import engine_time, service_models
from vpcfactory_tools.emulator.settings import EmulatorSettings, configured

ROLE = "arn:aws:iam::123456789012:role/states"


@pytest.fixture(scope="module", autouse=True)
def _patches() -> Iterator[None]:
    engine_time.install()
    with configured(EmulatorSettings(time_scale=0.001)):
        yield


def test_a_resources_tags_read_directly_are_what_scanning_every_tag_in_the_account_returns() -> None:
    from moto.ec2.models import ec2_backends

    with mock_aws(config=MOCK_CONFIG):
        ec2 = boto3.client("ec2", region_name=REGION)
        tagged = [{"ResourceType": "vpc", "Tags": [{"Key": "Name", "Value": "a"}, {"Key": "team", "Value": "x"}]}]
        vpc_id = ec2.create_vpc(CidrBlock="10.0.0.0/16", TagSpecifications=tagged)["Vpc"]["VpcId"]
        ec2.create_vpc(
            CidrBlock="10.1.0.0/16",
            TagSpecifications=[{"ResourceType": "vpc", "Tags": [{"Key": "Name", "Value": "b"}]}],
        )
        untagged = ec2.create_vpc(CidrBlock="10.2.0.0/16")["Vpc"]["VpcId"]
        backend = ec2_backends["123456789012"][REGION]

        for resource_id in (vpc_id, untagged):
            vpc = backend.vpcs[resource_id]
            scanned = engine_time._own_tags.__wrapped__(vpc)  # moto's own: a scan of every tag
            assert sorted(vpc.get_tags(), key=str) == sorted(scanned, key=str)
        assert {t["key"] for t in backend.vpcs[vpc_id].get_tags()} == {"Name", "team"}
        # tag filters, which read each resource's tags this way, still select exactly
        found = ec2.describe_vpcs(Filters=[{"Name": "tag:team", "Values": ["x"]}])["Vpcs"]
        assert [v["VpcId"] for v in found] == [vpc_id]


def _wait_done(sfn: Any, arn: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while (desc := sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
        assert time.monotonic() < deadline
        time.sleep(0.01)
    return desc


def test_executions_of_one_definition_share_its_parse_and_keep_their_own_state() -> None:
    # Given a definition with a retried failure and a wait, so that executions have state
    definition = {
        "StartAt": "Wait",
        "States": {
            "Wait": {"Type": "Wait", "SecondsPath": "$.wait", "Next": "Try"},
            "Try": {
                "Type": "Parallel",
                "Branches": [{"StartAt": "Boom", "States": {"Boom": {"Type": "Fail", "Error": "Boom"}}}],
                "Retry": [{"ErrorEquals": ["Boom"], "IntervalSeconds": 1, "MaxAttempts": 2}],
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Done"}],
                "Next": "Done",
            },
            "Done": {"Type": "Pass", "End": True},
        },
    }
    with mock_aws(config={**MOCK_CONFIG, "stepfunctions": {"execute_state_machine": True}}):
        sfn = boto3.client("stepfunctions", region_name=REGION)
        machine = sfn.create_state_machine(name="shared", definition=json.dumps(definition), roleArn=ROLE)
        before = engine_time._program.cache_info()

        # When three executions run at once
        arns = [
            sfn.start_execution(
                stateMachineArn=machine["stateMachineArn"], name=f"run-{n}", input=json.dumps({"wait": n})
            )["executionArn"]
            for n in (1, 2, 3)
        ]
        results = [_wait_done(sfn, arn) for arn in arns]

        # Then the definition was parsed once, and each execution retried and waited on its own
        after = engine_time._program.cache_info()
        assert after.misses - before.misses <= 1
        assert after.hits - before.hits >= 2
        for n, result in zip((1, 2, 3), results, strict=True):
            assert result["status"] == "SUCCEEDED"
            output = json.loads(result["output"])
            assert output["wait"] == n and output["error"]["Error"] == "Boom"
            history = sfn.get_execution_history(executionArn=result["executionArn"])["events"]
            assert sum(e["type"] == "ParallelStateStarted" for e in history) == 3  # 1 try + 2 retries


def test_creating_a_state_machine_parses_its_definition_once_for_the_create_and_its_executions(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("VPCFACTORY_CACHE_DIR", "")  # in this process only: nothing known from earlier ones
    # Given a definition no test has parsed yet (its own state name), and one that is not ASL
    definition = json.dumps({"StartAt": "Once-Only", "States": {"Once-Only": {"Type": "Pass", "End": True}}})
    invalid = json.dumps({"StartAt": "Nowhere", "States": {"Nowhere": {"Type": "Teleport", "End": True}}})
    with mock_aws(config={**MOCK_CONFIG, "stepfunctions": {"execute_state_machine": True}}):
        sfn = boto3.client("stepfunctions", region_name=REGION)
        before = engine_time._program.cache_info()

        # When it is created twice (two emulators deploying one stack) and run once
        arns = [sfn.create_state_machine(name=f"once-{n}", definition=definition, roleArn=ROLE) for n in (1, 2)]
        run = sfn.start_execution(stateMachineArn=arns[0]["stateMachineArn"], name="run")["executionArn"]
        result = _wait_done(sfn, run)

        # Then it was parsed once, and the execution ran that program
        after = engine_time._program.cache_info()
        assert (after.misses - before.misses, after.hits - before.hits) == (1, 2)
        assert result["status"] == "SUCCEEDED"
        # and a definition that does not parse is refused as moto refuses it, with moto's message
        with pytest.raises(ClientError, match=r"ASLParserException .*Teleport"):
            sfn.create_state_machine(name="invalid", definition=invalid, roleArn=ROLE)


def test_a_shared_program_has_every_heap_key_before_an_execution_runs_it() -> None:
    # Executions sharing a parsed program keep their own state in their heaps under each
    # component's heap_key, which moto creates on first read: created lazily, two executions
    # racing on it lost a Retry's attempt count (4 tries where MaxAttempts 2 allows 3).
    from moto.stepfunctions.parser.asl.component.eval_component import EvalComponent

    definition = {
        "StartAt": "Try",
        "States": {
            "Try": {
                "Type": "Parallel",
                "Branches": [{"StartAt": "Boom", "States": {"Boom": {"Type": "Fail", "Error": "Boom"}}}],
                "Retry": [{"ErrorEquals": ["Boom"], "MaxAttempts": 2}],
                "End": True,
            }
        },
    }
    program = engine_time._program(json.dumps(definition))
    components = [c for c in engine_time.components(program) if isinstance(c, EvalComponent)]
    assert len(components) > 5
    assert all(vars(c).get("_EvalComponent__heap_key") for c in components)


def test_sessions_made_one_after_another_read_one_parsed_service_model_and_their_clients_answer_alike() -> None:
    # Given the emulator's patch (tests/integration/conftest.py installs it for every test here) and
    # two sessions made one after the other, as the handlers make one per client and per role
    assert service_models.installed()
    with mock_aws(config=MOCK_CONFIG):
        first, second = (boto3.session.Session(region_name=REGION) for _ in range(2))
        loaders = [s._session.get_component("data_loader") for s in (first, second)]
        vpc_id = first.client("ec2").create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]

        # Then they share one loader, so EC2's model is parsed once for both, and each client works
        assert loaders[0] is loaders[1] is service_models.shared_loader(None)
        found = second.client("ec2").describe_vpcs(VpcIds=[vpc_id])["Vpcs"]
        assert [v["CidrBlock"] for v in found] == ["10.0.0.0/16"]

    # and without the patch each session has a loader (and a parse) of its own
    service_models.uninstall()
    try:
        first, second = (boto3.session.Session(region_name=REGION) for _ in range(2))
        assert first._session.get_component("data_loader") is not second._session.get_component("data_loader")
    finally:
        service_models.install()


def test_each_history_event_carries_its_threads_cpu_and_an_answer_is_unchanged() -> None:
    # Given a definition with a Parallel state (its branches run on threads of their own) and a Wait
    definition = json.dumps(
        {
            "StartAt": "Both",
            "States": {
                "Both": {
                    "Type": "Parallel",
                    "Branches": [
                        {"StartAt": "Left", "States": {"Left": {"Type": "Pass", "Result": 1, "End": True}}},
                        {"StartAt": "Right", "States": {"Right": {"Type": "Wait", "Seconds": 1, "End": True}}},
                    ],
                    "End": True,
                }
            },
        }
    )
    with (
        configured(EmulatorSettings(time_scale=0.01)),
        mock_aws(config={**MOCK_CONFIG, "stepfunctions": {"execute_state_machine": True}}),
    ):
        sfn = boto3.client("stepfunctions", region_name=REGION)
        arn = sfn.create_state_machine(name="marks", definition=definition, roleArn=ROLE)["stateMachineArn"]
        run = sfn.start_execution(stateMachineArn=arn, name="marks", input="{}")["executionArn"]
        result = _wait_done(sfn, run)
        history = sfn.get_execution_history(executionArn=run)["events"]
        marks = engine_time.event_cpu(run)

    # Then its answer is moto's, and every event it recorded has a mark: (thread, CPU seconds)
    assert result["status"] == "SUCCEEDED" and json.loads(result["output"]) == [1, {}]
    assert set(marks) == {e["id"] for e in history}
    threads = {thread for thread, _ in marks.values()}
    assert len(threads) >= 3  # the execution's thread and one per branch
    for thread in threads:
        cpu = [marks[e][1] for e in sorted(marks) if marks[e][0] == thread]
        assert cpu == sorted(cpu) and all(c >= 0 for c in cpu)  # a thread's CPU only grows
    # an execution of nobody's is nothing recorded, and a malformed ARN is refused
    assert engine_time.event_cpu(run.replace(":marks", ":nobody")) == {}
    with pytest.raises(ValueError, match="not an execution ARN"):
        engine_time.event_cpu("arn:aws:states:us-east-1:123456789012:stateMachine:marks")


def test_the_emulator_leaves_out_motos_ami_catalogue_unless_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.ec2.models import ec2_backends

    from vpcfactory_tools.emulator import embedded

    # Given no choice made (the suite's own setting removed): the emulator leaves it out
    monkeypatch.delenv("MOTO_EC2_LOAD_DEFAULT_AMIS", raising=False)
    embedded.without_ami_catalogue()
    with mock_aws(config=MOCK_CONFIG):
        assert ec2_backends["111122223333"]["eu-west-3"].describe_images() == []
    # and a user's explicit choice stands
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "true")
    embedded.without_ami_catalogue()
    with mock_aws(config=MOCK_CONFIG):
        assert len(ec2_backends["111122224444"]["eu-west-3"].describe_images()) > 100
    # before any patch, so before any backend the emulator makes: the first name it uses
    assert embedded.install_patches.__code__.co_names[0] == "without_ami_catalogue"


def test_a_definition_found_valid_by_an_earlier_process_is_parsed_only_when_it_runs(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Given a cache directory shared by processes, and a definition one process created a machine of
    monkeypatch.setenv("VPCFACTORY_CACHE_DIR", str(tmp_path))
    definition = json.dumps({"StartAt": "Kept", "States": {"Kept": {"Type": "Pass", "End": True}}})
    invalid = json.dumps({"StartAt": "Nowhere", "States": {"Nowhere": {"Type": "Teleport", "End": True}}})
    with mock_aws(config={**MOCK_CONFIG, "stepfunctions": {"execute_state_machine": True}}):
        sfn = boto3.client("stepfunctions", region_name=REGION)
        sfn.create_state_machine(name="first", definition=definition, roleArn=ROLE)
        assert list((tmp_path / engine_time.VALID_DEFINITIONS_KIND).glob("*.json"))
        # (known valid to the parser that found it so, not to another: plain moto refuses what
        # distributed_map's parser accepts)
        assert engine_time._known_valid(definition, AmazonStateLanguageParser.parse)[0]
        assert not engine_time._known_valid(definition, lambda text: text)[0]
        engine_time._program.cache_clear()  # as in a new process
        before = engine_time._program.cache_info()

        # When a later process creates it again, and runs it
        arn = sfn.create_state_machine(name="again", definition=definition, roleArn=ROLE)["stateMachineArn"]
        created = engine_time._program.cache_info()
        result = _wait_done(sfn, sfn.start_execution(stateMachineArn=arn, name="run")["executionArn"])

        # Then the create did not parse it, the execution did, once
        assert created.misses == before.misses
        assert engine_time._program.cache_info().misses == before.misses + 1
        assert result["status"] == "SUCCEEDED"
        # and an invalid definition is never kept: refused with moto's message each time
        for name in ("bad-1", "bad-2"):
            with pytest.raises(ClientError, match=r"ASLParserException .*Teleport"):
                sfn.create_state_machine(name=name, definition=invalid, roleArn=ROLE)
        assert len(list((tmp_path / engine_time.VALID_DEFINITIONS_KIND).glob("*.json"))) == 1
