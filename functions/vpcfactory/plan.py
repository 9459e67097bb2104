"""The network plan: which subnet gets which CIDR, where the NAT gateways go, which route tables exist.

How CIDRs are allocated
-----------------------
The plan is deterministic (the same spec and zones always give the same plan) and stable:
adding an availability zone (up to the reservation) or appending a tier never changes the CIDR
of a subnet an earlier version of the spec planned, so a VPC can grow without renumbering
(for tiers with explicit `cidrs`, see the one caveat below).

1. Every tier that gives a `prefixLength` reserves a block of R consecutive subnets of that size,
   one per availability zone it may ever have. R is `azReservation` if the spec sets it, else 4
   when the VPC uses 4 zones or fewer and 6 otherwise (the most zones any region has). Only the
   first N subnets of the block are created, N being the number of zones in use; the others stay
   free for the zones you add later.
2. Tiers are placed in the order the spec lists them. A tier with explicit `cidrs` gets exactly
   those. A `prefixLength` tier's block goes at the lowest address that is aligned to its subnet
   size, comes after the previous `prefixLength` tier's block (the first one starts at the VPC's
   first address) and does not overlap an explicit CIDR of an earlier tier. Zone number k (in
   the order of `availabilityZones`) gets the k-th subnet of the block.
3. An explicit CIDR may not overlap another subnet or any tier's reserved block (earlier or
   later in the list), and a block must fit inside the VPC: either mistake rejects the spec,
   naming the field, before anything is created.

Because a tier's place depends only on the tiers before it and on R, appending a tier moves
nothing, and a new zone takes the next unused subnet of each block. Two things do move
subnets: changing R (including the default jumping from 4 to 6 when a fifth zone is added; set
`azReservation: 6` up front if you expect that), and inserting or resizing a tier in the middle
of the list. When you extend an explicit-`cidrs` tier for a new zone, pick a CIDR outside the
later tiers' blocks (a block is R subnets starting at the tier's first subnet), or those blocks
shift past it.

IPv6 follows the same rule. The VPC gets an Amazon-provided /56, i.e. 256 /64s, and subnet k
(zone index k) of the tier at position t gets /64 number t * R + k ("ipv6Index"): tier t owns
/64s t*R to t*R+R-1, so a new zone within R or an appended tier never renumbers a subnet. A spec
whose tiers would need more than 256 /64s is rejected (with at most 8 tiers and R <= 16 that
cannot happen today; the check is there for when those limits move).

Zones: only zones with State `available` and ZoneType `availability-zone` count (local and
wavelength zones are skipped). A count takes the first N by name; a list keeps its own order,
so appending a zone to the list keeps every existing zone's index. List zone IDs to pin the
physical zones: names map to different zones in different accounts, IDs do not.

NAT gateways go in the first N zones (single: N = 1, per-az: every zone, natGateways: N). A
private route table in zone k uses the NAT in its own zone when there is one, else NAT k mod N
(round-robin), so adding a zone never moves an existing route.

Costs come from data/prices.json (one region's list prices, with the date they were read, used
whatever Region the plan is for: price_basis says which, and `plan` prints it): NAT
gateway hours and the public IPv4 address of each Elastic IP the run allocates. A brought-your-own
EIP is not counted (it is already paid for, and never released by us). Per-GB charges (NAT data
processing, data transfer, flow log ingestion) depend on traffic and are not estimated.
"""

from __future__ import annotations

import functools
import ipaddress
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vpcfactory.errors import InvalidSpec

if TYPE_CHECKING:  # spec.py imports this module at runtime (parse_spec calls allocate)
    from vpcfactory.spec import Spec, Tier

PRICES_FILE = Path(__file__).resolve().parent / "data" / "prices.json"

IPV6_SUBNETS_PER_VPC = 256  # /64s in the Amazon-provided /56
NAT_MODE_COMPARISON = ("none", "single", "per-az")

Range = tuple[int, int]  # [start, end) as integers


@functools.cache
def _load_prices() -> dict[str, Any]:
    return json.loads(PRICES_FILE.read_text(encoding="utf-8"))


def prices() -> dict[str, Any]:
    """The price table (data/prices.json): asOf, source, region, currency, hoursPerMonth, hourly rates."""
    return dict(_load_prices())


PRICING_PAGE = "https://aws.amazon.com/vpc/pricing/"


