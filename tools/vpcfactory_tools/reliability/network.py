"""Is a built network right: :func:`verify_network` checks what a successful build left in the
account against its plan -- each planned resource exactly once, nothing foreign in the VPC, every
subnet in its planned route table, every default route to its planned target."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from vpcfactory.ipam import relocate
from vpcfactory.plan import plan_network
from vpcfactory.spec import parse_spec
from vpcfactory.tags import TAG_EXECUTION, TAG_LOGICAL_ID
from vpcfactory_tools.emulator.embedded import EmbeddedEmulator, ExecutionResult
from vpcfactory_tools.reliability.executions import execution_of
from vpcfactory_tools.reliability.resources import Resource, account


def verify_network(emu: EmbeddedEmulator, spec: dict[str, Any], result: ExecutionResult) -> list[str]:
    """What is wrong with a built network: each resource of the plan exists exactly once, as
    planned, tagged with the execution; the VPC holds nothing else; routes go where the plan says."""
    ec2 = emu.client("ec2")
    execution, vpc_id = execution_of(result), result.vpc_id
    plan = plan_network(parse_spec(spec), ec2.describe_availability_zones()["AvailabilityZones"])
    everything = account(ec2, emu.client("logs"))
    mine = [r for r in everything.values() if r.tags.get(TAG_EXECUTION) == execution]
    problems: list[str] = []

    by_kind: dict[str, dict[str, Resource]] = {}
    for res in mine:
        logical = res.tags.get(TAG_LOGICAL_ID, "")
        slot = by_kind.setdefault(res.kind, {})
        if logical in slot:
            problems.append(f"duplicate {res.kind} {logical}: {slot[logical].id} and {res.id}")
        slot[logical] = res

    def expect(kind: str, planned: Iterable[str]) -> dict[str, Resource]:
        have = by_kind.get(kind, {})
        wanted = set(planned)
        if set(have) != wanted:
            problems.append(f"{kind}: planned {sorted(wanted)}, found {sorted(have)}")
        return have

    vpcs = expect("vpc", [plan["vpc"]["logicalId"]])
    ipam = plan.get("ipam")
    if ipam and [r.id for r in vpcs.values()] == [vpc_id]:
        # A block from an IPAM pool: the plan's layout, moved to wherever the pool put the VPC, at the
        # netmask the spec asked for (the pool's choice itself is the emulator's IPAM tests' concern).
        got = vpcs[plan["vpc"]["logicalId"]].item["CidrBlock"]
        if not got.endswith(f"/{ipam['netmaskLength']}"):
            problems.append(f"VPC CIDR {got} is not a /{ipam['netmaskLength']} from pool {ipam['poolId']}")
        plan = relocate(plan, got)
    if [r.id for r in vpcs.values()] != [vpc_id]:
        problems.append(f"the execution's VPC is {[r.id for r in vpcs.values()]}, its output says {vpc_id}")
    elif vpcs[plan["vpc"]["logicalId"]].item["CidrBlock"] != plan["cidr"]:
        problems.append(f"VPC CIDR {vpcs[plan['vpc']['logicalId']].item['CidrBlock']} != {plan['cidr']}")

    subnets = expect("subnet", [s["logicalId"] for s in plan["subnets"]])
    for sub in plan["subnets"]:
        item = subnets.get(sub["logicalId"])
        if item and (item.item["CidrBlock"], item.item["AvailabilityZone"]) != (sub["cidr"], sub["az"]):
            problems.append(f"{sub['logicalId']} is {item.item['CidrBlock']} in {item.item['AvailabilityZone']}")
    nats = expect("nat-gateway", [n["logicalId"] for n in plan["natGateways"]])
    for nat in plan["natGateways"]:
        item = nats.get(nat["logicalId"])
        if item and item.item.get("State") != "available":
            problems.append(f"{nat['logicalId']} is {item.item.get('State')}")
        if item and nat["subnet"] in subnets and item.item["SubnetId"] != subnets[nat["subnet"]].id:
            problems.append(f"{nat['logicalId']} is not in {nat['subnet']}")
    # a regional NAT has no EIP of ours (AWS-managed or brought addresses: nat_modes.py)
    expect("elastic-ip", [n["eip"] for n in plan["natGateways"] if n["eip"] and not n.get("eipAllocationId")])
    igw = plan["internetGateway"]
    igws = expect("internet-gateway", [igw["logicalId"]] if igw else [])
    igw_id = next(iter(igws.values())).id if igws else None
    tables = expect("route-table", [t["logicalId"] for t in plan["routeTables"]])

    # nothing in the VPC that is not this execution's (no cross-talk between builds)
    ids = {r.id for r in mine}
    for res in everything.values():
        in_vpc = res.item.get("VpcId") == vpc_id or any(
            a.get("VpcId") == vpc_id for a in res.item.get("Attachments", [])
        )
        main = any(a.get("Main") for a in res.item.get("Associations", []))
        if in_vpc and res.id not in ids and res.kind in ("subnet", "nat-gateway", "internet-gateway"):
            problems.append(f"{res} in {vpc_id} is not this execution's")
        # the route table AWS makes for a regional NAT gateway (its RouteTableId) is AWS's, not another build's
        aws_made = any(n.item.get("RouteTableId") == res.id for n in nats.values())
        if in_vpc and res.id not in ids and res.kind == "route-table" and not main and not aws_made:
            problems.append(f"{res} in {vpc_id} is not this execution's")

    # every subnet in its planned table, every default route to its planned target
    table_of_subnet = {
        a["SubnetId"]: logical
        for logical, t in tables.items()
        for a in t.item.get("Associations", [])
        if a.get("SubnetId")
    }
    for sub in plan["subnets"]:
        item = subnets.get(sub["logicalId"])
        if item and table_of_subnet.get(item.id) != sub["routeTable"]:
            problems.append(f"{sub['logicalId']} is associated with {table_of_subnet.get(item.id)}")
    for planned in plan["routeTables"]:
        table = tables.get(planned["logicalId"])
        if table is None:
            continue
        route = next((r for r in table.item.get("Routes", []) if r.get("DestinationCidrBlock") == "0.0.0.0/0"), None)
        default = planned["defaultRoute"]
        got = (route or {}).get("NatGatewayId") or (route or {}).get("GatewayId")
        if default and default["target"] == "igw":
            want = igw_id
        elif default and default["target"] == "nat":
            via = nats.get(default["nat"])
            want = via.id if via else "a NAT gateway"
        else:
            want = None
        if got != want:
            problems.append(f"{planned['logicalId']} routes 0.0.0.0/0 to {got}, planned {want}")
    return problems
