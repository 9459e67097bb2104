"""The target account's flow-logs delivery role is found or created idempotently, survives a
concurrent creator and a creator that died half-way, and someone's own role of that name is used
as it is, never modified."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from vpcfactory import aws, safeguards

TARGET = {"accountId": "111111111111", "region": "us-east-1", "roleName": "AWSControlTowerExecution"}
ROLE = safeguards.FLOW_LOGS_DELIVERY_ROLE
ARN = f"arn:aws:iam::111111111111:role/{ROLE}"


@pytest.fixture
def iam_there(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(key, value)
    with mock_aws(config={"core": {"reset_boto3_session": False}}):
        aws.reset_clients()
        aws.use_target(TARGET, "test-execution")
        yield aws.client("iam")
        aws.use_target(None)
        aws.reset_clients()


def test_the_role_is_created_once_and_found_afterwards(iam_there: Any) -> None:
    assert safeguards.flow_logs_delivery_role("arn:aws:iam::123456789012:role/factory") == ARN
    role_id = iam_there.get_role(RoleName=ROLE)["Role"]["RoleId"]

    assert safeguards.flow_logs_delivery_role("arn:aws:iam::123456789012:role/factory") == ARN
    assert iam_there.get_role(RoleName=ROLE)["Role"]["RoleId"] == role_id
    # the factory's own account has nothing of it
    assert ROLE not in {r["RoleName"] for r in boto3.client("iam").list_roles()["Roles"]}


def test_in_the_factory_account_the_template_role_is_used_and_iam_is_not_called(iam_there: Any) -> None:
    aws.use_target(None)

    assert safeguards.flow_logs_delivery_role("arn:aws:iam::123456789012:role/factory") == (
        "arn:aws:iam::123456789012:role/factory"
    )
    aws.use_target(TARGET)
    assert ROLE not in {r["RoleName"] for r in iam_there.list_roles()["Roles"]}


def test_a_concurrent_create_answering_entity_already_exists_is_success(
    iam_there: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    trust, _ = safeguards.delivery_role_documents("111111111111", "us-east-1")
    real_get_role = iam_there.get_role
    calls = {"get": 0}

    def get_role_racing(**kwargs: Any) -> Any:
        # Our GetRole answers NoSuchEntity; another build creates the role just after it.
        calls["get"] += 1
        answer = real_get_role(**kwargs) if calls["get"] > 1 else None
        if answer is None:
            iam_there.create_role(RoleName=ROLE, AssumeRolePolicyDocument=json.dumps(trust))
            raise iam_there.exceptions.NoSuchEntityException(
                {"Error": {"Code": "NoSuchEntity", "Message": "not found"}}, "GetRole"
            )
        return answer

    monkeypatch.setattr(iam_there, "get_role", get_role_racing)

    assert safeguards.ensure_target_delivery_role("111111111111", "us-east-1") == ARN
    assert len([r for r in iam_there.list_roles()["Roles"] if r["RoleName"] == ROLE]) == 1


def test_a_role_left_without_its_policy_by_a_crashed_build_gets_it(iam_there: Any) -> None:
    safeguards.ensure_target_delivery_role("111111111111", "us-east-1")
    iam_there.delete_role_policy(RoleName=ROLE, PolicyName=safeguards.FLOW_LOGS_DELIVERY_POLICY)

    safeguards.ensure_target_delivery_role("111111111111", "us-east-1")

    policy = iam_there.get_role_policy(RoleName=ROLE, PolicyName=safeguards.FLOW_LOGS_DELIVERY_POLICY)
    assert policy["PolicyDocument"]["Statement"][0]["Resource"] == "arn:aws:logs:*:111111111111:log-group:*"


def test_someone_elses_role_of_that_name_is_used_but_never_modified(iam_there: Any) -> None:
    iam_there.create_role(RoleName=ROLE, AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17"}))

    assert safeguards.ensure_target_delivery_role("111111111111", "us-east-1") == ARN
    assert iam_there.list_role_policies(RoleName=ROLE)["PolicyNames"] == []


def test_in_a_china_region_every_arn_is_in_the_aws_cn_partition() -> None:
    trust, policy = safeguards.delivery_role_documents("111111111111", "cn-north-1")

    assert trust["Statement"][0]["Condition"]["ArnLike"]["aws:SourceArn"] == (
        "arn:aws-cn:ec2:*:111111111111:vpc-flow-log/*"
    )
    assert policy["Statement"][0]["Resource"] == "arn:aws-cn:logs:*:111111111111:log-group:*"