def price_basis(plan: dict[str, Any]) -> dict[str, Any]:
    """What the plan's costs are: one Region's on-demand list prices (data/prices.json), whatever
    Region the plan is for. {priceRegion, planRegion, basis, asOf, currency, note}."""
    table = _load_prices()
    zones = [{"ZoneName": z["name"]} for z in plan.get("availabilityZones") or []]
    plan_region = _region(zones) if zones else None
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


def monthly_cost(nat_gateways: int, byo_eips: int = 0) -> dict[str, float]:
    """{natGateways, elasticIps, total} per month in USD; byo_eips of the NATs' addresses are not charged."""
    table = _load_prices()
    hours = table["hoursPerMonth"]
    nat = round(nat_gateways * table["natGatewayHourly"] * hours, 2)
    eip = round(max(0, nat_gateways - byo_eips) * table["publicIpv4Hourly"] * hours, 2)
    return {"natGateways": nat, "elasticIps": eip, "total": round(nat + eip, 2)}


def ipv6_blocks(spec: Spec) -> list[range]:
    """Per tier, in spec order: the /64 indexes it reserves in the VPC's /56 (R of them, zone order).

    Raises InvalidSpec (field `tiers`) when the tiers need more than the /56's 256 /64s.
    """
    reservation = spec.az_reservation
    need = len(spec.tiers) * reservation
    if need > IPV6_SUBNETS_PER_VPC:
        raise InvalidSpec(
            "tiers",
            f"with ipv6 each tier reserves azReservation ({reservation}) /64s of the VPC's /56: "
            f"{len(spec.tiers)} tiers need {need} but a /56 has {IPV6_SUBNETS_PER_VPC}; "
            "lower azReservation or use fewer tiers",
        )
    return [range(t * reservation, (t + 1) * reservation) for t in range(len(spec.tiers))]


def allocate(spec: Spec) -> list[list[ipaddress.IPv4Network]]:
    """Per tier, in spec order: its subnets in zone order.

    For a prefixLength tier that is the whole reserved block (R subnets; the first N are used);
    for an explicit tier, its cidrs. Raises InvalidSpec when a block does not fit or CIDRs overlap.
    """
    vpc = ipaddress.IPv4Network(spec.cidr)
    vpc_range = (int(vpc.network_address), int(vpc.broadcast_address) + 1)
    reservation = spec.az_reservation
    explicit: dict[int, list[ipaddress.IPv4Network]] = {}
    blocks: dict[int, Range] = {}

    cursor = vpc_range[0]
    for i, tier in enumerate(spec.tiers):
        if tier.cidrs is not None:
            explicit[i] = [ipaddress.IPv4Network(c) for c in tier.cidrs]
            continue
        size = 2 ** (32 - tier.prefix_length)
        need = reservation * size
        start = _align_up(cursor, size)
        earlier = [_range(n) for j in explicit for n in explicit[j]]
        while clashes := [end for s, end in earlier if _overlaps((start, start + need), (s, end))]:
            start = _align_up(max(clashes), size)
        if start + need > vpc_range[1]:
            free = max(0, vpc_range[1] - start)
            raise InvalidSpec(
                f"tiers[{i}].prefixLength",
                f"tier {tier.name!r} needs {reservation} x /{tier.prefix_length} = {need} addresses "
                f"(azReservation {reservation}) but only {free} are free after the earlier tiers "
                f"in {vpc}; lower azReservation or the prefix length",
            )
        blocks[i] = (start, start + need)
        cursor = start + need

    # Explicit CIDRs against everything else. Blocks only step around the explicit CIDRs of tiers
    # before them, so a later explicit tier can land in a block, even in a slot no zone uses yet:
    # that slot is promised to a future zone, so it is an error too.
    for i, nets in explicit.items():
        for k, net in enumerate(nets):
            other = _first_overlap(spec, i, k, net, explicit, blocks, reservation)
            if other:
                raise InvalidSpec(f"tiers[{i}].cidrs[{k}]", f"{net} overlaps {other}")

    out: list[list[ipaddress.IPv4Network]] = []
    for i, tier in enumerate(spec.tiers):
        if i in explicit:
            out.append(explicit[i])
        else:
            start, end = blocks[i]
            size = 2 ** (32 - tier.prefix_length)
            out.append([ipaddress.IPv4Network((addr, tier.prefix_length)) for addr in range(start, end, size)])
    return out


