"""Patches that make moto's EC2 behave like AWS where the VPC factory depends on it.

moto 5.2.5 is kinder than AWS in ways that hide ordering bugs (see DESIGN.md, "Where moto
is kinder than AWS"). Each function below closes one gap; its docstring states the AWS
behaviour it reproduces and where that behaviour is documented. Errors are raised as
moto's own :class:`~moto.ec2.exceptions.EC2ClientError`, so boto3 sees a normal EC2 error
response (HTTP 400, ``response["Error"]["Code"]``), in-process (``mock_aws``) and in
server mode alike: the patches sit on moto's backend and model classes, below both.

Timed states (VPC ``pending``, NAT ``pending``/``deleting``) are computed from the
simulated clock in :mod:`.settings` whenever the state is read, so nothing runs in the
background. Durations are taken from :func:`.settings.current` when the resource is
created (or deleted), in simulated seconds.

Patched moto code is pinned: :data:`MOTO_VERSION` must match, and :data:`PINNED_SOURCES`
records a hash of the source of every moto function these patches wrap or rely on, which
a test compares so that a moto upgrade fails loudly instead of silently unpatching.
"""

from __future__ import annotations

import contextlib
import inspect
import ipaddress
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from moto.core.responses import ActionResult
from moto.core.utils import iso_8601_datetime_with_milliseconds, utcnow
from moto.ec2.exceptions import DependencyViolationError, EC2ClientError
from moto.ec2.models import EC2Backend
from moto.ec2.models.elastic_ip_addresses import ElasticAddressBackend
from moto.ec2.models.flow_logs import FlowLogsBackend
from moto.ec2.models.internet_gateways import EgressOnlyInternetGatewayBackend, InternetGatewayBackend
from moto.ec2.models.nat_gateways import NatGateway, NatGatewayBackend
from moto.ec2.models.route_tables import RouteBackend
from moto.ec2.models.subnets import SubnetBackend
from moto.ec2.models.vpcs import VPC, VPCBackend
from moto.ec2.responses.nat_gateways import NatGateways
from moto.ec2.responses.route_tables import RouteTables
from moto.ec2.utils import tag_filter_matches
from moto.s3.models import FakeBucket

from . import fidelity_services
from .patching import MotoVersionMismatch, Patcher, PatchSet
from .settings import clock, current

# sha256[:16] of inspect.getsource() of each moto function the emulator patches or relies
# on, at patching.MOTO_VERSION. Regenerate with ``patching.source_fingerprints(PINNED_SOURCES)`` only after
# re-reading the new moto code and re-checking every patch that touches it.
PINNED_SOURCES: dict[str, str] = {
    # patched (wrapped)
    "moto.ec2.models.vpcs:VPCBackend.create_vpc": "38aab71ca2b544b7",
    "moto.ec2.models.nat_gateways:NatGatewayBackend.create_nat_gateway": "d168f8b3614b07fb",
    "moto.ec2.models.nat_gateways:NatGatewayBackend.delete_nat_gateway": "bae2427a0ac96528",
    "moto.ec2.responses.nat_gateways:NatGateways.create_nat_gateway": "feeb87a1c775fbbc",
    "moto.ec2.models.internet_gateways:InternetGatewayBackend.attach_internet_gateway": "58c87b41f3d9cf9e",
    "moto.ec2.models.internet_gateways:InternetGatewayBackend.detach_internet_gateway": "2a7e33da5d38b323",
    "moto.ec2.models.elastic_ip_addresses:ElasticAddressBackend.release_address": "08e87039f6dfdc00",
    "moto.ec2.models.subnets:SubnetBackend.delete_subnet": "9c0ac999e80280f4",
    "moto.ec2.models.route_tables:RouteBackend.create_route": "fa18a7fd808731a1",
    "moto.ec2.models.route_tables:RouteBackend.replace_route": "3e70dac29e857459",
    "moto.ec2.responses.route_tables:RouteTables.create_route_table": "240addeca84ea29c",
    "moto.ec2.models.route_tables:RouteBackend.associate_route_table": "b9a488c7fe9d9d61",
    # relied on: models that assign ``self.state`` in __init__ (now a property), the state
    # filter that must read the computed state, and the helpers the patches call.
    "moto.ec2.models.vpcs:VPC.__init__": "3a83697a7709c31d",
    "moto.ec2.models.nat_gateways:NatGateway.__init__": "b1d3556bfe1d2c46",
    "moto.ec2.models.nat_gateways:NatGatewayBackend.describe_nat_gateways": "f893247e09c3c5ee",
    "moto.ec2.models.elastic_ip_addresses:ElasticAddressBackend.disassociate_address": "dbbc1cd315f00e5f",
    "moto.ec2.models.elastic_network_interfaces:NetworkInterfaceBackend.delete_network_interface": "744456159848bd53",
    "moto.ec2.models.security_groups:SecurityGroupBackend.authorize_security_group_ingress": "0c3e32a6bb160f34",
    "moto.ec2.models.security_groups:SecurityGroupBackend.get_security_group_from_name": "9885036a49e3fea6",
    "moto.ec2.utils:tag_filter_matches": "b6bde3c78233a12e",
    "moto.ec2.models.flow_logs:FlowLogsBackend.create_flow_logs": "e01cd02a25200543",
    # patched so a deleted resource's tags go with it
    "moto.ec2.models.vpcs:VPCBackend.delete_vpc": "e1bdbc7e6a295336",
    "moto.ec2.models.vpcs:VPCBackend.delete_vpc_endpoints": "addebd7ab4598f5e",
    # ModifyVpcEndpoint adds/removes a gateway endpoint's routes with its route tables
    "moto.ec2.models.vpcs:VPCBackend.modify_vpc_endpoint": "5bd357c135635ae5",
    "moto.ec2.models.vpcs:VPCEndPoint.modify": "2592485da3866b8f",
    "moto.ec2.models.route_tables:RouteBackend.get_route_table": "e6a519c5fc230899",
    "moto.ec2.models.route_tables:RouteBackend.delete_route": "731f24945db4c1a8",
    "moto.ec2.models.route_tables:RouteBackend.delete_route_table": "282178c3f7cacc2b",
    "moto.ec2.models.internet_gateways:InternetGatewayBackend.delete_internet_gateway": "85b920f20dd86ceb",
    "moto.ec2.models.internet_gateways:EgressOnlyInternetGatewayBackend.delete_egress_only_internet_gateway": "2c501c7e173ca33e",  # noqa: E501
    "moto.ec2.models.flow_logs:FlowLogsBackend.delete_flow_logs": "19fa059fedd3a38f",
    "moto.ec2.models.elastic_ip_addresses:ElasticAddressBackend.address_by_ip": "06f81b98e25be513",
    # the Amazon-provided IPv6 /56 is associated asynchronously
    "moto.ec2.models.vpcs:VPC.associate_vpc_cidr_block": "7c7972ef993e2c36",
    "moto.ec2.models.vpcs:VPC.ipv6_cidr_block_association_set.fget": "aec2de8b3d756499",
    "moto.ec2.models.subnets:SubnetBackend.create_subnet": "82496fb64997dcbd",
    # flow-log delivery to S3, endpoint service names (fidelity_services.py)
    **fidelity_services.PINNED_SOURCES,
}


