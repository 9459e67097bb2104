"""transitGateway in the spec and the plan (functions/vpcfactory/transit.py): errors name the field;
the attachment's /28s sit at the top of the VPC and never move when a tier or zone is added; a tier
that reaches into them is refused; every private and isolated table routes the destinations; the
CloudFormation form (all strings) parses the same; the wait reports a pendingAcceptance attachment."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from vpcfactory import transit_spec, waits
from vpcfactory.cfn_properties import coerce_spec
from vpcfactory.errors import InvalidSpec, TransitGatewayAttachmentFailed, TransitGatewayAttachmentNotAccepted
from vpcfactory.plan import plan_network
from vpcfactory.spec import parse_spec

TGW = "tgw-0123456789abcdef0"
RTB = "tgw-rtb-0123456789abcdef0"
PL = "pl-0123456789abcdef0"
ZONES = [
    {"ZoneName": f"us-east-1{c}", "ZoneId": f"use1-az{i + 1}", "State": "available", "RegionName": "us-east-1"}
    for i, c in enumerate("abcdef")
]


def base(**tgw: Any) -> dict[str, Any]:
    return {
        "name": "hub",
        "cidr": "10.40.0.0/16",
        "availabilityZones": 2,
        "natGateways": "single",
        "tiers": [
            {"name": "public", "type": "public", "prefixLength": 24},
            {"name": "app", "type": "private", "prefixLength": 20},
            {"name": "data", "type": "isolated", "prefixLength": 24},
        ],
        "transitGateway": {"id": TGW, "routes": ["172.16.0.0/12"], **tgw},
    }


def rejected(raw: dict[str, Any]) -> InvalidSpec:
    with pytest.raises(InvalidSpec) as exc:
        parse_spec(raw)
    return exc.value


def plan_of(raw: dict[str, Any]) -> dict[str, Any]:
    return dict(plan_network(parse_spec(raw), ZONES))


def cidrs(plan: dict[str, Any]) -> dict[str, str]:
    return {s["logicalId"]: s["cidr"] for s in plan["subnets"]}


# -- the spec ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tgw", "field"),
    [
        ({"id": "tgw-xyz"}, "transitGateway.id"),
        ({"id": None}, "transitGateway.id"),
        ({"routes": "172.16.0.0/12"}, "transitGateway.routes"),
        ({"routes": ["172.16.0.0/12", "nope"]}, "transitGateway.routes[1]"),
        ({"routes": ["10.0.0.1/8"]}, "transitGateway.routes[0]"),
        ({"routes": ["fd00::/8"]}, "transitGateway.routes[0]"),
        ({"routes": ["10.40.0.0/24"]}, "transitGateway.routes[0]"),  # inside the VPC
        ({"routes": ["0.0.0.0/0"]}, "transitGateway.routes[0]"),  # the NATs' default route
        ({"routes": ["10.40.0.0/16"]}, "transitGateway.routes[0]"),  # the VPC's own block
        ({"routes": ["172.16.0.0/12", PL, PL]}, "transitGateway.routes[2]"),
        ({"routes": [7]}, "transitGateway.routes[0]"),
        ({"associateRouteTableId": "rtb-0123456789abcdef0"}, "transitGateway.associateRouteTableId"),
        ({"propagateRouteTableIds": [RTB, RTB]}, "transitGateway.propagateRouteTableIds[1]"),
        ({"propagateRouteTableIds": RTB}, "transitGateway.propagateRouteTableIds"),
        ({"color": "blue"}, "transitGateway.color"),
    ],
)
def test_a_bad_transit_gateway_is_refused_naming_the_field(tgw: dict[str, Any], field: str) -> None:
    raw = base()
    raw["transitGateway"] = {**raw["transitGateway"], **tgw}
    assert rejected(raw).field == field


def test_a_block_containing_the_vpc_is_a_valid_destination() -> None:
    # 10.0.0.0/8 for a 10.40.0.0/16 spoke: the VPC's local route is more specific and wins
    assert parse_spec(base(routes=["10.0.0.0/8"])).transit_gateway.routes == ("10.0.0.0/8",)  # type: ignore[union-attr]


def test_transit_gateway_must_be_a_mapping() -> None:
    raw = base()
    raw["transitGateway"] = TGW
    assert rejected(raw).field == "transitGateway"


def test_the_tier_name_tgw_is_reserved() -> None:
    raw = base()
    raw["tiers"][2]["name"] = "tgw"
    assert rejected(raw).field == "tiers[2].name"


def test_the_normal_form_round_trips_and_cloudformation_strings_parse_the_same() -> None:
    raw = base(routes=["172.16.0.0/12", PL], associateRouteTableId=RTB, propagateRouteTableIds=[RTB])
    spec = parse_spec(raw)
    assert parse_spec(spec.to_dict()) == spec
    assert spec.transit_gateway == transit_spec.TransitGateway(TGW, ("172.16.0.0/12", PL), RTB, (RTB,))
    # CloudFormation hands every property over as a string: transitGateway has only strings anyway
    as_cfn = copy.deepcopy(raw)
    as_cfn["availabilityZones"] = "2"
    as_cfn["tiers"] = [{**t, "prefixLength": str(t["prefixLength"])} for t in raw["tiers"]]
    assert parse_spec(coerce_spec(as_cfn)) == spec


def test_without_a_transit_gateway_nothing_changes() -> None:
    raw = base()
    del raw["transitGateway"]
    plan = plan_of(raw)
    assert plan["transitGateway"] is None
    assert not any(s["tier"] == "tgw" for s in plan["subnets"])
    assert not any(t.get("transitGatewayRoutes") for t in plan["routeTables"])


# -- the plan -----------------------------------------------------------------------------------


def test_the_attachment_subnets_are_28s_at_the_top_of_the_vpc() -> None:
    plan = plan_of(base())
    subnets = cidrs(plan)
    # azReservation 4 -> the top 4 x /28 (10.40.255.192-255), zone k in slot k
    assert subnets["subnet/tgw/us-east-1a"] == "10.40.255.192/28"
    assert subnets["subnet/tgw/us-east-1b"] == "10.40.255.208/28"
    assert plan["transitGateway"] == {
        "logicalId": "tgw-attachment",
        "id": TGW,
        "routes": ["172.16.0.0/12"],
        "associateRouteTableId": None,
        "propagateRouteTableIds": [],
        "name": "hub-tgw-attachment",
        "subnets": ["subnet/tgw/us-east-1a", "subnet/tgw/us-east-1b"],
    }
    tgw_subnets = [s for s in plan["subnets"] if s["tier"] == "tgw"]
    assert {s["type"] for s in tgw_subnets} == {"tgw"}
    assert {s["routeTable"] for s in tgw_subnets} == {"rtb/tgw"}


def test_the_attachment_route_table_has_no_internet_route() -> None:
    tables = {t["logicalId"]: t for t in plan_of(base())["routeTables"]}
    assert tables["rtb/tgw"]["defaultRoute"] is None
    assert tables["rtb/tgw"]["ipv6DefaultRoute"] is None
    assert tables["rtb/tgw"]["subnets"] == ["subnet/tgw/us-east-1a", "subnet/tgw/us-east-1b"]
    assert "transitGatewayRoutes" not in tables["rtb/tgw"]


def test_every_private_and_isolated_table_routes_the_destinations_and_no_other() -> None:
    plan = plan_of(base(routes=["172.16.0.0/12", PL]))
    routed = {t["logicalId"]: t.get("transitGatewayRoutes") for t in plan["routeTables"]}
    assert routed == {
        "rtb/public": None,
        "rtb/app": ["172.16.0.0/12", PL],  # natGateways: single: one table for the tier
        "rtb/data": ["172.16.0.0/12", PL],
        "rtb/tgw": None,
    }
    # and gateway endpoints still serve only the private and isolated tables
    assert all("rtb/tgw" not in e["routeTables"] for e in plan["gatewayEndpoints"])


def test_appending_a_tier_or_a_zone_moves_nothing() -> None:
    before = cidrs(plan_of(base()))
    grown = base()
    grown["availabilityZones"] = 3
    grown["tiers"].append({"name": "extra", "type": "isolated", "prefixLength": 24})
    after = cidrs(plan_of(grown))
    assert {k: after[k] for k in before} == before
    assert after["subnet/tgw/us-east-1c"] == "10.40.255.224/28"


def test_adding_the_transit_gateway_later_moves_no_existing_subnet() -> None:
    raw = base()
    del raw["transitGateway"]
    before = cidrs(plan_of(raw))
    after = cidrs(plan_of(base()))
    assert {k: after[k] for k in before} == before


def test_a_tier_that_reaches_into_the_attachment_block_is_refused() -> None:
    raw = base()
    raw["cidr"] = "10.40.0.0/22"  # 1024 addresses; the attachment block is the top 64
    raw["tiers"] = [{"name": "app", "type": "private", "prefixLength": 24}]  # 4 x 256: the whole VPC
    raw["natGateways"] = "none"
    exc = rejected(raw)
    assert exc.field == "tiers[0].prefixLength"
    assert "transit gateway" in str(exc)
    del raw["transitGateway"]
    parse_spec(raw)  # without the attachment the same tiers fit


def test_an_explicit_cidr_in_the_attachment_block_is_refused() -> None:
    raw = base()
    raw["tiers"].append({"name": "legacy", "type": "isolated", "cidrs": ["10.40.255.224/27", "10.40.200.0/24"]})
    exc = rejected(raw)
    assert exc.field == "tiers[3].cidrs[0]"
    assert "transit gateway attachment" in str(exc)


def test_a_vpc_too_small_for_the_attachment_block_is_refused() -> None:
    raw = base()
    raw["cidr"] = "10.40.0.0/28"
    raw["tiers"] = [{"name": "app", "type": "isolated", "prefixLength": 28}]
    raw["natGateways"] = "none"
    raw["availabilityZones"] = 1
    assert rejected(raw).field in ("transitGateway", "tiers[0].prefixLength")


# -- the wait -----------------------------------------------------------------------------------


def test_a_pending_acceptance_attachment_is_reported_as_such_only_when_the_wait_runs_out() -> None:
    item = {
        "TransitGatewayAttachmentId": "tgw-attach-0123456789abcdef0",
        "TransitGatewayId": TGW,
        "TransitGatewayOwnerId": "222233334444",
        "State": "pendingAcceptance",
    }
    ids = [item["TransitGatewayAttachmentId"]]
    described = {ids[0]: item}
    assert waits.ready(ids, described) is False  # still waiting: the owner may accept in time
    error = waits.stalled(ids, described)
    assert isinstance(error, TransitGatewayAttachmentNotAccepted)
    assert TGW in str(error) and "222233334444" in str(error) and "accept" in str(error)
    assert waits.stalled(ids, {ids[0]: {**item, "State": "pending"}}) is None


@pytest.mark.parametrize("state", ["failed", "rejected", "deleted"])
def test_an_attachment_that_failed_or_was_rejected_ends_the_wait(state: str) -> None:
    item = {"TransitGatewayAttachmentId": "tgw-attach-0123456789abcdef0", "TransitGatewayId": TGW, "State": state}
    with pytest.raises(TransitGatewayAttachmentFailed):
        waits.ready([item["TransitGatewayAttachmentId"]], {item["TransitGatewayAttachmentId"]: item})


def test_the_attachment_is_a_slow_kind() -> None:
    assert waits.kind_of("tgw-attach-0123456789abcdef0") is waits.TGW_ATTACHMENT


# -- plan view and diagram ----------------------------------------------------------------------


def test_the_diagram_draws_the_gateway_and_the_routes_to_it() -> None:
    from vpcfactory_tools.diagram import network_from_plan

    network = network_from_plan(plan_of(base(routes=["172.16.0.0/12", PL])))
    assert network.transit_gateway == TGW
    routed = {key: s.tgw_routes for key, s in network.subnets.items() if s.tgw_routes}
    assert routed == {
        ("app", "us-east-1a"): ("172.16.0.0/12", PL),
        ("app", "us-east-1b"): ("172.16.0.0/12", PL),
        ("data", "us-east-1a"): ("172.16.0.0/12", PL),
        ("data", "us-east-1b"): ("172.16.0.0/12", PL),
    }
    assert {s.cidr for key, s in network.subnets.items() if key[0] == "tgw"} == {"10.40.255.192/28", "10.40.255.208/28"}


def test_plan_shows_the_attachment_its_routes_and_association() -> None:
    from vpcfactory_tools.plan_view import transit_gateway_lines

    lines = transit_gateway_lines(plan_of(base(associateRouteTableId=RTB, propagateRouteTableIds=[RTB])))  # type: ignore[arg-type]
    assert TGW in lines[0] and "10.40.255.192/28" in lines[0]
    assert "172.16.0.0/12" in lines[1]
    assert RTB in lines[2] and RTB in lines[3]


class _PendingAttachmentEc2:
    """An EC2 whose attachment refuses DeleteTransitGatewayVpcAttachment while `pending`
    (IncorrectState), as a rollback that starts before the attachment is available meets it."""

    def __init__(self) -> None:
        self.state = "pending"
        self.deletes = 0

    def delete_transit_gateway_vpc_attachment(self, **_kwargs):
        from botocore.exceptions import ClientError

        if self.state == "pending":
            error = {"Error": {"Code": "IncorrectState", "Message": "tgw-attach-0123456789abcdef0 is in invalid state"}}
            raise ClientError(error, "DeleteTransitGatewayVpcAttachment")
        self.deletes += 1
        self.state = "deleting"
        return {}

    def describe_transit_gateway_attachments(self, **_kwargs):
        return {"TransitGatewayAttachments": [{"TransitGatewayAttachmentId": ATTACHMENT, "State": self.state}]}


ATTACHMENT = "tgw-attach-0123456789abcdef0"


def test_a_rollback_that_meets_a_pending_attachment_deletes_it_once_it_can_be_deleted():
    from vpcfactory import transit

    ec2 = _PendingAttachmentEc2()
    # Start Teardown while the attachment is still pending: refused, so nothing deleted yet, but waited for
    assert transit.start_deleting(ec2, [{"TransitGatewayAttachmentId": ATTACHMENT, "State": "pending"}]) == [ATTACHMENT]
    assert ec2.deletes == 0
    assert transit.attachments_deleted(ec2, [ATTACHMENT]) is False  # still pending: asked again, refused again
    # Once it is available, the next poll deletes it; the wait ends when it is deleted
    ec2.state = "available"
    assert transit.attachments_deleted(ec2, [ATTACHMENT]) is False
    assert ec2.deletes == 1 and ec2.state == "deleting"
    ec2.state = "deleted"
    assert transit.attachments_deleted(ec2, [ATTACHMENT]) is True
