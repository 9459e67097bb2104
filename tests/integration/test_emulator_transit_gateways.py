"""The emulator's transit gateway patches reproduce AWS behaviour, seen through plain boto3.

Each gap has a test on the patched moto and one showing plain moto 5.2.5 (the patch module
uninstalled) behaves otherwise. Timed states move only when a test moves the simulated clock.
Other accounts are reached through STS AssumeRole credentials (moto answers each request in the
account of the role the credentials came from).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, cast

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from tests.integration.conftest import MOCK_CONFIG, NO_RETRIES
from vpcfactory_tools.emulator import engine_time, fidelity, patching, transit_gateways
from vpcfactory_tools.emulator.settings import EmulatorSettings, clock, configured

SECONDS = 60.0
AWS_LIKE = EmulatorSettings(time_scale=1.0, vpc_pending_seconds=0, tgw_attachment_seconds=SECONDS)
OWNER = "123456789012"  # moto's default account: the network (hub) account
SPOKE = "111111111111"


@pytest.fixture(scope="module", autouse=True)
def _patched_moto() -> Iterator[None]:
    before = fidelity.installed(), engine_time.installed(), transit_gateways.installed()
    fidelity.install()
    engine_time.install()
    transit_gateways.install()
    yield
    if not before[2]:
        transit_gateways.uninstall()
    if not before[1]:
        engine_time.uninstall()
    if not before[0]:
        fidelity.uninstall()


@pytest.fixture(autouse=True)
def _settings() -> Iterator[None]:
    with configured(AWS_LIKE):
        yield


def fast_forward(seconds: float) -> None:
    clock().advance(seconds)


def error_code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def client_in(account_id: str, service: str = "ec2") -> Any:
    credentials = boto3.client("sts", config=NO_RETRIES).assume_role(
        RoleArn=f"arn:aws:iam::{account_id}:role/network", RoleSessionName="test"
    )["Credentials"]
    session: Any = boto3.session.Session()  # client(str): not one literal
    return session.client(
        service,
        config=NO_RETRIES,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


def vpc_with_subnets(ec2: Any, zones: tuple[str, ...] = ("us-east-1a", "us-east-1b")) -> tuple[str, list[str]]:
    vpc_id = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc_id, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=zone)["Subnet"]["SubnetId"]
        for i, zone in enumerate(zones)
    ]
    return vpc_id, subnets


def transit_gateway(ec2: Any, **options: str) -> str:
    return str(ec2.create_transit_gateway(Description="hub", Options=options)["TransitGateway"]["TransitGatewayId"])


def attach(ec2: Any, tgw_id: str, vpc_id: str, subnets: list[str], **kwargs: Any) -> dict[str, Any]:
    answer: dict[str, Any] = ec2.create_transit_gateway_vpc_attachment(
        TransitGatewayId=tgw_id, VpcId=vpc_id, SubnetIds=subnets, **kwargs
    )["TransitGatewayVpcAttachment"]
    return answer


def attachment_of(ec2: Any, attachment_id: str) -> dict[str, Any]:
    found: dict[str, Any] = ec2.describe_transit_gateway_vpc_attachments(TransitGatewayAttachmentIds=[attachment_id])[
        "TransitGatewayVpcAttachments"
    ][0]
    return found


def on_plain_moto(test: Callable[[Any], None]) -> None:
    """Run ``test(ec2)`` on moto without this module's patches (fidelity stays)."""
    transit_gateways.uninstall()
    try:
        with mock_aws(config=cast(Any, MOCK_CONFIG)):
            test(boto3.client("ec2", config=NO_RETRIES))
    finally:
        transit_gateways.install()


@pytest.fixture
def hub(ec2: Any) -> tuple[Any, str, str, list[str]]:
    vpc_id, subnets = vpc_with_subnets(ec2)
    return ec2, transit_gateway(ec2), vpc_id, subnets


# --- pending -> available ----------------------------------------------------------------------


