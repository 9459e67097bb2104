"""Transit gateway attachment through a network's life (issue 14): the build attaches the VPC in a
/28 per zone at the top of the VPC, waits for `available`, associates and propagates as asked and
routes the destinations from every private and isolated table; a gateway shared from another
account through AWS RAM whose owner does not accept fails the build clearly and leaves nothing; one
accepted during the wait (or auto-accepted) succeeds; destroy deletes the attachment, waits for
`deleted`, then deletes its subnets; a zone added later joins the attachment."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from tests.workflow.owned import execution_name, tagged_with_execution
from vpcfactory.tags import TAG_LOGICAL_ID, tag_dict
from vpcfactory_tools.emulator import transit_gateways
from vpcfactory_tools.emulator.faults import CallRef, Fault
from vpcfactory_tools.emulator.iam_enforcement import reset_stats, stats
from vpcfactory_tools.reliability.specs import unique

HUB = "222233334444"  # the network account that owns a shared gateway
ROUTES = ["10.100.0.0/16", "192.168.0.0/16"]


def spec(tgw: dict[str, Any], *, zones: int = 2, name: str = "tgw") -> dict[str, Any]:
    return unique(
        {
            "name": name,
            "cidr": "10.40.0.0/16",
            "availabilityZones": zones,
            "natGateways": "single",
            "tiers": [
                {"name": "public", "type": "public", "prefixLength": 24},
                {"name": "app", "type": "private", "prefixLength": 20},
                {"name": "data", "type": "isolated", "prefixLength": 24},
            ],
            "transitGateway": tgw,
        }
    )


def make_gateway(ec2: Any, **options: str) -> dict[str, Any]:
    return ec2.create_transit_gateway(Description="hub", Options=options)["TransitGateway"]


def hub_client(emu: Any) -> Any:
    """An EC2 client in the hub account (STS AssumeRole: moto answers in the role's account)."""
    creds = emu.client("sts").assume_role(RoleArn=f"arn:aws:iam::{HUB}:role/network", RoleSessionName="hub")[
        "Credentials"
    ]
    session: Any = boto3.session.Session(region_name=emu.region)
    return session.client(
        "ec2",
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )


def shared_gateway(emu: Any, auto_accept: bool) -> str:
    """A gateway in the hub account, shared with the factory's account through RAM."""
    hub = hub_client(emu)
    tgw = make_gateway(hub, AutoAcceptSharedAttachments="enable" if auto_accept else "disable")
    spoke = emu.client("sts").get_caller_identity()["Account"]
    transit_gateways.share_transit_gateway(tgw["TransitGatewayId"], HUB, emu.region, spoke)
    return str(tgw["TransitGatewayId"])


def attachments(ec2: Any, vpc_id: str) -> list[dict[str, Any]]:
    filters = [{"Name": "vpc-id", "Values": [vpc_id]}]
    return ec2.describe_transit_gateway_vpc_attachments(Filters=filters)["TransitGatewayVpcAttachments"]


def by_logical(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {tag_dict(i.get("Tags")).get(TAG_LOGICAL_ID, "?"): i for i in items}


def subnets_of(ec2: Any, vpc_id: str) -> dict[str, dict[str, Any]]:
    return by_logical(ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"])


def tables_of(ec2: Any, vpc_id: str) -> dict[str, dict[str, Any]]:
    return by_logical(ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["RouteTables"])


def tgw_routes(table: dict[str, Any]) -> dict[str, str]:
    return {
        r.get("DestinationCidrBlock") or r.get("DestinationPrefixListId"): r["TransitGatewayId"]
        for r in table["Routes"]
        if r.get("TransitGatewayId")
    }


@pytest.fixture
def gateway(emu) -> Iterator[dict[str, Any]]:
    """A gateway of the factory's own account, with a default route table (association and
    propagation on) and a second route table."""
    ec2 = emu.client("ec2")
    tgw = make_gateway(ec2, DefaultRouteTableAssociation="enable", DefaultRouteTablePropagation="enable")
    tgw = ec2.describe_transit_gateways(TransitGatewayIds=[tgw["TransitGatewayId"]])["TransitGateways"][0]
    other = ec2.create_transit_gateway_route_table(TransitGatewayId=tgw["TransitGatewayId"])
    yield {
        "id": tgw["TransitGatewayId"],
        "default": tgw["Options"]["AssociationDefaultRouteTableId"],
        "other": other["TransitGatewayRouteTable"]["TransitGatewayRouteTableId"],
    }


def test_a_build_attaches_waits_and_routes_every_private_and_isolated_table(emu, gateway):
    ec2 = emu.client("ec2")
    reset_stats()

    result = emu.build(spec({"id": gateway["id"], "routes": ROUTES}))

    assert result.status == "SUCCEEDED", result.cause
    vpc_id = result.vpc_id
    (attachment,) = attachments(ec2, vpc_id)
    subnets = subnets_of(ec2, vpc_id)
    tables = tables_of(ec2, vpc_id)
    # Then the attachment is available, tagged at creation, in the /28s at the top of the VPC
    assert attachment["State"] == "available"
    assert tag_dict(attachment["Tags"])[TAG_LOGICAL_ID] == "tgw-attachment"
    zones = result.output["availabilityZones"]
    tgw_subnets = [subnets[f"subnet/tgw/{z}"] for z in zones]
    assert [s["CidrBlock"] for s in tgw_subnets] == ["10.40.255.192/28", "10.40.255.208/28"]
    assert sorted(attachment["SubnetIds"]) == sorted(s["SubnetId"] for s in tgw_subnets)
    # and the attachment subnets have their own route table, with no way out
    assert tgw_routes(tables["rtb/tgw"]) == {}
    assert all(not r.get("GatewayId", "").startswith("igw-") for r in tables["rtb/tgw"]["Routes"])
    assert all(not r.get("NatGatewayId") for r in tables["rtb/tgw"]["Routes"])
    # and every private and isolated table routes the destinations to the gateway; the public one does not
    routed = ["rtb/app", "rtb/data"]  # (natGateways: single: one table for the private tier)
    for logical in routed:
        assert tgw_routes(tables[logical]) == dict.fromkeys(ROUTES, gateway["id"]), logical
    assert tgw_routes(tables["rtb/public"]) == {}
    # and the output describes it, and every request passed IAM
    assert result.output["transitGateway"]["attachmentId"] == attachment["TransitGatewayAttachmentId"]
    assert result.output["transitGateway"]["state"] == "available"
    assert stats().get("denied", 0) == 0, stats()


def test_association_and_propagation_are_made_as_asked(emu, gateway):
    ec2 = emu.client("ec2")
    tgw = {
        "id": gateway["id"],
        "routes": ROUTES[:1],
        "associateRouteTableId": gateway["other"],
        "propagateRouteTableIds": [gateway["other"]],
    }
    reset_stats()

    result = emu.build(spec(tgw))

    assert result.status == "SUCCEEDED", result.cause
    (attachment,) = attachments(ec2, result.vpc_id)
    attachment_id = attachment["TransitGatewayAttachmentId"]
    # Then it left the gateway's default table (DefaultRouteTableAssociation) for the one asked
    described = ec2.describe_transit_gateway_attachments(TransitGatewayAttachmentIds=[attachment_id])
    assert described["TransitGatewayAttachments"][0]["Association"]["TransitGatewayRouteTableId"] == gateway["other"]
    propagations = ec2.get_transit_gateway_route_table_propagations(TransitGatewayRouteTableId=gateway["other"])
    assert attachment_id in {
        p["TransitGatewayAttachmentId"] for p in propagations["TransitGatewayRouteTablePropagations"]
    }
    assert stats().get("denied", 0) == 0, stats()


def test_a_shared_gateway_whose_owner_does_not_accept_fails_clearly_and_leaves_nothing(emu):
    tgw_id = shared_gateway(emu, auto_accept=False)
    ec2 = emu.client("ec2")

    result = emu.build(spec({"id": tgw_id, "routes": ROUTES}))

    # Then the build fails with the acceptance error, naming the gateway and its owner
    assert result.status == "FAILED"
    assert "TransitGatewayAttachmentNotAccepted" in (result.error or "") + (result.cause or ""), result.cause
    assert tgw_id in result.cause and HUB in result.cause
    # and the rollback deleted the attachment (deleted, still described) and everything else
    leftovers = tagged_with_execution(emu.client("ec2"), execution_name(result))
    assert leftovers == [], leftovers
    states = [
        a["State"]
        for a in ec2.describe_transit_gateway_vpc_attachments()["TransitGatewayVpcAttachments"]
        if a["TransitGatewayId"] == tgw_id
    ]
    assert states == ["deleted"]


def test_a_shared_gateway_that_auto_accepts_is_attached_and_routed(emu):
    tgw_id = shared_gateway(emu, auto_accept=True)
    reset_stats()

    result = emu.build(spec({"id": tgw_id, "routes": ROUTES}))

    assert result.status == "SUCCEEDED", result.cause
    ec2 = emu.client("ec2")
    (attachment,) = attachments(ec2, result.vpc_id)
    assert attachment["State"] == "available"
    for logical, table in tables_of(ec2, result.vpc_id).items():
        if logical.startswith(("rtb/app", "rtb/data")):
            assert tgw_routes(table) == dict.fromkeys(ROUTES, tgw_id), logical
    assert stats().get("denied", 0) == 0, stats()


def test_an_attachment_the_owner_accepts_during_the_wait_succeeds(emu):
    tgw_id = shared_gateway(emu, auto_accept=False)
    hub = hub_client(emu)
    stop = threading.Event()

    def accept() -> None:  # the network team, accepting while the build waits
        while not stop.wait(0.01):
            for item in hub.describe_transit_gateway_attachments()["TransitGatewayAttachments"]:
                if item["TransitGatewayId"] == tgw_id and item["State"] == "pendingAcceptance":
                    hub.accept_transit_gateway_vpc_attachment(
                        TransitGatewayAttachmentId=item["TransitGatewayAttachmentId"]
                    )

    owner = threading.Thread(target=accept, daemon=True)
    owner.start()
    try:
        result = emu.build(spec({"id": tgw_id, "routes": ROUTES}))
    finally:
        stop.set()
        owner.join()

    assert result.status == "SUCCEEDED", result.cause
    (attachment,) = attachments(emu.client("ec2"), result.vpc_id)
    assert attachment["State"] == "available"


def test_a_shared_gateway_cannot_be_asked_to_associate(emu):
    tgw_id = shared_gateway(emu, auto_accept=True)

    result = emu.build(spec({"id": tgw_id, "associateRouteTableId": "tgw-rtb-0123456789abcdef0"}))

    # Then it is refused before anything is created, naming the field and the owner
    assert result.status == "FAILED"
    assert "transitGateway.associateRouteTableId" in result.cause and HUB in result.cause
    assert tagged_with_execution(emu.client("ec2"), execution_name(result)) == []


def test_a_gateway_that_does_not_exist_is_refused_before_anything_is_created(emu):
    result = emu.build(spec({"id": "tgw-0123456789abcdef0", "routes": ROUTES}))

    assert result.status == "FAILED"
    assert "transitGateway.id" in result.cause, result.cause
    assert tagged_with_execution(emu.client("ec2"), execution_name(result)) == []


def test_destroy_deletes_the_attachment_waits_then_deletes_its_subnets(emu, gateway):
    built = emu.build(spec({"id": gateway["id"], "routes": ROUTES}))
    assert built.status == "SUCCEEDED", built.cause
    ec2 = emu.client("ec2")
    (attachment,) = attachments(ec2, built.vpc_id)
    reset_stats()

    destroyed = emu.destroy(built.vpc_id)

    assert destroyed.status == "SUCCEEDED", destroyed.cause
    # Then the attachment is deleted (still described as such), and nothing of the build is left
    described = ec2.describe_transit_gateway_attachments(
        TransitGatewayAttachmentIds=[attachment["TransitGatewayAttachmentId"]]
    )["TransitGatewayAttachments"]
    assert [a["State"] for a in described] == ["deleted"]
    assert ec2.describe_vpcs(Filters=[{"Name": "vpc-id", "Values": [built.vpc_id]}])["Vpcs"] == []
    assert tagged_with_execution(ec2, execution_name(built)) == []
    assert stats().get("denied", 0) == 0, stats()


def test_a_zone_added_later_joins_the_attachment(emu, gateway):
    first_spec = spec({"id": gateway["id"], "routes": ROUTES}, zones=2)
    first = emu.build(first_spec)
    assert first.status == "SUCCEEDED", first.cause
    reset_stats()

    second = emu.build({**first_spec, "availabilityZones": 3})

    assert second.status == "SUCCEEDED", second.cause
    assert second.vpc_id == first.vpc_id
    ec2 = emu.client("ec2")
    (attachment,) = attachments(ec2, second.vpc_id)
    subnets = subnets_of(ec2, second.vpc_id)
    zones = second.output["availabilityZones"]
    # Then the new zone's /28 (the next slot at the top) is in the same attachment, available again
    assert subnets[f"subnet/tgw/{zones[2]}"]["CidrBlock"] == "10.40.255.224/28"
    assert sorted(attachment["SubnetIds"]) == sorted(subnets[f"subnet/tgw/{z}"]["SubnetId"] for z in zones)
    assert attachment["State"] == "available"
    # and the new zone's private subnet is in the tier's one table, which routes to the gateway
    app = tables_of(ec2, second.vpc_id)["rtb/app"]
    assert subnets[f"subnet/app/{zones[2]}"]["SubnetId"] in {a.get("SubnetId") for a in app["Associations"]}
    assert tgw_routes(app) == dict.fromkeys(ROUTES, gateway["id"])
    assert stats().get("denied", 0) == 0, stats()


@pytest.mark.parametrize("mode", ["fault", "crash"])
def test_a_growth_that_fails_at_or_after_adding_the_zone_to_the_attachment_rolls_back_to_the_old_network(
    emu, gateway, mode
):
    first_spec = spec({"id": gateway["id"], "routes": ROUTES}, zones=2)
    first = emu.build(first_spec)
    assert first.status == "SUCCEEDED", first.cause
    ec2 = emu.client("ec2")
    (before,) = attachments(ec2, first.vpc_id)
    call = CallRef("ModifyTransitGatewayVpcAttachment", 1)
    changed = {"faults": [Fault(call.operation, 1)]} if mode == "fault" else {"crash_after": [call]}
    emu.reconfigure(dataclasses.replace(emu.settings, **changed))
    reset_stats()

    second = emu.build({**first_spec, "availabilityZones": 3})

    # Then the growth fails and its rollback leaves nothing of its own: the new zone's /28 left the
    # earlier build's attachment (RemoveSubnetIds) before it was deleted
    assert second.status == "FAILED"
    assert tagged_with_execution(ec2, execution_name(second)) == []
    (after,) = attachments(ec2, first.vpc_id)
    assert after["TransitGatewayAttachmentId"] == before["TransitGatewayAttachmentId"]
    assert sorted(after["SubnetIds"]) == sorted(before["SubnetIds"])
    assert stats().get("denied", 0) == 0, stats()
