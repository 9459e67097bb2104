"""EC2's eventual consistency as the handlers see it: a NotFound about an id the build just created
(or was given) is ResourceNotYetVisible, retried by the workflow; anything else stays an error."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from vpcfactory import aws
from vpcfactory.errors import AwsCallFailed, Ipv6AssociationFailed, ResourceNotYetVisible
from vpcfactory.network import Build

SUBNET = "subnet-0123456789abcdef0"
EIP = "eipalloc-0123456789abcdef0"


@pytest.fixture
def ec2():
    client = boto3.client("ec2", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stub:
        yield client, stub
    aws.forget_fresh()


def test_a_not_found_about_a_new_id_is_resource_not_yet_visible_and_names_the_id(ec2):
    client, stub = ec2
    aws.forget_fresh()
    aws.expect_fresh({"eips": {"eip/a": EIP}, "subnets": {"subnet/public/a": {"subnetId": SUBNET}}})
    stub.add_client_error(
        "create_nat_gateway", "InvalidAllocationID.NotFound", f"The allocation ID '{EIP}' does not exist"
    )

    with pytest.raises(ResourceNotYetVisible) as exc:
        aws.call("CreateNatGateway", client.create_nat_gateway, SubnetId=SUBNET, AllocationId=EIP)

    assert exc.value.resource_id == EIP and exc.value.code == "InvalidAllocationID.NotFound"
    assert f"{EIP} does not exist in this account and Region" in str(exc.value)


def test_a_not_found_about_an_id_nobody_declared_new_stays_ec2_call_failed(ec2):
    client, stub = ec2
    aws.forget_fresh()
    aws.expect_fresh(SUBNET)
    stub.add_client_error(
        "create_nat_gateway", "InvalidAllocationID.NotFound", f"The allocation ID '{EIP}' does not exist"
    )

    with pytest.raises(AwsCallFailed) as exc:
        aws.call("CreateNatGateway", client.create_nat_gateway, SubnetId=SUBNET, AllocationId=EIP)

    assert type(exc.value) is AwsCallFailed


def test_in_teardown_missing_ok_still_means_gone(ec2):
    client, stub = ec2
    aws.expect_fresh(SUBNET)
    stub.add_client_error("delete_subnet", "InvalidSubnetID.NotFound", f"The subnet ID '{SUBNET}' does not exist")

    assert aws.call("DeleteSubnet", client.delete_subnet, missing_ok=True, SubnetId=SUBNET) is None


def _vpc(state: str, block: str = "", message: str | None = None) -> dict:
    ipv6_state = {"State": state, **({"StatusMessage": message} if message else {})}
    return {
        "VpcId": "vpc-0123456789abcdef0",
        "State": "available",
        "Ipv6CidrBlockAssociationSet": [
            {"AssociationId": "vpc-cidr-assoc-1", "Ipv6CidrBlock": block, "Ipv6CidrBlockState": ipv6_state}
        ],
    }


def test_a_dual_stack_vpc_is_ready_only_once_its_ipv6_block_is_associated():
    build = Build({"ipv6": True}, "exec", ec2=object())

    assert build.vpc_readiness(_vpc("associating")) != "available"
    assert build.vpc_readiness(_vpc("associated", "2600:1f18:1:2300::/56")) == "available"
    assert Build({"ipv6": False}, "exec", ec2=object()).vpc_readiness(_vpc("associating")) == "available"


def test_an_ipv6_association_that_failed_ends_the_wait_with_its_status_message():
    build = Build({"ipv6": True}, "exec", ec2=object())

    with pytest.raises(Ipv6AssociationFailed, match="failed: no IPv6 addresses left"):
        build.vpc_readiness(_vpc("failed", message="no IPv6 addresses left"))


def test_a_retried_create_subnets_treats_the_subnet_its_earlier_attempt_made_as_new(ec2):
    # Given a first attempt that created the subnet (found again by its tags) which EC2 does not
    # know by id yet: the attribute change must be retried, not fail the build
    client, stub = ec2
    aws.forget_fresh()
    plan = {
        "name": "net",
        "subnets": [
            {
                "logicalId": "subnet/public/a",
                "cidr": "10.0.0.0/24",
                "az": "us-east-1a",
                "tier": "public",
                "name": "net-public-a",
                "mapPublicIpOnLaunch": True,
            },
        ],
    }
    tags = [
        {"Key": "vpcfactory:vpc", "Value": "net"},
        {"Key": "vpcfactory:execution", "Value": "build-1"},
        {"Key": "vpcfactory:logical-id", "Value": "subnet/public/a"},
    ]
    found = {
        "SubnetId": SUBNET,
        "CidrBlock": "10.0.0.0/24",
        "AvailabilityZone": "us-east-1a",
        "Tags": tags,
        "MapPublicIpOnLaunch": False,
    }
    stub.add_response("describe_subnets", {"Subnets": [found]})
    stub.add_client_error(
        "modify_subnet_attribute", "InvalidSubnetID.NotFound", f"The subnet ID '{SUBNET}' does not exist"
    )

    with pytest.raises(ResourceNotYetVisible) as exc:
        Build(plan, "build-1", ec2=client).create_subnets("vpc-0123456789abcdef0")

    assert exc.value.resource_id == SUBNET