def test_an_attachment_is_pending_then_available(hub: tuple[Any, str, str, list[str]]) -> None:
    ec2, tgw_id, vpc_id, subnets = hub
    created = attach(ec2, tgw_id, vpc_id, subnets)

    assert created["State"] == "pending"
    assert attachment_of(ec2, created["TransitGatewayAttachmentId"])["State"] == "pending"
    fast_forward(SECONDS)
    assert attachment_of(ec2, created["TransitGatewayAttachmentId"])["State"] == "available"


def test_an_available_attachment_is_associated_with_and_propagated_to_the_default_route_table(
    hub: tuple[Any, str, str, list[str]],
) -> None:
    ec2, tgw_id, vpc_id, subnets = hub
    attachment_id = attach(ec2, tgw_id, vpc_id, subnets)["TransitGatewayAttachmentId"]
    table_id = ec2.describe_transit_gateways(TransitGatewayIds=[tgw_id])["TransitGateways"][0]["Options"][
        "AssociationDefaultRouteTableId"
    ]
    fast_forward(SECONDS)
    attachment_of(ec2, attachment_id)

    associations = ec2.get_transit_gateway_route_table_associations(TransitGatewayRouteTableId=table_id)
    assert [a["TransitGatewayAttachmentId"] for a in associations["Associations"]] == [attachment_id]
    propagations = ec2.get_transit_gateway_route_table_propagations(TransitGatewayRouteTableId=table_id)
    assert [p["TransitGatewayAttachmentId"] for p in propagations["TransitGatewayRouteTablePropagations"]] == [
        attachment_id
    ]


def test_on_plain_moto_an_attachment_is_available_at_once() -> None:
    def check(ec2: Any) -> None:
        vpc_id, subnets = vpc_with_subnets(ec2)
        assert attach(ec2, transit_gateway(ec2), vpc_id, subnets)["State"] == "available"

    on_plain_moto(check)


# --- tags -----------------------------------------------------------------------------------------

TAGS = [{"ResourceType": "transit-gateway-attachment", "Tags": [{"Key": "Name", "Value": "spoke"}]}]


def test_the_tags_given_at_creation_are_described(hub: tuple[Any, str, str, list[str]]) -> None:
    ec2, tgw_id, vpc_id, subnets = hub
    created = attach(ec2, tgw_id, vpc_id, subnets, TagSpecifications=TAGS)

    assert created["Tags"] == [{"Key": "Name", "Value": "spoke"}]
    assert attachment_of(ec2, created["TransitGatewayAttachmentId"])["Tags"] == [{"Key": "Name", "Value": "spoke"}]


def test_on_plain_moto_the_tags_given_at_creation_are_lost() -> None:
    def check(ec2: Any) -> None:
        vpc_id, subnets = vpc_with_subnets(ec2)
        created = attach(ec2, transit_gateway(ec2), vpc_id, subnets, TagSpecifications=TAGS)
        assert not attachment_of(ec2, created["TransitGatewayAttachmentId"]).get("Tags")

    on_plain_moto(check)


# --- validation ---------------------------------------------------------------------------------


def test_two_subnets_in_one_zone_are_refused(ec2: Any) -> None:
    vpc_id, subnets = vpc_with_subnets(ec2, ("us-east-1a", "us-east-1a"))

    with pytest.raises(ClientError) as exc:
        attach(ec2, transit_gateway(ec2), vpc_id, subnets)
    assert error_code(exc) == "DuplicateSubnetsInSameZone"


def test_a_subnet_of_another_vpc_is_refused(hub: tuple[Any, str, str, list[str]]) -> None:
    ec2, tgw_id, vpc_id, _ = hub
    _, other_subnets = vpc_with_subnets(ec2)

    with pytest.raises(ClientError) as exc:
        attach(ec2, tgw_id, vpc_id, other_subnets[:1])
    assert error_code(exc) == "InvalidParameterValue"


