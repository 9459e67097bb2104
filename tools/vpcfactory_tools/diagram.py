"""A picture of the network, drawn the way a network engineer sketches a VPC.

    python -m vpcfactory_tools.diagram examples/production.yaml -o docs/images/production-network.svg

The VPC is a box with one column per availability zone and one row per tier (public tiers on top,
then private, then isolated, each group in spec order). Every subnet shows its tier, CIDR, IPv6
/64 and, drawn from a live VPC, its id. The internet gateway (and, with IPv6, the egress-only
internet gateway) sits above the VPC; each NAT gateway sits inside the public subnet that holds it.
Arrows are routes: public subnets and NAT gateways to the internet gateway, private subnets to the
NAT gateway their route table names (which may be in another zone), private subnets' ::/0 to the
egress-only gateway. Isolated subnets get no arrow. Gateway endpoints (S3, DynamoDB) sit at the
bottom of the VPC.

Two sources, one model (`Network`): `network_from_plan` reads the plan `plan.plan_network` makes
(no AWS call), `network_from_vpc` reads a live VPC with EC2 Describe calls, whether the factory
built it or not. `render` writes .svg or .png with Graphviz's `dot` (through the `diagrams`
library's AWS icons). An SVG is self-contained: its icons are inlined as data: URIs, so it can be
checked in and shown anywhere.
"""

from __future__ import annotations

import argparse
import base64
import html
import re
import shutil
import sys
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from vpcfactory import inventory
from vpcfactory.spec import GATEWAY_ENDPOINT_SERVICES
from vpcfactory.tags import TAG_LOGICAL_ID, TAG_VPC, tag_dict

if TYPE_CHECKING:
    from vpcfactory.contracts import Plan

IGW = "igw"  # a route target: the internet gateway
EIGW = "eigw"  # a route target: the egress-only internet gateway (IPv6 only)
TIER_TYPES = ("public", "private", "isolated")  # also the order of the rows
FORMATS = (".svg", ".png")
DEFAULT_REGION = "us-east-1"


class Tier(NamedTuple):
    name: str
    type: str  # public | private | isolated


@dataclass(frozen=True)
class Subnet:
    tier: str
    az: str
    cidr: str
    ipv6_cidr: str | None = None  # known for a live VPC
    ipv6_index: int | None = None  # the plan's /64 number in the VPC's /56 (the /56 is not known yet)
    id: str | None = None
    # 0.0.0.0/0: IGW, the key of a NAT in Network.nats, any other target's id (tgw-..., pcx-...), or None.
    ipv4_route: str | None = None
    # ::/0: IGW, EIGW, any other target's id, or None.
    ipv6_route: str | None = None
    # The destinations its route table sends to the transit gateway (vpcfactory.transit).
    tgw_routes: tuple[str, ...] = ()


@dataclass(frozen=True)
class NatGateway:
    key: str  # what Subnet.ipv4_route names: the logical id (nat/<az>), or the NAT's id if untagged
    az: str  # "regional" for a regional NAT gateway (vpcfactory.nat_modes): it spans every zone
    subnet: tuple[str, str] | None  # (tier, az) of the subnet it lives in; None for a regional NAT
    id: str | None = None
    public_ip: str | None = None
    eip_allocation_id: str | None = None  # a brought-your-own EIP the plan names
    regional: bool = False  # drawn in the VPC, beside the zones, with no subnet


@dataclass
class Network:
    name: str
    cidr: str
    zones: list[str]
    tiers: list[Tier]  # in row order
    subnets: dict[tuple[str, str], Subnet]  # by (tier, az)
    nats: list[NatGateway] = field(default_factory=list)
    ipv6: bool = False
    ipv6_cidr: str | None = None
    vpc_id: str | None = None
    igw: bool = False
    igw_id: str | None = None
    eigw: bool = False
    eigw_id: str | None = None
    gateway_endpoints: list[str] = field(default_factory=list)  # services: s3, dynamodb
    # interface endpoints: (service key, how many zones it has a subnet in): ("ssm", 3)
    interface_endpoints: list[tuple[str, int]] = field(default_factory=list)
    transit_gateway: str | None = None  # the gateway the VPC is attached to (tgw-...), vpcfactory.transit

    def nat(self, key: str | None) -> NatGateway | None:
        return next((n for n in self.nats if n.key == key), None)

    def tier_type(self, tier: str) -> str:
        return next(t.type for t in self.tiers if t.name == tier)


# -- from a plan -------------------------------------------------------------------------------


