"""Interface VPC endpoints and regional NAT gateways as AWS has them (issue 14).

Installed after :mod:`.fidelity`, whose VPC endpoint and NAT gateway patches these wrap: zonal NAT
gateways and gateway endpoints behave exactly as fidelity makes them behave. Every fact below is
given with its source; *unclear* marks what the sources leave open and what the emulator assumes.

A. Interface VPC endpoints (CreateVpcEndpoint ``VpcEndpointType=Interface``)

- Unknown service name: ``InvalidServiceName`` "The Vpc Endpoint Service '<name>' does not exist"
  (EC2 API error codes). Already closed by :func:`.fidelity_services.patch_vpc_endpoint_unknown_service`
  for every endpoint type; tested here for interface endpoints.
- Private DNS needs both VPC DNS attributes: "Enabling private DNS requires both enableDnsSupport
  and enableDnsHostnames VPC attributes set to true for vpc-..." (the AWS message, quoted verbatim
  in many public repositories and console reports; VPC User Guide, "DNS attributes for your VPC":
  private DNS of interface endpoints needs both). ``PrivateDnsEnabled`` defaults to true for AWS
  services (botocore's EC2 model, CreateVpcEndpoint). *unclear*: the error code; the message is
  reported under ``InvalidParameter``, which is used here.
- At most one subnet per Availability Zone: ``DuplicateSubnetsInSameZone`` "Found another VPC
  endpoint subnet in the availability zone of <subnet>" (EC2 API error codes: "you can specify only
  one subnet per Availability Zone"; the message as reported by the aws-vpce-operator project).
- A subnet in a zone the service is not offered in: ``InvalidParameter`` "The VPC endpoint service
  <name> does not support the availability zone of the subnet: <subnet>." (AWS Knowledge Center,
  "interface-endpoint-availability-zone"; terraform-aws-modules/terraform-aws-vpc#785,
  awslabs/aws-orbit-workbench#320). Which zones a service is offered in is what
  DescribeVpcEndpointServices lists in ``ServiceDetails[].AvailabilityZones``; moto lists every zone
  of the Region, and :attr:`.settings.EmulatorSettings.endpoint_service_zones` narrows that.
- State: ``pending`` at creation, ``available`` later (AWS CLI reference, create-vpc-endpoint
  example output "State": "pending"; botocore ``State`` enum). Here for ``endpoint_pending_seconds``.
  moto: ``available`` at once.
- DeleteVpcEndpoints: "When you delete an interface endpoint, we delete its endpoint network
  interfaces" (EC2 API reference). The endpoint goes ``deleting``, then ``deleted``
  (``endpoint_deleting_seconds``); its network interfaces stay until then. *unclear*: how long a
  ``deleted`` endpoint stays listed; it stays listed here, like a gateway endpoint and a NAT gateway.
  moto: ``deleted`` and its interfaces gone at once.
- An interface endpoint places a requester-managed network interface in each of its subnets
  (AWS PrivateLink guide, "Access an AWS service using an interface VPC endpoint"; the interface's
  ``InterfaceType`` is ``vpc_endpoint``, its description "VPC Endpoint Interface vpce-..."). A subnet
  that holds one cannot be deleted: ``DependencyViolation`` "The subnet '<id>' has dependencies and
  cannot be deleted." (EC2 API reference, DeleteSubnet). moto: deletes the subnet.
- DescribeVpcEndpointServices: moto 5.2.5 already answers ssm, ssmmessages, ec2messages, logs, sts,
  ecr.api, ecr.dkr, kms, secretsmanager, monitoring and execute-api with ServiceType Interface, every
  zone of the Region, ``PrivateDnsName`` (``*.dkr.ecr.<region>.amazonaws.com`` for ecr.dkr, as AWS)
  and ``ServiceName`` com.amazonaws.<region>.<svc>. Only the zone narrowing is added.

B. Regional NAT gateways (launched 2025-11-19)

- ``AvailabilityMode`` ``zonal`` (default) | ``regional``; a regional NAT gateway takes ``VpcId``
  instead of ``SubnetId`` ("The ID of the VPC where you want to create a regional NAT gateway")
  (botocore's EC2 model, CreateNatGateway; EC2 API reference). It needs no public subnet (VPC User
  Guide, "Regional NAT gateways for automatic multi-AZ expansion").
- "Once you create your regional NAT Gateway, AWS automatically creates a route table for it, which
  comes with a pre-configured route to the internet gateway" (same User Guide page); the NAT gateway
  reports it as ``RouteTableId`` (botocore: "For regional NAT gateways only"). Private subnets in
  any zone route to the one NAT gateway id (same page). Here: a route table in the VPC with
  0.0.0.0/0 -> the attached internet gateway. *unclear*: what happens to that table when the NAT
  gateway is deleted (here: deleted with it), and whether the customer may delete it.
- Internet gateway: the route table's pre-configured IGW route implies one; the hands-on report of
  dev.to (“zero public subnets using Regional NAT Gateway”) ran with an IGW attached and no IGW
  route in any subnet's table. *unclear*: what a regional NAT gateway does in a VPC without one.
  Here it fails as a public zonal NAT gateway does (``Gateway.NotAttached``, FailureCode of the
  NatGateway shape), through fidelity's NAT lifecycle.
- Connectivity: public only (ansible-collections/amazon.aws#2989: "regional NAT gateways ... only
  support public connectivity"). ``ConnectivityType=private`` with regional is refused here.
- Automatic mode (no ``AvailabilityZoneAddresses``): "the NAT gateway will automatically expand to
  new AZs and associate EIPs upon detection of an elastic network interface" (botocore,
  CreateNatGateway); ``AutoProvisionZones`` enabled: "associates EIPs in all AZs where your VPC has
  subnets ..., expands to new AZs when you create subnets there, and retracts from AZs where you've
  removed all subnets" (NatGateway shape). ``AutoScalingIps``: AWS "automatically allocates
  additional EIPs in an AZ when the NAT gateway needs more ports" -- reported ``enabled`` in
  automatic mode and ``disabled`` in manual mode here (*unclear*: not documented per mode). The
  addresses are AWS-managed (ansible PR above: "AWS manages EIP lifecycle in automatic mode"); here
  they have a public IP and no allocation id, and are not in the account's DescribeAddresses
  (*unclear*).
- Manual mode: ``AvailabilityZoneAddresses`` [{AvailabilityZone | AvailabilityZoneId,
  AllocationIds}] -- "auto-expansion is disabled and you must manually manage AZ coverage"
  (botocore, CreateNatGateway; AvailabilityZoneAddress in the EC2 API reference; CloudFormation
  AWS::EC2::NatGateway AvailabilityZoneAddress, AllocationIds required). ``AutoProvisionZones``
  disabled. Each address is reported with AllocationId, PublicIp, AvailabilityZone(Id), IsPrimary,
  Status (NatGatewayAddress shape; Status ``succeeded`` once associated).
- States: pending | failed | available | deleting | deleted (NatGateway shape), as zonal -- here the
  same lifecycle and settings (``nat_pending_seconds``, ``nat_deleting_seconds``).
- DeleteNatGateway: "Deleting a public NAT gateway disassociates its Elastic IP address, but does
  not release the address from your account" (EC2 API reference) -- the manual-mode EIPs stay
  allocated, and stay in use (ReleaseAddress ``InvalidIPAddress.InUse``) until ``deleted``.
- Errors. *unclear*: AWS documents no error code for the invalid combinations. Used here, with EC2's
  generic codes: SubnetId with regional, AllocationId / SecondaryAllocationIds / PrivateIpAddress /
  SecondaryPrivateIp* with regional, ConnectivityType private with regional, VpcId or
  AvailabilityZoneAddresses with zonal -> ``InvalidParameterCombination``; regional without VpcId ->
  ``MissingParameter``; an unknown zone, a zone given twice, an entry with neither or both of
  AvailabilityZone/AvailabilityZoneId, or without AllocationIds -> ``InvalidParameterValue``; an
  unknown allocation id -> ``InvalidAllocationID.NotFound`` (as moto answers zonal); an EIP that is
  associated, or held by another NAT gateway, makes the NAT gateway fail with FailureCode
  ``Resource.AlreadyAssociated`` "Elastic IP address eipalloc-... is already associated" (NatGateway
  shape). The CDK's regional provider passes ``AllocationId`` (RegionalNatGatewayProviderProps), so
  AWS may accept one with regional: *unclear*, refused here.
"""

