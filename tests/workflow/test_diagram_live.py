"""The diagram read from live VPCs on the embedded emulator: one the real workflow built (it must
agree with the plan), and foreign ones made directly with boto3 (classified by their routes)."""

from __future__ import annotations

import ipaddress
import shutil
import xml.etree.ElementTree as ET

import pytest

from vpcfactory.plan import plan_network
from vpcfactory.spec import parse_spec
from vpcfactory_tools.diagram import EIGW, IGW, Tier, network_from_plan, network_from_vpc, render

needs_dot = pytest.mark.skipif(
    shutil.which("dot") is None, reason="Graphviz's dot is not installed (`make graphviz` installs it)"
)


def _plan(emu, spec):
    zones = emu.client("ec2").describe_availability_zones()["AvailabilityZones"]
    return plan_network(parse_spec(spec), zones)


def _words(svg: str) -> list[str]:
    return ["".join(t.itertext()) for t in ET.fromstring(svg).iter("{http://www.w3.org/2000/svg}text")]


def _routes(net):
    return {key: (s.ipv4_route, s.ipv6_route) for key, s in net.subnets.items()}


@needs_dot
def test_a_built_production_vpc_reads_back_as_its_plan_and_draws_its_ids(emu, production_spec, tmp_path):
    # Given the production example built by the real workflow
    result = emu.build(production_spec)
    assert result.status == "SUCCEEDED", result.cause
    out, ec2 = result.output, emu.client("ec2")
    planned = network_from_plan(_plan(emu, production_spec))

    # When the live VPC is read
    live = network_from_vpc(ec2, out["vpcId"])

    # Then it is the planned network, with the ids AWS gave it
    assert live.name == production_spec["name"] and live.vpc_id == out["vpcId"]
    assert live.cidr == planned.cidr and live.zones == planned.zones
    assert live.tiers == planned.tiers
    assert live.tiers == [Tier("public", "public"), Tier("private", "private"), Tier("database", "isolated")]
    assert {k: s.cidr for k, s in live.subnets.items()} == {k: s.cidr for k, s in planned.subnets.items()}
    assert _routes(live) == _routes(planned), "every default route goes where the plan says"
    assert [(n.key, n.az, n.subnet) for n in live.nats] == [(n.key, n.az, n.subnet) for n in planned.nats]
    built_nats = {n["natGatewayId"]: n for n in out["natGateways"]}
    for nat in live.nats:
        assert nat.id in built_nats and built_nats[nat.id]["az"] == nat.az
        assert ipaddress.ip_address(nat.public_ip)
    assert live.igw and live.igw_id == out["internetGatewayId"]
    assert not live.eigw and not live.ipv6
    assert live.gateway_endpoints == planned.gateway_endpoints == ["s3", "dynamodb"]

    # and its picture names every subnet by id
    svg = render(live, tmp_path / "live.svg").read_text()
    text = _words(svg)
    subnet_ids = [s.id for s in live.subnets.values()]
    assert len(subnet_ids) == 9 and all(sid and sid.startswith("subnet-") for sid in subnet_ids)
    for sid in subnet_ids:
        assert sid in text
    for nat in live.nats:
        assert nat.id in text and f"EIP {nat.public_ip}" in text
    assert 'xlink:href="/' not in svg


def test_a_built_dual_stack_vpc_reads_back_its_ipv6_routes_and_cidrs(emu, everything_spec):
    result = emu.build(everything_spec)
    assert result.status == "SUCCEEDED", result.cause
    out = result.output
    planned = network_from_plan(_plan(emu, everything_spec))

    live = network_from_vpc(emu.client("ec2"), out["vpcId"])

    assert _routes(live) == _routes(planned)
    assert {s.ipv6_route for s in live.subnets.values()} == {IGW, EIGW, None}
    assert live.eigw and live.eigw_id and live.eigw_id.startswith("eigw-")
    assert live.ipv6_cidr == out["ipv6Cidr"]
    vpc6 = ipaddress.ip_network(live.ipv6_cidr)
    for subnet in live.subnets.values():
        assert ipaddress.ip_network(subnet.ipv6_cidr).subnet_of(vpc6)
    # natGateways: 2 over three zones: the third zone's app subnet borrows the first zone's NAT
    assert live.subnets[("app", out["availabilityZones"][2])].ipv4_route == f"nat/{out['availabilityZones'][0]}"