def plan_network(spec: Spec, zones: list[dict[str, Any]]) -> dict[str, Any]:
    """The plan the build handlers follow. Its shape is a contract with network.py and outputs.py."""
    azs = _select_zones(spec, zones)
    layout = allocate(spec)
    v6_layout = ipv6_blocks(spec) if spec.ipv6 else None
    name = spec.name
    public_tiers = [t.name for t in spec.tiers if t.type == "public"]  # NATs live in the first

    nat_azs = azs[: spec.nat_gateway_count]
    nats = [
        {
            "logicalId": f"nat/{az['name']}",
            "az": az["name"],
            "subnet": f"subnet/{public_tiers[0]}/{az['name']}",
            "eip": f"eip/{az['name']}",
            "eipAllocationId": spec.eip_allocation_ids[k] if spec.eip_allocation_ids else None,
            "name": f"{name}-nat-{az['name']}",
        }
        for k, az in enumerate(nat_azs)
    ]
    nat_by_az = {n["az"]: n["logicalId"] for n in nats}
    has_private = any(t.type == "private" for t in spec.tiers)

    subnets: list[dict[str, Any]] = []
    tables: list[dict[str, Any]] = []
    for t, (tier, cidrs) in enumerate(zip(spec.tiers, layout, strict=True)):
        tier_subnets = []
        for k, az in enumerate(azs):
            per_az_table = tier.type == "private"  # so each AZ can egress through its own NAT
            table = f"rtb/{tier.name}/{az['name']}" if per_az_table else f"rtb/{tier.name}"
            tier_subnets.append(
                {
                    "logicalId": f"subnet/{tier.name}/{az['name']}",
                    "tier": tier.name,
                    "type": tier.type,
                    "az": az["name"],
                    "azIndex": k,
                    "cidr": str(cidrs[k]),
                    "name": f"{name}-{tier.name}-{az['name']}",
                    "mapPublicIpOnLaunch": tier.map_public_ip_on_launch,
                    "tags": dict(tier.tags),
                    "routeTable": table,
                    "ipv6Index": v6_layout[t][k] if v6_layout else None,
                    "assignIpv6AddressOnCreation": tier.assign_ipv6_address_on_creation,
                }
            )
        subnets.extend(tier_subnets)

        # Isolated tiers get no internet route at all, IPv4 or IPv6.
        v6_route = {"public": {"target": "igw"}, "private": {"target": "eigw"}}.get(tier.type)
        v6_route = v6_route if spec.ipv6 else None
        if tier.type == "private":
            for k, sub in enumerate(tier_subnets):
                # The NAT in the subnet's own zone, else round-robin over the NATs; none: no route.
                nat = nat_by_az.get(sub["az"]) or (nats[k % len(nats)]["logicalId"] if nats else None)
                route = {"target": "nat", "nat": nat} if nat else None
                tables.append(_route_table(name, tier, sub["az"], route, v6_route, [sub]))
        else:
            route = {"target": "igw"} if tier.type == "public" else None
            tables.append(_route_table(name, tier, None, route, v6_route, tier_subnets))

    byo = len(spec.eip_allocation_ids)
    cost = monthly_cost(len(nats), byo)
    by_mode = {
        mode: monthly_cost({"none": 0, "single": 1, "per-az": len(azs)}[mode], byo) for mode in NAT_MODE_COMPARISON
    }
    endpoint_tables = [t["logicalId"] for t in tables if t["type"] in ("private", "isolated")]
    flow = spec.flow_logs
    plan = {
        "name": name,
        "cidr": spec.cidr,
        "availabilityZones": azs,
        "azReservation": spec.az_reservation,
        "tags": dict(spec.tags),
        "vpc": {"logicalId": "vpc", "name": name},
        "internetGateway": {"logicalId": "igw", "name": f"{name}-igw"} if public_tiers else None,
        "subnets": subnets,
        "natGateways": nats,
        "routeTables": tables,
        "monthlyCostUsd": cost,
        "costComparison": {
            **by_mode,
            "chosen": spec.nat_mode,
            "vsPerAz": round(cost["total"] - by_mode["per-az"]["total"], 2),
            "vsSingle": round(cost["total"] - by_mode["single"]["total"], 2),
        },
        "ipv6": spec.ipv6,
        "egressOnlyInternetGateway": (
            {"logicalId": "eigw", "name": f"{name}-eigw"} if spec.ipv6 and has_private else None
        ),
        "flowLogs": (
            {
                "logicalId": "flow-log",
                "name": f"{name}-flow-log",
                "destination": flow.destination,
                "logGroupName": flow.log_group_name,
                "retentionDays": flow.retention_days,
                "bucketArn": flow.bucket_arn,
                "prefix": flow.prefix,
                "trafficType": flow.traffic_type,
                "maxAggregationInterval": flow.max_aggregation_interval,
            }
            if flow
            else None
        ),
        "gatewayEndpoints": [
            {
                "logicalId": f"vpce/{service}",
                # The service key only: Configure VPC resolves the Region's real service name
                # (DescribeVpcEndpointServices); it is not com.amazonaws.<region>.<svc> everywhere.
                "service": service,
                "name": f"{name}-{service}",
                "routeTables": endpoint_tables,
            }
            for service in (spec.gateway_endpoints if endpoint_tables else ())
        ],
        "lockDownDefaultSecurityGroup": spec.lock_down_default_security_group,
    }
    _check_payload_budget(spec, plan)
    return plan