def network_from_plan(plan: Mapping[str, Any]) -> Network:
    """The network a plan (`vpcfactory.plan.plan_network`) describes. No AWS call."""
    tables = {t["logicalId"]: t for t in plan["routeTables"]}
    by_logical_id = {s["logicalId"]: s for s in plan["subnets"]}
    tiers: list[Tier] = []
    subnets: dict[tuple[str, str], Subnet] = {}
    for s in plan["subnets"]:
        if s["tier"] not in {t.name for t in tiers}:
            tiers.append(Tier(s["tier"], s["type"]))
        table = tables[s["routeTable"]]
        route = table.get("defaultRoute")
        ipv4 = None if not route else IGW if route["target"] == "igw" else route["nat"]
        v6 = table.get("ipv6DefaultRoute")
        subnets[(s["tier"], s["az"])] = Subnet(
            tier=s["tier"],
            az=s["az"],
            cidr=s["cidr"],
            ipv6_index=s.get("ipv6Index"),
            ipv4_route=ipv4,
            ipv6_route=v6["target"] if v6 else None,
            tgw_routes=tuple(table.get("transitGatewayRoutes") or ()),
        )
    nats = []
    for n in plan["natGateways"]:
        if n.get("availabilityMode") == "regional" or not n["subnet"]:
            brought = [eid for a in n.get("zoneAddresses") or [] for eid in a["allocationIds"]]
            nats.append(
                NatGateway(
                    key=n["logicalId"],
                    az="regional",
                    subnet=None,
                    eip_allocation_id=", ".join(brought) or None,
                    regional=True,
                )
            )
            continue
        home = by_logical_id[n["subnet"]]
        nats.append(
            NatGateway(
                key=n["logicalId"],
                az=n["az"],
                subnet=(home["tier"], home["az"]),
                eip_allocation_id=n.get("eipAllocationId"),
            )
        )
    return Network(
        name=plan["name"],
        cidr=plan["cidr"],
        zones=[z["name"] for z in plan["availabilityZones"]],
        tiers=_row_order(tiers),
        subnets=subnets,
        nats=nats,
        ipv6=bool(plan.get("ipv6")),
        igw=plan.get("internetGateway") is not None,
        eigw=plan.get("egressOnlyInternetGateway") is not None,
        gateway_endpoints=[e["service"] for e in plan.get("gatewayEndpoints") or []],
        interface_endpoints=[(e["service"], len(e["subnets"])) for e in plan.get("interfaceEndpoints") or []],
        transit_gateway=(plan.get("transitGateway") or {}).get("id"),
    )


# -- from a live VPC ---------------------------------------------------------------------------


def network_from_vpc(ec2: Any, vpc_id: str) -> Network:
    """The network a live VPC holds, read with EC2 Describe calls (a boto3 EC2 client).

    Subnets the factory built take their tier from their `vpcfactory:logical-id` tag
    (subnet/<tier>/<az>); any other subnet from its Name tag (minus its zone), else "subnets".
    A tier's type is read from the route tables: 0.0.0.0/0 to an internet gateway is public, to
    anything else (a NAT gateway, a transit gateway...) private, no default route isolated. A subnet
    with no route table of its own uses the VPC's main route table. Raises ValueError when the VPC
    does not exist.
    """
    vpc = _describe_vpc(ec2, vpc_id)
    # One read of the VPC (inventory.snapshot): every live item of each kind, anyone's.
    kinds = ("subnet", "route-table", "nat-gateway", "internet-gateway", "egress-only-internet-gateway", "vpc-endpoint")
    snap = inventory.snapshot(ec2, vpc_id, None, [inventory.KIND[k] for k in kinds])
    raw_subnets = snap.all("subnet")
    raw_nats = [n for n in snap.all("nat-gateway") if inventory.nat_in_service(n)]
    igws = snap.all("internet-gateway")
    eigws = snap.all("egress-only-internet-gateway")
    endpoints = [e for e in snap.all("vpc-endpoint") if e.get("VpcEndpointType") == "Gateway"]

    nat_key: dict[str, str] = {}  # NAT id -> its key: the logical id, unless another NAT has it too
    for n in raw_nats:
        logical_id = tag_dict(n.get("Tags")).get(TAG_LOGICAL_ID)
        unique = logical_id is not None and logical_id not in nat_key.values()
        nat_key[n["NatGatewayId"]] = logical_id if unique and logical_id else n["NatGatewayId"]
    routes = {s["SubnetId"]: _default_routes(snap.route_table_of(s["SubnetId"]) or {}, nat_key) for s in raw_subnets}

    placed = _place_subnets(raw_subnets, routes)
    subnets: dict[tuple[str, str], Subnet] = {}
    key_of: dict[str, tuple[str, str]] = {}
    for raw, tier in placed:
        ipv4, ipv6 = routes[raw["SubnetId"]]
        key = (tier.name, raw["AvailabilityZone"])
        key_of[raw["SubnetId"]] = key
        subnets[key] = Subnet(
            tier=tier.name,
            az=raw["AvailabilityZone"],
            cidr=raw["CidrBlock"],
            ipv6_cidr=_associated(raw.get("Ipv6CidrBlockAssociationSet"), "Ipv6CidrBlockState"),
            id=raw["SubnetId"],
            ipv4_route=ipv4,
            ipv6_route=ipv6,
            tgw_routes=_tgw_routes(snap.route_table_of(raw["SubnetId"]) or {}),
        )
    tiers: list[Tier] = []
    for _raw, tier in placed:
        if tier not in tiers:
            tiers.append(tier)

    nats = []
    for n in raw_nats:
        address: dict[str, Any] = next(iter(n.get("NatGatewayAddresses") or []), {})
        if n.get("AvailabilityMode") == "regional":  # in no subnet: every zone's (vpcfactory.nat_modes)
            nats.append(
                NatGateway(
                    key=nat_key[n["NatGatewayId"]], az="regional", subnet=None, id=n["NatGatewayId"], regional=True
                )
            )
            continue
        home = key_of.get(n.get("SubnetId", ""))
        if home is None:
            continue
        nats.append(
            NatGateway(
                key=nat_key[n["NatGatewayId"]],
                az=home[1],
                subnet=home,
                id=n["NatGatewayId"],
                public_ip=address.get("PublicIp"),
                eip_allocation_id=address.get("AllocationId"),
            )
        )
    nats.sort(key=lambda n: (n.az, n.key))

    zones = sorted({s.az for s in subnets.values()})
    ipv6_cidr = _associated(vpc.get("Ipv6CidrBlockAssociationSet"), "Ipv6CidrBlockState")
    vpc_tags = tag_dict(vpc.get("Tags"))
    return Network(
        name=vpc_tags.get(TAG_VPC) or vpc_tags.get("Name") or vpc_id,
        cidr=vpc["CidrBlock"],
        zones=zones,
        tiers=tiers,
        subnets=subnets,
        nats=nats,
        ipv6=ipv6_cidr is not None,
        ipv6_cidr=ipv6_cidr,
        vpc_id=vpc_id,
        igw=bool(igws),
        igw_id=igws[0]["InternetGatewayId"] if igws else None,
        eigw=bool(eigws),
        eigw_id=eigws[0]["EgressOnlyInternetGatewayId"] if eigws else None,
        gateway_endpoints=_endpoint_order({e["ServiceName"].rsplit(".", 1)[-1] for e in endpoints}),
        interface_endpoints=sorted(
            (e["ServiceName"].split(f".{ec2.meta.region_name}.", 1)[-1], len(e.get("SubnetIds") or []))
            for e in snap.all("vpc-endpoint")
            if str(e.get("VpcEndpointType", "")).lower() == "interface" and inventory.endpoint_in_service(e)
        ),
        # The gateway the routes name (the attachment itself needs no extra read to be drawn).
        transit_gateway=next(
            (
                r["TransitGatewayId"]
                for t in snap.all("route-table")
                for r in t.get("Routes", [])
                if r.get("TransitGatewayId")
            ),
            None,
        ),
    )