def test_a_foreign_vpc_is_classified_by_its_routes(emu):
    # Given a VPC built by hand: an internet gateway, a subnet routed to it, a subnet with no route
    ec2 = emu.client("ec2")
    vpc_id = ec2.create_vpc(CidrBlock="172.20.0.0/16")["Vpc"]["VpcId"]
    igw_id = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw_id, VpcId=vpc_id)
    web = ec2.create_subnet(VpcId=vpc_id, CidrBlock="172.20.1.0/24", AvailabilityZone="us-east-1a")["Subnet"]
    dark = ec2.create_subnet(VpcId=vpc_id, CidrBlock="172.20.2.0/24", AvailabilityZone="us-east-1a")["Subnet"]
    table_id = ec2.create_route_table(VpcId=vpc_id)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=table_id, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw_id)
    ec2.associate_route_table(RouteTableId=table_id, SubnetId=web["SubnetId"])

    # When it is read
    net = network_from_vpc(ec2, vpc_id)

    # Then the subnet routed to the IGW is public, the other (main table, no route) isolated
    by_id = {s.id: s for s in net.subnets.values()}
    public, isolated = by_id[web["SubnetId"]], by_id[dark["SubnetId"]]
    assert net.tier_type(public.tier) == "public" and public.ipv4_route == IGW
    assert net.tier_type(isolated.tier) == "isolated" and isolated.ipv4_route is None
    assert public.tier != isolated.tier, "different types never share a row"
    assert [t.type for t in net.tiers] == ["public", "isolated"]
    assert (public.cidr, isolated.cidr) == ("172.20.1.0/24", "172.20.2.0/24")
    assert net.igw and net.igw_id == igw_id
    assert net.nats == [] and not net.eigw and net.gateway_endpoints == []
    assert net.name == vpc_id  # no tags at all


def test_a_subnet_without_a_table_of_its_own_follows_the_main_table_and_its_name_tag(emu):
    # Given a hand-built VPC whose main route table sends 0.0.0.0/0 to a NAT gateway
    ec2 = emu.client("ec2")
    vpc_id = ec2.create_vpc(CidrBlock="172.21.0.0/16")["Vpc"]["VpcId"]
    igw_id = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw_id, VpcId=vpc_id)

    def subnet(cidr, az, name):
        tags = [{"ResourceType": "subnet", "Tags": [{"Key": "Name", "Value": name}]}]
        return ec2.create_subnet(VpcId=vpc_id, CidrBlock=cidr, AvailabilityZone=az, TagSpecifications=tags)["Subnet"]

    edge = subnet("172.21.0.0/24", "us-east-1a", "shop-edge-us-east-1a")
    subnet("172.21.10.0/24", "us-east-1a", "shop-app-us-east-1a")
    subnet("172.21.11.0/24", "us-east-1b", "shop-app-us-east-1b")
    public_table = ec2.create_route_table(VpcId=vpc_id)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=public_table, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw_id)
    ec2.associate_route_table(RouteTableId=public_table, SubnetId=edge["SubnetId"])
    allocation = ec2.allocate_address(Domain="vpc")["AllocationId"]
    nat_id = ec2.create_nat_gateway(SubnetId=edge["SubnetId"], AllocationId=allocation)["NatGateway"]["NatGatewayId"]
    main = ec2.describe_route_tables(
        Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "association.main", "Values": ["true"]}]
    )["RouteTables"][0]
    ec2.create_route(RouteTableId=main["RouteTableId"], DestinationCidrBlock="0.0.0.0/0", NatGatewayId=nat_id)

    net = network_from_vpc(ec2, vpc_id)

    # Then the app subnets (no association: the main table) are one private tier named from their
    # Name tags with the zone taken out, routing to the NAT, which sits in the edge subnet
    assert net.tiers == [Tier("shop-edge", "public"), Tier("shop-app", "private")]
    assert net.zones == ["us-east-1a", "us-east-1b"]
    (nat,) = net.nats
    assert (nat.id, nat.key, nat.subnet) == (nat_id, nat_id, ("shop-edge", "us-east-1a"))
    assert [net.subnets[("shop-app", az)].ipv4_route for az in net.zones] == [nat_id, nat_id]
    assert net.subnets[("shop-edge", "us-east-1a")].ipv4_route == IGW


def test_a_vpc_that_does_not_exist_is_a_clear_error(emu):
    with pytest.raises(ValueError, match="vpc-0123456789abcdef0"):
        network_from_vpc(emu.client("ec2"), "vpc-0123456789abcdef0")
