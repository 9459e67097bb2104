"""Verify Network: read the network back and check it against its plan, then describe it.

The execution's output is the network as EC2 reports it, not as the plan hoped it would be, and
a build whose result differs from its intent (a subnet routed to the wrong place, an isolated
tier with a way out, a gateway endpoint missing from a private or isolated route table, a default
security group that still allows traffic, flow logs that are not active) fails and rolls back.
The output carries a short compliance summary of the Security Hub controls a new VPC should pass:
EC2.2, EC2.6, EC2.15.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vpcfactory import aws, interface_endpoints, inventory, nat_modes, transit
from vpcfactory.errors import VerificationFailed
from vpcfactory.inventory import ENDPOINT, FLOW_LOG, IGW, NAT, ROUTE_TABLE, SUBNET, TGW_ATTACHMENT, VPC, Scope, Snapshot
from vpcfactory.safeguards import default_security_group

if TYPE_CHECKING:
    from vpcfactory.contracts import Plan, PlannedRouteTable, PlannedSubnet

PASSED, FAILED = "PASSED", "FAILED"


def find_problems(plan: Plan, vpc_id: str, ec2: Any) -> tuple[list[str], Snapshot, dict[str, Any], dict[str, str]]:
    """Read the VPC once (inventory.snapshot, plus its default security group) and check it against
    the plan: (every problem, each a sentence; the snapshot; the default group; the compliance
    summary). Verify Network fails the build on a problem; the fleet audit reports it as drift."""
    endpoints = plan.get("gatewayEndpoints") or plan.get("interfaceEndpoints")
    kinds = [SUBNET, NAT, ROUTE_TABLE, IGW, *([ENDPOINT] if endpoints else []), FLOW_LOG]
    kinds += [TGW_ATTACHMENT] if plan.get("transitGateway") else []
    snap = inventory.snapshot(ec2, vpc_id, Scope.of_vpc(vpc_id, plan["name"]), kinds)
    group = default_security_group(ec2, vpc_id)
    problems, compliance = check(plan, snap, group)
    problems += transit.verify_problems(plan, snap, ec2)  # attachment, association, propagation, routes
    problems += interface_endpoints.verify(plan, ec2, snap)  # available, planned subnets, private DNS, our SG
    return problems, snap, group, compliance


def verify_network(
    plan: Plan, execution: str, vpc_id: str, ec2: Any | None = None, cidr: str | None = None
) -> dict[str, Any]:
    """Check the VPC against the plan (find_problems), raise VerificationFailed naming every
    problem, else describe it. `cidr`: the VPC's primary IPv4 block as EC2 answered Create VPC.

    What it reads (one Describe each): subnets, NAT gateways, route tables, internet gateways,
    flow logs (and endpoints, transit gateway attachments when planned) in one snapshot, the
    default security group, and the VPC only when the description needs more of it than `cidr`.
    """
    ec2 = ec2 or aws.client("ec2")
    problems, snap, group, compliance = find_problems(plan, vpc_id, ec2)
    if problems:
        raise VerificationFailed("; ".join(problems))
    # The VPC itself only matters to the description, for its primary IPv4 block and its IPv6 /56.
    # The primary block is fixed for the VPC's life ("You cannot disassociate the CIDR block with
    # which you originally created the VPC": EC2 API reference, DisassociateVpcCidrBlock), and Create
    # VPC has it from EC2 already: read the VPC only for a /56 (or without `cidr`), and last, so a
    # failed check costs no call for it.
    if cidr and not plan.get("ipv6"):
        snap.items[VPC.name] = [{"VpcId": vpc_id, "CidrBlock": cidr}]
    else:
        snap.items[VPC.name] = aws.call(VPC.operation, ec2.describe_vpcs, VpcIds=[vpc_id])[VPC.key]
    described = describe(plan, execution, snap, group, compliance)
    if plan.get("transitGateway"):
        described["transitGateway"] = transit.describe(plan, snap)
    if plan.get("interfaceEndpoints"):
        described["interfaceEndpoints"] = interface_endpoints.describe_built(plan, snap)
    return described


def _nats(snap: Snapshot) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in snap.mine(NAT).items() if inventory.nat_available(v)}


def _igw_id(snap: Snapshot) -> str | None:
    igws = snap.all(IGW)
    return igws[0]["InternetGatewayId"] if igws else None


def _active_flow_logs(snap: Snapshot) -> list[dict[str, Any]]:
    # ACTIVE, and not already failing to deliver (e.g. a delivery role that cannot write)
    return [
        f for f in snap.all(FLOW_LOG) if f.get("FlowLogStatus") == "ACTIVE" and f.get("DeliverLogsStatus") != "FAILED"
    ]


def check(plan: Plan, snap: Snapshot, group: dict[str, Any]) -> tuple[list[str], dict[str, str]]:
    """(problems, compliance) of the network a snapshot shows against its plan. Pure: no AWS call.
    `snap` holds SUBNET, NAT, ROUTE_TABLE, IGW, FLOW_LOG (and ENDPOINT when the plan has gateway
    endpoints) for the plan's scope; `group` is the VPC's default security group."""
    subnets = snap.mine(SUBNET)
    nat_id_of = {logical: item["NatGatewayId"] for logical, item in _nats(snap).items()}
    tables = snap.mine(ROUTE_TABLE)
    igw_id = _igw_id(snap)

    problems: list[str] = []
    rt_plan = {rt["logicalId"]: rt for rt in plan["routeTables"]}
    for sub in plan["subnets"]:
        item = subnets.get(sub["logicalId"])
        if item is None:
            problems.append(f"{sub['logicalId']} is missing")
            continue
        if item["CidrBlock"] != sub["cidr"] or item["AvailabilityZone"] != sub["az"]:
            problems.append(f"{sub['logicalId']} is {item['CidrBlock']} in {item['AvailabilityZone']}")
        if bool(item.get("MapPublicIpOnLaunch")) != bool(sub.get("mapPublicIpOnLaunch")):
            problems.append(f"{sub['logicalId']} MapPublicIpOnLaunch is {item.get('MapPublicIpOnLaunch')}")
        table = snap.route_table_of(item["SubnetId"])
        if table is None:
            problems.append(f"{sub['logicalId']} has no route table (the VPC has no main route table)")
            continue
        planned = rt_plan[sub["routeTable"]]
        problems += _route_problems(sub, table, planned, igw_id, nat_id_of, bool(plan.get("ipv6")))

    problems += _gateway_endpoint_problems(plan, snap.mine(ENDPOINT), tables)
    for nat in plan["natGateways"]:  # each planned NAT available, in the planned mode (nat_modes.py)
        nat_item = _nats(snap).get(nat["logicalId"])
        problems += (
            [f"{nat['logicalId']} is not available"] if nat_item is None else nat_modes.mode_problems(nat, nat_item)
        )

    compliance: dict[str, str] = {}
    sg_open = bool(group.get("IpPermissions") or group.get("IpPermissionsEgress"))
    compliance["EC2.2"] = FAILED if sg_open else PASSED
    if sg_open and plan.get("lockDownDefaultSecurityGroup", True):
        problems.append(f"default security group {group['GroupId']} still has rules")
    active = _active_flow_logs(snap)
    compliance["EC2.6"] = PASSED if active else FAILED
    # ours that AWS created but cannot deliver (someone else's failing flow log is not our build's fault)
    failing = [f for f in snap.all(FLOW_LOG) if f.get("DeliverLogsStatus") == "FAILED" and snap.is_ours(f)]
    if plan.get("flowLogs"):
        problems += [_delivery_problem(f) for f in failing]
        if not active and not failing:
            problems.append("flow logs are not active")
    auto_assign = [s["logicalId"] for s in plan["subnets"] if s.get("mapPublicIpOnLaunch")]
    compliance["EC2.15"] = FAILED if auto_assign else PASSED
    return problems, compliance


def describe(
    plan: Plan, execution: str, snap: Snapshot, group: dict[str, Any], compliance: dict[str, str]
) -> dict[str, Any]:
    """The execution's output: the network as the snapshot (which must hold the VPC) shows it. Pure."""
    vpc = snap.vpc
    assert vpc is not None, "describe needs the VPC in the snapshot"
    subnets = snap.mine(SUBNET)
    tiers: dict[str, list[dict[str, Any]]] = {}
    for sub in plan["subnets"]:
        item = subnets[sub["logicalId"]]
        entry = {"subnetId": item["SubnetId"], "cidr": item["CidrBlock"], "az": item["AvailabilityZone"]}
        ipv6 = [a["Ipv6CidrBlock"] for a in item.get("Ipv6CidrBlockAssociationSet", []) if a.get("Ipv6CidrBlock")]
        if ipv6:
            entry["ipv6Cidr"] = ipv6[0]
        tiers.setdefault(sub["tier"], []).append(entry)
    nats = _nats(snap)
    nat_out = []
    for nat in plan["natGateways"]:
        item = nats[nat["logicalId"]]
        address = (item.get("NatGatewayAddresses") or [{}])[0]
        nat_out.append(
            {
                "natGatewayId": item["NatGatewayId"],
                "az": nat["az"],
                "subnetId": item.get("SubnetId"),  # None for a regional NAT (nat_modes.py)
                "availabilityMode": item.get("AvailabilityMode") or "zonal",
                "allocationId": address.get("AllocationId"),
                "publicIp": address.get("PublicIp"),
            }
        )
    tables = snap.mine(ROUTE_TABLE)
    rt_out = []
    for rt in plan["routeTables"]:
        item = tables[rt["logicalId"]]
        rt_out.append(
            {
                "routeTableId": item["RouteTableId"],
                "tier": rt["tier"],
                "az": rt.get("az"),
                "subnetIds": sorted(a["SubnetId"] for a in item.get("Associations", []) if a.get("SubnetId")),
                "defaultRoute": _target(_route(item, "0.0.0.0/0")),
                "ipv6DefaultRoute": _target(_route(item, "::/0")),
            }
        )
    ipv6_blocks = [a["Ipv6CidrBlock"] for a in vpc.get("Ipv6CidrBlockAssociationSet", []) if a.get("Ipv6CidrBlock")]
    return {
        "name": plan["name"],
        "vpcId": vpc["VpcId"],
        "cidr": vpc["CidrBlock"],
        "ipv6Cidr": ipv6_blocks[0] if ipv6_blocks else None,
        "availabilityZones": [z["name"] for z in plan["availabilityZones"]],
        "subnets": tiers,
        "internetGatewayId": _igw_id(snap),
        "natGateways": nat_out,
        "routeTables": rt_out,
        "flowLogIds": sorted(f["FlowLogId"] for f in _active_flow_logs(snap)),
        "defaultSecurityGroupId": group["GroupId"],
        "compliance": compliance,
        "changes": plan.get("changes") or {"mode": "create"},
        "execution": execution,
    }