from __future__ import annotations

import contextlib
import contextvars
import inspect
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from moto.core.utils import utcnow
from moto.ec2.exceptions import DependencyViolationError, EC2ClientError
from moto.ec2.models.nat_gateways import NatGateway, NatGatewayBackend
from moto.ec2.models.subnets import SubnetBackend
from moto.ec2.models.vpcs import VPCBackend, VPCEndPoint
from moto.ec2.responses.nat_gateways import NatGateways
from moto.ec2.utils import random_nat_gateway_id, random_private_ip, random_public_ip

from . import fidelity
from .patching import Patcher, PatchSet
from .settings import clock, current

# sha256[:16] of inspect.getsource() of the moto code these patches wrap or rely on (see
# fidelity.PINNED_SOURCES): regenerate only after re-reading it.
PINNED_SOURCES: dict[str, str] = {
    "moto.ec2.models.vpcs:VPCBackend.create_vpc_endpoint": "1aee19202a6094e7",
    "moto.ec2.models.vpcs:VPCBackend.delete_vpc_endpoints": "addebd7ab4598f5e",
    "moto.ec2.models.vpcs:VPCBackend.describe_vpc_endpoint_services": "1cafcafe3fcb8fb2",
    "moto.ec2.models.vpcs:VPCEndPoint.__init__": "031b997404a5c67a",
    "moto.ec2.models.vpcs:VPCBackend.modify_vpc_attribute": "35a7b482cd665acc",
    "moto.ec2.models.vpcs:VPCBackend.modify_vpc_endpoint": "5bd357c135635ae5",
    "moto.ec2.models.vpcs:VPCEndPoint.get_filter_value": "885562a2a9314ddb",
    "moto.ec2.models.subnets:SubnetBackend.delete_subnet": "9c0ac999e80280f4",
    "moto.ec2.models.nat_gateways:NatGateway.__init__": "b1d3556bfe1d2c46",
    "moto.ec2.models.nat_gateways:NatGatewayBackend.create_nat_gateway": "d168f8b3614b07fb",
    "moto.ec2.responses.nat_gateways:NatGateways.create_nat_gateway": "feeb87a1c775fbbc",
    "moto.ec2.models.route_tables:RouteBackend.create_route_table": "ea01a3ca15ab9848",
    "moto.ec2.models.route_tables:RouteBackend.delete_route_table": "282178c3f7cacc2b",
    "moto.ec2.models.availability_zones_and_regions:RegionsAndZonesBackend.describe_availability_zones": "70bf8825c489d05f",  # noqa: E501
}

