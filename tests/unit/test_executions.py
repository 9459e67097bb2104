"""start_execution_once: the one way the custom resource and the event starter start a workflow."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import boto3
import pytest
from botocore.stub import Stubber

from vpcfactory import aws, executions
from vpcfactory.errors import AwsCallFailed, AwsThrottled

MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:build"


@pytest.fixture
def sfn(monkeypatch):
    client = boto3.client("stepfunctions", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    asked = []
    monkeypatch.setattr(aws, "client", lambda service, *a, **kw: asked.append((service, kw)) or client)
    with Stubber(client) as stub:
        yield stub, asked
        stub.assert_no_pending_responses()


def test_it_starts_the_named_execution_in_the_factory_account(sfn):
    stub, asked = sfn
    name = "cfn-" + "r" * 100
    stub.add_response(
        "start_execution",
        {"executionArn": f"{MACHINE}:x", "startDate": datetime.now(UTC)},
        {"stateMachineArn": MACHINE, "name": name[:80], "input": json.dumps({"spec": {"name": "a"}})},
    )

    assert executions.start_execution_once(MACHINE, name, {"spec": {"name": "a"}}) == name[:80]
    assert asked == [("stepfunctions", {"own_account": True})]


def test_a_redelivered_request_finds_its_execution_and_starts_nothing_new(sfn):
    stub, _ = sfn
    stub.add_client_error("start_execution", "ExecutionAlreadyExists", "Execution Already Exists: 'evt-1'")

    assert executions.start_execution_once(MACHINE, "evt-1", {}) == "evt-1"


@pytest.mark.parametrize(
    ("code", "raised"), [("AccessDeniedException", AwsCallFailed), ("ThrottlingException", AwsThrottled)]
)
def test_any_other_error_is_raised_by_name(sfn, code, raised):
    stub, _ = sfn
    stub.add_client_error("start_execution", code, "no")

    with pytest.raises(raised, match="StartExecution"):
        executions.start_execution_once(MACHINE, "evt-1", {})
