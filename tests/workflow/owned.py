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


def s3_delivery_policy(bucket: str, account_id: str, region: str = "us-east-1", partition: str = "aws") -> dict:
    """The bucket policy AWS documents for flow logs to S3 ("Publish flow logs to Amazon S3"),
    as the README shows it: what a user must put on a bucket before sending flow logs there."""
    source = {
        "StringEquals": {"aws:SourceAccount": account_id},
        "ArnLike": {"aws:SourceArn": f"arn:{partition}:logs:{region}:{account_id}:*"},
    }
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AWSLogDeliveryWrite",
                "Effect": "Allow",
                "Principal": {"Service": "delivery.logs.amazonaws.com"},
                "Action": "s3:PutObject",
                "Resource": f"arn:{partition}:s3:::{bucket}/*",
                "Condition": {
                    **source,
                    "StringEquals": {**source["StringEquals"], "s3:x-amz-acl": "bucket-owner-full-control"},
                },
            },
            {
                "Sid": "AWSLogDeliveryAclCheck",
                "Effect": "Allow",
                "Principal": {"Service": "delivery.logs.amazonaws.com"},
                "Action": "s3:GetBucketAcl",
                "Resource": f"arn:{partition}:s3:::{bucket}",
                "Condition": source,
            },
        ],
    }
