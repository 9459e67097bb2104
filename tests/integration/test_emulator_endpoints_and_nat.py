"""Interface VPC endpoints and regional NAT gateways on the patched moto (issue 14), via boto3.

Each gap between moto 5.2.5 and AWS has a scenario: it passes on the emulator, and fails on plain
moto (both patch modules uninstalled) -- ``test_on_plain_moto_*`` shows that. The AWS facts and
their sources are in the docstring of ``vpcfactory_tools.emulator.endpoints_and_nat``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import moto
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from tests.integration.conftest import MOCK_CONFIG, NO_RETRIES, REGION
from vpcfactory_tools.emulator import endpoints_and_nat, fidelity, patching
from vpcfactory_tools.emulator.settings import EmulatorSettings, clock, configured

SETTINGS = EmulatorSettings(
    time_scale=1.0,
    vpc_pending_seconds=0,
    nat_pending_seconds=90,
    nat_deleting_seconds=60,
    nat_failure_seconds=5,
    endpoint_pending_seconds=60,
    endpoint_deleting_seconds=30,
)
SSM = f"com.amazonaws.{REGION}.ssm"
INTERFACE_SERVICES = [
    "ssm",
    "ssmmessages",
    "ec2messages",
    "logs",
    "sts",
    "ecr.api",
    "ecr.dkr",
    "kms",
    "secretsmanager",
    "monitoring",
    "execute-api",
]


@pytest.fixture(scope="module", autouse=True)
def _patched_moto() -> Iterator[None]:
    # endpoints_and_nat first, then fidelity (as embedded.install_patches does); undone in reverse
    fidelity_before, ours_before = fidelity.installed(), endpoints_and_nat.installed()
    if not ours_before:
        if fidelity_before:
            fidelity.uninstall()
        endpoints_and_nat.install()
    fidelity.install()
    yield
    if not ours_before:
        fidelity.uninstall()
        endpoints_and_nat.uninstall()
        if fidelity_before:
            fidelity.install()


@pytest.fixture(autouse=True)
def _settings() -> Iterator[None]:
    with configured(SETTINGS):
        yield


@contextmanager
def plain_moto() -> Iterator[Any]:
    fidelity.uninstall()
    endpoints_and_nat.uninstall()
    try:
        with mock_aws(config=MOCK_CONFIG):
            yield boto3.session.Session().client("ec2", config=NO_RETRIES)
    finally:
        endpoints_and_nat.install()
        fidelity.install()


def fast_forward(seconds: float) -> None:
    clock().advance(seconds)


def error_code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def dns_vpc(ec2: Any, *, hostnames: bool = True, support: bool = True, cidr: str = "10.0.0.0/16") -> str:
    vpc_id = ec2.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsSupport={"Value": support})
    ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsHostnames={"Value": hostnames})
    return vpc_id


def subnet(ec2: Any, vpc_id: str, cidr: str, zone: str) -> str:
    return str(
        ec2.create_subnet(VpcId=vpc_id, CidrBlock=cidr, AvailabilityZone=f"{REGION}{zone}")["Subnet"]["SubnetId"]
    )


def interface_endpoint(ec2: Any, vpc_id: str, subnet_ids: list[str], **kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("ServiceName", SSM)
    answer = ec2.create_vpc_endpoint(VpcEndpointType="Interface", VpcId=vpc_id, SubnetIds=subnet_ids, **kwargs)
    return dict(answer["VpcEndpoint"])


def endpoint_state(ec2: Any, endpoint_id: str) -> str:
    return str(ec2.describe_vpc_endpoints(VpcEndpointIds=[endpoint_id])["VpcEndpoints"][0]["State"])


def vpc_with_igw(ec2: Any, cidr: str = "10.0.0.0/16") -> tuple[str, str]:
    vpc_id = ec2.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"]
    igw_id = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw_id, VpcId=vpc_id)
    return vpc_id, igw_id


def nat_of(ec2: Any, nat_id: str) -> dict[str, Any]:
    return dict(ec2.describe_nat_gateways(NatGatewayIds=[nat_id])["NatGateways"][0])


# --- A. Interface endpoints: scenarios ---------------------------------------------------------


def interface_endpoint_to_an_unknown_service_is_invalid_service_name(ec2: Any) -> None:
    vpc_id = dns_vpc(ec2)
    subnet_a = subnet(ec2, vpc_id, "10.0.0.0/24", "a")
    with pytest.raises(ClientError) as exc:
        interface_endpoint(ec2, vpc_id, [subnet_a], ServiceName=f"com.amazonaws.{REGION}.nothing")
    assert error_code(exc) == "InvalidServiceName"


def private_dns_needs_dns_hostnames_and_dns_support(ec2: Any) -> None:
    for hostnames, support in ((False, True), (True, False)):
        vpc_id = dns_vpc(ec2, hostnames=hostnames, support=support)
        subnet_a = subnet(ec2, vpc_id, "10.0.0.0/24", "a")
        for private_dns in ({"PrivateDnsEnabled": True}, {}):  # true is the default
            with pytest.raises(ClientError) as exc:
                interface_endpoint(ec2, vpc_id, [subnet_a], **private_dns)
            assert error_code(exc) == "InvalidParameter"
            assert exc.value.response["Error"]["Message"] == (
                "Enabling private DNS requires both enableDnsSupport and enableDnsHostnames VPC attributes set to "
                f"true for {vpc_id}"
            )
        # without private DNS the attributes do not matter
        interface_endpoint(ec2, vpc_id, [subnet_a], PrivateDnsEnabled=False)


def two_subnets_in_one_zone_are_duplicate_subnets_in_same_zone(ec2: Any) -> None:
    vpc_id = dns_vpc(ec2)
    first = subnet(ec2, vpc_id, "10.0.0.0/24", "a")
    second = subnet(ec2, vpc_id, "10.0.1.0/24", "a")
    with pytest.raises(ClientError) as exc:
        interface_endpoint(ec2, vpc_id, [first, second])
    assert error_code(exc) == "DuplicateSubnetsInSameZone"
    assert ec2.describe_vpc_endpoints()["VpcEndpoints"] == []


def a_subnet_in_a_zone_the_service_is_not_offered_in_is_invalid_parameter(ec2: Any) -> None:
    with configured(EmulatorSettings(**{**vars(SETTINGS), "endpoint_service_zones": {"ssm": [f"{REGION}a"]}})):
        details = ec2.describe_vpc_endpoint_services(ServiceNames=[SSM])["ServiceDetails"]
        assert [d["AvailabilityZones"] for d in details] == [[f"{REGION}a"]]
        vpc_id = dns_vpc(ec2)
        subnet_a = subnet(ec2, vpc_id, "10.0.0.0/24", "a")
        subnet_b = subnet(ec2, vpc_id, "10.0.1.0/24", "b")
        with pytest.raises(ClientError) as exc:
            interface_endpoint(ec2, vpc_id, [subnet_a, subnet_b])
        assert error_code(exc) == "InvalidParameter"
        assert exc.value.response["Error"]["Message"] == (
            f"The VPC endpoint service {SSM} does not support the availability zone of the subnet: {subnet_b}."
        )
        interface_endpoint(ec2, vpc_id, [subnet_a])
        # other services stay in every zone
        logs = ec2.describe_vpc_endpoint_services(ServiceNames=[f"com.amazonaws.{REGION}.logs"])["ServiceDetails"]
        assert len(logs[0]["AvailabilityZones"]) == 6


def an_interface_endpoint_is_pending_then_available(ec2: Any) -> None:
    vpc_id = dns_vpc(ec2)
    subnet_a = subnet(ec2, vpc_id, "10.0.0.0/24", "a")
    created = interface_endpoint(ec2, vpc_id, [subnet_a])
    assert created["State"] == "pending"
    assert endpoint_state(ec2, created["VpcEndpointId"]) == "pending"
    pending = ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-endpoint-state", "Values": ["pending"]}])
    assert [e["VpcEndpointId"] for e in pending["VpcEndpoints"]] == [created["VpcEndpointId"]]
    fast_forward(60)
    assert endpoint_state(ec2, created["VpcEndpointId"]) == "available"


def deleting_an_interface_endpoint_keeps_its_interfaces_until_it_is_deleted(ec2: Any) -> None:
    vpc_id = dns_vpc(ec2)
    subnet_a = subnet(ec2, vpc_id, "10.0.0.0/24", "a")
    endpoint_id = interface_endpoint(ec2, vpc_id, [subnet_a])["VpcEndpointId"]
    fast_forward(60)

    assert ec2.delete_vpc_endpoints(VpcEndpointIds=[endpoint_id])["Unsuccessful"] == []
    assert endpoint_state(ec2, endpoint_id) == "deleting"
    enis = ec2.describe_network_interfaces(Filters=[{"Name": "subnet-id", "Values": [subnet_a]}])
    assert len(enis["NetworkInterfaces"]) == 1
    with pytest.raises(ClientError) as exc:
        ec2.delete_subnet(SubnetId=subnet_a)
    assert error_code(exc) == "DependencyViolation"

    fast_forward(30)
    assert endpoint_state(ec2, endpoint_id) == "deleted"
    enis = ec2.describe_network_interfaces(Filters=[{"Name": "subnet-id", "Values": [subnet_a]}])
    assert enis["NetworkInterfaces"] == []
    ec2.delete_subnet(SubnetId=subnet_a)


def a_subnet_holding_an_interface_endpoint_cannot_be_deleted(ec2: Any) -> None:
    vpc_id = dns_vpc(ec2)
    subnet_a = subnet(ec2, vpc_id, "10.0.0.0/24", "a")
    endpoint_id = interface_endpoint(ec2, vpc_id, [subnet_a])["VpcEndpointId"]
    fast_forward(60)
    with pytest.raises(ClientError) as exc:
        ec2.delete_subnet(SubnetId=subnet_a)
    assert error_code(exc) == "DependencyViolation"
    assert exc.value.response["Error"]["Message"] == f"The subnet '{subnet_a}' has dependencies and cannot be deleted."
    [eni] = ec2.describe_network_interfaces(Filters=[{"Name": "subnet-id", "Values": [subnet_a]}])["NetworkInterfaces"]
    assert eni["InterfaceType"] == "vpc_endpoint"
    assert eni["Description"] == f"VPC Endpoint Interface {endpoint_id}"
    assert eni["RequesterManaged"] is True


def a_zone_added_to_an_interface_endpoint_gets_its_interface_and_keeps_one_subnet_per_zone(ec2: Any) -> None:
    vpc_id = dns_vpc(ec2)
    subnet_a = subnet(ec2, vpc_id, "10.0.0.0/24", "a")
    subnet_b = subnet(ec2, vpc_id, "10.0.1.0/24", "b")
    other_b = subnet(ec2, vpc_id, "10.0.2.0/24", "b")
    endpoint_id = interface_endpoint(ec2, vpc_id, [subnet_a])["VpcEndpointId"]

    ec2.modify_vpc_endpoint(VpcEndpointId=endpoint_id, AddSubnetIds=[subnet_b])

    enis = ec2.describe_network_interfaces(Filters=[{"Name": "subnet-id", "Values": [subnet_b]}])["NetworkInterfaces"]
    assert [e["Description"] for e in enis] == [f"VPC Endpoint Interface {endpoint_id}"]
    with pytest.raises(ClientError) as exc:
        ec2.modify_vpc_endpoint(VpcEndpointId=endpoint_id, AddSubnetIds=[other_b])
    assert error_code(exc) == "DuplicateSubnetsInSameZone"
    [endpoint] = ec2.describe_vpc_endpoints(VpcEndpointIds=[endpoint_id])["VpcEndpoints"]
    assert sorted(endpoint["SubnetIds"]) == sorted([subnet_a, subnet_b])


def interface_endpoints_are_found_by_the_vpc_endpoint_id_filter(ec2: Any) -> None:
    vpc_id = dns_vpc(ec2)
    endpoint_id = interface_endpoint(ec2, vpc_id, [subnet(ec2, vpc_id, "10.0.0.0/24", "a")])["VpcEndpointId"]
    try:
        found = ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-endpoint-id", "Values": [endpoint_id, "vpce-0"]}])
    except NotImplementedError as exc:  # moto: FilterNotImplementedError
        pytest.fail(str(exc))
    assert [e["VpcEndpointId"] for e in found["VpcEndpoints"]] == [endpoint_id]


ENDPOINT_GAPS: list[Callable[[Any], None]] = [
    a_zone_added_to_an_interface_endpoint_gets_its_interface_and_keeps_one_subnet_per_zone,
    interface_endpoints_are_found_by_the_vpc_endpoint_id_filter,
    interface_endpoint_to_an_unknown_service_is_invalid_service_name,
    private_dns_needs_dns_hostnames_and_dns_support,
    two_subnets_in_one_zone_are_duplicate_subnets_in_same_zone,
    a_subnet_in_a_zone_the_service_is_not_offered_in_is_invalid_parameter,
    an_interface_endpoint_is_pending_then_available,
    deleting_an_interface_endpoint_keeps_its_interfaces_until_it_is_deleted,
    a_subnet_holding_an_interface_endpoint_cannot_be_deleted,
]


# --- B. Regional NAT gateways: scenarios --------------------------------------------------------


def a_regional_nat_gateway_in_automatic_mode(ec2: Any) -> None:
    vpc_id, igw_id = vpc_with_igw(ec2)
    subnet(ec2, vpc_id, "10.0.0.0/24", "a")
    subnet(ec2, vpc_id, "10.0.1.0/24", "b")

    created = ec2.create_nat_gateway(AvailabilityMode="regional", VpcId=vpc_id)["NatGateway"]

    assert created["State"] == "pending"
    assert created["AvailabilityMode"] == "regional"
    assert created["VpcId"] == vpc_id
    assert "SubnetId" not in created
    assert created["AutoProvisionZones"] == "enabled"
    assert created["AutoScalingIps"] == "enabled"
    [table] = ec2.describe_route_tables(RouteTableIds=[created["RouteTableId"]])["RouteTables"]
    assert table["VpcId"] == vpc_id
    assert {"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": igw_id} in [
        {k: r[k] for k in ("DestinationCidrBlock", "GatewayId") if k in r} for r in table["Routes"]
    ]
    fast_forward(90)
    nat = nat_of(ec2, created["NatGatewayId"])
    assert nat["State"] == "available"
    assert sorted(a["AvailabilityZone"] for a in nat["NatGatewayAddresses"]) == [f"{REGION}a", f"{REGION}b"]
    assert all(a["PublicIp"] and "AllocationId" not in a for a in nat["NatGatewayAddresses"])
    # it expands to a zone when a subnet is created there
    subnet(ec2, vpc_id, "10.0.2.0/24", "c")
    nat = nat_of(ec2, created["NatGatewayId"])
    assert sorted(a["AvailabilityZone"] for a in nat["NatGatewayAddresses"]) == [f"{REGION}{z}" for z in "abc"]


def a_regional_nat_gateway_in_manual_mode_keeps_its_eips_until_deleted(ec2: Any) -> None:
    vpc_id, _ = vpc_with_igw(ec2)
    eip_a = ec2.allocate_address(Domain="vpc")
    eip_b = ec2.allocate_address(Domain="vpc")
    created = ec2.create_nat_gateway(
        AvailabilityMode="regional",
        VpcId=vpc_id,
        AvailabilityZoneAddresses=[
            {"AvailabilityZone": f"{REGION}a", "AllocationIds": [eip_a["AllocationId"]]},
            {"AvailabilityZoneId": "use1-az1", "AllocationIds": [eip_b["AllocationId"]]},  # us-east-1b
        ],
    )["NatGateway"]
    nat_id = created["NatGatewayId"]
    assert created["AutoProvisionZones"] == "disabled"
    fast_forward(90)
    nat = nat_of(ec2, nat_id)
    assert nat["State"] == "available"
    addresses = {a["AvailabilityZone"]: a for a in nat["NatGatewayAddresses"]}
    assert addresses[f"{REGION}a"]["AllocationId"] == eip_a["AllocationId"]
    assert addresses[f"{REGION}a"]["PublicIp"] == eip_a["PublicIp"]
    assert addresses[f"{REGION}b"]["AvailabilityZoneId"] == "use1-az1"
    assert addresses[f"{REGION}b"]["IsPrimary"] is True

    with pytest.raises(ClientError) as exc:
        ec2.release_address(AllocationId=eip_a["AllocationId"])
    assert error_code(exc) == "InvalidIPAddress.InUse"
    ec2.delete_nat_gateway(NatGatewayId=nat_id)
    assert nat_of(ec2, nat_id)["State"] == "deleting"
    fast_forward(60)
    assert nat_of(ec2, nat_id)["State"] == "deleted"
    ec2.release_address(AllocationId=eip_a["AllocationId"])  # not released by the delete, free now
    with pytest.raises(ClientError) as exc:
        ec2.describe_route_tables(RouteTableIds=[created["RouteTableId"]])
    assert error_code(exc) == "InvalidRouteTableID.NotFound"


def private_route_tables_in_every_zone_route_to_the_one_regional_nat_gateway(ec2: Any) -> None:
    vpc_id, _ = vpc_with_igw(ec2)
    nat_id = ec2.create_nat_gateway(AvailabilityMode="regional", VpcId=vpc_id)["NatGateway"]["NatGatewayId"]
    fast_forward(90)
    for index, zone in enumerate("abc"):
        subnet_id = subnet(ec2, vpc_id, f"10.0.{index}.0/24", zone)
        table_id = ec2.create_route_table(VpcId=vpc_id)["RouteTable"]["RouteTableId"]
        ec2.associate_route_table(RouteTableId=table_id, SubnetId=subnet_id)
        ec2.create_route(RouteTableId=table_id, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=nat_id)
        routes = ec2.describe_route_tables(RouteTableIds=[table_id])["RouteTables"][0]["Routes"]
        assert [r["NatGatewayId"] for r in routes if r.get("NatGatewayId")] == [nat_id]


def a_regional_nat_gateway_in_a_vpc_without_internet_gateway_fails(ec2: Any) -> None:
    vpc_id = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    nat_id = ec2.create_nat_gateway(AvailabilityMode="regional", VpcId=vpc_id)["NatGateway"]["NatGatewayId"]
    fast_forward(5)
    nat = nat_of(ec2, nat_id)
    assert (nat["State"], nat["FailureCode"]) == ("failed", "Gateway.NotAttached")


def a_regional_nat_gateway_with_an_eip_in_use_fails_with_resource_already_associated(ec2: Any) -> None:
    vpc_id, _ = vpc_with_igw(ec2)
    zonal_subnet = subnet(ec2, vpc_id, "10.0.0.0/24", "a")
    allocation_id = ec2.allocate_address(Domain="vpc")["AllocationId"]
    ec2.create_nat_gateway(SubnetId=zonal_subnet, AllocationId=allocation_id)
    nat_id = ec2.create_nat_gateway(
        AvailabilityMode="regional",
        VpcId=vpc_id,
        AvailabilityZoneAddresses=[{"AvailabilityZone": f"{REGION}a", "AllocationIds": [allocation_id]}],
    )["NatGateway"]["NatGatewayId"]
    fast_forward(5)
    nat = nat_of(ec2, nat_id)
    assert (nat["State"], nat["FailureCode"]) == ("failed", "Resource.AlreadyAssociated")
    assert nat["FailureMessage"] == f"Elastic IP address {allocation_id} is already associated"


def invalid_regional_requests_are_refused(ec2: Any) -> None:
    vpc_id, _ = vpc_with_igw(ec2)
    subnet_a = subnet(ec2, vpc_id, "10.0.0.0/24", "a")
    allocation_id = ec2.allocate_address(Domain="vpc")["AllocationId"]

    def refused(code: str, **kwargs: Any) -> None:
        with pytest.raises(ClientError) as exc:
            ec2.create_nat_gateway(**kwargs)
        assert error_code(exc) == code, kwargs

    regional = {"AvailabilityMode": "regional"}
    refused("InvalidParameterCombination", **regional, VpcId=vpc_id, SubnetId=subnet_a)
    refused("InvalidParameterCombination", **regional, VpcId=vpc_id, ConnectivityType="private")
    refused("InvalidParameterCombination", **regional, VpcId=vpc_id, AllocationId=allocation_id)
    refused("MissingParameter", **regional)
    refused("InvalidVpcID.NotFound", **regional, VpcId="vpc-0123456789abcdef0")
    zone_a = {"AvailabilityZone": f"{REGION}a", "AllocationIds": [allocation_id]}
    refused("InvalidParameterCombination", SubnetId=subnet_a, AvailabilityZoneAddresses=[zone_a])
    refused("InvalidParameterCombination", SubnetId=subnet_a, AllocationId=allocation_id, VpcId=vpc_id)
    refused(
        "InvalidParameterValue",
        **regional,
        VpcId=vpc_id,
        AvailabilityZoneAddresses=[{"AvailabilityZone": "eu-west-1a", "AllocationIds": [allocation_id]}],
    )
    refused("InvalidParameterValue", **regional, VpcId=vpc_id, AvailabilityZoneAddresses=[zone_a, zone_a])
    refused(
        "InvalidAllocationID.NotFound",
        **regional,
        VpcId=vpc_id,
        AvailabilityZoneAddresses=[{"AvailabilityZone": f"{REGION}a", "AllocationIds": ["eipalloc-0123456789abcdef0"]}],
    )
    assert ec2.describe_nat_gateways()["NatGateways"] == []


def a_zonal_nat_gateway_reports_availability_mode_zonal(ec2: Any) -> None:
    vpc_id, _ = vpc_with_igw(ec2)
    subnet_a = subnet(ec2, vpc_id, "10.0.0.0/24", "a")
    allocation_id = ec2.allocate_address(Domain="vpc")["AllocationId"]
    nat_id = ec2.create_nat_gateway(SubnetId=subnet_a, AllocationId=allocation_id)["NatGateway"]["NatGatewayId"]
    nat = nat_of(ec2, nat_id)
    assert nat.get("AvailabilityMode") == "zonal"
    assert nat["SubnetId"] == subnet_a
    assert "RouteTableId" not in nat


NAT_GAPS: list[Callable[[Any], None]] = [
    a_regional_nat_gateway_in_automatic_mode,
    a_regional_nat_gateway_in_manual_mode_keeps_its_eips_until_deleted,
    private_route_tables_in_every_zone_route_to_the_one_regional_nat_gateway,
    a_regional_nat_gateway_in_a_vpc_without_internet_gateway_fails,
    a_regional_nat_gateway_with_an_eip_in_use_fails_with_resource_already_associated,
    invalid_regional_requests_are_refused,
    a_zonal_nat_gateway_reports_availability_mode_zonal,
]


# --- The tests ---------------------------------------------------------------------------------


@pytest.mark.parametrize("scenario", ENDPOINT_GAPS + NAT_GAPS, ids=lambda s: s.__name__)
def test_the_emulator_behaves_as_aws(scenario: Callable[[Any], None], ec2: Any) -> None:
    scenario(ec2)


@pytest.mark.parametrize("scenario", ENDPOINT_GAPS + NAT_GAPS, ids=lambda s: s.__name__)
def test_on_plain_moto_the_scenario_fails(scenario: Callable[[Any], None]) -> None:
    with plain_moto() as ec2, pytest.raises((AssertionError, ClientError, pytest.fail.Exception)):
        scenario(ec2)


# --- What stays as it was ----------------------------------------------------------------------


def test_describe_vpc_endpoint_services_lists_the_interface_services_the_factory_uses(ec2: Any) -> None:
    names = [f"com.amazonaws.{REGION}.{svc}" for svc in INTERFACE_SERVICES]
    details = ec2.describe_vpc_endpoint_services(ServiceNames=names)["ServiceDetails"]
    interface = {d["ServiceName"]: d for d in details if {"ServiceType": "Interface"} in d["ServiceType"]}
    assert sorted(interface) == sorted(names)
    zones = sorted(z["ZoneName"] for z in ec2.describe_availability_zones()["AvailabilityZones"])
    for svc in INTERFACE_SERVICES:
        service = interface[f"com.amazonaws.{REGION}.{svc}"]
        assert sorted(service["AvailabilityZones"]) == zones
        host = "*.dkr.ecr" if svc == "ecr.dkr" else "api.ecr" if svc == "ecr.api" else svc
        assert service["PrivateDnsName"] == f"{host}.{REGION}.amazonaws.com"


def test_a_gateway_endpoint_is_still_available_at_once_and_deleted_at_once(ec2: Any) -> None:
    vpc_id = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    table = ec2.create_route_table(VpcId=vpc_id)["RouteTable"]["RouteTableId"]
    endpoint = ec2.create_vpc_endpoint(
        VpcEndpointType="Gateway", VpcId=vpc_id, ServiceName=f"com.amazonaws.{REGION}.s3", RouteTableIds=[table]
    )["VpcEndpoint"]
    assert endpoint["State"] == "available"
    ec2.delete_vpc_endpoints(VpcEndpointIds=[endpoint["VpcEndpointId"]])
    assert endpoint_state(ec2, endpoint["VpcEndpointId"]).lower() == "deleted"


def test_the_same_client_token_returns_the_same_regional_nat_gateway(ec2: Any) -> None:
    vpc_id, _ = vpc_with_igw(ec2)
    first = ec2.create_nat_gateway(AvailabilityMode="regional", VpcId=vpc_id, ClientToken="t-1")["NatGateway"]
    again = ec2.create_nat_gateway(AvailabilityMode="regional", VpcId=vpc_id, ClientToken="t-1")["NatGateway"]
    assert again["NatGatewayId"] == first["NatGatewayId"]
    assert len(ec2.describe_nat_gateways()["NatGateways"]) == 1


def test_the_moto_code_these_patches_rely_on_is_unchanged_since_it_was_pinned() -> None:
    assert moto.__version__ == patching.MOTO_VERSION
    pinned = endpoints_and_nat.PINNED_SOURCES
    assert patching.source_fingerprints(pinned) == pinned


def test_uninstall_gives_moto_back_and_install_is_idempotent() -> None:
    from moto.ec2.models.nat_gateways import NatGateway
    from moto.ec2.models.vpcs import VPCEndPoint

    endpoints_and_nat.install()
    assert "state" in vars(VPCEndPoint)
    with plain_moto():
        assert "state" not in vars(VPCEndPoint)
        assert "availability_mode" not in vars(NatGateway)
    assert endpoints_and_nat.installed()
    assert "state" in vars(VPCEndPoint)
