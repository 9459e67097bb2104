"""IAM for what Step Functions does for a state machine (engine_iam): every call of its service
integrations is authorized as the state machine's execution role, and a denied one fails the state
as AWS fails it. Each behaviour test fails on the emulator without engine_iam (moto's engine calls
were not evaluated: the denied runs succeed, the allowed ones count no evaluated request)."""

from __future__ import annotations

import io
import json
import time
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from vpcfactory_tools.emulator import engine_iam, engine_integrations, iam_enforcement, lambda_runtime
from vpcfactory_tools.emulator.authorization import Caller, authorizations
from vpcfactory_tools.emulator.embedded import ENGINE_CONFIG
from vpcfactory_tools.emulator.patching import source_fingerprints
from vpcfactory_tools.emulator.settings import EmulatorSettings, configured

REGION = "us-east-1"
ACCOUNT = "123456789012"
CALLER = Caller(account=ACCOUNT, region=REGION)
INVOKED: list[Any] = []


def echo(event: Any, context: Any) -> Any:  # noqa: ARG001 - a Lambda handler's signature
    INVOKED.append(event)
    return {"echo": event}


@pytest.fixture
def aws() -> Iterator[dict[str, Any]]:
    """moto with its engine, the emulator's engine patches and IAM evaluation on; clients."""
    iam_enforcement.require_evaluator(True)
    for patch in (lambda_runtime, engine_integrations, iam_enforcement, engine_iam):
        patch.install()
    with configured(EmulatorSettings(time_scale=0.001, iam=True)), mock_aws(config=ENGINE_CONFIG):  # type: ignore[arg-type]
        iam_enforcement.reset_stats()
        INVOKED.clear()
        session = boto3.session.Session(region_name=REGION)
        yield {name: session.client(name) for name in ("iam", "lambda", "s3", "stepfunctions")}


def role(aws: dict[str, Any], *statements: dict[str, Any]) -> str:
    """A state machine role allowed ``statements`` (none: allowed nothing)."""
    iam = aws["iam"]
    name = f"sm-{uuid.uuid4().hex[:8]}"
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    if statements:
        document = {"Version": "2012-10-17", "Statement": list(statements)}
        iam.put_role_policy(RoleName=name, PolicyName="integrations", PolicyDocument=json.dumps(document))
    return str(arn)


def allow(action: str | list[str], resource: str | list[str]) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource}


def function(aws: dict[str, Any]) -> str:
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("handler.py", "")
    lambda_role = aws["iam"].create_role(RoleName=f"fn-{uuid.uuid4().hex[:8]}", AssumeRolePolicyDocument="{}")
    return str(
        aws["lambda"].create_function(
            FunctionName=f"echo-{uuid.uuid4().hex[:8]}",
            Runtime="python3.13",
            Role=lambda_role["Role"]["Arn"],
            Handler=f"{__name__}.echo",
            Code={"ZipFile": code.getvalue()},
        )["FunctionArn"]
    )


def machine(aws: dict[str, Any], definition: dict[str, Any], role_arn: str, name: str | None = None) -> str:
    return str(
        aws["stepfunctions"].create_state_machine(
            name=name or f"sm-{uuid.uuid4().hex[:8]}", definition=json.dumps(definition), roleArn=role_arn
        )["stateMachineArn"]
    )


def run(aws: dict[str, Any], state_machine: str, payload: Any = None, timeout: float = 60.0) -> dict[str, Any]:
    sfn = aws["stepfunctions"]
    arn = sfn.start_execution(stateMachineArn=state_machine, name="run", input=json.dumps(payload or {}))[
        "executionArn"
    ]
    deadline = time.monotonic() + timeout
    while (described := sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
        assert time.monotonic() < deadline, "the execution did not end"
        time.sleep(0.05)
    return dict(described)


def invoke(function_arn: str) -> dict[str, Any]:
    task = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": function_arn, "Payload.$": "$"},
        "End": True,
    }
    return {"StartAt": "Invoke", "States": {"Invoke": task}}