# The plan travels in the execution state: Step Functions caps a state at 256 KB, and a failure
# there (States.DataLimitExceeded) cannot be caught. Keep spec + plan within a quarter of it.
PAYLOAD_BUDGET_BYTES = 64 * 1024


def _check_payload_budget(spec: Spec, plan: dict[str, Any]) -> None:
    size = len(json.dumps({"spec": spec.to_dict(), "plan": plan}).encode())
    if size <= PAYLOAD_BUDGET_BYTES:
        return
    heaviest = max(range(len(spec.tiers)), key=lambda i: len(json.dumps(dict(spec.tiers[i].tags))))
    field = f"tiers[{heaviest}].tags" if spec.tiers[heaviest].tags else "tiers"
    raise InvalidSpec(
        field,
        f"the spec and its plan would be {size // 1024} KiB, over the {PAYLOAD_BUDGET_BYTES // 1024} KiB the "
        "workflow allows (tier tags are copied onto every subnet and route table): use fewer or shorter tags",
    )


def summarize(plan: dict[str, Any]) -> str:
    """A few lines for `vpcfactory plan`: tier x zone CIDRs, NAT placement, routes, features, cost."""
    azs = [z["name"] for z in plan["availabilityZones"]]
    tables = {t["logicalId"]: t for t in plan["routeTables"]}
    tiers: dict[str, list[dict[str, Any]]] = {}
    for sub in plan["subnets"]:
        tiers.setdefault(sub["tier"], []).append(sub)

    rows = [["tier", "type", *azs, "default route"]]
    for tier, subs in tiers.items():
        routes = [tables[s["routeTable"]]["defaultRoute"] for s in subs]
        rows.append([tier, subs[0]["type"], *(s["cidr"] for s in subs), _describe_routes(routes, subs)])
    widths = [max(len(row[c]) for row in rows) for c in range(len(rows[0]))]
    table = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]

    nats = plan["natGateways"]
    if nats:
        placed = ", ".join(
            f"{n['az']} in {n['subnet']}" + (f" with {n['eipAllocationId']}" if n["eipAllocationId"] else "")
            for n in nats
        )
        nat_line = f"NAT gateways: {len(nats)} ({placed})"
    else:
        nat_line = "NAT gateways: none"

    lines = [
        f"VPC {plan['name']} {plan['cidr']}: {_zones(len(azs))}, room reserved for {plan['azReservation']}",
        *table,
        nat_line,
        *_feature_lines(plan, tiers),
        *_cost_lines(plan),
    ]
    return "\n".join(lines)


# -- helpers ----------------------------------------------------------------------------------


def _describe_routes(routes: list[dict[str, str] | None], subnets: list[dict[str, Any]]) -> str:
    if not any(routes):
        return "none"
    if routes[0]["target"] == "igw":
        return "internet gateway"
    nats = [r["nat"].removeprefix("nat/") for r in routes if r]
    own = [nat == s["az"] for nat, s in zip(nats, subnets, strict=True)]
    if all(own) and len(nats) > 1:
        return "NAT in its own zone"
    if len(set(nats)) == 1:
        return f"NAT in {nats[0]}"
    borrowed = [f"{s['az']} via {nat}" for nat, s, mine in zip(nats, subnets, own, strict=True) if not mine]
    return "NAT in its own zone; " + ", ".join(borrowed)


def _feature_lines(plan: dict[str, Any], tiers: dict[str, list[dict[str, Any]]]) -> list[str]:
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
        where = flow["bucketArn"] + (f" prefix {flow['prefix']}" if flow["prefix"] else "")
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
    lines.append(
        "Default security group: every rule removed (Security Hub EC2.2)"
        if plan["lockDownDefaultSecurityGroup"]
        else "Default security group: left as AWS creates it (Security Hub EC2.2 will fail)"
    )
    return lines


