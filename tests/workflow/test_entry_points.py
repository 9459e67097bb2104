"""Account-vending entry points on the emulator: the CloudFormation custom resource (answered by
the state machine on a local HTTP server standing in for the pre-signed S3 URL), EventBridge
starts, cross-account builds and the published outputs."""

from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest

from vpcfactory.tags import TAG_VPC

STACK_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/pipeline/abc"


class ResponseCatcher:
    """A local HTTP server standing in for CloudFormation's pre-signed ResponseURL."""

    def __init__(self) -> None:
        self.bodies: dict[str, dict] = {}
        catcher = self

        class Handler(BaseHTTPRequestHandler):
            def do_PUT(self):  # noqa: N802 - http.server's naming
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                catcher.bodies[self.path.rsplit("/", 1)[-1]] = {**body, "_bytes": int(self.headers["Content-Length"])}
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, request_id: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/responses/{request_id}"

    def wait(self, request_id: str, timeout: float = 120) -> dict:
        deadline = time.monotonic() + timeout
        while request_id not in self.bodies:
            assert time.monotonic() < deadline, f"no response for {request_id}"
            time.sleep(0.05)
        return self.bodies[request_id]


@pytest.fixture(scope="module")
def catcher():
    c = ResponseCatcher()
    yield c
    c.server.shutdown()


def as_cfn_properties(spec: dict) -> dict:
    """CloudFormation hands every property value to the provider as a string."""

    def strings(value):
        if isinstance(value, dict):
            return {k: strings(v) for k, v in value.items()}
        if isinstance(value, list):
            return [strings(v) for v in value]
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    return strings(spec)


def send(emu, catcher, request_type: str, spec: dict | None, physical_id: str | None = None, request_id=None) -> str:
    request_id = request_id or str(uuid.uuid4())
    event = {
        "RequestType": request_type,
        "ServiceToken": emu.stack.functions["CustomResourceFunction"],
        "ResponseURL": catcher.url(request_id),
        "StackId": STACK_ID,
        "RequestId": request_id,
        "LogicalResourceId": "Network",
        "ResourceType": "Custom::Vpc",
        "ResourceProperties": {"ServiceToken": "x", **({"Spec": as_cfn_properties(spec)} if spec else {})},
    }
    if physical_id:
        event["PhysicalResourceId"] = physical_id
    answer = emu.client("lambda").invoke(
        FunctionName=emu.stack.functions["CustomResourceFunction"], Payload=json.dumps(event)
    )
    assert "FunctionError" not in answer, answer["Payload"].read()
    return request_id