def _tgw_routes(table: dict[str, Any]) -> tuple[str, ...]:
    """The destinations (CIDRs, prefix list ids) a route table sends to a transit gateway."""
    return tuple(
        r.get("DestinationCidrBlock") or r.get("DestinationPrefixListId") or "?"
        for r in table.get("Routes", [])
        if r.get("TransitGatewayId")
    )


def _endpoint_order(services: set[str]) -> list[str]:
    """In the order the plan lists them (s3, dynamodb), then any other service by name."""
    known = [s for s in GATEWAY_ENDPOINT_SERVICES if s in services]
    return known + sorted(services - set(known))


def _describe_vpc(ec2: Any, vpc_id: str) -> dict[str, Any]:
    from botocore.exceptions import ClientError

    try:
        vpcs = ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"]
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in ("InvalidVpcID.NotFound", "InvalidVpcID.Malformed"):
            raise ValueError(f"VPC {vpc_id} does not exist ({code})") from exc
        raise
    if not vpcs:
        raise ValueError(f"VPC {vpc_id} does not exist")
    return vpcs[0]


def _associated(associations: list[dict[str, Any]] | None, state_key: str) -> str | None:
    """The IPv6 CIDR of the first association that is not on its way out (or failed)."""
    for assoc in associations or []:
        state = str(assoc.get(state_key, {}).get("State", ""))
        if assoc.get("Ipv6CidrBlock") and not any(word in state for word in ("disassociat", "fail")):
            return assoc["Ipv6CidrBlock"]
    return None


def _default_routes(table: dict[str, Any], nat_key: dict[str, str]) -> tuple[str | None, str | None]:
    """(0.0.0.0/0 target, ::/0 target) of one route table, as Subnet.ipv4_route / ipv6_route name them."""
    ipv4 = ipv6 = None
    for route in table.get("Routes") or []:
        if route.get("State") == "blackhole":
            continue
        if route.get("DestinationCidrBlock") == "0.0.0.0/0":
            ipv4 = _target(route, nat_key)
        elif route.get("DestinationIpv6CidrBlock") == "::/0":
            ipv6 = _target(route, nat_key)
    return ipv4, ipv6


def _target(route: dict[str, Any], nat_key: dict[str, str]) -> str | None:
    if route.get("NatGatewayId"):
        return nat_key.get(route["NatGatewayId"], route["NatGatewayId"])
    if route.get("EgressOnlyInternetGatewayId"):
        return EIGW
    gateway = route.get("GatewayId") or ""
    if gateway.startswith("igw-"):
        return IGW
    for key in ("TransitGatewayId", "VpcPeeringConnectionId", "NetworkInterfaceId", "InstanceId", "CarrierGatewayId"):
        if route.get(key):
            return route[key]
    return gateway or None


