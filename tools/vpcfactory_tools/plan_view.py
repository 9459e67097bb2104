"""`vpcfactory plan` for people: the network a spec plans, what it leaves free, what it costs,
what to worry about, and — against a VPC the factory already built — what a re-apply would do.

Everything here is derived from the plan (functions/vpcfactory/plan.py) and, for the diff, from
growth.compare: the same code the build runs, so the plan cannot promise what the build won't do.
`facts()` is the machine-readable form (`plan --json` adds it to the plan); `render()` draws it
with rich, which leaves out colour and cursor codes when the output is not a terminal.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Any, TextIO

from rich.console import Console
from rich.table import Table
from rich.text import Text

from vpcfactory import interface_endpoints_spec, ipam, pricing
from vpcfactory.plan import zones_region
from vpcfactory.spec import Spec, allocate, plural

if TYPE_CHECKING:
    from vpcfactory.contracts import Plan, PlannedSubnet, RouteTarget

ROUTE_LABELS = {"igw": "internet gateway", "eigw": "egress-only internet gateway"}
RFC1918 = tuple(ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))
SHARED_ADDRESS_SPACE = ipaddress.IPv4Network("100.64.0.0/10")  # RFC 6598 (carrier-grade NAT)
RANGE_LABELS = {
    "rfc1918": "private address space (RFC 1918)",
    "rfc6598": "shared address space (RFC 6598, 100.64.0.0/10)",
    "special-purpose": "IANA special-purpose address space (neither RFC 1918 nor RFC 6598)",
    "public": "public address space (neither RFC 1918 nor RFC 6598)",
}


# -- facts (pure) -----------------------------------------------------------------------------
def address_space(spec: Spec, plan: Plan) -> dict[str, Any]:
    """How the VPC's IPv4 addresses are spent: in subnets, kept for future zones, free."""
    vpc = ipaddress.IPv4Network(plan["cidr"])
    layout = allocate(spec)
    zones = len(plan["availabilityZones"])
    in_subnets = sum(ipaddress.IPv4Network(s["cidr"]).num_addresses for s in plan["subnets"])
    # a prefixLength tier's block holds azReservation subnets; the ones no zone uses yet are kept
    kept = sum(
        net.num_addresses
        for tier, nets in zip(spec.tiers, layout, strict=True)
        if tier.cidrs is None
        for net in nets[zones:]
    )
    taken = [net for nets in layout for net in nets]
    free_blocks = _free_blocks(vpc, taken)
    free = sum(b.num_addresses for b in free_blocks)
    largest = max(free_blocks, key=lambda b: (b.num_addresses, -int(b.network_address)), default=None)
    return {
        "vpc": vpc.num_addresses,
        "inSubnets": in_subnets,
        "keptForFutureZones": kept,
        "free": free,
        "largestFreeBlock": str(largest) if largest else None,
        "freeBlocks": [str(b) for b in free_blocks],
    }


def address_range(cidr: str) -> dict[str, str]:
    """Which kind of IPv4 space the VPC's range is: {kind, label}. A VPC CIDR (/16 to /28) lies
    wholly inside or wholly outside each of these blocks (/8 to /16), so one kind fits."""
    net = ipaddress.IPv4Network(cidr)
    if any(net.subnet_of(block) for block in RFC1918):
        kind = "rfc1918"
    elif net.subnet_of(SHARED_ADDRESS_SPACE):
        kind = "rfc6598"
    elif net.is_private or net.is_reserved or net.is_multicast or not net.is_global:
        kind = "special-purpose"  # documentation, benchmarking, ... (Python's IANA registry)
    else:
        kind = "public"
    return {"kind": kind, "label": RANGE_LABELS[kind]}


def _free_blocks(vpc: ipaddress.IPv4Network, taken: list[ipaddress.IPv4Network]) -> list[ipaddress.IPv4Network]:
    free = [vpc]
    for net in sorted(taken):
        next_free: list[ipaddress.IPv4Network] = []
        for block in free:
            if block.overlaps(net):
                if net.subnet_of(block):
                    next_free.extend(block.address_exclude(net))
                # block inside net: fully taken
            else:
                next_free.append(block)
        free = next_free
    return sorted(ipaddress.collapse_addresses(free))


