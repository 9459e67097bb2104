"""The emulator's fix for moto's `states:startExecution` integration is pinned to the moto code it
patches: an upgrade that changes it must be looked at, not silently trusted."""

from vpcfactory_tools.emulator import engine_integrations
from vpcfactory_tools.emulator.patching import source_fingerprints


def test_the_moto_code_the_start_execution_fix_relies_on_is_unchanged_since_it_was_pinned():
    assert source_fingerprints(list(engine_integrations.PINNED_SOURCES)) == engine_integrations.PINNED_SOURCES


def test_install_is_idempotent_and_uninstall_gives_moto_back():
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn import (
        StateTaskServiceSfn,
    )

    was = engine_integrations.installed()
    engine_integrations.install()
    patched = StateTaskServiceSfn._eval_service_task
    engine_integrations.install()
    assert StateTaskServiceSfn._eval_service_task is patched
    engine_integrations.uninstall()
    assert StateTaskServiceSfn._eval_service_task is not patched
    if was:
        engine_integrations.install()


def _destroy_machine(sfn):
    """A state machine that ends at once (a Pass state) in the running mock."""
    role = "arn:aws:iam::123456789012:role/sfn"
    definition = '{"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": true}}}'
    return sfn.create_state_machine(name="quick", definition=definition, roleArn=role)["stateMachineArn"]


def _engine():
    import boto3
    from moto import mock_aws

    engine_integrations.install()  # as the emulator does (idempotent)
    return mock_aws(config={"stepfunctions": {"execute_state_machine": True}}), boto3


def test_an_unnamed_execution_gets_a_unique_name_as_on_aws():
    # AWS generates a UUID; moto's engine named every unnamed execution "None", so the AWS CLI's
    # start-execution without --name (the README's example) worked once, then ExecutionAlreadyExists.
    mock, boto3 = _engine()
    with mock:
        sfn = boto3.client("stepfunctions", region_name="us-east-1")
        arn = _destroy_machine(sfn)
        first = sfn.start_execution(stateMachineArn=arn)["executionArn"]
        second = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    assert first != second
    assert not first.endswith(":None")


def test_an_execution_name_aws_would_refuse_is_invalid_name_and_bad_input_is_invalid_execution_input():
    import pytest
    from botocore.exceptions import ClientError

    mock, boto3 = _engine()
    with mock:
        sfn = boto3.client("stepfunctions", region_name="us-east-1")
        arn = _destroy_machine(sfn)
        with pytest.raises(ClientError) as spaced:
            sfn.start_execution(stateMachineArn=arn, name="two words")
        with pytest.raises(ClientError) as not_json:
            sfn.start_execution(stateMachineArn=arn, name="ok", input="not json")
    assert spaced.value.response["Error"]["Code"] == "InvalidName"
    assert not_json.value.response["Error"]["Code"] == "InvalidExecutionInput"


def test_on_plain_moto_an_unnamed_execution_is_named_none():
    import boto3
    from moto import mock_aws

    was = engine_integrations.installed()
    engine_integrations.uninstall()
    try:
        with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
            sfn = boto3.client("stepfunctions", region_name="us-east-1")
            assert sfn.start_execution(stateMachineArn=_destroy_machine(sfn))["executionArn"].endswith(":None")
    finally:
        if was:
            engine_integrations.install()


def _describe_through_the_sdk_integration(sfn):
    """A state machine whose Task describes an execution with the AWS SDK integration, as the
    rollout's Find Earlier Build does: PascalCase in, PascalCase out."""
    import json
    import time

    target = _destroy_machine(sfn)
    earlier = sfn.start_execution(stateMachineArn=target, name="earlier")["executionArn"]
    definition = {
        "StartAt": "Describe",
        "States": {
            "Describe": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:sfn:describeExecution",
                "Parameters": {"ExecutionArn": earlier},
                "ResultSelector": {"status.$": "$.Status", "arn.$": "$.ExecutionArn", "started.$": "$.StartDate"},
                "End": True,
            }
        },
    }
    role = "arn:aws:iam::123456789012:role/sfn"
    machine = sfn.create_state_machine(name="describer", definition=json.dumps(definition), roleArn=role)
    arn = sfn.start_execution(stateMachineArn=machine["stateMachineArn"])["executionArn"]
    for _ in range(200):
        described = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING":
            return earlier, described
        time.sleep(0.02)
    raise AssertionError("the execution did not end")


def test_an_aws_sdk_integration_takes_and_answers_pascal_case_as_on_aws():
    mock, boto3 = _engine()
    with mock:
        sfn = boto3.client("stepfunctions", region_name="us-east-1")
        earlier, described = _describe_through_the_sdk_integration(sfn)
    import json

    assert described["status"] == "SUCCEEDED", described
    output = json.loads(described["output"])
    assert output["status"] == "SUCCEEDED" and output["arn"] == earlier
    assert isinstance(output["started"], str) and output["started"][:4].isdigit()  # ISO 8601


def test_on_plain_moto_an_aws_sdk_integration_with_pascal_case_parameters_fails():
    import boto3
    from moto import mock_aws

    was = engine_integrations.installed()
    engine_integrations.uninstall()
    try:
        with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
            sfn = boto3.client("stepfunctions", region_name="us-east-1")
            _earlier, described = _describe_through_the_sdk_integration(sfn)
        assert described["status"] == "FAILED"
    finally:
        if was:
            engine_integrations.install()
