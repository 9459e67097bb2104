"""Build stages: each is idempotent find-or-create over the plan, tagging at creation.

Idempotency: before creating, a stage looks its resources up (one Describe per stage, not per
resource) and creates only the logical ids that are missing. It finds
- what this execution created (`vpcfactory:execution`), so a retried or re-driven stage
  creates nothing twice, and
- when the plan reconciles an existing VPC (day-2 growth, same spec name), what earlier
  executions built in that VPC (`vpcfactory:vpc` + the VPC id), so growing a network adds only
  the new logical ids and never touches the old ones.
Where the API has a ClientToken (CreateNatGateway, CreateRouteTable, CreateVpcEndpoint,
CreateFlowLogs, CreateEgressOnlyInternetGateway) it is derived from the execution and logical id
too, so even a lookup that races a create cannot duplicate.

First attempts skip the lookups that cannot find anything (`Build.fresh`: the execution is building
a new VPC, this task has not been retried and the execution not redriven, so no earlier attempt of
this stage ran) -- but only where AWS itself keeps a duplicate delivery of the same event (Lambda
delivers at least once) from making anything twice:
- CreateNatGateway and CreateRouteTable: the same ClientToken and parameters answer the resource the
  first request made (EC2 developer guide, "Ensuring idempotency"; tokens are kept for far longer
  than a task's retries, but a redrive may come days later: that one looks up);
- CreateSubnet (no token): a second subnet with the same CIDR is refused, InvalidSubnet.Conflict;
  then AssociateRouteTable (Resource.AlreadyAssociated) and CreateRoute (RouteAlreadyExists) refuse
  what exists too. Such an answer (aws.call `exists`: AlreadyDone) makes the stage look up and
  carry on as a retry would.
Creates with neither (CreateVpc, CreateInternetGateway, AllocateAddress) always look up first: a
duplicate of those would simply make a second one.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from vpcfactory import aws, fanout, inventory, ipam, nat_modes
from vpcfactory.errors import AlreadyDone, AwsCallFailed, Ipv6AssociationFailed, ResourceNotYetVisible
from vpcfactory.inventory import EIGW, EIP, IGW, NAT, ROUTE_TABLE, SUBNET, VPC, Kind, Scope
from vpcfactory.tags import resource_tags, tag_list

if TYPE_CHECKING:
    from vpcfactory.contracts import Plan, PlannedRouteTable, PlannedSubnet

ANYWHERE_V4 = "0.0.0.0/0"
ANYWHERE_V6 = "::/0"


class Build:
    """One execution's view of the account: the plan, the execution name, an EC2 client."""

    def __init__(
        self, plan: Plan, execution: str, ec2: Any | None = None, attempt: Mapping[str, Any] | None = None
    ) -> None:
        self.plan = plan
        self.execution = execution
        self.ec2 = ec2 or aws.client("ec2")
        changes = plan.get("changes")
        # Day-2 growth: the VPC an earlier execution built for this spec name.
        self.reconcile_vpc_id: str | None = changes.get("vpcId") if changes and changes["mode"] == "reconcile" else None
        # The task's first attempt in a new VPC (module docstring): `attempt` is the event's
        # {"retry": $$.State.RetryCount, "redrive": $$.Execution.RedriveCount}; without it, look up.
        self.fresh = (
            not self.reconcile_vpc_id
            and attempt is not None
            and attempt.get("retry") == 0
            and attempt.get("redrive") == 0
        )
        # Whose resources a stage finds instead of creating (inventory.Scope: the ownership rule).
        # (A handler that only polls, Check VPC State, builds one from a partial plan without a name.)
        self.scopes = [Scope.of_execution(execution, plan.get("name"))]
        if self.reconcile_vpc_id:
            self.scopes.append(Scope.of_vpc(self.reconcile_vpc_id, plan["name"]))

    # -- helpers ---------------------------------------------------------------------------
    def tags_for(self, logical_id: str, name: str, extra: dict[str, str] | None = None) -> dict[str, str]:
        merged = {**self.plan.get("tags", {}), **(extra or {})}
        return resource_tags(
            spec_name=self.plan["name"],
            execution=self.execution,
            logical_id=logical_id,
            name=name,
            extra=merged,
        )

    def tag_spec(self, resource_type: str, logical_id: str, name: str, extra: dict[str, str] | None = None):
        return [{"ResourceType": resource_type, "Tags": tag_list(self.tags_for(logical_id, name, extra))}]

    def tier_tag_spec(self, resource_type: str, planned: PlannedSubnet | PlannedRouteTable) -> list[dict[str, Any]]:
        """A subnet's or route table's tags: the tier's own, and the tier's name."""
        extra = {**planned["tags"], "vpcfactory:tier": planned["tier"]}
        return self.tag_spec(resource_type, planned["logicalId"], planned["name"], extra)

    def client_token(self, logical_id: str) -> str:
        # ≤ 64 ASCII chars, stable for (execution, logical id): a re-run sends the same token.
        return hashlib.sha256(f"{self.execution}/{logical_id}".encode()).hexdigest()[:64]

    def existing(self, kind: Kind) -> dict[str, dict]:
        """Our live resources of one kind, by logical id: this execution's, plus (when reconciling)
        the ones earlier executions built for this spec name in the VPC being grown (not for a kind
        in no VPC: an Elastic IP). One Describe per scope; inventory.Scope.owns re-checks every
        item: the Describe filters narrow the query, they do not decide ownership."""
        found: dict[str, dict] = {}
        for scope in self.scopes:
            if scope.vpc_id and not kind.in_vpc:
                continue
            for item in inventory.owned(self.ec2, kind, scope):
                found.setdefault(inventory.logical_id(item), item)
        return found

    # -- stages ----------------------------------------------------------------------------
    def create_vpc(self) -> dict[str, Any]:
        vpc_plan = self.plan["vpc"]
        if self.reconcile_vpc_id:
            vpcs = aws.call("DescribeVpcs", self.ec2.describe_vpcs, VpcIds=[self.reconcile_vpc_id])["Vpcs"]
            found = vpcs[0]
        else:
            found = self.existing(VPC).get(vpc_plan["logicalId"])
        if found is None:
            pool = self.plan.get("ipam")
            # IPAM (ipam.py): the pool gives the block; tagged with the pool so a teardown can ask about it.
            block: dict[str, Any] = (
                {"Ipv4IpamPoolId": pool["poolId"], "Ipv4NetmaskLength": pool["netmaskLength"]}
                if pool
                else {"CidrBlock": self.plan["cidr"]}
            )
            found = aws.call(
                "CreateVpc",
                self.ec2.create_vpc,
                **block,
                AmazonProvidedIpv6CidrBlock=bool(self.plan.get("ipv6")),
                TagSpecifications=self.tag_spec(
                    "vpc",
                    vpc_plan["logicalId"],
                    vpc_plan["name"],
                    {ipam.TAG_IPAM_POOL: pool["poolId"]} if pool else None,
                ),
            )["Vpc"]
        # `plan`: the plan relocated into the block the pool gave, when that is not the preview (else None).
        return {
            "vpcId": found["VpcId"],
            "cidr": found["CidrBlock"],
            "state": self.vpc_readiness(found),
            "plan": ipam.allocated(self.plan, found),
        }

    def vpc_ipv6_block(self, vpc_id: str) -> ipaddress.IPv6Network | None:
        """The Amazon-provided /56 (known only once it is `associated`: the build waits for that
        in Check VPC State, so a block still missing here is an error)."""
        if not self.plan.get("ipv6"):
            return None
        vpc = aws.call("DescribeVpcs", self.ec2.describe_vpcs, VpcIds=[vpc_id])["Vpcs"][0]
        block = _associated_ipv6_block(vpc)
        if block is None:
            raise AwsCallFailed("DescribeVpcs", "Ipv6CidrBlockMissing", f"{vpc_id} has no associated IPv6 CIDR block")
        return block

    def vpc_readiness(self, vpc: dict[str, Any]) -> str:
        """`available`, or what a described VPC still waits for (vpc_readiness, for this plan)."""
        return vpc_readiness(vpc, self.plan["ipv6"])

    def create_subnets(self, vpc_id: str) -> dict[str, dict[str, Any]]:
        if self.fresh:
            try:
                return self._create_subnets(vpc_id, {}, exists=True)
            except AlreadyDone:  # a duplicate delivery made some: find them, as a retry would
                pass
        return self._create_subnets(vpc_id, self.existing(SUBNET))

    def _create_subnets(self, vpc_id: str, found: dict[str, dict], exists: bool = False) -> dict[str, dict[str, Any]]:
        ipv6_block = (
            self.vpc_ipv6_block(vpc_id) if any(s["logicalId"] not in found for s in self.plan["subnets"]) else None
        )
        # Every subnet first, then their attributes: a subnet just created may be unknown by id for
        # a moment (eventual consistency), so modifying it at once would fail the stage once per
        # subnet; this way one retry of the stage finds them all. Within each pass the calls are
        # independent and go out side by side (fanout.each: results in plan order).
        missing = [sub for sub in self.plan["subnets"] if sub["logicalId"] not in found]
        requests: list[dict[str, Any]] = []
        for sub in missing:
            extra: dict[str, Any] = {}
            index = sub["ipv6Index"]
            if ipv6_block is not None and index is not None:
                extra["Ipv6CidrBlock"] = str(list(ipv6_block.subnets(new_prefix=64))[index])
            requests.append(
                {
                    "VpcId": vpc_id,
                    "CidrBlock": sub["cidr"],
                    "AvailabilityZone": sub["az"],
                    "TagSpecifications": self.tier_tag_spec("subnet", sub),
                    **extra,
                }
            )
        created = fanout.each(
            lambda kwargs: aws.call("CreateSubnet", self.ec2.create_subnet, exists=exists, **kwargs)["Subnet"], requests
        )
        items = {**found, **{sub["logicalId"]: item for sub, item in zip(missing, created, strict=True)}}
        # Found by our tags (a retry of this stage) or just created: EC2 may not know them by id yet.
        aws.expect_fresh([items[sub["logicalId"]]["SubnetId"] for sub in self.plan["subnets"]])
        # One attribute per ModifySubnetAttribute call (an API rule); only when it differs. A
        # subnet's own attributes one after the other, the subnets side by side.
        changes = [
            (items[sub["logicalId"]]["SubnetId"], attributes)
            for sub in self.plan["subnets"]
            if (
                attributes := [
                    attribute
                    for attribute, wanted in (
                        ("MapPublicIpOnLaunch", bool(sub.get("mapPublicIpOnLaunch"))),
                        ("AssignIpv6AddressOnCreation", bool(sub.get("assignIpv6AddressOnCreation"))),
                    )
                    if wanted and not items[sub["logicalId"]].get(attribute)
                ]
            )
        ]
        fanout.each(lambda change: self._set_subnet_attributes(*change), changes)
        return {
            sub["logicalId"]: {
                "subnetId": items[sub["logicalId"]]["SubnetId"],
                "cidr": items[sub["logicalId"]]["CidrBlock"],
                "az": items[sub["logicalId"]]["AvailabilityZone"],
                "tier": sub["tier"],
            }
            for sub in self.plan["subnets"]
        }

    def _set_subnet_attributes(self, subnet_id: str, attributes: list[str]) -> None:
        for attribute in attributes:
            value: dict[str, Any] = {attribute: {"Value": True}}
            aws.call("ModifySubnetAttribute", self.ec2.modify_subnet_attribute, SubnetId=subnet_id, **value)

    def create_internet_gateway(self, vpc_id: str) -> dict[str, Any] | None:
        igw_plan = self.plan.get("internetGateway")
        if not igw_plan:
            return None
        item = self.existing(IGW).get(igw_plan["logicalId"])
        if item is None:
            item = aws.call(
                "CreateInternetGateway",
                self.ec2.create_internet_gateway,
                TagSpecifications=self.tag_spec("internet-gateway", igw_plan["logicalId"], igw_plan["name"]),
            )["InternetGateway"]
        aws.expect_fresh(item["InternetGatewayId"])  # created now, or by this stage's earlier attempt
        attached = {a["VpcId"] for a in item.get("Attachments", []) if a.get("State") in ("attached", "available")}
        if vpc_id not in attached:
            aws.call(
                "AttachInternetGateway",
                self.ec2.attach_internet_gateway,
                InternetGatewayId=item["InternetGatewayId"],
                VpcId=vpc_id,
            )
        return {"internetGatewayId": item["InternetGatewayId"]}

    def allocate_eips(self) -> dict[str, str]:
        """Allocation id per NAT's EIP logical id. Bring-your-own EIPs are used, never allocated."""
        out = {n["eip"]: byo for n in self.plan["natGateways"] if (byo := n["eipAllocationId"]) and n["eip"]}
        built = self.live_nats() if self.reconcile_vpc_id else {}
        # A regional NAT's addresses are AWS-managed or brought (nat_modes.py): none allocated here.
        wanted = [
            n
            for n in self.plan["natGateways"]
            if n["eip"] and not n.get("eipAllocationId") and n["logicalId"] not in built
        ]
        if not wanted:
            return out
        found = self.existing(EIP)
        missing = [nat for nat in wanted if nat["eip"] not in found]
        allocated = fanout.each(
            lambda nat: aws.call(
                "AllocateAddress",
                self.ec2.allocate_address,
                Domain="vpc",
                TagSpecifications=self.tag_spec("elastic-ip", str(nat["eip"]), f"{self.plan['name']}-eip-{nat['az']}"),
            ),
            missing,
        )
        items = {**found, **{str(nat["eip"]): item for nat, item in zip(missing, allocated, strict=True)}}
        for nat in wanted:
            assert nat["eip"] is not None  # a zonal NAT's
            out[nat["eip"]] = items[nat["eip"]]["AllocationId"]
        return out

    def create_nat_gateways(self, subnets: dict[str, dict], eips: dict[str, str]) -> dict[str, str]:
        if not self.plan["natGateways"]:
            return {}
        found = {} if self.fresh else self.live_nats()  # fresh: the ClientToken answers a duplicate
        # Every zone's NAT at once: the requests first (a regional NAT's asks for the VPC id), then
        # the creates side by side (fanout.EC2_WIDTH is CreateNatGateway's burst).
        requests: dict[str, dict[str, Any]] = {}
        for nat in self.plan["natGateways"]:
            if nat["logicalId"] in found:
                continue
            where = (
                nat_modes.create_args(nat, self.vpc_id())
                if nat_modes.is_regional(nat)
                else {"SubnetId": subnets[str(nat["subnet"])]["subnetId"], "AllocationId": eips[str(nat["eip"])]}
            )
            requests[nat["logicalId"]] = {
                **where,
                "ClientToken": self.client_token(nat["logicalId"]),
                "TagSpecifications": self.tag_spec("natgateway", nat["logicalId"], nat["name"]),
            }
        created = fanout.each(
            lambda kwargs: aws.call("CreateNatGateway", self.ec2.create_nat_gateway, **kwargs)["NatGateway"],
            list(requests.values()),
        )
        items = {**found, **dict(zip(requests, created, strict=True))}
        return {nat["logicalId"]: items[nat["logicalId"]]["NatGatewayId"] for nat in self.plan["natGateways"]}

    def vpc_id(self) -> str:
        """The VPC this build works in (a stage whose event does not carry it: a regional NAT's)."""
        if self.reconcile_vpc_id:
            return self.reconcile_vpc_id
        return str(self.existing(VPC)[self.plan["vpc"]["logicalId"]]["VpcId"])

    def live_nats(self) -> dict[str, dict[str, Any]]:
        """Our NAT gateways a build finds instead of creating (inventory.nat_reusable says which)."""
        return {k: v for k, v in self.existing(NAT).items() if inventory.nat_reusable(v)}

    def create_egress_only_internet_gateway(self, vpc_id: str) -> str | None:
        """IPv6 egress for private tiers (the IPv6 counterpart of a NAT gateway, without its cost)."""
        eigw_plan = self.plan.get("egressOnlyInternetGateway")
        if not eigw_plan:
            return None
        # Reconciling: the one an earlier execution attached to this VPC counts (Scope.owns checks
        # the attachment: DescribeEgressOnlyInternetGateways has no VPC filter).
        item = self.existing(EIGW).get(eigw_plan["logicalId"])
        if item is None:
            item = aws.call(
                "CreateEgressOnlyInternetGateway",
                self.ec2.create_egress_only_internet_gateway,
                VpcId=vpc_id,
                ClientToken=self.client_token(eigw_plan["logicalId"]),
                TagSpecifications=self.tag_spec(
                    "egress-only-internet-gateway", eigw_plan["logicalId"], eigw_plan["name"]
                ),
            )["EgressOnlyInternetGateway"]
        aws.expect_fresh(item["EgressOnlyInternetGatewayId"])  # created now, or by an earlier attempt
        return item["EgressOnlyInternetGatewayId"]

    def create_route_tables(self, vpc_id: str, subnets: dict[str, dict], igw_id: str | None) -> dict[str, dict]:
        """Route tables, their subnet associations, and the routes that need no NAT: public
        0.0.0.0/0 and ::/0 to the IGW, private ::/0 to the egress-only IGW.

        Routes to NAT gateways are added later (add_nat_routes), once the NATs are available:
        this stage runs while they are still pending, off the critical path.
        """
        eigw_id = self.create_egress_only_internet_gateway(vpc_id)
        if self.fresh:
            try:  # the ClientToken answers a duplicate's tables; its wiring answers AlreadyDone
                return self._create_route_tables(vpc_id, subnets, igw_id, eigw_id, {}, exists=True)
            except AlreadyDone:
                pass
        return self._create_route_tables(vpc_id, subnets, igw_id, eigw_id, self.existing(ROUTE_TABLE))

    def _create_route_tables(
        self,
        vpc_id: str,
        subnets: dict[str, dict],
        igw_id: str | None,
        eigw_id: str | None,
        found: dict[str, dict],
        exists: bool = False,
    ) -> dict[str, dict]:
        # Every table first, then their associations and routes: a table just created may be
        # unknown by id for a moment (eventual consistency), so wiring it at once would fail the
        # stage once per table; this way one retry of the stage finds them all. Within each pass the
        # calls are independent and go out side by side (fanout.each).
        missing = [rt for rt in self.plan["routeTables"] if rt["logicalId"] not in found]
        created = fanout.each(
            lambda rt: aws.call(
                "CreateRouteTable",
                self.ec2.create_route_table,
                VpcId=vpc_id,
                ClientToken=self.client_token(rt["logicalId"]),
                TagSpecifications=self.tier_tag_spec("route-table", rt),
            )["RouteTable"],
            missing,
        )
        tables = {**found, **{rt["logicalId"]: item for rt, item in zip(missing, created, strict=True)}}
        # created now, or by this stage's earlier attempt
        aws.expect_fresh([tables[rt["logicalId"]]["RouteTableId"] for rt in self.plan["routeTables"]])
        wiring: list[Callable[[], None]] = []
        out: dict[str, dict] = {}
        for rt in self.plan["routeTables"]:
            item = tables[rt["logicalId"]]
            rt_id = item["RouteTableId"]
            associated = {a.get("SubnetId") for a in item.get("Associations", [])}
            for logical in rt["subnets"]:
                subnet_id = subnets[logical]["subnetId"]
                if subnet_id not in associated:
                    wiring.append(
                        functools.partial(
                            aws.call,
                            "AssociateRouteTable",
                            self.ec2.associate_route_table,
                            exists=exists,
                            RouteTableId=rt_id,
                            SubnetId=subnet_id,
                        )
                    )
            v4, v6 = rt["defaultRoute"], rt["ipv6DefaultRoute"]
            route = functools.partial(self._ensure_route, item, exists=exists)
            if v4 and v4["target"] == "igw" and igw_id:
                wiring.append(functools.partial(route, ANYWHERE_V4, GatewayId=igw_id))
            v6_target = v6["target"] if v6 else None
            if v6_target == "igw" and igw_id:
                wiring.append(functools.partial(route, ANYWHERE_V6, GatewayId=igw_id))
            elif v6_target == "eigw" and eigw_id:
                wiring.append(functools.partial(route, ANYWHERE_V6, EgressOnlyInternetGatewayId=eigw_id))
            out[rt["logicalId"]] = {"routeTableId": rt_id, "tier": rt["tier"], "az": rt.get("az")}
        fanout.each(lambda wire: wire(), wiring)
        return out

    def add_nat_routes(self, route_tables: dict[str, dict], nat_ids: dict[str, str]) -> dict[str, str]:
        """Default route of every private route table -> its NAT (the one in its AZ, else the single one)."""
        # (route table logical id, the NAT's logical id) of every table routed through a NAT
        wanted = [
            (rt["logicalId"], route["nat"])
            for rt in self.plan["routeTables"]
            if (route := rt["defaultRoute"]) and route["target"] == "nat"
        ]
        if not wanted:
            return {}
        out: dict[str, str] = {route_tables[logical]["routeTableId"]: nat_ids[nat] for logical, nat in wanted}
        if self.fresh:
            try:  # the tables are this execution's and have no default route yet (else AlreadyDone)
                fanout.each(
                    lambda route: self._ensure_route(
                        {"RouteTableId": route[0]}, ANYWHERE_V4, exists=True, NatGatewayId=route[1]
                    ),
                    list(out.items()),
                )
                return out
            except AlreadyDone:  # a duplicate delivery added some: read them, as a retry would
                pass
        current = {
            t["RouteTableId"]: t
            for t in aws.call("DescribeRouteTables", self.ec2.describe_route_tables, RouteTableIds=list(out))[
                "RouteTables"
            ]
        }
        # the tables' routes side by side: each is its own call on its own table
        fanout.each(
            lambda route: self._ensure_route(current[route[0]], ANYWHERE_V4, NatGatewayId=route[1]), list(out.items())
        )
        return out

    def _ensure_route(self, table: dict[str, Any], destination: str, *, exists: bool = False, **target: str) -> None:
        """Create the route, or point it at the target if it points elsewhere (a re-run). With
        exists, a route the table already has for the destination raises AlreadyDone."""
        ((key, value),) = target.items()
        field = "DestinationIpv6CidrBlock" if ":" in destination else "DestinationCidrBlock"
        route_args: dict[str, Any] = {"RouteTableId": table["RouteTableId"], field: destination, **target}
        for route in table.get("Routes", []):
            if route.get(field) == destination:
                if route.get(key) == value and route.get("State", "active") == "active":
                    return
                aws.call("ReplaceRoute", self.ec2.replace_route, **route_args)
                return
        aws.call("CreateRoute", self.ec2.create_route, exists=exists, **route_args)

    def enable_dns(self, vpc_id: str) -> None:
        """DNS hostnames on: interface endpoints, EKS and private hosted zones need them."""
        aws.call(
            "ModifyVpcAttribute",
            self.ec2.modify_vpc_attribute,
            VpcId=vpc_id,
            EnableDnsHostnames={"Value": True},
        )


