"""The real destroy state machine: it deletes what the factory built and nothing else."""

from __future__ import annotations

import json

from tests.workflow.owned import execution_name, tagged_with_execution


def test_destroy_removes_everything_the_build_created_and_nothing_else(emu, production_spec):
    ec2 = emu.client("ec2")
    bystander = ec2.create_vpc(CidrBlock="10.50.0.0/16")["Vpc"]["VpcId"]
    built = emu.build(production_spec)
    assert built.status == "SUCCEEDED", built.cause

    destroyed = emu.destroy(built.vpc_id)

    assert destroyed.status == "SUCCEEDED", destroyed.cause
    assert tagged_with_execution(ec2, execution_name(built)) == []
    assert not ec2.describe_vpcs(Filters=[{"Name": "vpc-id", "Values": [built.vpc_id]}])["Vpcs"]
    assert ec2.describe_vpcs(VpcIds=[bystander])["Vpcs"][0]["State"] == "available"


def test_destroy_refuses_a_vpc_the_factory_did_not_build(emu):
    ec2 = emu.client("ec2")
    foreign = ec2.create_vpc(CidrBlock="10.60.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=foreign, CidrBlock="10.60.1.0/24")["Subnet"]["SubnetId"]

    result = emu.destroy(foreign)

    assert result.status == "FAILED"
    assert result.error == "NotOwnedByFactory"
    assert ec2.describe_vpcs(VpcIds=[foreign])["Vpcs"]
    assert ec2.describe_subnets(SubnetIds=[subnet])["Subnets"]


def test_destroy_of_a_vpc_that_does_not_exist_fails_with_vpc_not_found_and_deletes_nothing(emu):
    ec2 = emu.client("ec2")
    before = sorted(v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"])

    result = emu.destroy("vpc-0123456789abcdef0")

    assert (result.status, result.error) == ("FAILED", "VpcNotFound")
    assert json.loads(result.cause)["errorMessage"].startswith("vpc-0123456789abcdef0 does not exist")
    assert result.as_contract()["message"].endswith("nothing was deleted")
    assert sorted(v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"]) == before


def test_destroy_of_a_malformed_vpc_id_is_invalid_input(emu):
    result = emu.destroy("vpc-x")

    assert (result.status, result.error) == ("FAILED", "InvalidSpec")


def test_a_cloudformation_delete_of_a_vpc_already_gone_still_succeeds(emu):
    # the custom resource's Delete starts the destroy with `cfn`: Delete must be idempotent
    payload = {"vpcId": "vpc-0123456789abcdef0", "cfn": {"requestId": "r-1", "requestType": "Delete"}}

    result = emu.run(emu.stack.destroy_arn, payload, name="cfn-delete-gone")

    assert result.status == "SUCCEEDED", result.cause


def test_destroy_keeps_a_subnet_someone_else_added_and_reports_what_is_left(emu, seed_spec):
    # Given a factory VPC into which someone added their own (untagged) subnet
    ec2 = emu.client("ec2")
    built = emu.build(seed_spec)
    assert built.status == "SUCCEEDED", built.cause
    theirs = ec2.create_subnet(VpcId=built.vpc_id, CidrBlock="10.0.200.0/24")["Subnet"]["SubnetId"]

    # When the VPC is destroyed
    result = emu.destroy(built.vpc_id)

    # Then their subnet survives, the destroy fails, and its cause lists what is left
    assert result.status == "FAILED"
    assert result.error == "DestroyIncomplete"
    assert ec2.describe_subnets(SubnetIds=[theirs])["Subnets"]
    report = json.loads(result.cause)
    assert [left["type"] for left in report["leftovers"]] == ["vpc"]
    assert "DependencyViolation" in json.dumps(report["teardownError"])
    assert tagged_with_execution(ec2, execution_name(built)) == [built.vpc_id]
