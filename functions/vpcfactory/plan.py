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

Zones: only zones with State `available` and ZoneType `availability-zone` count (local and
wavelength zones are skipped). A count takes the first N by name; a list keeps its own order,
so appending a zone to the list keeps every existing zone's index. List zone IDs to pin the
physical zones: names map to different zones in different accounts, IDs do not.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Any

from vpcfactory.errors import InvalidSpec

if TYPE_CHECKING:  # spec.py imports this module at runtime (parse_spec calls allocate)
    from vpcfactory.spec import Spec, Tier

# us-east-1 on-demand prices (hourly x 730): a NAT gateway's hourly charge, a public IPv4 address.
NAT_GATEWAY_MONTHLY_USD = 32.85
PUBLIC_IPV4_MONTHLY_USD = 3.65

Range = tuple[int, int]  # [start, end) as integers


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
            out.append(
                [ipaddress.IPv4Network((addr, tier.prefix_length)) for addr in range(start, end, size)]
            )
    return out


def plan_network(spec: Spec, zones: list[dict[str, Any]]) -> dict[str, Any]:
    """The plan the build handlers follow. Its shape is a contract with network.py and outputs.py."""
    azs = _select_zones(spec, zones)
    layout = allocate(spec)
    name = spec.name
    public_tiers = [t.name for t in spec.tiers if t.type == "public"]  # NATs live in the first

    nat_azs = {"none": [], "single": azs[:1], "per-az": azs}[spec.nat_mode]
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

    subnets: list[dict[str, Any]] = []
    tables: list[dict[str, Any]] = []
    for tier, cidrs in zip(spec.tiers, layout, strict=True):
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
                }
            )
        subnets.extend(tier_subnets)

        if tier.type == "private":
            for sub in tier_subnets:
                # The NAT in the subnet's own AZ (per-az), else the single NAT; none: no default route.
                nat = nat_by_az.get(sub["az"]) or (nats[0]["logicalId"] if nats else None)
                route = {"target": "nat", "nat": nat} if nat else None
                tables.append(_route_table(name, tier, sub["az"], route, [sub]))
        else:
            route = {"target": "igw"} if tier.type == "public" else None
            tables.append(_route_table(name, tier, None, route, tier_subnets))

    allocated_eips = sum(1 for n in nats if not n["eipAllocationId"])
    nat_cost = round(len(nats) * NAT_GATEWAY_MONTHLY_USD, 2)
    eip_cost = round(allocated_eips * PUBLIC_IPV4_MONTHLY_USD, 2)
    return {
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
        "monthlyCostUsd": {
            "natGateways": nat_cost,
            "elasticIps": eip_cost,
            "total": round(nat_cost + eip_cost, 2),
        },
    }


def summarize(plan: dict[str, Any]) -> str:
    """A few lines for `vpcfactory plan`: tier x zone CIDRs, NAT placement, routes, cost."""
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
    cost = plan["monthlyCostUsd"]
    return "\n".join(
        [
            f"VPC {plan['name']} {plan['cidr']}: {len(azs)} zones, room reserved for {plan['azReservation']}",
            *table,
            nat_line,
            f"Monthly fixed cost: ${cost['total']:.2f} (NAT gateways ${cost['natGateways']:.2f}, "
            f"Elastic IPs ${cost['elasticIps']:.2f}; data processing extra)",
        ]
    )


# -- helpers ----------------------------------------------------------------------------------


def _describe_routes(routes: list[dict[str, str] | None], subnets: list[dict[str, Any]]) -> str:
    if not any(routes):
        return "none"
    if routes[0]["target"] == "igw":
        return "internet gateway"
    nats = [r["nat"] for r in routes if r]
    if all(nat == f"nat/{s['az']}" for nat, s in zip(nats, subnets, strict=True)) and len(nats) > 1:
        return "NAT in its own zone"
    return "NAT in " + ", ".join(sorted({n.removeprefix("nat/") for n in nats}))


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
                f"the spec asks for {wanted} zones but {region} has {len(usable)} available",
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
    spec_name: str, tier: Tier, az: str | None, route: dict[str, str] | None, members: list[dict[str, Any]]
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
    }


def _region(zones: list[dict[str, Any]]) -> str:
    for zone in zones:
        if zone.get("RegionName"):
            return zone["RegionName"]
    return zones[0]["ZoneName"][:-1] if zones else "this region"


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
