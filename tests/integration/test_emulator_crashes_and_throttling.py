"""The emulator kills a Lambda handler right after an EC2 call succeeded, aims faults at one
execution, throttles for a window of calls, and scales botocore's retry back-off."""

from __future__ import annotations

import io
import json
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from typing import Any

import boto3
import botocore.endpoint
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto.server import ThreadedMotoServer

from tests.integration.conftest import NO_RETRIES, REGION
from vpcfactory_tools.emulator import engine_time, faults, lambda_runtime
from vpcfactory_tools.emulator.faults import CallRef, Fault, parse_call
from vpcfactory_tools.emulator.lambda_runtime import RuntimeExit, invocation
from vpcfactory_tools.emulator.settings import EmulatorSettings, configured

FAST = EmulatorSettings(time_scale=0.001)


@pytest.fixture(scope="module", autouse=True)
def _hooks() -> Iterator[None]:
    installed_before = faults.installed()
    faults.install()
    engine_time.install()
    lambda_runtime.install()
    yield
    if not installed_before:
        faults.uninstall()


@pytest.fixture(autouse=True)
def _no_faults() -> Iterator[None]:
    with configured(FAST):
        faults.reset()
        yield
    faults.reset()


def own_vpcs(ec2: Any) -> list[str]:
    return [vpc["VpcId"] for vpc in ec2.describe_vpcs()["Vpcs"] if not vpc["IsDefault"]]


# -- crash after a call ----------------------------------------------------------------------------


def test_a_handler_dies_right_after_the_call_succeeded_so_the_resource_exists(ec2: Any) -> None:
    with (
        configured(EmulatorSettings(time_scale=0.001, crash_after=[parse_call("CreateVpc:2")])),
        invocation("CreateVpcFunction", {"execution": "run-1"}),
    ):
        first = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        with pytest.raises(RuntimeExit, match="after CreateVpc:2"):
            ec2.create_vpc(CidrBlock="10.1.0.0/16")

    # the second VPC was created: the handler died before it could learn its id
    assert first in own_vpcs(ec2)
    assert len(own_vpcs(ec2)) == 2
    assert faults.call_counts()["CreateVpc"] == 2


def test_the_crash_is_not_an_exception_a_handler_can_catch_by_accident(ec2: Any) -> None:
    with (
        configured(EmulatorSettings(time_scale=0.001, crash_after=[CallRef("CreateVpc")])),
        invocation("CreateVpcFunction", {"execution": "run-1"}),
        pytest.raises(RuntimeExit),
    ):
        try:
            ec2.create_vpc(CidrBlock="10.0.0.0/16")
        except Exception:  # what every handler and Powertools decorator catches
            pytest.fail("a killed runtime must not be catchable as an Exception")


def test_a_call_made_outside_any_handler_is_never_killed(ec2: Any) -> None:
    # (iam off: the function's role has no policy, and IAM is not what this test is about; patches stay
    # for the process, so an emulator made before in it would have IAM enforced here)
    with configured(EmulatorSettings(time_scale=0.001, crash_after=[CallRef("CreateVpc")], iam=False)):
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]

    assert own_vpcs(ec2) == [vpc]


def test_a_failed_call_is_not_followed_by_a_crash(ec2: Any) -> None:
    settings = EmulatorSettings(time_scale=0.001, faults=[Fault("CreateVpc")], crash_after=[CallRef("CreateVpc")])
    with (
        configured(settings),
        invocation("CreateVpcFunction", {"execution": "run-1"}),
        pytest.raises(ClientError) as exc,
    ):
        ec2.create_vpc(CidrBlock="10.0.0.0/16")

    assert exc.value.response["Error"]["Code"] == "InternalError"


def _handler_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("README", "runs in-process")
    return buf.getvalue()


def create_vpc_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    ec2 = boto3.session.Session().client("ec2", region_name=REGION, config=NO_RETRIES)
    return {"vpcId": ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]}


def exiting_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    raise SystemExit(3)