_LOCK = threading.RLock()
_ENDPOINT = "_vpcfactory_endpoint"  # VPCEndPoint.__dict__ key of its _EndpointLifecycle
_REGIONAL = "_vpcfactory_regional"  # NatGateway.__dict__ key of its _Regional
# The validated regional request, from the response layer down to the backend (one request).
_REGIONAL_REQUEST: contextvars.ContextVar[_RegionalRequest | None] = contextvars.ContextVar(
    "vpcfactory_regional_nat_request", default=None
)
_ORIGINALS: dict[str, Callable[..., Any]] = {}


# ---------------------------------------------------------------------------------------
# Errors (EC2ClientError -> HTTP 400, like moto's own)


class InvalidParameterError(EC2ClientError):
    def __init__(self, message: str) -> None:
        super().__init__("InvalidParameter", message)


class DuplicateSubnetsInSameZoneError(EC2ClientError):
    def __init__(self, subnet_id: str) -> None:
        super().__init__(
            "DuplicateSubnetsInSameZone", f"Found another VPC endpoint subnet in the availability zone of {subnet_id}"
        )


class InvalidParameterCombinationError(EC2ClientError):
    def __init__(self, message: str) -> None:
        super().__init__("InvalidParameterCombination", message)


class MissingParameterError(EC2ClientError):
    def __init__(self, parameter: str) -> None:
        super().__init__("MissingParameter", f"The request must contain the parameter {parameter}")


class InvalidParameterValueError(EC2ClientError):
    def __init__(self, message: str) -> None:
        super().__init__("InvalidParameterValue", message)


# ---------------------------------------------------------------------------------------
# A. Interface endpoints


def _is_interface(endpoint: Any) -> bool:
    return str(getattr(endpoint, "vpc_endpoint_type", "") or "").lower() == "interface"


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def _offered_zones(backend: Any, service_name: str, all_zones: list[str]) -> list[str]:
    """The zones ``service_name`` is offered in: every zone unless the settings narrow it."""
    zones_by_service = current().endpoint_service_zones
    short = service_name.split(f".{backend.region_name}.", 1)[-1]
    for key in (service_name, short):
        if key in zones_by_service:
            return [zone for zone in all_zones if zone in zones_by_service[key]]
    return all_zones


