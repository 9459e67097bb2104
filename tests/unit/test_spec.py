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
    ("natGateways is a number", make(natGateways=2), "natGateways"),
    ("natGateways.mode is an unknown mode", make(natGateways={"mode": "many"}), "natGateways.mode"),
    ("natGateways has an unknown key", make(natGateways={"mode": "single", "count": 1}), "natGateways.count"),
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


def test_nat_gateways_default_to_single_with_a_public_tier_and_none_without():
    assert parse_spec(make(natGateways=...)).nat_mode == "single"
    private_only = make(natGateways=..., tiers=[{"name": "app", "type": "private", "prefixLength": 24}])
    assert parse_spec(private_only).nat_mode == "none"


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
    assert normalized["natGateways"] == {"mode": "single", "eipAllocationIds": []}
    assert normalized["azReservation"] == 4
    assert normalized["tiers"][1] == {
        "name": "private",
        "type": "private",
        "prefixLength": 22,
        "mapPublicIpOnLaunch": False,
        "tags": {},
    }
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