def _cost_lines(plan: dict[str, Any]) -> list[str]:
    cost, compare = plan["monthlyCostUsd"], plan["costComparison"]
    options = ", ".join(f"{mode} ${compare[mode]['total']:.2f}" for mode in NAT_MODE_COMPARISON)
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


def _select_zones(spec: Spec, zones: list[dict[str, Any]]) -> list[dict[str, str]]:
    usable = sorted(
        (
            z
            for z in zones
            if z.get("State") == "available" and z.get("ZoneType", "availability-zone") == "availability-zone"
        ),
        key=lambda z: z["ZoneName"],
    )
    region = _region(zones)
    wanted = spec.availability_zones
    if isinstance(wanted, int):
        if wanted > len(usable):
            raise InvalidSpec(
                "availabilityZones",
                f"the spec asks for {_zones(wanted)} but {region} has {len(usable)} available",
            )
        chosen = usable[:wanted]
    else:
        by_key = {z["ZoneName"]: z for z in usable} | {z["ZoneId"]: z for z in usable}
        chosen = []
        for k, key in enumerate(wanted):
            if key not in by_key:
                names = ", ".join(f"{z['ZoneName']} ({z['ZoneId']})" for z in usable) or "none"
                raise InvalidSpec(
                    f"availabilityZones[{k}]",
                    f"{key!r} is not an available zone in {region}; available: {names}",
                )
            chosen.append(by_key[key])
    return [{"name": z["ZoneName"], "zoneId": z["ZoneId"]} for z in chosen]


def _route_table(
    spec_name: str,
    tier: Tier,
    az: str | None,
    route: dict[str, str] | None,
    ipv6_route: dict[str, str] | None,
    members: list[dict[str, Any]],
) -> dict[str, Any]:
    suffix = f"{tier.name}/{az}" if az else tier.name
    return {
        "logicalId": f"rtb/{suffix}",
        "tier": tier.name,
        "type": tier.type,
        "az": az,
        "name": f"{spec_name}-{suffix.replace('/', '-')}",
        "tags": dict(tier.tags),
        "subnets": [s["logicalId"] for s in members],
        "defaultRoute": route,
        "ipv6DefaultRoute": ipv6_route,
    }


def _zones(count: int) -> str:
    """'1 zone', '3 zones' (spec.plural; imported here late: spec.py imports this module)."""
    from vpcfactory.spec import plural

    return plural(count, "zone")


def _region(zones: list[dict[str, Any]]) -> str:
    """The region DescribeAvailabilityZones answered for: RegionName, else a zone's name minus its letter."""
    for zone in zones:
        if zone.get("RegionName"):
            return zone["RegionName"]
    for zone in zones:  # a local zone's name (us-east-1-bos-1a) does not end in the region + a letter
        if zone.get("ZoneType", "availability-zone") == "availability-zone":
            return zone["ZoneName"][:-1]
    return "this region"


def _first_overlap(
    spec: Spec,
    i: int,
    k: int,
    net: ipaddress.IPv4Network,
    explicit: dict[int, list[ipaddress.IPv4Network]],
    blocks: dict[int, Range],
    reservation: int,
) -> str | None:
    """What explicit CIDR k of tier i collides with, described for the error message, or None."""
    for j, tier in enumerate(spec.tiers):
        if j in blocks:
            if _overlaps(_range(net), blocks[j]):
                first, last = (ipaddress.IPv4Address(a) for a in (blocks[j][0], blocks[j][1] - 1))
                return (
                    f"the block {first}-{last} reserved for tier {tier.name!r} "
                    f"({reservation} x /{tier.prefix_length}, tiers[{j}])"
                )
            continue
        # Two explicit CIDRs that overlap are reported once, on the later of the two.
        if j > i:
            continue
        others = explicit[j][:k] if j == i else explicit[j]
        for m, other in enumerate(others):
            if net.overlaps(other):
                owner = "this tier" if j == i else f"tier {tier.name!r}, tiers[{j}]"
                return f"{other} (cidrs[{m}] of {owner})"
    return None


def _range(net: ipaddress.IPv4Network) -> Range:
    return int(net.network_address), int(net.broadcast_address) + 1


def _overlaps(a: Range, b: Range) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def _align_up(value: int, size: int) -> int:
    return -(-value // size) * size