@dataclass
class _EndpointLifecycle:
    """pending -> available; deleting -> deleted. Advanced when read."""

    created_at: float
    pending_for: float
    delete_requested_at: float | None = None
    deleting_for: float = 0.0
    deleted: bool = False

    def advance(self, endpoint: Any) -> str:
        if self.deleted:
            return str(endpoint.__dict__.get("state", "deleted"))
        now = clock().now()
        if self.delete_requested_at is not None:
            if now < self.delete_requested_at + self.deleting_for:
                return "deleting"
            self.deleted = True
            _ORIGINALS["delete_vpc_endpoints"](endpoint.ec2_backend, [endpoint.id])  # ENIs go, state deleted
            return str(endpoint.__dict__.get("state", "deleted"))
        if now < self.created_at + self.pending_for:
            return "pending"
        return str(endpoint.__dict__.get("state", "available"))


def _endpoint_state(endpoint: Any) -> str:
    lifecycle: _EndpointLifecycle | None = endpoint.__dict__.get(_ENDPOINT)
    if lifecycle is None:  # gateway endpoints, and endpoints made before install(): moto's state
        return str(endpoint.__dict__.get("state", "available"))
    with _LOCK:
        return lifecycle.advance(endpoint)


def _set_state(obj: Any, value: str) -> None:
    obj.__dict__["state"] = value


def _patch_interface_endpoint_create(original: Callable[..., Any]) -> Callable[..., Any]:
    """CreateVpcEndpoint (Interface) checks private DNS, one subnet per zone and the service's zones;
    the endpoint is ``pending`` for a while and its network interfaces are the endpoint's.

    See the module docstring (A) for the AWS behaviour and its sources. moto 5.2.5 accepts all of
    it and is ``available`` at once.
    """
    signature = inspect.signature(original)

    def create_vpc_endpoint(self: Any, *args: Any, **kwargs: Any) -> Any:
        arguments = signature.bind(self, *args, **kwargs).arguments
        if str(arguments.get("endpoint_type") or "").lower() != "interface":
            return original(self, *args, **kwargs)
        vpc = self.get_vpc(arguments["vpc_id"])
        service_name = arguments["service_name"]
        details = _service_details(self, service_name)
        if details is None:  # unknown service: the inner patch answers InvalidServiceName
            return original(self, *args, **kwargs)
        if arguments.get("private_dns_enabled") is not False and not (
            _truthy(vpc.enable_dns_support) and _truthy(vpc.enable_dns_hostnames)
        ):
            raise InvalidParameterError(
                "Enabling private DNS requires both enableDnsSupport and enableDnsHostnames VPC attributes "
                f"set to true for {vpc.id}"
            )
        zones_seen: dict[str, str] = {}
        offered = set(details.get("AvailabilityZones") or [])
        for subnet_id in arguments.get("subnet_ids") or []:
            subnet = self.get_subnet(subnet_id)
            zone = subnet.availability_zone
            if zone in zones_seen:
                raise DuplicateSubnetsInSameZoneError(zones_seen[zone])
            zones_seen[zone] = subnet_id
            if zone not in offered:
                raise InvalidParameterError(
                    f"The VPC endpoint service {service_name} does not support the availability zone of the "
                    f"subnet: {subnet_id}."
                )
        endpoint = original(self, *args, **kwargs)
        for eni_id in endpoint.network_interface_ids or []:
            eni = self.enis.get(eni_id)
            if eni is not None:
                eni.description = f"VPC Endpoint Interface {endpoint.id}"
                eni.interface_type = "vpc_endpoint"
                eni.requester_managed = True
                eni.status = "in-use"
        endpoint.__dict__[_ENDPOINT] = _EndpointLifecycle(
            created_at=clock().now(), pending_for=current().endpoint_pending_seconds
        )
        return endpoint

    return create_vpc_endpoint


def _service_details(backend: Any, service_name: str) -> dict[str, Any] | None:
    try:
        answer = backend.describe_vpc_endpoint_services([service_name], [], None, None, backend.region_name)
    except EC2ClientError:
        return None
    found = [d for d in answer["servicesDetails"] if d.get("ServiceName") == service_name]
    interface = [d for d in found if {"ServiceType": "Interface"} in (d.get("ServiceType") or [])]
    return (interface or found or [None])[0]


