"""A VPC whose IPv4 block comes from an Amazon VPC IP Address Manager (IPAM) pool.

The spec says `cidr: {ipamPoolId: ipam-pool-..., netmaskLength: 18}` instead of a CIDR. How the
factory builds it:

- **Spec** (spec.py): the pool id must look like `ipam-pool-` + 8 to 17 hex digits, the netmask
  is 16..28 (what CreateVpc accepts). Tiers may not give explicit `cidrs` (nobody knows the block
  before it is allocated). The layout is validated on a *nominal* block of that size,
  `0.0.0.0/<netmask>` (`Spec.cidr`): the layout is relative to the VPC's first address, so a
  layout that fits the nominal block fits whatever block the pool gives.
- **Validate And Plan** (place, below): for a VPC that already exists under the spec's name
  (day-2 growth) the plan is laid in *that VPC's* CIDR, so growth keeps it and never asks the pool
  for anything. Otherwise the pool is asked for a **preview** of its next block
  (AllocateIpamPoolCidr with PreviewNextCidr: "A preview of the next available CIDR in a pool",
  API_AllocateIpamPoolCidr; it allocates nothing) and the plan is laid in it. An unknown pool, a
  netmask the pool's allocation rules refuse, or an exhausted pool is InvalidSpec naming
  `cidr.ipamPoolId` / `cidr.netmaskLength`, before anything is created.
- **Create VPC** (network.Build.create_vpc): CreateVpc with Ipv4IpamPoolId + Ipv4NetmaskLength
  (API_CreateVpc: "The netmask length of the IPv4 CIDR you want to allocate to this VPC from an
  Amazon VPC IP Address Manager (IPAM) pool"). The pool hands out the lowest free block at that
  moment, which is not the preview if someone else allocated in between: then Create VPC returns
  the plan relocated into the block it got (plan.relocate) and the state machine's "Use The
  Allocated CIDR" Pass state replaces `$.plan` with it. Every later stage sees the real block.
  The VPC is tagged `vpcfactory:ipam-pool` = the pool id (at creation), so a teardown knows
  which pool to ask about it: DescribeVpcs does not say where a VPC's CIDR came from.
- **The factory never makes an allocation of its own**: no AllocateIpamPoolCidr without
  PreviewNextCidr, so there is no manual ("custom") allocation that a crash could leak. The only
  allocation is the VPC's (ResourceType `vpc`), which IPAM creates with the VPC and owns.

**Destroy and rollback: why the teardown does not wait for the release.** After DeleteVpc, IPAM
releases the VPC's allocation by itself, eventually: "After some time, Amazon VPC IPAM will
automatically release the VPC CIDR allocation from the IPAM pool" -- a few minutes on the Advanced
tier, up to 48 hours on the Free tier (IPAM User Guide, "Release an allocation",
https://docs.aws.amazon.com/vpc/latest/ipam/release-alloc-ipam.html). The factory cannot hurry it:
ReleaseIpamPoolAllocation refuses allocations that are not manual ("You can only use this action
to release manual allocations", API_ReleaseIpamPoolAllocation). Waiting would hold a destroy (and
a CloudFormation Delete) for up to 48 hours for something nobody can act on, so the teardown does
not wait: after DeleteVpc it asks the pool (GetIpamPoolAllocations, filter resource-id) and
reports the allocation as `released` or `pending-release` (allocation_status), in Finish
Teardown's result and in the `VPC Destroyed` event. A rollback's leftover check does not count a
pending allocation as ours: it is IPAM's, the VPC it belonged to is gone, and IPAM will free it.
"""

from __future__ import annotations

import copy
import ipaddress
from typing import TYPE_CHECKING, Any

from vpcfactory import aws, inventory
from vpcfactory.errors import AwsCallFailed, InvalidSpec
from vpcfactory.transit_spec import check_not_in_vpc

if TYPE_CHECKING:
    from vpcfactory.contracts import Plan

NOMINAL_BASE = "0.0.0.0"  # the block the layout is validated in (spec.py) until the real one is known
TAG_IPAM_POOL = "vpcfactory:ipam-pool"  # on the VPC: the pool its CIDR came from

# What AllocateIpamPoolCidr / CreateVpc answer for a request the pool refuses (API_AllocateIpamPoolCidr;
# "The allocation size is too big for the pool." when no block of that size is free).
POOL_NOT_FOUND = "InvalidIpamPoolId.NotFound"
POOL_REFUSED = frozenset({"InvalidParameterValue", "InvalidParameterCombination"})


def nominal_cidr(netmask_length: int) -> str:
    return f"{NOMINAL_BASE}/{netmask_length}"


def is_nominal(plan: Plan) -> bool:
    """Whether the plan is still laid in the nominal block (no preview was possible)."""
    return bool(plan.get("ipam")) and ipaddress.IPv4Network(plan["cidr"]).network_address == ipaddress.IPv4Address(
        NOMINAL_BASE
    )