def test_the_moto_code_engine_iam_relies_on_is_unchanged_since_it_was_pinned():
    assert source_fingerprints(list(engine_iam.PINNED_SOURCES)) == engine_iam.PINNED_SOURCES


def test_every_moto_module_that_makes_an_engine_client_is_patched():
    import moto.stepfunctions.parser as parser

    root = Path(parser.__file__).parent
    users = {
        "moto.stepfunctions.parser." + ".".join(path.relative_to(root).with_suffix("").parts)
        for path in root.rglob("*.py")
        if "boto_client_for" in path.read_text()
    }
    assert users == set(engine_iam.CLIENT_MODULES)
    emulator = Path(engine_iam.__file__).parent
    ours = {
        f"vpcfactory_tools.emulator.{path.stem}"
        for path in emulator.glob("*.py")
        if "import boto_client_for" in path.read_text() and path.stem != "engine_iam"
    }
    assert ours <= set(engine_iam.EMULATOR_CLIENT_MODULES)


def test_install_is_idempotent_and_uninstall_gives_moto_back():
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils

    was = engine_iam.installed()
    engine_iam.install()
    patched = lambda_eval_utils.boto_client_for
    engine_iam.install()
    assert lambda_eval_utils.boto_client_for is patched
    engine_iam.uninstall()
    assert lambda_eval_utils.boto_client_for is not patched
    if was:
        engine_iam.install()


# -- what AWS authorizes for each call ---------------------------------------------------------------
def test_lambda_invoke_is_invoke_function_on_the_function_qualified_when_the_call_names_a_version_or_alias():
    fn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:echo"

    def resources(params: dict[str, Any]) -> list[tuple[str, str]]:
        return [(a.action, a.resource) for a in authorizations("lambda", "Invoke", params, CALLER, None)]  # type: ignore[arg-type]

    assert resources({"FunctionName": "echo"}) == [("lambda:InvokeFunction", fn)]
    assert resources({"FunctionName": fn}) == [("lambda:InvokeFunction", fn)]
    assert resources({"FunctionName": f"{ACCOUNT}:function:echo"}) == [("lambda:InvokeFunction", fn)]
    assert resources({"FunctionName": "echo", "Qualifier": "live"}) == [("lambda:InvokeFunction", f"{fn}:live")]
    assert resources({"FunctionName": f"{fn}:3"}) == [("lambda:InvokeFunction", f"{fn}:3")]


