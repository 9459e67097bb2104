"""The execution's output: the network as EC2 reports it, not as the plan hoped it would be."""

from __future__ import annotations

from typing import Any

from vpcfactory import aws
from vpcfactory.tags import TAG_EXECUTION, TAG_LOGICAL_ID, tag_dict


def describe_network(
    plan: dict[str, Any], execution: str, vpc_id: str, ec2: Any | None = None
) -> dict[str, Any]:
    ec2 = ec2 or aws.client("ec2")
    in_vpc = [{"Name": "vpc-id", "Values": [vpc_id]}]
    ours = [{"Name": f"tag:{TAG_EXECUTION}", "Values": [execution]}]

    def logical(item: dict[str, Any]) -> str:
        return tag_dict(item.get("Tags")).get(TAG_LOGICAL_ID, "")

    subnets = {logical(s): s for s in aws.describe_all(ec2, "DescribeSubnets", "Subnets", in_vpc)}
    nats = {
        logical(n): n
        for n in aws.describe_all(ec2, "DescribeNatGateways", "NatGateways", [*in_vpc, *ours])
        if n.get("State") == "available" and tag_dict(n.get("Tags")).get(TAG_EXECUTION) == execution
    }
    tables = {logical(t): t for t in aws.describe_all(ec2, "DescribeRouteTables", "RouteTables", in_vpc)}
    igws = aws.describe_all(
        ec2,
        "DescribeInternetGateways",
        "InternetGateways",
        [{"Name": "attachment.vpc-id", "Values": [vpc_id]}],
    )

    tiers: dict[str, list[dict[str, str]]] = {}
    for sub in plan["subnets"]:
        item = subnets[sub["logicalId"]]
        tiers.setdefault(sub["tier"], []).append(
            {"subnetId": item["SubnetId"], "cidr": item["CidrBlock"], "az": item["AvailabilityZone"]}
        )
    nat_out = []
    for nat in plan["natGateways"]:
        item = nats[nat["logicalId"]]
        address = (item.get("NatGatewayAddresses") or [{}])[0]
        nat_out.append(
            {
                "natGatewayId": item["NatGatewayId"],
                "az": nat["az"],
                "subnetId": item["SubnetId"],
                "allocationId": address.get("AllocationId"),
                "publicIp": address.get("PublicIp"),
            }
        )
    rt_out = []
    for rt in plan["routeTables"]:
        item = tables[rt["logicalId"]]
        default = next(
            (r for r in item.get("Routes", []) if r.get("DestinationCidrBlock") == "0.0.0.0/0"), None
        )
        target = None
        if default:
            target = default.get("NatGatewayId") or default.get("GatewayId")
        rt_out.append(
            {
                "routeTableId": item["RouteTableId"],
                "tier": rt["tier"],
                "az": rt.get("az"),
                "subnetIds": sorted(a["SubnetId"] for a in item.get("Associations", []) if a.get("SubnetId")),
                "defaultRoute": target,
            }
        )
    return {
        "name": plan["name"],
        "vpcId": vpc_id,
        "cidr": plan["cidr"],
        "availabilityZones": [z["name"] for z in plan["availabilityZones"]],
        "subnets": tiers,
        "internetGatewayId": igws[0]["InternetGatewayId"] if igws else None,
        "natGateways": nat_out,
        "routeTables": rt_out,
    }