def _place_subnets(
    raw_subnets: list[dict[str, Any]], routes: dict[str, tuple[str | None, str | None]]
) -> list[tuple[dict[str, Any], Tier]]:
    """Each subnet with its tier, in row order then zone order.

    A factory subnet's tier is the one its logical id names. Another subnet's is its Name tag with
    its zone taken out (prod-app-us-east-1a -> prod-app), else "subnets". A subnet whose type differs
    from its tier's, or whose tier already has a subnet in its zone, goes to a tier of its own.
    """
    typed = []
    for raw in raw_subnets:
        ipv4 = routes[raw["SubnetId"]][0]
        kind = "isolated" if ipv4 is None else "public" if ipv4 == IGW else "private"
        typed.append((raw, kind, _tier_name(raw)))
    # Rows: by type, then by the lowest CIDR of the tier (the plan lays tiers out in spec order).
    typed.sort(key=lambda item: (TIER_TYPES.index(item[1]), _cidr_key(item[0]["CidrBlock"])))
    types: dict[str, str] = {}
    taken: set[tuple[str, str]] = set()
    placed = []
    for raw, kind, base in typed:
        name, n = base, 1
        while types.get(name, kind) != kind or (name, raw["AvailabilityZone"]) in taken:
            n += 1
            name = f"{base} ({kind})" if n == 2 else f"{base} ({kind}) {n - 1}"
        types[name] = kind
        taken.add((name, raw["AvailabilityZone"]))
        placed.append((raw, Tier(name, kind)))
    order = list(dict.fromkeys(tier for _raw, tier in placed))
    placed.sort(key=lambda item: (order.index(item[1]), item[0]["AvailabilityZone"]))
    return placed


def _tier_name(raw: dict[str, Any]) -> str:
    tags = tag_dict(raw.get("Tags"))
    parts = (tags.get(TAG_LOGICAL_ID) or "").split("/")
    if len(parts) == 3 and parts[0] == "subnet":
        return parts[1]
    if tags.get("vpcfactory:tier"):
        return tags["vpcfactory:tier"]
    name = tags.get("Name", "")
    for zone in (raw.get("AvailabilityZone"), raw.get("AvailabilityZoneId")):
        if zone:
            name = name.replace(zone, "")
    name = name.strip(" -_/")
    return name or "subnets"


def _cidr_key(cidr: str) -> tuple[int, ...]:
    address, _, prefix = cidr.partition("/")
    return (*(int(part) for part in address.split(".")), int(prefix or 0))


def _row_order(tiers: list[Tier]) -> list[Tier]:
    """Public tiers on top (next to the internet gateway), then private, then isolated; stable."""
    return sorted(tiers, key=lambda t: TIER_TYPES.index(t.type) if t.type in TIER_TYPES else len(TIER_TYPES))


# -- drawing -----------------------------------------------------------------------------------

# AWS architecture-diagram group colours: VPC purple, AZ dashed blue, public subnet green,
# private subnet teal; isolated subnets grey.
VPC_COLOR = "#8C4FFF"
AZ_COLOR = "#147EBA"
SUBNET_STYLE = {
    "public": ("#7AA116", "#F2F6E8"),
    "private": ("#00A4A6", "#E6F6F7"),
    "isolated": ("#7D8998", "#F4F5F6"),
    "tgw": ("#8C4FFF", "#F5F0FF"),  # the transit gateway attachment's /28s (vpcfactory.transit)
}
TEXT_COLOR = "#232F3E"
MUTED_COLOR = "#5F6B7A"
IGW_EDGE = "#3F8624"  # 0.0.0.0/0 to the internet gateway
NAT_EDGE = "#D45B07"  # 0.0.0.0/0 to a NAT gateway
V6_EDGE = "#1A73E8"  # ::/0
TGW_EDGE = "#8C4FFF"  # the routes to the transit gateway, and its attachment
TGW_TIER = "tgw"  # the attachment subnets' tier (vpcfactory.transit.TIER)
FONT = "Helvetica"


