"""The emulator's moto patches reproduce AWS behaviour, seen through plain boto3.

Each test drives moto the way our handlers do (boto3 inside ``mock_aws``) and asserts the
AWS behaviour from DESIGN.md's "Where moto is kinder than AWS" table, with exact error
codes. Timed states use a tiny time scale (1 simulated second = 1 real millisecond).
"""

from __future__ import annotations

import copy
import json
import re
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import boto3
import moto
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.server import ThreadedMotoServer

from tests.integration.conftest import MOCK_CONFIG, NO_RETRIES, REGION
from vpcfactory_tools.emulator import engine_time, fidelity, patching
from vpcfactory_tools.emulator.settings import EmulatorSettings, clock, configured

# total_max_attempts=1: no retry at all. (botocore's ``max_attempts`` counts *retries*,
# so ``{"max_attempts": 1}`` would still retry a 5xx once and hide it.)
# AWS-like durations on a real-time clock: states only move when a test moves the
# simulated clock forward with ``fast_forward`` (deterministic, no sleeping, no races).
AWS_LIKE = EmulatorSettings(
    time_scale=1.0,
    vpc_pending_seconds=30,
    nat_pending_seconds=90,
    nat_deleting_seconds=60,
    nat_failure_seconds=5,
)
# For the Step Functions engine, which really sleeps: 1 simulated second = 1 ms.
FAST_ENGINE = EmulatorSettings(time_scale=0.001)


@pytest.fixture(scope="module", autouse=True)
def _patched_moto() -> Iterator[None]:
    installed_before = fidelity.installed(), engine_time.installed()
    fidelity.install()
    engine_time.install()
    yield
    if not installed_before[1]:
        engine_time.uninstall()
    if not installed_before[0]:
        fidelity.uninstall()


@pytest.fixture(autouse=True)
def _fast_settings() -> Iterator[None]:
    with configured(AWS_LIKE):
        yield


# Reusing boto3's default session makes a client ~10 ms instead of ~400 ms.


def fast_forward(seconds: float) -> None:
    clock().advance(seconds)


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


def nat_of(ec2: Any, nat_id: str) -> dict[str, Any]:
    return ec2.describe_nat_gateways(NatGatewayIds=[nat_id])["NatGateways"][0]


def vpc_with_public_subnet(ec2: Any, igw: bool = True) -> tuple[str, str, str | None]:
    vpc_id = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet_id = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.0.0.0/24")["Subnet"]["SubnetId"]
    igw_id = None
    if igw:
        igw_id = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
        ec2.attach_internet_gateway(InternetGatewayId=igw_id, VpcId=vpc_id)
    return vpc_id, subnet_id, igw_id


def public_nat(ec2: Any, subnet_id: str, **kwargs: Any) -> tuple[str, str]:
    allocation_id = ec2.allocate_address(Domain="vpc")["AllocationId"]
    nat = ec2.create_nat_gateway(SubnetId=subnet_id, AllocationId=allocation_id, **kwargs)
    return nat["NatGateway"]["NatGatewayId"], allocation_id


def error_code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return exc.value.response["Error"]["Code"]


# --- 1. VPC pending -> available ----------------------------------------------------------


def test_a_new_vpc_is_pending_then_available(ec2: Any) -> None:
    created = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]
    vpc_id = created["VpcId"]

    assert created["State"] == "pending"
    assert ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"][0]["State"] == "pending"
    pending = ec2.describe_vpcs(Filters=[{"Name": "state", "Values": ["pending"]}])["Vpcs"]
    assert [vpc["VpcId"] for vpc in pending] == [vpc_id]

    fast_forward(30)
    assert ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"][0]["State"] == "available"
    available = ec2.describe_vpcs(Filters=[{"Name": "state", "Values": ["available"]}])["Vpcs"]
    assert vpc_id in [vpc["VpcId"] for vpc in available]


def test_the_pre_made_default_vpc_is_available_at_once(ec2: Any) -> None:
    default = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]

    assert [vpc["State"] for vpc in default] == ["available"]


# --- 2. NAT gateway lifecycle --------------------------------------------------------------


def test_a_nat_gateway_is_pending_then_available_and_the_state_filter_follows(ec2: Any) -> None:
    _, subnet_id, _ = vpc_with_public_subnet(ec2)
    allocation_id = ec2.allocate_address(Domain="vpc")["AllocationId"]

    created = ec2.create_nat_gateway(SubnetId=subnet_id, AllocationId=allocation_id)["NatGateway"]
    nat_id = created["NatGatewayId"]

    assert created["State"] == "pending"
    assert created["ConnectivityType"] == "public"
    assert nat_of(ec2, nat_id)["State"] == "pending"
    by_state = ec2.describe_nat_gateways(Filters=[{"Name": "state", "Values": ["pending"]}])
    assert [nat["NatGatewayId"] for nat in by_state["NatGateways"]] == [nat_id]
    assert ec2.describe_nat_gateways(Filters=[{"Name": "state", "Values": ["available"]}])["NatGateways"] == []

    fast_forward(90)
    assert nat_of(ec2, nat_id)["State"] == "available"
    by_state = ec2.describe_nat_gateways(Filters=[{"Name": "state", "Values": ["available"]}])
    assert [nat["NatGatewayId"] for nat in by_state["NatGateways"]] == [nat_id]
    assert "FailureCode" not in nat_of(ec2, nat_id)


def test_describe_nat_gateways_honours_tag_filters(ec2: Any) -> None:
    _, subnet_id, _ = vpc_with_public_subnet(ec2)

    def tagged(value: str) -> str:
        spec = [{"ResourceType": "natgateway", "Tags": [{"Key": "vpcfactory:execution", "Value": value}]}]
        return public_nat(ec2, subnet_id, TagSpecifications=spec)[0]

    mine, theirs = tagged("mine"), tagged("theirs")

    def found(filters: list[dict[str, Any]]) -> list[str]:
        return [n["NatGatewayId"] for n in ec2.describe_nat_gateways(Filters=filters)["NatGateways"]]

    assert found([{"Name": "tag:vpcfactory:execution", "Values": ["mine"]}]) == [mine]
    assert found([{"Name": "tag:vpcfactory:execution", "Values": ["nobody"]}]) == []
    assert sorted(found([{"Name": "tag-key", "Values": ["vpcfactory:execution"]}])) == sorted([mine, theirs])


def test_a_nat_gateway_can_be_made_to_fail_with_a_given_failure_code(ec2: Any) -> None:
    _, subnet_id, _ = vpc_with_public_subnet(ec2)
    with configured(replace(AWS_LIKE, nat_failure_code="InsufficientFreeAddressesInSubnet")):
        nat_id, _ = public_nat(ec2, subnet_id)

    assert nat_of(ec2, nat_id)["State"] == "pending"
    fast_forward(AWS_LIKE.nat_failure_seconds)
    nat = nat_of(ec2, nat_id)
    assert nat["State"] == "failed"
    assert nat["FailureCode"] == "InsufficientFreeAddressesInSubnet"


