"""Transit gateway attachment (issue 14): the spec's `transitGateway`, its plan, build, wait,
routing, verification and teardown, in one place; the shared modules call in here.

The attachment
--------------
A VPC attachment puts one network interface in one subnet per zone it serves; traffic from a
zone without an attachment subnet cannot reach the transit gateway (Transit Gateway Guide,
"Transit gateway attachments to a VPC": "you must select one subnet from each Availability
Zone to be used by the transit gateway to route traffic"; AWS's best practice is "a separate
subnet for each transit gateway VPC attachment ... a small CIDR, for example /28", "Transit
gateway design best practices"). So the plan gives the attachment its own /28 per zone
(`subnet/tgw/<az>`, tier `tgw`, type `tgw`) and one route table `rtb/tgw` with only the local
route: traffic the gateway sends into the VPC is delivered locally; nothing in those subnets
needs the internet.

The /28s sit at the TOP of the VPC: azReservation x /28, ending at the VPC's last address
(`attachment_cidrs`), zone k in slot k. Tiers are laid from the bottom (plan.py), so appending a
tier or a zone never moves an attachment subnet, and parse_spec refuses a tier that reaches into
the block (spec.allocate).

Life cycle (EC2 API reference, TransitGatewayAttachmentState; Transit Gateway Guide,
"Transit gateway attachments"): CreateTransitGatewayVpcAttachment -> `pending` -> `available`
(a minute or two). An attachment to a gateway of another account (shared through AWS RAM) is
`pendingAcceptance` until the gateway's owner accepts it, unless the gateway has
AutoAcceptSharedAttachments enabled ("Share a transit gateway"). Create NAT Gateways creates it
(tagged at creation); Check NAT Gateways waits for it (waits.TGW_ATTACHMENT); if the wait runs
out while it is still `pendingAcceptance`, TransitGatewayAttachmentNotAccepted names the owner
who must accept. Add NAT Routes then associates it with `associateRouteTableId` (disassociating
it from the gateway's default association route table first when that is another table: an
attachment has one association, AssociateTransitGatewayRouteTable answers
Resource.AlreadyAssociated otherwise), enables propagation to `propagateRouteTableIds`, and
adds the routes (`routes` -> the gateway) to every private and isolated route table.
Teardown deletes it in Start Teardown and waits for `deleted` (DeleteSubnet answers
DependencyViolation while its interfaces are there) before Finish Teardown deletes the subnets.
Day-2 growth: a zone added later gets its /28, and ModifyTransitGatewayVpcAttachment
AddSubnetIds puts it in the attachment (`modifying` -> `available`: the build waits again).

Lambda code: boto3 only, through `aws`.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from vpcfactory import aws, inventory
from vpcfactory.errors import (
    AwsCallFailed,
    InvalidSpec,
    ResourceInUse,
    TransitGatewayAttachmentFailed,
    TransitGatewayAttachmentNotAccepted,
)
from vpcfactory.inventory import TGW_ATTACHMENT
from vpcfactory.tags import TAG_VPC, tag_dict
from vpcfactory.transit_spec import (
    TIER,
    TransitGateway,
    attachment_cidrs,
    check_not_in_vpc,
)

if TYPE_CHECKING:
    from vpcfactory.contracts import Plan, PlannedRouteTable, PlannedSubnet, PlannedTransitGateway, Zone
    from vpcfactory.network import Build

Item = dict[str, Any]

LOGICAL_ID = "tgw-attachment"
TYPE = "tgw"  # the planned subnets' and route table's type
ROUTE_TABLE = "rtb/tgw"
# States (TransitGatewayAttachmentState) in which the attachment holds nothing any more.
GONE = frozenset({"deleted", "failed", "rejected"})
# States the build's wait can never leave by itself (the owner's action is not waiting on us).
FAILED = frozenset({"failed", "failing", "rejected", "rejecting", "deleting", "deleted"})
# Association states that hold (or are becoming) the association.
ASSOCIATED = frozenset({"associating", "associated"})


def plan_parts(
    tgw: TransitGateway, name: str, vpc_cidr: str, reservation: int, azs: list[Zone]
) -> tuple[PlannedTransitGateway, list[PlannedSubnet], PlannedRouteTable]:
    """The plan's `transitGateway`, its attachment subnets (one /28 per zone) and `rtb/tgw`."""
    cidrs = attachment_cidrs(vpc_cidr, reservation)
    subnets: list[PlannedSubnet] = [
        {
            "logicalId": f"subnet/{TIER}/{az['name']}",
            "tier": TIER,
            "type": TYPE,
            "az": az["name"],
            "azIndex": k,
            "cidr": str(cidrs[k]),
            "name": f"{name}-{TIER}-{az['name']}",
            "mapPublicIpOnLaunch": False,
            "tags": {},
            "routeTable": ROUTE_TABLE,
            "ipv6Index": None,
            "assignIpv6AddressOnCreation": False,
        }
        for k, az in enumerate(azs)
    ]
    table: PlannedRouteTable = {
        "logicalId": ROUTE_TABLE,
        "tier": TIER,
        "type": TYPE,
        "az": None,
        "name": f"{name}-{TIER}",
        "tags": {},
        "subnets": [s["logicalId"] for s in subnets],
        "defaultRoute": None,  # the local route only: no internet route
        "ipv6DefaultRoute": None,
    }
    planned: PlannedTransitGateway = {
        "logicalId": LOGICAL_ID,
        "id": tgw.id,
        "routes": list(tgw.routes),
        "associateRouteTableId": tgw.associate_route_table_id,
        "propagateRouteTableIds": list(tgw.propagate_route_table_ids),
        "name": f"{name}-tgw-attachment",
        "subnets": [s["logicalId"] for s in subnets],
    }
    return planned, subnets, table


