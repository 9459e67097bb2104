"""What the factory owns in an account: the one place that says it.

Three things, each written once:
- `KINDS`: every kind of EC2 resource the factory creates or could touch: how to list it
  (Describe operation, list key, id key, the filter that narrows a Describe to one VPC) and one
  documented `live` rule ("does this item still exist, for deleting, leaving behind, finding again").
  A few questions need a narrower view of a NAT gateway or an endpoint than `live`; those are named
  predicates below the table, each saying who asks and why.
- `Scope`: whose resources: one execution's (rollback, a build finding what it already created)
  or everything built for a spec name inside one VPC (destroy, day-2 growth, verify). `Scope.owns`
  is the single ownership rule: Describe filters narrow the query, the tags on each item decide.
- `snapshot`: one read of a VPC, one Describe per kind, into items by kind and by logical id, with
  the effective route table of every subnet. Growth's compare and verify's checks are pure
  functions of (plan, snapshot).

Lambda code: boto3 only, through `aws` (no moto, no CLI imports).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from vpcfactory import aws
from vpcfactory.tags import TAG_EXECUTION, TAG_LOGICAL_ID, TAG_VPC, tag_dict

Item = dict[str, Any]
Filters = list[dict[str, Any]]


# -- what each kind is, and when one is live -----------------------------------------------------


def _always(item: Item) -> bool:
    """Listed means there: EC2 stops listing these the moment they are deleted."""
    return True


def _nat_live(item: Item) -> bool:
    """Every NAT state but `deleted` still exists (NAT states: pending | failed | available |
    deleting | deleted). `pending`/`available` work or will; `deleting` may still process traffic
    and keeps its Elastic IP mapped and its network interface in the subnet until `deleted`
    (ReleaseAddress, DetachInternetGateway and DeleteSubnet fail until then, so a teardown waits for
    it); `failed` (the create failed, see FailureCode) is still listed and deletable, and EC2 clears
    it on its own only after a while. A `deleted` NAT stays listed for about an hour but holds
    nothing: it is gone."""
    return item.get("State") != "deleted"


def _endpoint_live(item: Item) -> bool:
    """An endpoint exists until it is `deleting` (EC2 is removing it; deleting it again is
    pointless) or `deleted` (still listed for a while). A `failed`, `rejected` or `expired`
    endpoint is still there and still ours to delete. States come in either case (moto: lower;
    AWS: `Available`, `Deleting`...)."""
    return str(item.get("State", "")).lower() not in ("deleting", "deleted")


def _attachment_live(item: Item) -> bool:
    """A transit gateway VPC attachment holds its network interfaces in its subnets in every state
    but `deleted`, `failed` and `rejected` (TransitGatewayAttachmentState): DeleteSubnet fails until
    then, so a teardown deletes it and waits (`deleting` is live: still waited for). A deleted one
    stays listed for a while but holds nothing (transit.py)."""
    return item.get("State") not in ("deleted", "failed", "rejected")


@dataclass(frozen=True)
class Kind:
    """One kind of EC2 resource: how to list it, and when a listed one is live."""

    name: str  # the resource type, as DescribeTags and the reports name it
    operation: str  # the Describe operation that lists it
    key: str  # the list in that operation's answer
    id_key: str  # the id field of each item
    vpc_filter: str | None  # the Describe filter naming a VPC id; None: the API has none
    tag_types: tuple[str, ...]  # DescribeTags' ResourceType values for it
    live: Callable[[Item], bool] = _always
    in_vpc: bool = True  # False: the resource belongs to no VPC (an Elastic IP)


KINDS: tuple[Kind, ...] = (
    Kind("vpc", "DescribeVpcs", "Vpcs", "VpcId", "vpc-id", ("vpc",)),
    Kind("subnet", "DescribeSubnets", "Subnets", "SubnetId", "vpc-id", ("subnet",)),
    Kind("route-table", "DescribeRouteTables", "RouteTables", "RouteTableId", "vpc-id", ("route-table",)),
    Kind(
        "internet-gateway",
        "DescribeInternetGateways",
        "InternetGateways",
        "InternetGatewayId",
        "attachment.vpc-id",
        ("internet-gateway",),
    ),
    Kind(
        "egress-only-internet-gateway",
        "DescribeEgressOnlyInternetGateways",
        "EgressOnlyInternetGateways",
        "EgressOnlyInternetGatewayId",
        None,  # DescribeEgressOnlyInternetGateways has no VPC filter: its Attachments say where
        ("egress-only-internet-gateway",),
    ),
    Kind(
        "nat-gateway",
        "DescribeNatGateways",
        "NatGateways",
        "NatGatewayId",
        "vpc-id",
        ("nat-gateway", "natgateway"),
        _nat_live,
    ),
    Kind(
        "elastic-ip",
        "DescribeAddresses",
        "Addresses",
        "AllocationId",
        None,
        ("elastic-ip", "vpc-elastic-ip"),
        in_vpc=False,
    ),
    Kind(
        "vpc-endpoint",
        "DescribeVpcEndpoints",
        "VpcEndpoints",
        "VpcEndpointId",
        "vpc-id",
        ("vpc-endpoint",),
        _endpoint_live,
    ),
    Kind("flow-log", "DescribeFlowLogs", "FlowLogs", "FlowLogId", "resource-id", ("flow-logs", "vpc-flow-log")),
    Kind("security-group", "DescribeSecurityGroups", "SecurityGroups", "GroupId", "vpc-id", ("security-group",)),
    Kind("network-acl", "DescribeNetworkAcls", "NetworkAcls", "NetworkAclId", "vpc-id", ("network-acl",)),
    Kind(
        "transit-gateway-attachment",
        "DescribeTransitGatewayVpcAttachments",
        "TransitGatewayVpcAttachments",
        "TransitGatewayAttachmentId",
        "vpc-id",
        ("transit-gateway-attachment",),
        _attachment_live,
    ),
)
KIND: Mapping[str, Kind] = {k.name: k for k in KINDS}
TGW_ATTACHMENT = KIND["transit-gateway-attachment"]
SECURITY_GROUP = KIND["security-group"]  # ours: sg/endpoints (interface_endpoints.py); never the default one
VPC, SUBNET, ROUTE_TABLE, IGW, EIGW, NAT, EIP, ENDPOINT, FLOW_LOG = (
    KIND["vpc"],
    KIND["subnet"],
    KIND["route-table"],
    KIND["internet-gateway"],
    KIND["egress-only-internet-gateway"],
    KIND["nat-gateway"],
    KIND["elastic-ip"],
    KIND["vpc-endpoint"],
    KIND["flow-log"],
)
# What a snapshot of a network reads (the Lambda roles may Describe exactly these, ReadNetworkPolicy).
NETWORK_KINDS = (VPC, SUBNET, ROUTE_TABLE, IGW, EIGW, NAT, ENDPOINT, FLOW_LOG)


# -- narrower views of a NAT gateway or an endpoint (each asked by one kind of caller) -------------


def nat_reusable(item: Item) -> bool:
    """A build finds this NAT instead of creating one: live and not `deleting`. A `failed` NAT
    counts: CreateNatGateway with the same ClientToken answers with that same gateway, so creating
    again cannot help; the NAT wait reports its failureCode instead (waits.NAT_GATEWAY)."""
    return _nat_live(item) and item.get("State") != "deleting"


def nat_in_service(item: Item) -> bool:
    """Part of the network: `pending` (will carry traffic) or `available`. A `failed` NAT never
    carried traffic and a `deleting` one is on its way out: growth plans around them (a re-apply
    adds the NAT again) and the diagram does not draw them."""
    return item.get("State") in ("pending", "available")


def nat_available(item: Item) -> bool:
    """Carries traffic now: what a finished build must have (verify)."""
    return item.get("State") == "available"


def endpoint_in_service(item: Item) -> bool:
    """An endpoint that serves its route tables: not on its way out and not refused (`failed`,
    `rejected`, `expired` endpoints route nothing)."""
    return str(item.get("State", "")).lower() not in ("deleting", "deleted", "failed", "rejected", "expired")


# -- whose resources ----------------------------------------------------------------------------


def vpcs_of(item: Item) -> set[str] | None:
    """The VPC ids an item sits in or is attached to; None for an item in no VPC: an Elastic IP, or
    an internet gateway attached to none (a teardown detached it, then its DeleteInternetGateway
    failed: throttled, or the handler died between the two calls). An egress-only internet gateway
    cannot be detached (it is created in its VPC and only deleted), so it always names its VPC."""
    if "VpcId" in item:
        return {item["VpcId"]}
    if "Attachments" in item:  # internet gateways, egress-only internet gateways
        attached = {a.get("VpcId") for a in item.get("Attachments") or [] if a.get("VpcId")}
        if not attached and "InternetGatewayId" in item:
            return None
        return attached
    if "ResourceId" in item:  # flow logs
        return {item["ResourceId"]}
    return None


def _in_vpc(item: Item, vpc_id: str | None) -> bool:
    where = vpcs_of(item)
    return where is None or vpc_id in where


@dataclass(frozen=True)
class Scope:
    """Whose resources: one execution's (`execution`), or what was built for the spec `name`
    inside the VPC `vpc_id`. An execution scope may also carry `name`: then only that spec's."""

    execution: str | None = None
    vpc_id: str | None = None
    name: str | None = None

    def __post_init__(self) -> None:
        if not self.execution and not (self.vpc_id and self.name):
            raise ValueError("a scope needs `execution`, or `vpcId` and `name`")

    @classmethod
    def of_execution(cls, execution: str, name: str | None = None) -> Scope:
        return cls(execution=execution, name=name)

    @classmethod
    def of_vpc(cls, vpc_id: str, name: str) -> Scope:
        return cls(vpc_id=vpc_id, name=name)

    @classmethod
    def from_event(cls, scope: Mapping[str, Any]) -> Scope:
        """The scope of a teardown's input: {"execution": ...} or {"vpcId": ..., "name": ...}."""
        if scope.get("execution"):
            return cls.of_execution(scope["execution"])
        return cls.of_vpc(scope.get("vpcId") or "", scope.get("name") or "")

    def filters(self, kind: Kind) -> Filters:
        """Describe filters that narrow a query to this scope (they narrow; `owns` decides)."""
        if self.execution:
            return [{"Name": f"tag:{TAG_EXECUTION}", "Values": [self.execution]}]
        filters: Filters = [{"Name": f"tag:{TAG_VPC}", "Values": [self.name]}]
        if kind.vpc_filter:
            filters.append({"Name": kind.vpc_filter, "Values": [self.vpc_id]})
        return filters

    def owns(self, item: Item) -> bool:
        """The ownership rule (DESIGN.md "Ownership tags"): the item carries `vpcfactory:vpc` and
        `vpcfactory:logical-id`, and either this execution's `vpcfactory:execution`, or this spec
        name and a place inside this VPC (not trusted from a Describe filter). An item in no VPC
        (an Elastic IP, a detached internet gateway) is owned by its tags alone here: what a destroy
        deletes of those it reads with owned_in_no_vpc, which also requires one of the executions
        that built the VPC."""
        tags = tag_dict(item.get("Tags"))
        if not tags.get(TAG_VPC) or not tags.get(TAG_LOGICAL_ID):
            return False
        if self.name and tags[TAG_VPC] != self.name:
            return False
        if self.execution:
            return tags.get(TAG_EXECUTION) == self.execution
        return _in_vpc(item, self.vpc_id)


