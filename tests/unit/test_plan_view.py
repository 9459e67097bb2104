"""`vpcfactory plan` for people: address space, warnings, the readable tables, and the diff. Pure."""

from __future__ import annotations

import io
import ipaddress
import json
import sys
from typing import Any

import pytest

from tests.unit.test_plan import load, region_zones
from vpcfactory.plan import plan_network
from vpcfactory.spec import parse_spec
from vpcfactory_tools import cli, plan_view


def planned(doc: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    spec = parse_spec(doc)
    return spec, plan_network(spec, region_zones())


def rendered(doc: dict[str, Any], diff: dict[str, Any] | None = None) -> str:
    spec, plan = planned(doc)
    out = io.StringIO()  # not a terminal
    plan_view.render(spec, plan, out, diff)
    return out.getvalue()


def test_the_address_space_adds_up_for_the_production_example() -> None:
    # public /24, private /20, database /24 in 3 zones, each tier keeping a slot for a 4th zone
    spec, plan = planned(load("production.yaml"))

    space = plan_view.address_space(spec, plan)

    assert space["vpc"] == 65536
    assert space["inSubnets"] == 3 * (256 + 4096 + 256) == 13824
    assert space["keptForFutureZones"] == 256 + 4096 + 256
    assert space["free"] == 65536 - 13824 - 4608
    assert space["largestFreeBlock"] == "10.0.128.0/17"
    # the free blocks are really free: none overlaps a planned subnet
    subnets = [ipaddress.ip_network(s["cidr"]) for s in plan["subnets"]]
    assert not any(ipaddress.ip_network(b).overlaps(s) for b in space["freeBlocks"] for s in subnets)


def test_explicit_cidrs_count_as_taken_and_keep_nothing_for_future_zones() -> None:
    doc = {
        "name": "explicit",
        "cidr": "10.9.0.0/24",
        "availabilityZones": 2,
        "natGateways": "none",
        "tiers": [{"name": "data", "type": "isolated", "cidrs": ["10.9.0.0/26", "10.9.0.64/26"]}],
    }
    spec, plan = planned(doc)

    space = plan_view.address_space(spec, plan)

    assert space == {
        "vpc": 256,
        "inSubnets": 128,
        "keptForFutureZones": 0,
        "free": 128,
        "largestFreeBlock": "10.9.0.128/25",
        "freeBlocks": ["10.9.0.128/25"],
    }


def test_a_single_nat_warns_that_one_zone_carries_everyones_egress() -> None:
    spec, plan = planned({**load("production.yaml"), "natGateways": "single"})

    warnings = plan_view.facts(spec, plan)["warnings"]

    assert any("single NAT gateway in us-east-1a" in w and "every zone loses internet egress" in w for w in warnings)


def test_fewer_nats_than_zones_names_the_zones_that_borrow_one() -> None:
    spec, plan = planned({**load("production.yaml"), "natGateways": 2})

    warnings = plan_view.facts(spec, plan)["warnings"]

    assert any(w.startswith("2 NAT gateways for 3 zones: us-east-1d egress") for w in warnings), warnings


def test_the_production_example_has_no_warnings_and_turning_safeguards_off_brings_them() -> None:
    spec, plan = planned(load("production.yaml"))
    assert plan_view.facts(spec, plan)["warnings"] == []

    loose = {
        **load("production.yaml"),
        "flowLogs": False,
        "lockDownDefaultSecurityGroup": False,
        "gatewayEndpoints": {"s3": False, "dynamodb": False},
    }
    warnings = plan_view.facts(*planned(loose))["warnings"]

    assert [w.split(" ")[0] for w in warnings] == ["flow", "the", "no"]
    assert "EC2.6" in warnings[0] and "EC2.2" in warnings[1] and "through the NAT" in warnings[2]


def test_the_readable_plan_shows_every_cidr_route_and_cost_as_plain_text_off_a_terminal() -> None:
    text = rendered(load("everything.yaml"))
    _, plan = planned(load("everything.yaml"))

    assert "\x1b[" not in text  # no colour or cursor codes in a pipe
    for subnet in plan["subnets"]:
        assert subnet["cidr"] in text
    for table in plan["routeTables"]:
        assert table["logicalId"] in text
    assert "NAT in us-east-1a (another zone)" in text  # us-east-1d borrows a NAT: 2 NATs for 3 zones
    assert "egress-only internet gateway" in text and "no route (isolated)" in text
    assert "Monthly fixed cost: $73.00" in text
    assert "Addresses: 65,536 in the VPC" in text
    assert "Warnings" in text and "2 NAT gateways for 3 zones" in text


def test_the_diff_lists_additions_with_their_cidrs_and_every_refused_change() -> None:
    spec, plan = planned({**load("production.yaml"), "availabilityZones": 4})
    grow = {
        "mode": "reconcile",
        "vpcIds": ["vpc-1"],
        "vpcId": "vpc-1",
        "added": ["subnet/public/us-east-1e", "nat/us-east-1e"],
        "refused": [],
        "unchanged": ["vpc"] * 20,
        "unchangedNetwork": 20,
    }
    out = io.StringIO()
    plan_view.render(spec, plan, out, grow)
    text = out.getvalue()

    assert "vpc-1: 20 resources exist as planned" in text
    assert "+ subnet/public/us-east-1e 10.0.3.0/24" in text
    assert "+ nat/us-east-1e" in text
    assert "apply would add 2 resources and change nothing that exists" in text

    refused = {**grow, "added": [], "refused": ["subnet/private/us-east-1a would move from a to b"]}
    out = io.StringIO()
    plan_view.render(spec, plan, out, refused)
    assert "✗ subnet/private/us-east-1a would move from a to b" in out.getvalue()
    assert "--allow-replace" in out.getvalue()


@pytest.mark.parametrize(
    ("diff", "expected"),
    [
        ({"mode": "create", "vpcIds": []}, "apply builds a new one"),
        ({"mode": "ambiguous", "vpcIds": ["vpc-1", "vpc-2"]}, "2 VPCs carry vpcfactory:vpc=production"),
    ],
)
def test_the_diff_says_when_there_is_nothing_to_compare_or_too_much(diff, expected) -> None:
    assert expected in rendered(load("production.yaml"), diff)


def test_plan_json_is_the_plan_plus_address_space_and_warnings(tmp_path, capsys) -> None:
    path = tmp_path / "spec.json"
    path.write_text(json.dumps({**load("production.yaml"), "natGateways": "single"}))
    out = io.StringIO()
    real, sys.stdout = sys.stdout, out
    try:
        code = cli.main(["plan", str(path), "--json"])
    finally:
        sys.stdout = real

    doc = json.loads(out.getvalue())
    assert code == 0
    assert doc["name"] == "production" and len(doc["subnets"]) == 9  # the plan's own keys stay
    assert doc["addressSpace"]["inSubnets"] == 13824
    assert any("single NAT gateway" in w for w in doc["warnings"])
    assert "diff" not in doc  # no target: nothing to compare with


# -- the VPC's address range ----------------------------------------------------------------------


def test_a_public_vpc_range_warns_that_those_addresses_on_the_internet_become_unreachable() -> None:
    spec, plan = planned({**load("production.yaml"), "cidr": "52.94.0.0/16"})

    info = plan_view.facts(spec, plan)

    assert info["addressRange"]["kind"] == "public"
    (warning,) = [w for w in info["warnings"] if w.startswith("52.94.0.0/16")]
    assert "public address space" in warning and "RFC 1918" in warning and "RFC 6598" in warning
    assert "on the internet become unreachable" in warning


@pytest.mark.parametrize("cidr", ["10.0.0.0/16", "172.31.0.0/16", "192.168.0.0/16"])
def test_an_rfc_1918_vpc_range_brings_no_range_warning(cidr) -> None:
    spec, plan = planned({**load("production.yaml"), "cidr": cidr})

    info = plan_view.facts(spec, plan)

    assert info["addressRange"] == {"kind": "rfc1918", "label": "private address space (RFC 1918)"}
    assert info["warnings"] == []


def test_a_vpc_range_in_shared_address_space_is_named_rfc_6598_and_not_warned_about_as_public() -> None:
    doc = {**load("production.yaml"), "cidr": "100.64.0.0/16"}
    spec, plan = planned(doc)

    info = plan_view.facts(spec, plan)

    assert info["addressRange"]["kind"] == "rfc6598"
    assert "shared address space (RFC 6598" in info["addressRange"]["label"]
    assert info["warnings"] == []
    assert "100.64.0.0/16  (shared address space (RFC 6598, 100.64.0.0/10))" in rendered(doc)


def test_a_special_purpose_vpc_range_is_warned_about_as_neither_rfc_1918_nor_rfc_6598() -> None:
    spec, plan = planned({**load("production.yaml"), "cidr": "198.18.0.0/16"})  # benchmarking (RFC 2544)

    info = plan_view.facts(spec, plan)

    assert info["addressRange"]["kind"] == "special-purpose"
    (warning,) = [w for w in info["warnings"] if w.startswith("198.18.0.0/16")]
    assert "special-purpose" in warning and "RFC 1918" in warning and "RFC 6598" in warning


# -- which prices -----------------------------------------------------------------------------------


def test_plan_json_says_the_costs_are_us_east_1_on_demand_list_prices(tmp_path) -> None:
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(load("production.yaml")))
    out = io.StringIO()
    real, sys.stdout = sys.stdout, out
    try:
        code = cli.main(["plan", str(path), "--json"])
    finally:
        sys.stdout = real

    doc = json.loads(out.getvalue())
    assert code == 0
    assert doc["priceRegion"] == "us-east-1"
    assert doc["prices"]["basis"] == "on-demand list prices"
    assert doc["prices"]["note"].startswith("us-east-1 on-demand list prices as of ")


def test_a_plan_for_another_region_says_its_costs_are_us_east_1_prices_and_where_its_own_are() -> None:
    doc = load("production.yaml")
    spec = parse_spec(doc)
    plan = plan_network(spec, region_zones("eu-west-1", "euw1"))

    info = plan_view.facts(spec, plan)
    out = io.StringIO()
    plan_view.render(spec, plan, out)

    assert info["priceRegion"] == "us-east-1" and info["prices"]["planRegion"] == "eu-west-1"
    note = info["prices"]["note"]
    assert "this plan is for eu-west-1, whose prices differ: see https://aws.amazon.com/vpc/pricing/" in note
    (line,) = [line for line in out.getvalue().splitlines() if line.startswith("Prices:")]
    assert line.startswith("Prices: us-east-1 on-demand list prices as of ")
    assert "this plan is for eu-west-1" in line


def test_a_plan_for_us_east_1_says_its_prices_are_us_east_1_list_prices() -> None:
    text = rendered(load("production.yaml"))

    (line,) = [line for line in text.splitlines() if line.startswith("Prices:")]
    assert line.startswith("Prices: us-east-1 on-demand list prices as of ")
    assert "this plan is for" not in line