def warnings(spec: Spec, plan: Plan, space: dict[str, Any]) -> list[str]:
    """What a reviewer should think about before applying. Each is a sentence; none is an error."""
    out: list[str] = []
    zones = [z["name"] for z in plan["availabilityZones"]]
    nats = plan["natGateways"]
    kind = address_range(plan["cidr"])["kind"] if not ipam.is_nominal(plan) else "ipam-pool"
    if kind == "ipam-pool":
        out.append(ipam_note(plan))
    if kind == "public":
        out.append(
            f"{plan['cidr']} is public address space, not RFC 1918 private space (10.0.0.0/8, 172.16.0.0/12, "
            "192.168.0.0/16) nor RFC 6598 shared space (100.64.0.0/10): the VPC routes it locally, so those "
            "addresses on the internet become unreachable from it (fine only if the range is yours)"
        )
    elif kind == "special-purpose":
        out.append(
            f"{plan['cidr']} is IANA special-purpose address space (documentation, benchmarking, ...), not RFC 1918 "
            "private space (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16) nor RFC 6598 shared space (100.64.0.0/10): "
            "networks you connect it to may filter or route it specially"
        )
    private = [s for s in plan["subnets"] if s["type"] == "private"]
    if len(zones) == 1:
        out.append(f"one zone ({zones[0]}): a zone outage takes the whole network down")
    regional = any(n.get("availabilityMode") == "regional" for n in nats)  # in every zone (nat_modes.py)
    if private and not nats:
        out.append("private tiers have no NAT gateway: they get no IPv4 route to the internet")
    elif regional:
        pass
    elif private and len(nats) == 1 and len(zones) > 1:
        out.append(
            f"single NAT gateway in {nats[0]['az']}: if that zone fails, every zone loses internet egress, "
            "and the other zones pay cross-AZ data charges on it"
        )
    elif private and len(nats) < len(zones):
        borrowed = sorted({s["az"] for s in private} - {n["az"] for n in nats})
        out.append(
            f"{plural(len(nats), 'NAT gateway')} for {plural(len(zones), 'zone')}: {', '.join(borrowed)} "
            "egress through a NAT in another zone (cross-AZ data charges; that zone's outage cuts their egress)"
        )
    if plan["flowLogs"] is None:
        out.append("flow logs are off: no record of traffic for incident response (Security Hub EC2.6 fails)")
    if not plan["lockDownDefaultSecurityGroup"]:
        out.append("the default security group keeps AWS's rules (Security Hub EC2.2 fails)")
    public_ip = sorted({s["tier"] for s in plan["subnets"] if s["mapPublicIpOnLaunch"]})
    if public_ip:
        out.append(f"{_tiers_phrase(public_ip)} every instance a public IP on launch (Security Hub EC2.15 fails)")
    if private and not plan["gatewayEndpoints"]:
        out.append("no S3/DynamoDB gateway endpoints: that traffic goes through the NAT and pays per GB")
    if space["free"] < space["vpc"] // 10:
        out.append(f"only {space['free']:,} of {space['vpc']:,} addresses are left free: little room for another tier")
    return out


def _tiers_phrase(tiers: list[str]) -> str:
    return f"tier {tiers[0]} gives" if len(tiers) == 1 else f"tiers {', '.join(tiers)} give"


def facts(spec: Spec, plan: Plan, diff: dict[str, Any] | None = None) -> dict[str, Any]:
    """What `plan --json` adds to the plan: address space, which kind of range the VPC's is, which
    Region's prices the costs are (priceRegion), warnings, and the diff if one was asked."""
    space = address_space(spec, plan)
    prices = price_basis(plan)
    out: dict[str, Any] = {
        "addressSpace": space,
        "addressRange": address_range(plan["cidr"])
        if not ipam.is_nominal(plan)
        else {"kind": "ipam-pool", "label": "allocated by the IPAM pool at build time"},
        "ipam": ipam_facts(plan),
        # the costs (monthlyCostUsd, costComparison) are this Region's list prices, whatever the plan's Region
        "priceRegion": prices["priceRegion"],
        "prices": prices,
        "warnings": warnings(spec, plan, space),
    }
    if plan.get("interfaceEndpoints"):
        out["interfaceEndpointCost"] = interface_endpoints_spec.hourly_cost(plan, pricing.prices())
    if diff is not None:
        out["diff"] = diff
    return out


def ipam_facts(plan: Plan) -> dict[str, Any] | None:
    """An IPAM VPC (functions/vpcfactory/ipam.py): the pool, and the block previewed (None: no preview)."""
    pool = plan.get("ipam")
    if not pool:
        return None
    return {**pool, "previewedCidr": None if ipam.is_nominal(plan) else plan["cidr"]}


