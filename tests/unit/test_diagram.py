"""The network diagram: the model read from a plan, and what render draws (SVG text, layout, files).

Render tests need Graphviz's `dot` (CI installs it; `make graphviz` does locally) and are skipped,
saying so, only where it is missing.
"""

from __future__ import annotations

import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml

from vpcfactory.plan import plan_network
from vpcfactory.spec import parse_spec
from vpcfactory_tools import diagram
from vpcfactory_tools.diagram import EIGW, IGW, Network, Subnet, Tier, network_from_plan, render

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
DOC_IMAGE = ROOT / "docs" / "images" / "production-network.svg"
SVG = "{http://www.w3.org/2000/svg}"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

needs_dot = pytest.mark.skipif(
    shutil.which("dot") is None, reason="Graphviz's dot is not installed (`make graphviz` installs it)"
)


def zones(region: str = "us-east-1") -> list[dict[str, Any]]:
    """DescribeAvailabilityZones' answer for six usable zones, a to f."""
    return [
        {
            "ZoneName": f"{region}{letter}",
            "ZoneId": f"use1-az{k + 1}",
            "State": "available",
            "ZoneType": "availability-zone",
            "RegionName": region,
        }
        for k, letter in enumerate("abcdef")
    ]


def example(name: str, **changes: Any) -> dict[str, Any]:
    return {**yaml.safe_load((EXAMPLES / name).read_text()), **changes}


def plan_of(raw: dict[str, Any]) -> dict[str, Any]:
    return plan_network(parse_spec(raw), zones())


def svg_texts(svg: str) -> list[ET.Element]:
    """The <text> elements of an SVG, parsed as XML (so a malformed file fails here)."""
    return list(ET.fromstring(svg).iter(f"{SVG}text"))


def words(svg: str) -> list[str]:
    return ["".join(t.itertext()) for t in svg_texts(svg)]


def position(svg: str, text: str) -> tuple[float, float]:
    (element,) = [t for t in svg_texts(svg) if "".join(t.itertext()) == text]
    return float(element.get("x")), float(element.get("y"))


def draw(tmp_path: Path, raw: dict[str, Any], name: str = "network.svg") -> str:
    return render(network_from_plan(plan_of(raw)), tmp_path / name).read_text()


# -- the model from a plan ---------------------------------------------------------------------


def test_the_production_plan_becomes_three_zones_by_three_tiers_with_a_nat_per_zone():
    plan = plan_of(example("production.yaml"))

    net = network_from_plan(plan)

    assert net.name == "production" and net.cidr == "10.0.0.0/16"
    assert net.zones == ["us-east-1a", "us-east-1b", "us-east-1c"]
    assert net.tiers == [Tier("public", "public"), Tier("private", "private"), Tier("database", "isolated")]
    assert {key: s.cidr for key, s in net.subnets.items()} == {(s["tier"], s["az"]): s["cidr"] for s in plan["subnets"]}
    assert [(n.key, n.az, n.subnet) for n in net.nats] == [
        (f"nat/{az}", az, ("public", az)) for az in ["us-east-1a", "us-east-1b", "us-east-1c"]
    ]
    for az in net.zones:
        assert net.subnets[("public", az)].ipv4_route == IGW
        assert net.subnets[("private", az)].ipv4_route == f"nat/{az}", "each zone egresses through its own NAT"
        assert net.subnets[("database", az)].ipv4_route is None
    assert net.igw and not net.eigw and not net.ipv6
    assert net.gateway_endpoints == ["s3", "dynamodb"]


def test_with_a_single_nat_every_private_subnet_routes_to_it_and_isolated_ones_nowhere():
    raw = example("production.yaml", natGateways="single", ipv6=True)

    net = network_from_plan(plan_of(raw))

    (nat,) = net.nats
    assert (nat.key, nat.az, nat.subnet) == ("nat/us-east-1a", "us-east-1a", ("public", "us-east-1a"))
    assert [net.subnets[("private", az)].ipv4_route for az in net.zones] == [nat.key] * 3
    for az in net.zones:
        isolated = net.subnets[("database", az)]
        assert (isolated.ipv4_route, isolated.ipv6_route) == (None, None), "isolated: no IPv4 or IPv6 route"


