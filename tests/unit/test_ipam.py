"""IPAM (functions/vpcfactory/ipam.py): the `cidr` mapping, the nominal layout, plan.relocate, and
the pool calls with a fake EC2 client (no emulator)."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
from botocore.exceptions import ClientError

from vpcfactory import ipam
from vpcfactory.errors import InvalidSpec
from vpcfactory.plan import plan_network, relocate
from vpcfactory.spec import parse_spec

POOL = "ipam-pool-0123456789abcdef0"
ZONES = [
    {"ZoneName": f"us-east-1{z}", "ZoneId": f"use1-az{i}", "State": "available", "RegionName": "us-east-1"}
    for i, z in enumerate("abc", start=1)
]


def spec(**overrides: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "name": "pooled",
        "cidr": {"ipamPoolId": POOL, "netmaskLength": 18},
        "availabilityZones": 2,
        "tiers": [
            {"name": "public", "type": "public", "prefixLength": 24},
            {"name": "app", "type": "private", "prefixLength": 21},
        ],
    }
    return raw | overrides


def refused(raw: dict[str, Any]) -> InvalidSpec:
    with pytest.raises(InvalidSpec) as exc:
        parse_spec(raw)
    return exc.value


# -- spec -------------------------------------------------------------------------------------


def test_the_cidr_mapping_parses_to_a_nominal_block_and_round_trips():
    parsed = parse_spec(spec())
    assert parsed.ipam_pool_id == POOL
    assert parsed.cidr == "0.0.0.0/18"
    assert parsed.to_dict()["cidr"] == {"ipamPoolId": POOL, "netmaskLength": 18}
    assert parse_spec(parsed.to_dict()) == parsed


def test_a_cidr_string_is_unchanged():
    parsed = parse_spec(spec(cidr="10.1.0.0/16"))
    assert parsed.ipam_pool_id is None and parsed.to_dict()["cidr"] == "10.1.0.0/16"


@pytest.mark.parametrize(
    ("cidr", "field"),
    [
        ({"netmaskLength": 18}, "cidr.ipamPoolId"),
        ({"ipamPoolId": "ipam-pool-123", "netmaskLength": 18}, "cidr.ipamPoolId"),  # too short
        ({"ipamPoolId": "ipam-pool-0123456789ABCDEF0", "netmaskLength": 18}, "cidr.ipamPoolId"),  # upper case
        ({"ipamPoolId": "pool-0123456789abcdef0", "netmaskLength": 18}, "cidr.ipamPoolId"),
        ({"ipamPoolId": 12, "netmaskLength": 18}, "cidr.ipamPoolId"),
        ({"ipamPoolId": POOL}, "cidr.netmaskLength"),
        ({"ipamPoolId": POOL, "netmaskLength": 15}, "cidr.netmaskLength"),
        ({"ipamPoolId": POOL, "netmaskLength": 29}, "cidr.netmaskLength"),
        ({"ipamPoolId": POOL, "netmaskLength": "18"}, "cidr.netmaskLength"),
        ({"ipamPoolId": POOL, "netmaskLength": True}, "cidr.netmaskLength"),
        ({"ipamPoolId": POOL, "netmaskLength": 18, "cidr": "10.0.0.0/16"}, "cidr.cidr"),
        (16, "cidr"),
    ],
)
def test_a_bad_cidr_mapping_names_its_field(cidr, field):
    assert refused(spec(cidr=cidr)).field == field


def test_explicit_tier_cidrs_are_refused_with_a_pool():
    raw = spec()
    raw["tiers"][1] = {"name": "app", "type": "private", "cidrs": ["10.0.8.0/21", "10.0.16.0/21"]}
    error = refused(raw)
    assert error.field == "tiers[1].cidrs"
    assert "IPAM" in str(error)


def test_the_layout_is_validated_on_a_block_of_the_netmask():
    # 4 zones reserved x /21 = a /19: it fits a /18 but not a /20
    assert parse_spec(spec())
    assert refused(spec(cidr={"ipamPoolId": POOL, "netmaskLength": 20})).field == "tiers[1].prefixLength"


# -- plan and relocate ------------------------------------------------------------------------


def test_the_plan_carries_the_pool_and_is_laid_in_the_nominal_block():
    plan = plan_network(parse_spec(spec()), ZONES)
    assert plan["ipam"] == {"poolId": POOL, "netmaskLength": 18}
    assert plan["cidr"] == "0.0.0.0/18" and ipam.is_nominal(plan)
    assert plan_network(parse_spec(spec(cidr="10.1.0.0/16")), ZONES)["ipam"] is None


def test_relocate_shifts_every_subnet_by_the_base_and_keeps_the_layout():
    plan = plan_network(parse_spec(spec()), ZONES)
    moved = relocate(plan, "10.64.192.0/18")
    assert moved["cidr"] == "10.64.192.0/18"
    base = int(ipaddress.IPv4Network("10.64.192.0/18").network_address)
    for old, new in zip(plan["subnets"], moved["subnets"], strict=True):
        o, n = ipaddress.IPv4Network(old["cidr"]), ipaddress.IPv4Network(new["cidr"])
        assert int(n.network_address) - base == int(o.network_address) and n.prefixlen == o.prefixlen
        assert n.subnet_of(ipaddress.IPv4Network(moved["cidr"]))
        assert {k: v for k, v in new.items() if k != "cidr"} == {k: v for k, v in old.items() if k != "cidr"}
    assert plan["cidr"] == "0.0.0.0/18"  # pure: the input is untouched
    assert relocate(moved, "0.0.0.0/18") == plan


def test_relocate_refuses_another_netmask():
    plan = plan_network(parse_spec(spec()), ZONES)
    with pytest.raises(ValueError, match="netmask"):
        relocate(plan, "10.0.0.0/16")


def test_relocated_plan_equals_the_plan_of_the_same_spec_with_that_cidr():
    pooled = relocate(plan_network(parse_spec(spec()), ZONES), "172.16.64.0/18")
    fixed = plan_network(parse_spec(spec(cidr="172.16.64.0/18")), ZONES)
    assert pooled["subnets"] == fixed["subnets"]


# -- the pool calls, with a fake client --------------------------------------------------------


class FakeEc2:
    def __init__(self, preview: str | None = None, error: str | None = None, vpcs: list | None = None):
        self.preview, self.error, self.vpcs = preview, error, vpcs or []
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.allocations: list[dict[str, Any]] = []

    def allocate_ipam_pool_cidr(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("AllocateIpamPoolCidr", kwargs))
        if self.error:
            raise ClientError({"Error": {"Code": self.error, "Message": "no"}}, "AllocateIpamPoolCidr")
        return {"IpamPoolAllocation": {"Cidr": self.preview}}

    def can_paginate(self, method: str) -> bool:
        return False

    def describe_vpcs(self, **kwargs: Any) -> dict[str, Any]:
        return {"Vpcs": self.vpcs}

    def get_ipam_pool_allocations(self, **kwargs: Any) -> dict[str, Any]:
        return {"IpamPoolAllocations": self.allocations}


def test_place_lays_a_new_vpc_in_the_preview_and_never_allocates():
    ec2 = FakeEc2(preview="10.64.64.0/18")
    placed = ipam.place(plan_network(parse_spec(spec()), ZONES), ec2)
    assert placed["cidr"] == "10.64.64.0/18"
    assert [c[1]["PreviewNextCidr"] for c in ec2.calls] == [True]


def test_place_keeps_the_existing_vpc_cidr_for_growth(monkeypatch):
    vpc = {"VpcId": "vpc-0123456789abcdef0", "CidrBlock": "10.64.0.0/18"}
    monkeypatch.setattr(ipam.inventory, "vpcs_named", lambda ec2, name: [vpc])
    ec2 = FakeEc2(preview="10.64.64.0/18")
    assert ipam.place(plan_network(parse_spec(spec()), ZONES), ec2)["cidr"] == "10.64.0.0/18"
    assert ec2.calls == []  # growth asks the pool for nothing


@pytest.mark.parametrize(
    ("code", "field"),
    [("InvalidIpamPoolId.NotFound", "cidr.ipamPoolId"), ("InvalidParameterValue", "cidr.netmaskLength")],
)
def test_a_pool_that_refuses_is_invalid_spec(code, field):
    with pytest.raises(InvalidSpec) as exc:
        ipam.preview(FakeEc2(error=code), POOL, 18)
    assert exc.value.field == field


def test_allocated_is_none_for_the_planned_block_and_the_relocated_plan_otherwise():
    plan = relocate(plan_network(parse_spec(spec()), ZONES), "10.64.0.0/18")
    assert ipam.allocated(plan, {"CidrBlock": "10.64.0.0/18"}) is None
    other = ipam.allocated(plan, {"CidrBlock": "10.64.64.0/18"})
    assert other is not None and other["cidr"] == "10.64.64.0/18"
    plain = plan_network(parse_spec(spec(cidr="10.1.0.0/16")), ZONES)
    assert ipam.allocated(plain, {"CidrBlock": "10.1.0.0/16"}) is None


def test_allocation_status_says_released_or_pending():
    ec2 = FakeEc2()
    assert ipam.allocation_status(ec2, POOL, "vpc-1")["state"] == "released"
    ec2.allocations = [{"ResourceId": "vpc-1", "ResourceType": "vpc", "Cidr": "10.64.0.0/18"}]
    status = ipam.allocation_status(ec2, POOL, "vpc-1")
    assert status["state"] == "pending-release" and status["cidr"] == "10.64.0.0/18"
    assert ipam.pool_of({"Tags": [{"Key": ipam.TAG_IPAM_POOL, "Value": POOL}]}) == POOL
    assert ipam.pool_of({}) is None


# -- the embedded emulator's fixture for the pool an example names -----------------------------


def test_fixtures_make_one_pool_per_placeholder_and_put_its_id_everywhere():
    from types import SimpleNamespace

    from vpcfactory_tools.emulator import fixtures

    made: list[str] = []

    class Ec2:
        meta = SimpleNamespace(region_name="us-east-1")

        def create_ipam(self, **kwargs: Any) -> dict[str, Any]:
            return {"Ipam": {"PrivateDefaultScopeId": "ipam-scope-1"}}

        def create_ipam_pool(self, **kwargs: Any) -> dict[str, Any]:
            made.append(kwargs["IpamScopeId"])
            return {"IpamPool": {"IpamPoolId": f"ipam-pool-{len(made):017x}"}}

        def provision_ipam_pool_cidr(self, **kwargs: Any) -> dict[str, Any]:
            return {}

    other: list[str] = [POOL, "ipam-pool-xyz", "10.0.0.0/8"]
    payload: dict[str, Any] = {"spec": spec(), "other": other}
    replaced, lines = fixtures.provide(lambda service: Ec2(), payload)
    assert replaced["spec"]["cidr"]["ipamPoolId"] == replaced["other"][0] == "ipam-pool-00000000000000001"
    assert replaced["other"][1:] == ["ipam-pool-xyz", "10.0.0.0/8"]  # not a placeholder: left alone
    assert len(made) == 1 and len(lines) == 1 and POOL in lines[0]
    assert payload["spec"]["cidr"]["ipamPoolId"] == POOL  # the input is not changed


def test_a_transit_route_inside_the_block_the_vpc_got_instead_of_the_preview_is_refused():
    # Given routes checked against the preview (10.64.0.0/18): 10.64.64.0/18 was outside it
    gateway = {"id": "tgw-0123456789abcdef0", "routes": ["10.64.64.0/18", "pl-0123456789abcdef0"]}
    plan = relocate(plan_network(parse_spec(spec(transitGateway=gateway)), ZONES), "10.64.0.0/18")
    assert ipam.allocated(plan, {"CidrBlock": "10.64.128.0/18"}) is not None  # another block: fine

    # When the pool gave the VPC that very block, the route would point inside the VPC: refused, by field
    with pytest.raises(InvalidSpec) as refused_route:
        ipam.allocated(plan, {"CidrBlock": "10.64.64.0/18"})
    assert refused_route.value.field == "transitGateway.routes[0]"