def test_an_unknown_transit_gateway_is_refused(ec2: Any) -> None:
    vpc_id, subnets = vpc_with_subnets(ec2)

    with pytest.raises(ClientError) as exc:
        attach(ec2, "tgw-0123456789abcdef0", vpc_id, subnets)
    assert error_code(exc) == "InvalidTransitGatewayID.NotFound"


def test_on_plain_moto_two_subnets_in_one_zone_are_accepted() -> None:
    def check(ec2: Any) -> None:
        vpc_id, subnets = vpc_with_subnets(ec2, ("us-east-1a", "us-east-1a"))
        attach(ec2, transit_gateway(ec2), vpc_id, subnets)

    on_plain_moto(check)


# --- deleting -> deleted, and the subnets it holds ----------------------------------------------


def test_a_deleted_attachment_is_deleting_then_deleted_and_still_described(
    hub: tuple[Any, str, str, list[str]],
) -> None:
    ec2, tgw_id, vpc_id, subnets = hub
    attachment_id = attach(ec2, tgw_id, vpc_id, subnets)["TransitGatewayAttachmentId"]
    fast_forward(SECONDS)

    deleted = ec2.delete_transit_gateway_vpc_attachment(TransitGatewayAttachmentId=attachment_id)
    assert deleted["TransitGatewayVpcAttachment"]["State"] == "deleting"
    assert attachment_of(ec2, attachment_id)["State"] == "deleting"
    fast_forward(SECONDS)
    assert attachment_of(ec2, attachment_id)["State"] == "deleted"
    # a new attachment of the same VPC is allowed once the old one is deleted
    assert attach(ec2, tgw_id, vpc_id, subnets)["State"] == "pending"


def test_a_subnet_under_a_live_attachment_cannot_be_deleted_until_the_attachment_is_deleted(
    hub: tuple[Any, str, str, list[str]],
) -> None:
    ec2, tgw_id, vpc_id, subnets = hub
    attachment_id = attach(ec2, tgw_id, vpc_id, subnets)["TransitGatewayAttachmentId"]

    with pytest.raises(ClientError) as exc:
        ec2.delete_subnet(SubnetId=subnets[0])
    assert error_code(exc) == "DependencyViolation"
    assert "has dependencies and cannot be deleted" in exc.value.response["Error"]["Message"]

    fast_forward(SECONDS)
    ec2.delete_transit_gateway_vpc_attachment(TransitGatewayAttachmentId=attachment_id)
    with pytest.raises(ClientError) as exc:
        ec2.delete_subnet(SubnetId=subnets[0])  # still deleting
    assert error_code(exc) == "DependencyViolation"
    fast_forward(SECONDS)
    ec2.delete_subnet(SubnetId=subnets[0])


def test_on_plain_moto_a_deleted_attachment_vanishes_and_its_subnet_can_be_deleted() -> None:
    def check(ec2: Any) -> None:
        vpc_id, subnets = vpc_with_subnets(ec2)
        attachment_id = attach(ec2, transit_gateway(ec2), vpc_id, subnets)["TransitGatewayAttachmentId"]
        ec2.delete_subnet(SubnetId=subnets[0])  # AWS: DependencyViolation
        ec2.delete_transit_gateway_vpc_attachment(TransitGatewayAttachmentId=attachment_id)
        found = ec2.describe_transit_gateway_vpc_attachments(TransitGatewayAttachmentIds=[attachment_id])
        assert found["TransitGatewayVpcAttachments"] == []

    on_plain_moto(check)


# --- route table association and propagation need an available attachment ---------------------


def _custom_table(ec2: Any, tgw_id: str) -> str:
    return str(
        ec2.create_transit_gateway_route_table(TransitGatewayId=tgw_id)["TransitGatewayRouteTable"][
            "TransitGatewayRouteTableId"
        ]
    )


