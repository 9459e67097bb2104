"""Regional NAT gateways (issue 14, `natGateways: regional`) through the real state machines on the
embedded emulator: one NAT gateway for the VPC, no public tier, an internet gateway all the same,
every private route table routed to it, no Elastic IP of ours; brought EIPs per zone; destroy and
rollback leave nothing of ours and never release an address."""

from __future__ import annotations

from typing import Any

import pytest

from tests.workflow.owned import execution_name, tagged_with_execution
from vpcfactory.tags import TAG_LOGICAL_ID, tag_dict
from vpcfactory_tools.emulator.settings import EmulatorSettings

from .conftest import TIME_SCALE

SPEC: dict[str, Any] = {
    "name": "connected",
    "cidr": "10.40.0.0/16",
    "availabilityZones": 3,
    "natGateways": "regional",
    "tiers": [
        {"name": "app", "type": "private", "prefixLength": 20},
        {"name": "data", "type": "isolated", "prefixLength": 24},
    ],
}


def _nats(ec2: Any, vpc_id: str) -> list[dict[str, Any]]:
    return ec2.describe_nat_gateways(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["NatGateways"]


def _tables(ec2: Any, vpc_id: str) -> dict[str, dict[str, Any]]:
    items = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["RouteTables"]
    return {tag_dict(t.get("Tags")).get(TAG_LOGICAL_ID, t["RouteTableId"]): t for t in items}


def _default_nat(table: dict[str, Any]) -> str | None:
    return next((r.get("NatGatewayId") for r in table["Routes"] if r.get("DestinationCidrBlock") == "0.0.0.0/0"), None)


def _eip(ec2: Any) -> str:
    return ec2.allocate_address(Domain="vpc")["AllocationId"]


def test_a_regional_nat_without_a_public_tier_builds_an_igw_and_one_nat_every_private_table_uses(emu):
    ec2 = emu.client("ec2")
    addresses_before = ec2.describe_addresses()["Addresses"]

    built = emu.build(SPEC)

    assert built.status == "SUCCEEDED", built.cause
    vpc_id = built.vpc_id
    nats = [n for n in _nats(ec2, vpc_id) if n["State"] != "deleted"]
    assert len(nats) == 1
    nat = nats[0]
    assert nat["AvailabilityMode"] == "regional" and nat["State"] == "available"
    assert not nat.get("SubnetId")
    assert tag_dict(nat["Tags"])[TAG_LOGICAL_ID] == "nat/regional"
    # an internet gateway is attached (AWS routes the regional NAT's own table to it)
    igws = ec2.describe_internet_gateways(Filters=[{"Name": "attachment.vpc-id", "Values": [vpc_id]}])
    assert len(igws["InternetGateways"]) == 1
    # the private tier's one table (one NAT: every zone alike) routes to it; the isolated one nowhere
    tables = _tables(ec2, vpc_id)
    assert _default_nat(tables["rtb/app"]) == nat["NatGatewayId"]
    assert len([a for a in tables["rtb/app"]["Associations"] if a.get("SubnetId")]) == 3
    assert not any(r.get("DestinationCidrBlock") == "0.0.0.0/0" for r in tables["rtb/data"]["Routes"])
    # no subnet is public, and no Elastic IP was allocated
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]
    assert len(subnets) == 6
    assert ec2.describe_addresses()["Addresses"] == addresses_before
    # Verify Network's description says what it is
    assert [n["availabilityMode"] for n in built.output["natGateways"]] == ["regional"]

    destroyed = emu.destroy(vpc_id)

    assert destroyed.status == "SUCCEEDED", destroyed.cause
    assert tagged_with_execution(ec2, execution_name(built)) == []
    assert not ec2.describe_vpcs(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Vpcs"]
    assert ec2.describe_addresses()["Addresses"] == addresses_before


def test_brought_eips_go_one_per_zone_and_are_never_released(emu):
    ec2 = emu.client("ec2")
    eips = [_eip(ec2) for _ in range(3)]
    spec = {**SPEC, "name": "connected-byo", "natGateways": {"mode": "regional", "eipAllocationIds": eips}}

    built = emu.build(spec)

    assert built.status == "SUCCEEDED", built.cause
    (nat,) = [n for n in _nats(ec2, built.vpc_id) if n["State"] != "deleted"]
    assert nat["AvailabilityMode"] == "regional"
    by_zone = {a.get("AvailabilityZone"): a.get("AllocationId") for a in nat["NatGatewayAddresses"]}
    assert by_zone == dict(zip(built.output["availabilityZones"], eips, strict=True))

    destroyed = emu.destroy(built.vpc_id)

    assert destroyed.status == "SUCCEEDED", destroyed.cause
    assert tagged_with_execution(ec2, execution_name(built)) == []
    held = {a["AllocationId"] for a in ec2.describe_addresses(AllocationIds=eips)["Addresses"]}
    assert held == set(eips)  # still allocated: the user's
    for eip in eips:
        ec2.release_address(AllocationId=eip)


def test_a_regional_nat_that_fails_rolls_back_clean(emu):
    ec2 = emu.client("ec2")
    emu.reconfigure(EmulatorSettings(time_scale=TIME_SCALE, nat_failure_code="InsufficientFreeAddressesInSubnet"))

    result = emu.build({**SPEC, "name": "connected-fails"})

    assert result.status == "FAILED"
    assert result.error == "NatGatewayFailed"
    assert tagged_with_execution(ec2, execution_name(result)) == []


@pytest.mark.parametrize("operation", ["CreateNatGateway", "CreateRoute", "CreateInternetGateway"])
def test_a_fault_at_a_regional_build_call_rolls_back_clean(emu, operation):
    from vpcfactory_tools.emulator.faults import parse_fault

    ec2 = emu.client("ec2")
    emu.reconfigure(EmulatorSettings(time_scale=TIME_SCALE, faults=[parse_fault(operation)]))

    result = emu.build({**SPEC, "name": "connected-fault"})

    assert result.status == "FAILED"
    assert tagged_with_execution(ec2, execution_name(result)) == []


def test_switching_a_live_vpc_from_zonal_to_regional_is_refused(emu):
    spec = {
        **SPEC,
        "name": "connected-switch",
        "natGateways": "single",
        "tiers": [{"name": "edge", "type": "public", "prefixLength": 24}, *SPEC["tiers"]],
    }
    first = emu.build(spec)
    assert first.status == "SUCCEEDED", first.cause

    second = emu.build({**spec, "natGateways": "regional"})

    assert second.status == "FAILED"
    assert second.error == "ReplacementRequired"
    assert "regional" in second.cause and "nat/" in second.cause
    assert emu.destroy(first.vpc_id).status == "SUCCEEDED"


def test_a_zone_added_to_a_regional_vpc_needs_no_new_nat(emu):
    ec2 = emu.client("ec2")
    spec = {**SPEC, "name": "connected-grows", "availabilityZones": 2}
    first = emu.build(spec)
    assert first.status == "SUCCEEDED", first.cause

    second = emu.build({**spec, "availabilityZones": 3})

    assert second.status == "SUCCEEDED", second.cause
    assert second.vpc_id == first.vpc_id
    nats = [n for n in _nats(ec2, first.vpc_id) if n["State"] != "deleted"]
    assert len(nats) == 1
    tables = _tables(ec2, first.vpc_id)
    zone = second.output["availabilityZones"][2]
    (new_subnet,) = [s["subnetId"] for s in second.output["subnets"]["app"] if s["az"] == zone]
    # the new zone's subnet joins the tier's one table, which routes to the one NAT
    assert new_subnet in {a.get("SubnetId") for a in tables["rtb/app"]["Associations"]}
    assert _default_nat(tables["rtb/app"]) == nats[0]["NatGatewayId"]
    assert emu.destroy(first.vpc_id).status == "SUCCEEDED"
