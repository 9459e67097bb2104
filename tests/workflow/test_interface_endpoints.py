"""Interface VPC endpoints through a network's life (issue 14): built in the first private tier's
subnets of the zones each service is offered in, with our security group (443 from the VPC) and
private DNS; Verify checks them; a zone added later joins them; destroy waits for them to be gone
before it deletes subnets and the group; a failure mid-build rolls everything back."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from tests.workflow.owned import execution_name, tagged_with_execution
from vpcfactory.errors import VerificationFailed
from vpcfactory.plan import plan_network
from vpcfactory.spec import parse_spec
from vpcfactory.tags import TAG_LOGICAL_ID, tag_dict
from vpcfactory.verify import verify_network
from vpcfactory_tools.emulator.faults import parse_fault
from vpcfactory_tools.emulator.settings import EmulatorSettings

from .conftest import TIME_SCALE

SERVICES = ["ssm", "ssmmessages", "ec2messages"]
_NAMES = itertools.count(1)


@pytest.fixture
def spec(production_spec: dict[str, Any]) -> dict[str, Any]:
    """The production example with the three Session Manager endpoints, named for this test (the
    module's emulator keeps every test's VPC: a name of its own keeps each test a first build)."""
    name = f"endpoints-{next(_NAMES)}"
    return {**production_spec, "name": name, "interfaceEndpoints": SERVICES}


def _by_logical(items: list[dict[str, Any]], id_key: str) -> dict[str, dict[str, Any]]:
    return {tag_dict(i.get("Tags")).get(TAG_LOGICAL_ID, i[id_key]): i for i in items}


def _endpoints(ec2: Any, vpc_id: str) -> dict[str, dict[str, Any]]:
    items = ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["VpcEndpoints"]
    return _by_logical(items, "VpcEndpointId")


def _subnets(ec2: Any, vpc_id: str) -> dict[str, dict[str, Any]]:
    items = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]
    return _by_logical(items, "SubnetId")


def _groups(ec2: Any, vpc_id: str) -> dict[str, dict[str, Any]]:
    items = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["SecurityGroups"]
    return _by_logical(items, "GroupId")


def test_a_build_puts_one_endpoint_per_service_in_the_first_private_tier_with_our_group_and_private_dns(emu, spec):
    built = emu.build(spec)
    assert built.status == "SUCCEEDED", built.cause
    ec2 = emu.client("ec2")
    zones = built.output["availabilityZones"]

    endpoints = _endpoints(ec2, built.vpc_id)
    subnets = _subnets(ec2, built.vpc_id)
    groups = _groups(ec2, built.vpc_id)

    # Then three interface endpoints, available, in the private tier's subnets (one a zone)
    interface = {k: v for k, v in endpoints.items() if v["VpcEndpointType"].lower() == "interface"}
    assert set(interface) == {f"vpce/{s}" for s in SERVICES}
    group = groups["sg/endpoints"]
    for service in SERVICES:
        endpoint = interface[f"vpce/{service}"]
        assert endpoint["ServiceName"] == f"com.amazonaws.us-east-1.{service}"
        assert endpoint["State"].lower() == "available"
        assert endpoint["PrivateDnsEnabled"] is True
        assert sorted(endpoint["SubnetIds"]) == sorted(subnets[f"subnet/private/{z}"]["SubnetId"] for z in zones)
        assert [g["GroupId"] for g in endpoint["Groups"]] == [group["GroupId"]]
        assert tag_dict(endpoint["Tags"])["vpcfactory:vpc"] == spec["name"]
    # And our group allows 443 from the VPC's CIDR, and nothing else in
    assert [
        (r["IpProtocol"], r["FromPort"], r["ToPort"], [x["CidrIp"] for x in r["IpRanges"]])
        for r in group["IpPermissions"]
    ] == [("tcp", 443, 443, ["10.0.0.0/16"])]
    # And the VPC's DNS attributes are on (private DNS needs both)
    for attribute, key in (("enableDnsSupport", "EnableDnsSupport"), ("enableDnsHostnames", "EnableDnsHostnames")):
        assert ec2.describe_vpc_attribute(VpcId=built.vpc_id, Attribute=attribute)[key]["Value"] is True
    # And Verify reported them
    assert {e["logicalId"] for e in built.output["interfaceEndpoints"]} == {f"vpce/{s}" for s in SERVICES}


def test_a_service_offered_in_fewer_zones_gets_an_endpoint_only_there(emu, spec):
    zones = [z["ZoneName"] for z in emu.client("ec2").describe_availability_zones()["AvailabilityZones"]][:3]
    emu.reconfigure(EmulatorSettings(time_scale=TIME_SCALE, endpoint_service_zones={"ssm": zones[:2]}))

    built = emu.build(spec)

    assert built.status == "SUCCEEDED", built.cause
    ec2 = emu.client("ec2")
    subnets = _subnets(ec2, built.vpc_id)
    endpoints = _endpoints(ec2, built.vpc_id)
    assert sorted(endpoints["vpce/ssm"]["SubnetIds"]) == sorted(
        subnets[f"subnet/private/{z}"]["SubnetId"] for z in zones[:2]
    )
    assert len(endpoints["vpce/ssmmessages"]["SubnetIds"]) == 3


def test_destroy_waits_for_the_endpoints_then_deletes_the_group_subnets_and_vpc(emu, spec):
    built = emu.build(spec)
    assert built.status == "SUCCEEDED", built.cause
    ec2 = emu.client("ec2")

    destroyed = emu.destroy(built.vpc_id)

    assert destroyed.status == "SUCCEEDED", destroyed.cause
    endpoints = _endpoints(ec2, built.vpc_id)
    assert {
        k: e["State"].lower() for k, e in endpoints.items() if k.startswith("vpce/ss") or k == "vpce/ec2messages"
    } == {f"vpce/{s}": "deleted" for s in SERVICES}
    assert tagged_with_execution(ec2, execution_name(built)) == []
    assert not ec2.describe_vpcs(Filters=[{"Name": "vpc-id", "Values": [built.vpc_id]}])["Vpcs"]


def test_an_endpoint_that_fails_mid_build_rolls_everything_back(emu, spec):
    # Given EC2 refusing the second interface endpoint
    emu.reconfigure(
        EmulatorSettings(time_scale=TIME_SCALE, faults=[parse_fault("CreateVpcEndpoint:2=InvalidParameter")])
    )

    result = emu.build(spec)

    # Then the build fails and its rollback leaves nothing of it: endpoints, group, subnets, VPC
    assert result.status == "FAILED"
    assert "InvalidParameter" in (result.cause or "")
    ec2 = emu.client("ec2")
    assert tagged_with_execution(ec2, execution_name(result)) == []


def test_a_zone_added_later_joins_every_interface_endpoint(emu, spec):
    first = emu.build(spec)
    assert first.status == "SUCCEEDED", first.cause

    second = emu.build({**spec, "availabilityZones": 4})

    assert second.status == "SUCCEEDED", second.cause
    assert second.vpc_id == first.vpc_id
    ec2 = emu.client("ec2")
    subnets = _subnets(ec2, first.vpc_id)
    zones = second.output["availabilityZones"]
    for service in SERVICES:
        endpoint = _endpoints(ec2, first.vpc_id)[f"vpce/{service}"]
        assert sorted(endpoint["SubnetIds"]) == sorted(subnets[f"subnet/private/{z}"]["SubnetId"] for z in zones)


def test_verify_fails_when_an_endpoint_loses_a_planned_subnet(emu, spec):
    built = emu.build(spec)
    assert built.status == "SUCCEEDED", built.cause
    ec2 = emu.client("ec2")
    zones = ec2.describe_availability_zones()["AvailabilityZones"]
    plan = plan_network(parse_spec(spec), zones)
    verify_network(plan, execution_name(built), built.vpc_id, ec2)  # as built: passes
    ssm = _endpoints(ec2, built.vpc_id)["vpce/ssm"]

    ec2.modify_vpc_endpoint(VpcEndpointId=ssm["VpcEndpointId"], RemoveSubnetIds=ssm["SubnetIds"][:1])

    with pytest.raises(VerificationFailed) as exc:
        verify_network(plan, execution_name(built), built.vpc_id, ec2)
    assert f"interface endpoint vpce/ssm ({ssm['VpcEndpointId']}) is in subnets" in str(exc.value)
    assert "vpce/ssmmessages" not in str(exc.value)