def test_association_and_propagation_are_refused_while_the_attachment_is_pending(ec2: Any) -> None:
    vpc_id, subnets = vpc_with_subnets(ec2)
    tgw_id = transit_gateway(ec2, DefaultRouteTableAssociation="disable", DefaultRouteTablePropagation="disable")
    table_id = _custom_table(ec2, tgw_id)
    attachment_id = attach(ec2, tgw_id, vpc_id, subnets)["TransitGatewayAttachmentId"]
    ids = {"TransitGatewayRouteTableId": table_id, "TransitGatewayAttachmentId": attachment_id}

    for call in (ec2.associate_transit_gateway_route_table, ec2.enable_transit_gateway_route_table_propagation):
        with pytest.raises(ClientError) as exc:
            call(**ids)
        assert error_code(exc) == "IncorrectState"

    fast_forward(SECONDS)
    ec2.associate_transit_gateway_route_table(**ids)
    ec2.enable_transit_gateway_route_table_propagation(**ids)
    associations = ec2.get_transit_gateway_route_table_associations(TransitGatewayRouteTableId=table_id)
    assert [a["TransitGatewayAttachmentId"] for a in associations["Associations"]] == [attachment_id]
    propagations = ec2.get_transit_gateway_route_table_propagations(TransitGatewayRouteTableId=table_id)
    assert [p["TransitGatewayAttachmentId"] for p in propagations["TransitGatewayRouteTablePropagations"]] == [
        attachment_id
    ]


def test_an_attachment_associated_with_the_default_route_table_cannot_be_associated_again(
    hub: tuple[Any, str, str, list[str]],
) -> None:
    ec2, tgw_id, vpc_id, subnets = hub
    attachment_id = attach(ec2, tgw_id, vpc_id, subnets)["TransitGatewayAttachmentId"]
    fast_forward(SECONDS)

    with pytest.raises(ClientError) as exc:
        ec2.associate_transit_gateway_route_table(
            TransitGatewayRouteTableId=_custom_table(ec2, tgw_id), TransitGatewayAttachmentId=attachment_id
        )
    assert error_code(exc) == "Resource.AlreadyAssociated"


def test_on_plain_moto_a_pending_attachment_would_be_associated() -> None:
    def check(ec2: Any) -> None:
        vpc_id, subnets = vpc_with_subnets(ec2)
        tgw_id = transit_gateway(ec2, DefaultRouteTableAssociation="disable")
        attachment_id = attach(ec2, tgw_id, vpc_id, subnets)["TransitGatewayAttachmentId"]
        ec2.associate_transit_gateway_route_table(
            TransitGatewayRouteTableId=_custom_table(ec2, tgw_id), TransitGatewayAttachmentId=attachment_id
        )

    on_plain_moto(check)


# --- VPC routes to a transit gateway ----------------------------------------------------------


def _main_table(ec2: Any, vpc_id: str) -> str:
    tables = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["RouteTables"]
    return str(tables[0]["RouteTableId"])


def test_a_route_to_a_transit_gateway_not_attached_to_the_vpc_is_refused(
    hub: tuple[Any, str, str, list[str]],
) -> None:
    ec2, tgw_id, vpc_id, _ = hub

    with pytest.raises(ClientError) as exc:
        ec2.create_route(
            RouteTableId=_main_table(ec2, vpc_id), DestinationCidrBlock="10.1.0.0/16", TransitGatewayId=tgw_id
        )
    assert error_code(exc) == "InvalidTransitGatewayID.NotFound"


def test_routes_to_an_attached_transit_gateway_by_cidr_and_by_prefix_list(
    hub: tuple[Any, str, str, list[str]],
) -> None:
    ec2, tgw_id, vpc_id, subnets = hub
    attach(ec2, tgw_id, vpc_id, subnets)
    fast_forward(SECONDS)
    table_id = _main_table(ec2, vpc_id)
    prefix_list_id = ec2.create_managed_prefix_list(
        PrefixListName="corp", MaxEntries=5, AddressFamily="IPv4", Entries=[{"Cidr": "172.16.0.0/12"}]
    )["PrefixList"]["PrefixListId"]

    ec2.create_route(RouteTableId=table_id, DestinationCidrBlock="10.1.0.0/16", TransitGatewayId=tgw_id)
    ec2.create_route(RouteTableId=table_id, DestinationPrefixListId=prefix_list_id, TransitGatewayId=tgw_id)

    routes = ec2.describe_route_tables(RouteTableIds=[table_id])["RouteTables"][0]["Routes"]
    to_tgw = {
        r.get("DestinationCidrBlock") or r.get("DestinationPrefixListId")
        for r in routes
        if r.get("TransitGatewayId") == tgw_id
    }
    assert to_tgw == {"10.1.0.0/16", prefix_list_id}