def _gateway_endpoint_problems(
    plan: Plan,
    ours: dict[str, dict[str, Any]],
    tables: dict[str, dict[str, Any]],
) -> list[str]:
    """Each planned gateway endpoint exists, serves exactly its planned route tables (the
    private and isolated ones), and each of those has the endpoint's route: destination the
    service's prefix list, target the endpoint (Amazon VPC User Guide, gateway endpoint routing).
    A table the endpoint lists without that route sends the service's traffic elsewhere."""
    planned = plan.get("gatewayEndpoints") or []
    if not planned:
        return []
    endpoints = {logical: item for logical, item in ours.items() if inventory.endpoint_in_service(item)}
    problems: list[str] = []
    for endpoint in planned:
        item = endpoints.get(endpoint["logicalId"])
        if item is None:
            problems.append(f"gateway endpoint {endpoint['logicalId']} ({endpoint['service']}) is missing")
            continue
        where = f"gateway endpoint {endpoint['logicalId']} ({item['VpcEndpointId']})"
        listed = set(item.get("RouteTableIds") or [])
        wanted: set[str] = set()
        for logical in endpoint["routeTables"]:
            table = tables.get(logical)
            if table is None:
                problems.append(f"{where}: route table {logical} is missing")
                continue
            table_id = table["RouteTableId"]
            wanted.add(table_id)
            if table_id not in listed:
                problems.append(f"{where} is not associated with route table {logical} ({table_id})")
            has_route = any(
                r.get("GatewayId") == item["VpcEndpointId"] and r.get("DestinationPrefixListId")
                for r in table.get("Routes", [])
            )
            if not has_route:
                problems.append(f"route table {logical} ({table_id}) has no route to {where}")
        extra = sorted(listed - wanted)
        if extra:
            problems.append(f"{where} also serves route tables the plan does not give it: {', '.join(extra)}")
    return problems