def _patch_service_zones(original: Callable[..., Any]) -> Callable[..., Any]:
    """DescribeVpcEndpointServices lists an interface service only in the zones it is offered in.

    AWS: ``ServiceDetails[].AvailabilityZones`` are the zones the service is available in; not every
    service is in every zone (AWS Knowledge Center, "interface-endpoint-availability-zone": "Service
    not supported in this Availability Zone"). moto: every zone of the Region, always. Here
    ``endpoint_service_zones`` narrows it (the details are copies: moto caches its defaults).
    """

    def describe_vpc_endpoint_services(self: Any, *args: Any, **kwargs: Any) -> Any:
        answer = original(self, *args, **kwargs)
        if not current().endpoint_service_zones:
            return answer
        details = []
        for service in answer["servicesDetails"]:
            zones = service.get("AvailabilityZones") or []
            narrowed = _offered_zones(self, service.get("ServiceName", ""), list(zones))
            details.append(service if narrowed == zones else {**service, "AvailabilityZones": narrowed})
        return {**answer, "servicesDetails": details}

    return describe_vpc_endpoint_services


def _patch_interface_endpoint_delete(original: Callable[..., Any]) -> Callable[..., Any]:
    """DeleteVpcEndpoints: an interface endpoint is ``deleting`` for a while, then ``deleted``; its
    network interfaces stay in their subnets until then.

    AWS: see the module docstring (A). moto 5.2.5: ``deleted`` and the interfaces gone at once.
    """

    def delete_vpc_endpoints(self: Any, vpce_ids: list[str] | None = None) -> Any:
        rest = []
        with _LOCK:
            for vpce_id in vpce_ids or []:
                endpoint = self.vpc_end_points.get(vpce_id)
                lifecycle = endpoint.__dict__.get(_ENDPOINT) if endpoint is not None else None
                if lifecycle is None:
                    rest.append(vpce_id)
                    continue
                if lifecycle.advance(endpoint) not in ("deleting", "deleted"):
                    lifecycle.delete_requested_at = clock().now()
                    lifecycle.deleting_for = current().endpoint_deleting_seconds
                    lifecycle.advance(endpoint)  # 0 s: deleted at once
        return original(self, rest)

    return delete_vpc_endpoints


def _patch_delete_subnet_with_endpoint(original: Callable[..., Any]) -> Callable[..., Any]:
    """DeleteSubnet fails while an interface endpoint (not ``deleted``) has its interface in it.

    AWS: ``DependencyViolation`` "The subnet '<id>' has dependencies and cannot be deleted." -- the
    endpoint's requester-managed network interface is in the subnet (EC2 API reference, DeleteSubnet;
    AWS PrivateLink guide). moto 5.2.5: deletes the subnet.
    """

    def delete_subnet(self: Any, subnet_id: str) -> Any:
        for endpoint in list(self.vpc_end_points.values()):
            if not _is_interface(endpoint) or subnet_id not in (endpoint.subnet_ids or []):
                continue
            if _endpoint_state(endpoint) != "deleted":
                raise DependencyViolationError(f"The subnet '{subnet_id}' has dependencies and cannot be deleted.")
        return original(self, subnet_id)

    return delete_subnet


def _patch_interface_endpoint_modify(original: Callable[..., Any]) -> Callable[..., Any]:
    """ModifyVpcEndpoint ``AddSubnetIds`` / ``RemoveSubnetIds`` on an interface endpoint: the same
    zone rules as CreateVpcEndpoint, and an endpoint network interface in each added subnet
    (removed with its subnet).

    AWS: "AddSubnetIds: (Interface and Gateway Load Balancer endpoints) The IDs of the subnets in
    which to serve the endpoint. For a Gateway Load Balancer endpoint, you can specify only one
    subnet." (botocore's EC2 model, ModifyVpcEndpoint); one subnet per zone and only zones the
    service is offered in, as at creation (module docstring, A: DuplicateSubnetsInSameZone,
    InvalidParameter); the endpoint places a network interface in each of its subnets (AWS
    PrivateLink guide). moto 5.2.5: appends the subnet ids, checks nothing, makes no interface --
    so a subnet added later could be deleted under the endpoint, and two subnets of one zone pass.
    """

    def modify_vpc_endpoint(self: Any, vpc_id: str, *args: Any, **kwargs: Any) -> Any:
        arguments = inspect.signature(original).bind(self, vpc_id, *args, **kwargs).arguments
        endpoint = self.vpc_end_points.get(vpc_id)
        if endpoint is None or not _is_interface(endpoint):
            return original(self, vpc_id, *args, **kwargs)
        add = [s for s in arguments.get("add_subnets") or [] if s not in (endpoint.subnet_ids or [])]
        remove = list(arguments.get("remove_subnets") or [])
        kept = [s for s in endpoint.subnet_ids or [] if s not in remove]
        zones_seen = {self.get_subnet(s).availability_zone: s for s in kept}
        details = _service_details(self, endpoint.service_name) or {}
        offered = set(details.get("AvailabilityZones") or [])
        for subnet_id in add:
            zone = self.get_subnet(subnet_id).availability_zone
            if zone in zones_seen:
                raise DuplicateSubnetsInSameZoneError(zones_seen[zone])
            zones_seen[zone] = subnet_id
            if zone not in offered:
                raise InvalidParameterError(
                    f"The VPC endpoint service {endpoint.service_name} does not support the availability zone "
                    f"of the subnet: {subnet_id}."
                )
        answer = original(self, vpc_id, *args, **kwargs)
        with _LOCK:
            interfaces = list(endpoint.network_interface_ids or [])
            for eni_id in list(interfaces):
                eni = self.enis.get(eni_id)
                if eni is not None and eni.subnet.id in remove:
                    self.enis.pop(eni_id, None)
                    interfaces.remove(eni_id)
            for subnet_id in add:
                eni = self.create_network_interface(subnet_id, random_private_ip())
                eni.description = f"VPC Endpoint Interface {endpoint.id}"
                eni.interface_type = "vpc_endpoint"
                eni.requester_managed = True
                eni.status = "in-use"
                interfaces.append(eni.id)
            endpoint.network_interface_ids = interfaces
        return answer

    return modify_vpc_endpoint