def test_s3_reads_writes_and_listings_are_authorized_on_the_object_or_the_bucket_with_the_prefix():
    def wanted(operation: str, params: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
        return [(a.action, a.resource, dict(a.context)) for a in authorizations("s3", operation, params, CALLER, None)]  # type: ignore[arg-type]

    assert wanted("GetObject", {"Bucket": "b", "Key": "r/items.json"}) == [
        ("s3:GetObject", "arn:aws:s3:::b/r/items.json", {})
    ]
    assert wanted("GetObject", {"Bucket": "b", "Key": "k", "VersionId": "v1"})[0][0] == "s3:GetObjectVersion"
    assert wanted("PutObject", {"Bucket": "b", "Key": "r/results/manifest.json"}) == [
        ("s3:PutObject", "arn:aws:s3:::b/r/results/manifest.json", {})
    ]
    assert wanted("ListObjectsV2", {"Bucket": "b", "Prefix": "r/"}) == [
        ("s3:ListBucket", "arn:aws:s3:::b", {"s3:prefix": "r/"})
    ]
    assert wanted("HeadBucket", {"Bucket": "b"}) == [("s3:ListBucket", "arn:aws:s3:::b", {})]


def test_the_sync_tasks_of_a_definition_are_found_in_branches_and_map_processors():
    sync = {"Type": "Task", "Resource": "arn:aws-cn:states:::states:startExecution.sync:2", "End": True}
    nested = {
        "StartAt": "P",
        "States": {
            "P": {"Type": "Parallel", "Branches": [{"StartAt": "S", "States": {"S": sync}}], "Next": "M"},
            "M": {"Type": "Map", "ItemProcessor": {"StartAt": "S", "States": {"S": sync}}, "End": True},
        },
    }
    assert engine_iam.sync_services(nested) == {"states"}
    assert engine_iam.sync_services(invoke("arn:aws:lambda:us-east-1:123456789012:function:f")) == set()


# -- lambda:invoke ----------------------------------------------------------------------------------
def test_a_role_that_may_not_invoke_the_function_fails_the_task_with_lambdas_access_denied_as_aws_does(aws):
    fn = function(aws)
    other = fn.rsplit(":", 1)[0] + ":someone-else"
    state_machine = machine(aws, invoke(fn), role(aws, allow("lambda:InvokeFunction", other)))

    result = run(aws, state_machine, {"hello": 1})

    # AWS (awslabs/aws-deployment-framework#460): error Lambda.AWSLambdaException, cause "User:
    # arn:aws:sts::...:assumed-role/<role>/<session> is not authorized to perform:
    # lambda:InvokeFunction on resource: <function> because no identity-based policy allows the
    # lambda:InvokeFunction action (Service: AWSLambda; Status Code: 403; Error Code: AccessDeniedException; ..."
    assert result["status"] == "FAILED"
    assert result["error"] == "Lambda.AWSLambdaException"
    assert ":assumed-role/sm-" in result["cause"]
    assert (
        f"is not authorized to perform: lambda:InvokeFunction on resource: {fn} because no identity-based"
        in (result["cause"])
    )
    assert "(Service: AWSLambda; Status Code: 403; Error Code: AccessDeniedException; Request ID: " in result["cause"]
    assert INVOKED == [], "a denied invoke never reaches the function"
    [denial] = iam_enforcement.denials()
    assert denial["action"] == "lambda:InvokeFunction" and denial["resource"] == fn
    assert denial["role"].endswith(":role/" + denial["principal"].split("/")[1])
    assert denial["execution"].endswith(":run") and denial["function"] is None


def test_a_role_allowed_to_invoke_the_function_runs_the_task_and_the_call_is_evaluated(aws):
    fn = function(aws)
    # SAM's LambdaInvokePolicy: function:<name>*, which covers its versions and aliases too
    state_machine = machine(aws, invoke(fn), role(aws, allow("lambda:InvokeFunction", f"{fn}*")))

    result = run(aws, state_machine, {"hello": 1})

    assert result["status"] == "SUCCEEDED", result.get("cause")
    assert json.loads(result["output"])["Payload"] == {"echo": {"hello": 1}}
    assert iam_enforcement.stats().get("stepFunctionsRequests", 0) == 1
    assert iam_enforcement.denials() == []


# -- states:startExecution.sync:2 -----------------------------------------------------------------
def child(aws: dict[str, Any]) -> str:
    done = {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "Result": {"built": True}, "End": True}}}
    return machine(aws, done, role(aws))


def parent(target: str) -> dict[str, Any]:
    task = {
        "Type": "Task",
        "Resource": "arn:aws:states:::states:startExecution.sync:2",
        "Parameters": {"StateMachineArn": target, "Input": {}},
        "ResultSelector": {"Output.$": "$.Output"},  # as the AFT example does
        "End": True,
    }
    return {"StartAt": "Run The Child", "States": {"Run The Child": task}}


def sync_policy(target: str, *, without: str = "") -> list[dict[str, Any]]:
    """The developer guide's policy for startExecution.sync ("IAM policies for AWS Step Functions")."""
    executions = target.replace(":stateMachine:", ":execution:") + ":*"
    rule = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/StepFunctionsGetEventsForStepFunctionsExecutionRule"
    statements = [
        allow(["states:StartExecution"], target),
        allow(["states:DescribeExecution", "states:StopExecution"], executions),
        allow(["events:PutTargets", "events:PutRule", "events:DescribeRule"], rule),
    ]
    return [{**s, "Action": [a for a in s["Action"] if a != without]} for s in statements]


