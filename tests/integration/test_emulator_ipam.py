"""The emulator's Amazon VPC IPAM (emulator/ipam.py), seen through plain boto3.

moto 5.2.5 has no IPAM at all; the first test shows it (the patch uninstalled), the others drive
the patched moto the way the factory will: a private pool, allocations, VPCs from the pool."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from vpcfactory_tools.emulator import fidelity, ipam
from vpcfactory_tools.emulator.settings import EmulatorSettings, clock, configured

REGION = "us-east-1"


@pytest.fixture(scope="module", autouse=True)
def _patched_moto() -> Iterator[None]:
    installed_before = fidelity.installed(), ipam.installed()
    fidelity.install()
    ipam.install()
    yield
    if not installed_before[1]:
        ipam.uninstall()
    if not installed_before[0]:
        fidelity.uninstall()


@pytest.fixture(autouse=True)
def _settings() -> Iterator[None]:
    with configured(EmulatorSettings(time_scale=1.0, vpc_pending_seconds=0)):
        yield


def error_code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return exc.value.response["Error"]["Code"]


def make_pool(ec2: Any, cidr: str = "10.0.0.0/16", min_len: int = 16, max_len: int = 28) -> str:
    scope = ec2.create_ipam(OperatingRegions=[{"RegionName": REGION}])["Ipam"]["PrivateDefaultScopeId"]
    pool = ec2.create_ipam_pool(
        IpamScopeId=scope,
        AddressFamily="ipv4",
        Locale=REGION,
        AllocationMinNetmaskLength=min_len,
        AllocationMaxNetmaskLength=max_len,
        TagSpecifications=[{"ResourceType": "ipam-pool", "Tags": [{"Key": "team", "Value": "net"}]}],
    )["IpamPool"]
    assert pool["State"] == "create-complete"
    ec2.provision_ipam_pool_cidr(IpamPoolId=pool["IpamPoolId"], Cidr=cidr)
    return str(pool["IpamPoolId"])


def allocations(ec2: Any, pool_id: str) -> list[dict[str, Any]]:
    return list(ec2.get_ipam_pool_allocations(IpamPoolId=pool_id)["IpamPoolAllocations"])


def cidrs(ec2: Any, pool_id: str) -> list[str]:
    return sorted(a["Cidr"] for a in allocations(ec2, pool_id))


def test_plain_moto_has_no_ipam(ec2: Any) -> None:
    ipam.uninstall()
    try:
        with pytest.raises(NotImplementedError):
            ec2.create_ipam()
    finally:
        ipam.install()
    assert ec2.create_ipam()["Ipam"]["IpamId"].startswith("ipam-")


def test_create_ipam_and_pool_answer_in_the_aws_shapes(ec2: Any) -> None:
    created = ec2.create_ipam(
        OperatingRegions=[{"RegionName": REGION}],
        TagSpecifications=[{"ResourceType": "ipam", "Tags": [{"Key": "Name", "Value": "main"}]}],
    )["Ipam"]
    assert created["PrivateDefaultScopeId"].startswith("ipam-scope-")
    assert created["OperatingRegions"] == [{"RegionName": REGION}]
    assert created["Tags"] == [{"Key": "Name", "Value": "main"}]

    pool_id = make_pool(ec2)
    described = ec2.describe_ipam_pools(IpamPoolIds=[pool_id])["IpamPools"][0]
    assert described["AllocationMinNetmaskLength"] == 16 and described["AllocationMaxNetmaskLength"] == 28
    assert described["Locale"] == REGION and described["AddressFamily"] == "ipv4"
    by_tag = ec2.describe_ipam_pools(Filters=[{"Name": "tag:team", "Values": ["net"]}])["IpamPools"]
    assert [p["IpamPoolId"] for p in by_tag] == [pool_id]


def test_unknown_pool_is_not_found(ec2: Any) -> None:
    with pytest.raises(ClientError) as exc:
        ec2.allocate_ipam_pool_cidr(IpamPoolId="ipam-pool-0123456789abcdef0", NetmaskLength=24)
    assert error_code(exc) == "InvalidIpamPoolId.NotFound"
    with pytest.raises(ClientError) as exc:
        ec2.describe_ipam_pools(IpamPoolIds=["ipam-pool-0123456789abcdef0"])
    assert error_code(exc) == "InvalidIpamPoolId.NotFound"
    with pytest.raises(ClientError) as exc:
        ec2.create_vpc(Ipv4IpamPoolId="ipam-pool-0123456789abcdef0", Ipv4NetmaskLength=24)
    assert error_code(exc) == "InvalidIpamPoolId.NotFound"


def test_an_allocation_is_the_lowest_aligned_free_block(ec2: Any) -> None:
    pool_id = make_pool(ec2)
    first = ec2.allocate_ipam_pool_cidr(IpamPoolId=pool_id, NetmaskLength=24, Description="a")["IpamPoolAllocation"]
    assert first["Cidr"] == "10.0.0.0/24"
    assert first["ResourceType"] == "custom" and first["IpamPoolAllocationId"].startswith("ipam-pool-alloc-")
    # a /20 must be aligned to 4096 addresses: 10.0.16.0/20, not 10.0.1.0/20
    second = ec2.allocate_ipam_pool_cidr(IpamPoolId=pool_id, NetmaskLength=20)["IpamPoolAllocation"]
    assert second["Cidr"] == "10.0.16.0/20"
    # the gap after the first /24 is filled next
    third = ec2.allocate_ipam_pool_cidr(IpamPoolId=pool_id, NetmaskLength=24)["IpamPoolAllocation"]
    assert third["Cidr"] == "10.0.1.0/24"


def test_two_vpcs_from_one_pool_get_disjoint_blocks(ec2: Any) -> None:
    pool_id = make_pool(ec2)
    one = ec2.create_vpc(Ipv4IpamPoolId=pool_id, Ipv4NetmaskLength=18)["Vpc"]
    two = ec2.create_vpc(Ipv4IpamPoolId=pool_id, Ipv4NetmaskLength=18)["Vpc"]
    assert (one["CidrBlock"], two["CidrBlock"]) == ("10.0.0.0/18", "10.0.64.0/18")
    recorded = {a["ResourceId"]: a for a in allocations(ec2, pool_id)}
    assert recorded[one["VpcId"]]["ResourceType"] == "vpc" and recorded[one["VpcId"]]["Cidr"] == "10.0.0.0/18"
    assert recorded[two["VpcId"]]["Cidr"] == "10.0.64.0/18"
    assert recorded[two["VpcId"]]["ResourceOwner"]


def test_a_vpc_can_ask_for_a_specific_block_of_the_pool(ec2: Any) -> None:
    pool_id = make_pool(ec2)
    vpc = ec2.create_vpc(Ipv4IpamPoolId=pool_id, CidrBlock="10.0.128.0/20")["Vpc"]
    assert vpc["CidrBlock"] == "10.0.128.0/20"
    for outside_or_taken in ("10.1.0.0/20", "10.0.128.0/24"):
        with pytest.raises(ClientError) as exc:
            ec2.create_vpc(Ipv4IpamPoolId=pool_id, CidrBlock=outside_or_taken)
        assert error_code(exc) == "InvalidParameterValue"


def test_preview_allocates_nothing_and_is_what_comes_next(ec2: Any) -> None:
    pool_id = make_pool(ec2)
    ec2.allocate_ipam_pool_cidr(IpamPoolId=pool_id, NetmaskLength=24)
    before = allocations(ec2, pool_id)
    preview = ec2.allocate_ipam_pool_cidr(IpamPoolId=pool_id, NetmaskLength=22, PreviewNextCidr=True)
    assert allocations(ec2, pool_id) == before
    assert "IpamPoolAllocationId" not in preview["IpamPoolAllocation"]
    taken = ec2.allocate_ipam_pool_cidr(IpamPoolId=pool_id, NetmaskLength=22)["IpamPoolAllocation"]
    assert taken["Cidr"] == preview["IpamPoolAllocation"]["Cidr"] == "10.0.4.0/22"


def test_client_token_is_idempotent(ec2: Any) -> None:
    pool_id = make_pool(ec2)
    first = ec2.allocate_ipam_pool_cidr(IpamPoolId=pool_id, NetmaskLength=24, ClientToken="t1")["IpamPoolAllocation"]
    again = ec2.allocate_ipam_pool_cidr(IpamPoolId=pool_id, NetmaskLength=24, ClientToken="t1")["IpamPoolAllocation"]
    assert again == first and len(allocations(ec2, pool_id)) == 1
    with pytest.raises(ClientError) as exc:
        ec2.allocate_ipam_pool_cidr(IpamPoolId=pool_id, NetmaskLength=25, ClientToken="t1")
    assert error_code(exc) == "IdempotentParameterMismatch"


@pytest.mark.parametrize("netmask", [8, 15, 29])
def test_netmask_out_of_the_pool_bounds_is_refused(ec2: Any, netmask: int) -> None:
    pool_id = make_pool(ec2)
    with pytest.raises(ClientError) as exc:
        ec2.allocate_ipam_pool_cidr(IpamPoolId=pool_id, NetmaskLength=netmask)
    assert error_code(exc) == "InvalidParameterValue"
    with pytest.raises(ClientError) as exc:
        ec2.create_vpc(Ipv4IpamPoolId=pool_id, Ipv4NetmaskLength=netmask)
    assert error_code(exc) == "InvalidParameterValue"
    assert allocations(ec2, pool_id) == []


def test_neither_netmask_nor_cidr_without_a_default_is_refused(ec2: Any) -> None:
    pool_id = make_pool(ec2)
    with pytest.raises(ClientError) as exc:
        ec2.allocate_ipam_pool_cidr(IpamPoolId=pool_id)
    assert error_code(exc) == "InvalidParameterCombination"


def test_an_exhausted_pool_refuses_the_next_allocation(ec2: Any) -> None:
    pool_id = make_pool(ec2, cidr="10.0.0.0/16", min_len=16, max_len=28)
    for _ in range(4):
        ec2.create_vpc(Ipv4IpamPoolId=pool_id, Ipv4NetmaskLength=18)
    with pytest.raises(ClientError) as exc:
        ec2.create_vpc(Ipv4IpamPoolId=pool_id, Ipv4NetmaskLength=18)
    assert error_code(exc) == "InvalidParameterValue"
    assert "too big for the pool" in exc.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as exc:
        ec2.allocate_ipam_pool_cidr(IpamPoolId=pool_id, NetmaskLength=28)
    assert error_code(exc) == "InvalidParameterValue"
    assert len(allocations(ec2, pool_id)) == 4
    assert len(ec2.describe_vpcs(Filters=[{"Name": "cidr", "Values": ["10.0.0.0/18"]}])["Vpcs"]) == 1


def test_delete_vpc_releases_its_allocation(ec2: Any) -> None:
    pool_id = make_pool(ec2)
    vpc_id = ec2.create_vpc(Ipv4IpamPoolId=pool_id, Ipv4NetmaskLength=18)["Vpc"]["VpcId"]
    assert cidrs(ec2, pool_id) == ["10.0.0.0/18"]
    ec2.delete_vpc(VpcId=vpc_id)
    assert allocations(ec2, pool_id) == []
    again = ec2.create_vpc(Ipv4IpamPoolId=pool_id, Ipv4NetmaskLength=18)["Vpc"]
    assert again["CidrBlock"] == "10.0.0.0/18"


def test_a_delayed_release_keeps_the_block_until_its_time(ec2: Any) -> None:
    # AWS releases a deleted VPC's allocation "after some time" (IPAM User Guide, "Release an
    # allocation"); the emulator delays it by ipam_release_seconds.
    settings = EmulatorSettings(time_scale=1.0, vpc_pending_seconds=0, ipam_release_seconds=300.0)
    with configured(settings):
        pool_id = make_pool(ec2)
        vpc_id = ec2.create_vpc(Ipv4IpamPoolId=pool_id, Ipv4NetmaskLength=18)["Vpc"]["VpcId"]
        ec2.delete_vpc(VpcId=vpc_id)
        assert [a["ResourceId"] for a in allocations(ec2, pool_id)] == [vpc_id]
        assert ec2.create_vpc(Ipv4IpamPoolId=pool_id, Ipv4NetmaskLength=18)["Vpc"]["CidrBlock"] == "10.0.64.0/18"
        clock().advance(300)
        assert vpc_id not in [a.get("ResourceId") for a in allocations(ec2, pool_id)]


def test_release_custom_allocation_works_and_vpc_allocation_is_refused(ec2: Any) -> None:
    pool_id = make_pool(ec2)
    custom = ec2.allocate_ipam_pool_cidr(IpamPoolId=pool_id, NetmaskLength=24)["IpamPoolAllocation"]
    vpc_id = ec2.create_vpc(Ipv4IpamPoolId=pool_id, Ipv4NetmaskLength=20)["Vpc"]["VpcId"]
    vpc_allocation = next(a for a in allocations(ec2, pool_id) if a.get("ResourceId") == vpc_id)

    released = ec2.release_ipam_pool_allocation(
        IpamPoolId=pool_id, Cidr=custom["Cidr"], IpamPoolAllocationId=custom["IpamPoolAllocationId"]
    )
    assert released["Success"] is True
    assert [a["IpamPoolAllocationId"] for a in allocations(ec2, pool_id)] == [vpc_allocation["IpamPoolAllocationId"]]

    with pytest.raises(ClientError) as exc:
        ec2.release_ipam_pool_allocation(
            IpamPoolId=pool_id, Cidr=vpc_allocation["Cidr"], IpamPoolAllocationId=vpc_allocation["IpamPoolAllocationId"]
        )
    assert error_code(exc) == "OperationNotPermitted"
    with pytest.raises(ClientError) as exc:
        ec2.release_ipam_pool_allocation(
            IpamPoolId=pool_id, Cidr=custom["Cidr"], IpamPoolAllocationId=custom["IpamPoolAllocationId"]
        )
    assert error_code(exc) == "InvalidIpamPoolAllocationId.NotFound"


def test_get_allocations_filters_and_unknown_allocation_id(ec2: Any) -> None:
    pool_id = make_pool(ec2)
    ec2.allocate_ipam_pool_cidr(IpamPoolId=pool_id, NetmaskLength=24)
    vpc_id = ec2.create_vpc(Ipv4IpamPoolId=pool_id, Ipv4NetmaskLength=20)["Vpc"]["VpcId"]
    only_vpcs = ec2.get_ipam_pool_allocations(
        IpamPoolId=pool_id, Filters=[{"Name": "resource-type", "Values": ["vpc"]}]
    )["IpamPoolAllocations"]
    assert [a["ResourceId"] for a in only_vpcs] == [vpc_id]
    with pytest.raises(ClientError) as exc:
        ec2.get_ipam_pool_allocations(IpamPoolId=pool_id, IpamPoolAllocationId="ipam-pool-alloc-0123456789abcdef0")
    assert error_code(exc) == "InvalidIpamPoolAllocationId.NotFound"