# ---------------------------------------------------------------------------------------
# AWS errors moto does not define (raised like moto's own: EC2ClientError -> HTTP 400)


class NatGatewayNotFoundError(EC2ClientError):
    def __init__(self, nat_gateway_id: str) -> None:
        super().__init__("NatGatewayNotFound", f"The Nat Gateway {nat_gateway_id} was not found")


class InvalidNatGatewayIdNotFoundError(EC2ClientError):
    def __init__(self, nat_gateway_id: str) -> None:
        super().__init__("InvalidNatGatewayID.NotFound", f"The natGateway ID '{nat_gateway_id}' does not exist")


class IdempotentParameterMismatchError(EC2ClientError):
    def __init__(self, client_token: str) -> None:
        super().__init__(
            "IdempotentParameterMismatch",
            f"The client token '{client_token}' was already used with different parameters.",
        )


class RouteTableAssociationConflictError(EC2ClientError):
    def __init__(self, route_table_id: str) -> None:
        super().__init__(
            "Resource.AlreadyAssociated",
            f"the specified association for route table {route_table_id} conflicts with an existing association",
        )


class AddressInUseError(EC2ClientError):
    def __init__(self, allocation_id: str | None, public_ip: str, holder: str) -> None:
        super().__init__(
            "InvalidIPAddress.InUse",
            f"Address {allocation_id or public_ip} is in use by {holder}.",
        )


class InvalidSubnetIpv6RangeError(EC2ClientError):
    # AWS documents no error for "the VPC's IPv6 block is still associating"; a subnet IPv6 CIDR
    # outside the VPC's (associated) IPv6 blocks is ``InvalidSubnet.Range`` ("The CIDR block you
    # specified for the subnet is not valid"), the closest documented code, used for both.
    def __init__(self, cidr_block: str) -> None:
        super().__init__("InvalidSubnet.Range", f"The IPv6 CIDR '{cidr_block}' is invalid.")


class ResourceAlreadyAssociatedWithVpcError(EC2ClientError):
    def __init__(self, vpc_id: str, internet_gateway_id: str) -> None:
        super().__init__(
            "Resource.AlreadyAssociated",
            f"resource {vpc_id} is already associated with network {internet_gateway_id}",
        )


# ---------------------------------------------------------------------------------------
# State kept on moto's objects (in their __dict__, so it dies with moto's backend reset)

_LOCK = threading.RLock()
_NAT = "_vpcfactory_nat"  # NatGateway.__dict__ key of its _NatLifecycle
_VPC_PENDING_UNTIL = "_vpcfactory_pending_until"  # VPC.__dict__ key (simulated seconds)
_NAT_TOKENS = "_vpcfactory_nat_client_tokens"  # EC2Backend.__dict__ key
_ROUTE_TABLE_TOKENS = "_vpcfactory_route_table_client_tokens"  # EC2Backend.__dict__ key
_IPV6_ASSOCIATED_AT = "_vpcfactory_associated_at"  # key in a VPC's IPv6 association dict


def _igw_attached(backend: Any, vpc_id: str) -> bool:
    return any(igw.vpc is not None and igw.vpc.id == vpc_id for igw in list(backend.internet_gateways.values()))


def _release_nat_resources(nat: NatGateway) -> None:
    """What AWS does when a NAT gateway is gone: unmap its EIP, delete its ENI."""
    backend = nat.ec2_backend
    for address in nat.address_set:
        association_id = address.pop("associationId", None)
        if association_id:
            with contextlib.suppress(EC2ClientError):  # already unmapped
                backend.disassociate_address(association_id=association_id)
    eni = getattr(nat, "_eni", None)
    if eni is not None and eni.id in backend.enis:
        backend.delete_network_interface(eni.id)


@dataclass
class _NatLifecycle:
    """pending -> available | failed; any -> deleting -> deleted. Advanced when read."""

    created_at: float
    pending_for: float
    public: bool
    fail_at: float | None = None
    failure_code: str | None = None
    failure_message: str | None = None
    failed: bool = False
    available: bool = False
    delete_requested_at: float | None = None
    deleting_for: float = 0.0
    deleted: bool = False
    delete_time: str | None = None

    def plan_failure(self, at: float, code: str, message: str) -> None:
        self.fail_at, self.failure_code, self.failure_message = at, code, message

    def advance(self, nat: NatGateway) -> str:
        if self.deleted:
            return "deleted"
        now = clock().now()
        if self.delete_requested_at is not None:
            if now < self.delete_requested_at + self.deleting_for:
                return "deleting"
            _release_nat_resources(nat)
            self.deleted, self.delete_time = True, iso_8601_datetime_with_milliseconds(utcnow())
            nat.__dict__["state"] = "deleted"
            return "deleted"
        if self.failed:
            return "failed"
        if self.available:
            return "available"
        if self.fail_at is not None and now >= self.fail_at:
            return self._fail(nat)
        if now >= self.created_at + self.pending_for:
            if self.public and not _igw_attached(nat.ec2_backend, nat.vpc_id):
                self.failure_code, self.failure_message = _no_igw_failure(nat.vpc_id)
                return self._fail(nat)
            self.available = True
            nat.__dict__["state"] = "available"
            return "available"
        return "pending"

    def _fail(self, nat: NatGateway) -> str:
        self.failed = True
        _release_nat_resources(nat)
        nat.__dict__["state"] = "failed"
        return "failed"


