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
(round-robin), so adding a zone never moves an existing route. `natGateways: regional` plans one
NAT gateway, `nat/regional`, in no subnet (nat_modes.py): every private route table routes to it,
and the plan has an internet gateway even without a public tier (the regional NAT needs one).

Route tables: one per public or isolated tier (`rtb/<tier>`: every zone routes the same way). A
private tier gets one per zone (`rtb/<tier>/<az>`) when its zones may route through different NAT
gateways (per-az, natGateways: N, none: a NAT added later may be per zone), and one for the whole
tier (`rtb/<tier>`) when the spec can only ever have one NAT gateway (single, regional): every zone
would carry the same routes, so one table does it with fewer calls, as the seed post does. (Per
tier, not one for all private tiers: a table keeps its tier's tags and name, and the checks,
diagram and output that speak of "the tier's route table" stay true.) A VPC built before that rule,
with per-zone tables for such a tier, keeps them: growth reads the VPC and the plan adopts the layout
it finds (adopt_route_tables), so a re-apply neither moves a subnet nor reports drift.

Costs come from data/prices.json (one region's list prices, with the date they were read, used
whatever Region the plan is for: the CLI's plan_view.price_basis says which, and `plan` prints it): NAT
gateway hours and the public IPv4 address of each Elastic IP the run allocates. A brought-your-own
EIP is not counted (it is already paid for, and never released by us). Per-GB charges (NAT data
processing, data transfer, flow log ingestion) depend on traffic and are not estimated.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from vpcfactory import interface_endpoints_spec, nat_modes, transit
from vpcfactory.errors import InvalidSpec
from vpcfactory.ipam import relocate as relocate  # plan.relocate: an IPAM plan laid in its real block
from vpcfactory.pricing import NAT_MODE_COMPARISON, monthly_cost, nat_hours_for_mode
from vpcfactory.spec import Spec, Tier, allocate, ipv6_blocks, plural

if TYPE_CHECKING:
    from vpcfactory.contracts import Plan, PlannedNat, PlannedRouteTable, PlannedSubnet, RouteTarget, Zone


# NAT modes with one NAT gateway whatever the zone count: a private tier then has one route table.
ONE_NAT_MODES = ("single", nat_modes.REGIONAL)


def plan_network(spec: Spec, zones: list[dict[str, Any]]) -> Plan:
    """The plan the build handlers follow. Its shape is a contract with network.py and outputs.py."""
    azs = _select_zones(spec, zones)
    layout = allocate(spec)
    v6_layout = ipv6_blocks(spec) if spec.ipv6 else None
    name = spec.name
    public_tiers = [t.name for t in spec.tiers if t.type == "public"]  # NATs live in the first

    nat_azs = azs[: spec.nat_gateway_count]
    nats: list[PlannedNat] = [
        {
            "logicalId": f"nat/{az['name']}",
            "az": az["name"],
            "subnet": f"subnet/{public_tiers[0]}/{az['name']}",
            "eip": f"eip/{az['name']}",
            "eipAllocationId": spec.eip_allocation_ids[k] if spec.eip_allocation_ids else None,
            "name": f"{name}-nat-{az['name']}",
            "availabilityMode": "zonal",
        }
        for k, az in enumerate(nat_azs)
        if spec.nat_mode != nat_modes.REGIONAL
    ]
    if spec.nat_mode == nat_modes.REGIONAL:  # one NAT for the VPC, in no subnet (nat_modes.py)
        nats = [nat_modes.planned_nat(name, azs, spec.eip_allocation_ids)]
    nat_by_az = {n["az"]: n["logicalId"] for n in nats if n["az"]}
    has_private = any(t.type == "private" for t in spec.tiers)
    # One NAT gateway whatever the zone count: every zone of a private tier routes alike (module docstring).
    per_zone_private = spec.nat_mode not in ONE_NAT_MODES

    subnets: list[PlannedSubnet] = []
    tables: list[PlannedRouteTable] = []
    for t, (tier, cidrs) in enumerate(zip(spec.tiers, layout, strict=True)):
        tier_subnets: list[PlannedSubnet] = []
        for k, az in enumerate(azs):
            per_az_table = tier.type == "private" and per_zone_private  # so each AZ can egress through its own NAT
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
        v6_targets: dict[str, RouteTarget] = {"public": {"target": "igw"}, "private": {"target": "eigw"}}
        v6_route = v6_targets.get(tier.type) if spec.ipv6 else None
        if tier.type == "private" and per_zone_private:
            for k, sub in enumerate(tier_subnets):
                # The NAT in the subnet's own zone, else round-robin over the NATs; none: no route.
                nat = nat_by_az.get(sub["az"]) or (nats[k % len(nats)]["logicalId"] if nats else None)
                route: RouteTarget | None = {"target": "nat", "nat": nat} if nat else None
                tables.append(_route_table(name, tier, sub["az"], route, v6_route, [sub]))
        else:
            route = _shared_route(tier.type, nats)
            tables.append(_route_table(name, tier, None, route, v6_route, tier_subnets))

    byo = len(spec.eip_allocation_ids)
    # A regional NAT is billed per zone it is active in (pricing.nat_hours_for_mode, nat_modes.py).
    cost = monthly_cost(nat_hours_for_mode(spec.nat_mode, len(azs), spec.nat_count), byo)
    by_mode = {mode: monthly_cost(nat_hours_for_mode(mode, len(azs)), byo) for mode in NAT_MODE_COMPARISON}
    # The transit gateway attachment's /28s (top of the VPC), rtb/tgw, and its routes in every
    # private and isolated table (transit.py).
    planned_tgw = None
    if spec.transit_gateway:
        planned_tgw, tgw_subnets, tgw_table = transit.plan_parts(
            spec.transit_gateway, name, spec.cidr, spec.az_reservation, azs
        )
        for rt in tables:
            if rt["type"] in ("private", "isolated"):
                rt["transitGatewayRoutes"] = list(spec.transit_gateway.routes)
        subnets.extend(tgw_subnets)
        tables.append(tgw_table)
    endpoint_tables = [t["logicalId"] for t in tables if t["type"] in ("private", "isolated")]
    flow = spec.flow_logs
    plan: Plan = {
        "name": name,
        "cidr": spec.cidr,
        "availabilityZones": azs,
        "azReservation": spec.az_reservation,
        "tags": dict(spec.tags),
        "vpc": {"logicalId": "vpc", "name": name},
        # A regional NAT needs the VPC's internet gateway even with no public tier (nat_modes.py).
        "internetGateway": (
            {"logicalId": "igw", "name": f"{name}-igw"} if public_tiers or spec.nat_mode == nat_modes.REGIONAL else None
        ),
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
        # IPAM (ipam.py): the pool and netmask; cidr is then the nominal block until Validate And Plan places it.
        "ipam": {"poolId": spec.ipam_pool_id, "netmaskLength": int(spec.cidr.split("/")[1])}
        if spec.ipam_pool_id
        else None,
    }
    plan["transitGateway"] = planned_tgw
    plan["interfaceEndpoints"], plan["endpointSecurityGroup"] = interface_endpoints_spec.plan_entries(
        name, spec.interface_endpoints, subnets
    )
    _check_payload_budget(spec, plan)
    return plan


# The plan travels in the execution state: Step Functions caps a state at 256 KB, and a failure
# there (States.DataLimitExceeded) cannot be caught. Keep spec + plan within a quarter of it.
PAYLOAD_BUDGET_BYTES = 64 * 1024


def _check_payload_budget(spec: Spec, plan: Plan) -> None:
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


def _select_zones(spec: Spec, zones: list[dict[str, Any]]) -> list[Zone]:
    usable = sorted(
        (
            z
            for z in zones
            if z.get("State") == "available" and z.get("ZoneType", "availability-zone") == "availability-zone"
        ),
        key=lambda z: z["ZoneName"],
    )
    region = zones_region(zones)
    wanted = spec.availability_zones
    if isinstance(wanted, int):
        if wanted > len(usable):
            raise InvalidSpec(
                "availabilityZones",
                f"the spec asks for {plural(wanted, 'zone')} but {region} has {len(usable)} available",
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


def _shared_route(tier_type: str, nats: list[PlannedNat]) -> RouteTarget | None:
    """The IPv4 default route of a tier's one route table: public -> the IGW, private -> the one NAT
    gateway (ONE_NAT_MODES), isolated -> none."""
    if tier_type == "public":
        return {"target": "igw"}
    if tier_type == "private" and nats:
        return {"target": "nat", "nat": nats[0]["logicalId"]}
    return None


def adopt_route_tables(plan: Plan, existing: Iterable[str]) -> Plan:
    """The plan in the route-table layout a VPC already has: a private tier the plan gives one
    table (`rtb/<tier>`) but whose VPC holds per-zone tables of it (`rtb/<tier>/<az>`, built before
    ONE_NAT_MODES shared one) keeps one table per zone, every zone's with the shared table's routes
    (the same one NAT gateway). `existing`: the logical ids of the VPC's route tables (ours). Pure;
    returns `plan` itself when nothing is to adopt, else a changed copy."""
    existing = set(existing)
    split = {
        rt["logicalId"]
        for rt in plan["routeTables"]
        if rt["type"] == "private"
        and rt["az"] is None
        and rt["logicalId"] not in existing
        and any(logical.startswith(f"{rt['logicalId']}/") for logical in existing)
    }
    if not split:
        return plan
    adopted = copy.deepcopy(plan)
    subnets = {s["logicalId"]: s for s in adopted["subnets"]}
    tables: list[PlannedRouteTable] = []
    replaced: dict[str, list[str]] = {}
    for rt in adopted["routeTables"]:
        if rt["logicalId"] not in split:
            tables.append(rt)
            continue
        for logical in rt["subnets"]:
            sub = subnets[logical]
            zonal: PlannedRouteTable = {
                **copy.deepcopy(rt),
                "logicalId": f"{rt['logicalId']}/{sub['az']}",
                "az": sub["az"],
                "name": f"{rt['name']}-{sub['az']}",
                "subnets": [logical],
            }
            sub["routeTable"] = zonal["logicalId"]
            tables.append(zonal)
            replaced.setdefault(rt["logicalId"], []).append(zonal["logicalId"])
    adopted["routeTables"] = tables
    for endpoint in adopted.get("gatewayEndpoints") or []:
        endpoint["routeTables"] = [z for t in endpoint["routeTables"] for z in replaced.get(t, [t])]
    return adopted


def _route_table(
    spec_name: str,
    tier: Tier,
    az: str | None,
    route: RouteTarget | None,
    ipv6_route: RouteTarget | None,
    members: list[PlannedSubnet],
) -> PlannedRouteTable:
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


def zones_region(zones: list[dict[str, Any]]) -> str:
    """The region DescribeAvailabilityZones answered for: RegionName, else a zone's name minus its letter."""
    for zone in zones:
        if zone.get("RegionName"):
            return zone["RegionName"]
    for zone in zones:  # a local zone's name (us-east-1-bos-1a) does not end in the region + a letter
        if zone.get("ZoneType", "availability-zone") == "availability-zone":
            return zone["ZoneName"][:-1]
    return "this region"
