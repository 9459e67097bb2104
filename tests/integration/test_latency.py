"""The latency model: every EC2 call takes its simulated latency (x time_scale of real time), is
counted per operation and per execution, and a latency of 0 turns the model off."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore import waiter as botocore_waiter
from botocore.exceptions import ClientError, WaiterError
from moto import mock_aws
from moto.ec2.responses import EC2Response

from tests.integration.conftest import MOCK_CONFIG, NO_RETRIES
from vpcfactory_tools.emulator import faults, latency
from vpcfactory_tools.emulator.faults import Fault
from vpcfactory_tools.emulator.lambda_runtime import invocation
from vpcfactory_tools.emulator.patching import source_fingerprints
from vpcfactory_tools.emulator.settings import EmulatorSettings, configured


@pytest.fixture(scope="module", autouse=True)
def _latency_model() -> Iterator[None]:
    was_installed = latency.installed()
    latency.install()
    yield
    latency.configure()
    if not was_installed:
        latency.uninstall()


@pytest.fixture(autouse=True)
def _fresh_counts() -> Iterator[None]:
    latency.reset()
    faults.reset()
    yield
    latency.configure()
    latency.reset()


@pytest.fixture
def ec2() -> Iterator[Any]:
    with mock_aws(config=MOCK_CONFIG):
        client = boto3.client("ec2", config=NO_RETRIES)
        client.describe_vpcs()  # the first call in a process loads moto's EC2 model: not timed
        latency.reset()
        yield client


def timed(call: Any, **kwargs: Any) -> float:
    t0 = time.perf_counter()
    call(**kwargs)
    return time.perf_counter() - t0


def test_a_call_takes_its_simulated_latency_times_the_time_scale_in_real_time(ec2: Any) -> None:
    # Given 2 simulated seconds per call at 1 simulated second = 20 ms: 40 ms of real latency
    # (the fastest of 10 calls each way: on a busy machine -- the suite runs on every core -- a few
    # calls of either kind may wait for a CPU, rarely all ten)
    with configured(EmulatorSettings(time_scale=0.02)), latency.configured(ec2_call_seconds=2.0):
        slow = min(timed(ec2.describe_vpcs) for _ in range(10))
    with configured(EmulatorSettings(time_scale=0.02)), latency.configured(ec2_call_seconds=0):
        fast = min(timed(ec2.describe_vpcs) for _ in range(10))

    assert slow >= 0.04
    assert 0.035 <= slow - fast <= 0.04 + 0.1  # the latency, plus scheduling noise at most
    assert latency.simulated_seconds() == pytest.approx(20.0)


def test_the_default_latency_is_100_ms_per_call(ec2: Any) -> None:
    assert latency.DEFAULT_EC2_CALL_SECONDS == 0.1
    assert latency.ec2_call_seconds() == 0.1

    with configured(EmulatorSettings(time_scale=0.5)):
        elapsed = timed(ec2.describe_vpcs)

    assert elapsed >= 0.05
    assert [r.simulated_seconds for r in latency.calls()] == [0.1]


def test_every_call_is_counted_per_operation_and_recorded_in_order(ec2: Any) -> None:
    with configured(EmulatorSettings(time_scale=0.001)):
        vpc_id = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        ec2.create_vpc(CidrBlock="10.1.0.0/16")
        ec2.describe_vpcs(VpcIds=[vpc_id])

    assert latency.call_counts() == {"CreateVpc": 2, "DescribeVpcs": 1}
    records = latency.calls()
    assert [r.operation for r in records] == ["CreateVpc", "CreateVpc", "DescribeVpcs"]
    assert [r.execution for r in records] == [None, None, None]
    assert records[0].started_at <= records[1].started_at <= records[2].started_at
    assert latency.simulated_seconds() == pytest.approx(0.3)
    assert 0 < latency.dispatch_seconds() < 1  # what moto itself took, latency excluded

    latency.reset()
    assert latency.call_counts() == {}
    assert latency.calls() == []
    assert latency.dispatch_seconds() == 0


def test_calls_a_handler_makes_for_an_execution_are_counted_under_that_execution(ec2: Any) -> None:
    # Given a client created while the hooks are installed, as the emulator's handlers' are
    handler_client = boto3.session.Session().client("ec2", config=NO_RETRIES)

    with configured(EmulatorSettings(time_scale=0.001)):
        with invocation("vpcfactory-CreateVpcFunction", {"execution": "build-a-1"}):
            handler_client.create_vpc(CidrBlock="10.0.0.0/16")
            handler_client.describe_vpcs()
        ec2.describe_vpcs()

    assert latency.call_counts("build-a-1") == {"CreateVpc": 1, "DescribeVpcs": 1}
    assert latency.call_counts() == {"CreateVpc": 1, "DescribeVpcs": 2}
    assert {r.function for r in latency.calls("build-a-1")} == {"vpcfactory-CreateVpcFunction"}


def test_calls_made_at_once_from_a_handlers_threads_overlap_in_the_benchmarks_model(ec2: Any) -> None:
    # Issue 16: a stage makes its independent calls at once from a thread pool. Work handed to a
    # pool begins in simulated time at its hand-over, however late its thread gets the CPU, so the
    # benchmark counts a pool's waves (two threads making two calls each: 0.2 s), not the sum of
    # its calls (0.4 s); the CPU moto spends answering is the emulator's, not the handler's compute.
    import concurrent.futures

    from bench.model import call_latency
    from vpcfactory_tools.emulator import lambda_runtime
    from vpcfactory_tools.emulator.settings import clock

    lambda_runtime.install()  # as the emulator does: a handler's pool work is the handler's
    handler_client = boto3.session.Session().client("ec2", config=NO_RETRIES)
    handler_client.describe_vpcs()  # the client's first call loads its model: not part of the test
    latency.reset()
    lambda_runtime.reset_invocations()

    def two_calls(_: int) -> None:
        handler_client.describe_vpcs()
        handler_client.describe_vpcs()

    with (
        configured(EmulatorSettings(time_scale=0.05)),
        clock().simulating(),  # as every execution runs under the latency model
        invocation("vpcfactory-CreateSubnetsFunction", {"execution": "build-p-1"}),
    ):
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            list(pool.map(two_calls, range(2)))
        handler_client.describe_vpcs()  # then one more, alone: it adds up

    records = latency.calls("build-p-1")
    assert len(records) == 5 and len({r.thread_id for r in records}) == 3
    total, before = call_latency(records)
    assert total == pytest.approx(0.3)
    assert before[-1] == pytest.approx(0.2)  # the last call waited for both waves
    [run] = lambda_runtime.invocations("build-p-1")
    assert 0 < run.emulator_cpu_seconds <= run.cpu_seconds


def test_a_latency_of_zero_turns_the_model_off(ec2: Any) -> None:
    # At 10 real seconds per simulated second the default 100 ms would take a full second
    with configured(EmulatorSettings(time_scale=10.0)), latency.configured(ec2_call_seconds=0):
        elapsed = timed(ec2.describe_vpcs)

    assert elapsed < 0.5
    assert latency.simulated_seconds() == 0.0
    assert latency.call_counts() == {"DescribeVpcs": 1}


def test_the_latency_must_be_a_number_of_seconds_not_below_zero() -> None:
    with pytest.raises(ValueError, match=">= 0"):
        latency.configure(ec2_call_seconds=-0.1)
    with pytest.raises(ValueError, match="number of seconds"):
        latency.configure(ec2_call_seconds="0.1")  # type: ignore[arg-type]
    assert latency.ec2_call_seconds() == latency.DEFAULT_EC2_CALL_SECONDS


def test_an_attempt_the_fault_hook_fails_has_paid_its_latency_first(ec2: Any) -> None:
    with (
        configured(EmulatorSettings(time_scale=0.02, faults=[Fault("CreateVpc")])),
        latency.configured(ec2_call_seconds=2.0),
        pytest.raises(ClientError) as exc,
    ):
        t0 = time.perf_counter()
        try:
            ec2.create_vpc(CidrBlock="10.0.0.0/16")
        finally:
            elapsed = time.perf_counter() - t0

    assert exc.value.response["Error"]["Code"] == "InternalError"
    assert elapsed >= 0.04
    assert latency.call_counts() == {"CreateVpc": 1}


def test_boto3_waiters_sleep_simulated_seconds_inside_the_block(ec2: Any) -> None:
    # Given a waiter that polls three times, 15 simulated seconds apart, for a VPC that never exists
    waiter = ec2.get_waiter("vpc_exists")

    with configured(EmulatorSettings(time_scale=0.001)), latency.simulated_waiter_sleeps() as sleeps:
        t0 = time.perf_counter()
        with pytest.raises(WaiterError):
            waiter.wait(VpcIds=["vpc-0123456789abcdef0"], WaiterConfig={"Delay": 15, "MaxAttempts": 3})
        elapsed = time.perf_counter() - t0

    assert sleeps.sleeps == [15, 15]
    assert sleeps.total == 30
    assert len(sleeps.started_at) == 2
    assert elapsed < 5  # 30 simulated seconds = 30 ms, not 30 s
    assert latency.call_counts() == {"DescribeVpcs": 3}
    assert botocore_waiter.time is time


def test_install_layers_the_model_on_the_fault_hook_and_uninstall_puts_the_hook_back() -> None:
    outermost = EC2Response.__dict__["call_action"]
    assert getattr(outermost, "_vpcfactory_latency", False)
    fault_hook = outermost.__wrapped__
    assert fault_hook.__wrapped__ is not None  # faults.py's wrapper, around moto's dispatch
    assert faults.installed()

    latency.install()
    assert EC2Response.__dict__["call_action"] is outermost

    latency.uninstall()
    try:
        assert not latency.installed()
        assert EC2Response.__dict__["call_action"] is fault_hook
    finally:
        latency.install()
    assert latency.installed()


def test_the_code_the_latency_model_patches_is_unchanged_since_it_was_pinned() -> None:
    assert source_fingerprints(latency.PINNED_SOURCES) == latency.PINNED_SOURCES
