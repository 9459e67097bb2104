"""S3 and DynamoDB gateway endpoints through a network's life: every private and isolated route
table routes to them, a zone added later included; Verify checks that; destroy deletes them, and
reports failure when EC2 will not (issue 12)."""

from __future__ import annotations

import json
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


def _endpoints(ec2: Any, vpc_id: str) -> dict[str, dict[str, Any]]:
    """The VPC's endpoints by logical id (deleted ones included)."""
    items = ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["VpcEndpoints"]
    return {tag_dict(e.get("Tags")).get(TAG_LOGICAL_ID, e["VpcEndpointId"]): e for e in items}


def _tables(ec2: Any, vpc_id: str) -> dict[str, dict[str, Any]]:
    items = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["RouteTables"]
    return {tag_dict(t.get("Tags")).get(TAG_LOGICAL_ID, "main"): t for t in items}


def _routes_to(table: dict[str, Any], endpoint_id: str) -> list[dict[str, Any]]:
    return [r for r in table["Routes"] if r.get("GatewayId") == endpoint_id and r.get("DestinationPrefixListId")]


def _plan(ec2: Any, spec: dict[str, Any]) -> dict[str, Any]:
    zones = ec2.describe_availability_zones(AllAvailabilityZones=False)["AvailabilityZones"]
    return plan_network(parse_spec(spec), zones)


@pytest.fixture
def grown(emu, production_spec):
    """The production example built in 3 zones, then applied again with 4."""
    first = emu.build(production_spec)
    assert first.status == "SUCCEEDED", first.cause
    second = emu.build({**production_spec, "availabilityZones": 4})
    assert second.status == "SUCCEEDED", second.cause
    assert second.vpc_id == first.vpc_id
    return first, second


def test_a_zone_added_later_gets_routes_to_every_gateway_endpoint(emu, grown):
    _, second = grown
    ec2 = emu.client("ec2")
    zone = second.output["availabilityZones"][3]

    endpoints = _endpoints(ec2, second.vpc_id)
    tables = _tables(ec2, second.vpc_id)

    # Then both endpoints serve exactly the private and isolated tables, the new zone's included,
    # and each of those tables routes the service's prefix list to the endpoint
    served = {f"rtb/private/{z}" for z in second.output["availabilityZones"]} | {"rtb/database"}
    assert f"rtb/private/{zone}" in served
    assert set(endpoints) == {"vpce/s3", "vpce/dynamodb"}
    for logical, endpoint in endpoints.items():
        assert sorted(endpoint["RouteTableIds"]) == sorted(tables[t]["RouteTableId"] for t in served), logical
        for table in served:
            assert len(_routes_to(tables[table], endpoint["VpcEndpointId"])) == 1, f"{table} has no route to {logical}"
        assert _routes_to(tables["rtb/public"], endpoint["VpcEndpointId"]) == []


def test_destroying_a_grown_vpc_deletes_its_gateway_endpoints_and_leaves_nothing(emu, grown):
    first, second = grown
    ec2 = emu.client("ec2")

    destroyed = emu.destroy(first.vpc_id)

    assert destroyed.status == "SUCCEEDED", destroyed.cause
    endpoints = _endpoints(ec2, first.vpc_id)
    assert {logical: e["State"].lower() for logical, e in endpoints.items()} == {
        "vpce/s3": "deleted",
        "vpce/dynamodb": "deleted",
    }
    assert tagged_with_execution(ec2, execution_name(first)) == []
    assert tagged_with_execution(ec2, execution_name(second)) == []
    assert not ec2.describe_vpcs(Filters=[{"Name": "vpc-id", "Values": [first.vpc_id]}])["Vpcs"]


