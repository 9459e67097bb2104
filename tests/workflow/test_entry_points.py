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
        self.puts: dict[str, int] = {}  # how many times each request was answered
        catcher = self

        class Handler(BaseHTTPRequestHandler):
            def do_PUT(self):  # noqa: N802 - http.server's naming
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                request_id = self.path.rsplit("/", 1)[-1]
                catcher.bodies[request_id] = {**body, "_bytes": int(self.headers["Content-Length"])}
                catcher.puts[request_id] = catcher.puts.get(request_id, 0) + 1
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


def send(
    emu,
    catcher,
    request_type: str,
    spec: dict | None,
    physical_id: str | None = None,
    request_id=None,
    properties: dict | None = None,
) -> str:
    request_id = request_id or str(uuid.uuid4())
    event = {
        "RequestType": request_type,
        "ServiceToken": emu.stack.functions["CustomResourceFunction"],
        "ResponseURL": catcher.url(request_id),
        "StackId": STACK_ID,
        "RequestId": request_id,
        "LogicalResourceId": "Network",
        "ResourceType": "Custom::Vpc",
        "ResourceProperties": {
            "ServiceToken": "x",
            **({"Spec": as_cfn_properties(spec)} if spec else {}),
            **(properties or {}),
        },
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
    from vpcfactory_tools.execution_results import wait_for_execution

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

    from vpcfactory_tools.execution_results import wait_for_execution

    arn = f"{emu.stack.build_arn.replace(':stateMachine:', ':execution:')}:evt-{event['id']}"
    result = wait_for_execution(emu.client("stepfunctions"), arn)
    assert result.status == "SUCCEEDED", result.cause
    assert result.output["name"] == production_spec["name"]


def _aft_caller_policy(emu):
    """README, "From another state machine": StartExecution on the build state machine,
    DescribeExecution/StopExecution on its executions, and the managed rule .sync needs."""
    build = emu.stack.build_arn
    rules = "arn:aws:events:us-east-1:123456789012:rule"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "states:StartExecution", "Resource": build},
            {
                "Effect": "Allow",
                "Action": ["states:DescribeExecution", "states:StopExecution"],
                "Resource": f"{build.replace(':stateMachine:', ':execution:')}:*",
            },
            {
                "Effect": "Allow",
                "Action": ["events:PutTargets", "events:PutRule", "events:DescribeRule"],
                "Resource": f"{rules}/StepFunctionsGetEventsForStepFunctionsExecutionRule",
            },
        ],
    }


def test_the_aft_example_calls_the_build_with_start_execution_sync_and_gets_its_output(emu, production_spec):
    from pathlib import Path

    from vpcfactory_tools.emulator.deploy import substitute
    from vpcfactory_tools.execution_results import wait_for_execution

    text = (Path(__file__).parents[2] / "examples" / "stepfunctions" / "aft-caller.asl.json").read_text()
    definition = substitute(text, {"BuildStateMachineArn": emu.stack.build_arn})
    sfn, iam = emu.client("stepfunctions"), emu.client("iam")
    # The caller's role as the README tells the pipeline's owner to write it (the developer guide's
    # policy for startExecution.sync): the emulator evaluates every call Step Functions makes as it.
    role = iam.create_role(RoleName=f"aft-{uuid.uuid4().hex[:6]}", AssumeRolePolicyDocument="{}")["Role"]
    iam.put_role_policy(
        RoleName=role["RoleName"], PolicyName="RunTheFactoryBuild", PolicyDocument=json.dumps(_aft_caller_policy(emu))
    )
    caller = sfn.create_state_machine(
        name=f"aft-caller-{uuid.uuid4().hex[:6]}", definition=definition, roleArn=role["Arn"]
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
    assert seen["VPC Build Failed"]["error"] == "AwsCallFailed"
    assert seen["VPC Build Failed"]["name"] == f"{seed_spec['name']}-x"


# -- issue 11: replacement outputs, executions that end early, adoption, leftovers of a failed Create --
def listen(emu, detail_type: str) -> str:
    """A pipeline listening on the factory's bus for one detail-type: a queue behind a rule."""
    sqs, events = emu.client("sqs"), emu.client("events")
    queue = sqs.create_queue(QueueName=f"listen-{uuid.uuid4().hex[:6]}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    rule = f"listen-{uuid.uuid4().hex[:6]}"
    events.put_rule(Name=rule, EventPattern=json.dumps({"source": ["vpcfactory"], "detail-type": [detail_type]}))
    events.put_targets(Rule=rule, Targets=[{"Id": "q", "Arn": queue_arn}])
    return queue


def heard(emu, queue: str, execution: str) -> list[dict]:
    """Every announcement about `execution` the queue received."""
    sqs, details = emu.client("sqs"), []
    while messages := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
        details += [json.loads(m["Body"])["detail"] for m in messages]
        for m in messages:
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])
    return [d for d in details if d.get("execution") == execution]