def test_create_update_and_delete_through_the_custom_resource(emu, catcher, production_spec):
    # Create: SUCCESS with the VPC id and the attributes Fn::GetAtt reads
    small = {**production_spec, "availabilityZones": 2}
    created = catcher.wait(send(emu, catcher, "Create", small))
    assert created["Status"] == "SUCCESS", created.get("Reason")
    vpc_id = created["PhysicalResourceId"]
    assert vpc_id.startswith("vpc-") and created["Data"]["VpcId"] == vpc_id
    assert created["Data"]["CidrBlock"] == "10.0.0.0/16"
    assert len(created["Data"]["PrivateSubnetIds"].split(",")) == 2
    assert set(created["Data"]) >= {"PublicSubnetIds", "DatabaseSubnetIds", "NatGatewayIds", "RouteTableIds"}
    assert created["StackId"] == STACK_ID and created["LogicalResourceId"] == "Network" and created["_bytes"] <= 4096

    # Update that only grows the network keeps the id
    updated = catcher.wait(send(emu, catcher, "Update", {**small, "availabilityZones": 3}, physical_id=vpc_id))
    assert updated["Status"] == "SUCCESS", updated.get("Reason")
    assert updated["PhysicalResourceId"] == vpc_id
    assert len(updated["Data"]["PrivateSubnetIds"].split(",")) == 3

    # Delete: SUCCESS, and the VPC is gone
    deleted = catcher.wait(send(emu, catcher, "Delete", small, physical_id=vpc_id))
    assert deleted["Status"] == "SUCCESS", deleted.get("Reason")
    assert not emu.client("ec2").describe_vpcs(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Vpcs"]
    # and a Delete of a VPC already gone succeeds too
    again = catcher.wait(send(emu, catcher, "Delete", small, physical_id=vpc_id))
    assert again["Status"] == "SUCCESS"


def test_an_update_that_needs_a_new_vpc_returns_the_new_id(emu, catcher, production_spec):
    created = catcher.wait(send(emu, catcher, "Create", production_spec))
    assert created["Status"] == "SUCCESS", created.get("Reason")

    moved = catcher.wait(
        send(
            emu,
            catcher,
            "Update",
            {**production_spec, "cidr": "10.8.0.0/16"},
            physical_id=created["PhysicalResourceId"],
        )
    )

    assert moved["Status"] == "SUCCESS", moved.get("Reason")
    assert moved["PhysicalResourceId"] != created["PhysicalResourceId"]
    assert moved["Data"]["CidrBlock"] == "10.8.0.0/16"


def test_an_invalid_spec_is_answered_failed_at_once_naming_the_field(emu, catcher, production_spec):
    answer = catcher.wait(send(emu, catcher, "Create", {**production_spec, "cidr": "10.0.0.1/16"}), timeout=5)

    assert answer["Status"] == "FAILED"
    assert "cidr" in answer["Reason"]
    assert answer["PhysicalResourceId"].startswith("vpcfactory-failed-")


def test_a_build_that_fails_midway_is_answered_failed_after_the_rollback(emu, catcher, production_spec):
    from vpcfactory_tools.emulator.faults import parse_fault
    from vpcfactory_tools.emulator.settings import EmulatorSettings

    emu.reconfigure(EmulatorSettings(time_scale=0.001, faults=[parse_fault("CreateNatGateway:1")]))

    answer = catcher.wait(send(emu, catcher, "Create", production_spec))

    assert answer["Status"] == "FAILED"
    assert "CreateNatGateway" in answer["Reason"]
    ec2 = emu.client("ec2")
    assert not ec2.describe_vpcs(Filters=[{"Name": f"tag:{TAG_VPC}", "Values": [production_spec["name"]]}])["Vpcs"]
    # CloudFormation then deletes the resource it could not create: that succeeds at once
    deleted = catcher.wait(send(emu, catcher, "Delete", production_spec, physical_id=answer["PhysicalResourceId"]))
    assert deleted["Status"] == "SUCCESS"


def test_a_provider_that_crashes_still_answers_failed(emu, catcher, production_spec, monkeypatch):
    monkeypatch.delenv("BUILD_STATE_MACHINE_ARN")

    answer = catcher.wait(send(emu, catcher, "Create", production_spec), timeout=5)

    assert answer["Status"] == "FAILED"
    assert "provider error" in answer["Reason"]


def test_a_resent_request_starts_one_execution_and_the_response_url_is_never_in_the_history(
    emu, catcher, production_spec
):
    request_id = str(uuid.uuid4())
    send(emu, catcher, "Create", production_spec, request_id=request_id)
    send(emu, catcher, "Create", production_spec, request_id=request_id)
    answer = catcher.wait(request_id)

    assert answer["Status"] == "SUCCESS", answer.get("Reason")
    sfn = emu.client("stepfunctions")
    runs = [
        e for e in sfn.list_executions(stateMachineArn=emu.stack.build_arn)["executions"] if request_id in e["name"]
    ]
    assert len(runs) == 1
    history = json.dumps(sfn.get_execution_history(executionArn=runs[0]["executionArn"], maxResults=1000), default=str)
    assert catcher.url(request_id) not in history and "127.0.0.1" not in history


def test_a_build_with_a_target_lands_in_that_account_and_publishes_its_outputs_there(emu, production_spec):
    # Given a VPC Requested-style input naming another account
    result = emu.build({"spec": production_spec, "target": {"accountId": "111111111111"}})

    assert result.status == "SUCCEEDED", result.cause
    creds = emu.client("sts").assume_role(
        RoleArn="arn:aws:iam::111111111111:role/AWSControlTowerExecution", RoleSessionName="test"
    )["Credentials"]
    there = boto3.session.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        region_name="us-east-1",
    )
    assert there.client("ec2").describe_vpcs(VpcIds=[result.vpc_id])["Vpcs"]
    here = emu.client("ec2").describe_vpcs(Filters=[{"Name": f"tag:{TAG_VPC}", "Values": [production_spec["name"]]}])
    assert here["Vpcs"] == [], "nothing is created in the factory's own account"
    params = there.client("ssm").get_parameter(Name=f"/vpcfactory/{production_spec['name']}/vpc-id")
    assert params["Parameter"]["Value"] == result.vpc_id

    # and destroying it there removes the network and the parameters
    destroyed = emu.run(
        emu.stack.destroy_arn,
        {"vpcId": result.vpc_id, "target": {"accountId": "111111111111"}},
        name=f"d-{uuid.uuid4()}",
    )
    assert destroyed.status == "SUCCEEDED", destroyed.cause
    assert not there.client("ec2").describe_vpcs(Filters=[{"Name": "vpc-id", "Values": [result.vpc_id]}])["Vpcs"]
    listed = there.client("ssm").get_parameters_by_path(Path=f"/vpcfactory/{production_spec['name']}/", Recursive=True)
    assert listed["Parameters"] == []


def test_an_invalid_target_is_rejected_before_anything_is_created(emu, production_spec):
    result = emu.build({"spec": production_spec, "target": {"accountId": "12345"}})

    assert result.status == "FAILED"
    assert result.error == "InvalidSpec" and "target.accountId" in result.cause