def routed_tables(plan: Plan) -> list[PlannedRouteTable]:
    """The route tables that send `routes` to the gateway: every private and isolated one."""
    return [rt for rt in plan["routeTables"] if rt.get("transitGatewayRoutes")]


# -- Validate And Plan: the gateway must be there and usable, before anything is created --------


def check_plan(plan: Plan, ec2: Any) -> None:
    """The spec's gateway as this account sees it: visible (its own, or shared with it through AWS
    RAM), `available`, and, when the spec asks for an association or propagation, owned by this
    account (those calls act on the gateway's route tables: only its owner may make them,
    Transit Gateway Guide, "Share a transit gateway": "the transit gateway owner ... associates and
    propagates"); the routes outside the VPC's block (for an IPAM VPC, known only now). Raises
    InvalidSpec naming the field: nothing has been created yet."""
    planned = plan.get("transitGateway")
    if not planned:
        return
    for k, route in enumerate(planned["routes"]):
        if not route.startswith("pl-"):
            check_not_in_vpc(ipaddress.IPv4Network(route), plan["cidr"], f"transitGateway.routes[{k}]")
    tgw = describe_gateway(ec2, planned["id"])
    if tgw is None:
        raise InvalidSpec(
            "transitGateway.id",
            f"{planned['id']} is not a transit gateway of this account in this Region, nor one shared with it "
            "through AWS RAM (share it from the network account, and accept the share if this account is "
            "outside its organization)",
        )
    state = tgw.get("State")
    if state != "available":
        raise InvalidSpec("transitGateway.id", f"{planned['id']} is {state}, not available")
    asked = [
        k
        for k, v in (
            ("associateRouteTableId", planned["associateRouteTableId"]),
            ("propagateRouteTableIds", planned["propagateRouteTableIds"]),
        )
        if v
    ]
    account = tgw.get("OwnerId")
    if asked and account and account != caller_account():
        raise InvalidSpec(
            f"transitGateway.{asked[0]}",
            f"{planned['id']} belongs to account {account}: only its owner can associate or propagate an "
            "attachment in its route tables. Leave associateRouteTableId and propagateRouteTableIds out and "
            f"have account {account} do it (or rely on its default route table settings)",
        )


def describe_gateway(ec2: Any, tgw_id: str) -> Item | None:
    try:
        found = aws.call("DescribeTransitGateways", ec2.describe_transit_gateways, TransitGatewayIds=[tgw_id])
    except AwsCallFailed as exc:
        if exc.code.startswith("InvalidTransitGatewayID"):
            return None
        raise
    items = found.get("TransitGateways") or []
    return items[0] if items else None


def caller_account() -> str:
    """The account this invocation acts in (the target's, for a cross-account build). STS API
    reference, GetCallerIdentity: "No permissions are required to perform this operation" (the
    template still allows it, for policies that deny by default)."""
    return str(aws.call("GetCallerIdentity", aws.client("sts").get_caller_identity)["Account"])


# -- the build ----------------------------------------------------------------------------------