def _patch_endpoint_id_filter(original: Callable[..., Any]) -> Callable[..., Any]:
    """DescribeVpcEndpoints filter ``vpc-endpoint-id`` (EC2 API reference, DescribeVpcEndpoints:
    "vpc-endpoint-id - The ID of the endpoint."). moto 5.2.5: FilterNotImplementedError."""

    def get_filter_value(self: Any, filter_name: str, method_name: str | None = None) -> Any:
        if filter_name == "vpc-endpoint-id":
            return self.id
        return original(self, filter_name, method_name)

    return get_filter_value


# ---------------------------------------------------------------------------------------
# B. Regional NAT gateways


@dataclass
class _RegionalRequest:
    vpc_id: str
    zone_addresses: list[tuple[str, str, list[str]]]  # (zone name, zone id, allocation ids); [] = automatic
    tags: dict[str, str]


@dataclass
class _Regional:
    automatic: bool
    managed_ips: dict[str, str]  # zone -> AWS-managed public IP (automatic mode)


def _zones(backend: Any) -> dict[str, str]:
    return {zone.name: zone.zone_id for zone in backend.describe_availability_zones()}


def _regional_request(response: Any) -> _RegionalRequest:
    """Validate a regional CreateNatGateway request (see the module docstring, B: errors)."""
    get = response._get_param
    if get("SubnetId"):
        raise InvalidParameterCombinationError("SubnetId cannot be specified for a regional NAT gateway")
    for parameter in (
        "AllocationId",
        "SecondaryAllocationIds",
        "PrivateIpAddress",
        "SecondaryPrivateIpAddresses",
        "SecondaryPrivateIpAddressCount",
    ):
        if get(parameter):
            raise InvalidParameterCombinationError(f"{parameter} cannot be specified for a regional NAT gateway")
    if (get("ConnectivityType") or "public") != "public":
        raise InvalidParameterCombinationError("A regional NAT gateway supports public connectivity only")
    vpc_id = get("VpcId")
    if not vpc_id:
        raise MissingParameterError("VpcId")
    backend = response.ec2_backend
    backend.get_vpc(vpc_id)  # InvalidVpcID.NotFound
    zones = _zones(backend)
    by_id = {zone_id: name for name, zone_id in zones.items()}
    entries: list[tuple[str, str, list[str]]] = []
    for entry in get("AvailabilityZoneAddresses") or []:
        name, zone_id = entry.get("AvailabilityZone"), entry.get("AvailabilityZoneId")
        if bool(name) == bool(zone_id):
            raise InvalidParameterValueError(
                "Each AvailabilityZoneAddress needs exactly one of AvailabilityZone and AvailabilityZoneId"
            )
        if name:
            if name not in zones:
                raise InvalidParameterValueError(f"Invalid availability zone: [{name}]")
            zone_id = zones[name]
        else:
            if zone_id not in by_id:
                raise InvalidParameterValueError(f"Invalid availability zone id: [{zone_id}]")
            name = by_id[zone_id]
        if any(name == seen for seen, _, _ in entries):
            raise InvalidParameterValueError(f"Availability zone {name} is given more than once")
        allocation_ids = list(entry.get("AllocationIds") or [])
        if not allocation_ids:
            raise InvalidParameterValueError(f"AllocationIds are required for availability zone {name}")
        backend.address_by_allocation(allocation_ids)  # InvalidAllocationID.NotFound
        entries.append((name, zone_id, allocation_ids))
    tags = {}
    for spec in get("TagSpecifications") or []:
        for tag in spec.get("Tags") or []:
            tags[tag["Key"]] = tag["Value"]
    return _RegionalRequest(vpc_id=vpc_id, zone_addresses=entries, tags=tags)