def _no_igw_failure(vpc_id: str) -> tuple[str, str]:
    return "Gateway.NotAttached", f"Network {vpc_id} has no Internet gateway attached"


def _nat_lifecycle(nat: Any) -> _NatLifecycle | None:
    return nat.__dict__.get(_NAT)


def _nat_state(nat: Any) -> str:
    lifecycle = _nat_lifecycle(nat)
    if lifecycle is None:  # created before install(): moto's own state
        return nat.__dict__.get("state", "available")
    with _LOCK:
        return lifecycle.advance(nat)


def _live_nats(backend: Any) -> list[Any]:
    """NAT gateways that still hold their subnet / addresses (not failed, not deleted)."""
    nats = list(backend.nat_gateways.values())  # other threads may be creating some
    return [nat for nat in nats if _nat_state(nat) not in ("failed", "deleted")]


# ---------------------------------------------------------------------------------------
# The patches. Each returns the replacement and documents the AWS behaviour.


def _patch_vpc_pending(original: Callable[..., Any]) -> Callable[..., Any]:
    """CreateVpc returns a VPC in state ``pending``; it turns ``available`` shortly after.

    AWS: EC2 API reference, ``Vpc.State`` = ``pending | available``; botocore's
    ``VpcAvailable`` waiter polls DescribeVpcs until ``available``. moto: ``available`` at
    once. Here: ``pending`` for ``vpc_pending_seconds`` simulated seconds (default VPCs,
    which moto pre-creates, are available at once).
    """

    def create_vpc(self: Any, *args: Any, **kwargs: Any) -> Any:
        vpc = original(self, *args, **kwargs)
        if not vpc.is_default:
            vpc.__dict__[_VPC_PENDING_UNTIL] = clock().now() + current().vpc_pending_seconds
        _add_default_sg_self_reference(self, vpc)
        return vpc

    return create_vpc


def _vpc_state_get(vpc: Any) -> str:
    state = vpc.__dict__.get("state", "available")
    until = vpc.__dict__.get(_VPC_PENDING_UNTIL)
    if until is not None and state == "available":
        if clock().now() < until:
            return "pending"
        vpc.__dict__.pop(_VPC_PENDING_UNTIL, None)
    return state


def _state_set(obj: Any, value: str) -> None:
    obj.__dict__["state"] = value


def _add_default_sg_self_reference(backend: Any, vpc: Any) -> None:
    """The default security group of a new VPC allows all traffic from itself.

    AWS: VPC User Guide, "Default security groups for your VPCs": inbound rule "all
    traffic from the security group itself" (and outbound all traffic to 0.0.0.0/0, which
    moto already adds). moto: the inbound rule is missing, so a "lock down the default SG"
    step (Security Hub EC2.2) has nothing to revoke and passes trivially.
    """
    group = backend.get_security_group_from_name("default", vpc_id=vpc.id)
    if group is None:
        return
    if any(rule.source_group.get("GroupId") == group.id for rule in group.ingress_rules):
        return
    backend.authorize_security_group_ingress(
        group.id, "-1", None, None, [], source_groups=[{"GroupId": group.id}], vpc_id=vpc.id
    )


def _patch_ipv6_associating(original: Callable[..., Any]) -> Callable[..., Any]:
    """A VPC's Amazon-provided IPv6 /56 is ``associating`` for a while, then ``associated``.

    AWS: the association is asynchronous: CreateVpc (or AssociateVpcCidrBlock) with
    ``AmazonProvidedIpv6CidrBlock`` answers an ``Ipv6CidrBlockAssociationSet`` entry in state
    ``associating`` whose ``Ipv6CidrBlock`` is still empty (AWS CLI reference, create-vpc,
    "To create a VPC with an Amazon-provided IPv6 CIDR block"; ``VpcCidrBlockStateCode`` in
    botocore's EC2 model: associating | associated | disassociating | disassociated | failing |
    failed). moto: ``associated``, with its CIDR, at once. Here: ``associating`` (no CIDR shown)
    for ``ipv6_associating_seconds`` simulated seconds.
    """

    def associate_vpc_cidr_block(self: Any, *args: Any, **kwargs: Any) -> Any:
        association = original(self, *args, **kwargs)
        amazon = kwargs.get("amazon_provided_ipv6_cidr_block", args[1] if len(args) > 1 else False)
        delay = current().ipv6_associating_seconds
        if amazon and delay > 0:
            association[_IPV6_ASSOCIATED_AT] = clock().now() + delay
        return association

    return associate_vpc_cidr_block


def _ipv6_associating(association: dict[str, Any]) -> bool:
    at = association.get(_IPV6_ASSOCIATED_AT)
    return (
        at is not None and association.get("cidr_block_state", {}).get("state") == "associated" and clock().now() < at
    )


def _make_ipv6_association_set(original_get: Callable[[Any], list[dict[str, Any]]]) -> Callable[[Any], Any]:
    def ipv6_cidr_block_association_set(vpc: Any) -> list[dict[str, Any]]:
        out = []
        for association in original_get(vpc):  # copies of the stored associations
            if _ipv6_associating(association):
                association["ipv6CidrBlock"] = ""
                association["ipv6CidrBlockState"] = {"state": "associating", "StatusMessage": None}
            out.append(association)
        return out

    ipv6_cidr_block_association_set.__wrapped__ = original_get  # type: ignore[attr-defined]
    return ipv6_cidr_block_association_set


