"""Rollback and destroy: delete exactly what the factory created, in the order AWS accepts.

What to delete is always found again *by ownership tags*, never trusted from the state or the
execution input alone, so a handler that crashed after a create (before it could return the
id) is still cleaned up, and a forged id cannot point a delete at someone else's resource.

Two scopes:
- rollback: {"execution": NAME} -> everything tagged `vpcfactory:execution` = NAME. Run by that
  execution itself, or (with `rollbackOf` = NAME) by the destroy a custom-resource Delete starts
  for a Create that failed with leftovers (see for_event).
- destroy:  {"vpcId": ID, "name": SPEC_NAME} -> everything inside that VPC tagged
  `vpcfactory:vpc` = SPEC_NAME, the IGW attached to it with that tag, and what sits in no VPC
  tagged with that name by one of the executions that built the VPC: its EIPs, and its IGW once an
  earlier attempt detached it (then failed to delete it). Untagged resources (an instance
  someone launched, an EIP they brought) are never touched; if they block a delete, the
  teardown fails and lists what is left.

Order (DESIGN.md): VPC endpoints and flow logs, NAT gateways and transit gateway attachments
-> wait `deleted` (NATs, attachments, interface endpoints) -> EIPs we
allocated -> route table associations and tables -> detach + delete IGW, egress-only IGW ->
subnets -> our security groups (sg/endpoints) -> VPC -> (rollback only) the flow logs' log group
if this execution created it.
A delete counts as done when EC2 answers that *the resource it deletes* is gone (the operation's
own NotFound code about that id, aws.GONE_CODES); any other NotFound (a route of a gateway
endpoint, say) fails the step, and the teardown reports what is left. Whatever a step counted
as done is checked at the end (`leftovers`). Destroy keeps the flow-log group: it is the
network's audit trail and expires by its retention.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vpcfactory import aws, interface_endpoints, inventory, ipam, outcomes, transit, waits
from vpcfactory.errors import NotOwnedByFactory, ResourceInUse
from vpcfactory.inventory import (
    EIGW,
    EIP,
    ENDPOINT,
    FLOW_LOG,
    IGW,
    NAT,
    ROUTE_TABLE,
    SECURITY_GROUP,
    SUBNET,
    TGW_ATTACHMENT,
    VPC,
    Kind,
    Scope,
)
from vpcfactory.tags import TAG_EXECUTION, TAG_LOGICAL_ID, tag_dict

if TYPE_CHECKING:
    from vpcfactory.contracts import CheckNatDeletionEvent, ReportLeftoversEvent, TeardownEvent, TeardownScope


class Teardown:
    def __init__(self, scope: TeardownScope, ec2: Any | None = None) -> None:
        if not scope.get("execution") and not (scope.get("vpcId") and scope.get("name")):
            raise ValueError("teardown scope needs `execution`, or `vpcId` and `name`")
        self.scope = scope
        self.owner = Scope.from_event(scope)  # whose resources: the one ownership rule (inventory)
        self.ec2 = ec2 or aws.client("ec2")
        # finish(): the IPAM allocations of the VPCs it deleted, released or pending release (ipam.py)
        self.ipam_allocations: list[dict[str, Any]] = []
        self._builders: set[str] | None = None  # destroy: _builder_executions, read once

    # -- finding what is ours (inventory: the Describe filters narrow, Scope.owns decides) ----------
    @classmethod
    def for_event(cls, event: TeardownEvent | CheckNatDeletionEvent | ReportLeftoversEvent) -> Teardown:
        """The teardown a handler's input asks for. A rollback may only ever name the execution
        that is running it: a forged scope naming another build is refused before any call.

        One exception, verified here and not taken from the input: the Delete of a custom
        resource whose Create failed with leftovers retries that execution's rollback
        (scope `rollbackOf`). It is allowed only while the factory's own record of that failed
        Create exists (outcomes.record_rollback, written by Report Failure in the factory
        account), so no input can point a teardown at another build's resources."""
        scope = event["scope"]
        execution = scope.get("execution")
        foreign = execution is not None and execution != event.get("execution")
        if foreign and execution and (scope.get("rollbackOf") != execution or not outcomes.pending_rollback(execution)):
            raise NotOwnedByFactory(f"execution {event.get('execution')!r} may not tear down what {execution!r} built")
        return cls(scope)

    def owns(self, item: dict[str, Any]) -> bool:
        """True only if the item carries the ownership tags of this scope (and, for a destroy,
        sits in the VPC being destroyed: the Describe's vpc-id filter is not trusted for that)."""
        return self.owner.owns(item)

    def owned(self, kind: Kind) -> list[dict]:
        """Our live resources of one kind (a NAT is live in every state but `deleted`: inventory
        says why). A rollback finds everything by its execution tag, attached or not. What sits in
        no VPC -- EIPs, and an IGW an earlier attempt of this destroy detached and then failed to
        delete (throttled, or the handler died between the two calls) -- a destroy finds by the
        spec name and one of the executions that built this VPC (inventory.owned_in_no_vpc)."""
        if self.owner.execution or kind not in (EIP, IGW):
            return inventory.owned(self.ec2, kind, self.owner)
        attached = inventory.owned(self.ec2, kind, self.owner) if kind.in_vpc else []
        return attached + inventory.owned_in_no_vpc(self.ec2, kind, self.owner, self._builder_executions())

    def _builder_executions(self) -> set[str]:
        """Executions that built resources in this VPC: what they left in no VPC is ours. Read once
        per teardown, before it deletes anything that says so (later calls get the same set)."""
        if self._builders is not None:
            return self._builders
        seen: set[str] = set()
        for items in (
            *(inventory.owned(self.ec2, kind, self.owner) for kind in (VPC, SUBNET, ROUTE_TABLE, IGW)),
            inventory.owned(self.ec2, NAT, self.owner, live_only=False),  # a deleted NAT's builder too
        ):
            for item in items:
                execution = tag_dict(item.get("Tags")).get(TAG_EXECUTION)
                if execution:
                    seen.add(execution)
        self._builders = seen
        return seen

    # -- the three steps ---------------------------------------------------------------------
    def start(self) -> list[str]:
        """Delete VPC endpoints and flow logs, start deleting NAT gateways (they take about a
        minute); return the ids whose deletion the teardown waits for (waits.py)."""
        self._delete_endpoints_and_flow_logs()
        pending = self._delete_nat_gateways(self.owned(NAT))
        # Transit gateway attachments: their interfaces keep the subnets until `deleted` (transit.py).
        pending += transit.start_deleting(self.ec2, self.owned(TGW_ATTACHMENT))
        # Interface endpoints (deleted above, or deleting since an earlier attempt): their network
        # interfaces keep the subnets and sg/endpoints until `deleted` (interface_endpoints.py).
        pending += interface_endpoints.deleting_ids(inventory.owned(self.ec2, ENDPOINT, self.owner, live_only=False))
        return pending

    def _delete_endpoints_and_flow_logs(self) -> None:
        # Both answer per-endpoint / per-flow-log failures in `Unsuccessful` instead of raising.
        endpoints = [e["VpcEndpointId"] for e in self.owned(ENDPOINT)]
        aws.delete_batch("DeleteVpcEndpoints", self.ec2.delete_vpc_endpoints, "VpcEndpointIds", endpoints)
        flow_logs = self.owned(FLOW_LOG)
        if self.scope.get("execution"):
            self._delete_log_groups(flow_logs)
        aws.delete_batch("DeleteFlowLogs", self.ec2.delete_flow_logs, "FlowLogIds", [f["FlowLogId"] for f in flow_logs])

    def _delete_nat_gateways(self, nats: list[dict]) -> list[str]:
        """DeleteNatGateway for each of our live NAT gateways not `deleting` yet; all their ids.

        A NatGatewayNotFound counts as done (GONE_CODES), as it must for a NAT deleted long ago, but
        EC2 is eventually consistent: right after CreateNatGateway (a rollback after the handler that
        created it died) it can answer NotFound about a NAT that exists ("Eventual consistency in
        the Amazon EC2 API"). Only DescribeNatGateways' state says whether a delete took, so the
        deletion wait (deleted) and finish() call this again for any NAT still listed `pending`,
        `available` or `failed`."""
        for nat in nats:
            if nat["State"] != "deleting":
                aws.call(
                    "DeleteNatGateway",
                    self.ec2.delete_nat_gateway,
                    missing_ok=True,
                    NatGatewayId=nat["NatGatewayId"],
                )
        return [nat["NatGatewayId"] for nat in nats]

    def deleted(self, ids: list[str]) -> bool:
        """Whether the deletions start() began are over. The NAT gateways among `ids` are read
        again by our tags (one Describe, as the wait by id took; an id that is not ours is nothing
        to wait for, and never deleted), and one whose delete did not take is deleted again
        (_delete_nat_gateways) until none is live. The other ids: waits.py says how, per kind."""
        nat_ids = {i for i in ids if waits.kind_of(i) is waits.NAT_GATEWAY}
        nats = [n for n in self.owned(NAT) if n["NatGatewayId"] in nat_ids] if nat_ids else []
        self._delete_nat_gateways(nats)
        others = waits.deleted(self.ec2, [i for i in ids if i not in nat_ids])
        return not nats and others

    def finish(self) -> dict[str, list[str]]:
        """Delete everything else. Tries every resource, then raises ResourceInUse if any was blocked."""
        deleted: dict[str, list[str]] = {}
        blocked: list[str] = []

        def attempt(kind: str, resource_id: str, operation: str, fn: Any, **kwargs: Any) -> bool:
            try:
                aws.call(operation, fn, missing_ok=True, **kwargs)
            except ResourceInUse as exc:
                blocked.append(f"{kind} {resource_id}: {exc}")
                return False
            deleted.setdefault(kind, []).append(resource_id)
            return True

        if nats := self.owned(NAT):
            # The caller must wait for NAT deletion first; saying so beats a confusing EIP error.
            # One whose delete did not take (or made after start's sweep) is deleted now, so the
            # retries of this step (ResourceInUse) see it go.
            self._delete_nat_gateways(nats)
            raise ResourceInUse("NAT gateways are still being deleted")
        if self.owned(TGW_ATTACHMENT):
            raise ResourceInUse("transit gateway attachments are still being deleted")
        # Again: when a Parallel branch fails, the other branch's Lambda still finishes and may
        # have created an endpoint or flow log after the rollback's first sweep.
        self._delete_endpoints_and_flow_logs()
        for address in self.owned(EIP):
            attempt(
                "elastic-ip",
                address["AllocationId"],
                "ReleaseAddress",
                self.ec2.release_address,
                AllocationId=address["AllocationId"],
            )
        subnets = self.owned(SUBNET)
        transit.release_subnets(self.ec2, subnets)  # a grown zone's /28 leaves the earlier attachment
        self._disassociate_our_subnets_from_other_tables({s["SubnetId"] for s in subnets}, subnets)
        for table in self.owned(ROUTE_TABLE):
            for assoc in table.get("Associations", []):
                if not assoc.get("Main"):
                    aws.call(
                        "DisassociateRouteTable",
                        self.ec2.disassociate_route_table,
                        missing_ok=True,
                        AssociationId=assoc["RouteTableAssociationId"],
                    )
            attempt(
                "route-table",
                table["RouteTableId"],
                "DeleteRouteTable",
                self.ec2.delete_route_table,
                RouteTableId=table["RouteTableId"],
            )
        for igw in self.owned(IGW):
            igw_id = igw["InternetGatewayId"]
            detached = True
            for attachment in igw.get("Attachments", []):
                detached = self._detach(igw_id, attachment["VpcId"], blocked) and detached
            if detached:
                attempt(
                    "internet-gateway",
                    igw_id,
                    "DeleteInternetGateway",
                    self.ec2.delete_internet_gateway,
                    InternetGatewayId=igw_id,
                )
        for eigw in self.owned(EIGW):
            attempt(
                "egress-only-internet-gateway",
                eigw["EgressOnlyInternetGatewayId"],
                "DeleteEgressOnlyInternetGateway",
                self.ec2.delete_egress_only_internet_gateway,
                EgressOnlyInternetGatewayId=eigw["EgressOnlyInternetGatewayId"],
            )
        for subnet in subnets:
            attempt(
                "subnet",
                subnet["SubnetId"],
                "DeleteSubnet",
                self.ec2.delete_subnet,
                SubnetId=subnet["SubnetId"],
            )
        # Our security groups (sg/endpoints), once the endpoints that use them are gone; never the
        # default group (untagged: Scope.owns refuses it) nor anyone else's.
        for group in self.owned(SECURITY_GROUP):
            attempt(
                "security-group",
                group["GroupId"],
                "DeleteSecurityGroup",
                self.ec2.delete_security_group,
                GroupId=group["GroupId"],
            )
        if not blocked:
            for vpc in self.owned(VPC):
                if attempt("vpc", vpc["VpcId"], "DeleteVpc", self.ec2.delete_vpc, VpcId=vpc["VpcId"]) and (
                    pool := ipam.pool_of(vpc)
                ):
                    # IPAM releases the VPC's allocation itself, later: reported, not waited for (ipam.py)
                    self.ipam_allocations.append(ipam.allocation_status(self.ec2, pool, vpc["VpcId"]))
        if blocked:
            raise ResourceInUse("; ".join(blocked))
        # A NotFound about the deleted id counted a delete as done; make sure it meant gone. EC2 is
        # eventually consistent: a resource created a moment ago can answer NotFound by id while it
        # is still listed, and a handler of a cancelled Parallel branch may create one after the
        # first sweep. Anything of ours still listed fails this attempt; the workflow retries it.
        still = [f"{item['type']} {item['id']}" for item in self.leftovers()]
        if still:
            raise ResourceInUse(f"still there after this teardown attempt (retried): {', '.join(still)}")
        return deleted

    def _detach(self, igw_id: str, vpc_id: str, blocked: list[str]) -> bool:
        """Detach; already detached (Gateway.NotAttached) or gone is done (aws.GONE_CODES)."""
        try:
            aws.call(
                "DetachInternetGateway",
                self.ec2.detach_internet_gateway,
                missing_ok=True,
                InternetGatewayId=igw_id,
                VpcId=vpc_id,
            )
        except ResourceInUse as exc:
            blocked.append(f"internet-gateway {igw_id}: {exc}")
            return False
        return True

    def _disassociate_our_subnets_from_other_tables(self, subnet_ids: set[str], subnets: list[dict]) -> None:
        """A subnet this scope created may sit in a route table it did not create (day-2 growth
        adds a zone's public subnet to the existing public table): undo just that association."""
        if not subnet_ids:
            return
        vpc_ids = sorted({s["VpcId"] for s in subnets})
        tables = aws.describe_all(
            self.ec2, "DescribeRouteTables", "RouteTables", [{"Name": "vpc-id", "Values": vpc_ids}]
        )
        for table in tables:
            if self.owns(table):
                continue  # its own associations go with it below
            for assoc in table.get("Associations", []):
                if assoc.get("SubnetId") in subnet_ids and not assoc.get("Main"):
                    aws.call(
                        "DisassociateRouteTable",
                        self.ec2.disassociate_route_table,
                        missing_ok=True,
                        AssociationId=assoc["RouteTableAssociationId"],
                    )

    def _delete_log_groups(self, flow_logs: list[dict]) -> None:
        """Rollback only: the flow logs' log group, if this execution created it (tagged so).
        Runs before the flow logs are deleted, so a re-run still knows the group's name."""
        logs = aws.client("logs")
        names = {f["LogGroupName"] for f in flow_logs if f.get("LogGroupName")}
        # The plan's group too: CreateFlowLogs may have failed right after the group was created.
        # Its name comes from the input, so the tag check below is what decides.
        planned = self.scope.get("flowLogs")
        if planned and planned["logGroupName"]:
            names.add(planned["logGroupName"])
        for name in sorted(names):
            groups = aws.call("DescribeLogGroups", logs.describe_log_groups, logGroupNamePrefix=name)["logGroups"]
            for group in groups:
                if group["logGroupName"] != name:
                    continue
                arn = group["arn"].removesuffix(":*")
                tags = aws.call("ListTagsForResource", logs.list_tags_for_resource, resourceArn=arn).get("tags", {})
                if tags.get(TAG_EXECUTION) == self.scope["execution"] and tags.get(TAG_LOGICAL_ID):
                    aws.call("DeleteLogGroup", logs.delete_log_group, missing_ok=True, logGroupName=name)

    def leftovers(self) -> list[dict[str, str]]:
        """What is still there, for the failure report of a teardown that could not finish."""
        found: list[dict[str, str]] = []
        for kind in (ENDPOINT, FLOW_LOG, NAT, TGW_ATTACHMENT, EIP, ROUTE_TABLE, IGW, EIGW, SUBNET, SECURITY_GROUP, VPC):
            for item in self.owned(kind):
                found.append({"type": kind.name, "id": item[kind.id_key], "logicalId": inventory.logical_id(item)})
        return found
