"""Eventual consistency of the EC2 API: a new resource's id answers ``Invalid*ID.NotFound`` for a while.

AWS: "Eventual consistency in the Amazon EC2 API" (EC2 developer guide): "If you run an API
command that creates a resource and then immediately run another command that references it,
the second command can fail with ``InvalidVpcID.NotFound``, ``InvalidSubnetID.NotFound``, ..."
(e.g. DescribeVpcs right after CreateVpc, AttachInternetGateway right after
CreateInternetGateway, CreateNatGateway naming a fresh subnet or Elastic IP); clients must retry
with exponential backoff. moto: every resource is visible the instant it is created.

With ``EmulatorSettings.consistency_delay_seconds = S > 0`` a resource created through the EC2
API (the kinds in :data:`KINDS`) answers the matching NotFound error, for S simulated seconds
after its creation, to every *other* request that names its id: as a parameter (``VpcId``,
``SubnetId``, ``AllocationId``, ``RouteTableId``, ...), in an id list (``VpcId.1``,
``NatGatewayId.1``, ``ResourceId.1``, ...), Describe* by id included. Filters and tag values are
not ids and are left alone (a Describe by filter simply shows the resource). The creating call's
own answer is unaffected. Requests from anyone (handlers, tests, the AWS CLI) are affected alike,
as on AWS. S is read from :func:`.settings.current` when the resource is created and measured on
the simulated clock, so nothing runs in the background.

The hook wraps moto's EC2 request dispatch (``EC2Response.call_action``) like :mod:`.faults`, and
is installed *beneath* it (:func:`.embedded.install_patches` installs this module first): the fault
hook counts every call and may fail it before it gets here; a call that reaches this hook and names
an id that is not visible yet is answered NotFound without reaching moto. Creations are recorded
from the successful answers of the create calls (the new id is read from the answer), so no moto
model or backend method is patched.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any

from moto.core.responses import ActionResult, BaseResponse
from moto.ec2.exceptions import EC2ClientError
from moto.ec2.responses import EC2Response

from .patching import Patcher, PatchSet
from .settings import clock, current

_MARK = "_vpcfactory_consistency"


@dataclass(frozen=True)
class Kind:
    """One kind of EC2 resource: its id prefix, the call that creates it, the element of that
    call's answer holding the new id, and the NotFound error (code, message format) AWS answers."""

    prefix: str
    create: str
    element: str
    code: str
    message: str

    def error(self, resource_id: str, operation: str) -> EC2ClientError:
        code = self.code
        if self.prefix == "nat" and operation in ("DescribeNatGateways", "DeleteNatGateway"):
            code = "NatGatewayNotFound"  # what these two answer for an unknown NAT gateway
        return EC2ClientError(code, self.message.format(id=resource_id))


# Codes from the EC2 API's error code list ("Client error codes"); messages in AWS's wording.
KINDS: tuple[Kind, ...] = (
    Kind("vpc", "CreateVpc", "vpcId", "InvalidVpcID.NotFound", "The vpc ID '{id}' does not exist"),
    Kind("subnet", "CreateSubnet", "subnetId", "InvalidSubnetID.NotFound", "The subnet ID '{id}' does not exist"),
    Kind(
        "igw",
        "CreateInternetGateway",
        "internetGatewayId",
        "InvalidInternetGatewayID.NotFound",
        "The internetGateway ID '{id}' does not exist",
    ),
    Kind(
        "eigw",
        "CreateEgressOnlyInternetGateway",
        "egressOnlyInternetGatewayId",
        "InvalidGatewayID.NotFound",
        "The eigw ID '{id}' does not exist",
    ),
    Kind(
        "rtb",
        "CreateRouteTable",
        "routeTableId",
        "InvalidRouteTableID.NotFound",
        "The routeTable ID '{id}' does not exist",
    ),
    Kind(
        "nat",
        "CreateNatGateway",
        "natGatewayId",
        "InvalidNatGatewayID.NotFound",
        "The natGateway ID '{id}' does not exist",
    ),
    Kind(
        "eipalloc",
        "AllocateAddress",
        "allocationId",
        "InvalidAllocationID.NotFound",
        "The allocation ID '{id}' does not exist",
    ),
    Kind(
        "vpce",
        "CreateVpcEndpoint",
        "vpcEndpointId",
        "InvalidVpcEndpointId.NotFound",
        "The VpcEndpoint ID '{id}' does not exist",
    ),
    Kind("fl", "CreateFlowLogs", "item", "InvalidFlowLogId.NotFound", "The flow log ID '{id}' does not exist"),
)
_BY_CREATE = {kind.create: kind for kind in KINDS}
_BY_PREFIX = {kind.prefix: kind for kind in KINDS}
# Request parameters that never name a resource of the request: filters, tags, tokens.
_NOT_IDS = re.compile(r"^(Filter|TagSpecification|Tag|ClientToken|Action|Version|DryRun)\b")

