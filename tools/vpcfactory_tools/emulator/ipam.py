"""Amazon VPC IP Address Manager (IPAM), which moto 5.2.5 does not implement, for the VPC factory.

EC2 query-API actions answered by moto's own EC2 responses (added to ``EC2Response``, so they pass
the same ``call_action`` hook chain as every EC2 request: faults, consistency, IAM), with the
request and response shapes of botocore's EC2 model:

- ``CreateIpam`` (a private and a public default scope, as AWS creates), ``DescribeIpams``;
- ``CreateIpamPool`` (ipv4 only), ``DescribeIpamPools``, ``ProvisionIpamPoolCidr``,
  ``GetIpamPoolCidrs``;
- ``AllocateIpamPoolCidr`` (``NetmaskLength`` or ``Cidr``, ``PreviewNextCidr``, ``ClientToken``,
  ``Description``), ``GetIpamPoolAllocations``, ``ReleaseIpamPoolAllocation``;
- ``CreateVpc`` with ``Ipv4IpamPoolId`` (+ ``Ipv4NetmaskLength`` or ``CidrBlock``) allocates the
  VPC's block from the pool and records an allocation of ResourceType ``vpc``; ``DeleteVpc``
  releases it.

AWS rules reproduced (sources in the comments where each is applied):

- an allocation is the lowest free block aligned to its size inside the pool's provisioned CIDRs,
  and never overlaps another allocation of the pool ("This action creates an allocation with
  strong consistency. The returned CIDR will not overlap with any other allocations from the same
  pool", API_AllocateIpamPoolCidr);
- its netmask lies within the pool's AllocationMin/MaxNetmaskLength (API_CreateIpamPool);
- exactly one of NetmaskLength / Cidr unless the pool has an AllocationDefaultNetmaskLength
  (API_AllocateIpamPoolCidr);
- only manual (custom) allocations can be released with ReleaseIpamPoolAllocation
  (API_ReleaseIpamPoolAllocation: "You can only use this action to release manual allocations").

**Release after DeleteVpc is eventual in AWS.** The IPAM User Guide ("Release an allocation",
https://docs.aws.amazon.com/vpc/latest/ipam/release-alloc-ipam.html): for a VPC CIDR in a private
scope, "After some time, Amazon VPC IPAM will automatically release the VPC CIDR allocation from
the IPAM pool", and the CIDR becomes available for new allocations "a few minutes" later in the
Advanced Tier, up to 48 hours in the Free Tier. The emulator keeps the VPC's allocation for
``ipam_release_seconds`` simulated seconds after DeleteVpc (read from the emulator settings with a
default of 0, i.e. released at once, while :mod:`.settings` has no such field); meanwhile the
allocation still shows in GetIpamPoolAllocations and its block is not allocated again.

Not simulated (AWS is harsher): ProvisionIpamPoolCidr is asynchronous in AWS (the CIDR is
``pending-provision`` first); here it is ``provisioned`` at once. ipv6 pools, nested pools
(SourceIpamPoolId), AllowedCidrs/DisallowedCidrs, AllocationResourceTags and Locale checks across
Regions are not implemented: an IPAM, its pools and their allocations live in the Region (moto
backend) they were created in, and a pool whose Locale is another Region refuses allocations.

Error codes: ``InvalidIpamPoolId.NotFound``, ``InvalidIpamScopeId.NotFound``,
``InvalidIpamPoolAllocationId.NotFound``, ``InvalidParameterValue``,
``InvalidParameterCombination``, ``IdempotentParameterMismatch``, ``OperationNotPermitted``.
"""

from __future__ import annotations

import ipaddress
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any

from moto.core.responses import ActionResult
from moto.ec2.exceptions import EC2ClientError
from moto.ec2.responses import EC2Response
from moto.ec2.responses.vpcs import VPCs

from .patching import Patcher, PatchSet
from .settings import clock, current

_LOCK = threading.RLock()
_STATE = "_vpcfactory_ipam"  # EC2Backend.__dict__ key (dies with moto's backend reset)

IPv4Network = ipaddress.IPv4Network


# ---------------------------------------------------------------------------------------
# Errors (raised like moto's own: EC2ClientError -> HTTP 400 with the code)


