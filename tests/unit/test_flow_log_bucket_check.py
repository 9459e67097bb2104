"""Validate And Plan's check of a flow-log bucket (S3 HeadBucket): only a bucket that does not exist
(404) refuses the spec; a bucket we may not read (403, e.g. another account's log archive) does not.
The S3 call is faked: what HeadBucket answers is the input here."""

from __future__ import annotations

import pytest

from vpcfactory import aws, safeguards
from vpcfactory.errors import InvalidSpec
from vpcfactory.spec import parse_spec

SPEC = {
    "name": "logs",
    "cidr": "10.0.0.0/16",
    "availabilityZones": 2,
    "tiers": [{"name": "data", "type": "isolated", "prefixLength": 24}],
}


def flow_logs(**settings):
    return parse_spec({**SPEC, "flowLogs": settings}).flow_logs


@pytest.fixture
def head_bucket(monkeypatch):
    """Answer HeadBucket with a status; record the buckets asked about."""
    asked: list[str] = []
    answer = {"status": 200}

    def bucket_status(bucket: str) -> int:
        asked.append(bucket)
        return answer["status"]

    monkeypatch.setattr(aws, "bucket_status", bucket_status)
    return answer, asked


def test_a_bucket_that_does_not_exist_is_refused_naming_the_bucket_arn_field(head_bucket):
    answer, asked = head_bucket
    answer["status"] = 404

    with pytest.raises(InvalidSpec) as exc:
        safeguards.check_flow_log_bucket(flow_logs(destination="s3", bucketArn="arn:aws:s3:::archive/vpcs/"))

    assert asked == ["archive"]  # the bucket, not its folder
    assert exc.value.field == "flowLogs.bucketArn"
    assert "S3 bucket archive does not exist" in exc.value.reason and "nothing was created" in exc.value.reason


@pytest.mark.parametrize(
    "status",
    [200, 403, 400, 500],
    ids=["ours", "another account's, not readable by us", "bad request", "S3 error"],
)
def test_a_bucket_that_exists_or_cannot_be_told_apart_lets_the_build_go_on(head_bucket, status):
    answer, asked = head_bucket
    answer["status"] = status

    safeguards.check_flow_log_bucket(flow_logs(destination="s3", bucketArn="arn:aws:s3:::log-archive"))

    assert asked == ["log-archive"]


def test_flow_logs_to_cloudwatch_logs_or_none_ask_s3_nothing(head_bucket):
    _, asked = head_bucket

    safeguards.check_flow_log_bucket(flow_logs())  # CloudWatch Logs, the default
    safeguards.check_flow_log_bucket(None)  # flowLogs: false

    assert asked == []
