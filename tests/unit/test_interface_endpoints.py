"""The spec's interfaceEndpoints, their plan, cost and checks (functions/vpcfactory/interface_endpoints.py):
pure, no AWS call."""

from __future__ import annotations

from typing import Any

import pytest

from vpcfactory import interface_endpoints, interface_endpoints_spec, waits
from vpcfactory.errors import InvalidSpec, VpcEndpointFailed
from vpcfactory.plan import plan_network
from vpcfactory.pricing import prices
from vpcfactory.spec import parse_spec

ZONES = [
    {"ZoneName": f"us-east-1{letter}", "ZoneId": f"use1-az{n}", "State": "available", "RegionName": "us-east-1"}
    for n, letter in enumerate("abcdef", start=1)
]


def spec_with(value: Any, **overrides: Any) -> dict[str, Any]:
    return {
        "name": "demo",
        "cidr": "10.0.0.0/16",
        "availabilityZones": 3,
        "natGateways": "single",
        "tiers": [
            {"name": "public", "type": "public", "prefixLength": 24},
            {"name": "app", "type": "private", "prefixLength": 20},
            {"name": "data", "type": "isolated", "prefixLength": 24},
        ],
        "interfaceEndpoints": value,
        **overrides,
    }


def test_a_list_of_services_goes_in_the_first_private_tier():
    spec = parse_spec(spec_with(["ssm", "ssmmessages", "ec2messages"]))
    assert spec.interface_endpoints == interface_endpoints_spec.InterfaceEndpoints(
        ("ssm", "ssmmessages", "ec2messages"), "app"
    )


def test_the_mapping_form_names_the_tier():
    spec = parse_spec(spec_with({"services": ["ecr.api", "ecr.dkr"], "tier": "data"}))
    assert spec.interface_endpoints == interface_endpoints_spec.InterfaceEndpoints(("ecr.api", "ecr.dkr"), "data")


def test_without_a_private_tier_the_first_isolated_tier_hosts_them():
    raw = spec_with(["ssm"], natGateways="none")
    raw["tiers"] = [t for t in raw["tiers"] if t["type"] != "private"]
    assert parse_spec(raw).interface_endpoints == interface_endpoints_spec.InterfaceEndpoints(("ssm",), "data")


@pytest.mark.parametrize("value", [None, []])
def test_no_services_means_no_interface_endpoints(value):
    spec = parse_spec(spec_with(value))
    assert spec.interface_endpoints is None
    assert spec.to_dict()["interfaceEndpoints"] is None


@pytest.mark.parametrize(
    ("value", "field", "words"),
    [
        (["ssm", "ssm"], "interfaceEndpoints[1]", "listed twice"),
        (["SSM"], "interfaceEndpoints[0]", "not a service name"),
        (["com.amazonaws.us-east-1.ssm"], "interfaceEndpoints[0]", "give the short name"),
        ([3], "interfaceEndpoints[0]", "must be a string"),
        (["s3"], "interfaceEndpoints[0]", "gatewayEndpoints.s3"),
        ("ssm", "interfaceEndpoints", "must be a list"),
        ({"services": ["ssm"], "tier": "nope"}, "interfaceEndpoints.tier", "not a tier of this spec"),
        ({"services": ["ssm"], "tier": "public"}, "interfaceEndpoints.tier", "public tier"),
        ({"services": "ssm"}, "interfaceEndpoints.services", "must be a list"),
        ({"tier": "app"}, "interfaceEndpoints.services", "required"),
        ({"services": ["ssm"], "zones": 2}, "interfaceEndpoints.zones", "unknown field"),
        ({"services": ["ok", "bad name"]}, "interfaceEndpoints.services[1]", "not a service name"),
    ],
)
def test_a_bad_interface_endpoints_value_is_refused_naming_the_field(value, field, words):
    with pytest.raises(InvalidSpec) as exc:
        parse_spec(spec_with(value))
    assert exc.value.field == field
    assert words in exc.value.reason


def test_a_spec_without_a_private_or_isolated_tier_is_refused():
    raw = spec_with(["ssm"], natGateways="none")
    raw["tiers"] = raw["tiers"][:1]
    with pytest.raises(InvalidSpec) as exc:
        parse_spec(raw)
    assert exc.value.field == "interfaceEndpoints"
    assert "private or isolated tier" in exc.value.reason