def _delivery_problem(flow_log: dict[str, Any]) -> str:
    """A flow log AWS created but cannot deliver (DeliverLogsStatus FAILED): which one, where to,
    AWS's own words, and what to fix."""
    s3 = flow_log.get("LogDestinationType") == "s3"
    destination = flow_log.get("LogDestination") or flow_log.get("LogGroupName") or "?"
    if s3:
        fix = (
            "the bucket policy must allow the service principal delivery.logs.amazonaws.com s3:PutObject on "
            "<bucket>/<prefix>/AWSLogs/<account>/* (with s3:x-amz-acl bucket-owner-full-control) and "
            "s3:GetBucketAcl on the bucket (README, flow logs to S3)"
        )
    else:
        fix = (
            f"the delivery role {flow_log.get('DeliverLogsPermissionArn') or '?'} must trust "
            "vpc-flow-logs.amazonaws.com for this account and allow logs:CreateLogStream/PutLogEvents "
            "on the log group"
        )
    message = flow_log.get("DeliverLogsErrorMessage") or "no message"
    return f"flow log {flow_log.get('FlowLogId')} cannot deliver to {destination} (AWS: {message}): {fix}"


def _route(table: dict[str, Any], destination: str) -> dict[str, Any] | None:
    field = "DestinationIpv6CidrBlock" if ":" in destination else "DestinationCidrBlock"
    return next((r for r in table.get("Routes", []) if r.get(field) == destination), None)