def render(network: Network, path: str | Path) -> Path:
    """Draw the network to path (.svg or .png, by its suffix) and return the path.

    Needs Graphviz's `dot` on PATH. An SVG's icons are inlined, so the file stands alone.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(f"cannot draw to {path.name!r}: the file name must end in {' or '.join(FORMATS)}")
    if shutil.which("dot") is None:
        raise RuntimeError(
            "Graphviz's `dot` is not on PATH: install Graphviz (`make graphviz`, apt-get install graphviz "
            "or brew install graphviz) to draw diagrams"
        )
    with tempfile.TemporaryDirectory(prefix="vpcfactory-diagram-") as tmp:
        data = _draw(network, Path(tmp), suffix[1:]).read_bytes()
        if suffix == ".svg":
            data = _tidy_svg(data.decode("utf-8")).encode("utf-8")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return path


# Layouts to try, in order: (zones declared right to left, every route left out of the ranking).
LAYOUTS = ((False, False), (False, True), (True, False), (True, True))


def _draw(network: Network, workdir: Path, outformat: str) -> Path:
    """Lay the network out with `diagrams` and render it into workdir; the file it wrote.

    Zone columns must read left to right in zone order. The layout asks dot for that (see
    _draw_once), but dot's crossing minimization can still mirror the clusters of an irregular
    network, and dot 2.43 aborts (an assertion in its spline router) on some layouts with edge
    labels. So each layout is checked before it is kept, and a mirrored or aborted one is redone:
    with the routes left out of the ranking (their labels become xlabels), then with the zones
    declared the other way. If none is in order, the first one dot drew is kept.
    """
    import subprocess

    drawn: Path | None = None
    failure: Exception | None = None
    for k, (reverse, loose) in enumerate(LAYOUTS):
        base = workdir / f"network-{k}"
        try:
            in_order = _draw_once(network, base, outformat, reverse=reverse, loose=loose)
        except subprocess.CalledProcessError as exc:
            failure = exc
            continue
        drawn = drawn or base.with_name(f"{base.name}.{outformat}")
        if in_order:
            return base.with_name(f"{base.name}.{outformat}")
    if drawn is None:
        raise RuntimeError(f"Graphviz's dot could not draw the network: {failure}") from failure
    return drawn


def _draw_once(network: Network, base: Path, outformat: str, *, reverse: bool, loose: bool) -> bool:
    """One layout, rendered to base + "." + outformat; True when its zone columns are in zone order.

    reverse: declare the zones right to left. loose: no route shapes the ranking, only the grid.
    """
    from diagrams import Cluster, Diagram, Edge, Node
    from diagrams.aws.network import (
        VPC,
        Endpoint,
        InternetGateway,
        NATGateway,
        PrivateSubnet,
        PublicSubnet,
        TransitGateway,
    )

    graph_attr = {
        "fontname": FONT,
        "fontcolor": TEXT_COLOR,
        "pad": "0.3",
        "nodesep": "0.35",
        "ranksep": "0.6",
        "newrank": "true",  # rank=same across the zone clusters: a tier is one row (dot reads any value as true)
        "bgcolor": "white",
        "label": _legend(network),
        "labelloc": "b",
        "labeljust": "l",
    }
    # Nodes are HTML-like "cards" (icon + lines of text), so the default icon node is switched off.
    node_attr = {
        "shape": "plain",
        "fixedsize": "false",
        "width": "0",
        "height": "0",
        "fontname": FONT,
        "fontsize": "11",
        "fontcolor": TEXT_COLOR,
    }
    edge_attr = {"fontname": FONT, "fontsize": "9", "penwidth": "1.4", "arrowsize": "0.7"}
    invisible = {"style": "invis"}
    zones = network.zones[::-1] if reverse else network.zones

    def card(cls: type, nodeid: str, lines: list[tuple[str, str]], icon_size: int = 36) -> Any:
        return cls(_card_label(cls, lines, icon_size), nodeid=nodeid, image="", height="0", width="0")

    def cluster(name: str, **attrs: str) -> Any:
        return Cluster(name, graph_attr={"fontname": FONT, "labelloc": "t", "labeljust": "l", **attrs})

    with Diagram(
        name=network.name,
        filename=str(base),
        direction="TB",
        curvestyle="curved",
        outformat=outformat,
        show=False,
        graph_attr=graph_attr,
        node_attr=node_attr,
        edge_attr=edge_attr,
    ) as diagram:
        diagram.dot.graph_attr["splines"] = "spline"  # curves that avoid the cards, and edge labels

        # Above the VPC: the gateways. The internet gateway (without one, or in a loose layout, an
        # invisible stand-in at the top of the VPC) points at each zone column's top row in zone
        # order, ordering=out keeping those edges, and so the columns, in that order.
        top = []
        if network.igw:
            top.append(card(InternetGateway, "igw", [("b", "Internet gateway"), ("m", network.igw_id or "")]))
        if network.eigw:
            lines = [("b", "Egress-only internet gateway"), ("m", network.eigw_id or "")]
            top.append(card(InternetGateway, "eigw", lines))
        igw = top[0] if network.igw else None
        eigw = top[-1] if network.eigw else None
        tgw = None
        if network.transit_gateway:
            tgw = card(TransitGateway, "tgw", [("b", "Transit gateway"), ("m", network.transit_gateway)])
            top.append(tgw)
        anchor = None if loose else igw

        vpc_lines: list[tuple[str, str]] = [("B", f"VPC {network.name}"), ("", network.cidr)]
        if network.ipv6:
            vpc_lines.append(("", network.ipv6_cidr or "Amazon-provided IPv6 /56"))
        vpc_lines.append(("m", network.vpc_id if network.vpc_id and network.vpc_id != network.name else ""))
        nodes: dict[tuple[str, str], Any] = {}  # the subnets' cards
        cells: dict[tuple[str, str], Any] = {}  # ... and a stand-in for each zone a tier skips
        nat_nodes: dict[str, Any] = {}
        vpc_style = {"pencolor": VPC_COLOR, "penwidth": "2", "bgcolor": "white", "style": "solid", "margin": "16"}
        # The VPC label goes at the bottom: the routes to the gateways above cross the top corners.
        with cluster("vpc", label=_card_label(VPC, vpc_lines, 32), labelloc="b", **vpc_style):
            if anchor is None:  # an invisible stand-in, inside the VPC: outside it, with no route
                # ranked from above, dot lays the columns out right to left
                anchor = Node("", nodeid="anchor", style="invis", width="0", height="0", ordering="out")
            else:
                diagram.dot.node(anchor.nodeid, ordering="out")
            for az in zones:
                az_style = {"fontcolor": AZ_COLOR, "pencolor": AZ_COLOR, "style": "dashed", "bgcolor": "white"}
                with cluster(f"az {az}", label=f"<<B>{_esc(az)}</B>>", fontsize="13", margin="10", **az_style):
                    for t, tier in enumerate(network.tiers):
                        subnet = network.subnets.get((tier.name, az))
                        if subnet is None:  # an invisible cell keeps the grid (a live VPC may skip one)
                            gap = Node("", nodeid=_id("gap", t, tier.name, az), style="invis", width="1", height="0.5")
                            cells[(tier.name, az)] = gap
                            continue
                        border, fill = SUBNET_STYLE.get(tier.type, SUBNET_STYLE["isolated"])
                        subnet_style = {"pencolor": border, "bgcolor": fill, "style": "rounded,filled"}
                        with cluster(f"subnet {tier.name} {az}", label="", margin="6", **subnet_style):
                            cls = PublicSubnet if tier.type == "public" else PrivateSubnet
                            lines = _subnet_lines(network, subnet)
                            nodes[(tier.name, az)] = card(cls, _id("subnet", t, tier.name, az), lines)
                            cells[(tier.name, az)] = nodes[(tier.name, az)]
                            for k, nat in enumerate(network.nats):
                                if nat.subnet == (tier.name, az):
                                    nat_nodes[nat.key] = card(NATGateway, _id("nat", k, nat.key), _nat_lines(nat))
            for k, nat in enumerate(network.nats):  # a regional NAT: in the VPC, beside the zones
                if nat.regional:
                    nat_nodes[nat.key] = card(NATGateway, _id("nat", k, nat.key), _nat_lines(nat))
            endpoint_nodes = [
                card(Endpoint, _id("vpce", k, service), [("b", f"{_service_title(service)} gateway endpoint")])
                for k, service in enumerate(network.gateway_endpoints)
            ] + [
                card(
                    Endpoint,
                    _id("vpce-if", k, service),
                    [("b", f"{service} interface endpoint"), ("", f"{zones} zones, private DNS, 443")],
                )
                for k, (service, zones) in enumerate(network.interface_endpoints)
            ]

        # Layout: a tier's subnets (and the NATs in them) form one row; in each zone column the
        # tiers follow top to bottom; the endpoints sit below the columns.
        _same_rank(diagram, top)
        for gateway in top if anchor is not igw else ():
            gateway.connect(anchor, Edge(**invisible))  # above the VPC all the same
        for tier in network.tiers:
            row = []
            for az in zones:
                row.append(cells[(tier.name, az)])
                row += [nat_nodes[n.key] for n in network.nats if n.subnet == (tier.name, az)]
            _same_rank(diagram, row)
        _same_rank(diagram, endpoint_nodes)
        for left, right in zip(endpoint_nodes, endpoint_nodes[1:], strict=False):
            left.connect(right, Edge(**invisible))
        for az in zones:
            if not network.tiers:
                break
            column = [cells[(t.name, az)] for t in network.tiers]
            anchor.connect(column[0], Edge(**invisible))
            for nat in network.nats:
                if nat.subnet == (network.tiers[0].name, az):
                    anchor.connect(nat_nodes[nat.key], Edge(**invisible))
            for upper, lower in zip(column, column[1:], strict=False):
                upper.connect(lower, Edge(**invisible, weight="10"))
            if endpoint_nodes:
                column[-1].connect(endpoint_nodes[0], Edge(**invisible))

        # Routes, one arrow per subnet and default route, pointing at the target. Each edge runs
        # from the target down to the subnet with its arrow at the target (dir=back), so ranking
        # keeps the gateways above. Only routes within a zone column may shape the layout: a route
        # to another zone's NAT, or to the egress-only gateway, is constraint=false, else dot
        # reorders the columns to shorten it.
        for az in zones:
            for tier in network.tiers:
                subnet = network.subnets.get((tier.name, az))
                if subnet is None:
                    continue
                node = nodes[(tier.name, az)]
                both = subnet.ipv4_route == IGW and subnet.ipv6_route == IGW
                via = network.nat(subnet.ipv4_route)
                if subnet.ipv4_route == IGW and igw is not None:
                    label = "0.0.0.0/0, ::/0" if both else "0.0.0.0/0"
                    igw.connect(node, _route(Edge, IGW_EDGE, label, ranks=not loose))
                elif via is not None and via.key in nat_nodes:
                    edge = _route(Edge, NAT_EDGE, "0.0.0.0/0", ranks=via.az == az and not loose)
                    nat_nodes[via.key].connect(node, edge)
                if subnet.ipv6_route == IGW and igw is not None and not both:
                    igw.connect(node, _route(Edge, V6_EDGE, "::/0", dashed=True, ranks=not loose))
                elif subnet.ipv6_route == EIGW and eigw is not None:
                    eigw.connect(node, _route(Edge, V6_EDGE, "::/0", dashed=True, ranks=False))
        for nat in network.nats:
            if igw is not None and nat.key in nat_nodes:
                igw.connect(nat_nodes[nat.key], _route(Edge, IGW_EDGE, "", ranks=not loose))
        # The transit gateway: its attachment (one /28 a zone) and the routes to it, which shape nothing.
        if tgw is not None:
            for (tier_name, _az), node in nodes.items():
                subnet = network.subnets[(tier_name, _az)]
                if tier_name == TGW_TIER:
                    tgw.connect(node, _route(Edge, TGW_EDGE, "attachment", dashed=True, ranks=False))
                elif subnet.tgw_routes:
                    tgw.connect(node, _route(Edge, TGW_EDGE, ", ".join(subnet.tgw_routes), ranks=False))

        in_order = _columns_in_order(diagram.dot.pipe(format="plain", encoding="utf-8"), network, nodes)
    return in_order


def _columns_in_order(plain: str, network: Network, nodes: dict[tuple[str, str], Any]) -> bool:
    """Whether, in dot's `plain` layout, each zone's subnets lie left of the next zone's."""
    x = {}
    for line in plain.splitlines():
        parts = line.split(" ", 3)
        if parts[0] == "node" and len(parts) > 2:
            x[parts[1].strip('"')] = float(parts[2])
    spans = []
    for az in network.zones:
        xs = [x[node.nodeid] for (_tier, zone), node in nodes.items() if zone == az and node.nodeid in x]
        if xs:
            spans.append((min(xs), max(xs)))
    return all(left[1] < right[0] for left, right in zip(spans, spans[1:], strict=False))