def relocate(plan: Plan, cidr: str) -> Plan:
    """The same plan laid in `cidr`, a block of the same netmask (an IPAM VPC): every IPv4
    subnet CIDR shifted by (new base - old base). Pure: the layout is relative to the VPC's first
    address (plan.py, "How CIDRs are allocated"), so the shifted plan is the one the spec gives there."""
    old, new = ipaddress.IPv4Network(plan["cidr"]), ipaddress.IPv4Network(cidr)
    if old.prefixlen != new.prefixlen:
        raise ValueError(f"cannot relocate a /{old.prefixlen} plan into {new}: the netmask differs")
    delta = int(new.network_address) - int(old.network_address)
    out: Plan = copy.deepcopy(plan)
    out["cidr"] = str(new)
    for subnet in out["subnets"]:
        net = ipaddress.IPv4Network(subnet["cidr"])
        subnet["cidr"] = str(ipaddress.IPv4Network((int(net.network_address) + delta, net.prefixlen)))
    return out


def preview(ec2: Any, pool_id: str, netmask_length: int) -> str:
    """The block the pool would give next (PreviewNextCidr: nothing is allocated). A pool that
    does not exist, or refuses this netmask, is InvalidSpec: nothing has been created yet."""
    try:
        answer = aws.call(
            "AllocateIpamPoolCidr",
            ec2.allocate_ipam_pool_cidr,
            IpamPoolId=pool_id,
            NetmaskLength=netmask_length,
            PreviewNextCidr=True,
        )
    except AwsCallFailed as exc:
        if exc.code == POOL_NOT_FOUND:
            raise InvalidSpec(
                "cidr.ipamPoolId", f"{pool_id!r} is not an IPAM pool this account can use here ({exc.code})"
            ) from exc
        if exc.code in POOL_REFUSED:
            raise InvalidSpec("cidr.netmaskLength", f"pool {pool_id} cannot give a /{netmask_length}: {exc}") from exc
        raise
    return str(answer["IpamPoolAllocation"]["Cidr"])


def place(plan: Plan, ec2: Any) -> Plan:
    """Validate And Plan (and `vpcfactory plan`): lay an IPAM plan in its real block. The VPC the
    spec's name already identifies keeps its CIDR (growth); else the pool's preview. A plan with a
    CIDR string is returned as it is."""
    ipam = plan.get("ipam")
    if not ipam:
        return plan
    vpcs = inventory.vpcs_named(ec2, plan["name"])
    if len(vpcs) == 1:
        current = vpcs[0]["CidrBlock"]
        if ipaddress.IPv4Network(current).prefixlen == ipam["netmaskLength"]:
            return relocate(plan, current)
        # Another size: growth.diff refuses it as a cidr change (a replacement, if allowed, previews below).
    return relocate(plan, preview(ec2, ipam["poolId"], ipam["netmaskLength"]))


def allocated(plan: Plan, vpc: dict[str, Any]) -> Plan | None:
    """Create VPC: the plan relocated into the block the VPC got, or None if it got the planned one.
    The transit gateway's routes were checked against the preview: a route inside the block the VPC
    got instead is InvalidSpec now (the build rolls back) rather than a failed CreateRoute later."""
    if not plan.get("ipam") or vpc["CidrBlock"] == plan["cidr"]:
        return None
    gateway = plan.get("transitGateway")
    for k, route in enumerate(gateway["routes"] if gateway else []):
        if not route.startswith("pl-"):
            check_not_in_vpc(ipaddress.IPv4Network(route), vpc["CidrBlock"], f"transitGateway.routes[{k}]")
    return relocate(plan, vpc["CidrBlock"])


def allocation_status(ec2: Any, pool_id: str, vpc_id: str) -> dict[str, Any]:
    """After DeleteVpc: is the VPC's allocation still in the pool? `released` or `pending-release`
    (IPAM frees it on its own schedule; see the module docstring). Never raises for the report's sake:
    a pool the teardown cannot read is `unknown`, with the reason."""
    status: dict[str, Any] = {"poolId": pool_id, "vpcId": vpc_id}
    found: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"IpamPoolId": pool_id}
    try:
        while True:  # every page; matched on ResourceId here (no filter name is relied on)
            page = aws.call("GetIpamPoolAllocations", ec2.get_ipam_pool_allocations, **kwargs)
            found += page.get("IpamPoolAllocations", [])
            if not page.get("NextToken"):
                break
            kwargs["NextToken"] = page["NextToken"]
    except AwsCallFailed as exc:
        return status | {"state": "unknown", "reason": str(exc)}
    mine = [a for a in found if a.get("ResourceId") == vpc_id]
    if not mine:
        return status | {"state": "released"}
    return status | {
        "state": "pending-release",
        "cidr": mine[0].get("Cidr"),
        "reason": "IPAM releases a deleted VPC's allocation itself, minutes to 48 hours later "
        "(https://docs.aws.amazon.com/vpc/latest/ipam/release-alloc-ipam.html)",
    }


def pool_of(vpc: dict[str, Any]) -> str | None:
    """The pool a factory VPC's CIDR came from (its vpcfactory:ipam-pool tag), or None."""
    for tag in vpc.get("Tags") or []:
        if tag.get("Key") == TAG_IPAM_POOL:
            return str(tag.get("Value"))
    return None