def _target(route: dict[str, Any] | None) -> str | None:
    if not route:
        return None
    return route.get("NatGatewayId") or route.get("EgressOnlyInternetGatewayId") or route.get("GatewayId")


def _route_problems(
    sub: PlannedSubnet,
    table: dict[str, Any],
    planned: PlannedRouteTable,
    igw_id: str | None,
    nat_id_of: dict[str, str],
    ipv6: bool,
) -> list[str]:
    """The subnet's *effective* routes against its tier's intent."""
    where = f"{sub['logicalId']} (route table {table['RouteTableId']})"
    problems = []
    v4 = _route(table, "0.0.0.0/0")
    wanted = planned["defaultRoute"]
    if wanted and wanted["target"] == "igw":
        expected = igw_id
    elif wanted and wanted["target"] == "nat":
        expected = nat_id_of.get(wanted["nat"])
    else:
        expected = None
    if _target(v4) != expected:
        problems.append(f"{where}: 0.0.0.0/0 -> {_target(v4)}, expected {expected}")
    elif v4 is not None and v4.get("State", "active") != "active":
        problems.append(f"{where}: 0.0.0.0/0 is {v4.get('State')}")
    if ipv6:
        v6 = _route(table, "::/0")
        v6_route = planned["ipv6DefaultRoute"]
        wanted6 = v6_route["target"] if v6_route else None
        got6 = _target(v6)
        ok = (
            (wanted6 is None and got6 is None)
            or (wanted6 == "igw" and got6 == igw_id)
            or (wanted6 == "eigw" and got6 is not None and got6.startswith("eigw-"))
        )
        if not ok:
            problems.append(f"{where}: ::/0 -> {got6}, expected {wanted6}")
    if sub["type"] == "isolated":
        # no way out at all: no route of any destination to an IGW, NAT or egress-only IGW
        for route in table.get("Routes", []):
            target = _target(route) or ""
            if target.startswith(("igw-", "nat-", "eigw-")):
                problems.append(f"{where}: isolated tier routes to {target}")
    return problems