def test_a_sync_parent_whose_role_may_not_put_the_managed_rule_is_refused_as_aws_refuses_it(aws):
    target = child(aws)
    parent_role = role(aws, *sync_policy(target, without="events:PutRule"))

    with pytest.raises(ClientError) as refused:
        machine(aws, parent(target), parent_role)

    # AWS: "AccessDeniedException: '<role ARN>' is not authorized to create managed-rule." when the
    # state machine is created (terraform-aws-modules/terraform-aws-step-functions#11)
    assert refused.value.response["Error"]["Code"] == "AccessDeniedException"
    assert refused.value.response["Error"]["Message"] == f"'{parent_role}' is not authorized to create managed-rule."
    assert [d["action"] for d in iam_enforcement.denials()] == ["events:PutRule"]
    assert [m["stateMachineArn"] for m in aws["stepfunctions"].list_state_machines()["stateMachines"]] == [target]


def test_updating_a_sync_parent_to_a_role_that_may_not_put_the_managed_rule_is_refused_too(aws):
    target = child(aws)
    state_machine = machine(aws, parent(target), role(aws, *sync_policy(target)))
    without = role(aws, *sync_policy(target, without="events:PutTargets"))

    with pytest.raises(ClientError) as refused:
        aws["stepfunctions"].update_state_machine(stateMachineArn=state_machine, roleArn=without)

    assert refused.value.response["Error"]["Message"] == f"'{without}' is not authorized to create managed-rule."
    assert aws["stepfunctions"].describe_state_machine(stateMachineArn=state_machine)["roleArn"] != without


def test_a_sync_parent_allowed_what_the_developer_guide_lists_runs_its_child_and_each_call_is_evaluated(aws):
    target = child(aws)
    state_machine = machine(aws, parent(target), role(aws, *sync_policy(target)))

    result = run(aws, state_machine)

    assert result["status"] == "SUCCEEDED", result.get("cause")
    assert json.loads(result["output"])["Output"] == {"built": True}
    stats = iam_enforcement.stats()
    # the managed rule when it was created; StartExecution; at least one DescribeExecution
    assert stats.get("stepFunctionsRequests", 0) >= 3 and stats.get("denied", 0) == 0


def test_a_sync_parent_that_may_not_start_its_child_fails_with_step_functions_access_denied(aws):
    target = child(aws)
    policy = [s for s in sync_policy(target) if s["Action"] != ["states:StartExecution"]]
    state_machine = machine(aws, parent(target), role(aws, *policy))

    result = run(aws, state_machine)

    assert result["status"] == "FAILED"
    assert result["error"] == "StepFunctions.AWSStepFunctionsException"
    assert f"is not authorized to perform: states:StartExecution on resource: {target}" in result["cause"]
    assert "(Service: AWSStepFunctions; Status Code: 400; Error Code: AccessDeniedException;" in result["cause"]
    assert aws["stepfunctions"].list_executions(stateMachineArn=target)["executions"] == []


# -- Distributed Map ------------------------------------------------------------------------------
def distributed_map(bucket: str, *, results: bool = False) -> dict[str, Any]:
    processor = {
        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
        "StartAt": "Item",
        "States": {"Item": {"Type": "Pass", "End": True}},
    }
    state: dict[str, Any] = {
        "Type": "Map",
        "ItemReader": {
            "Resource": "arn:aws:states:::s3:getObject",
            "ReaderConfig": {"InputType": "JSON"},
            "Parameters": {"Bucket": bucket, "Key": "rollouts/r1/items.json"},
        },
        "ItemProcessor": processor,
        "End": True,
    }
    if results:
        state["ResultWriter"] = {
            "Resource": "arn:aws:states:::s3:putObject",
            "Parameters": {"Bucket": bucket, "Prefix": "rollouts/r1/results"},
        }
    return {"StartAt": "Roll Out", "States": {"Roll Out": state}}