def status_change(emu, execution_arn: str) -> dict:
    """The `Step Functions Execution Status Change` event of an ended execution, as EventBridge
    delivers it to the ExecutionEndedEarlyRule's target (shape: events/step-functions-execution-failed.json)."""
    from pathlib import Path

    ended = emu.client("stepfunctions").describe_execution(executionArn=execution_arn)
    event = json.loads((Path(__file__).parents[2] / "events" / "step-functions-execution-failed.json").read_text())
    event["id"] = str(uuid.uuid4())
    event["resources"] = [execution_arn]
    event["detail"].update(
        executionArn=execution_arn,
        stateMachineArn=ended["stateMachineArn"],
        name=ended["name"],
        status=ended["status"],
        input=ended["input"],
        error=ended.get("error"),
        cause=ended.get("cause"),
    )
    return event


def deliver_to_report_failure(emu, event: dict) -> dict:
    answer = emu.client("lambda").invoke(
        FunctionName=emu.stack.functions["ReportFailureFunction"], Payload=json.dumps(event)
    )
    assert "FunctionError" not in answer
    return json.loads(answer["Payload"].read())


def pending_create(catcher) -> str:
    """A Create request the provider stored and nothing has answered yet; its request id."""
    from vpcfactory import outcomes

    request_id = str(uuid.uuid4())
    outcomes.store_request(
        {
            "RequestType": "Create",
            "ResponseURL": catcher.url(request_id),
            "StackId": STACK_ID,
            "RequestId": request_id,
            "LogicalResourceId": "Network",
        }
    )
    return request_id


def execution_arn(emu, request_id: str) -> str:
    return f"{emu.stack.build_arn.replace(':stateMachine:', ':execution:')}:cfn-{request_id}"


def test_deleting_the_vpc_a_replacing_update_left_behind_keeps_the_outputs_that_name_the_new_vpc(
    emu, catcher, production_spec
):
    # Given a custom resource whose Update needed a new VPC (CIDR change)
    created = catcher.wait(send(emu, catcher, "Create", production_spec))
    assert created["Status"] == "SUCCESS", created.get("Reason")
    old_id = created["PhysicalResourceId"]
    moved = catcher.wait(send(emu, catcher, "Update", {**production_spec, "cidr": "10.8.0.0/16"}, physical_id=old_id))
    assert moved["Status"] == "SUCCESS", moved.get("Reason")
    new_id = moved["PhysicalResourceId"]

    # When CloudFormation deletes the old physical id
    deleted = catcher.wait(send(emu, catcher, "Delete", production_spec, physical_id=old_id))

    # Then the old VPC is gone and the published outputs still describe the new one
    assert deleted["Status"] == "SUCCESS", deleted.get("Reason")
    ec2, ssm = emu.client("ec2"), emu.client("ssm")
    assert not ec2.describe_vpcs(Filters=[{"Name": "vpc-id", "Values": [old_id]}])["Vpcs"]
    base = f"/vpcfactory/{production_spec['name']}"
    assert ssm.get_parameter(Name=f"{base}/vpc-id")["Parameter"]["Value"] == new_id
    assert ssm.get_parameter(Name=f"{base}/cidr")["Parameter"]["Value"] == "10.8.0.0/16"
    assert ssm.get_parameter(Name=f"{base}/subnets/private")["Parameter"]["Value"] == moved["Data"]["PrivateSubnetIds"]