def test_a_destroy_whose_endpoint_delete_answers_another_resources_not_found_fails_and_says_what_is_left(
    emu, production_spec
):
    # Given a built VPC, and EC2 answering its DeleteVpcEndpoints with a NotFound about a route
    built = emu.build(production_spec)
    assert built.status == "SUCCEEDED", built.cause
    ec2 = emu.client("ec2")
    emu.reconfigure(
        EmulatorSettings(time_scale=TIME_SCALE, faults=[parse_fault("DeleteVpcEndpoints:1=InvalidRoute.NotFound")])
    )

    # When the VPC is destroyed
    result = emu.destroy(built.vpc_id)

    # Then the destroy does not report success: its cause names the error and lists the endpoints
    assert result.status == "FAILED"
    assert result.error == "DestroyIncomplete"
    report = json.loads(result.cause)
    assert "InvalidRoute.NotFound" in json.dumps(report["teardownError"])
    left = {item["logicalId"] for item in report["leftovers"] if item["type"] == "vpc-endpoint"}
    assert left == {"vpce/s3", "vpce/dynamodb"}
    assert {e["State"].lower() for e in _endpoints(ec2, built.vpc_id).values()} == {"available"}


def test_verify_fails_when_a_gateway_endpoint_lacks_a_planned_route_table(emu, production_spec):
    built = emu.build(production_spec)
    assert built.status == "SUCCEEDED", built.cause
    ec2 = emu.client("ec2")
    plan = _plan(ec2, production_spec)
    verify_network(plan, execution_name(built), built.vpc_id, ec2)  # as built: passes
    database = _tables(ec2, built.vpc_id)["rtb/database"]["RouteTableId"]
    s3 = _endpoints(ec2, built.vpc_id)["vpce/s3"]["VpcEndpointId"]

    # When someone takes the isolated tier's table off the S3 endpoint
    ec2.modify_vpc_endpoint(VpcEndpointId=s3, RemoveRouteTableIds=[database])

    with pytest.raises(VerificationFailed) as exc:
        verify_network(plan, execution_name(built), built.vpc_id, ec2)
    message = str(exc.value)
    assert f"gateway endpoint vpce/s3 ({s3}) is not associated with route table rtb/database ({database})" in message
    assert f"route table rtb/database ({database}) has no route to gateway endpoint vpce/s3" in message
    assert "vpce/dynamodb" not in message


def test_verify_fails_when_a_planned_route_table_lacks_the_endpoints_route(emu, production_spec):
    built = emu.build(production_spec)
    assert built.status == "SUCCEEDED", built.cause
    ec2 = emu.client("ec2")
    zone = built.output["availabilityZones"][0]
    table = _tables(ec2, built.vpc_id)[f"rtb/private/{zone}"]
    dynamodb = _endpoints(ec2, built.vpc_id)["vpce/dynamodb"]["VpcEndpointId"]
    [route] = _routes_to(table, dynamodb)

    # When the endpoint's route is deleted by hand (the endpoint still lists the table)
    ec2.delete_route(RouteTableId=table["RouteTableId"], DestinationPrefixListId=route["DestinationPrefixListId"])

    with pytest.raises(VerificationFailed) as exc:
        verify_network(_plan(ec2, production_spec), execution_name(built), built.vpc_id, ec2)
    assert (
        f"route table rtb/private/{zone} ({table['RouteTableId']}) has no route to gateway endpoint vpce/dynamodb"
        in str(exc.value)
    )


def test_verify_fails_when_a_gateway_endpoint_serves_a_route_table_the_plan_does_not_give_it(emu, production_spec):
    built = emu.build(production_spec)
    assert built.status == "SUCCEEDED", built.cause
    ec2 = emu.client("ec2")
    public = _tables(ec2, built.vpc_id)["rtb/public"]["RouteTableId"]
    s3 = _endpoints(ec2, built.vpc_id)["vpce/s3"]["VpcEndpointId"]

    ec2.modify_vpc_endpoint(VpcEndpointId=s3, AddRouteTableIds=[public])

    with pytest.raises(VerificationFailed) as exc:
        verify_network(_plan(ec2, production_spec), execution_name(built), built.vpc_id, ec2)
    assert f"gateway endpoint vpce/s3 ({s3}) also serves route tables the plan does not give it: {public}" in str(
        exc.value
    )
