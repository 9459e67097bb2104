"""Day-2 growth: applying a changed spec to the VPC it built (same `name`).

The spec name is the network's identity. When a VPC tagged `vpcfactory:vpc` = name exists, the
build reconciles into it: subnets, NAT gateways and route tables the plan adds are created, and
nothing that exists is touched. Because plans are stable (see plan.py), adding an AZ or
appending a tier only adds logical ids. A change that would move or remove something —
another CIDR, a removed tier or AZ, a NAT gateway removed or a route switched to another NAT,
an interface endpoint removed (its service left out of interfaceEndpoints),
IPv6 turned on or off — is refused before anything is created, naming every such change,
unless the caller allows a replacement: then a new VPC is built and the old one is left for
the caller to destroy (CloudFormation does exactly that after a replacement).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vpcfactory import interface_endpoints, inventory, nat_modes, transit
from vpcfactory.errors import ReplacementRequired
from vpcfactory.inventory import ENDPOINT, FLOW_LOG, NAT, ROUTE_TABLE, SUBNET, TGW_ATTACHMENT, Scope, Snapshot
from vpcfactory.plan import adopt_route_tables
from vpcfactory.tags import TAG_VPC

if TYPE_CHECKING:
    from vpcfactory.contracts import Changes, Plan

# What compare reads of the VPC a name identifies, in this order (one Describe each).
COMPARE_KINDS = (SUBNET, NAT, ROUTE_TABLE, ENDPOINT, FLOW_LOG)


def detect_changes(plan: Plan, ec2: Any, *, allow_replace: bool = False) -> tuple[Plan, Changes]:
    """(the plan to build, what it does): {"mode": "create"} for a new name, {"mode": "reconcile",
    ...} to grow the existing VPC (the plan then in the route-table layout that VPC has, see
    compare), {"mode": "replace", ...} when the change needs a new VPC and that is allowed; raises
    ReplacementRequired when it is not."""
    adopted, diff = compare(plan, ec2)
    if diff["mode"] == "create":
        return plan, {"mode": "create"}
    ids = diff["vpcIds"]
    if diff["mode"] == "ambiguous":
        if allow_replace:
            return plan, {"mode": "replace", "replaces": ids}
        raise ReplacementRequired(
            f"{len(ids)} VPCs carry {TAG_VPC}={plan['name']} ({', '.join(ids)}): destroy the ones you no longer "
            "need, then apply again"
        )
    refused = diff["refused"]
    if refused and allow_replace:
        return plan, {"mode": "replace", "replaces": ids, "because": refused}  # a new VPC: today's layout
    if refused:
        raise ReplacementRequired(
            f"applying this spec to {diff['vpcId']} would change what exists: {'; '.join(refused)}. "
            "Nothing was changed. Apply with --allow-replace (input allowReplace: true) to build a new "
            "VPC instead; the old one is left for you to destroy."
        )
    return adopted, {
        "mode": "reconcile",
        "vpcId": diff["vpcId"],
        "added": [logical for logical in diff["added"] if logical.split("/")[0] in ("subnet", "nat", "rtb")],
        "unchanged": diff["unchangedNetwork"],
    }


def compare(plan: Plan, ec2: Any) -> tuple[Plan, dict[str, Any]]:
    """What applying `plan` would do to the VPC its name already identifies, without changing anything:
    (the plan as a re-apply follows it, the diff).

    mode: "create" (no VPC has the name), "ambiguous" (several do), "reconcile" (one does). For
    "reconcile": `added` lists the logical ids a re-apply would create, `refused` every change it
    will not make in place (each a sentence), `unchanged` the logical ids that exist as planned.
    `vpcfactory plan` prints this as the diff; the build's Validate And Plan acts on it. The plan
    returned is `plan` itself, except when reconciling into a VPC whose route tables are laid out
    as an earlier version planned them (plan.adopt_route_tables): then that layout, so the diff,
    the build and the fleet audit see the VPC as it is built.
    """
    name = plan["name"]
    vpcs = inventory.vpcs_named(ec2, name)
    ids = sorted(v["VpcId"] for v in vpcs)
    if not vpcs:
        return plan, {"mode": "create", "vpcIds": []}
    if len(vpcs) > 1:
        return plan, {"mode": "ambiguous", "vpcIds": ids}
    vpc = vpcs[0]
    kinds = (*COMPARE_KINDS, TGW_ATTACHMENT) if plan.get("transitGateway") else COMPARE_KINDS
    snap = inventory.snapshot(ec2, vpc["VpcId"], Scope.of_vpc(vpc["VpcId"], name), kinds)
    snap.items["vpc"] = [vpc]  # already read: the name lookup found it
    adopted = adopt_route_tables(plan, snap.mine(ROUTE_TABLE))
    return adopted, diff(adopted, snap)


def diff(plan: Plan, snap: Snapshot) -> dict[str, Any]:
    """compare's "reconcile" answer for a snapshot of the one VPC the plan's name identifies
    (it must hold the VPC and COMPARE_KINDS). Pure: no AWS call."""
    vpc = snap.vpc
    assert vpc is not None, "diff needs the VPC in the snapshot"
    vpc_id = vpc["VpcId"]
    subnets = snap.mine(SUBNET)
    nats = {k: v for k, v in snap.mine(NAT).items() if inventory.nat_in_service(v)}
    tables = snap.mine(ROUTE_TABLE)

    refused: list[str] = []
    if vpc["CidrBlock"] != plan["cidr"]:
        refused.append(f"cidr: the VPC is {vpc['CidrBlock']}, the spec asks for {plan['cidr']}")
    has_ipv6 = any(a.get("Ipv6CidrBlock") for a in vpc.get("Ipv6CidrBlockAssociationSet", []))
    if has_ipv6 != bool(plan.get("ipv6")):
        refused.append(f"ipv6: the VPC {'has' if has_ipv6 else 'has no'} IPv6, the spec asks otherwise")
    planned_subnets = {s["logicalId"]: s for s in plan["subnets"]}
    for logical, item in sorted(subnets.items()):
        if logical not in planned_subnets:
            refused.append(f"{logical} ({item['CidrBlock']}) would be removed")
        elif planned_subnets[logical]["cidr"] != item["CidrBlock"]:
            refused.append(f"{logical} would move from {item['CidrBlock']} to {planned_subnets[logical]['cidr']}")
    planned_nats = {n["logicalId"] for n in plan["natGateways"]}
    refused += [f"{logical} would be removed" for logical in sorted(set(nats) - planned_nats)]
    refused += nat_modes.growth_refusals(plan["natGateways"], nats)  # zonal <-> regional, regional EIPs
    # A table of ours the plan no longer has (its subnets would move to another: a single NAT's one
    # table per tier split per zone for per-az NATs, or the reverse), refused like a moved route.
    # (A table whose tier or zone goes is named by its subnets' removal above.)
    planned_tables = {rt["logicalId"] for rt in plan["routeTables"]}
    for logical, held in sorted(tables.items()):
        if logical in planned_tables:
            continue
        members = _members(held, subnets) & set(planned_subnets)
        if moved := sorted({planned_subnets[m]["routeTable"] for m in members}):
            refused.append(
                f"{logical} ({held['RouteTableId']}) would be replaced: its subnets would move to {', '.join(moved)}"
            )
    nat_logical = {item["NatGatewayId"]: logical for logical, item in nats.items()}
    for rt in plan["routeTables"]:
        table = tables.get(rt["logicalId"])
        if table is None:
            continue
        current = next(
            (r.get("NatGatewayId") for r in table.get("Routes", []) if r.get("DestinationCidrBlock") == "0.0.0.0/0"),
            None,
        )
        route = rt["defaultRoute"]
        wanted = route.get("nat") if route else None
        if current and nat_logical.get(current) != wanted:
            was = nat_logical.get(current)
            refused.append(f"{rt['logicalId']} would switch its default route from {was} to {wanted}")

    if TGW_ATTACHMENT.name in snap.ours:  # read when the plan has a transit gateway (compare)
        refused += transit.growth_refusals(plan, snap)

    # An interface endpoint whose service left the spec would be removed: refused (interface_endpoints.py)
    refused += interface_endpoints.refused(plan, snap.mine(ENDPOINT))

    # Safeguards a re-apply also adds when missing (they are not part of the replacement decision)
    endpoints = snap.mine(ENDPOINT)
    flow_logs = snap.mine(FLOW_LOG)
    existing = set(subnets) | set(nats) | set(tables) | set(endpoints) | set(flow_logs)
    network = [
        *planned_subnets,
        *(n["logicalId"] for n in plan["natGateways"]),
        *(t["logicalId"] for t in plan["routeTables"]),
    ]
    safeguards = [e["logicalId"] for e in plan.get("gatewayEndpoints", [])]
    safeguards += [e["logicalId"] for e in plan.get("interfaceEndpoints") or []]  # a service added: a new endpoint
    if flow := plan["flowLogs"]:
        safeguards.append(flow["logicalId"])
    planned = [*network, *safeguards]
    return {
        "mode": "reconcile",
        "vpcIds": [vpc_id],
        "vpcId": vpc_id,
        "added": [logical for logical in planned if logical not in existing],
        "refused": refused,
        "unchanged": [logical for logical in planned if logical in existing],
        "unchangedNetwork": len([logical for logical in network if logical in existing]),
    }


def _members(table: dict[str, Any], subnets: dict[str, dict[str, Any]]) -> set[str]:
    """The logical ids of our subnets a route table is associated with."""
    ids = {a.get("SubnetId") for a in table.get("Associations") or []}
    return {logical for logical, item in subnets.items() if item["SubnetId"] in ids}