def _route(edge_cls: type, color: str, label: str, dashed: bool = False, ranks: bool = True) -> Any:
    """A route arrow. ranks=False leaves it out of the ranking (constraint=false); its label is then
    an xlabel, placed after the layout: dot 2.43 aborts on some labelled unconstrained edges."""
    return edge_cls(
        color=color,
        style="dashed" if dashed else "solid",
        reverse=True,
        fontcolor=color,
        fontname=FONT,
        fontsize="9",
        constraint="true" if ranks else "false",
        **({"label": label} if ranks else {"xlabel": label}),
    )


def _same_rank(diagram: Any, nodes: list[Any]) -> None:
    if len(nodes) > 1:
        diagram.dot.body.append("\t{rank=same; " + " ".join(f'"{n.nodeid}";' for n in nodes) + "}\n")


def _subnet_lines(network: Network, subnet: Subnet) -> list[tuple[str, str]]:
    lines = [("b", subnet.tier), ("", subnet.cidr)]
    if subnet.ipv6_cidr:
        lines.append(("", subnet.ipv6_cidr))
    elif subnet.ipv6_index is not None:
        lines.append(("m", f"IPv6 /64 #{subnet.ipv6_index} of the /56"))
    if subnet.id:
        lines.append(("m", subnet.id))
    nat = network.nat(subnet.ipv4_route)
    if subnet.ipv4_route is None and subnet.ipv6_route is None:
        lines.append(("i", "no internet route"))
    elif nat is not None and nat.regional:
        lines.append(("i", "0.0.0.0/0 via the regional NAT"))
    elif nat is not None and nat.az != subnet.az:
        lines.append(("i", f"0.0.0.0/0 via the NAT in {nat.az}"))  # cross-zone: worth spelling out
    elif subnet.ipv4_route not in (None, IGW) and nat is None:
        lines.append(("i", f"0.0.0.0/0 to {subnet.ipv4_route}"))  # a transit gateway, a peering...
    return lines