def test_a_public_nat_gateway_in_a_vpc_without_internet_gateway_fails_with_gateway_not_attached(
    ec2: Any,
) -> None:
    vpc_id, subnet_id, _ = vpc_with_public_subnet(ec2, igw=False)
    allocation_id = ec2.allocate_address(Domain="vpc")["AllocationId"]

    created = ec2.create_nat_gateway(SubnetId=subnet_id, AllocationId=allocation_id)["NatGateway"]
    nat_id = created["NatGatewayId"]

    # AWS accepts the request and reports the failure a little later.
    assert created["State"] == "pending"
    fast_forward(5)
    assert nat_of(ec2, nat_id)["State"] == "failed"
    failed = nat_of(ec2, nat_id)
    assert failed["FailureCode"] == "Gateway.NotAttached"
    assert failed["FailureMessage"] == f"Network {vpc_id} has no Internet gateway attached"
    # A failed NAT gateway keeps no address mapping: its EIP can be released.
    ec2.release_address(AllocationId=allocation_id)


def test_a_nat_gateway_fails_if_its_vpc_has_no_internet_gateway_when_it_would_become_available(
    ec2: Any,
) -> None:
    # Given a NAT gateway created while the VPC had an IGW (no EIP, so the IGW can go)
    vpc_id, subnet_id, igw_id = vpc_with_public_subnet(ec2)
    nat_id = ec2.create_nat_gateway(SubnetId=subnet_id)["NatGateway"]["NatGatewayId"]
    # When the IGW is detached before the NAT gateway is ready
    ec2.detach_internet_gateway(InternetGatewayId=igw_id, VpcId=vpc_id)
    # Then it fails instead of becoming available
    fast_forward(85)
    assert nat_of(ec2, nat_id)["State"] == "pending"
    fast_forward(5)
    assert nat_of(ec2, nat_id)["State"] == "failed"
    assert nat_of(ec2, nat_id)["FailureCode"] == "Gateway.NotAttached"


def test_deleting_a_nat_gateway_goes_deleting_then_deleted_and_only_then_frees_its_eip_and_eni(
    ec2: Any,
) -> None:
    _, subnet_id, _ = vpc_with_public_subnet(ec2)
    nat_id, allocation_id = public_nat(ec2, subnet_id)
    fast_forward(90)
    assert nat_of(ec2, nat_id)["State"] == "available"
    eni_id = nat_of(ec2, nat_id)["NatGatewayAddresses"][0]["NetworkInterfaceId"]

    ec2.delete_nat_gateway(NatGatewayId=nat_id)

    assert nat_of(ec2, nat_id)["State"] == "deleting"
    address = ec2.describe_addresses(AllocationIds=[allocation_id])["Addresses"][0]
    assert address["NetworkInterfaceId"] == eni_id
    assert "AssociationId" in address
    assert ec2.describe_network_interfaces(NetworkInterfaceIds=[eni_id])["NetworkInterfaces"]

    fast_forward(60)
    assert nat_of(ec2, nat_id)["State"] == "deleted"
    address = ec2.describe_addresses(AllocationIds=[allocation_id])["Addresses"][0]
    assert "AssociationId" not in address
    assert not address.get("NetworkInterfaceId")  # moto reports "" where AWS omits it
    interfaces = ec2.describe_network_interfaces()["NetworkInterfaces"]
    assert eni_id not in [eni["NetworkInterfaceId"] for eni in interfaces]
    assert "DeleteTime" in nat_of(ec2, nat_id)
    by_state = ec2.describe_nat_gateways(Filters=[{"Name": "state", "Values": ["deleted"]}])
    assert [nat["NatGatewayId"] for nat in by_state["NatGateways"]] == [nat_id]


def test_deleting_a_failed_nat_gateway_makes_it_deleted_at_once(ec2: Any) -> None:
    _, subnet_id, _ = vpc_with_public_subnet(ec2, igw=False)
    nat_id, _ = public_nat(ec2, subnet_id)
    fast_forward(5)
    assert nat_of(ec2, nat_id)["State"] == "failed"

    ec2.delete_nat_gateway(NatGatewayId=nat_id)

    assert nat_of(ec2, nat_id)["State"] == "deleted"


def test_deleting_a_nat_gateway_again_while_deleting_changes_nothing(ec2: Any) -> None:
    _, subnet_id, _ = vpc_with_public_subnet(ec2)
    nat_id, _ = public_nat(ec2, subnet_id)
    ec2.delete_nat_gateway(NatGatewayId=nat_id)
    fast_forward(30)
    ec2.delete_nat_gateway(NatGatewayId=nat_id)

    fast_forward(30)  # 60 s after the first DeleteNatGateway: the second did not restart it
    assert nat_of(ec2, nat_id)["State"] == "deleted"


def test_deleting_an_unknown_nat_gateway_is_nat_gateway_not_found(ec2: Any) -> None:
    with pytest.raises(ClientError) as exc:
        ec2.delete_nat_gateway(NatGatewayId="nat-0123456789abcdef0")

    assert error_code(exc) == "NatGatewayNotFound"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


# --- 3. ClientToken --------------------------------------------------------------------------


def test_the_same_client_token_and_parameters_return_the_same_nat_gateway(ec2: Any) -> None:
    _, subnet_id, _ = vpc_with_public_subnet(ec2)
    allocation_id = ec2.allocate_address(Domain="vpc")["AllocationId"]
    request = {"SubnetId": subnet_id, "AllocationId": allocation_id, "ClientToken": "build-1-nat-a"}

    first = ec2.create_nat_gateway(**request)
    again = ec2.create_nat_gateway(**request)

    assert again["NatGateway"]["NatGatewayId"] == first["NatGateway"]["NatGatewayId"]
    assert again["ClientToken"] == "build-1-nat-a"
    assert len(ec2.describe_nat_gateways()["NatGateways"]) == 1


def test_the_same_client_token_with_other_parameters_is_idempotent_parameter_mismatch(
    ec2: Any,
) -> None:
    _, subnet_id, _ = vpc_with_public_subnet(ec2)
    allocation_id = ec2.allocate_address(Domain="vpc")["AllocationId"]
    ec2.create_nat_gateway(SubnetId=subnet_id, AllocationId=allocation_id, ClientToken="tok")
    other_allocation = ec2.allocate_address(Domain="vpc")["AllocationId"]

    with pytest.raises(ClientError) as exc:
        ec2.create_nat_gateway(SubnetId=subnet_id, AllocationId=other_allocation, ClientToken="tok")

    assert error_code(exc) == "IdempotentParameterMismatch"
    assert len(ec2.describe_nat_gateways()["NatGateways"]) == 1


def test_different_client_tokens_create_different_nat_gateways(ec2: Any) -> None:
    _, subnet_id, _ = vpc_with_public_subnet(ec2)

    first, _ = public_nat(ec2, subnet_id, ClientToken="a")
    second, _ = public_nat(ec2, subnet_id, ClientToken="b")

    assert first != second


