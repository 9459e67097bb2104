"""plan_network and allocate (spec.py): CIDR layout, stability, zones, NATs and route tables. Pure: no AWS."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

import vpcfactory.pricing
from vpcfactory.errors import InvalidSpec
from vpcfactory.plan import plan_network
from vpcfactory.spec import parse_spec
from vpcfactory_tools.plan_view import summarize

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


def spec(tiers: list[dict[str, Any]], azs: int = 3, nat: Any = None, **extra: Any) -> dict[str, Any]:
    """A spec of these tiers; natGateways left to its default (single with a private tier) unless given."""
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
    # Like the seed: one NAT, in the first zone, and every non-public subnet routes through it
    # (one route table per private tier: with one NAT every zone routes alike).
    assert [n["logicalId"] for n in p["natGateways"]] == ["nat/us-east-1a"]
    private_routes = {t["logicalId"]: t["defaultRoute"] for t in p["routeTables"] if t["type"] == "private"}
    assert private_routes == dict.fromkeys(["rtb/private", "rtb/database"], {"target": "nat", "nat": "nat/us-east-1a"})
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
        "ipv6Index": None,
        "assignIpv6AddressOnCreation": False,
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
        "availabilityMode": "zonal",
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
    two = plan(spec([{"name": "edge", "type": "public", "cidrs": ["10.0.0.0/24", "10.0.1.0/24"]}, ISOLATED_24], azs=2))
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


def test_a_single_nat_sits_in_the_first_zone_and_every_private_subnet_uses_it_through_one_table():
    p = plan(spec([PUBLIC_24, PRIVATE_20], nat="single"))
    assert [n["logicalId"] for n in p["natGateways"]] == ["nat/us-east-1a"]
    private = [t for t in p["routeTables"] if t["tier"] == "private"]
    assert [(t["logicalId"], t["az"], t["name"]) for t in private] == [("rtb/private", None, "test-private")]
    assert private[0]["defaultRoute"] == {"target": "nat", "nat": "nat/us-east-1a"}
    assert private[0]["subnets"] == [f"subnet/private/{az}" for az in AZS[:3]]
    assert {s["routeTable"] for s in p["subnets"] if s["tier"] == "private"} == {"rtb/private"}


def test_nats_in_some_zones_or_none_keep_one_private_table_per_zone():
    # natGateways: N routes zones through different NATs; none may become per-az later in place.
    for nat, routes in ((2, ["nat/us-east-1a", "nat/us-east-1b", "nat/us-east-1a"]), ("none", [None] * 3)):
        p = plan(spec([PUBLIC_24, PRIVATE_20], nat=nat))
        private = [t for t in p["routeTables"] if t["tier"] == "private"]
        assert [t["logicalId"] for t in private] == [f"rtb/private/{az}" for az in AZS[:3]]
        assert [(t["defaultRoute"] or {}).get("nat") for t in private] == routes


def test_nats_live_in_the_first_public_tier():
    p = plan(spec([{"name": "dmz", "type": "public", "prefixLength": 26}, PUBLIC_24, PRIVATE_20], nat="per-az"))
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
    assert tables(p)["rtb/private"]["name"] == "test-private"
    assert tables(plan(spec([PUBLIC_24, PRIVATE_20], nat="per-az")))["rtb/private/us-east-1b"]["name"] == (
        "test-private-us-east-1b"
    )


def test_every_subnet_is_in_exactly_the_route_table_it_names():
    p = plan(load("production.yaml"))
    members = [(logical, t["logicalId"]) for t in p["routeTables"] for logical in t["subnets"]]
    assert sorted(members) == sorted((s["logicalId"], s["routeTable"]) for s in p["subnets"])
    for t in p["routeTables"]:
        assert {s["tier"] for s in p["subnets"] if s["logicalId"] in t["subnets"]} == {t["tier"]}


def test_a_vpc_without_a_public_tier_has_no_internet_gateway_and_no_nat():
    p = plan(spec([PRIVATE_20, ISOLATED_24], nat=None))
    assert p["internetGateway"] is None and p["natGateways"] == []


def test_a_vpc_with_public_but_no_private_tiers_plans_no_nat_and_no_eip_by_default():
    # nothing would route through a NAT: public tiers use the internet gateway, isolated ones nothing
    p = plan(spec([PUBLIC_24, ISOLATED_24]))
    assert p["internetGateway"] is not None and p["natGateways"] == []
    assert p["monthlyCostUsd"] == {"natGateways": 0, "elasticIps": 0, "total": 0}
    assert p["costComparison"]["chosen"] == "none"
    # and the summary offers no NAT mode to weigh, since the spec would refuse each
    assert "NAT modes: none (no private tier would route through a NAT gateway)" in summarize(p)


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


# -- NAT gateway count: round-robin ---------------------------------------------------------------


def zones_named(letters: str, region: str = "us-east-1", with_region_name: bool = True) -> list[dict[str, Any]]:
    """Available zones <region><letter>, in the order given (the plan sorts them by name)."""
    zones = [
        {
            "ZoneName": f"{region}{x}",
            "ZoneId": f"z-az{k}",
            "State": "available",
            "ZoneType": "availability-zone",
        }
        for k, x in enumerate(letters, 1)
    ]
    if with_region_name:
        for zone in zones:
            zone["RegionName"] = region
    return zones


def nat_routes(p: dict[str, Any], tier: str = "private") -> dict[str, str]:
    return {t["az"]: t["defaultRoute"]["nat"] for t in p["routeTables"] if t["tier"] == tier}


def test_two_nats_for_three_zones_sit_in_the_first_two_and_the_third_zone_uses_the_first():
    p = plan(spec([PUBLIC_24, PRIVATE_20], azs=3, nat=2), zones_named("abc"))
    assert [n["logicalId"] for n in p["natGateways"]] == ["nat/us-east-1a", "nat/us-east-1b"]
    assert [n["subnet"] for n in p["natGateways"]] == ["subnet/public/us-east-1a", "subnet/public/us-east-1b"]
    assert nat_routes(p) == {
        "us-east-1a": "nat/us-east-1a",
        "us-east-1b": "nat/us-east-1b",
        "us-east-1c": "nat/us-east-1a",  # zone index 2 -> NAT 2 mod 2 = 0
    }
    assert "NAT in its own zone; us-east-1c via us-east-1a" in summarize(p)


def test_zones_without_a_nat_are_spread_round_robin_over_the_nats():
    p = plan(spec([PUBLIC_24, PRIVATE_20], azs=6, nat={"count": 2}, azReservation=6))
    assert nat_routes(p) == {az: f"nat/{AZS[k % 2]}" for k, az in enumerate(AZS)}
    p = plan(spec([PUBLIC_24, PRIVATE_20], azs=5, nat=3))
    assert [nat_routes(p)[az] for az in AZS[:5]] == [f"nat/{AZS[k]}" for k in (0, 1, 2, 0, 1)]


def test_zones_given_as_a_list_get_nats_in_list_order():
    p = plan(spec([PUBLIC_24, PRIVATE_20], azs=["use1-az4", "use1-az1", "use1-az2"], nat=2))
    assert [n["az"] for n in p["natGateways"]] == ["us-east-1d", "us-east-1a"]
    assert nat_routes(p)["us-east-1e"] == "nat/us-east-1d"  # use1-az2 is us-east-1e, the third zone


def test_a_count_equal_to_the_zones_puts_a_nat_in_every_zone_and_does_not_grow_with_them():
    three = plan(spec([PUBLIC_24, PRIVATE_20], azs=3, nat=3))
    assert nat_routes(three) == {az: f"nat/{az}" for az in AZS[:3]}
    four = plan(spec([PUBLIC_24, PRIVATE_20], azs=4, nat=3))
    assert len(four["natGateways"]) == 3
    assert nat_routes(four) == {**nat_routes(three), AZS[3]: f"nat/{AZS[0]}"}


def test_adding_a_zone_keeps_every_existing_nat_and_route():
    for nat in ("single", 2, "per-az"):
        before = plan(spec([PUBLIC_24, PRIVATE_20], azs=2, nat=nat))
        after = plan(spec([PUBLIC_24, PRIVATE_20], azs=3, nat=nat))
        assert after["natGateways"][: len(before["natGateways"])] == before["natGateways"]
        assert {az: nat_routes(after)[az] for az in nat_routes(before)} == nat_routes(before)


def test_natgateways_zero_plans_no_nat_and_no_private_default_route():
    p = plan(spec([PUBLIC_24, PRIVATE_20], azs=3, nat=0))
    assert p["natGateways"] == []
    assert [t["defaultRoute"] for t in p["routeTables"] if t["tier"] == "private"] == [None] * 3


# -- costs ----------------------------------------------------------------------------------------

PRICES = json.loads((Path(vpcfactory.pricing.__file__).parent / "data" / "prices.json").read_text())


def expected_cost(nats: int, allocated_eips: int) -> dict[str, float]:
    hours = PRICES["hoursPerMonth"]
    nat = round(nats * PRICES["natGatewayHourly"] * hours, 2)
    eip = round(allocated_eips * PRICES["publicIpv4Hourly"] * hours, 2)
    return {"natGateways": nat, "elasticIps": eip, "total": round(nat + eip, 2)}


def test_the_price_table_says_where_and_when_its_prices_come_from():
    assert set(PRICES) >= {
        "asOf",
        "source",
        "currency",
        "hoursPerMonth",
        "natGatewayHourly",
        "publicIpv4Hourly",
    }
    assert PRICES["currency"] == "USD" and PRICES["region"] == "us-east-1"
    assert "per GB" in PRICES["notIncluded"]
    assert vpcfactory.pricing.prices() == PRICES


def test_the_cost_comparison_prices_every_nat_mode_from_the_data_file():
    # Given two NATs for three zones, with no EIPs brought along
    p = plan(spec([PUBLIC_24, PRIVATE_20], azs=3, nat=2))
    compare = p["costComparison"]
    # Then each mode costs its NATs and one allocated public IPv4 address per NAT
    assert p["monthlyCostUsd"] == expected_cost(2, 2)
    assert compare["none"] == expected_cost(0, 0)
    assert compare["single"] == expected_cost(1, 1)
    assert compare["per-az"] == expected_cost(3, 3)
    assert compare["chosen"] == "count"
    assert compare["vsPerAz"] == round(expected_cost(2, 2)["total"] - expected_cost(3, 3)["total"], 2)
    assert compare["vsSingle"] == round(expected_cost(2, 2)["total"] - expected_cost(1, 1)["total"], 2)
    # And with today's table (0.045 and 0.005 an hour, 730 hours): one NAT + EIP is $36.50 a month
    assert (compare["vsPerAz"], compare["vsSingle"], p["monthlyCostUsd"]["total"]) == (-36.5, 36.5, 73.0)


def test_the_cost_follows_the_price_file(tmp_path, monkeypatch):
    prices_file = tmp_path / "prices.json"
    prices_file.write_text(json.dumps({**PRICES, "natGatewayHourly": 0.1, "publicIpv4Hourly": 0.01}))
    monkeypatch.setattr(vpcfactory.pricing, "PRICES_FILE", prices_file)
    vpcfactory.pricing._load_prices.cache_clear()
    try:
        p = plan(spec([PUBLIC_24, PRIVATE_20], azs=2, nat="per-az"))
    finally:
        monkeypatch.undo()
        vpcfactory.pricing._load_prices.cache_clear()
    assert p["monthlyCostUsd"] == {"natGateways": 146.0, "elasticIps": 14.6, "total": 160.6}
    assert p["costComparison"]["single"]["total"] == 80.3
    assert p["costComparison"]["vsSingle"] == 80.3 and p["costComparison"]["vsPerAz"] == 0


def test_the_comparison_of_the_chosen_mode_matches_its_own_cost():
    for nat in ("none", "single", "per-az"):
        p = plan(spec([PUBLIC_24, PRIVATE_20], azs=3, nat=nat))
        assert p["costComparison"][nat] == p["monthlyCostUsd"]
        assert p["costComparison"]["chosen"] == nat
    assert plan(spec([PUBLIC_24, PRIVATE_20], nat="per-az"))["costComparison"]["vsPerAz"] == 0


def test_brought_eips_are_not_charged_in_the_comparison_either():
    # Two EIPs of our own for two NATs: the chosen plan allocates none; per-az would allocate one more.
    ids = ["eipalloc-0123456789abcdef0", "eipalloc-0123456789abcdef1"]
    p = plan(spec([PUBLIC_24, PRIVATE_20], azs=3, nat={"count": 2, "eipAllocationIds": ids}))
    assert p["monthlyCostUsd"] == expected_cost(2, 0)
    assert p["costComparison"]["single"] == expected_cost(1, 0)
    assert p["costComparison"]["per-az"] == expected_cost(3, 1)


def test_the_summary_states_the_cost_difference_of_the_chosen_mode():
    text = summarize(plan(spec([PUBLIC_24, PRIVATE_20], azs=3, nat=2)))
    assert "Monthly fixed cost: $73.00" in text
    assert "none $0.00, single $36.50, per-az $109.50" in text
    assert "chosen 2 NAT gateways: $36.50 less than per-az, $36.50 more than single" in text
    assert f"as of {PRICES['asOf']}" in text
    none = summarize(plan(spec([PUBLIC_24, PRIVATE_20], azs=3, nat="none")))
    assert "chosen none: $109.50 less than per-az, $36.50 less than single" in none


# -- IPv6 -----------------------------------------------------------------------------------------


def v6(p: dict[str, Any]) -> dict[str, int]:
    return {s["logicalId"]: s["ipv6Index"] for s in p["subnets"]}


def test_without_ipv6_no_subnet_has_an_ipv6_index_and_no_table_an_ipv6_route():
    p = plan(load("production.yaml"))
    assert p["ipv6"] is False and p["egressOnlyInternetGateway"] is None
    assert {s["ipv6Index"] for s in p["subnets"]} == {None}
    assert {s["assignIpv6AddressOnCreation"] for s in p["subnets"]} == {False}
    assert {json.dumps(t["ipv6DefaultRoute"]) for t in p["routeTables"]} == {"null"}


def test_ipv6_indexes_are_tier_position_times_reservation_plus_zone_index():
    p = plan(spec([PUBLIC_24, PRIVATE_20, ISOLATED_24], azs=3, ipv6=True))
    assert [s["ipv6Index"] for s in p["subnets"]] == [0, 1, 2, 4, 5, 6, 8, 9, 10]
    p = plan(spec([PUBLIC_24, PRIVATE_20], azs=5, ipv6=True))  # five zones: R = 6
    assert [s["ipv6Index"] for s in p["subnets"]] == [0, 1, 2, 3, 4, 6, 7, 8, 9, 10]


def test_adding_a_zone_or_appending_a_tier_keeps_every_ipv6_index():
    for n in range(1, 4):
        before = v6(plan(spec([PUBLIC_24, PRIVATE_20, ISOLATED_24], azs=n, ipv6=True)))
        after = v6(plan(spec([PUBLIC_24, PRIVATE_20, ISOLATED_24], azs=n + 1, ipv6=True)))
        assert {k: after[k] for k in before} == before
    base = spec([PUBLIC_24, PRIVATE_20], azs=3, ipv6=True)
    grown = {**base, "tiers": [*base["tiers"], {"name": "extra", "type": "isolated", "cidrs": EXTRA_CIDRS}]}
    before, after = v6(plan(base)), v6(plan(grown))
    assert {k: after[k] for k in before} == before
    assert [after[f"subnet/extra/{az}"] for az in AZS[:3]] == [8, 9, 10]


EXTRA_CIDRS = ["10.0.250.0/26", "10.0.250.64/26", "10.0.250.128/26"]


def test_ipv6_routes_go_to_the_igw_from_public_the_eigw_from_private_and_nowhere_from_isolated():
    p = plan(spec([PUBLIC_24, PRIVATE_20, ISOLATED_24], azs=2, nat="none", ipv6=True))
    routes = {t["logicalId"]: t["ipv6DefaultRoute"] for t in p["routeTables"]}
    assert routes == {
        "rtb/public": {"target": "igw"},
        "rtb/private/us-east-1a": {"target": "eigw"},
        "rtb/private/us-east-1b": {"target": "eigw"},
        "rtb/database": None,
    }
    assert tables(p)["rtb/database"]["defaultRoute"] is None
    assert p["egressOnlyInternetGateway"] == {"logicalId": "eigw", "name": "test-eigw"}


def test_no_egress_only_gateway_without_a_private_tier():
    p = plan(spec([PUBLIC_24, ISOLATED_24], nat="none", ipv6=True))
    assert p["ipv6"] is True and p["egressOnlyInternetGateway"] is None


def test_each_subnet_carries_its_tiers_ipv6_auto_assign_setting():
    tiers = [PUBLIC_24, PRIVATE_20, {**ISOLATED_24, "assignIpv6AddressOnCreation": False}]
    p = plan(spec(tiers, azs=2, ipv6=True))
    assert {s["tier"]: s["assignIpv6AddressOnCreation"] for s in p["subnets"]} == {
        "public": True,
        "private": True,
        "database": False,
    }


# -- flow logs, gateway endpoints, default security group -----------------------------------------


def test_flow_logs_default_to_cloudwatch_with_a_named_log_group():
    assert plan(load("production.yaml"))["flowLogs"] == {
        "logicalId": "flow-log",
        "name": "production-flow-log",
        "destination": "cloud-watch-logs",
        "logGroupName": "/vpcfactory/production/flow-logs",
        "retentionDays": 365,
        "bucketArn": None,
        "prefix": None,
        "trafficType": "ALL",
        "maxAggregationInterval": 600,
    }


def test_flow_logs_to_s3_carry_the_bucket_and_prefix_and_no_log_group():
    flow = {
        "destination": "s3",
        "bucketArn": "arn:aws:s3:::org-flow-logs",
        "prefix": "vpc/",
        "trafficType": "REJECT",
    }
    p = plan(spec([PUBLIC_24], flowLogs={**flow, "maxAggregationInterval": 60}))
    assert p["flowLogs"] == {
        "logicalId": "flow-log",
        "name": "test-flow-log",
        "destination": "s3",
        "logGroupName": None,
        "retentionDays": None,
        "bucketArn": "arn:aws:s3:::org-flow-logs",
        "prefix": "vpc/",
        "trafficType": "REJECT",
        "maxAggregationInterval": 60,
    }
    assert "to S3 arn:aws:s3:::org-flow-logs prefix vpc/" in summarize(p)


def test_flow_logs_false_plans_none():
    p = plan(spec([PUBLIC_24], flowLogs=False))
    assert p["flowLogs"] is None
    assert "Flow logs: off" in summarize(p)


def test_gateway_endpoints_serve_every_private_and_isolated_route_table():
    p = plan(load("production.yaml"))
    private_and_isolated = [f"rtb/private/{az}" for az in AZS[:3]] + ["rtb/database"]
    assert p["gatewayEndpoints"] == [
        {
            "logicalId": "vpce/s3",
            "service": "s3",
            "name": "production-s3",
            "routeTables": private_and_isolated,
        },
        {
            "logicalId": "vpce/dynamodb",
            "service": "dynamodb",
            "name": "production-dynamodb",
            "routeTables": private_and_isolated,
        },
    ]


def test_gateway_endpoints_plan_the_service_and_leave_its_name_to_the_region_at_build_time():
    # In the China Regions S3's gateway service is cn.com.amazonaws.cn-north-1.s3: a name formatted
    # from the Region would be refused, so the plan holds the service key and Configure VPC asks EC2.
    p = plan(spec([PUBLIC_24, ISOLATED_24], nat="none"), zones_named("abc", "cn-north-1"))
    assert [e["service"] for e in p["gatewayEndpoints"]] == ["s3", "dynamodb"]
    assert all("serviceName" not in e for e in p["gatewayEndpoints"])
    assert "com.amazonaws" not in json.dumps(p)
    assert p["gatewayEndpoints"][0]["routeTables"] == ["rtb/database"]


def test_gateway_endpoints_can_be_turned_off_per_service_or_entirely():
    only_s3 = plan(spec([PUBLIC_24, PRIVATE_20], gatewayEndpoints={"dynamodb": False}))
    assert [e["logicalId"] for e in only_s3["gatewayEndpoints"]] == ["vpce/s3"]
    assert plan(spec([PUBLIC_24, PRIVATE_20], gatewayEndpoints=False))["gatewayEndpoints"] == []


def test_no_gateway_endpoints_without_a_private_or_isolated_route_table():
    p = plan(spec([PUBLIC_24], nat="none"))
    assert p["gatewayEndpoints"] == []
    assert "Gateway endpoints: none" in summarize(p)


def test_the_default_security_group_lockdown_is_in_the_plan():
    assert plan(spec([PUBLIC_24]))["lockDownDefaultSecurityGroup"] is True
    assert plan(spec([PUBLIC_24], lockDownDefaultSecurityGroup=False))["lockDownDefaultSecurityGroup"] is False


# -- the everything example -----------------------------------------------------------------------


def test_the_everything_example_plans_every_feature():
    p = plan(load("everything.yaml"), zones_named("abcdef"))
    azs = ["us-east-1a", "us-east-1b", "us-east-1c"]
    # NAT gateways: two for three zones, the third routed to the first.
    assert [n["az"] for n in p["natGateways"]] == azs[:2]
    assert nat_routes(p, "app") == {
        "us-east-1a": "nat/us-east-1a",
        "us-east-1b": "nat/us-east-1b",
        "us-east-1c": "nat/us-east-1a",
    }
    # IPv4 and IPv6 routes by tier type; isolated has neither.
    by_type = {t["type"]: (t["defaultRoute"], t["ipv6DefaultRoute"]) for t in p["routeTables"]}
    assert by_type["public"] == ({"target": "igw"}, {"target": "igw"})
    assert by_type["private"][1] == {"target": "eigw"}
    assert by_type["isolated"] == (None, None)
    assert p["ipv6"] is True and p["egressOnlyInternetGateway"] == {
        "logicalId": "eigw",
        "name": "everything-eigw",
    }
    assert [s["ipv6Index"] for s in p["subnets"]] == [0, 1, 2, 4, 5, 6, 8, 9, 10]
    assert {s["tier"]: s["assignIpv6AddressOnCreation"] for s in p["subnets"]} == {
        "public": True,
        "app": True,
        "data": False,
    }
    assert {s["tier"]: s["mapPublicIpOnLaunch"] for s in p["subnets"]} == {
        "public": True,
        "app": False,
        "data": False,
    }
    # Flow logs to CloudWatch for 30 days, both endpoints on app and data tables, default SG locked.
    assert p["flowLogs"] is not None
    assert (p["flowLogs"]["destination"], p["flowLogs"]["retentionDays"]) == ("cloud-watch-logs", 30)
    assert [e["service"] for e in p["gatewayEndpoints"]] == ["s3", "dynamodb"]
    assert p["gatewayEndpoints"][0]["routeTables"] == [f"rtb/app/{az}" for az in azs] + ["rtb/data"]
    assert p["lockDownDefaultSecurityGroup"] is True
    # Per-tier tags on that tier's subnets and route tables; every planned resource has a name.
    for item in p["subnets"] + p["routeTables"]:
        assert item["tags"]["Tier"] == {"public": "web", "app": "app", "data": "data"}[item["tier"]]
    named = [p["vpc"], p["internetGateway"], p["egressOnlyInternetGateway"], p["flowLogs"]]
    named += p["subnets"] + p["routeTables"] + p["natGateways"] + p["gatewayEndpoints"]
    assert all(item["name"].startswith("everything") for item in named)
    for kind in ("subnets", "routeTables", "natGateways", "gatewayEndpoints"):  # unique within each kind
        assert len({item["name"] for item in p[kind]}) == len(p[kind])
    # Cost: two NATs and their EIPs, $36.50 less than per-az and more than single.
    assert p["monthlyCostUsd"] == expected_cost(2, 2)
    assert (p["costComparison"]["vsPerAz"], p["costComparison"]["vsSingle"]) == (-36.5, 36.5)
    assert json.loads(json.dumps(p)) == p


def test_the_everything_example_survives_to_dict():
    s = parse_spec(load("everything.yaml"))
    assert parse_spec(s.to_dict()) == s
    assert plan_network(parse_spec(s.to_dict()), region_zones()) == plan_network(s, region_zones())