def cidr_text(plan: Plan) -> str:
    """The VPC's block as `plan` shows it: a CIDR, or where an IPAM VPC's block comes from."""
    pool = plan.get("ipam")
    if not pool:
        return plan["cidr"]
    if ipam.is_nominal(plan):
        return f"/{pool['netmaskLength']} from IPAM pool {pool['poolId']}"
    return f"{plan['cidr']} (IPAM pool {pool['poolId']}: its next /{pool['netmaskLength']}, previewed)"


def ipam_note(plan: Plan) -> str:
    pool = plan.get("ipam")
    pool_id = pool["poolId"] if pool else "?"
    return (
        f"the VPC's block comes from IPAM pool {pool_id} and could not be previewed here (no such pool "
        "in the embedded emulator; pass --endpoint-url or --stack to preview it): the build previews it when it "
        f"starts, and the subnet addresses shown are offsets in a nominal {plan['cidr']}"
    )


# -- rendering --------------------------------------------------------------------------------
def console_for(out: TextIO) -> Console:
    """A console on `out`: colour on a terminal; plain text, wide enough not to wrap tables, otherwise."""
    interactive = out.isatty() if hasattr(out, "isatty") else False
    return Console(file=out, width=None if interactive else 200, highlight=False, soft_wrap=not interactive)


def render(spec: Spec, plan: Plan, out: TextIO, diff: dict[str, Any] | None = None) -> None:
    info = facts(spec, plan, diff)
    console = console_for(out)
    zones = [z["name"] for z in plan["availabilityZones"]]
    zone_ids = {z["name"]: z.get("zoneId") for z in plan["availabilityZones"]}
    console.print(
        Text.assemble(
            ("VPC ", "bold"),
            (plan["name"], "bold cyan"),
            f"  {cidr_text(plan)}  ",
            ("" if info["addressRange"]["kind"] == "rfc1918" else f"({info['addressRange']['label']})  ", "yellow"),
            f"{plural(len(zones), 'zone')} ({', '.join(f'{z} {zone_ids[z]}' if zone_ids[z] else z for z in zones)}), "
            f"room kept for {plan['azReservation']}",
            f"  IPv6 {'on (Amazon /56)' if plan['ipv6'] else 'off'}",
        )
    )
    console.print(_subnet_table(plan, zones))
    console.print(_route_table(plan))
    console.print(_space_line(info["addressSpace"]))
    for line in summarize(plan).splitlines():
        if line.startswith(
            (
                "NAT gateways:",
                "IPv6: Amazon",
                "Flow logs",
                "Gateway endpoints",
                "Interface endpoint",
                "Transit gateway",
                "  routes to it",
                "  associated with",
                "  propagated to",
                "Default security group",
                "Monthly",
                "NAT modes",
                "Prices",
            )
        ):
            console.print(line, style="dim" if line.startswith("Prices") else None)
    if info["warnings"]:
        console.print(Text("Warnings", style="bold yellow"))
        for warning in info["warnings"]:
            console.print(Text.assemble(("  ! ", "yellow"), warning))
    if diff is not None:
        render_diff(diff, plan, console)


def _subnet_table(plan: Plan, zones: list[str]) -> Table:
    table = Table(title=None, show_edge=False, pad_edge=False, header_style="bold")
    table.add_column("tier")
    table.add_column("type")
    for zone in zones:
        table.add_column(zone)
    table.add_column("usable/subnet", justify="right")
    by_tier: dict[str, list[PlannedSubnet]] = {}
    for sub in plan["subnets"]:
        by_tier.setdefault(sub["tier"], []).append(sub)
    colours = {"public": "green", "private": "blue", "isolated": "magenta"}
    for tier, subs in by_tier.items():
        kind = subs[0]["type"]
        cells = {s["az"]: s["cidr"] for s in subs}
        usable = ipaddress.IPv4Network(subs[0]["cidr"]).num_addresses - 5  # AWS reserves 5 per subnet
        table.add_row(Text(tier, style=colours.get(kind, "")), kind, *(cells.get(z, "-") for z in zones), f"{usable:,}")
    return table