class InvalidIpamPoolIdNotFound(EC2ClientError):
    # Code as AWS returns it, e.g. "api error InvalidIpamPoolId.NotFound: The ipam-pool ID
    # 'ipam-pool-0aaf0f8e9e9010072' does not exist" (CreateVpc against an unknown pool).
    def __init__(self, pool_id: str) -> None:
        super().__init__("InvalidIpamPoolId.NotFound", f"The ipam-pool ID '{pool_id}' does not exist")


class InvalidIpamScopeIdNotFound(EC2ClientError):
    def __init__(self, scope_id: str) -> None:
        super().__init__("InvalidIpamScopeId.NotFound", f"The ipam-scope ID '{scope_id}' does not exist")


class InvalidIpamPoolAllocationIdNotFound(EC2ClientError):
    # AWS: "InvalidIpamPoolAllocationId.NotFound: The IPAM pool allocation (ipam-pool-alloc-...)
    # does not exist."
    def __init__(self, allocation_id: str) -> None:
        super().__init__(
            "InvalidIpamPoolAllocationId.NotFound", f"The IPAM pool allocation ({allocation_id}) does not exist."
        )


def _invalid(message: str) -> EC2ClientError:
    return EC2ClientError("InvalidParameterValue", message)


# AWS's answer when no free block of the requested size is left (CreateVpc / AllocateIpamPoolCidr:
# "api error InvalidParameterValue: The allocation size is too big for the pool.").
TOO_BIG = "The allocation size is too big for the pool."


# ---------------------------------------------------------------------------------------
# Model


def _hex_id(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(9)[:17]}"


@dataclass
class Allocation:
    id: str
    cidr: IPv4Network
    resource_type: str  # "custom" | "vpc"
    owner: str
    region: str
    resource_id: str | None = None
    description: str | None = None
    release_at: float | None = None  # simulated seconds: a deleted VPC's allocation goes then

    def to_api(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "Cidr": str(self.cidr),
            "IpamPoolAllocationId": self.id,
            "ResourceType": self.resource_type,
            "ResourceOwner": self.owner,
        }
        if self.resource_id:
            out["ResourceId"] = self.resource_id
            out["ResourceRegion"] = self.region
        if self.description:
            out["Description"] = self.description
        return out


@dataclass
class Pool:
    id: str
    ipam: Ipam
    scope: Scope
    owner: str
    region: str
    locale: str | None
    description: str | None
    min_netmask: int
    max_netmask: int
    default_netmask: int | None
    cidrs: list[IPv4Network] = field(default_factory=list)
    allocations: dict[str, Allocation] = field(default_factory=dict)
    tokens: dict[str, tuple[tuple[Any, ...], str]] = field(default_factory=dict)  # token -> (request, allocation id)

    @property
    def arn(self) -> str:
        return f"arn:aws:ec2::{self.owner}:ipam-pool/{self.id}"

    def live_allocations(self) -> list[Allocation]:
        """The allocations, once the released VPC allocations whose time has come are gone."""
        now = clock().now()
        for allocation in list(self.allocations.values()):
            if allocation.release_at is not None and now >= allocation.release_at:
                del self.allocations[allocation.id]
        return sorted(self.allocations.values(), key=lambda a: (int(a.cidr.network_address), a.cidr.prefixlen))


@dataclass
class Scope:
    id: str
    ipam_id: str
    owner: str
    region: str
    scope_type: str  # "private" | "public"

    @property
    def arn(self) -> str:
        return f"arn:aws:ec2::{self.owner}:ipam-scope/{self.id}"


@dataclass
class Ipam:
    id: str
    owner: str
    region: str
    description: str | None
    operating_regions: list[str]
    private_scope: Scope
    public_scope: Scope

    @property
    def arn(self) -> str:
        return f"arn:aws:ec2::{self.owner}:ipam/{self.id}"


@dataclass
class _State:
    ipams: dict[str, Ipam] = field(default_factory=dict)
    scopes: dict[str, Scope] = field(default_factory=dict)
    pools: dict[str, Pool] = field(default_factory=dict)


def _state(backend: Any) -> _State:
    state = backend.__dict__.get(_STATE)
    if state is None:
        state = backend.__dict__[_STATE] = _State()
    return state


def _pool(backend: Any, pool_id: str | None) -> Pool:
    pool = _state(backend).pools.get(pool_id or "")
    if pool is None:
        raise InvalidIpamPoolIdNotFound(str(pool_id))
    return pool


