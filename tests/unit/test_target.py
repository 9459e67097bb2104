"""The `target` of a cross-account build (aws.normalize_target): checked like the spec, before any call."""

from __future__ import annotations

import pytest

from vpcfactory.aws import normalize_target
from vpcfactory.errors import InvalidSpec


def test_a_target_without_a_role_name_uses_the_stacks_default_role():
    target = normalize_target({"accountId": "111111111111", "region": "eu-west-1"}, "AWSAFTExecution")
    assert target == {"accountId": "111111111111", "region": "eu-west-1", "roleName": "AWSAFTExecution"}


def test_a_role_the_functions_may_not_assume_is_refused_naming_the_parameter_to_change():
    # CrossAccountPolicy allows sts:AssumeRole on DefaultTargetRoleName only: on AWS any other role
    # is denied at AssumeRole, after the build started. Refused up front instead.
    with pytest.raises(InvalidSpec) as refused:
        normalize_target(
            {"accountId": "111111111111", "roleName": "OrganizationAccountAccessRole"}, "AWSControlTowerExecution"
        )
    assert refused.value.field == "target.roleName"
    assert "DefaultTargetRoleName=OrganizationAccountAccessRole" in str(refused.value)


def test_naming_the_default_role_explicitly_is_fine():
    target = normalize_target(
        {"accountId": "111111111111", "roleName": "AWSControlTowerExecution"}, "AWSControlTowerExecution"
    )
    assert target["roleName"] == "AWSControlTowerExecution"
