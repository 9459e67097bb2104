"""IAM in the emulator: every request a handler makes is authorized against its function's role,
as deployed from the SAM-translated template, by a real IAM evaluator (iam-simulate).

Each defect test puts back the statement as it was before its fix, in the emulator's IAM (a new
default version of the managed policy, as a `sam deploy` of the old template would), and shows the
build fail exactly where AWS would refuse it; the suite's other builds pass with today's template.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from tests.workflow.owned import execution_name, tagged_with_execution
from vpcfactory_tools.emulator import iam_enforcement
from vpcfactory_tools.emulator.settings import EmulatorSettings

from .conftest import TIME_SCALE


def _policy_arn(emu: Any, logical_id: str) -> str:
    return f"arn:aws:iam::123456789012:policy/{emu.stack_name}-{logical_id}"


@contextmanager
def statement_replaced(emu: Any, policy: str, sid: str, statement: dict[str, Any] | None) -> Iterator[None]:
    """The managed policy with statement `sid` replaced (None: removed), then put back."""
    iam = emu.client("iam")
    arn = _policy_arn(emu, policy)
    version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
    document = iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]
    document = json.loads(document) if isinstance(document, str) else document
    edited = copy.deepcopy(document)
    found = [s for s in edited["Statement"] if s.get("Sid") == sid]
    assert found, f"{policy} has no statement {sid}"
    edited["Statement"] = [s for s in edited["Statement"] if s.get("Sid") != sid] + ([statement] if statement else [])
    new = iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(edited), SetAsDefault=True)
    try:
        yield
    finally:
        iam.set_default_policy_version(PolicyArn=arn, VersionId=version)
        iam.delete_policy_version(PolicyArn=arn, VersionId=new["PolicyVersion"]["VersionId"])


def _statement(emu: Any, policy: str, sid: str) -> dict[str, Any]:
    iam = emu.client("iam")
    arn = _policy_arn(emu, policy)
    version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
    document = iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]
    document = json.loads(document) if isinstance(document, str) else document
    return copy.deepcopy(next(s for s in document["Statement"] if s.get("Sid") == sid))


def _assert_denied_and_rolled_back(emu: Any, result: Any, action: str) -> None:
    assert result.status == "FAILED"
    assert "UnauthorizedOperation" in (result.cause or "") or "AccessDenied" in (result.cause or ""), result.cause
    assert f"not authorized to perform: {action}" in result.cause
    assert tagged_with_execution(emu.client("ec2"), execution_name(result)) == []


def test_every_request_of_a_build_and_destroy_with_every_feature_is_authorized(emu, everything_spec):
    iam_enforcement.reset_stats()

    built = emu.build(everything_spec)
    assert built.status == "SUCCEEDED", built.cause
    assert emu.destroy(built.vpc_id).status == "SUCCEEDED"

    stats = iam_enforcement.stats()
    assert stats["requests"] > 100 and stats["authorizations"] > stats["requests"]
    assert iam_enforcement.denials() == []


def _without_create(emu: Any, action: str) -> dict[str, Any]:
    statement = _statement(emu, "BuildNetworkPolicy", "CreateTaggedResources")
    statement["Action"] = [a for a in statement["Action"] if a != action]
    return statement


def test_a_denied_request_fails_as_aws_fails_it_and_the_build_rolls_back(emu, seed_spec):
    # Given a policy that no longer lets the builders create NAT gateways: the VPC, subnets, IGW
    # and EIPs are created first, then CreateNatGateway is refused
    iam_enforcement.reset_stats()
    with statement_replaced(
        emu, "BuildNetworkPolicy", "CreateTaggedResources", _without_create(emu, "ec2:CreateNatGateway")
    ):
        result = emu.build(seed_spec)

    # Then it fails with EC2's own error, and the rollback leaves nothing behind
    _assert_denied_and_rolled_back(emu, result, "ec2:CreateNatGateway")
    assert "UnauthorizedOperation" in result.cause
    assert "because no identity-based policy allows the ec2:CreateNatGateway action" in result.cause
    denial = iam_enforcement.denials()[-1]
    assert denial["action"] == "ec2:CreateNatGateway" and denial["resource"].endswith(":natgateway/*")
    assert denial["function"].endswith("CreateNatGatewaysFunction")


def test_put_retention_policy_under_a_request_tag_condition_is_denied_defect_2(emu, production_spec):
    # Before the fix, PutRetentionPolicy sat in the statement that requires request tags: the call
    # carries none, so every build with default flow logs failed in Configure VPC.
    old = _statement(emu, "BuildNetworkPolicy", "FlowLogsLogGroup")
    old["Action"] = ["logs:CreateLogGroup", "logs:PutRetentionPolicy", "logs:TagResource"]
    with (
        statement_replaced(emu, "BuildNetworkPolicy", "FlowLogsLogGroupRetention", None),
        statement_replaced(emu, "BuildNetworkPolicy", "FlowLogsLogGroup", old),
    ):
        result = emu.build(production_spec)

    _assert_denied_and_rolled_back(emu, result, "logs:PutRetentionPolicy")
    assert "AccessDeniedException" in result.cause


@pytest.mark.parametrize(
    ("action", "needs"),
    [
        ("ec2:CreateEgressOnlyInternetGateway", "vpc"),
        ("ec2:CreateVpcEndpoint", "vpc"),
        ("ec2:CreateFlowLogs", "vpc"),
    ],
)
def test_creates_are_also_authorized_on_the_parents_they_name_defect_6(emu, everything_spec, action, needs):
    # Before the fix, CreateInTheirParents listed only CreateSubnet/CreateNatGateway/CreateRouteTable.
    parents = _statement(emu, "BuildNetworkPolicy", "CreateInTheirParents")
    parents["Action"] = [a for a in parents["Action"] if a != action]
    with statement_replaced(emu, "BuildNetworkPolicy", "CreateInTheirParents", parents):
        result = emu.build(everything_spec)

    _assert_denied_and_rolled_back(emu, result, action)
    assert f":{needs}/vpc-" in result.cause


def test_a_nat_gateway_on_a_brought_untagged_eip_needs_its_own_statement_defect_6(emu, seed_spec):
    ec2 = emu.client("ec2")
    theirs = ec2.allocate_address(Domain="vpc")["AllocationId"]
    spec = {**seed_spec, "natGateways": {"mode": "single", "eipAllocationIds": [theirs]}}

    with statement_replaced(emu, "BuildNetworkPolicy", "NatGatewaysOnBroughtAddresses", None):
        result = emu.build(spec)

    _assert_denied_and_rolled_back(emu, result, "ec2:CreateNatGateway")
    assert f"elastic-ip/{theirs}" in result.cause
    assert ec2.describe_addresses(AllocationIds=[theirs])["Addresses"], "their EIP is untouched"


def test_requests_a_test_or_an_operator_makes_are_not_evaluated(emu):
    # Only handlers act as a role; the emulator's own clients act as the account's administrator.
    iam_enforcement.reset_stats()
    ec2 = emu.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.99.0.0/16")["Vpc"]["VpcId"]
    ec2.delete_vpc(VpcId=vpc)
    assert iam_enforcement.stats().get("requests", 0) == 0


def test_with_iam_off_the_same_denial_does_not_happen(emu, seed_spec):
    emu.reconfigure(EmulatorSettings(time_scale=TIME_SCALE, iam=False))
    with statement_replaced(
        emu, "BuildNetworkPolicy", "CreateTaggedResources", _without_create(emu, "ec2:CreateNatGateway")
    ):
        result = emu.build(seed_spec)
    assert result.status == "SUCCEEDED", result.cause
    assert emu.destroy(result.vpc_id).status == "SUCCEEDED"


def test_flow_logs_to_s3_need_log_delivery_permissions_to_create_and_to_delete_defect_4(emu, seed_spec):
    from tests.workflow.owned import s3_delivery_policy

    bucket = f"flow-logs-{uuid.uuid4().hex[:8]}"
    emu.client("s3").create_bucket(Bucket=bucket)
    emu.client("s3").put_bucket_policy(Bucket=bucket, Policy=json.dumps(s3_delivery_policy(bucket, "123456789012")))
    spec = {**seed_spec, "flowLogs": {"destination": "s3", "bucketArn": f"arn:aws:s3:::{bucket}"}}

    # Without logs:CreateLogDelivery, CreateFlowLogs to S3 is refused and the build rolls back
    with statement_replaced(emu, "BuildNetworkPolicy", "FlowLogsToS3AreVendedLogs", None):
        refused = emu.build(spec)
    _assert_denied_and_rolled_back(emu, refused, "logs:CreateLogDelivery")

    # Without logs:DeleteLogDelivery, a destroy cannot delete the flow log
    built = emu.build(spec)
    assert built.status == "SUCCEEDED", built.cause
    with statement_replaced(emu, "TeardownNetworkPolicy", "DeleteFlowLogsToS3", None):
        stuck = emu.destroy(built.vpc_id)
    assert stuck.status == "FAILED"
    assert "not authorized to perform: logs:DeleteLogDelivery" in stuck.cause
    assert emu.destroy(built.vpc_id).status == "SUCCEEDED"


def test_validate_and_plan_needs_s3_list_bucket_to_tell_a_missing_flow_log_bucket(emu, seed_spec):
    # HeadBucket is authorized as s3:ListBucket. Denied, S3 answers 403, which the check must read
    # as "exists, not ours to read": the missing bucket then fails the build only after NATs exist.
    iam = emu.client("iam")
    role = emu.stack.function_roles["ValidateSpecFunction"].rsplit("/", 1)[-1]
    spec = {**seed_spec, "flowLogs": {"destination": "s3", "bucketArn": f"arn:aws:s3:::gone-{uuid.uuid4().hex[:8]}"}}

    refused = emu.build(spec)
    assert refused.error == "InvalidSpec" and "flowLogs.bucketArn" in refused.cause, refused.cause

    (name,) = [
        n
        for n in iam.list_role_policies(RoleName=role)["PolicyNames"]
        if "s3:ListBucket" in json.dumps(iam.get_role_policy(RoleName=role, PolicyName=n)["PolicyDocument"])
    ]
    document = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
    document = document if isinstance(document, str) else json.dumps(document)
    iam.delete_role_policy(RoleName=role, PolicyName=name)
    try:
        late = emu.build(spec)
    finally:
        iam.put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=document)
    assert late.status == "FAILED" and late.error != "InvalidSpec"
    assert "CreateFlowLogs" in late.cause  # found out at Configure VPC, after the NAT was created
    assert tagged_with_execution(emu.client("ec2"), execution_name(late)) == []  # and rolled back