def test_a_dual_stack_plan_routes_ipv6_to_the_igw_from_public_and_to_the_eigw_from_private():
    plan = plan_of(example("everything.yaml"))  # ipv6: true, natGateways: 2, tiers public/app/data

    net = network_from_plan(plan)

    assert net.ipv6 and net.eigw and net.igw
    tables = {t["logicalId"]: t for t in plan["routeTables"]}
    for s in plan["subnets"]:
        planned = tables[s["routeTable"]]["ipv6DefaultRoute"]
        subnet = net.subnets[(s["tier"], s["az"])]
        assert subnet.ipv6_route == (planned["target"] if planned else None)
        assert subnet.ipv6_index == s["ipv6Index"]
    assert {net.subnets[("public", az)].ipv6_route for az in net.zones} == {IGW}
    assert {net.subnets[("app", az)].ipv6_route for az in net.zones} == {EIGW}
    assert {net.subnets[("data", az)].ipv6_route for az in net.zones} == {None}
    # two NATs for three zones: the third zone borrows the first zone's NAT
    assert [n.az for n in net.nats] == ["us-east-1a", "us-east-1b"]
    assert net.subnets[("app", "us-east-1c")].ipv4_route == "nat/us-east-1a"


def test_tiers_are_drawn_public_then_private_then_isolated_whatever_the_spec_order():
    raw = example(
        "production.yaml",
        tiers=[
            {"name": "db", "type": "isolated", "prefixLength": 24},
            {"name": "app", "type": "private", "prefixLength": 20},
            {"name": "web", "type": "public", "prefixLength": 24},
            {"name": "batch", "type": "private", "prefixLength": 22},
        ],
    )

    net = network_from_plan(plan_of(raw))

    assert [t.name for t in net.tiers] == ["web", "app", "batch", "db"]


# -- rendering ---------------------------------------------------------------------------------


@needs_dot
def test_the_production_svg_names_every_subnet_zone_tier_nat_and_the_igw_and_stands_alone(tmp_path):
    plan = plan_of(example("production.yaml"))

    svg = render(network_from_plan(plan), tmp_path / "production.svg").read_text()

    assert 'xlink:href="/' not in svg and "site-packages" not in svg, "icons must be inlined, not linked"
    assert svg.count('xlink:href="data:image/png;base64,') >= 9 + 3 + 1
    text = words(svg)  # parses the SVG as XML: it is well-formed
    for s in plan["subnets"]:
        assert s["cidr"] in text
    for az in ["us-east-1a", "us-east-1b", "us-east-1c"]:
        assert az in text
    for tier in ["public", "private", "database"]:
        assert text.count(tier) == 3
    assert text.count("NAT gateway") == 3
    assert "Internet gateway" in text
    assert text.count("no internet route") == 3
    assert "S3 gateway endpoint" in text and "DynamoDB gateway endpoint" in text


@needs_dot
def test_zones_are_columns_in_order_and_tiers_are_rows_top_to_bottom(tmp_path):
    svg = draw(tmp_path, example("production.yaml"))

    xs = [position(svg, az)[0] for az in ["us-east-1a", "us-east-1b", "us-east-1c"]]
    assert xs == sorted(xs)
    for public, private, database in [
        ("10.0.0.0/24", "10.0.16.0/20", "10.0.80.0/24"),
        ("10.0.2.0/24", "10.0.48.0/20", "10.0.82.0/24"),
    ]:
        y1, y2, y3 = (position(svg, cidr)[1] for cidr in (public, private, database))
        assert y1 < y2 < y3, "public above private above database"
    assert position(svg, "10.0.0.0/24")[0] < position(svg, "10.0.1.0/24")[0] < position(svg, "10.0.2.0/24")[0]


ISOLATED_ONLY = {
    "name": "vault",
    "cidr": "10.0.0.0/16",
    "availabilityZones": 3,
    "natGateways": "none",
    "gatewayEndpoints": False,
    "tiers": [{"name": "db", "type": "isolated", "prefixLength": 24}],
}


