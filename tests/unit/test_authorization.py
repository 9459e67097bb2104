"""What IAM authorizes for a request (emulator/authorization.py), read from the Service
Authorization Reference data the evaluator uses: no moto, no evaluator, a fake world."""

from __future__ import annotations

from typing import Any

import pytest

from vpcfactory_tools.emulator.authorization import IAM_DATA, Caller, UnknownAction, authorizations

pytestmark = pytest.mark.skipif(not IAM_DATA.is_dir(), reason="make iam-simulator installs the IAM data")

CALLER = Caller(account="123456789012", region="us-east-1")
OURS = {"vpcfactory:vpc": "net", "vpcfactory:execution": "build-1", "vpcfactory:logical-id": "x"}
TAGS = [{"ResourceType": "subnet", "Tags": [{"Key": k, "Value": v} for k, v in OURS.items()]}]


class FakeWorld:
    def __init__(self, resources: dict[str, dict[str, Any]] | None = None) -> None:
        self.resources = resources or {}

    def ec2_resource(self, caller: Caller, kind: str, resource_id: str) -> dict[str, Any] | None:
        return self.resources.get(resource_id)

    def route_table_association(self, caller: Caller, association_id: str) -> tuple[str | None, str | None]:
        return ("rtb-1", "subnet-1") if association_id == "rtbassoc-1" else (None, None)

    def log_group_tags(self, caller: Caller, name: str) -> dict[str, str] | None:
        return {"vpcfactory:execution": "build-1"} if name == "ours" else None

    def role_exists(self, caller: Caller, arn: str) -> bool:
        return True

    def organization_of(self, account: str, partition: str) -> str | None:
        return "o-example12345" if account == "111111111111" else None


def by_resource(found: list) -> dict[str, Any]:
    return {f"{a.action} {a.resource}": dict(a.context) for a in found}


def test_a_create_is_authorized_on_the_new_resource_with_request_tags_and_on_its_parent_with_its_own_tags():
    world = FakeWorld({"vpc-1": {"tags": {"vpcfactory:vpc": "net"}}})

    found = by_resource(
        authorizations("ec2", "CreateSubnet", {"VpcId": "vpc-1", "TagSpecifications": TAGS}, CALLER, world)
    )

    new = found["ec2:CreateSubnet arn:aws:ec2:us-east-1:123456789012:subnet/*"]
    assert new["aws:RequestTag/vpcfactory:execution"] == "build-1"
    assert new["aws:TagKeys"] == sorted(OURS)
    parent = found["ec2:CreateSubnet arn:aws:ec2:us-east-1:123456789012:vpc/vpc-1"]
    assert parent["aws:ResourceTag/vpcfactory:vpc"] == "net" and parent["ec2:VpcID"] == "vpc-1"
    assert not any(k.startswith("aws:RequestTag") for k in parent), "request tags belong to the new subnet only"
    tagging = found["ec2:CreateTags arn:aws:ec2:us-east-1:123456789012:subnet/*"]
    assert tagging["ec2:CreateAction"] == "CreateSubnet"


def test_a_create_without_tag_specifications_asks_for_no_create_tags():
    found = authorizations("ec2", "CreateInternetGateway", {}, CALLER, FakeWorld())
    assert [(a.action, a.resource.rsplit(":", 1)[-1]) for a in found] == [
        ("ec2:CreateInternetGateway", "internet-gateway/*")
    ]


def test_describe_actions_are_authorized_on_any_resource():
    found = authorizations("ec2", "DescribeVpcs", {"Filters": []}, CALLER, FakeWorld())
    assert [(a.action, a.resource) for a in found] == [("ec2:DescribeVpcs", "*")]


def test_a_resource_that_does_not_exist_is_left_to_the_service_to_answer_not_found():
    found = authorizations("ec2", "DeleteSubnet", {"SubnetId": "subnet-gone"}, CALLER, FakeWorld())
    assert found == []


def test_a_default_security_group_revoke_carries_its_vpc():
    world = FakeWorld({"sg-1": {"vpcId": "vpc-1", "tags": {}}})
    (found,) = authorizations("ec2", "RevokeSecurityGroupIngress", {"GroupId": "sg-1"}, CALLER, world)
    assert found.context["ec2:Vpc"] == "arn:aws:ec2:us-east-1:123456789012:vpc/vpc-1"


def test_disassociating_a_route_table_is_authorized_on_its_table_and_subnet():
    world = FakeWorld({"rtb-1": {"vpcId": "vpc-1", "tags": OURS}, "subnet-1": {"vpcId": "vpc-1", "tags": OURS}})
    found = authorizations("ec2", "DisassociateRouteTable", {"AssociationId": "rtbassoc-1"}, CALLER, world)
    assert sorted(a.resource.rsplit(":", 1)[-1] for a in found) == ["route-table/rtb-1", "subnet/subnet-1"]


def test_flow_logs_also_need_pass_role_and_for_s3_a_log_delivery():
    world = FakeWorld({"vpc-1": {"tags": OURS}})
    params = {
        "ResourceType": "VPC",
        "ResourceIds": ["vpc-1"],
        "DeliverLogsPermissionArn": "arn:aws:iam::123456789012:role/delivery",
        "LogDestinationType": "s3",
    }
    found = by_resource(authorizations("ec2", "CreateFlowLogs", params, CALLER, world))
    assert found["iam:PassRole arn:aws:iam::123456789012:role/delivery"] == {
        "iam:PassedToService": "vpc-flow-logs.amazonaws.com"
    }
    assert "logs:CreateLogDelivery *" in found
    assert "ec2:CreateFlowLogs arn:aws:ec2:us-east-1:123456789012:vpc/vpc-1" in found