def logical_id(item: Item) -> str:
    return tag_dict(item.get("Tags")).get(TAG_LOGICAL_ID, "")


def owned(ec2: Any, kind: Kind, scope: Scope, *, extra: Filters | None = None, live_only: bool = True) -> list[Item]:
    """The live items of one kind this scope owns (with live_only=False, dead ones too: a NAT
    still listed as `deleted`): one Describe (all its pages)."""
    items = aws.describe_all(ec2, kind.operation, kind.key, [*scope.filters(kind), *(extra or [])])
    return [item for item in items if (kind.live(item) or not live_only) and scope.owns(item)]


def owned_in_no_vpc(ec2: Any, kind: Kind, scope: Scope, executions: Iterable[str]) -> list[Item]:
    """A VPC scope's live items of one kind that sit in no VPC (vpcs_of: its Elastic IPs; an internet
    gateway an earlier teardown attempt detached but could not delete). Nothing in such an item
    points at the VPC and the spec name is not enough (another network of that name has its own), so
    it is ours only if one of `executions`, the executions that built the VPC (the teardown finds
    them in it), tagged it: checked on every item, the Describe's filters only narrow. One Describe."""
    wanted = set(executions)
    if scope.execution or not scope.name or not wanted:
        return []  # an execution scope finds these with `owned`: its tag says all
    filters: Filters = [
        {"Name": f"tag:{TAG_VPC}", "Values": [scope.name]},
        {"Name": f"tag:{TAG_EXECUTION}", "Values": sorted(wanted)},
    ]
    return [
        item
        for item in aws.describe_all(ec2, kind.operation, kind.key, filters)
        if kind.live(item)
        and vpcs_of(item) is None
        and scope.owns(item)
        and tag_dict(item.get("Tags")).get(TAG_EXECUTION) in wanted
    ]