@needs_dot
@pytest.mark.parametrize(
    "raw",
    [
        example("everything.yaml", availabilityZones=6, natGateways=2),  # routes to other zones' NATs
        example("seed.yaml", ipv6=True, natGateways="per-az"),  # two private tiers to the EIGW
        example("production.yaml", availabilityZones=1),
        ISOLATED_ONLY,  # no gateway above the VPC at all
        {**ISOLATED_ONLY, "ipv6": True, "tiers": [{"name": "app", "type": "private", "prefixLength": 20}]},
    ],
    ids=["6-zones-2-nats", "seed-dual-stack", "1-zone", "isolated-only", "private-only-dual-stack"],
)
def test_columns_stay_in_zone_order_and_tiers_in_row_order_however_the_routes_cross(tmp_path, raw):
    net = network_from_plan(plan_of(raw))

    svg = render(net, tmp_path / "n.svg").read_text()

    xs = [position(svg, az)[0] for az in net.zones]
    assert xs == sorted(xs)
    for az in net.zones:
        ys = [position(svg, net.subnets[(tier.name, az)].cidr)[1] for tier in net.tiers]
        assert ys == sorted(ys)


def irregular(ipv6: bool) -> Network:
    """A hand-built VPC's kind of grid: tiers that skip zones, so the columns are ragged."""
    azs = [f"us-east-1{letter}" for letter in "abcdef"]
    present = {
        "web": "bcde",
        "app0": "bcdf" if ipv6 else "bcde",
        "app1": "abcdef",
        "db0": "bc",
        "db1": "abde",
    }
    types = {"web": "public", "app0": "private", "app1": "private", "db0": "isolated", "db1": "isolated"}
    subnets = {}
    for n, (tier, letters) in enumerate(present.items()):
        for k, letter in enumerate(letters):
            az = f"us-east-1{letter}"
            route = IGW if types[tier] == "public" else None
            v6 = {"public": IGW, "private": EIGW}.get(types[tier]) if ipv6 else None
            subnets[(tier, az)] = Subnet(tier, az, f"10.{n}.{k}.0/24", ipv4_route=route, ipv6_route=v6)
    return Network(
        name="legacy",
        cidr="10.0.0.0/8",
        zones=azs,
        tiers=[Tier(t, types[t]) for t in present],
        subnets=subnets,
        ipv6=ipv6,
        igw=True,
        eigw=ipv6,
    )


@needs_dot
@pytest.mark.parametrize("ipv6", [False, True], ids=["ipv4", "dual-stack"])
def test_a_grid_with_gaps_keeps_its_columns_in_zone_order(tmp_path, ipv6):
    net = irregular(ipv6)

    svg = render(net, tmp_path / "legacy.svg").read_text()

    xs = [position(svg, az)[0] for az in net.zones]
    assert xs == sorted(xs)
    assert sorted(s.cidr for s in net.subnets.values()) == sorted(c for c in words(svg) if c.endswith("/24"))


@needs_dot
def test_a_layout_dot_aborts_on_is_redone_another_way(tmp_path, monkeypatch):
    # dot 2.43 can abort (an assertion in its spline router) on a layout; render tries the next one
    real, calls = diagram._draw_once, []

    def flaky(network, base, outformat, **layout):
        calls.append(layout)
        if len(calls) == 1:
            raise subprocess.CalledProcessError(-6, ["dot"], stderr=b"emit.c: Assertion failed")
        return real(network, base, outformat, **layout)

    monkeypatch.setattr(diagram, "_draw_once", flaky)

    svg = draw(tmp_path, example("production.yaml"))

    assert "10.0.82.0/24" in words(svg)
    assert calls == [{"reverse": False, "loose": False}, {"reverse": False, "loose": True}]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["network.svg"]


def test_when_dot_aborts_on_every_layout_render_says_so(tmp_path, monkeypatch):
    def aborts(*_args, **_layout):
        raise subprocess.CalledProcessError(-6, ["dot"])

    monkeypatch.setattr(diagram, "_draw_once", aborts)
    monkeypatch.setattr(diagram.shutil, "which", lambda _name: "/usr/bin/dot")

    with pytest.raises(RuntimeError, match="could not draw"):
        render(network_from_plan(plan_of(example("production.yaml"))), tmp_path / "n.svg")
    assert list(tmp_path.iterdir()) == []