def test_on_plain_moto_a_route_to_an_unattached_transit_gateway_is_stored() -> None:
    def check(ec2: Any) -> None:
        vpc_id, _ = vpc_with_subnets(ec2)
        tgw_id = transit_gateway(ec2)
        ec2.create_route(
            RouteTableId=_main_table(ec2, vpc_id), DestinationCidrBlock="10.1.0.0/16", TransitGatewayId=tgw_id
        )

    on_plain_moto(check)


# --- a transit gateway shared through RAM -----------------------------------------------------


def _shared_hub(owner: Any, **options: str) -> tuple[str, str]:
    tgw_id = transit_gateway(owner, **options)
    arn = owner.describe_transit_gateways(TransitGatewayIds=[tgw_id])["TransitGateways"][0]["TransitGatewayArn"]
    share = boto3.client("ram", region_name="us-east-1").create_resource_share(
        name="hub", resourceArns=[arn], principals=[SPOKE]
    )
    return tgw_id, share["resourceShare"]["resourceShareArn"]


def test_a_shared_transit_gateway_is_visible_and_attachable_from_the_spoke_pending_acceptance(ec2: Any) -> None:
    tgw_id, _ = _shared_hub(ec2)
    spoke = client_in(SPOKE)

    seen = spoke.describe_transit_gateways()["TransitGateways"]
    assert [(t["TransitGatewayId"], t["OwnerId"]) for t in seen] == [(tgw_id, OWNER)]
    vpc_id, subnets = vpc_with_subnets(spoke)
    created = attach(spoke, tgw_id, vpc_id, subnets)
    attachment_id = created["TransitGatewayAttachmentId"]

    assert created["State"] == "pendingAcceptance"
    assert created["VpcOwnerId"] == SPOKE
    fast_forward(10 * SECONDS)
    assert attachment_of(spoke, attachment_id)["State"] == "pendingAcceptance"
    # the owner sees it, and accepts it: pending, then available
    assert attachment_of(ec2, attachment_id)["State"] == "pendingAcceptance"
    accepted = ec2.accept_transit_gateway_vpc_attachment(TransitGatewayAttachmentId=attachment_id)
    assert accepted["TransitGatewayVpcAttachment"]["State"] == "pending"
    fast_forward(SECONDS)
    assert attachment_of(spoke, attachment_id)["State"] == "available"
    spoke.create_route(
        RouteTableId=_main_table(spoke, vpc_id), DestinationCidrBlock="10.1.0.0/16", TransitGatewayId=tgw_id
    )


def test_a_shared_transit_gateway_with_auto_accept_gives_a_pending_attachment(ec2: Any) -> None:
    tgw_id, _ = _shared_hub(ec2, AutoAcceptSharedAttachments="enable")
    spoke = client_in(SPOKE)
    vpc_id, subnets = vpc_with_subnets(spoke)

    assert attach(spoke, tgw_id, vpc_id, subnets)["State"] == "pending"


def test_an_unshared_transit_gateway_of_another_account_is_invisible_to_the_spoke(ec2: Any) -> None:
    tgw_id = transit_gateway(ec2)
    spoke = client_in(SPOKE)
    vpc_id, subnets = vpc_with_subnets(spoke)

    assert spoke.describe_transit_gateways()["TransitGateways"] == []
    with pytest.raises(ClientError) as exc:
        attach(spoke, tgw_id, vpc_id, subnets)
    assert error_code(exc) == "InvalidTransitGatewayID.NotFound"


