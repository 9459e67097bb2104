"""Issue 3's production features, each checked by inspecting the resources the real workflow
built on the emulator (routes, attributes, tags), not only the execution status."""

from __future__ import annotations

import ipaddress
import json

from tests.workflow.owned import execution_name, s3_delivery_policy, tagged_with_execution
from vpcfactory.tags import TAG_LOGICAL_ID, tag_dict


def _subnets(ec2, vpc_id):
    items = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]
    return {tag_dict(s["Tags"])[TAG_LOGICAL_ID]: s for s in items if s.get("Tags")}


def _tables(ec2, vpc_id):
    items = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["RouteTables"]
    return {tag_dict(t.get("Tags")).get(TAG_LOGICAL_ID, "main"): t for t in items}


def _route(table, destination):
    key = "DestinationIpv6CidrBlock" if ":" in destination else "DestinationCidrBlock"
    return next((r for r in table["Routes"] if r.get(key) == destination), None)


def test_a_spec_with_every_feature_on_builds_verifies_and_reports_compliance(emu, everything_spec):
    result = emu.build(everything_spec)

    assert result.status == "SUCCEEDED", result.cause
    out, ec2 = result.output, emu.client("ec2")
    # EC2.2 and EC2.6 pass; EC2.15 fails only because the public tier opted in to public IPs
    assert out["compliance"] == {"EC2.2": "PASSED", "EC2.6": "PASSED", "EC2.15": "FAILED"}
    subnets, tables = _subnets(ec2, out["vpcId"]), _tables(ec2, out["vpcId"])
    zones = out["availabilityZones"]

    # IPv6: a /56 on the VPC, a /64 per subnet inside it
    vpc6 = ipaddress.ip_network(out["ipv6Cidr"])
    assert vpc6.prefixlen == 56
    for subnet in subnets.values():
        (block,) = [a["Ipv6CidrBlock"] for a in subnet["Ipv6CidrBlockAssociationSet"]]
        assert ipaddress.ip_network(block).prefixlen == 64 and ipaddress.ip_network(block).subnet_of(vpc6)

    # public -> IGW (v4 and v6); app -> its NAT / round-robin (v4), egress-only IGW (v6); data -> nothing
    nats = {n["az"]: n["natGatewayId"] for n in out["natGateways"]}
    assert sorted(nats) == zones[:2], "natGateways: 2 puts NATs in the first two zones"
    assert _route(tables["rtb/public"], "0.0.0.0/0")["GatewayId"] == out["internetGatewayId"]
    assert _route(tables["rtb/public"], "::/0")["GatewayId"] == out["internetGatewayId"]
    for index, zone in enumerate(zones):
        app = tables[f"rtb/app/{zone}"]
        expected = nats.get(zone) or nats[zones[index % 2]]
        assert _route(app, "0.0.0.0/0")["NatGatewayId"] == expected
        assert _route(app, "::/0")["EgressOnlyInternetGatewayId"].startswith("eigw-")
    data = tables["rtb/data"]
    assert all(
        not (r.get("GatewayId", "").startswith("igw-") or r.get("NatGatewayId") or r.get("EgressOnlyInternetGatewayId"))
        for r in data["Routes"]
    ), "an isolated tier has no internet route, IPv4 or IPv6"

    # public IPs on launch only where the tier opted in; IPv6 addresses per tier setting
    for logical, subnet in subnets.items():
        tier = logical.split("/")[1]
        assert subnet["MapPublicIpOnLaunch"] is (tier == "public")
        assert subnet["AssignIpv6AddressOnCreation"] is (tier != "data")

    # gateway endpoints on the private and isolated route tables only
    endpoints = ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [out["vpcId"]]}])["VpcEndpoints"]
    assert sorted(e["ServiceName"].rsplit(".", 1)[1] for e in endpoints) == ["dynamodb", "s3"]
    wanted = sorted(t["RouteTableId"] for k, t in tables.items() if k.startswith(("rtb/app", "rtb/data")))
    for endpoint in endpoints:
        assert endpoint["VpcEndpointType"] == "Gateway"
        assert sorted(endpoint["RouteTableIds"]) == wanted

    # default security group allows nothing
    (group,) = ec2.describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [out["vpcId"]]}, {"Name": "group-name", "Values": ["default"]}]
    )["SecurityGroups"]
    assert group["IpPermissions"] == [] and group["IpPermissionsEgress"] == []

    # flow logs: active, to the log group the build created with the spec's retention
    (flow,) = ec2.describe_flow_logs(Filters=[{"Name": "resource-id", "Values": [out["vpcId"]]}])["FlowLogs"]
    assert flow["FlowLogStatus"] == "ACTIVE" and flow["TrafficType"] == "ALL"
    group_name = f"/vpcfactory/{everything_spec['name']}/flow-logs"
    assert flow["LogGroupName"] == group_name
    logs = emu.client("logs")
    (log_group,) = [g for g in logs.describe_log_groups(logGroupNamePrefix=group_name)["logGroups"]]
    assert log_group["retentionInDays"] == 30

    # names and per-tier tags on subnets and route tables
    for logical, subnet in subnets.items():
        tags = tag_dict(subnet["Tags"])
        tier, zone = logical.split("/")[1:]
        assert tags["Name"] == f"{everything_spec['name']}-{tier}-{zone}"
        assert tags["Tier"] == {"public": "web", "app": "app", "data": "data"}[tier]
    assert tag_dict(tables["rtb/data"]["Tags"])["Tier"] == "data"