def test_a_failed_execution_its_own_failure_path_reported_is_not_answered_or_announced_again_by_the_rule(
    emu, catcher, seed_spec
):
    from vpcfactory_tools.emulator.faults import parse_fault
    from vpcfactory_tools.emulator.settings import EmulatorSettings
    from vpcfactory_tools.execution_results import wait_for_execution

    # Given a custom-resource Create that failed, rolled back and was reported by the workflow
    announced = listen(emu, "VPC Build Failed")
    emu.reconfigure(EmulatorSettings(time_scale=0.001, faults=[parse_fault("CreateSubnet:1")]))
    request_id = send(emu, catcher, "Create", seed_spec)
    assert catcher.wait(request_id)["Status"] == "FAILED"
    arn = execution_arn(emu, request_id)
    assert wait_for_execution(emu.client("stepfunctions"), arn).status == "FAILED"

    # When the ExecutionEndedEarlyRule delivers its FAILED status change (twice: at least once)
    event = status_change(emu, arn)
    assert event["detail"]["status"] == "FAILED"
    results = [deliver_to_report_failure(emu, event) for _ in range(2)]

    # Then CloudFormation was answered once and `VPC Build Failed` announced once, by the workflow
    assert catcher.puts[request_id] == 1
    assert [d["error"] for d in heard(emu, announced, f"cfn-{request_id}")] == ["AwsCallFailed"]
    assert results == [{"announced": False, "answeredCloudFormation": False}] * 2


def test_a_failed_execution_that_skipped_its_failure_path_is_answered_failed_and_announced_once_by_the_rule(
    emu, catcher, seed_spec
):
    from pathlib import Path

    # Given a custom-resource Create whose build died of States.Runtime before answering
    # (the provider stored the request; nothing answered it)
    announced = listen(emu, "VPC Build Failed")
    request_id = pending_create(catcher)
    arn = execution_arn(emu, request_id)
    event = json.loads((Path(__file__).parents[2] / "events" / "step-functions-execution-failed.json").read_text())
    event["resources"] = [arn]
    event["detail"].update(
        executionArn=arn,
        stateMachineArn=emu.stack.build_arn,
        name=f"cfn-{request_id}",
        input=json.dumps({"spec": seed_spec, "cfn": {"requestId": request_id, "requestType": "Create"}}),
    )

    # When the rule delivers the FAILED status change (twice: EventBridge delivers at least once)
    for _ in range(2):
        deliver_to_report_failure(emu, event)

    # Then CloudFormation got one FAILED answer naming the error, and one announcement went out
    answer = catcher.wait(request_id, timeout=5)
    assert answer["Status"] == "FAILED" and answer["Reason"].startswith("States.Runtime: ")
    assert answer["PhysicalResourceId"] == f"vpcfactory-failed-{request_id}"
    assert catcher.puts[request_id] == 1
    failures = heard(emu, announced, f"cfn-{request_id}")
    assert [(d["error"], d["name"]) for d in failures] == [("States.Runtime", seed_spec["name"])]


def test_a_create_refuses_a_vpc_of_the_same_name_it_did_not_build_unless_the_resource_sets_adopt_existing(
    emu, catcher, seed_spec
):
    # Given a VPC the factory built for the same spec name outside this stack
    existing = emu.build(seed_spec)
    assert existing.status == "SUCCEEDED", existing.cause

    # When a custom resource is created with that spec
    request_id = send(emu, catcher, "Create", seed_spec)
    refused = catcher.wait(request_id)

    # Then it is answered FAILED, naming the VPC and the property, and nothing was created
    assert refused["Status"] == "FAILED"
    assert existing.vpc_id in refused["Reason"] and 'AdoptExisting: "true"' in refused["Reason"]
    assert refused["PhysicalResourceId"] == f"vpcfactory-failed-{request_id}"
    ec2 = emu.client("ec2")
    named = ec2.describe_vpcs(Filters=[{"Name": f"tag:{TAG_VPC}", "Values": [seed_spec["name"]]}])["Vpcs"]
    assert [v["VpcId"] for v in named] == [existing.vpc_id]
    by_this_create = [{"Name": "tag:vpcfactory:execution", "Values": [f"cfn-{request_id}"]}]
    assert ec2.describe_subnets(Filters=by_this_create)["Subnets"] == []
    assert ec2.describe_route_tables(Filters=by_this_create)["RouteTables"] == []

    # And with AdoptExisting (a string, as CloudFormation passes it) the Create takes the VPC over
    adopted = catcher.wait(send(emu, catcher, "Create", seed_spec, properties={"AdoptExisting": "true"}))
    assert adopted["Status"] == "SUCCESS", adopted.get("Reason")
    assert adopted["PhysicalResourceId"] == existing.vpc_id


