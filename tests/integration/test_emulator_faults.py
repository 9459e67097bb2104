"""Fault injection: the emulator fails the Nth EC2 call, or a seeded fraction of calls."""

from __future__ import annotations

import random
import urllib.request
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto.server import ThreadedMotoServer

from tests.integration.conftest import NO_RETRIES, REGION
from vpcfactory_tools.emulator import faults
from vpcfactory_tools.emulator.faults import Fault, parse_fault
from vpcfactory_tools.emulator.settings import EmulatorSettings, configured

# total_max_attempts=1: botocore must not retry (``max_attempts`` counts retries only).


@pytest.fixture(scope="module", autouse=True)
def _fault_hook() -> Iterator[None]:
    installed_before = faults.installed()
    faults.install()
    yield
    if not installed_before:
        faults.uninstall()


@pytest.fixture(autouse=True)
def _no_faults() -> Iterator[None]:
    with configured(EmulatorSettings(time_scale=0.001)):
        faults.reset()
        yield
    faults.reset()


def own_vpcs(ec2: Any) -> list[dict[str, Any]]:
    return [vpc for vpc in ec2.describe_vpcs()["Vpcs"] if not vpc["IsDefault"]]


def test_the_nth_call_of_an_operation_fails_with_the_configured_code_and_the_others_succeed(
    ec2: Any,
) -> None:
    with configured(EmulatorSettings(faults=[parse_fault("CreateVpc:2=VpcLimitExceeded")])):
        ec2.create_vpc(CidrBlock="10.0.0.0/16")
        with pytest.raises(ClientError) as exc:
            ec2.create_vpc(CidrBlock="10.1.0.0/16")
        ec2.create_vpc(CidrBlock="10.2.0.0/16")

    assert exc.value.response["Error"]["Code"] == "VpcLimitExceeded"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "CreateVpc:2=VpcLimitExceeded" in exc.value.response["Error"]["Message"]
    assert sorted(vpc["CidrBlock"] for vpc in own_vpcs(ec2)) == ["10.0.0.0/16", "10.2.0.0/16"]


def test_a_failed_call_fails_before_moto_runs_it_so_nothing_is_created(ec2: Any) -> None:
    with configured(EmulatorSettings(faults=[Fault("CreateVpc")])), pytest.raises(ClientError):
        ec2.create_vpc(CidrBlock="10.0.0.0/16")

    assert own_vpcs(ec2) == []


def test_the_default_code_is_internal_error_with_http_500(ec2: Any) -> None:
    with (
        configured(EmulatorSettings(faults=[parse_fault("DescribeVpcs")])),
        pytest.raises(ClientError) as exc,
    ):
        ec2.describe_vpcs()

    assert exc.value.response["Error"]["Code"] == "InternalError"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("RequestLimitExceeded", 503),
        ("Unavailable", 503),
        ("InsufficientAddressCapacity", 500),
        ("InvalidSubnetID.NotFound", 400),
    ],
)
def test_injected_errors_carry_the_http_status_ec2_uses_for_that_code(ec2: Any, code: str, status: int) -> None:
    with (
        configured(EmulatorSettings(faults=[Fault("DescribeSubnets", 1, code)])),
        pytest.raises(ClientError) as exc,
    ):
        ec2.describe_subnets()

    assert exc.value.response["Error"]["Code"] == code
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == status


def test_a_fault_fails_every_sdk_retry_of_the_call_so_a_retrying_client_sees_it(ec2: Any) -> None:
    retrying = boto3.client(
        "ec2", config=Config(region_name=REGION, retries={"mode": "standard", "total_max_attempts": 3})
    )
    with configured(EmulatorSettings(faults=[parse_fault("DescribeVpcs:1=InternalError")])):
        with pytest.raises(ClientError) as exc:
            retrying.describe_vpcs()
        retrying.describe_vpcs()

    assert exc.value.response["Error"]["Code"] == "InternalError"
    assert exc.value.response["ResponseMetadata"]["RetryAttempts"] == 2
    assert faults.call_counts() == {"DescribeVpcs": 2}