def test_put_retention_policy_carries_the_groups_tags_and_no_request_tags():
    (found,) = authorizations(
        "logs", "PutRetentionPolicy", {"logGroupName": "ours", "retentionInDays": 7}, CALLER, FakeWorld()
    )
    assert found.resource == "arn:aws:logs:us-east-1:123456789012:log-group:ours"
    assert found.context == {"aws:ResourceTag/vpcfactory:execution": "build-1"}


def test_a_log_group_created_with_tags_is_also_tagged_as_logs_tag_resource():
    params = {"logGroupName": "g", "tags": {"vpcfactory:execution": "build-1"}}
    found = authorizations("logs", "CreateLogGroup", params, CALLER, FakeWorld())
    assert [a.action for a in found] == ["logs:CreateLogGroup", "logs:TagResource"]
    assert all(a.context["aws:RequestTag/vpcfactory:execution"] == "build-1" for a in found)


def test_ssm_parameter_arns_drop_the_leading_slash():
    (found,) = authorizations("ssm", "GetParameter", {"Name": "/vpcfactory/default-spec"}, CALLER, FakeWorld())
    assert found.resource == "arn:aws:ssm:us-east-1:123456789012:parameter/vpcfactory/default-spec"


def test_a_cn_region_uses_its_partition():
    cn = Caller(account="123456789012", region="cn-north-1")
    (found,) = authorizations("ec2", "CreateInternetGateway", {}, cn, FakeWorld())
    assert found.resource == "arn:aws-cn:ec2:cn-north-1:123456789012:internet-gateway/*"


def test_an_action_the_mapping_does_not_know_is_refused_loudly():
    with pytest.raises(UnknownAction):
        authorizations("ec2", "CreateSubnetz", {}, CALLER, FakeWorld())
    with pytest.raises(UnknownAction, match="add it to authorization.py"):
        authorizations("sqs", "SendMessage", {"QueueUrl": "q"}, CALLER, FakeWorld())


def test_assume_role_carries_the_organization_of_the_roles_account():
    role = "arn:aws:iam::111111111111:role/AWSControlTowerExecution"
    (found,) = authorizations("sts", "AssumeRole", {"RoleArn": role, "RoleSessionName": "b"}, CALLER, FakeWorld())
    assert found.resource == role
    assert found.context == {"sts:RoleSessionName": "b", "aws:ResourceOrgID": "o-example12345"}
    (outside,) = authorizations(
        "sts",
        "AssumeRole",
        {"RoleArn": role.replace("111111111111", "222222222222"), "RoleSessionName": "b"},
        CALLER,
        FakeWorld(),
    )
    assert "aws:ResourceOrgID" not in outside.context


def test_deleting_a_flow_log_to_s3_also_deletes_its_log_delivery():
    world = FakeWorld(
        {"fl-1": {"destinationType": "s3", "tags": OURS}, "fl-2": {"destinationType": "cloud-watch-logs", "tags": OURS}}
    )
    to_s3 = by_resource(authorizations("ec2", "DeleteFlowLogs", {"FlowLogIds": ["fl-1"]}, CALLER, world))
    to_logs = by_resource(authorizations("ec2", "DeleteFlowLogs", {"FlowLogIds": ["fl-2"]}, CALLER, world))
    assert "logs:DeleteLogDelivery *" in to_s3
    assert "logs:DeleteLogDelivery *" not in to_logs


def test_a_role_created_with_tags_is_also_authorized_as_tag_role():
    params = {"RoleName": "delivery", "Tags": [{"Key": "vpcfactory:managed", "Value": "true"}]}
    found = authorizations("iam", "CreateRole", params, CALLER, FakeWorld())
    assert [(a.action, a.context.get("aws:RequestTag/vpcfactory:managed")) for a in found] == [
        ("iam:CreateRole", "true"),
        ("iam:TagRole", "true"),
    ]


@pytest.mark.parametrize("operation", ["PutItem", "GetItem", "DeleteItem", "UpdateItem"])
def test_a_dynamodb_item_operation_is_authorized_on_its_table(operation):
    (found,) = authorizations("dynamodb", operation, {"TableName": "locks", "Key": {}}, CALLER, FakeWorld())
    assert (found.action, found.resource) == (
        f"dynamodb:{operation}",
        "arn:aws:dynamodb:us-east-1:123456789012:table/locks",
    )


def test_a_dynamodb_table_named_by_its_arn_is_authorized_on_that_arn():
    arn = "arn:aws-cn:dynamodb:cn-north-1:123456789012:table/locks"
    cn = Caller(account="123456789012", region="cn-north-1")
    (found,) = authorizations("dynamodb", "PutItem", {"TableName": arn, "Item": {}}, cn, FakeWorld())
    assert found.resource == arn


def test_a_dynamodb_operation_on_no_table_is_refused_loudly():
    with pytest.raises(UnknownAction):
        authorizations("dynamodb", "ListTables", {}, CALLER, FakeWorld())


def test_describe_execution_is_authorized_on_the_execution():
    arn = "arn:aws:states:us-east-1:123456789012:execution:vpcfactory-build-vpc:build-1"
    (found,) = authorizations("stepfunctions", "DescribeExecution", {"executionArn": arn}, CALLER, FakeWorld())
    assert (found.action, found.resource) == ("states:DescribeExecution", arn)