def _route_tables_in(ec2: Any, vpc_id: str) -> list[str]:
    tables = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["RouteTables"]
    return sorted(t["RouteTableId"] for t in tables if not any(a.get("Main") for a in t.get("Associations") or []))


def _same_token_twice_creates(ec2: Any) -> tuple[str, str, list[str]]:
    vpc_id = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    request = {"VpcId": vpc_id, "ClientToken": "build-1-rtb-private"}
    first = ec2.create_route_table(**request)["RouteTable"]["RouteTableId"]
    again = ec2.create_route_table(**request)["RouteTable"]["RouteTableId"]
    return first, again, _route_tables_in(ec2, vpc_id)


def test_the_same_client_token_and_parameters_return_the_same_route_table(ec2: Any) -> None:
    first, again, tables = _same_token_twice_creates(ec2)

    assert again == first
    assert tables == [first]


def test_on_plain_moto_the_same_route_table_client_token_creates_a_second_table() -> None:
    # What the patch changes (moto 5.2.5): the token is ignored.
    fidelity.uninstall()
    try:
        with mock_aws(config=MOCK_CONFIG):
            first, again, tables = _same_token_twice_creates(boto3.client("ec2", config=NO_RETRIES))
            assert again != first and tables == sorted([first, again])
    finally:
        fidelity.install()


def test_the_same_route_table_client_token_with_other_parameters_is_idempotent_parameter_mismatch(
    ec2: Any,
) -> None:
    vpc_id = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    other_vpc = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    ec2.create_route_table(VpcId=vpc_id, ClientToken="tok")

    with pytest.raises(ClientError) as exc:
        ec2.create_route_table(VpcId=other_vpc, ClientToken="tok")

    assert error_code(exc) == "IdempotentParameterMismatch"
    assert _route_tables_in(ec2, other_vpc) == []


def test_a_route_table_repeated_by_token_answers_with_what_it_holds_now(ec2: Any) -> None:
    # "the result might contain updated information": the associations made since
    vpc_id, subnet_id, _ = vpc_with_public_subnet(ec2)
    table = ec2.create_route_table(VpcId=vpc_id, ClientToken="t")["RouteTable"]["RouteTableId"]
    ec2.associate_route_table(RouteTableId=table, SubnetId=subnet_id)

    again = ec2.create_route_table(VpcId=vpc_id, ClientToken="t")

    assert again["ClientToken"] == "t"
    assert [a["SubnetId"] for a in again["RouteTable"]["Associations"]] == [subnet_id]


def _associate_twice(ec2: Any, second_table: bool) -> Any:
    vpc_id, subnet_id, _ = vpc_with_public_subnet(ec2)
    tables = [ec2.create_route_table(VpcId=vpc_id)["RouteTable"]["RouteTableId"] for _ in range(2)]
    ec2.associate_route_table(RouteTableId=tables[0], SubnetId=subnet_id)
    return ec2.associate_route_table(RouteTableId=tables[1 if second_table else 0], SubnetId=subnet_id)


@pytest.mark.parametrize("second_table", [False, True], ids=["the-same-table", "another-table"])
def test_associating_a_subnet_that_already_has_an_association_is_resource_already_associated(
    ec2: Any, second_table: bool
) -> None:
    with pytest.raises(ClientError) as exc:
        _associate_twice(ec2, second_table)

    assert error_code(exc) == "Resource.AlreadyAssociated"
    assert "conflicts with an existing association" in exc.value.response["Error"]["Message"]


def test_on_plain_moto_associating_an_associated_subnet_again_answers_the_old_association() -> None:
    fidelity.uninstall()
    try:
        with mock_aws(config=MOCK_CONFIG):
            answer = _associate_twice(boto3.client("ec2", config=NO_RETRIES), second_table=True)
            assert answer["AssociationId"].startswith("rtbassoc-")
    finally:
        fidelity.install()


def test_a_repeated_route_is_route_already_exists_even_to_the_same_target(ec2: Any) -> None:
    # AWS and moto alike (no patch): CreateRoute is not idempotent.
    vpc_id, _, igw_id = vpc_with_public_subnet(ec2)
    table = ec2.create_route_table(VpcId=vpc_id)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw_id)

    with pytest.raises(ClientError) as exc:
        ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw_id)

    assert error_code(exc) == "RouteAlreadyExists"


def test_a_repeated_subnet_is_invalid_subnet_conflict(ec2: Any) -> None:
    # AWS and moto alike (no patch): "The CIDR '...' conflicts with another subnet".
    vpc_id = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.0.1.0/24", AvailabilityZone="us-east-1a")

    with pytest.raises(ClientError) as exc:
        ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.0.1.0/24", AvailabilityZone="us-east-1a")

    assert error_code(exc) == "InvalidSubnet.Conflict"


# --- 4.-8. Dependency and existence checks ---------------------------------------------------


def test_detaching_the_internet_gateway_while_a_nat_gateway_maps_an_eip_is_a_dependency_violation(
    ec2: Any,
) -> None:
    vpc_id, subnet_id, igw_id = vpc_with_public_subnet(ec2)
    nat_id, _ = public_nat(ec2, subnet_id)
    fast_forward(90)
    assert nat_of(ec2, nat_id)["State"] == "available"

    with pytest.raises(ClientError) as exc:
        ec2.detach_internet_gateway(InternetGatewayId=igw_id, VpcId=vpc_id)

    assert error_code(exc) == "DependencyViolation"
    assert "has some mapped public address(es)" in exc.value.response["Error"]["Message"]
    # While deleting, the address is still mapped; once deleted, the detach succeeds.
    ec2.delete_nat_gateway(NatGatewayId=nat_id)
    with pytest.raises(ClientError) as exc:
        ec2.detach_internet_gateway(InternetGatewayId=igw_id, VpcId=vpc_id)
    assert error_code(exc) == "DependencyViolation"
    fast_forward(60)
    assert nat_of(ec2, nat_id)["State"] == "deleted"
    ec2.detach_internet_gateway(InternetGatewayId=igw_id, VpcId=vpc_id)


def test_releasing_an_eip_held_by_a_nat_gateway_that_is_not_deleted_is_in_use(ec2: Any) -> None:
    _, subnet_id, _ = vpc_with_public_subnet(ec2)
    nat_id, allocation_id = public_nat(ec2, subnet_id)

    for expected_state in ("pending", "deleting"):
        assert nat_of(ec2, nat_id)["State"] == expected_state
        with pytest.raises(ClientError) as exc:
            ec2.release_address(AllocationId=allocation_id)
        assert error_code(exc) == "InvalidIPAddress.InUse"
        ec2.delete_nat_gateway(NatGatewayId=nat_id)

    fast_forward(60)
    assert nat_of(ec2, nat_id)["State"] == "deleted"
    ec2.release_address(AllocationId=allocation_id)
    assert ec2.describe_addresses()["Addresses"] == []