def test_throttling_is_drawn_per_attempt_so_an_sdk_retry_gets_through(ec2: Any) -> None:
    # A seed whose first draw throttles and whose second does not
    seed = next(s for s in range(1000) if (r := random.Random(s)).random() < 0.5 <= r.random())
    retrying = boto3.client(
        "ec2", config=Config(region_name=REGION, retries={"mode": "standard", "total_max_attempts": 2})
    )
    with configured(EmulatorSettings(throttle=0.5, seed=seed)):
        response = retrying.describe_vpcs()

    assert response["ResponseMetadata"]["RetryAttempts"] == 1
    assert faults.call_counts() == {"DescribeVpcs": 1}


def test_call_counts_count_every_call_per_operation_and_reset_forgets_them(ec2: Any) -> None:
    with configured(EmulatorSettings(faults=[Fault("DescribeVpcs", 2)])):
        ec2.describe_vpcs()
        with pytest.raises(ClientError):
            ec2.describe_vpcs()
        ec2.describe_subnets()

    assert faults.call_counts() == {"DescribeVpcs": 2, "DescribeSubnets": 1}
    faults.reset()
    assert faults.call_counts() == {}


def test_several_faults_can_target_calls_of_different_operations(ec2: Any) -> None:
    spec = [parse_fault("DescribeVpcs:1=Unavailable"), parse_fault("DescribeSubnets:2=InternalError")]
    outcomes = []
    with configured(EmulatorSettings(faults=spec)):
        for call in [ec2.describe_vpcs, ec2.describe_vpcs, ec2.describe_subnets, ec2.describe_subnets]:
            try:
                call()
                outcomes.append("ok")
            except ClientError as exc:
                outcomes.append(exc.response["Error"]["Code"])

    assert outcomes == ["Unavailable", "ok", "ok", "InternalError"]


def _throttled_calls(ec2: Any, settings: EmulatorSettings, calls: int) -> list[int]:
    throttled = []
    with configured(settings):
        faults.reset()
        for number in range(calls):
            try:
                ec2.describe_vpcs()
            except ClientError as exc:
                assert exc.response["Error"]["Code"] == "RequestLimitExceeded"
                assert exc.response["ResponseMetadata"]["HTTPStatusCode"] == 503
                throttled.append(number)
    return throttled


def test_throttling_fails_about_the_configured_fraction_of_calls_reproducibly(ec2: Any) -> None:
    settings = EmulatorSettings(throttle=0.3, seed=42)

    first = _throttled_calls(ec2, settings, 200)
    again = _throttled_calls(ec2, EmulatorSettings(throttle=0.3, seed=42), 200)
    other_seed = _throttled_calls(ec2, EmulatorSettings(throttle=0.3, seed=43), 200)

    assert 30 <= len(first) <= 90  # 60 expected
    assert again == first
    assert other_seed != first


def test_without_faults_or_throttling_no_call_fails(ec2: Any) -> None:
    assert _throttled_calls(ec2, EmulatorSettings(), 50) == []


def test_faults_are_injected_in_moto_server_mode_too() -> None:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    try:
        ec2 = boto3.client(
            "ec2",
            endpoint_url=endpoint,
            config=NO_RETRIES,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        fault = parse_fault("CreateNatGateway:1=InsufficientAddressCapacity")
        with configured(EmulatorSettings(faults=[fault])), pytest.raises(ClientError) as exc:
            ec2.create_nat_gateway(SubnetId="subnet-12345678", AllocationId="eipalloc-12345678")

        assert exc.value.response["Error"]["Code"] == "InsufficientAddressCapacity"
        assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
        assert faults.call_counts() == {"CreateNatGateway": 1}
    finally:
        urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"))
        server.stop()


def test_install_is_idempotent_and_uninstall_gives_the_dispatch_back() -> None:
    # What faults wraps is moto's dispatch, or the consistency hook when an emulator was made in
    # this process before (install_patches puts it under faults, and patches stay for the process).
    from moto.core.responses import BaseResponse
    from moto.ec2.responses import EC2Response

    from vpcfactory_tools.emulator import consistency

    faults.uninstall()
    under = EC2Response.call_action
    try:
        if not consistency.installed():
            assert under is BaseResponse.call_action
        faults.install()
        hooked = EC2Response.call_action
        assert hooked is not under
        faults.install()
        assert EC2Response.call_action is hooked

        faults.uninstall()
        assert EC2Response.call_action is under
    finally:
        faults.install()