def _invoke(handler: str, payload: dict[str, Any]) -> dict[str, Any]:
    iam = boto3.client("iam", region_name=REGION)
    role = iam.create_role(RoleName=f"r-{time.monotonic_ns()}", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lam = boto3.client("lambda", region_name=REGION)
    name = f"fn-{time.monotonic_ns()}"
    lam.create_function(
        FunctionName=name, Runtime="python3.13", Role=role, Handler=handler, Code={"ZipFile": _handler_zip()}
    )
    return lam.invoke(FunctionName=name, Payload=json.dumps(payload).encode())


def test_the_lambda_runtime_reports_a_killed_handler_as_runtime_exit_error(ec2: Any) -> None:
    # Given a function whose handler creates a VPC, and a crash right after that call
    # (iam off: the function's role has no policy, and IAM is not what this test is about; patches stay
    # for the process, so an emulator made before in it would have IAM enforced here)
    with configured(EmulatorSettings(time_scale=0.001, crash_after=[CallRef("CreateVpc")], iam=False)):
        # When it is invoked through Lambda
        response = _invoke(f"{__name__}.create_vpc_handler", {"execution": "run-1"})

    # Then Lambda answers as for a runtime that exited mid-request, and the VPC exists
    payload = json.loads(response["Payload"].read())
    assert "FunctionError" in response  # moto says "Handled"; Step Functions reads only the payload
    assert payload["errorType"] == "Runtime.ExitError"
    assert payload["errorMessage"].startswith("RequestId: ")
    assert "Runtime exited with error: signal: killed" in payload["errorMessage"]
    assert len(own_vpcs(ec2)) == 1


def test_a_handler_that_calls_sys_exit_is_reported_with_its_exit_status(ec2: Any) -> None:
    response = _invoke(f"{__name__}.exiting_handler", {})

    payload = json.loads(response["Payload"].read())
    assert payload["errorType"] == "Runtime.ExitError"
    assert payload["errorMessage"].endswith("Runtime exited with error: exit status 3")


def test_crashes_work_in_moto_server_mode_too() -> None:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    try:
        ec2 = boto3.session.Session().client(
            "ec2",
            endpoint_url=endpoint,
            config=NO_RETRIES,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        with (
            configured(EmulatorSettings(time_scale=0.001, crash_after=[CallRef("CreateVpc")])),
            invocation("CreateVpcFunction", {"execution": "run-1"}),
            pytest.raises(RuntimeExit),
        ):
            ec2.create_vpc(CidrBlock="10.0.0.0/16")

        assert faults.call_counts(execution="run-1") == {"CreateVpc": 1}
        assert len(own_vpcs(ec2)) == 1
    finally:
        urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"))
        server.stop()


# -- calls attributed to one execution ---------------------------------------------------------------


def test_a_fault_aimed_at_one_execution_counts_and_fails_only_that_executions_calls(ec2: Any) -> None:
    settings = EmulatorSettings(time_scale=0.001, faults=[Fault("CreateVpc", 2, "VpcLimitExceeded", "run-b")])
    outcomes: list[str] = []
    with configured(settings):
        for execution in ("run-a", "run-b", "run-a", None, "run-b", "run-b"):
            with invocation("CreateVpcFunction", {"execution": execution}):
                try:
                    ec2.create_vpc(CidrBlock="10.0.0.0/16")
                    outcomes.append("ok")
                except ClientError as exc:
                    outcomes.append(exc.response["Error"]["Code"])

    # only the second call made for run-b fails, whatever came between
    assert outcomes == ["ok", "ok", "ok", "ok", "VpcLimitExceeded", "ok"]
    assert faults.call_counts(execution="run-b") == {"CreateVpc": 3}
    assert faults.call_counts(execution="run-a") == {"CreateVpc": 2}
    assert faults.call_counts() == {"CreateVpc": 6}


def test_a_crash_aimed_at_one_execution_spares_the_others(ec2: Any) -> None:
    settings = EmulatorSettings(time_scale=0.001, crash_after=[CallRef("CreateVpc", 1, "run-b")])
    with configured(settings):
        with invocation("CreateVpcFunction", {"execution": "run-a"}):
            ec2.create_vpc(CidrBlock="10.0.0.0/16")
        with invocation("CreateVpcFunction", {"execution": "run-b"}), pytest.raises(RuntimeExit):
            ec2.create_vpc(CidrBlock="10.1.0.0/16")

    assert len(own_vpcs(ec2)) == 2


def test_work_a_handler_hands_to_a_thread_pool_is_the_handlers_for_faults_crashes_and_cpu(ec2: Any) -> None:
    # A handler that makes its calls from a ThreadPoolExecutor (issue 16: a stage's independent
    # calls at once) is still that handler: its calls are attributed to its execution (so faults,
    # crashes and IAM, which all ask current_invocation, apply), and the CPU its workers use is its.
    # With a thread-local, a worker thread ran as no handler at all: no fault, no IAM, no crash.
    import concurrent.futures

    settings = EmulatorSettings(
        time_scale=0.001,
        faults=[Fault("CreateVpc", 2, "VpcLimitExceeded", "run-b")],
        crash_after=[CallRef("CreateVpc", 3, "run-b")],
    )
    lambda_runtime.reset_invocations()
    seen: list[Any] = []

    def create(cidr: str) -> str:
        seen.append(lambda_runtime.current_invocation())
        burn = time.thread_time() + 0.02
        while time.thread_time() < burn:  # CPU a worker spends for the handler
            pass
        return ec2.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"]

    with (
        configured(settings),
        invocation("CreateVpcFunction", {"execution": "run-b"}) as running,
        concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool,
    ):
        first = pool.submit(create, "10.0.0.0/16").result()
        with pytest.raises(ClientError, match="VpcLimitExceeded"):
            pool.submit(create, "10.1.0.0/16").result()
        with pytest.raises(RuntimeExit):
            pool.submit(create, "10.2.0.0/16").result()

    assert seen == [running, running, running]
    assert faults.call_counts(execution="run-b") == {"CreateVpc": 3}
    assert first in own_vpcs(ec2) and len(own_vpcs(ec2)) == 2  # the third was made, then the runtime died
    [record] = [r for r in lambda_runtime.invocations("run-b") if r.function_name == "CreateVpcFunction"]
    assert record.cpu_seconds >= 3 * 0.02  # the workers' CPU counts for the handler


# -- throttling windows ------------------------------------------------------------------------------


def _outcomes(ec2: Any, calls: list[str]) -> list[str]:
    out = []
    for operation in calls:
        try:
            getattr(ec2, operation)()
            out.append("ok")
        except ClientError as exc:
            assert exc.response["ResponseMetadata"]["HTTPStatusCode"] == 503
            out.append(exc.response["Error"]["Code"])
    return out


def test_throttling_from_a_given_call_leaves_the_calls_before_it_alone(ec2: Any) -> None:
    settings = EmulatorSettings(time_scale=0.001, throttle=1.0, throttle_from=CallRef("DescribeSubnets", 2))
    with configured(settings):
        outcomes = _outcomes(ec2, ["describe_vpcs", "describe_subnets", "describe_vpcs", "describe_subnets"])
        throttled = faults.throttled_attempts()

    assert outcomes == ["ok", "ok", "ok", "RequestLimitExceeded"]
    assert throttled == 1


def test_a_throttling_storm_ends_after_its_limit_of_throttled_attempts(ec2: Any) -> None:
    with configured(EmulatorSettings(time_scale=0.001, throttle=1.0, throttle_limit=3)):
        outcomes = _outcomes(ec2, ["describe_vpcs"] * 5)
        throttled = faults.throttled_attempts()

    assert outcomes == ["RequestLimitExceeded"] * 3 + ["ok", "ok"]
    assert throttled == 3


def test_an_sdk_retry_of_a_throttled_call_can_be_throttled_again_until_the_storm_ends(ec2: Any) -> None:
    retrying = boto3.session.Session().client(
        "ec2", config=Config(region_name=REGION, retries={"mode": "standard", "total_max_attempts": 4})
    )
    with configured(EmulatorSettings(time_scale=0.001, throttle=1.0, throttle_limit=3)):
        response = retrying.describe_vpcs()

    assert response["ResponseMetadata"]["RetryAttempts"] == 3
    assert faults.call_counts() == {"DescribeVpcs": 1}


# -- botocore's back-off runs on the emulator's clock ----------------------------------------------


def test_botocores_retry_backoff_sleeps_scaled_simulated_seconds(ec2: Any, monkeypatch) -> None:
    # Given a client that retries (standard mode, 4 attempts) a call that is throttled 3 times
    retrying = boto3.session.Session().client(
        "ec2", config=Config(region_name=REGION, retries={"mode": "standard", "total_max_attempts": 4})
    )
    real_sleeps: list[float] = []
    monkeypatch.setattr(time, "sleep", real_sleeps.append)
    engine_time.reset()

    # When it succeeds on the 4th attempt at time scale 0.001
    with configured(EmulatorSettings(time_scale=0.001, throttle=1.0, throttle_limit=3)):
        retrying.describe_vpcs()

    # Then botocore slept 3 times, each for 1/1000 of the simulated back-off it chose
    simulated = engine_time.simulated_sdk_seconds_slept()
    assert len(real_sleeps) == 3
    assert simulated > 0
    assert sum(real_sleeps) == pytest.approx(simulated * 0.001)


def test_the_backoff_patch_replaces_the_time_module_botocores_endpoint_sleeps_through() -> None:
    assert isinstance(botocore.endpoint.time, engine_time._ScaledTime)
    assert botocore.endpoint.time.monotonic is time.monotonic  # everything but sleep is real time