def _route_table(plan: Plan) -> Table:
    nats = {n["logicalId"]: n for n in plan["natGateways"]}
    endpoints = plan["gatewayEndpoints"]
    table = Table(show_edge=False, pad_edge=False, header_style="bold")
    table.add_column("route table")
    table.add_column("subnets")
    table.add_column("0.0.0.0/0 →")
    if plan["ipv6"]:
        table.add_column("::/0 →")
    table.add_column("gateway endpoints")
    tgw = plan.get("transitGateway")
    if tgw:
        table.add_column("→ transit gateway")
    for rt in plan["routeTables"]:
        route = rt.get("defaultRoute")
        if route is None:
            v4 = Text("no route (isolated)" if rt["type"] == "isolated" else "no route", style="magenta")
        elif route["target"] == "igw":
            v4 = Text("internet gateway", style="green")
        else:
            nat = nats[route["nat"]]
            foreign = rt.get("az") and nat["az"] and nat["az"] != rt["az"]
            v4 = (
                Text("regional NAT", style="blue")
                if not nat["az"]
                else Text(
                    f"NAT in {nat['az']}" + (" (another zone)" if foreign else ""),
                    style="yellow" if foreign else "blue",
                )
            )
        row: list[Any] = [rt["logicalId"], ", ".join(s.split("/", 1)[1] for s in rt["subnets"]), v4]
        if plan["ipv6"]:
            v6 = rt.get("ipv6DefaultRoute")
            row.append(ROUTE_LABELS[v6["target"]] if v6 else "no route")
        row.append(", ".join(e["service"] for e in endpoints if rt["logicalId"] in e["routeTables"]) or "-")
        if tgw:
            row.append(", ".join(rt.get("transitGatewayRoutes") or []) or "-")
        table.add_row(*row)
    return table


def _space_line(space: dict[str, Any]) -> str:
    def pct(n: int) -> str:
        return f"{100 * n / space['vpc']:.0f}%"

    line = (
        f"Addresses: {space['vpc']:,} in the VPC; {space['inSubnets']:,} in subnets ({pct(space['inSubnets'])}), "
        f"{space['keptForFutureZones']:,} kept for future zones ({pct(space['keptForFutureZones'])}), "
        f"{space['free']:,} free ({pct(space['free'])})"
    )
    if space["largestFreeBlock"]:
        line += f"; largest free block {space['largestFreeBlock']}"
    return line


def render_diff(diff: dict[str, Any], plan: Plan, console: Console) -> None:
    """What a re-apply would do to the VPC the spec's name already identifies."""
    console.print(Text("Against the target", style="bold"))
    if diff["mode"] == "create":
        console.print(f"  no VPC is tagged vpcfactory:vpc={plan['name']}: apply builds a new one")
        return
    if diff["mode"] == "ambiguous":
        console.print(
            Text(
                f"  {len(diff['vpcIds'])} VPCs carry vpcfactory:vpc={plan['name']} ({', '.join(diff['vpcIds'])}): "
                "apply refuses until one is destroyed",
                style="red",
            )
        )
        return
    cidrs = {s["logicalId"]: s["cidr"] for s in plan["subnets"]}
    unchanged = len(diff["unchanged"])
    console.print(
        f"  {diff['vpcId']}: {plural(unchanged, 'resource')} {'exists' if unchanged == 1 else 'exist'} as planned"
    )
    for logical in diff["added"]:
        extra = f" {cidrs[logical]}" if logical in cidrs else ""
        console.print(Text.assemble(("  + ", "green"), f"{logical}{extra}"))
    for change in diff["refused"]:
        console.print(Text.assemble(("  ✗ ", "red"), change))
    if diff["refused"]:
        console.print(
            Text(
                "  apply refuses these changes in place (nothing is changed); --allow-replace builds a new VPC "
                "instead and leaves the old one for you to destroy",
                style="red",
            )
        )
    elif not diff["added"]:
        console.print("  no changes: apply would find everything in place")
    else:
        console.print(f"  apply would add {plural(len(diff['added']), 'resource')} and change nothing that exists")