def _associated_ipv6_blocks(vpc: Any) -> list[ipaddress.IPv6Network]:
    return [
        ipaddress.IPv6Network(a["cidr_block"])
        for a in vpc.get_cidr_block_association_set(ipv6=True)
        if a.get("cidr_block_state", {}).get("state") == "associated" and not _ipv6_associating(a)
    ]


def _patch_subnet_ipv6_in_vpc_block(original: Callable[..., Any]) -> Callable[..., Any]:
    """CreateSubnet with an ``Ipv6CidrBlock`` needs it inside an *associated* IPv6 block of the VPC.

    AWS: "The IPv6 CIDR block of the subnet must be within the IPv6 CIDR block of the VPC" (VPC
    User Guide, subnet sizing); a block still ``associating`` cannot hold subnets yet. Error
    code: ``InvalidSubnet.Range`` (see :class:`InvalidSubnetIpv6RangeError`). moto: accepts any
    IPv6 CIDR, even in a VPC without IPv6.
    """
    signature = inspect.signature(original)

    def create_subnet(self: Any, *args: Any, **kwargs: Any) -> Any:
        arguments = signature.bind(self, *args, **kwargs).arguments
        ipv6_cidr_block = arguments.get("ipv6_cidr_block")
        if ipv6_cidr_block:
            vpc = self.get_vpc(arguments["vpc_id"])
            try:
                wanted = ipaddress.IPv6Network(ipv6_cidr_block)
            except ValueError:
                raise InvalidSubnetIpv6RangeError(ipv6_cidr_block) from None
            if not any(wanted.subnet_of(block) for block in _associated_ipv6_blocks(vpc)):
                raise InvalidSubnetIpv6RangeError(ipv6_cidr_block)
        return original(self, *args, **kwargs)

    return create_subnet


def _patch_nat_lifecycle_create(original: Callable[..., Any]) -> Callable[..., Any]:
    """A NAT gateway is ``pending`` for a while, then ``available`` -- or ``failed``.

    AWS: EC2 API reference ``NatGateway.State`` = ``pending | failed | available |
    deleting | deleted``; observed pending for 85-125 s. A public NAT gateway in a VPC with
    no attached internet gateway goes ``failed`` with ``FailureCode`` ``Gateway.NotAttached``
    and ``FailureMessage`` "Network vpc-xxxxxxxx has no Internet gateway attached"
    (``NatGateway.failureMessage`` in the API reference; VPC User Guide, "Troubleshoot NAT
    gateways"). A failed NAT gateway is modelled as holding no Elastic IP mapping and no
    network interface (an assumption: AWS documents only that it is deleted automatically
    after about an hour), so its EIP can be released and its subnet deleted.
    moto: ``available`` at once, whatever the VPC. Here: the IGW is checked at creation
    (the failure shows after ``nat_failure_seconds``) and again when the pending time ends.
    Also fills in ``ConnectivityType`` (default ``public``), which moto leaves empty.
    """

    def create_nat_gateway(self: Any, *args: Any, **kwargs: Any) -> Any:
        nat = original(self, *args, **kwargs)
        if not nat.connectivity_type:
            nat.connectivity_type = "public"
        settings, now = current(), clock().now()
        lifecycle = _NatLifecycle(
            created_at=now,
            pending_for=settings.nat_pending_seconds,
            public=nat.connectivity_type == "public",
        )
        fail_after = min(settings.nat_failure_seconds, settings.nat_pending_seconds)
        if lifecycle.public and not _igw_attached(self, nat.vpc_id):
            lifecycle.plan_failure(now + fail_after, *_no_igw_failure(nat.vpc_id))
        elif settings.nat_failure_code:
            # Injected: AWS can fail a NAT gateway after accepting it (e.g.
            # InsufficientFreeAddressesInSubnet); the emulator reproduces that on request.
            lifecycle.plan_failure(
                now + fail_after,
                settings.nat_failure_code,
                f"NAT gateway failed ({settings.nat_failure_code}) [injected by the emulator]",
            )
        nat.__dict__[_NAT] = lifecycle
        return nat

    return create_nat_gateway


def _patch_nat_lifecycle_delete(original: Callable[..., Any]) -> Callable[..., Any]:
    """DeleteNatGateway: ``deleting`` for a while, then ``deleted``; EIP unmapped only then.

    AWS: EC2 API reference, DeleteNatGateway: "Deleting a public NAT gateway disassociates
    its Elastic IP address, but does not release the address"; observed ``deleting`` for
    37-79 s, and the EIP stays mapped (ReleaseAddress fails) until ``deleted``. A ``failed``
    NAT gateway goes to ``deleted`` at once. An unknown id is ``NatGatewayNotFound``.
    moto: ``deleted`` at once, the EIP stays associated and the ENI stays forever, and an
    unknown id is an internal error (AttributeError). Here: ``deleting`` for
    ``nat_deleting_seconds``, then the EIP is disassociated and the ENI deleted.
    """

    def delete_nat_gateway(self: Any, nat_gateway_id: str) -> Any:
        nat = self.nat_gateways.get(nat_gateway_id)
        if nat is None:
            raise NatGatewayNotFoundError(nat_gateway_id)
        lifecycle = _nat_lifecycle(nat)
        if lifecycle is None:
            return original(self, nat_gateway_id)
        with _LOCK:
            state = lifecycle.advance(nat)
            if state not in ("deleting", "deleted"):
                lifecycle.delete_requested_at = clock().now()
                lifecycle.deleting_for = 0.0 if state == "failed" else current().nat_deleting_seconds
        return nat

    return delete_nat_gateway


def _nat_failure_code(nat: Any) -> str | None:
    lifecycle = _nat_lifecycle(nat)
    if lifecycle is None:
        return None
    _nat_state(nat)
    return lifecycle.failure_code if lifecycle.failed else None