def test_the_share_helper_shares_like_ram(ec2: Any) -> None:
    tgw_id = transit_gateway(ec2)
    transit_gateways.share_transit_gateway(tgw_id, OWNER, "us-east-1", SPOKE)

    seen = client_in(SPOKE).describe_transit_gateways()["TransitGateways"]
    assert [t["TransitGatewayId"] for t in seen] == [tgw_id]


def test_on_plain_moto_a_shared_transit_gateway_is_invisible_to_the_spoke() -> None:
    def check(ec2: Any) -> None:
        tgw_id, _ = _shared_hub(ec2)
        spoke = client_in(SPOKE)
        assert spoke.describe_transit_gateways()["TransitGateways"] == []
        vpc_id, subnets = vpc_with_subnets(spoke)
        with pytest.raises(ClientError) as exc:
            attach(spoke, tgw_id, vpc_id, subnets)
        assert error_code(exc) == "InvalidTransitGatewayID.NotFound"

    on_plain_moto(check)


# --- pins -------------------------------------------------------------------------------------


# --- association moved off the default route table; attachment filters; modify -----------------


def _default_table(ec2: Any, tgw_id: str) -> str:
    options = ec2.describe_transit_gateways(TransitGatewayIds=[tgw_id])["TransitGateways"][0]["Options"]
    return str(options["AssociationDefaultRouteTableId"])


def _association(ec2: Any, attachment_id: str) -> dict[str, Any] | None:
    items = ec2.describe_transit_gateway_attachments(TransitGatewayAttachmentIds=[attachment_id])
    return items["TransitGatewayAttachments"][0].get("Association")


def test_the_default_association_can_be_moved_to_another_route_table(hub: tuple[Any, str, str, list[str]]) -> None:
    ec2, tgw_id, vpc_id, subnets = hub
    attachment_id = attach(ec2, tgw_id, vpc_id, subnets)["TransitGatewayAttachmentId"]
    other = ec2.create_transit_gateway_route_table(TransitGatewayId=tgw_id)["TransitGatewayRouteTable"]
    other_id = other["TransitGatewayRouteTableId"]
    fast_forward(SECONDS)
    assert _association(ec2, attachment_id) == {
        "State": "associated",
        "TransitGatewayRouteTableId": _default_table(ec2, tgw_id),
    }

    ec2.disassociate_transit_gateway_route_table(
        TransitGatewayRouteTableId=_default_table(ec2, tgw_id), TransitGatewayAttachmentId=attachment_id
    )
    assert _association(ec2, attachment_id) is None
    ec2.associate_transit_gateway_route_table(
        TransitGatewayRouteTableId=other_id, TransitGatewayAttachmentId=attachment_id
    )

    assert _association(ec2, attachment_id) == {"State": "associated", "TransitGatewayRouteTableId": other_id}


def test_on_plain_moto_the_automatic_association_cannot_be_disassociated() -> None:
    def plain(ec2: Any) -> None:
        vpc_id, subnets = vpc_with_subnets(ec2)
        tgw_id = transit_gateway(ec2)
        attachment_id = attach(ec2, tgw_id, vpc_id, subnets)["TransitGatewayAttachmentId"]
        # moto never recorded the automatic association as one: a KeyError (a 500 through a server)
        with pytest.raises(KeyError):
            ec2.disassociate_transit_gateway_route_table(
                TransitGatewayRouteTableId=_default_table(ec2, tgw_id), TransitGatewayAttachmentId=attachment_id
            )

    on_plain_moto(plain)


def test_describe_attachments_honours_the_id_and_state_filters(hub: tuple[Any, str, str, list[str]]) -> None:
    ec2, tgw_id, vpc_id, subnets = hub
    first = attach(ec2, tgw_id, vpc_id, subnets)["TransitGatewayAttachmentId"]
    other_vpc, other_subnets = vpc_with_subnets(ec2)
    attach(ec2, tgw_id, other_vpc, other_subnets)

    by_id = ec2.describe_transit_gateway_attachments(
        Filters=[{"Name": "transit-gateway-attachment-id", "Values": [first]}]
    )["TransitGatewayAttachments"]
    available = ec2.describe_transit_gateway_attachments(Filters=[{"Name": "state", "Values": ["available"]}])

    assert [a["TransitGatewayAttachmentId"] for a in by_id] == [first]
    assert available["TransitGatewayAttachments"] == []  # both still pending


