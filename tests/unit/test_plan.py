"""plan_network and allocate: CIDR layout, stability, zones, NATs and route tables. Pure: no AWS."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from vpcfactory.errors import InvalidSpec
from vpcfactory.plan import plan_network, summarize
from vpcfactory.spec import parse_spec

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def region_zones(region: str = "us-east-1", short: str = "use1") -> list[dict[str, Any]]:
    """What DescribeAvailabilityZones returns: 6 usable zones plus two that must be skipped.

    Zone IDs deliberately do not follow the names (they differ per account on AWS), and the list
    is not sorted, to prove the plan sorts by name.
    """
    usable = [
        {
            "ZoneName": f"{region}{letter}",
            "ZoneId": f"{short}-az{az}",
            "State": "available",
            "ZoneType": "availability-zone",
            "RegionName": region,
        }
        for letter, az in zip("fbadeg", (3, 6, 1, 4, 2, 5), strict=True)
    ]
    local = {
        "ZoneName": f"{region}-bos-1a",
        "ZoneId": f"{short}-bos1-az1",
        "State": "available",
        "ZoneType": "local-zone",
        "RegionName": region,
    }  # sorts before "a": must not be chosen
    impaired = {
        "ZoneName": f"{region}c",
        "ZoneId": f"{short}-az9",
        "State": "impaired",
        "ZoneType": "availability-zone",
        "RegionName": region,
    }
    return [usable[0], local, *usable[1:3], impaired, *usable[3:]]


# The usable zones in name order: a, b, d, e, f, g (c is impaired, bos-1a is a local zone).
AZS = ["us-east-1a", "us-east-1b", "us-east-1d", "us-east-1e", "us-east-1f", "us-east-1g"]


def load(name: str) -> dict[str, Any]:
    return yaml.safe_load((EXAMPLES / name).read_text())


def plan(raw: dict[str, Any], zones: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return plan_network(parse_spec(raw), region_zones() if zones is None else zones)


def spec(tiers: list[dict[str, Any]], azs: int = 3, nat: Any = "single", **extra: Any) -> dict[str, Any]:
    return {
        "name": "test",
        "cidr": "10.0.0.0/16",
        "availabilityZones": azs,
        "natGateways": nat,
        "tiers": tiers,
        **extra,
    }


def cidrs(p: dict[str, Any]) -> dict[str, str]:
    return {s["logicalId"]: s["cidr"] for s in p["subnets"]}


def tables(p: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["logicalId"]: t for t in p["routeTables"]}


PUBLIC_24 = {"name": "public", "type": "public", "prefixLength": 24}
PRIVATE_20 = {"name": "private", "type": "private", "prefixLength": 20}
ISOLATED_24 = {"name": "database", "type": "isolated", "prefixLength": 24}


# -- the examples --------------------------------------------------------------------------------


def test_the_seed_example_plans_exactly_the_seed_posts_cidrs():
    p = plan(load("seed.yaml"))
    assert cidrs(p) == {
        "subnet/public/us-east-1a": "10.0.1.0/24",
        "subnet/public/us-east-1b": "10.0.2.0/24",
        "subnet/private/us-east-1a": "10.0.11.0/24",
        "subnet/private/us-east-1b": "10.0.12.0/24",
        "subnet/database/us-east-1a": "10.0.21.0/24",
        "subnet/database/us-east-1b": "10.0.22.0/24",
    }
    # Like the seed: one NAT, in the first zone, and every non-public subnet routes through it.
    assert [n["logicalId"] for n in p["natGateways"]] == ["nat/us-east-1a"]
    private_routes = [t["defaultRoute"] for t in p["routeTables"] if t["type"] == "private"]
    assert private_routes == [{"target": "nat", "nat": "nat/us-east-1a"}] * 4
    assert p["tags"] == {"Environment": "Production", "ManagedBy": "vpcfactory"}
    assert p["monthlyCostUsd"] == {"natGateways": 32.85, "elasticIps": 3.65, "total": 36.5}


def test_the_production_example_plans_nine_subnets_over_three_zones():
    p = plan(load("production.yaml"))
    assert len(p["subnets"]) == 9
    assert [z["name"] for z in p["availabilityZones"]] == AZS[:3]
    assert [s["cidr"] for s in p["subnets"]] == [
        "10.0.0.0/24",
        "10.0.1.0/24",
        "10.0.2.0/24",
        "10.0.16.0/20",
        "10.0.32.0/20",
        "10.0.48.0/20",
        "10.0.80.0/24",
        "10.0.81.0/24",
        "10.0.82.0/24",
    ]
    assert len(p["natGateways"]) == 3
    assert p["monthlyCostUsd"] == {"natGateways": 98.55, "elasticIps": 10.95, "total": 109.5}


def test_a_subnet_carries_every_field_the_build_handlers_read():
    p = plan(load("production.yaml"))
    assert p["subnets"][3] == {
        "logicalId": "subnet/private/us-east-1a",
        "tier": "private",
        "type": "private",
        "az": "us-east-1a",
        "azIndex": 0,
        "cidr": "10.0.16.0/20",
        "name": "production-private-us-east-1a",
        "mapPublicIpOnLaunch": False,
        "tags": {"Tier": "app"},
        "routeTable": "rtb/private/us-east-1a",
    }
    assert p["vpc"] == {"logicalId": "vpc", "name": "production"}
    assert p["internetGateway"] == {"logicalId": "igw", "name": "production-igw"}
    assert p["natGateways"][1] == {
        "logicalId": "nat/us-east-1b",
        "az": "us-east-1b",
        "subnet": "subnet/public/us-east-1b",
        "eip": "eip/us-east-1b",
        "eipAllocationId": None,
        "name": "production-nat-us-east-1b",
    }


# -- zones ---------------------------------------------------------------------------------------


def test_local_and_impaired_zones_are_never_chosen():
    p = plan(spec([PUBLIC_24], azs=6))
    assert [z["name"] for z in p["availabilityZones"]] == AZS
    assert p["availabilityZones"][0] == {"name": "us-east-1a", "zoneId": "use1-az1"}


def test_asking_for_more_zones_than_the_region_has_names_the_count():
    zones = [z for z in region_zones() if z["ZoneName"] not in AZS[3:]]
    with pytest.raises(InvalidSpec) as exc:
        plan(spec([PUBLIC_24], azs=4), zones)
    assert exc.value.field == "availabilityZones"
    assert "asks for 4 zones but us-east-1 has 3 available" in exc.value.reason


def test_zones_given_by_id_are_resolved_and_kept_in_the_order_given():
    p = plan(spec([PUBLIC_24], azs=["use1-az4", "use1-az1"]))
    assert p["availabilityZones"] == [
        {"name": "us-east-1d", "zoneId": "use1-az4"},
        {"name": "us-east-1a", "zoneId": "use1-az1"},
    ]
    assert [s["az"] for s in p["subnets"]] == ["us-east-1d", "us-east-1a"]


@pytest.mark.parametrize("missing", ["us-east-1c", "us-east-1z", "us-west-2a", "us-east-1-bos-1a"])
def test_a_zone_name_that_is_not_available_names_its_list_index(missing):
    with pytest.raises(InvalidSpec) as exc:
        plan(spec([PUBLIC_24], azs=["us-east-1a", missing]))
    assert exc.value.field == "availabilityZones[1]"


@pytest.mark.parametrize("missing", ["use1-az9", "use1-az7"], ids=["impaired", "unknown"])
def test_a_zone_id_that_is_not_available_names_its_list_index(missing):
    with pytest.raises(InvalidSpec) as exc:
        plan(spec([PUBLIC_24], azs=["use1-az1", missing]))
    assert exc.value.field == "availabilityZones[1]"


# -- allocation ----------------------------------------------------------------------------------


def test_a_tier_that_does_not_fit_names_the_tier_and_the_shortfall():
    # Given a /20 VPC: a /24 tier reserves 4 x 256 addresses, then a /22 tier would need 4 x 1024.
    raw = spec([PUBLIC_24, {"name": "app", "type": "private", "prefixLength": 22}], cidr="10.0.0.0/20")
    with pytest.raises(InvalidSpec) as exc:
        parse_spec(raw)  # rejected before any AWS call: the layout does not depend on the region
    assert exc.value.field == "tiers[1].prefixLength"
    assert "'app' needs 4 x /22 = 4096 addresses" in exc.value.reason
    assert "only 3072 are free" in exc.value.reason
    assert "lower azReservation or the prefix length" in exc.value.reason


def test_a_smaller_reservation_makes_the_same_tiers_fit():
    raw = spec(
        [PUBLIC_24, {"name": "app", "type": "private", "prefixLength": 22}],
        cidr="10.0.0.0/20",
        azReservation=3,
    )
    assert cidrs(plan(raw))["subnet/app/us-east-1a"] == "10.0.4.0/22"


def test_blocks_are_aligned_to_their_subnet_size_and_reserve_room_for_every_zone():
    p = plan(spec([{"name": "edge", "type": "public", "prefixLength": 28}, PRIVATE_20], azs=2))
    # edge reserves 4 x /28 (10.0.0.0-10.0.0.63); the /20 block starts at the next /20 boundary.
    assert [s["cidr"] for s in p["subnets"]] == [
        "10.0.0.0/28",
        "10.0.0.16/28",
        "10.0.16.0/20",
        "10.0.32.0/20",
    ]


def test_a_block_skips_over_an_earlier_tiers_explicit_cidrs():
    raw = spec(
        [
            {"name": "public", "type": "public", "cidrs": ["10.0.0.0/24", "10.0.1.0/24"]},
            {"name": "app", "type": "private", "prefixLength": 24},
        ],
        azs=2,
    )
    assert [c for k, c in cidrs(plan(raw)).items() if k.startswith("subnet/app/")] == [
        "10.0.2.0/24",
        "10.0.3.0/24",
    ]


def test_an_explicit_cidr_inside_an_earlier_tiers_reserved_block_names_both():
    # app's block is 10.0.0.0-10.0.3.255; two zones use .0 and .1, but .3 is reserved for a 4th zone.
    raw = spec(
        [
            {"name": "app", "type": "private", "prefixLength": 24},
            {"name": "public", "type": "public", "cidrs": ["10.0.9.0/24", "10.0.3.0/24"]},
        ],
        azs=2,
    )
    with pytest.raises(InvalidSpec) as exc:
        parse_spec(raw)
    assert exc.value.field == "tiers[1].cidrs[1]"
    assert "'app'" in exc.value.reason


def test_overlapping_explicit_cidrs_are_reported_on_the_later_one():
    raw = spec(
        [
            {"name": "public", "type": "public", "cidrs": ["10.0.0.0/24", "10.0.1.0/24"]},
            {"name": "app", "type": "private", "cidrs": ["10.0.2.0/24", "10.0.1.128/25"]},
        ],
        azs=2,
    )
    with pytest.raises(InvalidSpec) as exc:
        parse_spec(raw)
    assert exc.value.field == "tiers[1].cidrs[1]"
    assert "'public'" in exc.value.reason


def test_one_tier_cannot_list_the_same_cidr_twice():
    raw = spec([{"name": "public", "type": "public", "cidrs": ["10.0.0.0/24", "10.0.0.0/24"]}], azs=2)
    with pytest.raises(InvalidSpec) as exc:
        parse_spec(raw)
    assert exc.value.field == "tiers[0].cidrs[1]"


# -- stability -----------------------------------------------------------------------------------

# Spec families by zone count n: each must keep every subnet's CIDR when n grows (up to R).
FAMILIES: dict[str, tuple[Callable[[int], dict[str, Any]], int]] = {
    "three tiers, default reservation": (lambda n: spec([PUBLIC_24, PRIVATE_20, ISOLATED_24], azs=n), 4),
    "mixed sizes, reservation 6": (
        lambda n: spec(
            [
                {"name": "a", "type": "public", "prefixLength": 26},
                {"name": "b", "type": "private", "prefixLength": 22},
                {"name": "c", "type": "isolated", "prefixLength": 28},
                {"name": "d", "type": "private", "prefixLength": 24},
            ],
            azs=n,
            azReservation=6,
        ),
        6,
    ),
    "explicit tier first, grown outside later blocks": (
        lambda n: spec(
            [
                {
                    "name": "edge",
                    "type": "public",
                    "cidrs": ["10.0.0.0/24", *(f"10.0.{200 + k}.0/24" for k in range(n - 1))],
                },
                PRIVATE_20,
                ISOLATED_24,
            ],
            azs=n,
        ),
        4,
    ),
    "per-az NAT, eight zones reserved": (
        lambda n: spec([PUBLIC_24, PRIVATE_20], azs=n, nat="per-az", azReservation=8),
        6,
    ),
}


@pytest.mark.parametrize("family", FAMILIES)
def test_adding_a_zone_keeps_every_existing_subnets_cidr(family):
    make_spec, reservation = FAMILIES[family]
    for n in range(1, reservation):
        before, after = cidrs(plan(make_spec(n))), cidrs(plan(make_spec(n + 1)))
        assert len(after) == len(before) + len(make_spec(n)["tiers"])
        assert {k: after[k] for k in before} == before, f"{n} -> {n + 1} zones renumbered a subnet"


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize(
    "new_tier",
    [
        {"name": "extra", "type": "isolated", "prefixLength": 26},
        {"name": "extra", "type": "private", "prefixLength": 21},
        {
            "name": "extra",
            "type": "isolated",
            "cidrs": ["10.0.250.0/26", "10.0.250.64/26", "10.0.250.128/26"],
        },
    ],
    ids=["small block", "large block", "explicit"],
)
def test_appending_a_tier_keeps_every_existing_subnets_cidr(family, new_tier):
    base = FAMILIES[family][0](3)
    grown = copy.deepcopy(base)
    grown["tiers"].append(new_tier)
    before, after = cidrs(plan(base)), cidrs(plan(grown))
    assert {k: after[k] for k in before} == before


def test_an_explicit_cidr_added_where_a_later_block_sat_moves_that_block():
    # The documented limit of the rule: blocks only avoid *earlier* explicit CIDRs, so growing an
    # explicit tier into the next free addresses pushes the following block along.
    one = plan(spec([{"name": "edge", "type": "public", "cidrs": ["10.0.0.0/24"]}, ISOLATED_24], azs=1))
    two = plan(
        spec(
            [{"name": "edge", "type": "public", "cidrs": ["10.0.0.0/24", "10.0.1.0/24"]}, ISOLATED_24], azs=2
        )
    )
    assert cidrs(one)["subnet/database/us-east-1a"] == "10.0.1.0/24"
    assert cidrs(two)["subnet/database/us-east-1a"] == "10.0.2.0/24"


def test_the_same_input_always_gives_the_same_plan():
    raw = load("production.yaml")
    first = plan(raw)
    shuffled = list(reversed(region_zones()))
    assert plan(copy.deepcopy(raw)) == first
    assert plan(raw, shuffled) == first
    assert json.loads(json.dumps(first)) == first  # JSON-able: it travels through Step Functions


# -- NAT gateways and route tables ---------------------------------------------------------------


def test_per_az_nats_route_each_private_subnet_through_the_nat_in_its_own_zone():
    p = plan(spec([PUBLIC_24, PRIVATE_20], nat="per-az"))
    assert [n["subnet"] for n in p["natGateways"]] == [f"subnet/public/{az}" for az in AZS[:3]]
    for az in AZS[:3]:
        assert tables(p)[f"rtb/private/{az}"]["defaultRoute"] == {"target": "nat", "nat": f"nat/{az}"}


def test_a_single_nat_sits_in_the_first_zone_and_every_private_subnet_uses_it():
    p = plan(spec([PUBLIC_24, PRIVATE_20], nat="single"))
    assert [n["logicalId"] for n in p["natGateways"]] == ["nat/us-east-1a"]
    routes = {t["az"]: t["defaultRoute"] for t in p["routeTables"] if t["tier"] == "private"}
    assert routes == {az: {"target": "nat", "nat": "nat/us-east-1a"} for az in AZS[:3]}


def test_nats_live_in_the_first_public_tier():
    p = plan(
        spec([{"name": "dmz", "type": "public", "prefixLength": 26}, PUBLIC_24, PRIVATE_20], nat="per-az")
    )
    assert {n["subnet"].split("/")[1] for n in p["natGateways"]} == {"dmz"}


def test_without_nat_gateways_private_tables_have_no_default_route():
    p = plan(spec([PUBLIC_24, PRIVATE_20], nat="none"))
    assert p["natGateways"] == []
    assert [t["defaultRoute"] for t in p["routeTables"] if t["tier"] == "private"] == [None] * 3
    assert p["monthlyCostUsd"] == {"natGateways": 0, "elasticIps": 0, "total": 0}


def test_an_isolated_tier_has_one_table_and_no_default_route():
    p = plan(spec([PUBLIC_24, PRIVATE_20, ISOLATED_24], nat="per-az"))
    db = tables(p)["rtb/database"]
    assert db["defaultRoute"] is None and db["az"] is None
    assert db["subnets"] == [f"subnet/database/{az}" for az in AZS[:3]]
    assert db["name"] == "test-database"


def test_a_public_tier_has_one_table_routed_to_the_internet_gateway():
    p = plan(spec([PUBLIC_24, PRIVATE_20]))
    public = tables(p)["rtb/public"]
    assert public["defaultRoute"] == {"target": "igw"} and public["name"] == "test-public"
    assert tables(p)["rtb/private/us-east-1b"]["name"] == "test-private-us-east-1b"


def test_every_subnet_is_in_exactly_the_route_table_it_names():
    p = plan(load("production.yaml"))
    members = [(logical, t["logicalId"]) for t in p["routeTables"] for logical in t["subnets"]]
    assert sorted(members) == sorted((s["logicalId"], s["routeTable"]) for s in p["subnets"])
    for t in p["routeTables"]:
        assert {s["tier"] for s in p["subnets"] if s["logicalId"] in t["subnets"]} == {t["tier"]}


def test_a_vpc_without_a_public_tier_has_no_internet_gateway_and_no_nat():
    p = plan(spec([PRIVATE_20, ISOLATED_24], nat=None))
    assert p["internetGateway"] is None and p["natGateways"] == []


def test_bring_your_own_eips_are_used_and_not_charged_again():
    ids = ["eipalloc-0123456789abcdef0", "eipalloc-0123456789abcdef1", "eipalloc-0123456789abcdef2"]
    p = plan(spec([PUBLIC_24, PRIVATE_20], nat={"mode": "per-az", "eipAllocationIds": ids}))
    assert [n["eipAllocationId"] for n in p["natGateways"]] == ids
    assert p["monthlyCostUsd"] == {"natGateways": 98.55, "elasticIps": 0, "total": 98.55}


def test_five_zones_reserve_room_for_six_by_default():
    assert plan(spec([PUBLIC_24], azs=5))["azReservation"] == 6


def test_the_summary_shows_every_cidr_the_nat_placement_and_the_cost():
    p = plan(load("production.yaml"))
    text = summarize(p)
    for sub in p["subnets"]:
        assert sub["cidr"] in text
    assert "NAT in its own zone" in text and "internet gateway" in text
    assert "$109.50" in text