def test_deleting_a_subnet_that_holds_a_nat_gateway_is_a_dependency_violation(ec2: Any) -> None:
    _, subnet_id, _ = vpc_with_public_subnet(ec2)
    nat_id, _ = public_nat(ec2, subnet_id)

    with pytest.raises(ClientError) as exc:
        ec2.delete_subnet(SubnetId=subnet_id)

    assert error_code(exc) == "DependencyViolation"
    ec2.delete_nat_gateway(NatGatewayId=nat_id)
    with pytest.raises(ClientError) as exc:
        ec2.delete_subnet(SubnetId=subnet_id)
    assert error_code(exc) == "DependencyViolation"
    fast_forward(60)
    assert nat_of(ec2, nat_id)["State"] == "deleted"
    ec2.delete_subnet(SubnetId=subnet_id)


def test_attaching_a_second_internet_gateway_to_a_vpc_is_resource_already_associated(
    ec2: Any,
) -> None:
    vpc_id, _, first_igw = vpc_with_public_subnet(ec2)
    second_igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]

    with pytest.raises(ClientError) as exc:
        ec2.attach_internet_gateway(InternetGatewayId=second_igw, VpcId=vpc_id)

    assert error_code(exc) == "Resource.AlreadyAssociated"
    attached = ec2.describe_internet_gateways(Filters=[{"Name": "attachment.vpc-id", "Values": [vpc_id]}])[
        "InternetGateways"
    ]
    assert [igw["InternetGatewayId"] for igw in attached] == [first_igw]


def test_attaching_an_internet_gateway_to_an_unknown_vpc_is_still_invalid_vpc_id(ec2: Any) -> None:
    igw_id = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]

    with pytest.raises(ClientError) as exc:
        ec2.attach_internet_gateway(InternetGatewayId=igw_id, VpcId="vpc-0123456789abcdef0")

    assert error_code(exc) == "InvalidVpcID.NotFound"


def test_a_route_to_a_nat_gateway_that_does_not_exist_is_invalid_nat_gateway_id_not_found(
    ec2: Any,
) -> None:
    vpc_id, subnet_id, _ = vpc_with_public_subnet(ec2)
    route_table_id = ec2.create_route_table(VpcId=vpc_id)["RouteTable"]["RouteTableId"]

    with pytest.raises(ClientError) as exc:
        ec2.create_route(
            RouteTableId=route_table_id,
            DestinationCidrBlock="0.0.0.0/0",
            NatGatewayId="nat-0123456789abcdef0",
        )
    assert error_code(exc) == "InvalidNatGatewayID.NotFound"

    # A real NAT gateway is accepted, and ReplaceRoute checks the same way.
    nat_id, _ = public_nat(ec2, subnet_id)
    ec2.create_route(RouteTableId=route_table_id, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=nat_id)
    with pytest.raises(ClientError) as exc:
        ec2.replace_route(
            RouteTableId=route_table_id,
            DestinationCidrBlock="0.0.0.0/0",
            NatGatewayId="nat-0123456789abcdef0",
        )
    assert error_code(exc) == "InvalidNatGatewayID.NotFound"


def test_a_route_to_a_deleted_nat_gateway_is_invalid_nat_gateway_id_not_found(ec2: Any) -> None:
    vpc_id, subnet_id, _ = vpc_with_public_subnet(ec2, igw=False)
    route_table_id = ec2.create_route_table(VpcId=vpc_id)["RouteTable"]["RouteTableId"]
    nat_id, _ = public_nat(ec2, subnet_id)
    fast_forward(5)
    assert nat_of(ec2, nat_id)["State"] == "failed"
    ec2.delete_nat_gateway(NatGatewayId=nat_id)

    with pytest.raises(ClientError) as exc:
        ec2.create_route(RouteTableId=route_table_id, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=nat_id)

    assert error_code(exc) == "InvalidNatGatewayID.NotFound"


def test_a_route_in_an_unknown_route_table_is_still_invalid_route_table_id(ec2: Any) -> None:
    with pytest.raises(ClientError) as exc:
        ec2.create_route(
            RouteTableId="rtb-0123456789abcdef0",
            DestinationCidrBlock="0.0.0.0/0",
            NatGatewayId="nat-0123456789abcdef0",
        )

    assert error_code(exc) == "InvalidRouteTableID.NotFound"


# --- 9. Default security group ---------------------------------------------------------------


def test_the_default_security_group_allows_all_traffic_from_itself_and_to_anywhere(ec2: Any) -> None:
    vpc_id = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]

    group = ec2.describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "group-name", "Values": ["default"]}]
    )["SecurityGroups"][0]

    assert [
        (p["IpProtocol"], [pair["GroupId"] for pair in p["UserIdGroupPairs"]], p["IpRanges"])
        for p in group["IpPermissions"]
    ] == [("-1", [group["GroupId"]], [])]
    assert [(p["IpProtocol"], p["IpRanges"]) for p in group["IpPermissionsEgress"]] == [
        ("-1", [{"CidrIp": "0.0.0.0/0"}])
    ]


def test_the_default_security_group_rules_can_be_revoked_as_described(ec2: Any) -> None:
    vpc_id = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    group = ec2.describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "group-name", "Values": ["default"]}]
    )["SecurityGroups"][0]

    ec2.revoke_security_group_ingress(GroupId=group["GroupId"], IpPermissions=group["IpPermissions"])
    ec2.revoke_security_group_egress(GroupId=group["GroupId"], IpPermissions=group["IpPermissionsEgress"])

    locked = ec2.describe_security_groups(GroupIds=[group["GroupId"]])["SecurityGroups"][0]
    assert locked["IpPermissions"] == []
    assert locked["IpPermissionsEgress"] == []


# --- Tag specifications (checked, moto 5.2.5 honours them all) -------------------------------


def _tags(resource_type: str) -> list[dict[str, Any]]:
    return [{"ResourceType": resource_type, "Tags": [{"Key": "vpcfactory:vpc", "Value": "t"}]}]


TAG_FILTER = [{"Name": "tag:vpcfactory:vpc", "Values": ["t"]}]