def _nat_lines(nat: NatGateway) -> list[tuple[str, str]]:
    lines = [("b", "Regional NAT gateway" if nat.regional else "NAT gateway")]
    if nat.id:
        lines.append(("m", nat.id))
    if nat.regional:
        lines.append(("m", nat.eip_allocation_id or "AWS-managed addresses, every zone"))
    elif nat.public_ip:
        lines.append(("", f"EIP {nat.public_ip}"))
    elif nat.eip_allocation_id:
        lines.append(("m", nat.eip_allocation_id))
    else:
        lines.append(("m", "+ Elastic IP"))
    return lines


def _card_label(cls: type, lines: list[tuple[str, str]], icon_size: int) -> str:
    """An HTML-like label: the class's icon on the left, one line of text per (style, text) on the right.

    Styles: b bold, B bold and larger, m muted, i italic muted, "" plain.
    """
    lines = [(style, text) for style, text in lines if text]
    icon = _icon_path(cls)
    rows = []
    for k, (style, text) in enumerate(lines):
        cell = _styled(style, text)
        first = (
            f'<TD ROWSPAN="{len(lines)}" FIXEDSIZE="TRUE" WIDTH="{icon_size}" HEIGHT="{icon_size}" VALIGN="MIDDLE">'
            f'<IMG SRC="{_esc(str(icon))}" SCALE="TRUE"/></TD>'
            if k == 0
            else ""
        )
        rows.append(f'<TR>{first}<TD ALIGN="LEFT" BALIGN="LEFT">{cell}</TD></TR>')
    body = "".join(rows)
    label = f'<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1">{body}</TABLE>'
    return f"<{label}>"


