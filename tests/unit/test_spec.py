"""parse_spec: every kind of bad input is rejected with InvalidSpec naming the exact field."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import pytest

from vpcfactory.errors import InvalidSpec
from vpcfactory.spec import parse_spec, split_input

BASE: dict[str, Any] = {
    "name": "production",
    "cidr": "10.0.0.0/16",
    "availabilityZones": 2,
    "natGateways": "single",
    "tiers": [
        {"name": "public", "type": "public", "prefixLength": 24},
        {"name": "private", "type": "private", "prefixLength": 22},
        {"name": "database", "type": "isolated", "prefixLength": 24},
    ],
    "tags": {"Environment": "Production"},
}


def make(**changes: Any) -> dict[str, Any]:
    """BASE with top-level fields replaced; a value of ... deletes the field."""
    raw = copy.deepcopy(BASE)
    for key, value in changes.items():
        if value is ...:
            raw.pop(key, None)
        else:
            raw[key] = value
    return raw


def with_tier(index: int, **changes: Any) -> dict[str, Any]:
    """BASE with fields of one tier replaced (... deletes)."""
    raw = make()
    for key, value in changes.items():
        if value is ...:
            raw["tiers"][index].pop(key, None)
        else:
            raw["tiers"][index][key] = value
    return raw


def rejected(raw: Any) -> InvalidSpec:
    with pytest.raises(InvalidSpec) as exc:
        parse_spec(raw)
    return exc.value


# (what is wrong, the input, the field the error must name)
REJECTIONS = [
    ("the spec is not a mapping", ["name", "x"], "spec"),
    ("an unknown top-level key", make(vpcName="x"), "vpcName"),
    ("name is missing", make(name=...), "name"),
    ("name is not a string", make(name=7), "name"),
    ("name has capitals", make(name="Production"), "name"),
    ("name starts with a dash", make(name="-prod"), "name"),
    ("name ends with a dash", make(name="prod-"), "name"),
    ("name has an underscore", make(name="prod_1"), "name"),
    ("name is 33 characters", make(name="a" * 33), "name"),
    ("cidr is missing", make(cidr=...), "cidr"),
    ("cidr has host bits set", make(cidr="10.0.0.1/16"), "cidr"),
    ("cidr is not an address", make(cidr="banana/16"), "cidr"),
    ("cidr has no prefix length", make(cidr="10.0.0.0"), "cidr"),
    ("cidr is wider than /16", make(cidr="10.0.0.0/15"), "cidr"),
    ("cidr is narrower than /28", make(cidr="10.0.0.0/29"), "cidr"),
    ("cidr is IPv6", make(cidr="2001:db8::/56"), "cidr"),
    ("cidr is multicast", make(cidr="224.0.0.0/16"), "cidr"),
    ("availabilityZones is missing", make(availabilityZones=...), "availabilityZones"),
    ("availabilityZones is a word", make(availabilityZones="two"), "availabilityZones"),
    ("availabilityZones is 0", make(availabilityZones=0), "availabilityZones"),
    ("availabilityZones is 7", make(availabilityZones=7), "availabilityZones"),
    ("availabilityZones is a boolean", make(availabilityZones=True), "availabilityZones"),
    ("availabilityZones is an empty list", make(availabilityZones=[]), "availabilityZones"),
    ("a zone is not a zone", make(availabilityZones=["us-east-1a", "east"]), "availabilityZones[1]"),
    ("a zone is not a string", make(availabilityZones=[1]), "availabilityZones[0]"),
    ("a zone is listed twice", make(availabilityZones=["us-east-1a", "us-east-1a"]), "availabilityZones[1]"),
    ("zone names and IDs are mixed", make(availabilityZones=["us-east-1a", "use1-az2"]), "availabilityZones"),
    ("natGateways is an unknown mode", make(natGateways="both"), "natGateways"),
    ("natGateways is more NATs than zones", make(natGateways=3), "natGateways"),
    ("natGateways is negative", make(natGateways=-1), "natGateways"),
    ("natGateways is a boolean", make(natGateways=True), "natGateways"),
    ("natGateways is a fraction", make(natGateways=1.5), "natGateways"),
    ("natGateways is the word count", make(natGateways="count"), "natGateways"),
    ("natGateways.mode is an unknown mode", make(natGateways={"mode": "many"}), "natGateways.mode"),
    ("natGateways has an unknown key", make(natGateways={"mode": "single", "size": 1}), "natGateways.size"),
    ("natGateways.count exceeds the zones", make(natGateways={"count": 3}), "natGateways.count"),
    ("natGateways.count is negative", make(natGateways={"count": -1}), "natGateways.count"),
    ("natGateways.count is a string", make(natGateways={"count": "2"}), "natGateways.count"),
    ("natGateways.count is a boolean", make(natGateways={"count": True}), "natGateways.count"),
    ("mode single with count 2", make(natGateways={"mode": "single", "count": 2}), "natGateways.count"),
    ("mode none with count 1", make(natGateways={"mode": "none", "count": 1}), "natGateways.count"),
    ("mode per-az with a count", make(natGateways={"mode": "per-az", "count": 2}), "natGateways.count"),
    ("mode count without a count", make(natGateways={"mode": "count"}), "natGateways.count"),
    (
        "a count of NATs without a public tier",
        make(natGateways=1, tiers=[{"name": "app", "type": "private", "prefixLength": 24}]),
        "natGateways",
    ),
    (
        "two NATs with one EIP",
        make(natGateways={"count": 2, "eipAllocationIds": ["eipalloc-0123abcd"]}),
        "natGateways.eipAllocationIds",
    ),
    (
        "an EIP allocation id is malformed",
        make(natGateways={"mode": "single", "eipAllocationIds": ["eip-1"]}),
        "natGateways.eipAllocationIds[0]",
    ),
    (
        "an EIP allocation id is repeated",
        make(natGateways={"mode": "per-az", "eipAllocationIds": ["eipalloc-0123abcd", "eipalloc-0123abcd"]}),
        "natGateways.eipAllocationIds[1]",
    ),
    (
        "per-az with one EIP for two zones",
        make(natGateways={"mode": "per-az", "eipAllocationIds": ["eipalloc-0123abcd"]}),
        "natGateways.eipAllocationIds",
    ),
    (
        "EIPs given with no NAT",
        make(natGateways={"mode": "none", "eipAllocationIds": ["eipalloc-0123abcd"]}),
        "natGateways.eipAllocationIds",
    ),
    (
        "a NAT without a public tier",
        make(tiers=[{"name": "app", "type": "private", "prefixLength": 24}]),
        "natGateways",
    ),
    ("tiers is missing", make(tiers=...), "tiers"),
    ("tiers is empty", make(tiers=[]), "tiers"),
    ("tiers is a mapping", make(tiers={"public": 24}), "tiers"),
    (
        "nine tiers",
        make(tiers=[{"name": f"t{i}", "type": "public", "prefixLength": 28} for i in range(9)]),
        "tiers",
    ),
    ("a tier is not a mapping", make(tiers=["public"]), "tiers[0]"),
    ("a tier has an unknown key", with_tier(1, size=24), "tiers[1].size"),
    ("a tier has no name", with_tier(1, name=...), "tiers[1].name"),
    ("a tier name starts with a digit", with_tier(1, name="1app"), "tiers[1].name"),
    ("a tier name is 21 characters", with_tier(1, name="a" * 21), "tiers[1].name"),
    ("a tier name is repeated", with_tier(2, name="public"), "tiers[2].name"),
    ("a tier type is unknown", with_tier(0, type="dmz"), "tiers[0].type"),
    ("a tier has no type", with_tier(0, type=...), "tiers[0].type"),
    ("a tier has neither prefixLength nor cidrs", with_tier(1, prefixLength=...), "tiers[1].prefixLength"),
    (
        "a tier has both prefixLength and cidrs",
        with_tier(1, cidrs=["10.0.100.0/24", "10.0.101.0/24"]),
        "tiers[1].cidrs",
    ),
    ("prefixLength is a string", with_tier(1, prefixLength="24"), "tiers[1].prefixLength"),
    ("prefixLength is a boolean", with_tier(1, prefixLength=True), "tiers[1].prefixLength"),
    ("prefixLength is /29", with_tier(1, prefixLength=29), "tiers[1].prefixLength"),
    ("prefixLength is /15", with_tier(1, prefixLength=15), "tiers[1].prefixLength"),
    (
        "prefixLength is wider than the VPC",
        {**with_tier(0, prefixLength=18), "cidr": "10.0.0.0/20"},
        "tiers[0].prefixLength",
    ),
    ("cidrs is a string", with_tier(1, prefixLength=..., cidrs="10.0.100.0/24"), "tiers[1].cidrs"),
    (
        "cidrs has one CIDR for two zones",
        with_tier(1, prefixLength=..., cidrs=["10.0.100.0/24"]),
        "tiers[1].cidrs",
    ),
    (
        "an explicit CIDR has host bits set",
        with_tier(1, prefixLength=..., cidrs=["10.0.100.0/24", "10.0.101.1/24"]),
        "tiers[1].cidrs[1]",
    ),
    (
        "an explicit CIDR is outside the VPC",
        with_tier(1, prefixLength=..., cidrs=["10.0.100.0/24", "10.1.0.0/24"]),
        "tiers[1].cidrs[1]",
    ),
    (
        "an explicit CIDR is /29",
        with_tier(1, prefixLength=..., cidrs=["10.0.100.0/24", "10.0.101.0/29"]),
        "tiers[1].cidrs[1]",
    ),
    (
        "an explicit CIDR is not a string",
        with_tier(1, prefixLength=..., cidrs=["10.0.100.0/24", 24]),
        "tiers[1].cidrs[1]",
    ),
    (
        "a private tier maps public IPs",
        with_tier(1, mapPublicIpOnLaunch=True),
        "tiers[1].mapPublicIpOnLaunch",
    ),
    (
        "mapPublicIpOnLaunch is a string",
        with_tier(0, mapPublicIpOnLaunch="yes"),
        "tiers[0].mapPublicIpOnLaunch",
    ),
    ("azReservation is below the zone count", make(availabilityZones=3, azReservation=2), "azReservation"),
    ("azReservation is above 16", make(azReservation=17), "azReservation"),
    ("azReservation is a string", make(azReservation="4"), "azReservation"),
    ("tags is a list", make(tags=["Environment"]), "tags"),
    ("a tag key starts with aws:", make(tags={"aws:foo": "x"}), "tags.aws:foo"),
    ("a tag key starts with AWS: in capitals", make(tags={"AWS:Foo": "x"}), "tags.AWS:Foo"),
    ("a tag key starts with vpcfactory:", make(tags={"vpcfactory:vpc": "x"}), "tags.vpcfactory:vpc"),
    ("a tag sets Name", make(tags={"Name": "mine"}), "tags.Name"),
    ("a tag key is empty", make(tags={"": "x"}), "tags."),
    ("a tag key is 129 characters", make(tags={"k" * 129: "x"}), "tags." + "k" * 129),
    ("a tag value is 257 characters", make(tags={"Owner": "v" * 257}), "tags.Owner"),
    ("a tag value is a number", make(tags={"CostCenter": 1234}), "tags.CostCenter"),
    ("41 tags", make(tags={f"k{i}": "v" for i in range(41)}), "tags"),
    ("a tier tag key starts with aws:", with_tier(2, tags={"aws:x": "y"}), "tiers[2].tags.aws:x"),
    ("a tier tag sets Name", with_tier(2, tags={"Name": "db"}), "tiers[2].tags.Name"),
    (
        "tier and spec tags together exceed 40",
        with_tier(2, tags={f"t{i}": "v" for i in range(40)}),
        "tiers[2].tags",
    ),
    # -- IPv6
    ("ipv6 is a string", make(ipv6="yes"), "ipv6"),
    (
        "a tier assigns IPv6 addresses without ipv6",
        with_tier(1, assignIpv6AddressOnCreation=True),
        "tiers[1].assignIpv6AddressOnCreation",
    ),
    (
        "assignIpv6AddressOnCreation is a string",
        {**with_tier(2, assignIpv6AddressOnCreation="true"), "ipv6": True},
        "tiers[2].assignIpv6AddressOnCreation",
    ),
    # -- flow logs
    ("flowLogs is a string", make(flowLogs="on"), "flowLogs"),
    ("flowLogs is a list", make(flowLogs=["s3"]), "flowLogs"),
    ("flowLogs has an unknown key", make(flowLogs={"logFormat": "x"}), "flowLogs.logFormat"),
    ("flowLogs.destination is unknown", make(flowLogs={"destination": "kinesis"}), "flowLogs.destination"),
    (
        "retentionDays is not a CloudWatch value",
        make(flowLogs={"retentionDays": 31}),
        "flowLogs.retentionDays",
    ),
    ("retentionDays is 0", make(flowLogs={"retentionDays": 0}), "flowLogs.retentionDays"),
    ("retentionDays is a string", make(flowLogs={"retentionDays": "30"}), "flowLogs.retentionDays"),
    ("retentionDays is a boolean", make(flowLogs={"retentionDays": True}), "flowLogs.retentionDays"),
    (
        "retentionDays with destination s3",
        make(flowLogs={"destination": "s3", "bucketArn": "arn:aws:s3:::logs-bucket", "retentionDays": 30}),
        "flowLogs.retentionDays",
    ),
    ("logGroupName has a space", make(flowLogs={"logGroupName": "/vpc logs"}), "flowLogs.logGroupName"),
    ("logGroupName has a colon", make(flowLogs={"logGroupName": "vpc:logs"}), "flowLogs.logGroupName"),
    ("logGroupName is empty", make(flowLogs={"logGroupName": ""}), "flowLogs.logGroupName"),
    ("logGroupName is 513 characters", make(flowLogs={"logGroupName": "a" * 513}), "flowLogs.logGroupName"),
    ("logGroupName starts with aws/", make(flowLogs={"logGroupName": "aws/flow"}), "flowLogs.logGroupName"),
    ("logGroupName is a number", make(flowLogs={"logGroupName": 7}), "flowLogs.logGroupName"),
    (
        "logGroupName with destination s3",
        make(flowLogs={"destination": "s3", "bucketArn": "arn:aws:s3:::logs-bucket", "logGroupName": "/x"}),
        "flowLogs.logGroupName",
    ),
    ("s3 without a bucketArn", make(flowLogs={"destination": "s3"}), "flowLogs.bucketArn"),
    (
        "bucketArn is a bucket name",
        make(flowLogs={"destination": "s3", "bucketArn": "logs-bucket"}),
        "flowLogs.bucketArn",
    ),
    (
        "bucketArn is another service's ARN",
        make(flowLogs={"destination": "s3", "bucketArn": "arn:aws:logs:us-east-1:111122223333:log-group:x"}),
        "flowLogs.bucketArn",
    ),
    (
        "bucketArn has capitals in the bucket name",
        make(flowLogs={"destination": "s3", "bucketArn": "arn:aws:s3:::Logs-Bucket"}),
        "flowLogs.bucketArn",
    ),
    (
        "bucketArn names a 2-character bucket",
        make(flowLogs={"destination": "s3", "bucketArn": "arn:aws:s3:::ab"}),
        "flowLogs.bucketArn",
    ),
    (
        "bucketArn has two dots in a row",
        make(flowLogs={"destination": "s3", "bucketArn": "arn:aws:s3:::logs..bucket"}),
        "flowLogs.bucketArn",
    ),
    (
        "bucketArn's folder is AWSLogs",
        make(flowLogs={"destination": "s3", "bucketArn": "arn:aws:s3:::logs-bucket/AWSLogs/"}),
        "flowLogs.bucketArn",
    ),
    (
        "bucketArn with destination cloud-watch-logs",
        make(flowLogs={"bucketArn": "arn:aws:s3:::logs-bucket"}),
        "flowLogs.bucketArn",
    ),
    (
        "prefix starts with a slash",
        make(flowLogs={"destination": "s3", "bucketArn": "arn:aws:s3:::logs-bucket", "prefix": "/vpc/"}),
        "flowLogs.prefix",
    ),
    (
        "prefix starts with AWSLogs",
        make(flowLogs={"destination": "s3", "bucketArn": "arn:aws:s3:::logs-bucket", "prefix": "AWSLogs/x"}),
        "flowLogs.prefix",
    ),
    (
        "prefix is empty",
        make(flowLogs={"destination": "s3", "bucketArn": "arn:aws:s3:::logs-bucket", "prefix": ""}),
        "flowLogs.prefix",
    ),
    (
        "prefix is a number",
        make(flowLogs={"destination": "s3", "bucketArn": "arn:aws:s3:::logs-bucket", "prefix": 2026}),
        "flowLogs.prefix",
    ),
    (
        "prefix and a folder in bucketArn",
        make(flowLogs={"destination": "s3", "bucketArn": "arn:aws:s3:::logs-bucket/vpc/", "prefix": "prod/"}),
        "flowLogs.prefix",
    ),
    ("prefix with destination cloud-watch-logs", make(flowLogs={"prefix": "vpc/"}), "flowLogs.prefix"),
    ("trafficType is lowercase", make(flowLogs={"trafficType": "all"}), "flowLogs.trafficType"),
    ("trafficType is unknown", make(flowLogs={"trafficType": "DROP"}), "flowLogs.trafficType"),
    (
        "maxAggregationInterval is 300",
        make(flowLogs={"maxAggregationInterval": 300}),
        "flowLogs.maxAggregationInterval",
    ),
    (
        "maxAggregationInterval is a string",
        make(flowLogs={"maxAggregationInterval": "600"}),
        "flowLogs.maxAggregationInterval",
    ),
    # -- gateway endpoints and the default security group
    ("gatewayEndpoints is a list", make(gatewayEndpoints=["s3"]), "gatewayEndpoints"),
    ("gatewayEndpoints names another service", make(gatewayEndpoints={"ec2": True}), "gatewayEndpoints.ec2"),
    ("gatewayEndpoints.s3 is a string", make(gatewayEndpoints={"s3": "yes"}), "gatewayEndpoints.s3"),
    (
        "gatewayEndpoints.dynamodb is a number",
        make(gatewayEndpoints={"dynamodb": 0}),
        "gatewayEndpoints.dynamodb",
    ),
    (
        "lockDownDefaultSecurityGroup is a string",
        make(lockDownDefaultSecurityGroup="true"),
        "lockDownDefaultSecurityGroup",
    ),
]


@pytest.mark.parametrize(
    ("raw", "field"), [(raw, field) for _, raw, field in REJECTIONS], ids=[why for why, _, _ in REJECTIONS]
)
def test_a_bad_spec_is_rejected_naming_the_offending_field(raw, field):
    assert rejected(raw).field == field


def test_host_bits_in_the_vpc_cidr_are_reported_as_such():
    assert "host bits set" in rejected(make(cidr="10.0.0.1/16")).reason


def test_an_error_reads_field_colon_reason():
    exc = rejected(make(availabilityZones="two"))
    assert str(exc).startswith("availabilityZones: ")


def test_the_wrapper_form_gives_the_same_spec_as_the_bare_spec():
    target = {"roleArn": "arn:aws:iam::111122223333:role/VpcFactory"}
    assert parse_spec({"spec": make(), "target": target}) == parse_spec(make())
    assert split_input({"spec": make(), "target": target}) == (make(), target)
    assert split_input(make()) == (make(), None)


def test_the_wrapper_rejects_an_unknown_key_and_a_target_that_is_not_a_mapping():
    assert rejected({"spec": make(), "tagret": {}}).field == "tagret"
    assert rejected({"spec": make(), "target": "prod"}).field == "target"


def test_the_largest_legal_names_and_ranges_are_accepted():
    spec = parse_spec(
        make(
            name="a" * 32,
            cidr="10.0.0.0/16",
            availabilityZones=6,
            azReservation=16,
            tags={f"k{i}": "v" * 256 for i in range(40)},
        )
    )
    assert spec.name == "a" * 32 and spec.az_count == 6 and spec.az_reservation == 16


def test_a_one_character_name_is_accepted():
    assert parse_spec(make(name="a")).name == "a"


def test_zone_names_or_zone_ids_are_kept_in_the_order_given():
    assert parse_spec(make(availabilityZones=["us-east-1c", "us-east-1a"])).availability_zones == (
        "us-east-1c",
        "us-east-1a",
    )
    assert parse_spec(make(availabilityZones=["use1-az4", "use1-az1", "use1-az2"])).az_count == 3


def test_nat_gateways_default_to_single_with_a_public_and_a_private_tier_and_none_without_either():
    assert parse_spec(make(natGateways=...)).nat_mode == "single"
    private_only = make(natGateways=..., tiers=[{"name": "app", "type": "private", "prefixLength": 24}])
    assert parse_spec(private_only).nat_mode == "none"


PUBLIC_ONLY = [
    {"name": "public", "type": "public", "prefixLength": 24},
    {"name": "database", "type": "isolated", "prefixLength": 24},
]


def test_nat_gateways_default_to_none_when_no_private_tier_would_route_through_one():
    # public tiers route to the internet gateway and isolated ones nowhere: a NAT would carry nothing
    spec = parse_spec(make(natGateways=..., tiers=PUBLIC_ONLY))

    assert spec.nat_mode == "none" and spec.nat_gateway_count == 0
    assert spec.to_dict()["natGateways"] == {"mode": "none", "count": 0, "eipAllocationIds": []}


@pytest.mark.parametrize(
    "nat",
    [
        "single",
        "per-az",
        2,
        {"count": 2},
        {"mode": "single", "eipAllocationIds": ["eipalloc-0123abcd"]},
        {"eipAllocationIds": ["eipalloc-0123abcd"]},
    ],
    ids=["single", "per-az", "a count", "a count mapping", "single with an EIP", "an EIP list alone"],
)
def test_nat_gateways_asked_for_without_a_private_tier_are_refused_saying_nothing_would_route_through_them(nat):
    exc = rejected(make(natGateways=nat, tiers=PUBLIC_ONLY))

    assert exc.field == "natGateways"
    assert "no tier would route through them" in exc.reason and "private tier" in exc.reason


def test_refusing_unused_nat_gateways_says_what_they_would_have_cost():
    exc = rejected(make(natGateways="per-az", availabilityZones=3, tiers=PUBLIC_ONLY))

    assert exc.reason.startswith("3 NAT gateways ($109.50 a month at us-east-1 list prices)")


def test_nat_gateways_none_is_still_accepted_without_a_private_tier():
    assert parse_spec(make(natGateways="none", tiers=PUBLIC_ONLY)).nat_gateway_count == 0
    assert parse_spec(make(natGateways=0, tiers=PUBLIC_ONLY)).nat_mode == "none"


def test_public_ips_on_launch_are_off_unless_a_public_tier_asks():
    # Security Hub EC2.15: no subnet auto-assigns public IPs unless the user opts in.
    spec = parse_spec(with_tier(0, mapPublicIpOnLaunch=True))
    assert [t.map_public_ip_on_launch for t in spec.tiers] == [True, False, False]


def test_bring_your_own_eips_are_kept_in_zone_order():
    ids = ["eipalloc-0123456789abcdef0", "eipalloc-0fedcba987654321f"]
    spec = parse_spec(make(natGateways={"mode": "per-az", "eipAllocationIds": ids}))
    assert spec.nat_mode == "per-az" and spec.eip_allocation_ids == tuple(ids)


def test_az_reservation_defaults_to_4_up_to_four_zones_and_6_above():
    assert parse_spec(make(availabilityZones=4)).az_reservation == 4
    assert parse_spec(make(availabilityZones=5)).az_reservation == 6


def test_to_dict_fills_in_the_defaults_and_parses_back_to_the_same_spec():
    spec = parse_spec(make(natGateways=...))
    normalized = spec.to_dict()
    assert normalized["natGateways"] == {"mode": "single", "count": 1, "eipAllocationIds": []}
    assert normalized["azReservation"] == 4
    assert normalized["tiers"][1] == {
        "name": "private",
        "type": "private",
        "prefixLength": 22,
        "mapPublicIpOnLaunch": False,
        "assignIpv6AddressOnCreation": False,
        "tags": {},
    }
    assert normalized["ipv6"] is False
    assert normalized["flowLogs"] == {
        "destination": "cloud-watch-logs",
        "logGroupName": "/vpcfactory/production/flow-logs",
        "retentionDays": 365,
        "trafficType": "ALL",
        "maxAggregationInterval": 600,
    }
    assert normalized["gatewayEndpoints"] == {"s3": True, "dynamodb": True}
    assert normalized["lockDownDefaultSecurityGroup"] is True
    assert parse_spec(normalized) == spec


def test_a_parsed_spec_cannot_be_changed():
    spec = parse_spec(make())
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.name = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        spec.tags["Environment"] = "Dev"  # type: ignore[index]


def test_parsing_does_not_modify_the_input():
    raw = make()
    parse_spec(raw)
    assert raw == make()


# -- NAT gateway count -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("nat", "mode", "count", "normalized"),
    [
        (0, "none", 0, 0),
        (1, "single", 1, 1),
        (2, "count", 2, 2),
        (3, "count", 3, 3),  # as many as zones, but it stays 3 when a 4th zone is added
        ({"count": 2}, "count", 2, 2),
        ({"mode": "count", "count": 2}, "count", 2, 2),
        ({"count": 0}, "none", 0, 0),
        ({"mode": "single", "count": 1}, "single", 1, 1),  # the normal form carries both
        ({"mode": "none", "count": 0}, "none", 0, 0),
        ("per-az", "per-az", 3, None),
        ({"mode": "per-az", "count": None}, "per-az", 3, None),
    ],
)
def test_nat_gateways_accept_a_mode_or_a_count_and_normalize_it(nat, mode, count, normalized):
    spec = parse_spec(make(availabilityZones=3, natGateways=nat))
    assert (spec.nat_mode, spec.nat_gateway_count) == (mode, count)
    assert spec.to_dict()["natGateways"] == {"mode": mode, "count": normalized, "eipAllocationIds": []}
    assert parse_spec(spec.to_dict()) == spec


def test_a_count_of_nat_gateways_takes_one_eip_per_nat():
    ids = ["eipalloc-0123456789abcdef0", "eipalloc-0123456789abcdef1"]
    spec = parse_spec(make(availabilityZones=3, natGateways={"count": 2, "eipAllocationIds": ids}))
    assert spec.nat_count == 2 and spec.eip_allocation_ids == tuple(ids)


def test_the_count_error_names_the_zone_count():
    exc = rejected(make(availabilityZones=2, natGateways=3))
    assert "3 NAT gateways for 2 zones" in exc.reason
    one = rejected(make(availabilityZones=1, natGateways=2))
    assert "2 NAT gateways for 1 zone:" in one.reason


# -- IPv6 ------------------------------------------------------------------------------------------


def test_ipv6_is_off_by_default_and_no_tier_assigns_ipv6_addresses():
    spec = parse_spec(make())
    assert spec.ipv6 is False
    assert [t.assign_ipv6_address_on_creation for t in spec.tiers] == [False] * 3


def test_with_ipv6_every_tier_assigns_ipv6_addresses_unless_it_opts_out():
    spec = parse_spec({**with_tier(2, assignIpv6AddressOnCreation=False), "ipv6": True})
    assert spec.ipv6 is True
    assert [t.assign_ipv6_address_on_creation for t in spec.tiers] == [True, True, False]
    assert parse_spec(spec.to_dict()) == spec


def test_assign_ipv6_false_is_accepted_without_ipv6():
    assert not parse_spec(with_tier(0, assignIpv6AddressOnCreation=False)).tiers[0].assign_ipv6_address_on_creation


def test_ipv6_rejects_tiers_that_need_more_than_the_56s_256_subnets(monkeypatch):
    # With today's limits (8 tiers, azReservation <= 16) 128 /64s is the most a spec can need,
    # so raise the reservation limit to reach the check.
    monkeypatch.setattr("vpcfactory.spec.MAX_AZ_RESERVATION", 64)
    tiers = [{"name": f"t{i}", "type": "isolated", "prefixLength": 28} for i in range(5)]
    raw = make(tiers=tiers, natGateways="none", azReservation=64, ipv6=True)
    exc = rejected(raw)
    assert exc.field == "tiers"
    assert "5 tiers need 320" in exc.reason
    assert parse_spec({**raw, "ipv6": False}).az_reservation == 64  # IPv4 alone fits
    assert parse_spec({**raw, "tiers": tiers[:4]}).ipv6  # 4 x 64 = 256 fits exactly


# -- flow logs -------------------------------------------------------------------------------------


def test_flow_logs_are_on_by_default_to_cloudwatch_for_a_year():
    flow = parse_spec(make()).flow_logs
    assert flow is not None
    assert (flow.destination, flow.log_group_name, flow.retention_days) == (
        "cloud-watch-logs",
        "/vpcfactory/production/flow-logs",
        365,
    )
    assert (flow.traffic_type, flow.max_aggregation_interval) == ("ALL", 600)
    assert (flow.bucket_arn, flow.prefix) == (None, None)
    assert parse_spec(make(flowLogs=True)) == parse_spec(make()) == parse_spec(make(flowLogs={}))


def test_flow_logs_false_turns_them_off_and_survives_to_dict():
    spec = parse_spec(make(flowLogs=False))
    assert spec.flow_logs is None
    assert spec.to_dict()["flowLogs"] is False
    assert parse_spec(spec.to_dict()) == spec


def test_flow_logs_to_cloudwatch_take_a_group_name_retention_traffic_type_and_interval():
    settings = {"logGroupName": "/org/vpc#1_flow.logs", "retentionDays": 3653, "trafficType": "REJECT"}
    spec = parse_spec(make(flowLogs={**settings, "maxAggregationInterval": 60}))
    assert spec.flow_logs is not None
    assert spec.flow_logs.log_group_name == "/org/vpc#1_flow.logs"
    assert (spec.flow_logs.retention_days, spec.flow_logs.traffic_type) == (3653, "REJECT")
    assert spec.flow_logs.max_aggregation_interval == 60
    assert parse_spec(spec.to_dict()) == spec


@pytest.mark.parametrize("days", [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827])
def test_every_cloudwatch_retention_value_is_accepted(days):
    flow = parse_spec(make(flowLogs={"retentionDays": days})).flow_logs
    assert flow is not None and flow.retention_days == days


@pytest.mark.parametrize(
    ("bucket_arn", "prefix"),
    [
        ("arn:aws:s3:::central-flow-logs", None),
        ("arn:aws:s3:::central-flow-logs", "vpc/production/"),
        ("arn:aws:s3:::central.flow-logs/vpc/production/", None),
        ("arn:aws-us-gov:s3:::gov-flow-logs", "prod"),
        ("arn:aws-cn:s3:::cn-flow-logs/", None),
    ],
)
def test_flow_logs_to_s3_take_a_bucket_arn_and_an_optional_prefix(bucket_arn, prefix):
    spec = parse_spec(make(flowLogs={"destination": "s3", "bucketArn": bucket_arn, "prefix": prefix}))
    assert spec.flow_logs is not None
    assert (spec.flow_logs.bucket_arn, spec.flow_logs.prefix) == (bucket_arn, prefix)
    assert (spec.flow_logs.log_group_name, spec.flow_logs.retention_days) == (None, None)
    assert spec.to_dict()["flowLogs"] == {
        "destination": "s3",
        "bucketArn": bucket_arn,
        "prefix": prefix,
        "trafficType": "ALL",
        "maxAggregationInterval": 600,
    }
    assert parse_spec(spec.to_dict()) == spec


# -- gateway endpoints and the default security group ----------------------------------------------


@pytest.mark.parametrize(
    ("value", "services"),
    [
        (..., ("s3", "dynamodb")),
        (True, ("s3", "dynamodb")),
        ({}, ("s3", "dynamodb")),
        (False, ()),
        ({"s3": False}, ("dynamodb",)),
        ({"dynamodb": False}, ("s3",)),
        ({"s3": False, "dynamodb": False}, ()),
    ],
)
def test_gateway_endpoints_are_on_by_default_and_can_be_turned_off_per_service(value, services):
    spec = parse_spec(make(gatewayEndpoints=value))
    assert spec.gateway_endpoints == services
    assert spec.to_dict()["gatewayEndpoints"] == {"s3": "s3" in services, "dynamodb": "dynamodb" in services}
    assert parse_spec(spec.to_dict()) == spec


def test_the_default_security_group_is_locked_down_unless_the_spec_says_otherwise():
    assert parse_spec(make()).lock_down_default_security_group is True
    spec = parse_spec(make(lockDownDefaultSecurityGroup=False))
    assert spec.lock_down_default_security_group is False
    assert parse_spec(spec.to_dict()) == spec


def test_a_spec_with_every_feature_survives_to_dict():
    raw = make(
        availabilityZones=3,
        natGateways={
            "count": 2,
            "eipAllocationIds": ["eipalloc-0123456789abcdef0", "eipalloc-0123456789abcdef1"],
        },
        ipv6=True,
        flowLogs={
            "destination": "s3",
            "bucketArn": "arn:aws:s3:::flow-logs",
            "prefix": "p/",
            "trafficType": "ACCEPT",
        },
        gatewayEndpoints={"dynamodb": False},
        lockDownDefaultSecurityGroup=False,
    )
    spec = parse_spec(raw)
    assert parse_spec(spec.to_dict()) == spec
    assert parse_spec(spec.to_dict()).to_dict() == spec.to_dict()


@pytest.mark.parametrize("name", ["cfn-requests", "cfn-rollbacks", "default-spec"])
def test_a_name_the_factory_keeps_under_vpcfactory_for_itself_is_refused(name):
    # Outputs live at /vpcfactory/<name>/: these would collide with stored custom-resource
    # requests, failed-Create records and the default spec, and a destroy would delete them.
    with pytest.raises(InvalidSpec) as exc:
        parse_spec(
            {"name": name, "cidr": "10.0.0.0/16", "tiers": [{"name": "a", "type": "private", "prefixLength": 24}]}
        )
    assert exc.value.field == "name" and "reserved" in str(exc.value)