@pytest.mark.parametrize(
    ("create", "describe"),
    [
        pytest.param(
            lambda ec2, ctx: ec2.create_vpc(CidrBlock="10.1.0.0/16", TagSpecifications=_tags("vpc")),
            lambda ec2: ec2.describe_vpcs(Filters=TAG_FILTER)["Vpcs"],
            id="CreateVpc",
        ),
        pytest.param(
            lambda ec2, ctx: ec2.create_subnet(
                VpcId=ctx["vpc"], CidrBlock="10.0.9.0/24", TagSpecifications=_tags("subnet")
            ),
            lambda ec2: ec2.describe_subnets(Filters=TAG_FILTER)["Subnets"],
            id="CreateSubnet",
        ),
        pytest.param(
            lambda ec2, ctx: ec2.create_internet_gateway(TagSpecifications=_tags("internet-gateway")),
            lambda ec2: ec2.describe_internet_gateways(Filters=TAG_FILTER)["InternetGateways"],
            id="CreateInternetGateway",
        ),
        pytest.param(
            lambda ec2, ctx: ec2.allocate_address(Domain="vpc", TagSpecifications=_tags("elastic-ip")),
            lambda ec2: ec2.describe_addresses(Filters=TAG_FILTER)["Addresses"],
            id="AllocateAddress",
        ),
        pytest.param(
            lambda ec2, ctx: ec2.create_route_table(VpcId=ctx["vpc"], TagSpecifications=_tags("route-table")),
            lambda ec2: ec2.describe_route_tables(Filters=TAG_FILTER)["RouteTables"],
            id="CreateRouteTable",
        ),
        pytest.param(
            lambda ec2, ctx: ec2.create_nat_gateway(
                SubnetId=ctx["subnet"], AllocationId=ctx["eip"], TagSpecifications=_tags("natgateway")
            ),
            lambda ec2: ec2.describe_nat_gateways(Filters=TAG_FILTER)["NatGateways"],
            id="CreateNatGateway",
        ),
    ],
)
def test_tags_given_at_creation_are_visible_in_describe_and_tag_filters(
    ec2: Any, create: Callable[..., Any], describe: Callable[[Any], list[dict[str, Any]]]
) -> None:
    vpc_id, subnet_id, _ = vpc_with_public_subnet(ec2)
    ctx = {"vpc": vpc_id, "subnet": subnet_id, "eip": ec2.allocate_address(Domain="vpc")["AllocationId"]}

    create(ec2, ctx)

    found = describe(ec2)
    assert len(found) == 1
    assert {"Key": "vpcfactory:vpc", "Value": "t"} in found[0]["Tags"]


# --- Server mode -------------------------------------------------------------------------------