@needs_dot
def test_a_subnet_routing_to_another_zones_nat_says_so(tmp_path):
    svg = draw(tmp_path, example("production.yaml", natGateways="single"))

    text = words(svg)
    assert text.count("NAT gateway") == 1
    assert text.count("0.0.0.0/0 via the NAT in us-east-1a") == 2  # zones b and c


@needs_dot
def test_a_dual_stack_svg_shows_the_eigw_and_each_subnets_ipv6_slot(tmp_path):
    svg = draw(tmp_path, example("everything.yaml"))

    text = words(svg)
    assert "Egress-only internet gateway" in text
    assert "IPv6 /64 #0 of the /56" in text and "IPv6 /64 #10 of the /56" in text
    assert "::/0 (IPv6)" in " ".join(text)


@needs_dot
def test_png_output_is_a_png_and_render_leaves_no_other_file(tmp_path):
    out = render(network_from_plan(plan_of(example("production.yaml"))), tmp_path / "out" / "net.png")

    assert out == tmp_path / "out" / "net.png"
    assert out.read_bytes().startswith(PNG_MAGIC)
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["net.png", "out"]


@needs_dot
def test_text_from_tags_is_escaped_so_the_svg_stays_well_formed(tmp_path):
    net = Network(
        name='a<b>&"c"',
        cidr="10.9.0.0/16",
        zones=["eu-west-1a"],
        tiers=[Tier("web & <app>", "isolated")],
        subnets={("web & <app>", "eu-west-1a"): Subnet("web & <app>", "eu-west-1a", "10.9.0.0/24", id="subnet-1")},
        vpc_id="vpc-0abc",
    )

    svg = render(net, tmp_path / "x.svg").read_text()

    text = words(svg)
    assert "web & <app>" in text and 'VPC a<b>&"c"' in text
    assert "subnet-1" in text and "vpc-0abc" in text, "hyphens are plain text, not &#45;"


def test_an_unknown_suffix_is_refused_naming_the_ones_allowed(tmp_path):
    net = network_from_plan(plan_of(example("production.yaml")))

    with pytest.raises(ValueError, match=r"\.svg or \.png"):
        render(net, tmp_path / "network.pdf")
    assert list(tmp_path.iterdir()) == []


def test_without_graphviz_render_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setattr(diagram.shutil, "which", lambda _name: None)
    net = network_from_plan(plan_of(example("production.yaml")))

    with pytest.raises(RuntimeError, match="make graphviz"):
        render(net, tmp_path / "network.svg")


# -- python -m vpcfactory_tools.diagram and the checked-in picture ----------------------------


@needs_dot
def test_the_module_draws_a_spec_file_without_aws(tmp_path, capsys):
    out = tmp_path / "seed.svg"

    assert diagram.main([str(EXAMPLES / "seed.yaml"), "-o", str(out)]) == 0

    assert capsys.readouterr().out.strip() == str(out)
    assert "10.0.22.0/24" in words(out.read_text())


def test_the_module_exits_2_with_the_reason_on_a_bad_output_name(tmp_path, capsys):
    assert diagram.main([str(EXAMPLES / "seed.yaml"), "-o", str(tmp_path / "seed.gif")]) == 2
    assert ".svg or .png" in capsys.readouterr().err


def test_the_checked_in_production_diagram_matches_the_current_plan():
    # Regenerate with: python -m vpcfactory_tools.diagram examples/production.yaml -o docs/images/production-network.svg
    plan = diagram.plan_from_spec_file(EXAMPLES / "production.yaml", diagram.region_zones())
    svg = DOC_IMAGE.read_text()

    text = words(svg)
    for s in plan["subnets"]:
        assert s["cidr"] in text, f"{s['logicalId']} {s['cidr']} is missing: regenerate {DOC_IMAGE.name}"
    for az in plan["availabilityZones"]:
        assert az["name"] in text
    assert text.count("NAT gateway") == len(plan["natGateways"])
    assert 'xlink:href="/' not in svg