def _tags(backend: Any, resource_id: str) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in backend.tags.get(resource_id, {}).items()]


def _tag_from_spec(backend: Any, resource_id: str, specs: list[dict[str, Any]] | None, resource_type: str) -> None:
    tags = {
        t["Key"]: t.get("Value", "")
        for spec in specs or []
        if spec.get("ResourceType") in (None, resource_type)
        for t in spec.get("Tags") or []
    }
    if tags:
        backend.create_tags([resource_id], tags)


def find_resource(backend: Any, kind: str, resource_id: str) -> dict[str, Any] | None:
    """For the IAM evaluator's world: ``{}`` for an existing ipam/ipam-pool/ipam-scope, else None."""
    state = backend.__dict__.get(_STATE)
    if state is None:
        return None
    table = {"ipam": state.ipams, "ipam-pool": state.pools, "ipam-scope": state.scopes}.get(kind, {})
    return {} if resource_id in table else None


# ---------------------------------------------------------------------------------------
# Allocation rules


def _network(cidr: str) -> IPv4Network:
    try:
        network = ipaddress.ip_network(cidr, strict=True)
    except ValueError:
        raise _invalid(f"The CIDR '{cidr}' is invalid.") from None
    if not isinstance(network, IPv4Network):
        raise _invalid(f"The CIDR '{cidr}' is not an IPv4 CIDR; the emulator's IPAM supports ipv4 pools only.")
    return network


def _check_netmask(pool: Pool, netmask: int) -> None:
    # API_CreateIpamPool, AllocationMinNetmaskLength / AllocationMaxNetmaskLength: "The minimum
    # [maximum] netmask length required for CIDR allocations in this IPAM pool to be compliant."
    if not pool.min_netmask <= netmask <= pool.max_netmask:
        raise _invalid(
            f"The netmask length /{netmask} is outside the allocation netmask length range of pool {pool.id} "
            f"(/{pool.min_netmask} to /{pool.max_netmask})."
        )


