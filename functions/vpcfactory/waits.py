"""What the build and the teardown wait for: the resources that take minutes, not seconds.

A NAT gateway is `pending` for a minute or two after CreateNatGateway and `deleting` for about as
long after DeleteNatGateway; a transit gateway attachment and an interface endpoint behave the
same way. The build's wait loop (Create NAT Gateways -> Check NAT Gateways) and the teardown's
(Start Teardown -> Check NAT Deletion) poll every such resource together, by id: each kind below
is known by its id prefix, says how to describe ids, when an item is ready, which state ends the
wait for good (with the error to raise), and when a deletion is over.

(The state names keep "NAT" because NAT gateways were the first such resource; what they wait for
is every resource here.)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from vpcfactory import aws, interface_endpoints, transit
from vpcfactory.errors import NatGatewayFailed

Item = dict[str, Any]


@dataclass(frozen=True)
class SlowKind:
    """One kind of resource the workflow waits for."""

    name: str  # for messages: "NAT gateway"
    prefix: str  # its id prefix: "nat-"
    describe: Callable[[Any, list[str]], dict[str, Item]]  # by id; an id EC2 does not show yet is absent
    ready: Callable[[Item], bool]  # the build may go on
    failure: Callable[[Item], Exception | None]  # a state it never leaves: the error that ends the wait
    deleted: Callable[[Any, list[str]], bool]  # every one of these ids is gone (or as good as gone)
    # A state that someone else must end (a transit gateway attachment pendingAcceptance): the
    # error to raise instead of WaitTimedOut when the wait runs out with an item in it.
    stalled: Callable[[Item], Exception | None] = lambda item: None


def _describe_nats(ec2: Any, ids: list[str]) -> dict[str, Item]:
    items = aws.call("DescribeNatGateways", ec2.describe_nat_gateways, NatGatewayIds=ids)["NatGateways"]
    return {i["NatGatewayId"]: i for i in items}


def _nat_failure(item: Item) -> Exception | None:
    if item.get("State") != "failed":
        return None
    code, message = item.get("FailureCode", "Unknown"), item.get("FailureMessage", "")
    return NatGatewayFailed(f"{item['NatGatewayId']} failed: {code}: {message}".rstrip(": "))


def _nats_deleted(ec2: Any, ids: list[str]) -> bool:
    # A filter, not NatGatewayIds: a NAT deleted long ago is not listed at all, which is no error.
    filters = [{"Name": "nat-gateway-id", "Values": ids}]
    items = aws.call("DescribeNatGateways", ec2.describe_nat_gateways, Filters=filters)["NatGateways"]
    return all(i.get("State") == "deleted" for i in items)  # `deleted` (still listed for a while) or gone


NAT_GATEWAY = SlowKind(
    name="NAT gateway",
    prefix="nat-",
    describe=_describe_nats,
    ready=lambda item: item.get("State") == "available",
    failure=_nat_failure,
    deleted=_nats_deleted,
)

TGW_ATTACHMENT = SlowKind(
    name="transit gateway attachment",
    prefix="tgw-attach-",
    describe=transit.describe_attachments,
    ready=transit.attachment_ready,
    failure=transit.attachment_failure,
    deleted=transit.attachments_deleted,
    stalled=transit.attachment_stalled,
)

# Interface endpoints (interface_endpoints.py): pending -> available; deleting -> deleted. Gateway
# endpoints share the "vpce-" prefix: ready at once, deleted at once (the functions handle both).
INTERFACE_ENDPOINT = SlowKind(
    name="interface VPC endpoint",
    prefix="vpce-",
    describe=interface_endpoints.describe,
    ready=interface_endpoints.ready,
    failure=interface_endpoints.failure,
    deleted=interface_endpoints.deleted,
)

SLOW_KINDS: tuple[SlowKind, ...] = (NAT_GATEWAY, TGW_ATTACHMENT, INTERFACE_ENDPOINT)


def kind_of(resource_id: str) -> SlowKind:
    for kind in SLOW_KINDS:
        if resource_id.startswith(kind.prefix):
            return kind
    raise ValueError(f"{resource_id} is not a resource the workflow waits for")


def _by_kind(ids: list[str]) -> dict[SlowKind, list[str]]:
    grouped: dict[SlowKind, list[str]] = {}
    for resource_id in sorted(set(ids)):
        grouped.setdefault(kind_of(resource_id), []).append(resource_id)
    return grouped


def states(ec2: Any, ids: list[str]) -> dict[str, Item]:
    """Every id as EC2 describes it now (one Describe per kind)."""
    found: dict[str, Item] = {}
    for kind, kind_ids in _by_kind(ids).items():
        found.update(kind.describe(ec2, kind_ids))
    return found


def ready(ids: list[str], described: dict[str, Item]) -> bool:
    """True when every id is ready; raises the failure of one that never will be."""
    for resource_id in sorted(described):
        failure = kind_of(resource_id).failure(described[resource_id])
        if failure is not None:
            raise failure
    return all(i in described and kind_of(i).ready(described[i]) for i in ids)


def pending(ids: list[str], described: dict[str, Item]) -> list[str]:
    """What the wait still waits for, for its message: `nat-0abc (pending)`."""
    out = []
    for resource_id in sorted(ids):
        item = described.get(resource_id)
        if item is None or not kind_of(resource_id).ready(item):
            state = (item or {}).get("State") or (item or {}).get("state") or "not visible yet"
            out.append(f"{resource_id} ({state})")
    return out


def stalled(ids: list[str], described: dict[str, Item]) -> Exception | None:
    """When a wait runs out: the error of an item stuck waiting for someone else, if one is."""
    for resource_id in sorted(ids):
        item = described.get(resource_id)
        error = kind_of(resource_id).stalled(item) if item is not None else None
        if error is not None:
            return error
    return None


def deleted(ec2: Any, ids: list[str]) -> bool:
    """True when every id's deletion is over."""
    return all(kind.deleted(ec2, kind_ids) for kind, kind_ids in _by_kind(ids).items())