def _nat_failure_message(nat: Any) -> str | None:
    lifecycle = _nat_lifecycle(nat)
    if lifecycle is None:
        return None
    _nat_state(nat)
    return lifecycle.failure_message if lifecycle.failed else None


def _nat_delete_time(nat: Any) -> str | None:
    lifecycle = _nat_lifecycle(nat)
    if lifecycle is None:
        return None
    _nat_state(nat)
    return lifecycle.delete_time


def _patch_nat_client_token(original: Callable[..., Any]) -> Callable[..., Any]:
    """CreateNatGateway is idempotent on ``ClientToken``.

    AWS: EC2 API reference, CreateNatGateway ``ClientToken`` and "Ensure idempotency"
    (EC2 developer guide): a retry with the same token and the same parameters returns the
    original NAT gateway; the same token with different parameters fails with
    ``IdempotentParameterMismatch``. moto: the token is ignored and every retry creates a
    new NAT gateway (and maps the same EIP again). Tokens are scoped to account+Region.
    """

    def create_nat_gateway(self: Any) -> Any:
        token = self._get_param("ClientToken")
        if not token:
            return original(self)
        first = _once_per_token(self, _NAT_TOKENS, lambda: original(self).result["NatGateway"])
        # the NAT gateway as it is now (the backend's own object: its state moves on)
        return ActionResult({"ClientToken": token, "NatGateway": self.ec2_backend.nat_gateways[first.id]})

    return create_nat_gateway


def _once_per_token(response: Any, store: str, create: Callable[[], Any]) -> Any:
    """What the request's ClientToken made first (the same parameters, else
    ``IdempotentParameterMismatch``), or ``create()``'s result, remembered per account+Region."""
    token, request = response._get_param("ClientToken"), _request_parameters(response)
    with _LOCK:
        tokens = response.ec2_backend.__dict__.setdefault(store, {})
        if token in tokens:
            first_request, made = tokens[token]
            if first_request != request:
                raise IdempotentParameterMismatchError(token)
            return made
        made = create()
        tokens[token] = (request, made)
        return made


def _request_parameters(response: Any) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """A request's parameters but its token: what a repeat with the same ClientToken must match."""
    return tuple(
        sorted(
            (key, tuple(values))
            for key, values in response.querystring.items()
            if key not in ("Action", "Version", "ClientToken")
        )
    )


def _patch_route_table_client_token(original: Callable[..., Any]) -> Callable[..., Any]:
    """CreateRouteTable is idempotent on ``ClientToken``.

    AWS: botocore's EC2 model marks CreateRouteTable's ``ClientToken`` an idempotency token ("Unique,
    case-sensitive identifier that you provide to ensure the idempotency of the request"); EC2
    developer guide, "Ensuring idempotency in Amazon EC2 API requests": a retry with the same token
    and the same parameters "succeeds without performing any further actions" and returns the
    original result (the table as it is now); the same token with other parameters is
    ``IdempotentParameterMismatch``. moto: the token is ignored and every retry creates another
    route table. Tokens are scoped to account+Region, like the NAT gateway's.
    """

    def create_route_table(self: Any) -> Any:
        token = self._get_param("ClientToken")
        if not token:
            return original(self)
        table = _once_per_token(self, _ROUTE_TABLE_TOKENS, lambda: original(self).result["RouteTable"])
        return ActionResult({"ClientToken": token, "RouteTable": table})

    return create_route_table


def _patch_associate_an_associated_subnet(original: Callable[..., Any]) -> Callable[..., Any]:
    """AssociateRouteTable of a subnet that already has an explicit association fails.

    AWS: ``Resource.AlreadyAssociated`` "the specified association for route table rtb-... conflicts
    with an existing association" (a subnet has at most one explicit association; moving it is
    ReplaceRouteTableAssociation: EC2 API reference; the error as the AWS SDKs report it in
    hashicorp/terraform-provider-aws#38960 and #73). AssociateRouteTable is not among the actions
    EC2 makes idempotent by default (developer guide, "Ensuring idempotency"). moto: answers with
    the existing association's id, even when it belongs to another route table -- so a build that
    associated twice, or with the wrong table, would look fine.
    """

    def associate_route_table(
        self: Any, route_table_id: str, gateway_id: str | None = None, subnet_id: str | None = None
    ) -> Any:
        if subnet_id is not None and gateway_id is None:
            self.get_route_table(route_table_id)  # an unknown table is still InvalidRouteTableID.NotFound
            for table in list(self.route_tables.values()):
                if subnet_id in table._associations.values():
                    raise RouteTableAssociationConflictError(route_table_id)
        return original(self, route_table_id, gateway_id, subnet_id)

    return associate_route_table


def _patch_detach_igw_with_mapped_addresses(original: Callable[..., Any]) -> Callable[..., Any]:
    """DetachInternetGateway fails while public addresses are mapped in the VPC.

    AWS: DependencyViolation "Network vpc-... has some mapped public address(es). Please
    unmap those public address(es) before detaching the gateway." -- e.g. the EIP of a NAT
    gateway that is not yet ``deleted`` (DetachInternetGateway in the EC2 API reference:
    "The VPC must not contain any running instances with Elastic IP addresses or public
    IPv4 addresses"). moto: detaches regardless.
    """

    def detach_internet_gateway(self: Any, internet_gateway_id: str, vpc_id: str) -> Any:
        igw = self.get_internet_gateway(internet_gateway_id)
        if igw.vpc is not None and igw.vpc.id == vpc_id:
            _live_nats(self)  # advance NAT lifecycles: a NAT that just went deleted unmaps
            mapped = [
                eip
                for eip in list(self.addresses)
                if eip.eni is not None and getattr(eip.eni.subnet, "vpc_id", None) == vpc_id
            ]
            if mapped:
                raise DependencyViolationError(
                    f"Network {vpc_id} has some mapped public address(es). Please unmap those "
                    "public address(es) before detaching the gateway."
                )
        return original(self, internet_gateway_id, vpc_id)

    return detach_internet_gateway