def by_logical(items: Iterable[Item]) -> dict[str, Item]:
    """Items by their `vpcfactory:logical-id` (the first one wins; items without one are left out)."""
    out: dict[str, Item] = {}
    for item in items:
        logical = logical_id(item)
        if logical:
            out.setdefault(logical, item)
    return out


def vpcs_named(ec2: Any, name: str) -> list[Item]:
    """The VPCs carrying `vpcfactory:vpc` = name: a spec name is a network's identity (growth)."""
    named = [{"Name": f"tag:{TAG_VPC}", "Values": [name]}]
    return [
        v for v in aws.describe_all(ec2, VPC.operation, VPC.key, named) if tag_dict(v.get("Tags")).get(TAG_VPC) == name
    ]


def factory_vpc_name(vpc: Item) -> str | None:
    """The spec name of a VPC the factory built, None for any other VPC: a factory VPC carries all
    three ownership tags, with logical id `vpc` (resolve_vpc refuses to destroy anything else)."""
    tags = tag_dict(vpc.get("Tags"))
    if tags.get(TAG_VPC) and tags.get(TAG_LOGICAL_ID) == "vpc" and tags.get(TAG_EXECUTION):
        return tags[TAG_VPC]
    return None


# -- one read of a VPC ---------------------------------------------------------------------------


