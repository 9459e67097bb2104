"""A VPC whose block comes from an IPAM pool (functions/vpcfactory/ipam.py), through the real
state machines on the embedded emulator (its IPAM: tools/vpcfactory_tools/emulator/ipam.py)."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from tests.workflow.owned import execution_name, tagged_with_execution
from vpcfactory import ipam
from vpcfactory_tools.emulator.settings import EmulatorSettings

REGION = "us-east-1"


def make_pool(ec2: Any, cidr: str = "10.64.0.0/14") -> str:
    scope = ec2.create_ipam(OperatingRegions=[{"RegionName": REGION}])["Ipam"]["PrivateDefaultScopeId"]
    pool = ec2.create_ipam_pool(
        IpamScopeId=scope,
        AddressFamily="ipv4",
        Locale=REGION,
        AllocationMinNetmaskLength=16,
        AllocationMaxNetmaskLength=28,
    )["IpamPool"]["IpamPoolId"]
    ec2.provision_ipam_pool_cidr(IpamPoolId=pool, Cidr=cidr)
    return str(pool)


def spec_from(pool: str, name: str, netmask: int = 18, zones: int = 2) -> dict[str, Any]:
    return {
        "name": name,
        "cidr": {"ipamPoolId": pool, "netmaskLength": netmask},
        "availabilityZones": zones,
        "natGateways": "single",
        "tiers": [
            {"name": "public", "type": "public", "prefixLength": 24},
            {"name": "app", "type": "private", "prefixLength": 21},
        ],
        "flowLogs": False,
    }


def with_release_delay(base: EmulatorSettings, seconds: float, **fields: Any) -> EmulatorSettings:
    """Settings whose IPAM releases a deleted VPC's allocation `seconds` (simulated) after DeleteVpc."""
    return EmulatorSettings(time_scale=base.time_scale, ipam_release_seconds=seconds, **fields)


def allocations(ec2: Any, pool: str) -> list[dict[str, Any]]:
    return list(ec2.get_ipam_pool_allocations(IpamPoolId=pool)["IpamPoolAllocations"])


def vpc_cidr(ec2: Any, vpc_id: str) -> str:
    return str(ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"][0]["CidrBlock"])


def subnet_cidrs(ec2: Any, vpc_id: str) -> list[str]:
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]
    return sorted(s["CidrBlock"] for s in subnets)


def preview(ec2: Any, pool: str, netmask: int = 18) -> str:
    return str(
        ec2.allocate_ipam_pool_cidr(IpamPoolId=pool, NetmaskLength=netmask, PreviewNextCidr=True)["IpamPoolAllocation"][
            "Cidr"
        ]
    )


def test_a_build_from_a_pool_gets_the_previewed_block_and_lays_the_tiers_in_it(emu):
    ec2 = emu.client("ec2")
    pool = make_pool(ec2)
    expected = preview(ec2, pool)

    built = emu.build(spec_from(pool, "ipam-preview"))

    assert built.status == "SUCCEEDED", built.cause
    block = ipaddress.IPv4Network(vpc_cidr(ec2, built.vpc_id))
    assert str(block) == expected
    subnets = subnet_cidrs(ec2, built.vpc_id)
    assert len(subnets) == 4 and all(ipaddress.IPv4Network(s).subnet_of(block) for s in subnets)
    # The only allocation is the VPC's own (IPAM's, ResourceType vpc): the factory made none.
    (allocation,) = allocations(ec2, pool)
    assert (allocation["ResourceType"], allocation["ResourceId"], allocation["Cidr"]) == ("vpc", built.vpc_id, expected)
    tags = {t["Key"]: t["Value"] for t in ec2.describe_vpcs(VpcIds=[built.vpc_id])["Vpcs"][0]["Tags"]}
    assert tags[ipam.TAG_IPAM_POOL] == pool


def test_two_builds_from_one_pool_never_overlap(emu):
    ec2 = emu.client("ec2")
    pool = make_pool(ec2)

    first = emu.build(spec_from(pool, "ipam-first"))
    second = emu.build(spec_from(pool, "ipam-second"))

    assert first.status == second.status == "SUCCEEDED", (first.cause, second.cause)
    a, b = (ipaddress.IPv4Network(vpc_cidr(ec2, r.vpc_id)) for r in (first, second))
    assert not a.overlaps(b)
    assert all(ipaddress.IPv4Network(s).subnet_of(b) for s in subnet_cidrs(ec2, second.vpc_id))


def test_a_stale_preview_relays_the_plan_in_the_block_the_vpc_got(emu, monkeypatch):
    ec2 = emu.client("ec2")
    pool = make_pool(ec2)
    previewed = preview(ec2, pool)
    taken: list[str] = []
    place = ipam.place

    def place_then_someone_else_allocates(plan, client):
        placed = place(plan, client)
        # Between Validate And Plan and Create VPC another account takes the previewed block.
        taken.append(ec2.allocate_ipam_pool_cidr(IpamPoolId=pool, NetmaskLength=18)["IpamPoolAllocation"]["Cidr"])
        return placed

    monkeypatch.setattr(ipam, "place", place_then_someone_else_allocates)
    built = emu.build(spec_from(pool, "ipam-stale"))

    assert built.status == "SUCCEEDED", built.cause
    assert taken == [previewed]
    block = ipaddress.IPv4Network(vpc_cidr(ec2, built.vpc_id))
    assert str(block) != previewed and not block.overlaps(ipaddress.IPv4Network(previewed))
    subnets = subnet_cidrs(ec2, built.vpc_id)
    assert len(subnets) == 4 and all(ipaddress.IPv4Network(s).subnet_of(block) for s in subnets)
    # the same layout, relative to the block's base
    assert ipaddress.IPv4Network(subnets[0]).network_address == block.network_address