def create_attachment(build: Build, subnets: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """Create NAT Gateways: the attachment in the plan's attachment subnets, tagged at creation
    (or, growing a VPC, the subnets of zones added since, ModifyTransitGatewayVpcAttachment
    AddSubnetIds). {"tgw-attachment": id} for the wait, {} without a transit gateway."""
    planned = build.plan.get("transitGateway")
    if not planned:
        return {}
    subnet_ids = [subnets[logical]["subnetId"] for logical in planned["subnets"]]
    found = _ours(build)
    if found is None:
        found = _create(build, planned, subnet_ids)
    else:
        missing = [s for s in subnet_ids if s not in (found.get("SubnetIds") or [])]
        if missing and found.get("State") == "available":
            # Only an available attachment can be modified (IncorrectState otherwise); a re-run
            # that finds it `modifying` has already added them.
            found = aws.call(
                "ModifyTransitGatewayVpcAttachment",
                build.ec2.modify_transit_gateway_vpc_attachment,
                TransitGatewayAttachmentId=found["TransitGatewayAttachmentId"],
                AddSubnetIds=missing,
            )["TransitGatewayVpcAttachment"]
    attachment_id = found["TransitGatewayAttachmentId"]
    aws.expect_fresh(attachment_id)  # created now, or by this stage's earlier attempt
    return {LOGICAL_ID: attachment_id}


def _ours(build: Build) -> Item | None:
    """Our attachment of this execution (a retry) or of the VPC being grown; never one on its way out."""
    found = build.existing(TGW_ATTACHMENT).get(LOGICAL_ID)
    return found if found is not None and found.get("State") not in ("deleting", *GONE) else None


def _create(build: Build, planned: PlannedTransitGateway, subnet_ids: list[str]) -> Item:
    # The VPC: from the subnets (Create NAT Gateways' input has the subnets, not the VPC id).
    vpc_id = aws.call("DescribeSubnets", build.ec2.describe_subnets, SubnetIds=subnet_ids[:1])["Subnets"][0]["VpcId"]
    try:
        return aws.call(
            "CreateTransitGatewayVpcAttachment",
            build.ec2.create_transit_gateway_vpc_attachment,
            TransitGatewayId=planned["id"],
            VpcId=vpc_id,
            SubnetIds=subnet_ids,
            TagSpecifications=build.tag_spec("transit-gateway-attachment", LOGICAL_ID, planned["name"]),
        )["TransitGatewayVpcAttachment"]
    except AwsCallFailed as exc:
        # No ClientToken on this API; one attachment per VPC and gateway is the guard instead
        # (DuplicateTransitGatewayAttachment). If the one there is ours (a create whose answer was
        # lost, not yet listed by our tags), it is the one.
        if exc.code != "DuplicateTransitGatewayAttachment":
            raise
        filters = [
            {"Name": "vpc-id", "Values": [vpc_id]},
            {"Name": "transit-gateway-id", "Values": [planned["id"]]},
        ]
        items = aws.describe_all(build.ec2, TGW_ATTACHMENT.operation, TGW_ATTACHMENT.key, filters)
        for item in items:
            if any(scope.owns(item) for scope in build.scopes) and item.get("State") not in ("deleting", *GONE):
                return item
        raise


# -- the wait (waits.TGW_ATTACHMENT) ------------------------------------------------------------


def describe_attachments(ec2: Any, ids: list[str]) -> dict[str, Item]:
    """DescribeTransitGatewayAttachments: the state, the gateway's owner and the association."""
    items = aws.call(
        "DescribeTransitGatewayAttachments", ec2.describe_transit_gateway_attachments, TransitGatewayAttachmentIds=ids
    )["TransitGatewayAttachments"]
    return {i["TransitGatewayAttachmentId"]: i for i in items}


def attachment_ready(item: Item) -> bool:
    return item.get("State") == "available"


def attachment_failure(item: Item) -> Exception | None:
    state = item.get("State")
    if state not in FAILED:
        return None
    return TransitGatewayAttachmentFailed(
        f"{item['TransitGatewayAttachmentId']} to {item.get('TransitGatewayId')} (owned by account "
        f"{item.get('TransitGatewayOwnerId') or '?'}) went {state}"
        + (": the gateway's owner rejected it" if state in ("rejected", "rejecting") else "")
    )


def attachment_stalled(item: Item) -> Exception | None:
    """When the wait runs out: an attachment still waiting for the gateway owner's acceptance."""
    if item.get("State") != "pendingAcceptance":
        return None
    owner = item.get("TransitGatewayOwnerId") or "?"
    return TransitGatewayAttachmentNotAccepted(
        f"{item['TransitGatewayAttachmentId']} to {item.get('TransitGatewayId')} is still pendingAcceptance: "
        f"the gateway belongs to account {owner}, which must accept it (AcceptTransitGatewayVpcAttachment, or "
        "the console's Transit gateway attachments > Accept), or enable AutoAcceptSharedAttachments on the "
        "gateway; then build again"
    )


def attachments_deleted(ec2: Any, ids: list[str]) -> bool:
    # A filter, not ids: an attachment deleted long ago is not listed at all, which is no error.
    filters = [{"Name": "transit-gateway-attachment-id", "Values": ids}]
    items = aws.call("DescribeTransitGatewayAttachments", ec2.describe_transit_gateway_attachments, Filters=filters)[
        "TransitGatewayAttachments"
    ]
    # (Checked by id here too: the emulator's DescribeTransitGatewayAttachments ignores this filter.)
    left = [i for i in items if i.get("TransitGatewayAttachmentId") in ids and i.get("State") not in GONE]
    for item in left:
        if item.get("State") not in ("deleting", "deleted"):  # start_deleting met IncorrectState: again
            _delete_when_it_can_be(ec2, item["TransitGatewayAttachmentId"])
    return not left


# -- Add NAT Routes: association, propagation, the VPC's routes -------------------------------


def connect(build: Build, route_tables: Mapping[str, Mapping[str, Any]], ids: Mapping[str, str]) -> dict[str, Any]:
    """Associate and propagate as the spec asks, then route `routes` to the gateway from every
    private and isolated route table. Idempotent: only what is missing is done."""
    planned = build.plan.get("transitGateway")
    if not planned:
        return {}
    attachment_id = ids[LOGICAL_ID]
    if planned["associateRouteTableId"]:
        _associate(build.ec2, attachment_id, planned["associateRouteTableId"])
    for table_id in planned["propagateRouteTableIds"]:
        _propagate(build.ec2, attachment_id, table_id)
    return {"attachmentId": attachment_id, "routes": _add_routes(build, route_tables, planned)}


def association(ec2: Any, attachment_id: str) -> Item | None:
    """The attachment's association ({TransitGatewayRouteTableId, State}) or None."""
    items = describe_attachments(ec2, [attachment_id])
    return (items.get(attachment_id) or {}).get("Association") or None


def _associate(ec2: Any, attachment_id: str, table_id: str, attempts: int = 10) -> None:
    current = association(ec2, attachment_id)
    if current and current.get("TransitGatewayRouteTableId") == table_id and current.get("State") in ASSOCIATED:
        return
    if current and current.get("State") in ASSOCIATED:
        # The gateway's default association (DefaultRouteTableAssociation enabled) or an older one:
        # an attachment has one association, so it leaves that table first.
        aws.call(
            "DisassociateTransitGatewayRouteTable",
            ec2.disassociate_transit_gateway_route_table,
            TransitGatewayRouteTableId=current["TransitGatewayRouteTableId"],
            TransitGatewayAttachmentId=attachment_id,
        )
    for attempt in range(attempts):
        try:
            aws.call(
                "AssociateTransitGatewayRouteTable",
                ec2.associate_transit_gateway_route_table,
                TransitGatewayRouteTableId=table_id,
                TransitGatewayAttachmentId=attachment_id,
            )
            return
        except ResourceInUse:
            # Resource.AlreadyAssociated while the disassociation is still `disassociating`.
            if attempt == attempts - 1:
                raise
            time.sleep(2)


def propagations(ec2: Any, attachment_id: str, table_id: str) -> list[Item]:
    filters = [{"Name": "transit-gateway-attachment-id", "Values": [attachment_id]}]
    return aws.call(
        "GetTransitGatewayRouteTablePropagations",
        ec2.get_transit_gateway_route_table_propagations,
        TransitGatewayRouteTableId=table_id,
        Filters=filters,
    ).get("TransitGatewayRouteTablePropagations", [])


def _propagate(ec2: Any, attachment_id: str, table_id: str) -> None:
    if any(p.get("State") in ("enabling", "enabled") for p in propagations(ec2, attachment_id, table_id)):
        return
    aws.call(
        "EnableTransitGatewayRouteTablePropagation",
        ec2.enable_transit_gateway_route_table_propagation,
        TransitGatewayRouteTableId=table_id,
        TransitGatewayAttachmentId=attachment_id,
    )


def _destination_field(destination: str) -> str:
    return "DestinationPrefixListId" if destination.startswith("pl-") else "DestinationCidrBlock"


def _add_routes(
    build: Build, route_tables: Mapping[str, Mapping[str, Any]], planned: PlannedTransitGateway
) -> dict[str, list[str]]:
    tables = routed_tables(build.plan)
    if not tables or not planned["routes"]:
        return {}
    ids = [route_tables[rt["logicalId"]]["routeTableId"] for rt in tables]
    current = {
        t["RouteTableId"]: t
        for t in aws.call("DescribeRouteTables", build.ec2.describe_route_tables, RouteTableIds=ids)["RouteTables"]
    }
    out: dict[str, list[str]] = {}
    for rt in tables:
        rt_id = route_tables[rt["logicalId"]]["routeTableId"]
        for destination in rt.get("transitGatewayRoutes") or []:
            field = _destination_field(destination)
            args = {"RouteTableId": rt_id, field: destination, "TransitGatewayId": planned["id"]}
            existing = next((r for r in current[rt_id].get("Routes", []) if r.get(field) == destination), None)
            if existing is None:
                aws.call("CreateRoute", build.ec2.create_route, **args)
            elif existing.get("TransitGatewayId") != planned["id"] or existing.get("State", "active") != "active":
                aws.call("ReplaceRoute", build.ec2.replace_route, **args)
            out.setdefault(rt_id, []).append(destination)
    return out


# -- Verify Network ---------------------------------------------------------------------------


def verify_problems(plan: Plan, snap: inventory.Snapshot, ec2: Any) -> list[str]:
    """The attachment is available, to the planned gateway, in exactly the planned subnets;
    associated and propagated as asked; every private and isolated table routes each destination
    to the gateway (active)."""
    planned = plan.get("transitGateway")
    if not planned:
        return []
    item = snap.mine(TGW_ATTACHMENT).get(LOGICAL_ID)
    if item is None:
        return [f"transit gateway attachment {LOGICAL_ID} is missing"]
    attachment_id = item["TransitGatewayAttachmentId"]
    where = f"transit gateway attachment {attachment_id}"
    problems: list[str] = []
    if item.get("State") != "available":
        problems.append(f"{where} is {item.get('State')}, not available")
    if item.get("TransitGatewayId") != planned["id"]:
        problems.append(f"{where} attaches {item.get('TransitGatewayId')}, not {planned['id']}")
    subnets = snap.mine(inventory.SUBNET)
    wanted = {subnets[s]["SubnetId"] for s in planned["subnets"] if s in subnets}
    got = set(item.get("SubnetIds") or [])
    if got != wanted:
        problems.append(f"{where} is in subnets {sorted(got)}, the plan's are {sorted(wanted)}")
    if planned["associateRouteTableId"]:
        current = association(ec2, attachment_id) or {}
        if current.get("TransitGatewayRouteTableId") != planned["associateRouteTableId"]:
            problems.append(
                f"{where} is associated with {current.get('TransitGatewayRouteTableId')}, "
                f"not {planned['associateRouteTableId']}"
            )
    for table_id in planned["propagateRouteTableIds"]:
        if not any(p.get("State") in ("enabling", "enabled") for p in propagations(ec2, attachment_id, table_id)):
            problems.append(f"{where} does not propagate to {table_id}")
    tables = snap.mine(inventory.ROUTE_TABLE)
    for rt in routed_tables(plan):
        table = tables.get(rt["logicalId"])
        if table is None:
            continue  # verify reports the missing table
        for destination in rt.get("transitGatewayRoutes") or []:
            field = _destination_field(destination)
            route = next((r for r in table.get("Routes", []) if r.get(field) == destination), None)
            target = (route or {}).get("TransitGatewayId")
            if target != planned["id"] or (route or {}).get("State", "active") != "active":
                problems.append(
                    f"route table {rt['logicalId']} ({table['RouteTableId']}): {destination} -> {target}, "
                    f"expected {planned['id']}"
                )
    return problems


def describe(plan: Plan, snap: inventory.Snapshot) -> dict[str, Any] | None:
    """The execution output's `transitGateway`: the attachment as EC2 reports it."""
    planned = plan.get("transitGateway")
    if not planned:
        return None
    item = snap.mine(TGW_ATTACHMENT).get(LOGICAL_ID) or {}
    return {
        "transitGatewayId": planned["id"],
        "attachmentId": item.get("TransitGatewayAttachmentId"),
        "state": item.get("State"),
        "subnetIds": sorted(item.get("SubnetIds") or []),
        "routes": planned["routes"],
        "associateRouteTableId": planned["associateRouteTableId"],
        "propagateRouteTableIds": planned["propagateRouteTableIds"],
    }


# -- growth -------------------------------------------------------------------------------------


def growth_refusals(plan: Plan, snap: inventory.Snapshot) -> list[str]:
    """Changes a re-apply will not make in place: the attachment moved to another gateway, or the
    transit gateway removed from the spec (its subnets being removed is refused too)."""
    item = snap.mine(TGW_ATTACHMENT).get(LOGICAL_ID)
    if item is None or item.get("State") in ("deleting", *GONE):
        return []
    planned = plan.get("transitGateway")
    if not planned:
        attachment_id = item["TransitGatewayAttachmentId"]
        return [f"{LOGICAL_ID} ({attachment_id}) to {item.get('TransitGatewayId')} would be removed"]
    if item.get("TransitGatewayId") != planned["id"]:
        return [f"{LOGICAL_ID} would move from {item.get('TransitGatewayId')} to {planned['id']}"]
    return []


# -- teardown -------------------------------------------------------------------------------------


def start_deleting(ec2: Any, attachments: list[Item]) -> list[str]:
    """Start Teardown: delete our attachments (owned, live); the ids to wait for until `deleted`."""
    pending = []
    for item in attachments:
        attachment_id = item["TransitGatewayAttachmentId"]
        if item.get("State") != "deleting":
            _delete_when_it_can_be(ec2, attachment_id)
        pending.append(attachment_id)
    return pending


def _delete_when_it_can_be(ec2: Any, attachment_id: str) -> None:
    """DeleteTransitGatewayVpcAttachment, unless EC2 answers IncorrectState: a rollback can start
    while the attachment is still `pending` or `modifying`, a state it cannot leave by deletion.
    Then the deletion wait (attachments_deleted) asks again at its next poll."""
    try:
        aws.call(
            "DeleteTransitGatewayVpcAttachment",
            ec2.delete_transit_gateway_vpc_attachment,
            missing_ok=True,
            TransitGatewayAttachmentId=attachment_id,
        )
    except AwsCallFailed as exc:
        if exc.code != "IncorrectState":
            raise
        # Imported here: the operator CLI imports this module (growth.diff), and importing
        # observability creates the handlers' Powertools logger before the embedded emulator has
        # set its log level, which would print handler logs on the CLI's stdout.
        from vpcfactory.observability import logger

        logger.info("attachment not deletable yet; asked again at the next poll", extra={"id": attachment_id})


def release_subnets(ec2: Any, subnets: list[Item]) -> None:
    """Finish Teardown, before the subnets go: the rollback of a build that grew a VPC created a
    zone's attachment subnet and added it to the attachment an EARLIER build made (which this
    rollback keeps). DeleteSubnet fails while the attachment's interface is in it, so the subnet
    leaves that attachment first (ModifyTransitGatewayVpcAttachment RemoveSubnetIds). Only an
    attachment built for the same spec name in the same VPC (inventory.Scope.owns) is modified;
    one still `modifying` (the build's own AddSubnetIds) raises ResourceInUse: retried with backoff."""
    ids = {s["SubnetId"] for s in subnets}
    if not ids:
        return
    names = {tag_dict(s.get("Tags")).get(TAG_VPC) for s in subnets} - {None}
    filters = [{"Name": "vpc-id", "Values": sorted({s["VpcId"] for s in subnets})}]
    for item in aws.describe_all(ec2, TGW_ATTACHMENT.operation, TGW_ATTACHMENT.key, filters):
        held = sorted(ids & set(item.get("SubnetIds") or []))
        state = item.get("State")
        if not held or state in ("deleting", *GONE):
            continue  # ours being deleted (Start Teardown) holds them only until `deleted`: waited for
        if not any(inventory.Scope.of_vpc(item["VpcId"], name).owns(item) for name in names if name):
            continue  # not the factory's: never touched (the subnet delete reports what blocks it)
        attachment_id = item["TransitGatewayAttachmentId"]
        if state != "available":
            raise ResourceInUse(
                f"transit gateway attachment {attachment_id} is {state}: {', '.join(held)} leave it once available"
            )
        aws.call(
            "ModifyTransitGatewayVpcAttachment",
            ec2.modify_transit_gateway_vpc_attachment,
            TransitGatewayAttachmentId=attachment_id,
            RemoveSubnetIds=held,
        )