def _patch_release_address_in_use(original: Callable[..., Any]) -> Callable[..., Any]:
    """ReleaseAddress of an Elastic IP that is still associated fails.

    AWS: EC2 API reference, ReleaseAddress: "you must disassociate the Elastic IP address
    before you can release it. Otherwise, Amazon EC2 returns an error
    (InvalidIPAddress.InUse)" -- including the EIP of a NAT gateway until it is ``deleted``.
    moto: silently disassociates and releases.
    """

    def release_address(self: Any, address: str | None = None, allocation_id: str | None = None) -> Any:
        if address:
            eips = self.address_by_ip([address])
        elif allocation_id:
            eips = self.address_by_allocation([allocation_id])
        else:
            return original(self, address, allocation_id)
        eip = eips[0]
        holders = [
            nat.id
            for nat in _live_nats(self)
            if any(a.get("allocationId") == eip.allocation_id for a in nat.address_set)
        ]
        if not holders and eip.domain == "vpc" and eip.association_id:
            holders = [eip.eni.id if eip.eni is not None else eip.association_id]
        if holders:
            raise AddressInUseError(eip.allocation_id, eip.public_ip, holders[0])
        return original(self, address, allocation_id)

    return release_address


def _patch_delete_subnet_with_nat(original: Callable[..., Any]) -> Callable[..., Any]:
    """DeleteSubnet fails while a NAT gateway (not failed, not deleted) is in the subnet.

    AWS: DependencyViolation "The subnet 'subnet-...' has dependencies and cannot be
    deleted." (the NAT gateway's network interface lives in the subnet until the NAT is
    ``deleted``; EC2 API reference, DeleteSubnet: "You must terminate all running instances
    in the subnet before you can delete the subnet"). moto: deletes the subnet.
    """

    def delete_subnet(self: Any, subnet_id: str) -> Any:
        if any(nat.subnet_id == subnet_id for nat in _live_nats(self)):
            raise DependencyViolationError(f"The subnet '{subnet_id}' has dependencies and cannot be deleted.")
        return original(self, subnet_id)

    return delete_subnet


def _patch_attach_second_igw(original: Callable[..., Any]) -> Callable[..., Any]:
    """AttachInternetGateway fails if the VPC already has an internet gateway.

    AWS: "A VPC can have only one internet gateway attached" (VPC User Guide, "Internet
    gateways"); the error code is ``Resource.AlreadyAssociated``. moto: only checks that the
    gateway itself is unattached, so a VPC can collect several.
    """

    def attach_internet_gateway(self: Any, internet_gateway_id: str, vpc_id: str) -> Any:
        igw = self.get_internet_gateway(internet_gateway_id)
        if igw.vpc is None:
            self.get_vpc(vpc_id)
            for other in list(self.internet_gateways.values()):
                if other is not igw and other.vpc is not None and other.vpc.id == vpc_id:
                    raise ResourceAlreadyAssociatedWithVpcError(vpc_id, other.id)
        return original(self, internet_gateway_id, vpc_id)

    return attach_internet_gateway


def _patch_route_to_unknown_nat(original: Callable[..., Any]) -> Callable[..., Any]:
    """CreateRoute / ReplaceRoute to a NAT gateway that does not exist fail.

    AWS: ``InvalidNatGatewayID.NotFound`` (EC2 API error codes: "The specified NAT gateway
    does not exist"), also for a NAT gateway that is ``deleted``. moto: stores a route to
    nothing.
    """
    signature = inspect.signature(original)

    def route_call(self: Any, *args: Any, **kwargs: Any) -> Any:
        arguments = signature.bind(self, *args, **kwargs).arguments
        nat_gateway_id = arguments.get("nat_gateway_id")
        if nat_gateway_id is not None:
            self.get_route_table(arguments["route_table_id"])
            nat = self.nat_gateways.get(nat_gateway_id)
            if nat is None or _nat_state(nat) == "deleted":
                raise InvalidNatGatewayIdNotFoundError(nat_gateway_id)
        return original(self, *args, **kwargs)

    route_call.__name__ = original.__name__
    return route_call


def _patch_nat_tag_filters(original: Callable[..., Any]) -> Callable[..., Any]:
    """DescribeNatGateways honours ``tag:<key>``, ``tag-key`` and ``tag-value`` filters.

    AWS: DescribeNatGateways accepts the tag filters every EC2 Describe* accepts (EC2 API
    reference, DescribeNatGateways "Filters"). moto 5.2.5: applies only nat-gateway-id,
    vpc-id, subnet-id and state, and silently returns every NAT gateway for a tag filter —
    so a rollback scoped by tag would see other executions' gateways.
    """

    def describe_nat_gateways(self: Any, filters: Any, nat_gateway_ids: list[str] | None) -> Any:
        nats = original(self, filters, nat_gateway_ids)
        for name, values in (filters or {}).items():
            if name.startswith("tag:") or name in ("tag-key", "tag-value"):
                nats = [nat for nat in nats if tag_filter_matches(nat, name, values)]
        return nats

    return describe_nat_gateways


def _patch_flow_logs_to_an_s3_prefix(original: Callable[..., Any]) -> Callable[..., Any]:
    """Flow logs may be delivered to a folder of a bucket: ``arn:aws:s3:::bucket/prefix/``.

    AWS: CreateFlowLogs ``LogDestination`` "can also specify a subfolder in the bucket"
    (EC2 API reference). moto 5.2.5: looks up ``bucket/prefix/`` as a bucket name and reports
    the flow log Unsuccessful. Here the bucket is checked, the full destination is kept.
    """

    def create_flow_logs(
        self: Any,
        resource_type: str,
        resource_ids: list[str],
        traffic_type: str,
        deliver_logs_permission_arn: str,
        log_destination_type: str,
        log_destination: str,
        log_group_name: str,
        log_format: str,
        max_aggregation_interval: int,
    ) -> Any:
        if log_destination_type != "s3" or not log_destination or "/" not in log_destination.split(":", 5)[-1]:
            return original(
                self,
                resource_type,
                resource_ids,
                traffic_type,
                deliver_logs_permission_arn,
                log_destination_type,
                log_destination,
                log_group_name,
                log_format,
                max_aggregation_interval,
            )
        bucket_arn = log_destination.split("/", 1)[0]
        created, unsuccessful = original(
            self,
            resource_type,
            resource_ids,
            traffic_type,
            deliver_logs_permission_arn,
            log_destination_type,
            bucket_arn,
            log_group_name,
            log_format,
            max_aggregation_interval,
        )
        for flow_log in created:
            flow_log.log_destination = log_destination
        return created, unsuccessful

    return create_flow_logs