def test_a_rollback_of_a_full_featured_build_removes_endpoints_flow_logs_and_its_log_group(emu, everything_spec):
    from vpcfactory_tools.emulator.faults import parse_fault
    from vpcfactory_tools.emulator.settings import EmulatorSettings

    emu.reconfigure(EmulatorSettings(time_scale=0.001, faults=[parse_fault("CreateRoute:4")]))

    result = emu.build(everything_spec)

    assert result.status == "FAILED"
    ec2 = emu.client("ec2")
    assert tagged_with_execution(ec2, execution_name(result)) == []
    name = execution_name(result)
    for op, key in (("describe_vpc_endpoints", "VpcEndpoints"), ("describe_flow_logs", "FlowLogs")):
        items = getattr(ec2, op)(Filters=[{"Name": "tag:vpcfactory:execution", "Values": [name]}])[key]
        assert [i for i in items if i.get("State", "available").lower() != "deleted"] == [], op
    groups = emu.client("logs").describe_log_groups(logGroupNamePrefix=f"/vpcfactory/{everything_spec['name']}/")
    assert groups["logGroups"] == []


def test_flow_logs_can_go_to_s3_and_endpoints_can_be_opted_out_per_service(emu, production_spec):
    emu.client("s3").create_bucket(Bucket="central-flow-logs")
    # as a real user must: the bucket lets the log delivery service write (README, flow logs to S3)
    emu.client("s3").put_bucket_policy(
        Bucket="central-flow-logs", Policy=json.dumps(s3_delivery_policy("central-flow-logs", "123456789012"))
    )
    spec = {
        **production_spec,
        "flowLogs": {"destination": "s3", "bucketArn": "arn:aws:s3:::central-flow-logs", "prefix": "vpcs"},
        "gatewayEndpoints": {"s3": True, "dynamodb": False},
    }

    result = emu.build(spec)

    assert result.status == "SUCCEEDED", result.cause
    ec2 = emu.client("ec2")
    (flow,) = ec2.describe_flow_logs(Filters=[{"Name": "resource-id", "Values": [result.vpc_id]}])["FlowLogs"]
    assert flow["LogDestinationType"] == "s3"
    assert flow["LogDestination"].startswith("arn:aws:s3:::central-flow-logs/vpcs")
    assert flow["DeliverLogsStatus"] == "SUCCESS"
    endpoints = ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [result.vpc_id]}])["VpcEndpoints"]
    assert [e["ServiceName"] for e in endpoints] == ["com.amazonaws.us-east-1.s3"]


def test_bring_your_own_eips_are_used_by_the_nats_and_never_released_by_rollback_or_destroy(emu, seed_spec):
    from vpcfactory_tools.emulator.faults import parse_fault
    from vpcfactory_tools.emulator.settings import EmulatorSettings

    ec2 = emu.client("ec2")
    theirs = ec2.allocate_address(Domain="vpc")["AllocationId"]
    spec = {**seed_spec, "natGateways": {"mode": "single", "eipAllocationIds": [theirs]}}

    # a failed build rolls back without releasing it
    emu.reconfigure(EmulatorSettings(time_scale=0.001, faults=[parse_fault("CreateRoute:2")]))
    failed = emu.build(spec)
    assert failed.status == "FAILED"
    assert ec2.describe_addresses(AllocationIds=[theirs])["Addresses"]

    # a build uses it for its NAT, and destroy leaves it
    emu.reconfigure(EmulatorSettings(time_scale=0.001))
    built = emu.build(spec)
    assert built.status == "SUCCEEDED", built.cause
    assert [n["allocationId"] for n in built.output["natGateways"]] == [theirs]
    assert (
        built.output["natGateways"][0]["publicIp"]
        == ec2.describe_addresses(AllocationIds=[theirs])["Addresses"][0]["PublicIp"]
    )
    assert emu.destroy(built.vpc_id).status == "SUCCEEDED"
    assert ec2.describe_addresses(AllocationIds=[theirs])["Addresses"]
    assert not ec2.describe_addresses(Filters=[{"Name": "tag:vpcfactory:vpc", "Values": [spec["name"]]}])[
        "Addresses"
    ], "the EIPs the factory allocated are gone"


def test_a_flow_log_that_fails_after_its_log_group_was_created_leaves_no_log_group(emu, everything_spec):
    from vpcfactory_tools.emulator.faults import parse_fault
    from vpcfactory_tools.emulator.settings import EmulatorSettings

    emu.reconfigure(EmulatorSettings(time_scale=0.001, faults=[parse_fault("CreateFlowLogs:1")]))

    result = emu.build(everything_spec)

    assert result.status == "FAILED" and "CreateFlowLogs" in result.cause
    groups = emu.client("logs").describe_log_groups(logGroupNamePrefix=f"/vpcfactory/{everything_spec['name']}/")
    assert groups["logGroups"] == []