# -- summary text (moved here from vpcfactory.plan: only the CLI prints it) -------------------
def summarize(plan: Plan) -> str:
    """The plan in a few plain lines (render() reuses them): tier x zone CIDRs, NAT placement,
    routes, features, cost."""
    azs = [z["name"] for z in plan["availabilityZones"]]
    tables = {t["logicalId"]: t for t in plan["routeTables"]}
    tiers: dict[str, list[PlannedSubnet]] = {}
    for sub in plan["subnets"]:
        tiers.setdefault(sub["tier"], []).append(sub)

    rows = [["tier", "type", *azs, "default route"]]
    for tier, subs in tiers.items():
        routes = [tables[s["routeTable"]]["defaultRoute"] for s in subs]
        rows.append([tier, subs[0]["type"], *(s["cidr"] for s in subs), _describe_routes(routes, subs)])
    widths = [max(len(row[c]) for row in rows) for c in range(len(rows[0]))]
    table = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]

    nats = plan["natGateways"]
    if nats and nats[0].get("availabilityMode") == "regional":
        brought = [eid for a in nats[0].get("zoneAddresses") or [] for eid in a["allocationIds"]]
        nat_line = "NAT gateways: 1 regional, in every zone, no public subnet needed (" + (
            f"brought Elastic IPs {', '.join(brought)}, one per zone)" if brought else "AWS-managed addresses)"
        )
    elif nats:
        placed = ", ".join(
            f"{n['az']} in {n['subnet']}" + (f" with {n['eipAllocationId']}" if n["eipAllocationId"] else "")
            for n in nats
        )
        nat_line = f"NAT gateways: {len(nats)} ({placed})"
    else:
        nat_line = "NAT gateways: none"

    lines = [
        f"VPC {plan['name']} {cidr_text(plan)}: {plural(len(azs), 'zone')}, room reserved for {plan['azReservation']}",
        *table,
        nat_line,
        *_feature_lines(plan, tiers),
        *_cost_lines(plan),
    ]
    return "\n".join(lines)


def _describe_routes(routes: list[RouteTarget | None], subnets: list[PlannedSubnet]) -> str:
    first = routes[0] if routes else None
    if not any(routes) or first is None:
        return "none"
    if first["target"] == "igw":
        return "internet gateway"
    nats = [r["nat"].removeprefix("nat/") for r in routes if r]
    own = [nat == s["az"] for nat, s in zip(nats, subnets, strict=True)]
    if all(own) and len(nats) > 1:
        return "NAT in its own zone"
    if nats == ["regional"] * len(nats):
        return "regional NAT"
    if len(set(nats)) == 1:
        return f"NAT in {nats[0]}"
    borrowed = [f"{s['az']} via {nat}" for nat, s, mine in zip(nats, subnets, own, strict=True) if not mine]
    return "NAT in its own zone; " + ", ".join(borrowed)


def _feature_lines(plan: Plan, tiers: dict[str, list[PlannedSubnet]]) -> list[str]:
    lines = []
    if plan["ipv6"]:
        blocks = ", ".join(f"{tier} {subs[0]['ipv6Index']}-{subs[-1]['ipv6Index']}" for tier, subs in tiers.items())
        auto = [tier for tier, subs in tiers.items() if subs[0]["assignIpv6AddressOnCreation"]]
        lines.append(
            f"IPv6: Amazon-provided /56, one /64 per subnet (indexes {blocks}; auto-assigned in "
            f"{', '.join(auto) or 'no tier'}); ::/0 to the internet gateway (public), the egress-only "
            "internet gateway (private), none (isolated)"
        )
    else:
        lines.append("IPv6: off")
    flow = plan["flowLogs"]
    if flow is None:
        lines.append("Flow logs: off (Security Hub EC2.6 will fail)")
    elif flow["destination"] == "s3":
        where = str(flow["bucketArn"]) + (f" prefix {flow['prefix']}" if flow["prefix"] else "")
        lines.append(
            f"Flow logs: {flow['trafficType']} traffic to S3 {where}, {flow['maxAggregationInterval']} s aggregation"
        )
    else:
        lines.append(
            f"Flow logs: {flow['trafficType']} traffic to CloudWatch Logs {flow['logGroupName']} "
            f"({flow['retentionDays']} days), {flow['maxAggregationInterval']} s aggregation"
        )
    endpoints = plan["gatewayEndpoints"]
    if endpoints:
        services = ", ".join(e["service"] for e in endpoints)
        lines.append(f"Gateway endpoints: {services} on {', '.join(endpoints[0]['routeTables'])}")
    else:
        lines.append("Gateway endpoints: none")
    lines += interface_endpoint_lines(plan)
    lines += transit_gateway_lines(plan)
    lines.append(
        "Default security group: every rule removed (Security Hub EC2.2)"
        if plan["lockDownDefaultSecurityGroup"]
        else "Default security group: left as AWS creates it (Security Hub EC2.2 will fail)"
    )
    return lines


