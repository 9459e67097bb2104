"""The emulator's IPv6 association and eventual consistency behave like AWS, seen through plain boto3.

Two gaps of DESIGN.md's "Where moto is kinder than AWS" table: a VPC's Amazon-provided IPv6 /56 is
``associating`` for a while before ``associated``, and a new resource's id can answer
``Invalid*ID.NotFound`` to other calls for a few seconds (EC2's eventual consistency). Plain moto
does neither, so every test here fails without the patches (fidelity.py, consistency.py).
The simulated clock runs in real time; tests move it with ``fast_forward`` (no sleeping).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from tests.integration.conftest import MOCK_CONFIG, NO_RETRIES
from vpcfactory_tools.emulator import consistency, fidelity
from vpcfactory_tools.emulator.settings import EmulatorSettings, clock, configured

STRICT = EmulatorSettings(vpc_pending_seconds=0, ipv6_associating_seconds=5, consistency_delay_seconds=3)


@pytest.fixture(scope="module", autouse=True)
def _patched_moto() -> Iterator[None]:
    installed_before = fidelity.installed(), consistency.installed()
    fidelity.install()
    consistency.install()
    yield
    if not installed_before[1]:
        consistency.uninstall()
    if not installed_before[0]:
        fidelity.uninstall()


@pytest.fixture
def ec2() -> Iterator[Any]:
    with configured(STRICT), mock_aws(config=MOCK_CONFIG):
        yield boto3.client("ec2", config=NO_RETRIES)


def fast_forward(seconds: float) -> None:
    clock().advance(seconds)


def error_of(call: Any, **kwargs: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as exc:
        call(**kwargs)
    return exc.value.response["Error"]["Code"], exc.value.response["Error"]["Message"]


def first_64(block: str) -> str:
    return str(next(ipaddress.IPv6Network(block).subnets(new_prefix=64)))


# --- IPv6 /56: associating -> associated ---------------------------------------------------------


def test_a_vpcs_amazon_provided_ipv6_block_is_associating_without_a_cidr_then_associated(ec2: Any) -> None:
    # When a VPC is created with an Amazon-provided IPv6 block
    created = ec2.create_vpc(CidrBlock="10.0.0.0/16", AmazonProvidedIpv6CidrBlock=True)["Vpc"]
    (association,) = created["Ipv6CidrBlockAssociationSet"]

    # Then CreateVpc answers it associating, with no CIDR yet (as AWS's create-vpc example shows)
    assert association["Ipv6CidrBlockState"]["State"] == "associating"
    assert association["Ipv6CidrBlock"] == ""
    assert association["AssociationId"].startswith("vpc-cidr-assoc-")

    # and DescribeVpcs too, until ipv6_associating_seconds have passed
    fast_forward(4)
    vpc = ec2.describe_vpcs(VpcIds=[created["VpcId"]])["Vpcs"][0]
    assert vpc["Ipv6CidrBlockAssociationSet"][0]["Ipv6CidrBlockState"]["State"] == "associating"

    fast_forward(1.5)
    (associated,) = ec2.describe_vpcs(VpcIds=[created["VpcId"]])["Vpcs"][0]["Ipv6CidrBlockAssociationSet"]
    assert associated["Ipv6CidrBlockState"]["State"] == "associated"
    assert ipaddress.IPv6Network(associated["Ipv6CidrBlock"]).prefixlen == 56
    assert associated["AssociationId"] == association["AssociationId"]


def test_a_subnet_cannot_take_an_ipv6_block_while_the_vpcs_block_is_associating(ec2: Any) -> None:
    vpc_id = ec2.create_vpc(CidrBlock="10.0.0.0/16", AmazonProvidedIpv6CidrBlock=True)["Vpc"]["VpcId"]
    fast_forward(3.5)  # visible, still associating

    # When a subnet asks for a /64 before the VPC's /56 is associated
    code, message = error_of(
        ec2.create_subnet, VpcId=vpc_id, CidrBlock="10.0.0.0/24", Ipv6CidrBlock="2600:1f18:aaaa:bb00::/64"
    )

    # Then it is refused as a subnet range outside the VPC's (associated) IPv6 blocks
    assert code == "InvalidSubnet.Range"
    assert "2600:1f18:aaaa:bb00::/64" in message

    # and once associated, a /64 of the /56 is accepted
    fast_forward(2)
    block = ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"][0]["Ipv6CidrBlockAssociationSet"][0]["Ipv6CidrBlock"]
    subnet = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.0.0.0/24", Ipv6CidrBlock=first_64(block))["Subnet"]
    assert subnet["Ipv6CidrBlockAssociationSet"][0]["Ipv6CidrBlock"] == first_64(block)


def test_a_subnet_ipv6_block_outside_the_vpcs_block_is_an_invalid_subnet_range(ec2: Any) -> None:
    vpc_id = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    fast_forward(3.5)

    code, _ = error_of(ec2.create_subnet, VpcId=vpc_id, CidrBlock="10.0.0.0/24", Ipv6CidrBlock="2600:1f18::/64")

    assert code == "InvalidSubnet.Range"


# --- eventual consistency --------------------------------------------------------------------------


def test_a_new_vpc_answers_invalid_vpc_id_not_found_by_id_for_the_delay_but_shows_in_a_filter(ec2: Any) -> None:
    vpc_id = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]

    # Right after CreateVpc, a call naming the VPC does not find it
    assert error_of(ec2.describe_vpcs, VpcIds=[vpc_id]) == (
        "InvalidVpcID.NotFound",
        f"The vpc ID '{vpc_id}' does not exist",
    )
    assert error_of(ec2.create_subnet, VpcId=vpc_id, CidrBlock="10.0.0.0/24")[0] == "InvalidVpcID.NotFound"
    assert error_of(ec2.modify_vpc_attribute, VpcId=vpc_id, EnableDnsHostnames={"Value": True})[0] == (
        "InvalidVpcID.NotFound"
    )
    # while a filter (not an id) simply lists it
    listed = ec2.describe_vpcs(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Vpcs"]
    assert [v["VpcId"] for v in listed] == [vpc_id]

    # After consistency_delay_seconds it is found
    fast_forward(3)
    assert ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"][0]["VpcId"] == vpc_id


def test_each_new_resource_the_build_creates_answers_its_own_not_found_code(ec2: Any) -> None:
    vpc_id = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    fast_forward(3)

    subnet_id = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.0.0.0/24")["Subnet"]["SubnetId"]
    igw_id = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    rtb_id = ec2.create_route_table(VpcId=vpc_id)["RouteTable"]["RouteTableId"]
    eip_id = ec2.allocate_address(Domain="vpc")["AllocationId"]
    eigw_id = ec2.create_egress_only_internet_gateway(VpcId=vpc_id)["EgressOnlyInternetGateway"][
        "EgressOnlyInternetGatewayId"
    ]

    # Then every call naming one of them right away answers that kind's NotFound error
    assert error_of(ec2.modify_subnet_attribute, SubnetId=subnet_id, MapPublicIpOnLaunch={"Value": True})[0] == (
        "InvalidSubnetID.NotFound"
    )
    assert error_of(ec2.attach_internet_gateway, InternetGatewayId=igw_id, VpcId=vpc_id)[0] == (
        "InvalidInternetGatewayID.NotFound"
    )
    assert error_of(ec2.associate_route_table, RouteTableId=rtb_id, SubnetId=subnet_id)[0] in (
        "InvalidRouteTableID.NotFound",
        "InvalidSubnetID.NotFound",
    )
    assert error_of(ec2.describe_route_tables, RouteTableIds=[rtb_id])[0] == "InvalidRouteTableID.NotFound"
    assert error_of(ec2.describe_addresses, AllocationIds=[eip_id])[0] == "InvalidAllocationID.NotFound"
    assert error_of(ec2.create_nat_gateway, SubnetId=subnet_id, AllocationId=eip_id)[0] == "InvalidSubnetID.NotFound"
    assert error_of(
        ec2.create_route, RouteTableId=rtb_id, DestinationIpv6CidrBlock="::/0", EgressOnlyInternetGatewayId=eigw_id
    )[0] in ("InvalidRouteTableID.NotFound", "InvalidGatewayID.NotFound")

    # and after the delay all of them work
    fast_forward(3)
    ec2.modify_subnet_attribute(SubnetId=subnet_id, MapPublicIpOnLaunch={"Value": True})
    ec2.attach_internet_gateway(InternetGatewayId=igw_id, VpcId=vpc_id)
    ec2.associate_route_table(RouteTableId=rtb_id, SubnetId=subnet_id)
    nat_id = ec2.create_nat_gateway(SubnetId=subnet_id, AllocationId=eip_id)["NatGateway"]["NatGatewayId"]

    # A new NAT gateway: DescribeNatGateways by id answers NatGatewayNotFound, a route to it
    # InvalidNatGatewayID.NotFound
    assert error_of(ec2.describe_nat_gateways, NatGatewayIds=[nat_id])[0] == "NatGatewayNotFound"
    assert error_of(ec2.create_route, RouteTableId=rtb_id, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=nat_id)[
        0
    ] == ("InvalidNatGatewayID.NotFound")
    fast_forward(3)
    assert ec2.describe_nat_gateways(NatGatewayIds=[nat_id])["NatGateways"][0]["NatGatewayId"] == nat_id


def test_without_a_consistency_delay_a_new_resource_is_visible_at_once(ec2: Any) -> None:
    with configured(EmulatorSettings(consistency_delay_seconds=0, vpc_pending_seconds=0)):
        vpc_id = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnet_id = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.0.0.0/24")["Subnet"]["SubnetId"]

        ec2.modify_subnet_attribute(SubnetId=subnet_id, MapPublicIpOnLaunch={"Value": True})
        assert ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"][0]["VpcId"] == vpc_id


def test_the_consistency_delay_must_not_be_negative() -> None:
    with pytest.raises(ValueError, match="consistency_delay_seconds must be >= 0"):
        EmulatorSettings(consistency_delay_seconds=-1)
    with pytest.raises(ValueError, match="ipv6_associating_seconds must be >= 0"):
        EmulatorSettings(ipv6_associating_seconds=-0.5)