def _patch_regional_request(original: Callable[..., Any]) -> Callable[..., Any]:
    """CreateNatGateway honours ``AvailabilityMode=regional`` (``VpcId``, no ``SubnetId``).

    AWS: see the module docstring (B). moto 5.2.5 ignores AvailabilityMode: without SubnetId it
    answers ``InvalidSubnetID.NotFound`` "The subnet ID 'None' does not exist", with one it makes a
    zonal NAT gateway. Zonal requests that name none of the regional parameters are passed on as
    they are (fidelity's client-token idempotency still wraps both).
    """

    def create_nat_gateway(self: Any) -> Any:
        mode = self._get_param("AvailabilityMode") or "zonal"
        if mode == "zonal":
            for parameter in ("VpcId", "AvailabilityZoneAddresses"):
                if self._get_param(parameter):
                    raise InvalidParameterCombinationError(
                        f"{parameter} can be specified for a regional NAT gateway only"
                    )
            return original(self)
        if mode != "regional":
            raise InvalidParameterValueError(f"Invalid value '{mode}' for AvailabilityMode")
        request = _regional_request(self)
        in_use = [
            allocation_id
            for _, _, allocation_ids in request.zone_addresses
            for allocation_id in allocation_ids
            if _address_held(self.ec2_backend, allocation_id)
        ]
        token = _REGIONAL_REQUEST.set(request)
        try:
            result = original(self)
        finally:
            _REGIONAL_REQUEST.reset(token)
        lifecycle = fidelity._nat_lifecycle(result.result["NatGateway"])
        if in_use and lifecycle is not None and lifecycle.fail_at is None and not lifecycle.available:
            settings = current()
            lifecycle.plan_failure(
                lifecycle.created_at + min(settings.nat_failure_seconds, settings.nat_pending_seconds),
                "Resource.AlreadyAssociated",
                f"Elastic IP address {in_use[0]} is already associated",
            )
        return result

    return create_nat_gateway


def _regional_nat(backend: Any, request: _RegionalRequest) -> NatGateway:
    nat: Any = NatGateway.__new__(NatGateway)
    nat.id = random_nat_gateway_id()
    nat.subnet_id = None
    nat.vpc_id = request.vpc_id
    nat.address_set = []
    nat.__dict__["state"] = "available"
    nat.private_ip = None
    nat.connectivity_type = "public"
    nat._created_at = utcnow()
    nat.ec2_backend = backend
    nat._eni = None
    nat.availability_mode = "regional"
    automatic = not request.zone_addresses
    nat.auto_provision_zones = "enabled" if automatic else "disabled"
    nat.auto_scaling_ips = "enabled" if automatic else "disabled"
    nat.add_tags(request.tags)
    nat.__dict__[_REGIONAL] = _Regional(automatic=automatic, managed_ips={})
    for zone, zone_id, allocation_ids in request.zone_addresses:
        for index, allocation_id in enumerate(allocation_ids):
            eip = backend.address_by_allocation([allocation_id])[0]
            nat.address_set.append(
                {
                    "allocationId": allocation_id,
                    "publicIp": eip.public_ip,
                    "availabilityZone": zone,
                    "availabilityZoneId": zone_id,
                    "isPrimary": index == 0,
                    "status": "succeeded",
                }
            )
    table = backend.create_route_table(request.vpc_id)
    igw = next(
        (g for g in list(backend.internet_gateways.values()) if g.vpc is not None and g.vpc.id == request.vpc_id), None
    )
    if igw is not None:
        backend.create_route(table.id, "0.0.0.0/0", gateway_id=igw.id)
    nat.route_table_id = table.id
    return nat


def _address_held(backend: Any, allocation_id: str) -> bool:
    """Whether an EIP is associated, or held by a NAT gateway that is not failed or deleted."""
    eip = backend.address_by_allocation([allocation_id])[0]
    if eip.association_id:
        return True
    return any(
        any(a.get("allocationId") == allocation_id for a in nat.address_set) for nat in fidelity._live_nats(backend)
    )


