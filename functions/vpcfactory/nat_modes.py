"""Regional NAT gateways (issue 14): `natGateways: regional`.

One NAT gateway for the whole VPC, created with ``AvailabilityMode=regional`` and ``VpcId`` (no
subnet, no ``AllocationId``): it needs no public subnet and expands into every zone where the
VPC has subnets; every private route table sends 0.0.0.0/0 to it. Sources (AWS):

- botocore's EC2 model, CreateNatGateway: ``AvailabilityMode`` zonal | regional, ``VpcId`` "The ID
  of the VPC where you want to create a regional NAT gateway", ``AvailabilityZoneAddresses``
  "... auto-expansion is disabled and you must manually manage AZ coverage"; the NatGateway shape
  reports ``AvailabilityMode``, ``RouteTableId`` (regional only), ``AutoProvisionZones``.
- VPC User Guide, "Regional NAT gateways for automatic multi-AZ expansion"
  (https://docs.aws.amazon.com/vpc/latest/userguide/nat-gateways-regional.html): no public
  subnet is needed; "AWS automatically creates a route table for it, which comes with a
  pre-configured route to the internet gateway" -- so the VPC needs an attached internet
  gateway, and the plan makes one for a regional NAT even when the spec has no public tier
  (without it the NAT gateway goes ``failed``, Gateway.NotAttached, as a zonal one does).
- EC2 API reference, AvailabilityZoneAddress
  (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_AvailabilityZoneAddress.html):
  {AvailabilityZone | AvailabilityZoneId, AllocationIds} per zone: manual mode, the addresses we
  bring. The spec's ``eipAllocationIds`` for regional is one allocation id per zone, in zone order;
  the build sends it by zone ID (the physical zone: the same in every account).
- Automatic mode: the addresses are AWS-managed (no allocation id of ours, not in our
  DescribeAddresses): never released by us. Manual mode: the EIPs are the user's; DeleteNatGateway
  "disassociates its Elastic IP address, but does not release the address" (EC2 API reference,
  DeleteNatGateway), and teardown releases only EIPs carrying our tags, so they stay.
- The route table AWS creates for a regional NAT carries none of our tags: teardown never
  touches it (inventory.Scope.owns).

Cost: a regional NAT gateway has the zonal price structure, charged for each zone it is active in
(AWS VPC pricing, https://aws.amazon.com/vpc/pricing/: the NAT gateway hour is per gateway per AZ;
kenzo0107, "NAT Gateway Regional vs Zonal", 2025-11-26: "the same fee structure for both"). It
expands into every zone with subnets, so the plan prices it as one NAT hour and one public IPv4
address per planned zone (AWS-managed addresses are public IPv4 addresses too); brought EIPs are
not counted, as for zonal NATs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vpcfactory.contracts import PlannedNat, Zone

REGIONAL = "regional"
REGIONAL_NAT = "nat/regional"  # the plan's one logical id for it


def is_regional(nat: PlannedNat | dict[str, Any]) -> bool:
    return nat.get("availabilityMode") == REGIONAL


def planned_nat(spec_name: str, zones: list[Zone], eip_allocation_ids: tuple[str, ...]) -> PlannedNat:
    """The plan's one entry for a regional NAT gateway; zoneAddresses is empty in automatic mode."""
    return {
        "logicalId": REGIONAL_NAT,
        "az": None,
        "subnet": None,
        "eip": None,
        "eipAllocationId": None,
        "name": f"{spec_name}-nat-regional",
        "availabilityMode": "regional",
        "zoneAddresses": [
            {"availabilityZone": z["name"], "availabilityZoneId": z["zoneId"], "allocationIds": [eip]}
            for z, eip in zip(zones, eip_allocation_ids, strict=True)
        ]
        if eip_allocation_ids  # spec.parse_spec: none, or exactly one per zone
        else [],
    }


def create_args(nat: PlannedNat, vpc_id: str) -> dict[str, Any]:
    """CreateNatGateway's arguments for a regional NAT (beside ClientToken and TagSpecifications)."""
    args: dict[str, Any] = {"AvailabilityMode": "regional", "VpcId": vpc_id}
    if addresses := nat.get("zoneAddresses"):
        args["AvailabilityZoneAddresses"] = [
            {"AvailabilityZoneId": a["availabilityZoneId"], "AllocationIds": list(a["allocationIds"])}
            for a in addresses
        ]
    return args


def mode_problems(nat: PlannedNat, item: dict[str, Any]) -> list[str]:
    """What Verify Network reports when a NAT gateway's availability mode is not the planned one."""
    wanted = nat.get("availabilityMode") or "zonal"
    actual = item.get("AvailabilityMode") or "zonal"  # zonal NATs made before the field existed
    if actual != wanted:
        return [f"{nat['logicalId']} ({item['NatGatewayId']}) is {actual}, the plan says {wanted}"]
    if wanted == REGIONAL and item.get("VpcId") and nat.get("zoneAddresses"):
        brought = {eid for a in nat.get("zoneAddresses") or [] for eid in a["allocationIds"]}
        used = {a.get("AllocationId") for a in item.get("NatGatewayAddresses") or []}
        if missing := sorted(brought - used):
            return [f"{nat['logicalId']} ({item['NatGatewayId']}) does not use the Elastic IPs {', '.join(missing)}"]
    return []


def growth_refusals(planned: list[PlannedNat], live: dict[str, dict[str, Any]]) -> list[str]:
    """Changes to live NAT gateways that growth.diff refuses (each a sentence), beyond the removed
    NATs and switched routes it already names:

    - zonal <-> regional: a mode switch replaces every NAT gateway and re-routes every private
      table (the logical ids differ, so diff also names the removals and route switches).
    - a regional NAT with brought EIPs (manual mode) and a zone whose EIP it does not hold yet (a
      zone added to the spec): AWS can add one (AssociateNatGatewayAddress with AvailabilityZoneId,
      botocore's EC2 model: "For regional NAT gateways only"), but the factory does not do it in
      place yet. Automatic mode needs nothing: it expands into the new zone by itself.
    """
    out: list[str] = []
    live_modes = {item.get("AvailabilityMode") or "zonal" for item in live.values()}
    wanted_modes = {nat.get("availabilityMode") or "zonal" for nat in planned}
    if live_modes and wanted_modes and live_modes != wanted_modes:
        out.append(
            f"natGateways: the VPC's NAT gateways are {'/'.join(sorted(live_modes))}, the spec asks for "
            f"{'/'.join(sorted(wanted_modes))} (that replaces the NAT gateways and re-routes every private tier)"
        )
    for nat in planned:
        item = live.get(nat["logicalId"])
        if item is None or not is_regional(nat):
            continue
        held = {a.get("AllocationId") for a in item.get("NatGatewayAddresses") or []}
        for address in nat.get("zoneAddresses") or []:
            if missing := [eid for eid in address["allocationIds"] if eid not in held]:
                out.append(
                    f"{nat['logicalId']} would need {', '.join(missing)} in {address['availabilityZone']}: adding "
                    "brought Elastic IPs to a live regional NAT gateway is not done in place"
                )
    return out