def test_the_patches_apply_to_a_moto_server_in_the_same_process() -> None:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    try:
        ec2 = boto3.client(
            "ec2",
            endpoint_url=endpoint,
            config=NO_RETRIES,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        vpc_id, subnet_id, igw_id = vpc_with_public_subnet(ec2)
        nat_id, _ = public_nat(ec2, subnet_id)

        assert nat_of(ec2, nat_id)["State"] == "pending"
        with pytest.raises(ClientError) as exc:
            ec2.detach_internet_gateway(InternetGatewayId=igw_id, VpcId=vpc_id)
        assert error_code(exc) == "DependencyViolation"
        assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        fast_forward(90)
        assert nat_of(ec2, nat_id)["State"] == "available"
    finally:
        urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"))
        server.stop()


# --- Pinning and installation ------------------------------------------------------------------


def test_a_deleted_resource_takes_its_tags_with_it(ec2: Any) -> None:
    # Given one tagged resource of each kind the factory deletes for good
    def tagged(kind: str) -> list[dict[str, Any]]:
        return [{"ResourceType": kind, "Tags": [{"Key": "owner", "Value": "test"}]}]

    vpc = ec2.create_vpc(CidrBlock="10.7.0.0/16", TagSpecifications=tagged("vpc"))["Vpc"]["VpcId"]
    fast_forward(10)
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.7.0.0/24", TagSpecifications=tagged("subnet"))
    rtb = ec2.create_route_table(VpcId=vpc, TagSpecifications=tagged("route-table"))
    igw = ec2.create_internet_gateway(TagSpecifications=tagged("internet-gateway"))
    eigw = ec2.create_egress_only_internet_gateway(VpcId=vpc, TagSpecifications=tagged("egress-only-internet-gateway"))
    eip = ec2.allocate_address(Domain="vpc", TagSpecifications=tagged("elastic-ip"))
    kept = ec2.allocate_address(Domain="vpc", TagSpecifications=tagged("elastic-ip"))["AllocationId"]
    owned = [{"Name": "key", "Values": ["owner"]}]
    assert len(ec2.describe_tags(Filters=owned)["Tags"]) == 7

    # When each is deleted (an EIP released by its public IP, the way EC2-Classic scripts do)
    ec2.delete_subnet(SubnetId=subnet["Subnet"]["SubnetId"])
    ec2.delete_route_table(RouteTableId=rtb["RouteTable"]["RouteTableId"])
    ec2.delete_internet_gateway(InternetGatewayId=igw["InternetGateway"]["InternetGatewayId"])
    ec2.delete_egress_only_internet_gateway(
        EgressOnlyInternetGatewayId=eigw["EgressOnlyInternetGateway"]["EgressOnlyInternetGatewayId"]
    )
    ec2.release_address(PublicIp=eip["PublicIp"])
    ec2.delete_vpc(VpcId=vpc)

    # Then DescribeTags lists only what still exists
    assert [(t["ResourceId"], t["Key"]) for t in ec2.describe_tags(Filters=owned)["Tags"]] == [(kept, "owner")]


def test_the_moto_code_the_emulator_patches_is_unchanged_since_it_was_pinned() -> None:
    from vpcfactory_tools.emulator import faults, server, service_models

    pinned = {
        **fidelity.PINNED_SOURCES,
        **faults.PINNED_SOURCES,
        **engine_time.PINNED_SOURCES,
        **server.PINNED_SOURCES,
        **service_models.PINNED_SOURCES,
    }

    assert moto.__version__ == patching.MOTO_VERSION
    assert patching.source_fingerprints(pinned) == pinned


def test_install_refuses_a_moto_version_it_was_not_written_for(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(moto, "__version__", "5.3.0")

    with pytest.raises(patching.MotoVersionMismatch, match="5.2.5"):
        fidelity.install()


def test_install_is_idempotent_and_uninstall_gives_moto_back() -> None:
    from moto.ec2.models.nat_gateways import NatGateway, NatGatewayBackend

    patched = NatGatewayBackend.create_nat_gateway
    fidelity.install()
    assert NatGatewayBackend.create_nat_gateway is patched

    fidelity.uninstall()
    try:
        assert NatGatewayBackend.create_nat_gateway is patched.__wrapped__
        assert "state" not in vars(NatGateway)
        with mock_aws(config=MOCK_CONFIG):
            ec2 = boto3.client("ec2", config=NO_RETRIES)
            assert ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["State"] == "available"
    finally:
        fidelity.install()


# --- Engine time scaling -----------------------------------------------------------------------

ROLE = "arn:aws:iam::123456789012:role/states"


def _run(sfn: Any, definition: dict[str, Any], name: str) -> str:
    arn = sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE)["stateMachineArn"]
    return sfn.start_execution(stateMachineArn=arn, name=name)["executionArn"]


def _event_types(sfn: Any, execution: str) -> list[str]:
    return [event["type"] for event in sfn.get_execution_history(executionArn=execution)["events"]]


def test_wait_states_and_retry_intervals_take_scaled_simulated_seconds() -> None:
    definition = {
        "StartAt": "Wait",
        "States": {
            "Wait": {"Type": "Wait", "Seconds": 200, "Next": "Try"},
            "Try": {
                "Type": "Parallel",
                "Branches": [{"StartAt": "Boom", "States": {"Boom": {"Type": "Fail", "Error": "Boom"}}}],
                "Retry": [{"ErrorEquals": ["Boom"], "IntervalSeconds": 100, "MaxAttempts": 1}],
                "End": True,
            },
        },
    }
    with (
        configured(FAST_ENGINE),
        mock_aws(config={**MOCK_CONFIG, "stepfunctions": {"execute_state_machine": True}}),
    ):
        sfn = boto3.client("stepfunctions", region_name=REGION)
        engine_time.reset()
        started = time.monotonic()

        execution = _run(sfn, definition, "scaled")
        wait_for(lambda: sfn.describe_execution(executionArn=execution)["status"] != "RUNNING", 30)

        # 300 simulated seconds (Wait 200 + one retry of 100) in well under 300 real ones
        assert sfn.describe_execution(executionArn=execution)["status"] == "FAILED"
        assert engine_time.simulated_seconds_waited() == 300
        assert time.monotonic() - started < 30


def test_stopping_an_execution_ends_a_scaled_wait_at_once() -> None:
    definition = {"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 10**6, "End": True}}}
    with (
        configured(FAST_ENGINE),
        mock_aws(config={**MOCK_CONFIG, "stepfunctions": {"execute_state_machine": True}}),
    ):
        sfn = boto3.client("stepfunctions", region_name=REGION)
        threads_before = threading.active_count()
        execution = _run(sfn, definition, "stopped")
        wait_for(lambda: "WaitStateEntered" in _event_types(sfn, execution))

        sfn.stop_execution(executionArn=execution)

        # The wait (1000 real seconds at this scale) is interrupted: the run ends now.
        wait_for(lambda: sfn.describe_execution(executionArn=execution)["status"] == "ABORTED", 5)
        wait_for(lambda: threading.active_count() <= threads_before, timeout=5)


def test_the_simulated_clock_runs_at_one_over_time_scale_and_does_not_jump_when_rescaled() -> None:
    from vpcfactory_tools.emulator.settings import SimClock

    clock = SimClock(time_scale=0.001)
    time.sleep(0.05)
    fast = clock.now()
    clock.rescale(1000.0)
    slow = clock.now()

    assert 45 <= fast < 1000  # ~50 simulated seconds in 0.05 real ones
    assert fast <= slow < fast + 1


def test_flow_logs_can_be_delivered_to_a_folder_of_an_s3_bucket(ec2: Any) -> None:
    vpc_id, _, _ = vpc_with_public_subnet(ec2)
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="logs-bucket")
    s3.put_bucket_policy(Bucket="logs-bucket", Policy=json.dumps(s3_delivery_policy("logs-bucket", ACCOUNT)))

    result = ec2.create_flow_logs(
        ResourceIds=[vpc_id],
        ResourceType="VPC",
        TrafficType="ALL",
        LogDestinationType="s3",
        LogDestination="arn:aws:s3:::logs-bucket/vpcs/",
    )

    assert result["Unsuccessful"] == []
    (flow,) = ec2.describe_flow_logs(FlowLogIds=result["FlowLogIds"])["FlowLogs"]
    assert flow["LogDestination"] == "arn:aws:s3:::logs-bucket/vpcs/"
    assert flow["DeliverLogsStatus"] == "SUCCESS"
    missing = ec2.create_flow_logs(
        ResourceIds=[vpc_id],
        ResourceType="VPC",
        TrafficType="ALL",
        LogDestinationType="s3",
        LogDestination="arn:aws:s3:::no-such-bucket/vpcs/",
    )
    assert missing["Unsuccessful"], "a bucket that does not exist is still refused"


# --- Flow-log delivery to S3 and VPC endpoint service names (fidelity_services.py) ----------------

ACCOUNT = "123456789012"


def s3_delivery_policy(bucket: str, account_id: str) -> dict[str, Any]:
    from tests.workflow.owned import s3_delivery_policy as documented

    return documented(bucket, account_id)


def _s3_flow_log(ec2: Any, vpc_id: str, destination: str) -> dict[str, Any]:
    result = ec2.create_flow_logs(
        ResourceIds=[vpc_id],
        ResourceType="VPC",
        TrafficType="ALL",
        LogDestinationType="s3",
        LogDestination=destination,
    )
    assert result["Unsuccessful"] == []
    return ec2.describe_flow_logs(FlowLogIds=result["FlowLogIds"])["FlowLogs"][0]


def test_a_flow_log_to_a_bucket_whose_policy_does_not_allow_delivery_is_created_but_failed(ec2: Any) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="no-policy")
    s3.create_bucket(Bucket="other-account-only")
    s3.put_bucket_policy(Bucket="other-account-only", Policy=json.dumps(s3_delivery_policy("x", "999999999999")))
    s3.create_bucket(Bucket="wrong-principal")
    policy = s3_delivery_policy("wrong-principal", ACCOUNT)
    for statement in policy["Statement"]:
        statement["Principal"] = {"Service": "vpc-flow-logs.amazonaws.com"}
    s3.put_bucket_policy(Bucket="wrong-principal", Policy=json.dumps(policy))

    for vpc_cidr, bucket in (
        ("10.1.0.0/16", "no-policy"),
        ("10.2.0.0/16", "other-account-only"),
        ("10.3.0.0/16", "wrong-principal"),
    ):
        vpc_id = ec2.create_vpc(CidrBlock=vpc_cidr)["Vpc"]["VpcId"]
        flow = _s3_flow_log(ec2, vpc_id, f"arn:aws:s3:::{bucket}/vpcs/")

        assert flow["FlowLogStatus"] == "ACTIVE", bucket  # AWS creates it ...
        assert flow["DeliverLogsStatus"] == "FAILED", bucket  # ... and cannot deliver
        assert flow["DeliverLogsErrorMessage"] == "Access error", bucket


def test_a_flow_log_to_a_bucket_with_the_documented_delivery_policy_delivers(ec2: Any) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="with-policy")
    s3.put_bucket_policy(Bucket="with-policy", Policy=json.dumps(s3_delivery_policy("with-policy", ACCOUNT)))
    vpc_id, _, _ = vpc_with_public_subnet(ec2)

    flow = _s3_flow_log(ec2, vpc_id, "arn:aws:s3:::with-policy")

    assert flow["DeliverLogsStatus"] == "SUCCESS"
    assert "DeliverLogsErrorMessage" not in flow


def _gateway_services(region: str) -> list[str]:
    ec2 = boto3.client("ec2", region_name=region, config=NO_RETRIES)
    answer = ec2.describe_vpc_endpoint_services(Filters=[{"Name": "service-type", "Values": ["Gateway"]}])
    return sorted(answer["ServiceNames"])


def test_describe_vpc_endpoint_services_names_s3_with_the_cn_prefix_in_the_china_regions(ec2: Any) -> None:
    assert _gateway_services("cn-north-1") == ["cn.com.amazonaws.cn-north-1.s3", "com.amazonaws.cn-north-1.dynamodb"]
    assert _gateway_services("cn-northwest-1") == [
        "cn.com.amazonaws.cn-northwest-1.s3",
        "com.amazonaws.cn-northwest-1.dynamodb",
    ]
    # other partitions keep com.amazonaws.<region>.<svc>
    assert _gateway_services(REGION) == ["com.amazonaws.us-east-1.dynamodb", "com.amazonaws.us-east-1.s3"]