@dataclass
class Snapshot:
    """A VPC as one read found it. `items[kind]`: every live item of that kind in the VPC, anyone's
    (verify and the diagram look at the main route table, a foreign IGW, any flow log);
    `ours[kind]`: the scope's items by logical id. Kinds not read are absent from both."""

    vpc_id: str
    scope: Scope | None
    items: dict[str, list[Item]] = field(default_factory=dict)
    ours: dict[str, dict[str, Item]] = field(default_factory=dict)

    @property
    def vpc(self) -> Item | None:
        return next(iter(self.items.get("vpc") or []), None)

    def all(self, kind: Kind | str) -> list[Item]:
        return self.items.get(kind if isinstance(kind, str) else kind.name, [])

    def mine(self, kind: Kind | str) -> dict[str, Item]:
        return self.ours.get(kind if isinstance(kind, str) else kind.name, {})

    def is_ours(self, item: Item) -> bool:
        return self.scope is not None and self.scope.owns(item)

    @property
    def main_route_table(self) -> Item | None:
        return next(
            (t for t in self.all(ROUTE_TABLE) if any(a.get("Main") for a in t.get("Associations") or [])),
            None,
        )

    def route_table_of(self, subnet_id: str) -> Item | None:
        """The subnet's effective route table: the one it is associated with, else the main one."""
        for table in self.all(ROUTE_TABLE):
            if any(a.get("SubnetId") == subnet_id for a in table.get("Associations") or []):
                return table
        return self.main_route_table

    def effective_route_tables(self) -> dict[str, Item | None]:
        """Subnet id -> its effective route table, for every subnet read."""
        return {s["SubnetId"]: self.route_table_of(s["SubnetId"]) for s in self.all(SUBNET)}


def snapshot(ec2: Any, vpc_id: str, scope: Scope | None, kinds: Iterable[Kind] = NETWORK_KINDS) -> Snapshot:
    """One read of a VPC: one Describe per kind, narrowed to the VPC, in the order `kinds` gives.
    Kinds without a VPC filter are narrowed by the scope's tags and then by their attachments; an
    Elastic IP (in no VPC) is read only for a scope, by its tags."""
    snap = Snapshot(vpc_id=vpc_id, scope=scope)
    for kind in kinds:
        if kind is VPC:  # by id: a VPC EC2 does not show (yet) answers NotFound, not an empty list
            snap.items[kind.name] = aws.call(VPC.operation, ec2.describe_vpcs, VpcIds=[vpc_id])[VPC.key]
            snap.ours[kind.name] = by_logical(i for i in snap.items[kind.name] if scope is not None and scope.owns(i))
            continue
        if not kind.in_vpc and scope is None:
            snap.items[kind.name], snap.ours[kind.name] = [], {}  # nothing ties it to the VPC: no read
            continue
        if kind.vpc_filter:
            filters: Filters = [{"Name": kind.vpc_filter, "Values": [vpc_id]}]
        elif scope is not None:
            filters = scope.filters(kind)
        else:
            filters = []
        items = [i for i in aws.describe_all(ec2, kind.operation, kind.key, filters) if kind.live(i)]
        if kind.in_vpc:  # the filter narrowed the query; where the item is decides (a detached IGW: nowhere)
            items = [i for i in items if vpc_id in (vpcs_of(i) or ())]
        snap.items[kind.name] = items
        snap.ours[kind.name] = by_logical(i for i in items if scope is not None and scope.owns(i))
    return snap