def test_on_plain_moto_describe_attachments_ignores_the_id_filter() -> None:
    def plain(ec2: Any) -> None:
        tgw_id = transit_gateway(ec2)
        ids = [attach(ec2, tgw_id, *vpc_with_subnets(ec2))["TransitGatewayAttachmentId"] for _ in range(2)]
        found = ec2.describe_transit_gateway_attachments(
            Filters=[{"Name": "transit-gateway-attachment-id", "Values": ids[:1]}]
        )["TransitGatewayAttachments"]
        assert len(found) == 2

    on_plain_moto(plain)


def test_adding_a_subnet_needs_an_available_attachment_then_modifies_it(ec2: Any) -> None:
    vpc_id, subnets = vpc_with_subnets(ec2, ("us-east-1a", "us-east-1b", "us-east-1c"))
    tgw_id = transit_gateway(ec2)
    attachment_id = attach(ec2, tgw_id, vpc_id, subnets[:2])["TransitGatewayAttachmentId"]
    with pytest.raises(ClientError) as pending:
        ec2.modify_transit_gateway_vpc_attachment(TransitGatewayAttachmentId=attachment_id, AddSubnetIds=subnets[2:])
    assert error_code(pending) == "IncorrectState"
    fast_forward(SECONDS)

    ec2.modify_transit_gateway_vpc_attachment(TransitGatewayAttachmentId=attachment_id, AddSubnetIds=subnets[2:])

    modified = attachment_of(ec2, attachment_id)
    assert modified["State"] == "modifying"
    assert sorted(modified["SubnetIds"]) == sorted(subnets)
    fast_forward(SECONDS)
    assert attachment_of(ec2, attachment_id)["State"] == "available"


def test_adding_a_second_subnet_in_a_zone_is_refused(ec2: Any) -> None:
    vpc_id, subnets = vpc_with_subnets(ec2, ("us-east-1a", "us-east-1a"))
    attachment_id = attach(ec2, transit_gateway(ec2), vpc_id, subnets[:1])["TransitGatewayAttachmentId"]
    fast_forward(SECONDS)

    with pytest.raises(ClientError) as exc:
        ec2.modify_transit_gateway_vpc_attachment(TransitGatewayAttachmentId=attachment_id, AddSubnetIds=subnets[1:])

    assert error_code(exc) == "DuplicateSubnetsInSameZone"


def test_on_plain_moto_a_subnet_is_added_to_a_pending_attachment_at_once() -> None:
    def plain(ec2: Any) -> None:
        vpc_id, subnets = vpc_with_subnets(ec2, ("us-east-1a", "us-east-1a"))
        attachment_id = attach(ec2, transit_gateway(ec2), vpc_id, subnets[:1])["TransitGatewayAttachmentId"]
        ec2.modify_transit_gateway_vpc_attachment(TransitGatewayAttachmentId=attachment_id, AddSubnetIds=subnets[1:])
        assert attachment_of(ec2, attachment_id)["State"] == "available"

    on_plain_moto(plain)


def test_the_patched_moto_sources_are_the_pinned_ones() -> None:
    assert patching.source_fingerprints(list(transit_gateways.PINNED_SOURCES)) == transit_gateways.PINNED_SOURCES


def test_uninstall_gives_moto_back() -> None:
    from moto.ec2.models.transit_gateway_attachments import TransitGatewayVpcAttachment

    transit_gateways.uninstall()
    try:
        assert "state" not in vars(TransitGatewayVpcAttachment)
    finally:
        transit_gateways.install()
    assert "state" in vars(TransitGatewayVpcAttachment)