def items_bucket(aws: dict[str, Any]) -> str:
    bucket = f"rollouts-{uuid.uuid4().hex[:8]}"
    aws["s3"].create_bucket(Bucket=bucket)
    aws["s3"].put_object(Bucket=bucket, Key="rollouts/r1/items.json", Body=json.dumps([{"n": 1}, {"n": 2}]))
    return bucket


def map_policy(name: str, bucket: str, *, without: str = "") -> list[dict[str, Any]]:
    """ "IAM policies for using Distributed Map states": StartExecution on the state machine itself,
    s3:GetObject on the items, s3:PutObject on the results."""
    statements = [
        allow("states:StartExecution", f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{name}"),
        allow("s3:GetObject", f"arn:aws:s3:::{bucket}/rollouts/*"),
        allow("s3:PutObject", f"arn:aws:s3:::{bucket}/rollouts/*"),
    ]
    return [s for s in statements if s["Action"] != without]


def test_a_distributed_map_whose_role_may_not_read_the_items_fails_with_item_reader_failed(aws):
    bucket, name = items_bucket(aws), f"rollout-{uuid.uuid4().hex[:6]}"
    state_machine = machine(
        aws, distributed_map(bucket), role(aws, *map_policy(name, bucket, without="s3:GetObject")), name
    )

    result = run(aws, state_machine)

    assert result["status"] == "FAILED"
    assert result["error"] == "States.ItemReaderFailed"
    items = f"arn:aws:s3:::{bucket}/rollouts/r1/items.json"
    assert (
        f"is not authorized to perform: s3:GetObject on resource: {items} because no identity-based"
        in (result["cause"])
    )
    assert "(Service: Amazon S3; Status Code: 403; Error Code: AccessDenied;" in result["cause"]
    assert [d["action"] for d in iam_enforcement.denials()] == ["s3:GetObject"]


def test_a_distributed_map_allowed_what_the_developer_guide_lists_runs_and_its_calls_are_evaluated(aws):
    bucket, name = items_bucket(aws), f"rollout-{uuid.uuid4().hex[:6]}"
    state_machine = machine(aws, distributed_map(bucket, results=True), role(aws, *map_policy(name, bucket)), name)

    result = run(aws, state_machine)

    assert result["status"] == "SUCCEEDED", result.get("cause")
    # the items read, the child executions started, the results written
    assert iam_enforcement.stats().get("stepFunctionsRequests", 0) >= 3
    assert iam_enforcement.denials() == []


def test_a_distributed_map_that_may_not_start_its_child_executions_fails_the_map_run(aws):
    bucket, name = items_bucket(aws), f"rollout-{uuid.uuid4().hex[:6]}"
    policy = map_policy(name, bucket, without="states:StartExecution")
    state_machine = machine(aws, distributed_map(bucket), role(aws, *policy), name)

    result = run(aws, state_machine)

    assert result["status"] == "FAILED"
    assert result["error"] == "States.Runtime"
    assert f"is not authorized to perform: states:StartExecution on resource: {state_machine}" in result["cause"]


def test_a_distributed_map_whose_role_may_not_write_the_results_fails_with_result_writer_failed(aws):
    bucket, name = items_bucket(aws), f"rollout-{uuid.uuid4().hex[:6]}"
    policy = map_policy(name, bucket, without="s3:PutObject")
    state_machine = machine(aws, distributed_map(bucket, results=True), role(aws, *policy), name)

    result = run(aws, state_machine)

    assert result["status"] == "FAILED"
    assert result["error"] == "States.ResultWriterFailed"
    assert "is not authorized to perform: s3:PutObject on resource: arn:aws:s3:::" in result["cause"]
    assert [d["action"] for d in iam_enforcement.denials()] == ["s3:PutObject"]