def _lowest_free_block(pool: Pool, netmask: int) -> IPv4Network:
    """The lowest block of size /netmask, aligned to its size, inside a provisioned CIDR and
    overlapping no allocation (API_AllocateIpamPoolCidr: "The returned CIDR will not overlap
    with any other allocations from the same pool")."""
    taken = [(int(a.cidr.network_address), int(a.cidr.broadcast_address)) for a in pool.live_allocations()]
    size = 1 << (32 - netmask)
    for provisioned in sorted(pool.cidrs, key=lambda c: int(c.network_address)):
        if provisioned.prefixlen > netmask:
            continue  # a block bigger than this provisioned CIDR
        start, last = int(provisioned.network_address), int(provisioned.broadcast_address)
        candidate = start
        while candidate + size - 1 <= last:
            end = candidate + size - 1
            clash = [hi for lo, hi in taken if lo <= end and hi >= candidate]
            if not clash:
                return IPv4Network((candidate, netmask))
            # next aligned candidate past the highest clashing allocation
            candidate = ((max(clash) + 1 + size - 1) // size) * size
    # exhausted, or a block bigger than every provisioned CIDR: AWS answers the same for both
    raise _invalid(TOO_BIG)


def _check_specific_block(pool: Pool, block: IPv4Network) -> None:
    _check_netmask(pool, block.prefixlen)
    if not any(block.subnet_of(provisioned) for provisioned in pool.cidrs):
        raise _invalid(f"The CIDR {block} is not within the provisioned CIDRs of pool {pool.id}.")
    for allocation in pool.live_allocations():
        if allocation.cidr.overlaps(block):
            raise _invalid(
                f"The CIDR {block} overlaps allocation {allocation.id} ({allocation.cidr}) of pool {pool.id}."
            )


def _check_locale(pool: Pool, region: str) -> None:
    # API_AllocateIpamPoolCidr: "The Region you use should be the IPAM pool locale. The locale is
    # the AWS Region where this IPAM pool is available for allocations."
    if pool.locale and pool.locale != region:
        raise _invalid(f"The IPAM pool {pool.id} is not available for allocations in {region} (locale {pool.locale}).")


def _choose_block(pool: Pool, region: str, netmask: Any, cidr: str | None) -> IPv4Network:
    """The block an allocation from ``pool`` gets (not recorded)."""
    _check_locale(pool, region)
    if not pool.cidrs:
        raise _invalid(TOO_BIG)
    if cidr and netmask is not None:
        raise EC2ClientError(
            "InvalidParameterCombination", "The request can contain either a CIDR or a Netmask Length, not both."
        )
    if cidr:
        block = _network(cidr)
        _check_specific_block(pool, block)
        return block
    if netmask is None:
        if pool.default_netmask is None:
            # API_AllocateIpamPoolCidr, NetmaskLength: "If there is no DefaultNetmaskLength
            # allocation rule set on the pool, you must specify either the NetmaskLength or the CIDR."
            raise EC2ClientError(
                "InvalidParameterCombination",
                "The request cannot contain empty CIDR and Netmask Length for a pool with no default allocation "
                "netmask length set. Exactly one of them should be provided.",
            )
        netmask = pool.default_netmask
    netmask = int(netmask)
    if not 0 <= netmask <= 32:
        raise _invalid(f"The netmask length {netmask} is invalid: possible netmask lengths for IPv4 are 0 - 32.")
    _check_netmask(pool, netmask)
    return _lowest_free_block(pool, netmask)


def release_vpc_allocations(backend: Any, vpc_id: str) -> None:
    """DeleteVpc: the VPC's allocations go ``ipam_release_seconds`` simulated seconds later."""
    delay = current().ipam_release_seconds
    now = clock().now()
    with _LOCK:
        for pool in _state(backend).pools.values():
            for allocation in list(pool.allocations.values()):
                if allocation.resource_type == "vpc" and allocation.resource_id == vpc_id:
                    allocation.release_at = now + delay
            pool.live_allocations()


# ---------------------------------------------------------------------------------------
# Filters


def _matches(filters: dict[str, list[str]], values: dict[str, str | None], tags: dict[str, str]) -> bool:
    for name, wanted in filters.items():
        if name.startswith("tag:"):
            if tags.get(name[4:]) not in wanted:
                return False
        elif name == "tag-key":
            if not set(tags) & set(wanted):
                return False
        elif name in values:
            if str(values[name]) not in wanted:
                return False
        else:
            raise _invalid(f"The filter '{name}' is invalid")
    return True


# ---------------------------------------------------------------------------------------
# The actions (methods of moto's EC2Response)


def create_ipam(self: Any) -> ActionResult:
    backend, account, region = self.ec2_backend, self.current_account, self.region
    regions = [r["RegionName"] for r in self._get_param("OperatingRegions", []) or [] if r.get("RegionName")]
    if region not in regions:
        regions.insert(0, region)  # the IPAM's home Region always operates
    ipam_id = _hex_id("ipam")
    with _LOCK:
        state = _state(backend)
        private = Scope(_hex_id("ipam-scope"), ipam_id, account, region, "private")
        public = Scope(_hex_id("ipam-scope"), ipam_id, account, region, "public")
        ipam = Ipam(ipam_id, account, region, self._get_param("Description"), regions, private, public)
        state.ipams[ipam.id] = ipam
        state.scopes[private.id] = private
        state.scopes[public.id] = public
        _tag_from_spec(backend, ipam.id, self._get_param("TagSpecifications", []), "ipam")
    return ActionResult({"Ipam": _ipam_api(backend, ipam)})


def _ipam_api(backend: Any, ipam: Ipam) -> dict[str, Any]:
    out: dict[str, Any] = {
        "OwnerId": ipam.owner,
        "IpamId": ipam.id,
        "IpamArn": ipam.arn,
        "IpamRegion": ipam.region,
        "PublicDefaultScopeId": ipam.public_scope.id,
        "PrivateDefaultScopeId": ipam.private_scope.id,
        "ScopeCount": 2,
        "OperatingRegions": [{"RegionName": r} for r in ipam.operating_regions],
        "State": "create-complete",
        "Tier": "advanced",
        "Tags": _tags(backend, ipam.id),
    }
    if ipam.description:
        out["Description"] = ipam.description
    return out


def describe_ipams(self: Any) -> ActionResult:
    backend = self.ec2_backend
    ids = self._get_param("IpamIds", []) or []
    filters = self._filters_from_querystring()
    with _LOCK:
        state = _state(backend)
        for ipam_id in ids:
            if ipam_id not in state.ipams:
                raise EC2ClientError("InvalidIpamId.NotFound", f"The ipam ID '{ipam_id}' does not exist")
        ipams = [
            i
            for i in state.ipams.values()
            if (not ids or i.id in ids)
            and _matches(filters, {"ipam-id": i.id, "state": "create-complete"}, dict(backend.tags.get(i.id, {})))
        ]
        return ActionResult({"Ipams": [_ipam_api(backend, i) for i in ipams]})


def create_ipam_pool(self: Any) -> ActionResult:
    backend, account, region = self.ec2_backend, self.current_account, self.region
    scope_id = self._get_param("IpamScopeId")
    family = self._get_param("AddressFamily")
    if family != "ipv4":
        raise _invalid(f"The address family '{family}' is not supported by the emulator's IPAM (ipv4 only).")
    if self._get_param("SourceIpamPoolId"):
        raise _invalid("The emulator's IPAM does not support nested pools (SourceIpamPoolId).")
    minimum = self._get_param("AllocationMinNetmaskLength")
    maximum = self._get_param("AllocationMaxNetmaskLength")
    default = self._get_param("AllocationDefaultNetmaskLength")
    # API_CreateIpamPool: AllocationMin/MaxNetmaskLength, "Possible netmask lengths for IPv4
    # addresses are 0 - 32"; the minimum must be less than the maximum.
    min_netmask = 0 if minimum is None else int(minimum)
    max_netmask = 32 if maximum is None else int(maximum)
    if not 0 <= min_netmask <= 32 or not 0 <= max_netmask <= 32 or min_netmask > max_netmask:
        raise _invalid(
            f"The allocation netmask length range /{min_netmask} to /{max_netmask} is invalid: "
            "possible netmask lengths for IPv4 are 0 - 32 and the minimum must not exceed the maximum."
        )
    if default is not None and not min_netmask <= int(default) <= max_netmask:
        raise _invalid(
            f"The default allocation netmask length /{default} must lie within /{min_netmask} to /{max_netmask}."
        )
    with _LOCK:
        state = _state(backend)
        scope = state.scopes.get(scope_id or "")
        if scope is None:
            raise InvalidIpamScopeIdNotFound(str(scope_id))
        pool = Pool(
            id=_hex_id("ipam-pool"),
            ipam=state.ipams[scope.ipam_id],
            scope=scope,
            owner=account,
            region=region,
            locale=self._get_param("Locale") or None,
            description=self._get_param("Description"),
            min_netmask=min_netmask,
            max_netmask=max_netmask,
            default_netmask=None if default is None else int(default),
        )
        state.pools[pool.id] = pool
        _tag_from_spec(backend, pool.id, self._get_param("TagSpecifications", []), "ipam-pool")
        return ActionResult({"IpamPool": _pool_api(backend, pool)})


def _pool_api(backend: Any, pool: Pool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "OwnerId": pool.owner,
        "IpamPoolId": pool.id,
        "IpamPoolArn": pool.arn,
        "IpamScopeArn": pool.scope.arn,
        "IpamScopeType": pool.scope.scope_type,
        "IpamArn": pool.ipam.arn,
        "IpamRegion": pool.ipam.region,
        "Locale": pool.locale or "None",
        "PoolDepth": 1,
        "State": "create-complete",
        "AutoImport": False,
        "AddressFamily": "ipv4",
        "AllocationMinNetmaskLength": pool.min_netmask,
        "AllocationMaxNetmaskLength": pool.max_netmask,
        "Tags": _tags(backend, pool.id),
    }
    if pool.default_netmask is not None:
        out["AllocationDefaultNetmaskLength"] = pool.default_netmask
    if pool.description:
        out["Description"] = pool.description
    return out


def describe_ipam_pools(self: Any) -> ActionResult:
    backend = self.ec2_backend
    ids = self._get_param("IpamPoolIds", []) or []
    filters = self._filters_from_querystring()
    with _LOCK:
        state = _state(backend)
        for pool_id in ids:
            _pool(backend, pool_id)  # InvalidIpamPoolId.NotFound
        pools = [
            p
            for p in state.pools.values()
            if (not ids or p.id in ids)
            and _matches(
                filters,
                {
                    "ipam-pool-id": p.id,
                    "ipam-scope-id": p.scope.id,
                    "ipam-scope-type": p.scope.scope_type,
                    "ipam-id": p.ipam.id,
                    "address-family": "ipv4",
                    "locale": p.locale or "None",
                    "state": "create-complete",
                    "description": p.description,
                    "owner-id": p.owner,
                },
                dict(backend.tags.get(p.id, {})),
            )
        ]
        return ActionResult({"IpamPools": [_pool_api(backend, p) for p in pools]})


def provision_ipam_pool_cidr(self: Any) -> ActionResult:
    backend = self.ec2_backend
    cidr = self._get_param("Cidr")
    if not cidr:
        raise EC2ClientError("MissingParameter", "The request must contain the parameter Cidr.")
    block = _network(cidr)
    with _LOCK:
        pool = _pool(backend, self._get_param("IpamPoolId"))
        # Pools of one scope cannot hold overlapping CIDRs (IPAM User Guide, "Create a top-level
        # IPv4 pool": CIDRs provisioned to pools in the same scope must not overlap).
        for other in _state(backend).pools.values():
            if other.scope is pool.scope and any(c.overlaps(block) for c in other.cidrs):
                raise _invalid(f"The CIDR {block} overlaps a CIDR provisioned to pool {other.id}.")
        pool.cidrs.append(block)
    # Not simulated: AWS answers "pending-provision" and provisions asynchronously.
    return ActionResult(
        {
            "IpamPoolCidr": {
                "Cidr": str(block),
                "State": "provisioned",
                "IpamPoolCidrId": _hex_id("ipam-pool-cidr"),
                "NetmaskLength": block.prefixlen,
            }
        }
    )


def get_ipam_pool_cidrs(self: Any) -> ActionResult:
    with _LOCK:
        pool = _pool(self.ec2_backend, self._get_param("IpamPoolId"))
        return ActionResult(
            {
                "IpamPoolCidrs": [
                    {"Cidr": str(c), "State": "provisioned", "NetmaskLength": c.prefixlen} for c in pool.cidrs
                ]
            }
        )


def allocate_ipam_pool_cidr(self: Any) -> ActionResult:
    backend, account, region = self.ec2_backend, self.current_account, self.region
    netmask = self._get_param("NetmaskLength")
    cidr = self._get_param("Cidr")
    description = self._get_param("Description")
    preview = bool(self._get_param("PreviewNextCidr", False))
    token = self._get_param("ClientToken")
    with _LOCK:
        pool = _pool(backend, self._get_param("IpamPoolId"))
        request = (netmask, cidr, description, preview)
        if token and not preview and token in pool.tokens:
            # Ensuring idempotency (EC2 API reference): the same token returns the first result;
            # the same token with other parameters is IdempotentParameterMismatch.
            first_request, allocation_id = pool.tokens[token]
            if first_request != request:
                raise EC2ClientError(
                    "IdempotentParameterMismatch",
                    f"The client token '{token}' was already used with different parameters.",
                )
            existing = pool.allocations.get(allocation_id)
            if existing is not None:
                return ActionResult({"IpamPoolAllocation": existing.to_api()})
        block = _choose_block(pool, region, netmask, cidr)
        if preview:
            # PreviewNextCidr: "A preview of the next available CIDR in a pool." Nothing is allocated.
            return ActionResult({"IpamPoolAllocation": {"Cidr": str(block)}})
        allocation = Allocation(
            _hex_id("ipam-pool-alloc"), block, "custom", account, region, description=description or None
        )
        pool.allocations[allocation.id] = allocation
        if token:
            pool.tokens[token] = (request, allocation.id)
        _tag_from_spec(backend, allocation.id, self._get_param("TagSpecifications", []), "ipam-pool-allocation")
        return ActionResult({"IpamPoolAllocation": allocation.to_api()})


def get_ipam_pool_allocations(self: Any) -> ActionResult:
    backend = self.ec2_backend
    allocation_id = self._get_param("IpamPoolAllocationId")
    filters = self._filters_from_querystring()
    with _LOCK:
        pool = _pool(backend, self._get_param("IpamPoolId"))
        allocations = pool.live_allocations()
        if allocation_id:
            allocations = [a for a in allocations if a.id == allocation_id]
            if not allocations:
                raise InvalidIpamPoolAllocationIdNotFound(allocation_id)
        allocations = [
            a
            for a in allocations
            if _matches(
                filters,
                {
                    "ipam-pool-allocation-id": a.id,
                    "cidr": str(a.cidr),
                    "resource-type": a.resource_type,
                    "resource-id": a.resource_id,
                    "resource-owner": a.owner,
                    "description": a.description,
                },
                dict(backend.tags.get(a.id, {})),
            )
        ]
        return ActionResult({"IpamPoolAllocations": [a.to_api() for a in allocations]})


def release_ipam_pool_allocation(self: Any) -> ActionResult:
    backend = self.ec2_backend
    allocation_id = self._get_param("IpamPoolAllocationId")
    cidr = self._get_param("Cidr")
    with _LOCK:
        pool = _pool(backend, self._get_param("IpamPoolId"))
        allocation = next((a for a in pool.live_allocations() if a.id == allocation_id), None)
        if allocation is None or allocation.release_at is not None:
            raise InvalidIpamPoolAllocationIdNotFound(str(allocation_id))
        if cidr is not None and _network(cidr) != allocation.cidr:
            raise _invalid(f"The CIDR {cidr} is not the CIDR of allocation {allocation.id} ({allocation.cidr}).")
        if allocation.resource_type != "custom":
            # API_ReleaseIpamPoolAllocation: "You can only use this action to release manual
            # allocations. To remove an allocation for a resource without deleting the resource,
            # set its monitored state to false using ModifyIpamResourceCidr."
            raise EC2ClientError(
                "OperationNotPermitted",
                f"The allocation {allocation.id} is for {allocation.resource_type} {allocation.resource_id}: only "
                "manual (custom) allocations can be released.",
            )
        del pool.allocations[allocation.id]
        backend.tags.pop(allocation.id, None)
    return ActionResult({"Success": True})


_ACTIONS = {
    "create_ipam": create_ipam,
    "describe_ipams": describe_ipams,
    "create_ipam_pool": create_ipam_pool,
    "describe_ipam_pools": describe_ipam_pools,
    "provision_ipam_pool_cidr": provision_ipam_pool_cidr,
    "get_ipam_pool_cidrs": get_ipam_pool_cidrs,
    "allocate_ipam_pool_cidr": allocate_ipam_pool_cidr,
    "get_ipam_pool_allocations": get_ipam_pool_allocations,
    "release_ipam_pool_allocation": release_ipam_pool_allocation,
}


# ---------------------------------------------------------------------------------------
# CreateVpc / DeleteVpc


def _patch_create_vpc(original: Any) -> Any:
    def create_vpc(self: Any) -> Any:
        pool_id = self._get_param("Ipv4IpamPoolId")
        if not pool_id:
            return original(self)
        backend = self.ec2_backend
        with _LOCK:
            pool = _pool(backend, pool_id)
            # API_CreateVpc, Ipv4NetmaskLength: "The netmask length of the IPv4 CIDR you want to
            # allocate to this VPC from an Amazon VPC IP Address Manager (IPAM) pool"; CidrBlock
            # with Ipv4IpamPoolId asks for that block of the pool. Same allocation rules.
            block = _choose_block(pool, self.region, self._get_param("Ipv4NetmaskLength"), self._get_param("CidrBlock"))
            self.params["CidrBlock"] = str(block)
            result = original(self)
            vpc = result.result["Vpc"]
            allocation = Allocation(
                _hex_id("ipam-pool-alloc"), block, "vpc", self.current_account, self.region, resource_id=vpc.id
            )
            pool.allocations[allocation.id] = allocation
            return result

    return create_vpc


def _patch_delete_vpc(original: Any) -> Any:
    def delete_vpc(self: Any) -> Any:
        result = original(self)  # raises (DependencyViolation, NotFound) before anything is released
        release_vpc_allocations(self.ec2_backend, self._get_param("VpcId"))
        return result

    return delete_vpc


def _apply(patcher: Patcher) -> None:
    for name, action in _ACTIONS.items():
        patcher.set(EC2Response, name, action)
    patcher.set(VPCs, "create_vpc", _patch_create_vpc(VPCs.create_vpc))
    patcher.set(VPCs, "delete_vpc", _patch_delete_vpc(VPCs.delete_vpc))


_patches = PatchSet(_apply, _LOCK)
installed = _patches.installed
install = _patches.install
uninstall = _patches.uninstall