def _default_services(region: str) -> list[dict[str, Any]]:
    from moto.ec2.models.vpcs import VPCBackend

    return VPCBackend._collect_default_endpoint_services(ACCOUNT, region)


def _without_ids(services: list[dict[str, Any]]) -> Any:
    """The services with their ServiceIds (vpce-svc-..., also in some DNS names) blanked."""
    return json.loads(re.sub(r"vpce-svc-[0-9a-f]+", "vpce-svc-*", json.dumps(services)))


def test_the_default_endpoint_services_kept_on_disk_are_what_moto_computes(
    ec2: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto.ec2.models import vpcs

    from vpcfactory_tools.emulator import disk_cache, fidelity_services

    # Given a process that computes eu-west-3's default endpoint services (and keeps them on disk)
    monkeypatch.setenv(disk_cache.CACHE_DIR_VARIABLE, str(tmp_path))
    monkeypatch.setattr(vpcs, "DEFAULT_VPC_ENDPOINT_SERVICES", {})
    computed = copy.deepcopy(_default_services("eu-west-3"))
    assert len(list((tmp_path / fidelity_services.ENDPOINT_SERVICES_KIND).glob("*.json"))) == 1

    # When another process asks (moto's own cache empty), it reads them back, ids and all
    monkeypatch.setattr(vpcs, "DEFAULT_VPC_ENDPOINT_SERVICES", {})
    read_back = _default_services("eu-west-3")
    assert read_back == computed
    assert vpcs.DEFAULT_VPC_ENDPOINT_SERVICES["eu-west-3"] is read_back  # moto answers from them

    # Then they are what moto computes afresh, but for the ServiceIds moto draws at random each time
    monkeypatch.setenv(disk_cache.CACHE_DIR_VARIABLE, "")
    monkeypatch.setattr(vpcs, "DEFAULT_VPC_ENDPOINT_SERVICES", {})
    fresh = _default_services("eu-west-3")
    assert _without_ids(fresh) == _without_ids(read_back)
    assert [s["ServiceId"] for s in fresh] != [s["ServiceId"] for s in read_back]


def test_default_endpoint_services_are_kept_per_region_and_an_unreadable_entry_is_computed_again(
    ec2: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto.ec2.models import vpcs

    from vpcfactory_tools.emulator import disk_cache, fidelity_services

    monkeypatch.setenv(disk_cache.CACHE_DIR_VARIABLE, str(tmp_path))
    monkeypatch.setattr(vpcs, "DEFAULT_VPC_ENDPOINT_SERVICES", {})
    _default_services("eu-west-3")
    _default_services("cn-north-1")
    entries = list((tmp_path / fidelity_services.ENDPOINT_SERVICES_KIND).glob("*.json"))
    assert len(entries) == 2
    for entry in entries:
        entry.write_text("[{")  # cut short

    monkeypatch.setattr(vpcs, "DEFAULT_VPC_ENDPOINT_SERVICES", {})
    # the China Regions' renaming still applies to what is read back or computed again
    assert _gateway_services("cn-north-1") == ["cn.com.amazonaws.cn-north-1.s3", "com.amazonaws.cn-north-1.dynamodb"]
    again = _default_services("eu-west-3")
    assert {s["ServiceName"] for s in again} >= {"com.amazonaws.eu-west-3.s3", "com.amazonaws.eu-west-3.ec2"}
    assert all(isinstance(json.loads(entry.read_text()), list) for entry in entries)


def test_a_vpc_endpoint_to_a_service_name_ec2_does_not_list_is_invalid_service_name(ec2: Any) -> None:
    cn = boto3.client("ec2", region_name="cn-north-1", config=NO_RETRIES)
    vpc_id = cn.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    table = cn.create_route_table(VpcId=vpc_id)["RouteTable"]["RouteTableId"]

    for bogus in ("com.amazonaws.cn-north-1.s3", "com.amazonaws.cn-north-1.nothing"):
        with pytest.raises(ClientError) as exc:
            cn.create_vpc_endpoint(VpcId=vpc_id, ServiceName=bogus, VpcEndpointType="Gateway", RouteTableIds=[table])
        assert error_code(exc) == "InvalidServiceName"
        assert bogus in exc.value.response["Error"]["Message"]

    created = cn.create_vpc_endpoint(
        VpcId=vpc_id, ServiceName="cn.com.amazonaws.cn-north-1.s3", VpcEndpointType="Gateway", RouteTableIds=[table]
    )
    assert created["VpcEndpoint"]["ServiceName"] == "cn.com.amazonaws.cn-north-1.s3"


def test_a_gateway_endpoint_to_s3_in_a_china_region_routes_its_tables_to_the_s3_prefix_list(ec2: Any) -> None:
    cn = boto3.client("ec2", region_name="cn-north-1", config=NO_RETRIES)
    vpc_id = cn.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    tables = [cn.create_route_table(VpcId=vpc_id)["RouteTable"]["RouteTableId"] for _ in range(2)]

    endpoint_id = cn.create_vpc_endpoint(
        VpcId=vpc_id, ServiceName="cn.com.amazonaws.cn-north-1.s3", VpcEndpointType="Gateway", RouteTableIds=tables
    )["VpcEndpoint"]["VpcEndpointId"]

    s3_list = cn.describe_prefix_lists(
        Filters=[{"Name": "prefix-list-name", "Values": ["com.amazonaws.cn-north-1.s3"]}]
    )
    [prefix_list] = s3_list["PrefixLists"]
    for table in cn.describe_route_tables(RouteTableIds=tables)["RouteTables"]:
        routes = [r for r in table["Routes"] if r.get("GatewayId") == endpoint_id]
        assert [r["DestinationPrefixListId"] for r in routes] == [prefix_list["PrefixListId"]], table["RouteTableId"]
    # and deleting it takes those routes with it
    cn.delete_vpc_endpoints(VpcEndpointIds=[endpoint_id])
    for table in cn.describe_route_tables(RouteTableIds=tables)["RouteTables"]:
        assert [r for r in table["Routes"] if r.get("GatewayId") == endpoint_id] == []


# --- DeleteVpcEndpoints deletes a gateway endpoint whose route is already gone --------------


def _gateway_endpoint_with_a_table_without_its_route(ec2: Any) -> str:
    vpc_id = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    tables = [ec2.create_route_table(VpcId=vpc_id)["RouteTable"]["RouteTableId"] for _ in range(2)]
    endpoint = ec2.create_vpc_endpoint(
        VpcEndpointType="Gateway", VpcId=vpc_id, ServiceName="com.amazonaws.us-east-1.s3", RouteTableIds=tables
    )["VpcEndpoint"]
    # someone removed the endpoint's route from the first table
    prefix_list = next(
        r["DestinationPrefixListId"]
        for r in ec2.describe_route_tables(RouteTableIds=[tables[0]])["RouteTables"][0]["Routes"]
        if r.get("DestinationPrefixListId")
    )
    ec2.delete_route(RouteTableId=tables[0], DestinationPrefixListId=prefix_list)
    return endpoint["VpcEndpointId"]


def test_a_gateway_endpoint_missing_one_of_its_routes_is_still_deleted(ec2: Any) -> None:
    endpoint_id = _gateway_endpoint_with_a_table_without_its_route(ec2)

    ec2.delete_vpc_endpoints(VpcEndpointIds=[endpoint_id])

    endpoint = ec2.describe_vpc_endpoints(VpcEndpointIds=[endpoint_id])["VpcEndpoints"][0]
    assert endpoint["State"].lower() == "deleted"


def test_on_plain_moto_that_delete_fails_with_invalid_route_not_found() -> None:
    # What the patch changes (moto 5.2.5): the whole call fails and the endpoint stays.
    fidelity.uninstall()
    try:
        with mock_aws(config=MOCK_CONFIG):
            ec2 = boto3.client("ec2", config=NO_RETRIES)
            endpoint_id = _gateway_endpoint_with_a_table_without_its_route(ec2)
            with pytest.raises(ClientError) as exc:
                ec2.delete_vpc_endpoints(VpcEndpointIds=[endpoint_id])
            assert error_code(exc) == "InvalidRoute.NotFound"
    finally:
        fidelity.install()


# --- ModifyVpcEndpoint adds and removes a gateway endpoint's routes with its route tables ---------


def _endpoint_routes(ec2: Any, table_id: str, endpoint_id: str) -> list[dict[str, Any]]:
    routes = ec2.describe_route_tables(RouteTableIds=[table_id])["RouteTables"][0]["Routes"]
    return [r for r in routes if r.get("GatewayId") == endpoint_id]


def _gateway_endpoint_on_one_of_two_tables(ec2: Any) -> tuple[str, list[str]]:
    vpc_id = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    tables = [ec2.create_route_table(VpcId=vpc_id)["RouteTable"]["RouteTableId"] for _ in range(2)]
    endpoint = ec2.create_vpc_endpoint(
        VpcEndpointType="Gateway", VpcId=vpc_id, ServiceName="com.amazonaws.us-east-1.s3", RouteTableIds=tables[:1]
    )["VpcEndpoint"]
    return endpoint["VpcEndpointId"], tables


def test_adding_a_route_table_to_a_gateway_endpoint_adds_the_endpoints_route_to_it(ec2: Any) -> None:
    endpoint_id, tables = _gateway_endpoint_on_one_of_two_tables(ec2)

    ec2.modify_vpc_endpoint(VpcEndpointId=endpoint_id, AddRouteTableIds=[tables[1]])

    [route] = _endpoint_routes(ec2, tables[1], endpoint_id)
    assert (
        route["DestinationPrefixListId"] == _endpoint_routes(ec2, tables[0], endpoint_id)[0]["DestinationPrefixListId"]
    )
    assert route["State"] == "active"
    endpoint = ec2.describe_vpc_endpoints(VpcEndpointIds=[endpoint_id])["VpcEndpoints"][0]
    assert sorted(endpoint["RouteTableIds"]) == sorted(tables)


def test_adding_a_route_table_the_endpoint_already_has_changes_nothing(ec2: Any) -> None:
    endpoint_id, tables = _gateway_endpoint_on_one_of_two_tables(ec2)

    ec2.modify_vpc_endpoint(VpcEndpointId=endpoint_id, AddRouteTableIds=[tables[0]])

    assert len(_endpoint_routes(ec2, tables[0], endpoint_id)) == 1


def test_removing_a_route_table_from_a_gateway_endpoint_removes_the_endpoints_route(ec2: Any) -> None:
    endpoint_id, tables = _gateway_endpoint_on_one_of_two_tables(ec2)

    ec2.modify_vpc_endpoint(VpcEndpointId=endpoint_id, RemoveRouteTableIds=[tables[0]])

    assert _endpoint_routes(ec2, tables[0], endpoint_id) == []
    assert ec2.describe_vpc_endpoints(VpcEndpointIds=[endpoint_id])["VpcEndpoints"][0]["RouteTableIds"] == []


def test_adding_an_unknown_route_table_to_a_gateway_endpoint_is_refused_and_changes_nothing(ec2: Any) -> None:
    endpoint_id, tables = _gateway_endpoint_on_one_of_two_tables(ec2)

    with pytest.raises(ClientError) as exc:
        ec2.modify_vpc_endpoint(VpcEndpointId=endpoint_id, AddRouteTableIds=["rtb-0123456789abcdef0"])

    assert error_code(exc) == "InvalidRouteTableID.NotFound"
    assert ec2.describe_vpc_endpoints(VpcEndpointIds=[endpoint_id])["VpcEndpoints"][0]["RouteTableIds"] == tables[:1]


def test_on_plain_moto_an_added_route_table_gets_no_endpoint_route() -> None:
    # What the patch changes (moto 5.2.5): the table is listed, but has no route to the service.
    fidelity.uninstall()
    try:
        with mock_aws(config=MOCK_CONFIG):
            ec2 = boto3.client("ec2", config=NO_RETRIES)
            endpoint_id, tables = _gateway_endpoint_on_one_of_two_tables(ec2)
            ec2.modify_vpc_endpoint(VpcEndpointId=endpoint_id, AddRouteTableIds=[tables[1]])
            assert (
                tables[1]
                in ec2.describe_vpc_endpoints(VpcEndpointIds=[endpoint_id])["VpcEndpoints"][0]["RouteTableIds"]
            )
            assert _endpoint_routes(ec2, tables[1], endpoint_id) == []
    finally:
        fidelity.install()


# -- S3 bucket policies: a statement applies only when its condition holds ---------------------------
TLS_ONLY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "TlsOnly",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": ["arn:aws:s3:::tls-only", "arn:aws:s3:::tls-only/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    ],
}


def _put_into_a_tls_only_bucket() -> int:
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="tls-only")
        s3.put_bucket_policy(Bucket="tls-only", Policy=json.dumps(TLS_ONLY))
        try:
            s3.put_object(Bucket="tls-only", Key="manifests/fleet.jsonl", Body=b"{}")
        except ClientError as exc:
            return int(exc.response["ResponseMetadata"]["HTTPStatusCode"])
        return 200


def test_a_tls_only_bucket_policy_lets_https_requests_through_as_on_aws():
    # The template's rollout bucket denies requests without TLS (S3 User Guide, security best
    # practices); every SDK request is HTTPS, so AWS lets them through.
    was = fidelity.installed()
    fidelity.install()
    try:
        assert _put_into_a_tls_only_bucket() == 200
    finally:
        if not was:
            fidelity.uninstall()


def test_on_plain_moto_a_tls_only_bucket_policy_denies_every_request():
    was = fidelity.installed()
    fidelity.uninstall()
    try:
        assert _put_into_a_tls_only_bucket() == 403
    finally:
        if was:
            fidelity.install()
