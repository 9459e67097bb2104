"""A build in a China Region (partition aws-cn), where AWS service names differ from the
com.amazonaws.<region>.<svc> pattern: the gateway endpoints use the names EC2 lists there."""

from __future__ import annotations

import pytest

from tests.workflow.conftest import TIME_SCALE
from vpcfactory_tools.emulator.embedded import EmbeddedEmulator
from vpcfactory_tools.emulator.settings import EmulatorSettings


@pytest.fixture(scope="module")
def emu_cn():
    with EmbeddedEmulator(EmulatorSettings(time_scale=TIME_SCALE), region="cn-north-1") as emu:
        yield emu


def test_a_build_in_cn_north_1_creates_the_gateway_endpoints_under_their_china_names(emu_cn, seed_spec):
    result = emu_cn.build(seed_spec)

    assert result.status == "SUCCEEDED", result.cause
    assert result.output["availabilityZones"] == ["cn-north-1a", "cn-north-1b"]
    ec2 = emu_cn.client("ec2")
    endpoints = ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [result.vpc_id]}])["VpcEndpoints"]
    assert sorted(e["ServiceName"] for e in endpoints) == [
        "cn.com.amazonaws.cn-north-1.s3",  # S3 carries the cn. prefix in the China Regions
        "com.amazonaws.cn-north-1.dynamodb",  # DynamoDB does not
    ]
    assert all(e["VpcEndpointType"] == "Gateway" for e in endpoints)
    # and the network tears down there too
    destroyed = emu_cn.destroy(result.vpc_id)
    assert destroyed.status == "SUCCEEDED", destroyed.cause
