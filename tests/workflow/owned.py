"""Read what an execution left in the account, by its ownership tags."""

from __future__ import annotations

from typing import Any

from vpcfactory.tags import TAG_EXECUTION

OWNED_TYPES = (
    ("DescribeVpcs", "Vpcs", "VpcId"),
    ("DescribeSubnets", "Subnets", "SubnetId"),
    ("DescribeInternetGateways", "InternetGateways", "InternetGatewayId"),
    ("DescribeAddresses", "Addresses", "AllocationId"),
    ("DescribeNatGateways", "NatGateways", "NatGatewayId"),
    ("DescribeRouteTables", "RouteTables", "RouteTableId"),
)


def tagged_with_execution(ec2: Any, execution: str) -> list[str]:
    """Every live resource carrying vpcfactory:execution = execution (deleted NATs excluded)."""
    left: list[str] = []
    filters = [{"Name": f"tag:{TAG_EXECUTION}", "Values": [execution]}]
    for op, key, id_key in OWNED_TYPES:
        method = getattr(ec2, "".join(f"_{c.lower()}" if c.isupper() and i else c.lower() for i, c in enumerate(op)))
        for item in method(Filters=filters)[key]:
            if item.get("State") == "deleted":
                continue
            # Check the tag here too: what we count must not depend on the Describe honouring it.
            if {t["Key"]: t["Value"] for t in item.get("Tags", [])}.get(TAG_EXECUTION) != execution:
                continue
            left.append(item[id_key])
    return left


def execution_name(result: Any) -> str:
    return result.execution_arn.rsplit(":", 1)[-1]