_lock = threading.Lock()
_visible_at: dict[str, float] = {}  # id -> simulated second from which other requests see it
_answered = {"notFound": 0}  # NotFound answers given for hidden ids since the last reset


def _new_ids(kind: Kind, body: Any) -> list[str]:
    text = body.decode() if isinstance(body, bytes) else str(body)
    pattern = rf"<{kind.element}>({re.escape(kind.prefix)}-[0-9a-f]+)</{kind.element}>"
    ids = re.findall(pattern, text)
    return ids if kind.prefix == "fl" else ids[:1]  # CreateFlowLogs answers a list; others one id


def record(resource_id: str, delay: float | None = None) -> None:
    """Hide ``resource_id`` from other requests for ``delay`` (default: the current setting)
    simulated seconds from now. A resource that is already hidden keeps its first deadline
    (a create retried with the same ClientToken answers the same resource)."""
    delay = current().consistency_delay_seconds if delay is None else delay
    if delay <= 0:
        return
    now = clock().now()
    with _lock:
        if len(_visible_at) > 10_000:  # forget resources long visible
            for key in [k for k, at in _visible_at.items() if at <= now]:
                del _visible_at[key]
        _visible_at.setdefault(resource_id, now + delay)


def not_yet_visible(resource_id: str) -> bool:
    """Does ``resource_id`` still answer NotFound to requests other than the one creating it?"""
    with _lock:
        at = _visible_at.get(resource_id)
    return at is not None and clock().now() < at


def reset() -> None:
    """Forget every recorded creation (everything is visible)."""
    with _lock:
        _visible_at.clear()
        _answered["notFound"] = 0


def hidden_answers() -> int:
    """How many requests were answered NotFound for an id not visible yet, since the last reset."""
    with _lock:
        return _answered["notFound"]


def _hidden_id(querystring: dict[str, list[str]]) -> str | None:
    """The first id the request names that is not visible yet."""
    for key, values in querystring.items():
        if _NOT_IDS.match(key):
            continue
        for value in values:
            if isinstance(value, str) and value in _visible_at and not_yet_visible(value):
                return value
    return None


def _make_call_action(original: Any) -> Any:
    def call_action(self: BaseResponse) -> Any:
        """Answer NotFound for an id that is not visible yet; record the ids a create answers."""
        operation = self._get_action()
        if not operation:
            return original(self)
        hidden = _hidden_id(self.querystring) if _visible_at else None
        if hidden is not None:
            with _lock:
                _answered["notFound"] += 1
            kind = _BY_PREFIX[hidden.split("-", 1)[0]]
            _, headers, body = self.serialized(ActionResult(kind.error(hidden, operation)))
            headers["status"] = "400"
            headers, body = self._enrich_response(headers, body)
            return 400, headers, body
        status, headers, body = original(self)
        created = _BY_CREATE.get(operation)
        if created is not None and int(status) < 300 and current().consistency_delay_seconds > 0:
            for resource_id in _new_ids(created, body):
                record(resource_id)
        return status, headers, body

    call_action.__wrapped__ = original  # type: ignore[attr-defined]
    setattr(call_action, _MARK, True)
    return call_action


def _apply(patcher: Patcher) -> None:
    """Hook eventual consistency into moto's EC2 dispatch (idempotent; inert while
    ``consistency_delay_seconds`` is 0). Install it before :mod:`.faults`, which wraps it."""
    patcher.set(EC2Response, "call_action", _make_call_action(EC2Response.call_action))


_patches = PatchSet(_apply, _lock, on_uninstall=_visible_at.clear)
installed = _patches.installed
install = _patches.install
uninstall = _patches.uninstall