def test_a_vpc_requested_event_starts_a_build_named_after_the_event(emu):
    event = json.loads((__import__("pathlib").Path(__file__).parents[2] / "events" / "vpc-requested.json").read_text())
    event["id"] = str(uuid.uuid4())
    event["detail"]["spec"]["name"] = f"team-b-{event['id'][:8]}"

    for _ in range(2):  # EventBridge delivers at least once
        emu.client("lambda").invoke(
            FunctionName=emu.stack.functions["StartFromEventFunction"], Payload=json.dumps(event)
        )

    sfn = emu.client("stepfunctions")
    arn = f"{emu.stack.build_arn.replace(':stateMachine:', ':execution:')}:evt-{event['id']}"
    from vpcfactory_tools.emulator.embedded import wait_for_execution

    result = wait_for_execution(sfn, arn)
    assert result.status == "SUCCEEDED", result.cause
    assert result.input["target"]["accountId"] == "222222222222"


def test_a_control_tower_event_builds_the_default_spec_from_ssm(emu, production_spec):
    import os

    emu.client("ssm").put_parameter(
        Name=os.environ["DEFAULT_SPEC_PARAMETER"], Value=json.dumps(production_spec), Type="String", Overwrite=True
    )
    event = json.loads(
        (
            __import__("pathlib").Path(__file__).parents[2] / "events" / "control-tower-create-managed-account.json"
        ).read_text()
    )
    event["id"] = str(uuid.uuid4())
    event["detail"]["serviceEventDetails"]["createManagedAccountStatus"]["account"]["accountId"] = "444444444444"

    emu.client("lambda").invoke(FunctionName=emu.stack.functions["StartFromEventFunction"], Payload=json.dumps(event))

    from vpcfactory_tools.emulator.embedded import wait_for_execution

    arn = f"{emu.stack.build_arn.replace(':stateMachine:', ':execution:')}:evt-{event['id']}"
    result = wait_for_execution(emu.client("stepfunctions"), arn)
    assert result.status == "SUCCEEDED", result.cause
    assert result.output["name"] == production_spec["name"]


def test_the_aft_example_calls_the_build_with_start_execution_sync_and_gets_its_output(emu, production_spec):
    from pathlib import Path

    from vpcfactory_tools.emulator.deploy import substitute
    from vpcfactory_tools.emulator.embedded import wait_for_execution

    text = (Path(__file__).parents[2] / "examples" / "stepfunctions" / "aft-caller.asl.json").read_text()
    definition = substitute(text, {"BuildStateMachineArn": emu.stack.build_arn})
    sfn = emu.client("stepfunctions")
    role = emu.client("iam").create_role(RoleName=f"aft-{uuid.uuid4().hex[:6]}", AssumeRolePolicyDocument="{}")
    caller = sfn.create_state_machine(
        name=f"aft-caller-{uuid.uuid4().hex[:6]}", definition=definition, roleArn=role["Role"]["Arn"]
    )["stateMachineArn"]

    arn = sfn.start_execution(
        stateMachineArn=caller, name="vend-1", input=json.dumps({"spec": production_spec, "accountId": "555555555555"})
    )["executionArn"]
    result = wait_for_execution(sfn, arn)

    assert result.status == "SUCCEEDED", result.cause
    assert result.output["network"]["vpcId"].startswith("vpc-")
    assert result.output["network"]["compliance"]["EC2.6"] == "PASSED"


def test_a_build_announces_vpc_ready_and_a_failed_one_vpc_build_failed_on_the_default_bus(emu, seed_spec):
    from vpcfactory_tools.emulator.faults import parse_fault
    from vpcfactory_tools.emulator.settings import EmulatorSettings

    # Given a pipeline listening on the factory's bus (a queue behind a rule)
    sqs, events = emu.client("sqs"), emu.client("events")
    queue = sqs.create_queue(QueueName=f"pipeline-{uuid.uuid4().hex[:6]}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    rule = f"vpcfactory-{uuid.uuid4().hex[:6]}"
    events.put_rule(Name=rule, EventPattern=json.dumps({"source": ["vpcfactory"]}))
    events.put_targets(Rule=rule, Targets=[{"Id": "q", "Arn": queue_arn}])

    built = emu.build(seed_spec)
    emu.reconfigure(EmulatorSettings(time_scale=0.001, faults=[parse_fault("CreateSubnet:1")]))
    failed = emu.build({**seed_spec, "name": f"{seed_spec['name']}-x"})

    assert built.status == "SUCCEEDED" and failed.status == "FAILED"
    messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    seen = {json.loads(m["Body"])["detail-type"]: json.loads(m["Body"])["detail"] for m in messages}
    assert seen["VPC Ready"]["vpcId"] == built.vpc_id
    assert seen["VPC Build Failed"]["error"] == "Ec2CallFailed"
    assert seen["VPC Build Failed"]["name"] == f"{seed_spec['name']}-x"
