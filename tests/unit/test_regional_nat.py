"""Regional NAT gateways (issue 14): the spec, the plan, its cost, the plan view, the diagram model,
growth's refusals and Verify's mode check. Pure: no AWS call."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from vpcfactory import nat_modes
from vpcfactory.cfn_properties import coerce_spec
from vpcfactory.errors import InvalidSpec
from vpcfactory.growth import diff
from vpcfactory.inventory import NAT, ROUTE_TABLE, SUBNET, Snapshot
from vpcfactory.plan import plan_network
from vpcfactory.pricing import prices
from vpcfactory.spec import parse_spec
from vpcfactory_tools.diagram import network_from_plan
from vpcfactory_tools.plan_view import address_space, summarize, warnings

from .test_plan import region_zones

ZONES = region_zones()
EIPS = ["eipalloc-0000000a", "eipalloc-0000000b", "eipalloc-0000000c"]
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "connected.yaml"


def spec(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "connected",
        "cidr": "10.40.0.0/16",
        "availabilityZones": 3,
        "natGateways": "regional",
        "tiers": [
            {"name": "app", "type": "private", "prefixLength": 20},
            {"name": "data", "type": "isolated", "prefixLength": 24},
        ],
        **overrides,
    }


def plan(raw: dict[str, Any]) -> dict[str, Any]:
    return dict(plan_network(parse_spec(raw), ZONES))


def rejected(raw: dict[str, Any]) -> InvalidSpec:
    with pytest.raises(InvalidSpec) as caught:
        parse_spec(raw)
    return caught.value


# -- spec --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "nat",
    [
        "regional",
        {"mode": "regional"},
        {"mode": "regional", "eipAllocationIds": EIPS},
        {"mode": "regional", "count": None},
    ],
)
def test_regional_is_accepted_without_a_public_tier_and_round_trips(nat):
    parsed = parse_spec(spec(natGateways=nat))
    assert parsed.nat_mode == "regional" and parsed.nat_gateway_count == 1
    assert parse_spec(parsed.to_dict()) == parsed
    assert parsed.to_dict()["natGateways"]["count"] is None


def test_brought_eips_are_one_per_zone_in_zone_order():
    parsed = parse_spec(spec(natGateways={"mode": "regional", "eipAllocationIds": EIPS}))
    assert parsed.eip_allocation_ids == tuple(EIPS)
    error = rejected(spec(natGateways={"mode": "regional", "eipAllocationIds": EIPS[:1]}))
    assert error.field == "natGateways.eipAllocationIds"
    assert "one per zone" in str(error)


@pytest.mark.parametrize(
    ("nat", "field"),
    [
        ({"mode": "regional", "count": 1}, "natGateways.count"),
        (
            {"mode": "regional", "eipAllocationIds": ["eipalloc-0000000a", "nope", "eipalloc-0000000c"]},
            "natGateways.eipAllocationIds[1]",
        ),
        ({"mode": "regional", "eipAllocationIds": [EIPS[0], EIPS[0], EIPS[1]]}, "natGateways.eipAllocationIds[1]"),
        ({"mode": "Regional"}, "natGateways.mode"),
    ],
)
def test_bad_regional_specs_are_rejected_naming_the_field(nat, field):
    assert rejected(spec(natGateways=nat)).field == field


def test_regional_without_a_private_tier_is_refused_since_nothing_would_route_through_it():
    error = rejected(spec(tiers=[{"name": "data", "type": "isolated", "prefixLength": 24}]))
    assert error.field == "natGateways" and "no tier would route" in str(error)


def test_a_zonal_nat_without_a_public_tier_is_still_refused():
    assert "public tier" in str(rejected(spec(natGateways="single")))


def test_custom_resource_properties_keep_regional_a_string():
    raw = coerce_spec(spec(natGateways={"mode": "regional", "eipAllocationIds": EIPS}, availabilityZones="3"))
    assert parse_spec(raw).nat_mode == "regional"


def test_the_connected_example_uses_a_regional_nat():
    assert parse_spec(yaml.safe_load(EXAMPLE.read_text())).nat_mode == "regional"


# -- plan --------------------------------------------------------------------------------------


def test_the_plan_has_one_regional_nat_an_igw_and_every_private_table_routes_to_it():
    p = plan(spec())
    assert p["natGateways"] == [
        {
            "logicalId": "nat/regional",
            "az": None,
            "subnet": None,
            "eip": None,
            "eipAllocationId": None,
            "name": "connected-nat-regional",
            "availabilityMode": "regional",
            "zoneAddresses": [],
        }
    ]
    assert p["internetGateway"] == {"logicalId": "igw", "name": "connected-igw"}
    private = [t for t in p["routeTables"] if t["type"] == "private"]
    assert [t["logicalId"] for t in private] == ["rtb/app"]  # one NAT: one table for the tier, every zone
    assert all(t["defaultRoute"] == {"target": "nat", "nat": "nat/regional"} for t in private)
    assert [t["defaultRoute"] for t in p["routeTables"] if t["type"] == "isolated"] == [None]
    assert not any(s["type"] == "public" for s in p["subnets"])


def test_brought_eips_become_zone_addresses_by_zone_id():
    p = plan(spec(natGateways={"mode": "regional", "eipAllocationIds": EIPS}))
    zones = p["availabilityZones"]
    assert p["natGateways"][0]["zoneAddresses"] == [
        {"availabilityZone": z["name"], "availabilityZoneId": z["zoneId"], "allocationIds": [eip]}
        for z, eip in zip(zones, EIPS, strict=True)
    ]
    args = nat_modes.create_args(p["natGateways"][0], "vpc-12345678")
    assert args == {
        "AvailabilityMode": "regional",
        "VpcId": "vpc-12345678",
        "AvailabilityZoneAddresses": [
            {"AvailabilityZoneId": z["zoneId"], "AllocationIds": [eip]} for z, eip in zip(zones, EIPS, strict=True)
        ],
    }
    assert nat_modes.create_args(plan(spec())["natGateways"][0], "vpc-12345678") == {
        "AvailabilityMode": "regional",
        "VpcId": "vpc-12345678",
    }


def test_zonal_nats_say_they_are_zonal():
    tiers = [{"name": "edge", "type": "public", "prefixLength": 24}, *spec()["tiers"]]
    p = plan(spec(natGateways="per-az", tiers=tiers))
    assert [n["availabilityMode"] for n in p["natGateways"]] == ["zonal"] * 3


def test_a_regional_nat_is_priced_per_zone_beside_the_zonal_modes():
    table = prices()
    hours = table["hoursPerMonth"]
    for zones in (1, 2, 3):
        p = plan(spec(availabilityZones=zones))
        nat = round(zones * table["natGatewayHourly"] * hours, 2)
        eip = round(zones * table["publicIpv4Hourly"] * hours, 2)
        assert p["monthlyCostUsd"] == {"natGateways": nat, "elasticIps": eip, "total": round(nat + eip, 2)}
        compare = p["costComparison"]
        assert compare["chosen"] == "regional"
        assert set(compare) >= {"none", "single", "per-az", "regional"}
        assert compare["regional"] == p["monthlyCostUsd"]
    byo = plan(spec(natGateways={"mode": "regional", "eipAllocationIds": EIPS}))
    assert byo["monthlyCostUsd"]["elasticIps"] == 0


def test_the_plan_view_names_the_regional_nat_and_its_price_beside_the_others():
    p = plan(spec())
    text = summarize(p)
    assert "NAT gateways: 1 regional" in text
    assert "regional NAT" in text  # the tier's routes
    modes = next(line for line in text.splitlines() if line.startswith("NAT modes per month"))
    for mode in ("none", "single", "per-az", "regional"):
        assert f"{mode} $" in modes
    assert "billed per zone" in modes
    zonal_warnings = [w for w in warnings(parse_spec(spec()), p, address_space(parse_spec(spec()), p)) if "NAT" in w]
    assert zonal_warnings == []


def test_the_diagram_draws_the_regional_nat_in_no_subnet():
    network = network_from_plan(plan(spec()))
    (nat,) = network.nats
    assert nat.regional and nat.subnet is None and nat.key == "nat/regional"
    assert all(s.ipv4_route == "nat/regional" for s in network.subnets.values() if s.tier == "app")


# -- growth and verify -------------------------------------------------------------------------


def test_growth_refuses_a_switch_between_zonal_and_regional():
    planned = plan(spec())["natGateways"]
    live = {"nat/us-east-1a": {"NatGatewayId": "nat-1", "AvailabilityMode": "zonal", "State": "available"}}
    refusals = nat_modes.growth_refusals(planned, live)
    assert refusals and "zonal" in refusals[0] and "regional" in refusals[0]
    # and back
    tiers = [{"name": "edge", "type": "public", "prefixLength": 24}, *spec()["tiers"]]
    zonal = plan(spec(natGateways="single", tiers=tiers))["natGateways"]
    live = {"nat/regional": {"NatGatewayId": "nat-2", "AvailabilityMode": "regional", "State": "available"}}
    assert nat_modes.growth_refusals(zonal, live)


def test_growth_of_an_automatic_regional_nat_refuses_nothing_and_manual_mode_names_a_missing_eip():
    automatic = plan(spec())["natGateways"]
    live = {"nat/regional": {"NatGatewayId": "nat-2", "AvailabilityMode": "regional", "NatGatewayAddresses": []}}
    assert nat_modes.growth_refusals(automatic, live) == []
    manual = plan(spec(natGateways={"mode": "regional", "eipAllocationIds": EIPS}))["natGateways"]
    held = {**live["nat/regional"], "NatGatewayAddresses": [{"AllocationId": e} for e in EIPS[:2]]}
    (refusal,) = nat_modes.growth_refusals(manual, {"nat/regional": held})
    assert EIPS[2] in refusal


def test_verify_reports_a_nat_in_the_wrong_mode_or_without_its_brought_eips():
    nat = plan(spec(natGateways={"mode": "regional", "eipAllocationIds": EIPS}))["natGateways"][0]
    good = {
        "NatGatewayId": "nat-2",
        "VpcId": "vpc-1",
        "AvailabilityMode": "regional",
        "NatGatewayAddresses": [{"AllocationId": e} for e in EIPS],
    }
    assert nat_modes.mode_problems(nat, good) == []
    assert "is zonal" in nat_modes.mode_problems(nat, {**good, "AvailabilityMode": "zonal"})[0]
    short = {**good, "NatGatewayAddresses": good["NatGatewayAddresses"][:1]}
    assert EIPS[1] in nat_modes.mode_problems(nat, short)[0]


def test_diff_names_the_mode_switch_of_a_live_vpc():
    """growth.diff, pure: a live single zonal NAT, a plan asking for regional."""
    tiers = [{"name": "edge", "type": "public", "prefixLength": 24}, *spec()["tiers"]]
    zonal_plan = plan(spec(natGateways="single", tiers=tiers))
    regional_plan = copy.deepcopy(plan(spec(tiers=tiers)))
    live_nat = {"NatGatewayId": "nat-1", "VpcId": "vpc-1", "State": "available", "AvailabilityMode": "zonal"}
    snap = Snapshot(
        vpc_id="vpc-1",
        scope=None,
        items={"vpc": [{"VpcId": "vpc-1", "CidrBlock": "10.40.0.0/16"}]},
        ours={NAT.name: {zonal_plan["natGateways"][0]["logicalId"]: live_nat}, SUBNET.name: {}, ROUTE_TABLE.name: {}},
    )
    refused = diff(regional_plan, snap)["refused"]  # type: ignore[arg-type]
    assert any("would be removed" in r for r in refused)
    assert any("the spec asks for regional" in r for r in refused)