def _associated_ipv6_block(vpc: dict[str, Any]) -> ipaddress.IPv6Network | None:
    """The VPC's IPv6 block once `associated` (while `associating`, EC2 shows no CIDR yet)."""
    for assoc in vpc.get("Ipv6CidrBlockAssociationSet", []):
        if assoc.get("Ipv6CidrBlock") and (assoc.get("Ipv6CidrBlockState") or {}).get("State") == "associated":
            return ipaddress.IPv6Network(assoc["Ipv6CidrBlock"])
    return None


# -- the polls: Check VPC State and Check NAT Gateways read, with no plan ------------------------


def vpc_state(ec2: Any, vpc_id: str, ipv6: bool) -> str:
    """`available` once the VPC can take subnets: EC2 says `available` and, for a dual-stack
    plan, its Amazon-provided /56 is `associated`. Otherwise what it still waits for. Right
    after CreateVpc EC2 may not show the VPC yet (InvalidVpcID.NotFound: eventual
    consistency): that is still pending."""
    try:
        vpcs = aws.call("DescribeVpcs", ec2.describe_vpcs, VpcIds=[vpc_id])["Vpcs"]
    except ResourceNotYetVisible:
        return "not visible yet (InvalidVpcID.NotFound)"
    return vpc_readiness(vpcs[0], ipv6) if vpcs else "missing"


