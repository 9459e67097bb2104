"""Read what an execution left in the account, by its ownership tags."""

from __future__ import annotations

from typing import Any

from vpcfactory.inventory import KINDS, Scope, owned


def tagged_with_execution(ec2: Any, execution: str) -> list[str]:
    """Every live resource this execution owns (vpcfactory:execution = execution), of every kind
    the inventory knows, by its id: the Lambdas' own kinds, live rules and ownership rule."""
    scope = Scope.of_execution(execution)
    # `owned` narrows each Describe by the execution tag, then `Scope.owns` checks the tags on each
    # item here too: what we count must not depend on the Describe honouring the filter.
    return [item[kind.id_key] for kind in KINDS for item in owned(ec2, kind, scope)]


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