def _patch_delete_gateway_endpoint_routes(original: Callable[..., Any]) -> Callable[..., Any]:
    """DeleteVpcEndpoints deletes a gateway endpoint and whatever routes it still has.

    AWS: DeleteVpcEndpoints "deletes the endpoint routes in the route tables for the endpoint"
    (EC2 API reference); a route table whose endpoint route is already gone (removed by hand, or
    added to the endpoint without one) does not stop it. moto 5.2.5: deletes each route table's
    prefix-list route and raises ``InvalidRoute.NotFound`` at the first one it cannot find, with
    the endpoint left ``available`` -- so a teardown that counts every NotFound as done reported
    success while the endpoint stayed (issue 12: a grown zone's route table; cn prefix lists).
    Here the routes that exist are deleted and the missing ones are skipped.
    """

    def delete_vpc_endpoints(self: Any, vpce_ids: list[str] | None = None) -> Any:
        for vpce_id in vpce_ids or []:
            endpoint = self.vpc_end_points.get(vpce_id)
            if endpoint is None or str(endpoint.vpc_endpoint_type).lower() == "interface":
                continue
            for route_table_id in list(endpoint.route_table_ids or []):
                with contextlib.suppress(EC2ClientError):
                    self.delete_route(
                        route_table_id, None, destination_prefix_list_id=endpoint.destination_prefix_list_id
                    )
            endpoint.route_table_ids = []
        return original(self, vpce_ids)

    return delete_vpc_endpoints


def _patch_modify_gateway_endpoint_routes(original: Callable[..., Any]) -> Callable[..., Any]:
    """ModifyVpcEndpoint adds a gateway endpoint's route to each route table it adds, and removes
    it from each it removes.

    AWS: "When you create or modify an endpoint, you specify the VPC route tables that are used to
    access the service via the endpoint. A route is automatically added to each of the route
    tables with a destination that specifies the prefix list ID of the service and a target with
    the endpoint ID" (Amazon VPC User Guide, "Gateway endpoints", routing); botocore's model:
    AddRouteTableIds / RemoveRouteTableIds "(Gateway endpoint) The IDs of the route tables to
    associate with / disassociate from the endpoint". An unknown route table is refused
    (InvalidRouteTableID.NotFound) before anything changes. moto 5.2.5: only lists the table in
    the endpoint's RouteTableIds, with no route -- so a VPC grown by a zone showed the new zone's
    private table "associated" with S3 and DynamoDB while it had no route to either (issue 12).
    """

    def modify_vpc_endpoint(
        self: Any,
        vpc_id: str,
        policy_doc: str,
        add_subnets: list[str] | None,
        remove_subnets: list[str] | None,
        remove_route_tables: list[str] | None,
        add_route_tables: list[str] | None,
        add_security_groups: list[str] | None,
        remove_security_groups: list[str] | None,
    ) -> Any:
        endpoint = self.describe_vpc_endpoints(vpc_end_point_ids=[vpc_id])[0]
        prefix_list = getattr(endpoint, "destination_prefix_list_id", None)
        gateway = str(endpoint.vpc_endpoint_type).lower() == "gateway" and bool(prefix_list)
        before = set(endpoint.route_table_ids or [])
        if gateway:
            for route_table_id in add_route_tables or []:
                self.get_route_table(route_table_id)  # InvalidRouteTableID.NotFound, nothing changed yet
        result = original(
            self,
            vpc_id,
            policy_doc,
            add_subnets,
            remove_subnets,
            remove_route_tables,
            add_route_tables,
            add_security_groups,
            remove_security_groups,
        )
        if gateway:
            for route_table_id in dict.fromkeys(add_route_tables or []):
                if route_table_id not in before:
                    self.create_route(
                        route_table_id, None, gateway_id=endpoint.id, destination_prefix_list_id=prefix_list
                    )
            for route_table_id in dict.fromkeys(remove_route_tables or []):
                if route_table_id in before:
                    with contextlib.suppress(EC2ClientError):
                        self.delete_route(route_table_id, None, destination_prefix_list_id=prefix_list)
        return result

    return modify_vpc_endpoint