def vpc_readiness(vpc: dict[str, Any], ipv6: bool) -> str:
    """`available`, or what a described VPC still waits for (its state, or its IPv6 /56).
    A /56 association that went `failed` (or `failing`) raises Ipv6AssociationFailed."""
    state = vpc.get("State", "pending")
    if state != "available" or not ipv6:
        return state
    if _associated_ipv6_block(vpc) is not None:
        return "available"
    associations = vpc.get("Ipv6CidrBlockAssociationSet", [])
    states = [(a.get("Ipv6CidrBlockState") or {}) for a in associations]
    if any(s.get("State") == "associating" for s in states):
        return "available, its IPv6 /56 still associating"
    failed = [s for s in states if s.get("State") in ("failed", "failing")]
    if failed:
        reason = failed[0].get("StatusMessage") or "no status message"
        raise Ipv6AssociationFailed(
            f"{vpc['VpcId']}: the Amazon-provided IPv6 CIDR block association {failed[0].get('State')}: {reason}"
        )
    raise Ipv6AssociationFailed(f"{vpc['VpcId']}: has no Amazon-provided IPv6 CIDR block association")


def merge_branches(results: list[dict[str, Any]] | dict[str, Any]) -> dict[str, Any]:
    """A Parallel state's output is one object per branch; the stages read them as one object.

    (Merging here rather than with `$[0].x` paths in ResultSelector keeps the ASL portable:
    moto's engine returns `$[0].x` as a one-element list where AWS returns the value.)
    """
    if isinstance(results, dict):
        return results
    merged: dict[str, Any] = {}
    for result in results:
        merged.update(result or {})
    return merged