def test_destroy_leaves_no_allocation_once_ipam_releases_it(emu):
    ec2 = emu.client("ec2")
    pool = make_pool(ec2)
    built = emu.build(spec_from(pool, "ipam-destroy"))
    assert built.status == "SUCCEEDED", built.cause

    destroyed = emu.destroy(built.vpc_id)

    assert destroyed.status == "SUCCEEDED", destroyed.cause
    assert tagged_with_execution(ec2, execution_name(built)) == []
    assert allocations(ec2, pool) == []  # ipam_release_seconds 0: IPAM released it at once


def test_a_destroy_does_not_wait_for_a_slow_release_and_says_it_is_pending(emu):
    ec2 = emu.client("ec2")
    pool = make_pool(ec2)
    built = emu.build(spec_from(pool, "ipam-slow-release"))
    assert built.status == "SUCCEEDED", built.cause
    emu.reconfigure(with_release_delay(emu.settings, 48 * 3600.0))  # the Free tier's worst case

    destroyed = emu.destroy(built.vpc_id)

    assert destroyed.status == "SUCCEEDED", destroyed.cause
    (left,) = allocations(ec2, pool)  # IPAM's, not ours: nothing the factory can release
    assert left["ResourceType"] == "vpc" and left["ResourceId"] == built.vpc_id
    status = ipam.allocation_status(ec2, pool, built.vpc_id)
    assert status["state"] == "pending-release"


def test_a_rollback_does_not_count_a_pending_allocation_as_left_over(emu):
    ec2 = emu.client("ec2")
    pool = make_pool(ec2)
    emu.reconfigure(with_release_delay(emu.settings, 3600.0, nat_failure_code="InsufficientFreeAddressesInSubnet"))

    failed = emu.build(spec_from(pool, "ipam-rollback"))

    assert failed.status == "FAILED"
    assert failed.error != "RollbackFailed", failed.cause
    assert tagged_with_execution(ec2, execution_name(failed)) == []
    assert [a["ResourceType"] for a in allocations(ec2, pool)] == ["vpc"]  # pending: IPAM's to release


def test_growth_keeps_the_vpc_cidr(emu):
    ec2 = emu.client("ec2")
    pool = make_pool(ec2)
    first = emu.build(spec_from(pool, "ipam-grow"))
    assert first.status == "SUCCEEDED", first.cause
    block = vpc_cidr(ec2, first.vpc_id)
    before = subnet_cidrs(ec2, first.vpc_id)
    # another VPC from the pool moves the pool's next block: growth must not care
    other = emu.build(spec_from(pool, "ipam-grow-other"))
    assert other.status == "SUCCEEDED", other.cause

    grown = emu.build(spec_from(pool, "ipam-grow", zones=3))

    assert grown.status == "SUCCEEDED", grown.cause
    assert grown.vpc_id == first.vpc_id and grown.output["changes"]["mode"] == "reconcile"
    assert vpc_cidr(ec2, first.vpc_id) == block
    after = subnet_cidrs(ec2, first.vpc_id)
    assert set(before) <= set(after) and len(after) == 6
    assert [a["ResourceId"] for a in allocations(ec2, pool)].count(first.vpc_id) == 1


@pytest.mark.parametrize(
    ("cidr", "field"),
    [
        ({"ipamPoolId": "ipam-pool-0123456789abcdef0", "netmaskLength": 18}, "cidr.ipamPoolId"),  # no such pool
        ({"ipamPoolId": "ipam-pool-xyz", "netmaskLength": 18}, "cidr.ipamPoolId"),  # malformed
        (None, "cidr.netmaskLength"),  # the pool refuses a /14 (its minimum is /16) -- set below
    ],
)
def test_a_bad_pool_is_refused_as_invalid_spec_with_nothing_created(emu, cidr, field):
    ec2 = emu.client("ec2")
    pool = make_pool(ec2)
    vpcs_before = len(ec2.describe_vpcs()["Vpcs"])
    spec = spec_from(pool, "ipam-refused")
    if cidr is None:
        ec2_pool = ec2.create_ipam_pool(
            IpamScopeId=ec2.describe_ipam_pools(IpamPoolIds=[pool])["IpamPools"][0]["IpamScopeArn"].rsplit("/", 1)[1],
            AddressFamily="ipv4",
            Locale=REGION,
            AllocationMinNetmaskLength=20,
            AllocationMaxNetmaskLength=28,
        )["IpamPool"]["IpamPoolId"]
        ec2.provision_ipam_pool_cidr(IpamPoolId=ec2_pool, Cidr="10.200.0.0/16")
        spec["cidr"] = {"ipamPoolId": ec2_pool, "netmaskLength": 18}
    else:
        spec["cidr"] = cidr

    result = emu.build(spec)

    assert result.status == "FAILED"
    assert result.error == "InvalidSpec", result.cause
    assert field in (result.cause or "")
    assert len(ec2.describe_vpcs()["Vpcs"]) == vpcs_before
    assert tagged_with_execution(ec2, execution_name(result)) == []