def _styled(style: str, text: str) -> str:
    text = _esc(text)
    if style == "B":
        return f'<FONT POINT-SIZE="13"><B>{text}</B></FONT>'
    if style == "b":
        return f"<B>{text}</B>"
    if style == "m":
        return f'<FONT COLOR="{MUTED_COLOR}" POINT-SIZE="10">{text}</FONT>'
    if style == "i":
        return f'<FONT COLOR="{MUTED_COLOR}" POINT-SIZE="10"><I>{text}</I></FONT>'
    return text


def _legend(network: Network) -> str:
    """What the arrows mean, for the kinds of arrow this network has ("" when it has none)."""
    subnets = network.subnets.values()
    items = []
    if network.igw and (network.nats or any(s.ipv4_route == IGW for s in subnets)):
        items.append((IGW_EDGE, "━━", "0.0.0.0/0 to the internet gateway"))
    if any(network.nat(s.ipv4_route) for s in subnets):
        items.append((NAT_EDGE, "━━", "0.0.0.0/0 to a NAT gateway"))
    if any(s.ipv6_route in (IGW, EIGW) for s in subnets):
        items.append((V6_EDGE, "╍╍", "::/0 (IPv6)"))
    if network.transit_gateway:
        items.append((TGW_EDGE, "━━", "routes to the transit gateway (╍╍ its attachment)"))
    if not items:
        return ""
    cells = "".join(f'<TD><FONT COLOR="{color}">{line} {_esc(text)}</FONT></TD>' for color, line, text in items)
    return f'<<TABLE BORDER="0" CELLSPACING="8"><TR>{cells}</TR></TABLE>>'


def _service_title(service: str) -> str:
    return {"s3": "S3", "dynamodb": "DynamoDB"}.get(service, service)


def _icon_path(cls: Any) -> Path:  # a diagrams node class: its _icon_dir and _icon
    import diagrams

    return Path(diagrams.__file__).resolve().parent.parent / cls._icon_dir / cls._icon


def _id(kind: str, index: int, *names: str) -> str:
    """A node id dot needs no quotes for; the index keeps it unique whatever the names hold."""
    return re.sub(r"[^A-Za-z0-9_]", "_", "_".join((kind, str(index), *names)))


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


_IMAGE_HREF = re.compile(r'(<image\b[^>]*?\bxlink:href=")([^"]+)(")')
_TEXT = re.compile(r"(<(text|title)\b[^>]*>)([^<]*)(</\2>)")


def _tidy_svg(svg: str) -> str:
    """The SVG dot wrote, made to stand alone and read plainly.

    Every <image xlink:href="/path/icon.png"> becomes a data: URI (dot links the icon files it was
    given), and text keeps its hyphens (dot writes "-" as "&#45;", so a subnet id would not be found
    by a plain search). Comments are left alone: "--" may not appear in one.
    """
    cache: dict[str, str] = {}

    def inline(match: re.Match[str]) -> str:
        href = html.unescape(match.group(2))
        if href.startswith("data:"):
            return match.group(0)
        if href not in cache:
            data = Path(href).read_bytes()
            cache[href] = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
        return match.group(1) + cache[href] + match.group(3)

    def hyphens(match: re.Match[str]) -> str:
        return match.group(1) + match.group(3).replace("&#45;", "-") + match.group(4)

    return _TEXT.sub(hyphens, _IMAGE_HREF.sub(inline, svg))


# -- python -m vpcfactory_tools.diagram --------------------------------------------------------


def region_zones(region: str = DEFAULT_REGION) -> list[dict[str, Any]]:
    """The region's zones as the embedded emulator reports them (its zone table; no AWS call, no moto)."""
    from vpcfactory_tools.zones import emulator_zones

    return emulator_zones(region)


def plan_from_spec_file(spec_path: str | Path, zones: Iterable[dict[str, Any]] | None = None) -> Plan:
    """The plan of a spec file (YAML or JSON, bare or wrapped with a target) in the given zones."""
    import yaml

    from vpcfactory.plan import plan_network
    from vpcfactory.spec import parse_spec, split_input

    raw, _target = split_input(yaml.safe_load(Path(spec_path).read_text(encoding="utf-8")))
    return plan_network(parse_spec(raw), list(zones) if zones is not None else region_zones())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m vpcfactory_tools.diagram",
        description="Draw the network a spec plans (no AWS call) to an .svg or .png.",
    )
    parser.add_argument("spec", help="the spec file (YAML or JSON)")
    parser.add_argument("-o", "--output", required=True, help="the file to write: .svg or .png")
    parser.add_argument("--region", default=DEFAULT_REGION, help=f"whose zones to plan in (default {DEFAULT_REGION})")
    args = parser.parse_args(argv)
    from vpcfactory.errors import InvalidSpec

    try:
        plan = plan_from_spec_file(args.spec, region_zones(args.region))
        out = render(network_from_plan(plan), args.output)
    except (OSError, ValueError, RuntimeError, InvalidSpec) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