def test_deleting_a_custom_resource_whose_create_left_resources_behind_removes_exactly_what_that_create_built(
    emu, catcher, seed_spec, production_spec
):
    from vpcfactory_tools.emulator.faults import parse_fault
    from vpcfactory_tools.emulator.settings import EmulatorSettings

    ec2 = emu.client("ec2")
    # Given another stack's network, built by the custom resource and left alone throughout
    other_request = send(emu, catcher, "Create", production_spec)
    other = catcher.wait(other_request)
    assert other["Status"] == "SUCCESS", other.get("Reason")
    # and a Create that fails and whose rollback cannot delete the VPC
    emu.reconfigure(
        EmulatorSettings(
            time_scale=0.001, faults=[parse_fault("CreateRoute:2"), parse_fault("DeleteVpc:1=UnauthorizedOperation")]
        )
    )
    request_id = send(emu, catcher, "Create", seed_spec)
    failed = catcher.wait(request_id)
    assert failed["Status"] == "FAILED" and failed["Reason"].startswith("RollbackIncomplete")
    by_failed_create = [{"Name": "tag:vpcfactory:execution", "Values": [f"cfn-{request_id}"]}]
    assert len(ec2.describe_vpcs(Filters=by_failed_create)["Vpcs"]) == 1

    # When the blocker is gone and CloudFormation deletes the failed resource
    emu.reconfigure(EmulatorSettings(time_scale=0.001))
    deleted = catcher.wait(send(emu, catcher, "Delete", seed_spec, physical_id=failed["PhysicalResourceId"]))

    # Then the leftovers are gone, CloudFormation got SUCCESS for the same physical id,
    assert deleted["Status"] == "SUCCESS", deleted.get("Reason")
    assert deleted["PhysicalResourceId"] == failed["PhysicalResourceId"]
    assert ec2.describe_vpcs(Filters=by_failed_create)["Vpcs"] == []
    # a second Delete (nothing left) succeeds at once,
    again = catcher.wait(send(emu, catcher, "Delete", seed_spec, physical_id=failed["PhysicalResourceId"]), timeout=5)
    assert again["Status"] == "SUCCESS"
    # and a failed-looking id naming the other stack's Create tears nothing of it down
    forged = catcher.wait(
        send(emu, catcher, "Delete", production_spec, physical_id=f"vpcfactory-failed-{other_request}"), timeout=5
    )
    assert forged["Status"] == "SUCCESS"
    assert ec2.describe_vpcs(VpcIds=[other["PhysicalResourceId"]])["Vpcs"]
    assert ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [other["PhysicalResourceId"]]}])["Subnets"]


def test_a_create_that_ended_early_is_answered_by_the_rule_and_its_delete_removes_what_it_built(
    emu, catcher, seed_spec
):
    from pathlib import Path

    # Given a custom-resource Create whose execution created a network and then ended without
    # its failure path (stopped, timed out, States.Runtime): no rollback ran, the request is
    # unanswered. (The network is built under the Create's execution name; the execution's end is
    # the status-change event EventBridge delivers.)
    ec2 = emu.client("ec2")
    request_id = pending_create(catcher)
    execution = f"cfn-{request_id}"
    built = emu.build(seed_spec, name=execution)
    assert built.status == "SUCCEEDED", built.cause
    by_execution = [{"Name": "tag:vpcfactory:execution", "Values": [execution]}]
    event = json.loads((Path(__file__).parents[2] / "events" / "step-functions-execution-failed.json").read_text())
    event["detail"].update(
        executionArn=execution_arn(emu, request_id),
        stateMachineArn=emu.stack.build_arn,
        name=execution,
        status="ABORTED",
        error=None,
        cause=None,
        input=json.dumps({"spec": seed_spec, "cfn": {"requestId": request_id, "requestType": "Create"}}),
    )

    # When EventBridge delivers its ABORTED status change to the rule
    deliver_to_report_failure(emu, event)
    failed = catcher.wait(request_id, timeout=5)
    assert failed["Status"] == "FAILED" and failed["Reason"].startswith("ExecutionAborted")

    # Then CloudFormation's Delete of the failed resource tears down exactly what it built
    deleted = catcher.wait(send(emu, catcher, "Delete", seed_spec, physical_id=failed["PhysicalResourceId"]))
    assert deleted["Status"] == "SUCCESS", deleted.get("Reason")
    assert ec2.describe_vpcs(Filters=by_execution)["Vpcs"] == []
    assert [n for n in ec2.describe_nat_gateways(Filter=by_execution)["NatGateways"] if n["State"] != "deleted"] == []