def _forgets_tags(ids_of: Callable[..., list[str]]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A deleted resource's tags go with it.

    AWS: DescribeTags lists tags of resources that exist; once a VPC, subnet, route table,
    internet gateway (either kind), Elastic IP or flow log is deleted, its tags are gone with it
    (NAT gateways and VPC endpoints stay visible as ``deleted`` for a while, tags included, and
    are left alone here). moto 5.2.5 keeps the tags of every deleted resource in
    ``EC2Backend.tags``, so ``aws ec2 describe-tags`` against the emulator would list ghosts.
    """

    def make(original: Callable[..., Any]) -> Callable[..., Any]:
        def forget(self: Any, *args: Any, **kwargs: Any) -> Any:
            ids = ids_of(self, *args, **kwargs)  # before the delete: an EIP's id is read from it
            result = original(self, *args, **kwargs)
            for resource_id in ids:
                self.tags.pop(resource_id, None)
            return result

        return forget

    make.__doc__ = _forgets_tags.__doc__
    return make


def _first_arg(self: Any, resource_id: str | None = None, *args: Any, **kwargs: Any) -> list[str]:
    if resource_id is None and kwargs:
        resource_id = next(iter(kwargs.values()))
    return [resource_id] if resource_id else []


def _id_list(self: Any, ids: list[str] | None = None, *args: Any, **kwargs: Any) -> list[str]:
    if ids is None and kwargs:
        ids = next(iter(kwargs.values()))
    return list(ids or [])


def _allocation_id(self: Any, address: str | None = None, allocation_id: str | None = None) -> list[str]:
    if allocation_id:
        return [allocation_id]
    return [e.allocation_id for e in self.address_by_ip([address], fail_if_not_found=False)] if address else []


# ---------------------------------------------------------------------------------------

_BACKEND_PATCHES: list[tuple[type, str, Callable[[Callable[..., Any]], Callable[..., Any]]]] = [
    (VPCBackend, "create_vpc", _patch_vpc_pending),
    (NatGatewayBackend, "create_nat_gateway", _patch_nat_lifecycle_create),
    (NatGatewayBackend, "delete_nat_gateway", _patch_nat_lifecycle_delete),
    (NatGatewayBackend, "describe_nat_gateways", _patch_nat_tag_filters),
    (FlowLogsBackend, "create_flow_logs", _patch_flow_logs_to_an_s3_prefix),
    (FlowLogsBackend, "create_flow_logs", fidelity_services.patch_flow_logs_s3_delivery),
    (VPCBackend, "create_vpc_endpoint", fidelity_services.patch_vpc_endpoint_unknown_service),
    (VPCBackend, "create_vpc_endpoint", fidelity_services.patch_partition_gateway_endpoint_routes),
    (NatGateways, "create_nat_gateway", _patch_nat_client_token),
    (RouteTables, "create_route_table", _patch_route_table_client_token),
    (RouteBackend, "associate_route_table", _patch_associate_an_associated_subnet),
    (InternetGatewayBackend, "detach_internet_gateway", _patch_detach_igw_with_mapped_addresses),
    (InternetGatewayBackend, "attach_internet_gateway", _patch_attach_second_igw),
    (ElasticAddressBackend, "release_address", _patch_release_address_in_use),
    (SubnetBackend, "delete_subnet", _patch_delete_subnet_with_nat),
    (SubnetBackend, "create_subnet", _patch_subnet_ipv6_in_vpc_block),
    (RouteBackend, "create_route", _patch_route_to_unknown_nat),
    (RouteBackend, "replace_route", _patch_route_to_unknown_nat),
    (VPCBackend, "delete_vpc_endpoints", _patch_delete_gateway_endpoint_routes),
    (VPCBackend, "modify_vpc_endpoint", _patch_modify_gateway_endpoint_routes),
    (VPCBackend, "delete_vpc", _forgets_tags(_first_arg)),
    (SubnetBackend, "delete_subnet", _forgets_tags(_first_arg)),
    (RouteBackend, "delete_route_table", _forgets_tags(_first_arg)),
    (InternetGatewayBackend, "delete_internet_gateway", _forgets_tags(_first_arg)),
    (EgressOnlyInternetGatewayBackend, "delete_egress_only_internet_gateway", _forgets_tags(_first_arg)),
    (ElasticAddressBackend, "release_address", _forgets_tags(_allocation_id)),
    (FlowLogsBackend, "delete_flow_logs", _forgets_tags(_id_list)),
]


def _apply(patcher: Patcher) -> None:
    """Apply every fidelity patch to moto (idempotent)."""
    for owner, name, make in _BACKEND_PATCHES:
        original = owner.__dict__[name]
        if owner not in (NatGateways, RouteTables) and getattr(EC2Backend, name) is not original:
            raise MotoVersionMismatch(f"EC2Backend no longer resolves {name} to {owner.__name__}")
        replacement = make(original)
        replacement.__doc__ = make.__doc__
        replacement.__wrapped__ = original  # type: ignore[attr-defined]
        patcher.set(owner, name, replacement)
    patcher.set(VPC, "state", property(_vpc_state_get, _state_set))
    associate = VPC.__dict__["associate_vpc_cidr_block"]
    patched_associate = _patch_ipv6_associating(associate)
    patched_associate.__doc__ = _patch_ipv6_associating.__doc__
    patched_associate.__wrapped__ = associate  # type: ignore[attr-defined]
    patcher.set(VPC, "associate_vpc_cidr_block", patched_associate)
    association_set = VPC.__dict__["ipv6_cidr_block_association_set"]
    patcher.set(
        VPC,
        "ipv6_cidr_block_association_set",
        property(_make_ipv6_association_set(association_set.fget), doc=_patch_ipv6_associating.__doc__),
    )
    patcher.set(NatGateway, "state", property(_nat_state, _state_set))
    patcher.set(NatGateway, "failure_code", property(_nat_failure_code))
    patcher.set(NatGateway, "failure_message", property(_nat_failure_message))
    patcher.set(NatGateway, "delete_time", property(_nat_delete_time))
    # a staticmethod: wrapped and set back as one (the loop above patches plain methods)
    collect = VPCBackend.__dict__["_collect_default_endpoint_services"].__func__
    renamed = fidelity_services.patch_partition_service_names(collect)
    renamed.__doc__ = fidelity_services.patch_partition_service_names.__doc__
    renamed.__wrapped__ = collect  # type: ignore[attr-defined]
    patcher.set(VPCBackend, "_collect_default_endpoint_services", staticmethod(renamed))
    get_permission = FakeBucket.__dict__["get_permission"]
    conditioned = fidelity_services.patch_bucket_policy_conditions(get_permission)
    conditioned.__doc__ = fidelity_services.patch_bucket_policy_conditions.__doc__
    conditioned.__wrapped__ = get_permission  # type: ignore[attr-defined]
    patcher.set(FakeBucket, "get_permission", conditioned)


_patches = PatchSet(_apply, _LOCK)
installed = _patches.installed
install = _patches.install
uninstall = _patches.uninstall  # puts moto back (objects created meanwhile keep their last stored state)