def test_an_s3_interface_endpoint_is_allowed_once_the_gateway_endpoint_is_off():
    spec = parse_spec(spec_with(["s3"], gatewayEndpoints={"s3": False}))
    assert spec.interface_endpoints is not None and spec.interface_endpoints.services == ("s3",)


@pytest.mark.parametrize("value", [["ssm"], {"services": ["ecr.api", "logs"], "tier": "data"}])
def test_the_normal_form_parses_back_to_the_same_spec(value):
    spec = parse_spec(spec_with(value))
    assert parse_spec(spec.to_dict()) == spec


def test_the_plan_lists_one_endpoint_per_service_in_every_zone_of_the_tier_and_our_group():
    plan = plan_network(parse_spec(spec_with(["ssm", "ecr.api"])), ZONES)
    zones = ["us-east-1a", "us-east-1b", "us-east-1c"]
    assert plan["interfaceEndpoints"] == [
        {
            "logicalId": "vpce/ssm",
            "service": "ssm",
            "name": "demo-ssm",
            "tier": "app",
            "subnets": [f"subnet/app/{z}" for z in zones],
        },
        {
            "logicalId": "vpce/ecr.api",
            "service": "ecr.api",
            "name": "demo-ecr-api",
            "tier": "app",
            "subnets": [f"subnet/app/{z}" for z in zones],
        },
    ]
    assert plan["endpointSecurityGroup"] == {"logicalId": "sg/endpoints", "name": "demo-endpoints"}


def test_a_plan_without_interface_endpoints_has_none_and_no_group():
    plan = plan_network(parse_spec(spec_with(None)), ZONES)
    assert plan["interfaceEndpoints"] == []
    assert plan["endpointSecurityGroup"] is None


def test_the_hourly_cost_is_the_per_zone_price_times_endpoint_zones():
    plan = plan_network(parse_spec(spec_with(["ssm", "ssmmessages", "ec2messages"])), ZONES)
    table = prices()
    cost = interface_endpoints_spec.hourly_cost(plan, table)
    assert table["interfaceEndpointAzHourly"] == 0.01
    assert cost == {"perAzHour": 0.01, "endpointAzs": 9, "hourly": 0.09, "monthly": round(0.09 * 730, 2)}


def test_the_wait_knows_interface_and_gateway_endpoints():
    kind = waits.kind_of("vpce-0abc")
    assert kind is waits.INTERFACE_ENDPOINT
    assert not kind.ready({"VpcEndpointType": "Interface", "State": "pending"})
    assert kind.ready({"VpcEndpointType": "Interface", "State": "Available"})
    assert kind.ready({"VpcEndpointType": "Gateway", "State": "available"})
    failure = kind.failure({"VpcEndpointId": "vpce-1", "ServiceName": "x", "State": "Failed"})
    assert isinstance(failure, VpcEndpointFailed)
    assert kind.failure({"VpcEndpointId": "vpce-1", "State": "pending"}) is None


def test_only_interface_endpoints_not_yet_deleted_are_waited_for_in_a_teardown():
    items = [
        {"VpcEndpointId": "vpce-1", "VpcEndpointType": "Interface", "State": "deleting"},
        {"VpcEndpointId": "vpce-2", "VpcEndpointType": "Interface", "State": "deleted"},
        {"VpcEndpointId": "vpce-3", "VpcEndpointType": "Gateway", "State": "available"},
    ]
    assert interface_endpoints.deleting_ids(items) == ["vpce-1"]


def test_removing_a_service_from_the_spec_is_a_refused_change():
    plan = plan_network(parse_spec(spec_with(["ssm"])), ZONES)
    ours = {
        "vpce/ssm": {"VpcEndpointType": "Interface", "ServiceName": "com.amazonaws.us-east-1.ssm"},
        "vpce/kms": {"VpcEndpointType": "Interface", "ServiceName": "com.amazonaws.us-east-1.kms"},
        "vpce/s3": {"VpcEndpointType": "Gateway", "ServiceName": "com.amazonaws.us-east-1.s3"},
    }
    assert interface_endpoints.refused(plan, ours) == ["vpce/kms (com.amazonaws.us-east-1.kms) would be removed"]