def transit_gateway_lines(plan: Plan) -> list[str]:
    """The transit gateway attachment (vpcfactory.transit): where, what it routes, how it is associated."""
    tgw = plan.get("transitGateway")
    if not tgw:
        return []
    cidrs = {s["logicalId"]: s["cidr"] for s in plan["subnets"]}
    where = ", ".join(cidrs[s] for s in tgw["subnets"])
    lines = [
        f"Transit gateway: {tgw['id']} attached in a /28 per zone at the top of the VPC ({where}), "
        "route table rtb/tgw (no internet route); waited for until available",
        f"  routes to it from every private and isolated tier: {', '.join(tgw['routes']) or 'none'}",
    ]
    if tgw["associateRouteTableId"]:
        lines.append(f"  associated with {tgw['associateRouteTableId']} (instead of the gateway's default table)")
    if tgw["propagateRouteTableIds"]:
        lines.append(f"  propagated to {', '.join(tgw['propagateRouteTableIds'])}")
    return lines


def interface_endpoint_lines(plan: Plan) -> list[str]:
    """Interface endpoints: where, and their hourly cost per zone (each endpoint is billed per zone)."""
    planned = plan.get("interfaceEndpoints") or []
    if not planned:
        return []
    cost = interface_endpoints_spec.hourly_cost(plan, pricing.prices())
    subnets = {s["logicalId"]: s for s in plan["subnets"]}
    per_zone: dict[str, int] = {}
    for endpoint in planned:
        for logical in endpoint["subnets"]:
            per_zone[subnets[logical]["az"]] = per_zone.get(subnets[logical]["az"], 0) + 1
    zones = ", ".join(f"{zone} ${count * cost['perAzHour']:.2f}/h" for zone, count in per_zone.items())
    return [
        f"Interface endpoints: {', '.join(e['service'] for e in planned)} in tier {planned[0]['tier']}, private DNS "
        f"on, security group {interface_endpoints_spec.SECURITY_GROUP_ID} (443 from the VPC's "
        f"{'block' if ipam.is_nominal(plan) else plan['cidr']})",
        f"Interface endpoint cost: ${cost['perAzHour']:.2f} per endpoint per zone-hour; per zone: {zones}; "
        f"${cost['hourly']:.2f}/h, ${cost['monthly']:.2f}/month (zones a service is not offered in are "
        "left out at build time and not billed; per-GB data processing extra)",
    ]


def _cost_lines(plan: Plan) -> list[str]:
    cost, compare = plan["monthlyCostUsd"], plan["costComparison"]
    options = ", ".join(
        f"{mode} ${compare[mode]['total']:.2f}" + (" (billed per zone it is active in)" if mode == "regional" else "")
        for mode in pricing.NAT_MODE_COMPARISON
        if mode in compare  # a plan made before regional NATs has no price for them
    )
    count = len(plan["natGateways"])
    chosen = compare["chosen"]
    label = f"{count} NAT gateways" if chosen == "count" else chosen
    versus = [
        f"{_difference(compare[key])} {mode}"
        for key, mode in (("vsPerAz", "per-az"), ("vsSingle", "single"))
        if mode != chosen
    ]
    # Without a private tier nothing routes through a NAT and the spec refuses one: no choice to weigh.
    modes = (
        f"NAT modes per month: {options}; chosen {label}: {', '.join(versus)}"
        if any(s["type"] == "private" for s in plan["subnets"])
        else "NAT modes: none (no private tier would route through a NAT gateway)"
    )
    return [
        f"Monthly fixed cost: ${cost['total']:.2f} (NAT gateways ${cost['natGateways']:.2f}, "
        f"Elastic IPs ${cost['elasticIps']:.2f}; per-GB data processing and flow log ingestion extra)",
        modes,
        f"Prices: {price_basis(plan)['note']} (functions/vpcfactory/data/prices.json)",
    ]


def _difference(delta: float) -> str:
    if delta < 0:
        return f"${-delta:.2f} less than"
    if delta > 0:
        return f"${delta:.2f} more than"
    return "the same as"


PRICING_PAGE = "https://aws.amazon.com/vpc/pricing/"


def price_basis(plan: Plan) -> dict[str, Any]:
    """What the plan's costs are: one Region's on-demand list prices (data/prices.json), whatever
    Region the plan is for. {priceRegion, planRegion, basis, asOf, currency, note}."""
    table = pricing.prices()
    zones = [{"ZoneName": z["name"]} for z in plan.get("availabilityZones") or []]
    plan_region = zones_region(zones) if zones else None
    note = f"{table['region']} on-demand list prices as of {table['asOf']}, in {table['currency']}"
    if plan_region and plan_region != table["region"]:
        note += f"; this plan is for {plan_region}, whose prices differ: see {PRICING_PAGE}"
    return {
        "priceRegion": table["region"],
        "planRegion": plan_region,
        "basis": "on-demand list prices",
        "asOf": table["asOf"],
        "currency": table["currency"],
        "note": note,
    }