def _patch_regional_create(original: Callable[..., Any]) -> Callable[..., Any]:
    """The backend side of a regional CreateNatGateway (see :func:`_patch_regional_request`)."""

    def create_nat_gateway(self: Any, *args: Any, **kwargs: Any) -> Any:
        request = _REGIONAL_REQUEST.get()
        if request is None:
            return original(self, *args, **kwargs)
        nat = _regional_nat(self, request)
        # fidelity's NAT lifecycle, as a zonal NAT gets it (pending -> available | failed), whether
        # fidelity's create patch wraps this one (it then attaches an equal lifecycle again) or not
        fidelity._patch_nat_lifecycle_create(lambda backend, *a, **k: nat)(self)
        self.nat_gateways[nat.id] = nat
        return nat

    return create_nat_gateway


def _nat_addresses(nat: Any) -> list[dict[str, Any]]:
    regional: _Regional | None = nat.__dict__.get(_REGIONAL)
    if regional is not None and regional.automatic and fidelity._nat_state(nat) not in ("failed", "deleted"):
        backend = nat.ec2_backend
        zones = _zones(backend)
        with_subnets = sorted(
            {s.availability_zone for s in backend.describe_subnets(filters={"vpc-id": [nat.vpc_id]})} & set(zones)
        )
        with _LOCK:
            for zone in with_subnets:
                regional.managed_ips.setdefault(zone, random_public_ip())
            nat.address_set[:] = [
                {
                    "publicIp": regional.managed_ips[zone],
                    "availabilityZone": zone,
                    "availabilityZoneId": zones[zone],
                    "isPrimary": True,
                    "status": "succeeded",
                }
                for zone in with_subnets
            ]
    return list(nat.address_set)


def _release_regional(original: Callable[[Any], None]) -> Callable[[Any], None]:
    def release_nat_resources(nat: Any) -> None:
        original(nat)
        regional: _Regional | None = nat.__dict__.get(_REGIONAL)
        if regional is None:
            return
        if regional.automatic:
            nat.address_set[:] = []  # AWS-managed addresses go back to AWS
        table_id = getattr(nat, "route_table_id", None)
        if table_id and table_id in nat.ec2_backend.route_tables:
            with contextlib.suppress(EC2ClientError):
                nat.ec2_backend.delete_route_table(table_id)

    release_nat_resources.__wrapped__ = original  # type: ignore[attr-defined]
    return release_nat_resources


# ---------------------------------------------------------------------------------------

_BACKEND_PATCHES: list[tuple[type, str, Callable[[Callable[..., Any]], Callable[..., Any]]]] = [
    (VPCBackend, "create_vpc_endpoint", _patch_interface_endpoint_create),
    (VPCBackend, "delete_vpc_endpoints", _patch_interface_endpoint_delete),
    (VPCBackend, "describe_vpc_endpoint_services", _patch_service_zones),
    (VPCBackend, "modify_vpc_endpoint", _patch_interface_endpoint_modify),
    (VPCEndPoint, "get_filter_value", _patch_endpoint_id_filter),
    (SubnetBackend, "delete_subnet", _patch_delete_subnet_with_endpoint),
    (NatGatewayBackend, "create_nat_gateway", _patch_regional_create),
    (NatGateways, "create_nat_gateway", _patch_regional_request),
]


def _apply(patcher: Patcher) -> None:
    """Apply the patches. Installed before :mod:`.fidelity` (embedded.install_patches), fidelity's
    patches of the same methods wrap these, and uninstalling fidelity alone gives these back; they
    also work installed after it. Uninstall in the reverse order of installation."""
    for owner, name, make in _BACKEND_PATCHES:
        original = owner.__dict__[name]
        replacement = make(original)
        replacement.__doc__ = make.__doc__
        replacement.__wrapped__ = original  # type: ignore[attr-defined]
        patcher.set(owner, name, replacement)
        if name == "delete_vpc_endpoints":
            _ORIGINALS[name] = original
    patcher.set(VPCEndPoint, "state", property(_endpoint_state, _set_state))
    patcher.set(NatGateway, "nat_gateway_addresses", property(_nat_addresses))
    for attribute, default in (
        ("availability_mode", "zonal"),
        ("auto_provision_zones", None),
        ("auto_scaling_ips", None),
        ("route_table_id", None),
    ):
        patcher.set(NatGateway, attribute, default)
    patcher.set(fidelity, "_release_nat_resources", _release_regional(fidelity._release_nat_resources))


_patches = PatchSet(_apply, _LOCK)
installed = _patches.installed
install = _patches.install
uninstall = _patches.uninstall
