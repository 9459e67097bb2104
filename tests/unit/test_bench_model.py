"""The benchmarks' time model (bench/model.py) on hand-made execution histories. Pure: no emulator."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from bench.measures import parse_importtime
from bench.model import (
    CRITICAL_PATH_CALLS,
    Invocation,
    analyse_execution,
    analyse_sequential,
    lambda_cost,
    lower_bound,
)

T0 = 1_800_000_000.0
FN = "arn:aws:lambda:us-east-1:123456789012:function:"


@dataclass(frozen=True)
class Call:
    """What the latency model records per EC2 call (the fields the model reads)."""

    operation: str
    function: str | None
    started_at: float
    simulated_seconds: float = 0.1


class History:
    """Builds a Step Functions execution history; times are seconds after T0 (ms precision)."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def add(self, kind: str, after: int, at: float, **details: Any) -> int:
        event: dict[str, Any] = {
            "id": len(self.events) + 1,
            "previousEventId": after,
            "type": kind,
            "timestamp": datetime.fromtimestamp(T0 + round(at, 3), tz=UTC),
        }
        if details:
            event["detailsEventDetails"] = details
        self.events.append(event)
        return event["id"]

    def task(self, name: str, after: int, start: float, end: float) -> int:
        entered = self.add("TaskStateEntered", after, start, name=name, input="{}")
        scheduled = self.add("TaskScheduled", entered, start, resourceType="lambda", resource="invoke")
        started = self.add("TaskStarted", scheduled, start)
        done = self.add("TaskSucceeded", started, end)
        return self.add("TaskStateExited", done, end, name=name)

    def wait(self, name: str, after: int, start: float, end: float, seconds: float) -> int:
        entered = self.add("WaitStateEntered", after, start, name=name, input=json.dumps({"wait": seconds}))
        return self.add("WaitStateExited", entered, end, name=name)


STATES: dict[str, dict[str, Any]] = {
    "Create NAT Gateways": {"Type": "Task", "Parameters": {"FunctionName": FN + "create-nat"}},
    "Check NAT Gateways": {"Type": "Task", "Parameters": {"FunctionName": FN + "check-nat"}},
    "Busy": {"Type": "Task", "Parameters": {"FunctionName": FN + "busy"}},
    "Wait": {"Type": "Wait", "SecondsPath": "$.wait"},
    "Wait Ten": {"Type": "Wait", "Seconds": 10},
    "NAT Gateways Available?": {"Type": "Choice"},
}


def test_model_time_keeps_real_compute_and_counts_sleeps_at_their_simulated_length() -> None:
    # Given at time scale 0.1: a task that makes two 100 ms EC2 calls (20 ms real), then a 10 s Wait
    h = History()
    start = h.add("ExecutionStarted", 0, 0.0)
    task = h.task("Create NAT Gateways", start, 0.010, 0.050)
    waited = h.wait("Wait", task, 0.050, 1.051, 10)
    h.add("ExecutionSucceeded", waited, 1.051)
    calls = [Call("CreateNatGateway", "create-nat", T0 + 0.015), Call("CreateNatGateway", "create-nat", T0 + 0.030)]

    # When
    result = analyse_execution(h.events, STATES, calls, time_scale=0.1)

    # Then: 1.051 s real, of which 1.0 s stood for the 10 s wait and 0.02 s for the 0.2 s of latency
    assert result["modelSeconds"] == pytest.approx(1.051 + 0.9 * (10 + 0.2), abs=1e-5)
    assert result["clockSeconds"] == pytest.approx(10.51, abs=1e-5)
    path = result["criticalPath"]
    assert path["waitSeconds"] == 10
    assert path["ec2LatencySeconds"] == pytest.approx(0.2, abs=1e-5)
    assert path["computeSeconds"] == pytest.approx(1.051 - 0.1 * 10.2, abs=1e-5)
    assert path["ec2Calls"] == 2
    assert result["transitions"] == 2
    assert result["lambdaInvocations"] == 1
    assert result["unattributedCalls"] == 0


def test_a_parallel_state_takes_its_slowest_branch_in_model_time_not_in_real_time() -> None:
    # Given a branch that waits 10 simulated seconds (1 s real) and one that computes for 1.5 s
    h = History()
    start = h.add("ExecutionStarted", 0, 0.0)
    entered = h.add("ParallelStateEntered", start, 0.0, name="Both")
    started = h.add("ParallelStateStarted", entered, 0.0)
    waited = h.wait("Wait Ten", started, 0.0, 1.0, 10)
    busy = h.task("Busy", started, 0.0, 1.5)
    h.add("ParallelStateSucceeded", busy, 1.5)
    exited = h.add("ParallelStateExited", busy, 1.5, name="Both")
    h.add("ExecutionSucceeded", exited, 1.5)
    assert waited < busy

    result = analyse_execution(h.events, STATES, [], time_scale=0.1)

    # Then the wait is the critical branch: at time scale 1 it would take 10 s, the other 1.5 s
    assert result["modelSeconds"] == pytest.approx(10.0, abs=1e-5)
    assert result["criticalPath"]["waitSeconds"] == 10
    assert "Busy" not in result["criticalPath"]["states"]


def nat_wait_history(polls: int) -> tuple[History, list[Call]]:
    """CreateNatGateway, a 60 s first wait, then ``polls`` checks 5 s apart, at time scale 0.1."""
    h = History()
    start = h.add("ExecutionStarted", 0, 0.0)
    t = 0.011
    node = h.task("Create NAT Gateways", start, 0.0, t)
    calls = [Call("CreateNatGateway", "create-nat", T0 + 0.001)]
    for k in range(polls):
        seconds = 60 if k == 0 else 5
        node = h.wait("Wait", node, t, t + seconds * 0.1, seconds)
        t += seconds * 0.1
        calls.append(Call("DescribeNatGateways", "check-nat", T0 + t + 0.001))
        node = h.task("Check NAT Gateways", node, t, t + 0.011)
        t += 0.011
        node = h.add("ChoiceStateEntered", node, t, name="NAT Gateways Available?")
        node = h.add("ChoiceStateExited", node, t, name="NAT Gateways Available?")
    h.add("ExecutionSucceeded", node, t)
    return h, calls


def test_a_poll_that_saw_the_nat_ready_too_early_is_followed_by_the_polls_the_model_needs() -> None:
    # Given the loop ended at its 6th check, ~85 model seconds after CreateNatGateway (pending 90 s)
    h, calls = nat_wait_history(polls=6)
    pending = {"vpc_pending_seconds": 2.0, "nat_pending_seconds": 90.0}
    uncorrected = analyse_execution(h.events, STATES, calls, time_scale=0.1)

    # When
    result = analyse_execution(h.events, STATES, calls, time_scale=0.1, pending=pending)

    # Then one more turn of the loop (a 5 s wait + the check) is added, with what it costs
    fix = result["corrections"]["CreateNatGateway"]
    assert fix["extraPolls"] == 1
    assert fix["cycle"]["interval"] == 5
    assert fix["cycle"]["transitions"] == 3  # Wait, Check NAT Gateways, NAT Gateways Available?
    assert result["modelSeconds"] == pytest.approx(uncorrected["modelSeconds"] + fix["seconds"], abs=1e-5)
    assert 5 < fix["seconds"] < 5.2
    assert result["readinessMargins"]["CreateNatGateway"] >= 0
    assert result["transitions"] == uncorrected["transitions"] + 3
    assert result["lambdaInvocations"] == uncorrected["lambdaInvocations"] + 1
    assert result["addedCalls"] == {"DescribeNatGateways": 1}
    assert result["criticalPath"]["waitSeconds"] == 60 + 5 * 5 + 5


def test_a_poll_that_came_after_the_pending_time_needs_no_correction() -> None:
    h, calls = nat_wait_history(polls=7)

    result = analyse_execution(
        h.events, STATES, calls, time_scale=0.1, pending={"vpc_pending_seconds": 2.0, "nat_pending_seconds": 90.0}
    )

    assert result["corrections"] == {}
    assert 0 <= result["readinessMargins"]["CreateNatGateway"] < 1


def test_a_sequential_script_counts_waiter_sleeps_and_latency_at_their_simulated_length() -> None:
    # Given at time scale 0.01: a call, a 15 s waiter sleep (0.15 s real), a call; 0.2 s in all
    calls = [Call("CreateVpc", None, T0), Call("DescribeVpcs", None, T0 + 0.19)]
    sleeps = [(T0 + 0.02, 15.0)]

    result = analyse_sequential(calls, sleeps, T0, T0 + 0.2, scale=0.01)

    assert result["modelSeconds"] == pytest.approx(0.2 + 0.99 * (15 + 0.2), abs=1e-5)
    assert result["computeSeconds"] == pytest.approx(0.2 - 0.01 * 15.2, abs=1e-5)
    assert [op for _, op in result["calls"]] == ["CreateVpc", "DescribeVpcs"]
    assert result["calls"][1][0] == pytest.approx(0.19 + 0.99 * 15.1, abs=1e-5)


def test_the_lower_bound_is_vpc_pending_plus_nat_pending_plus_the_critical_calls() -> None:
    bound = lower_bound(2.0, 90.0, 0.1)

    assert len(CRITICAL_PATH_CALLS) == 7
    assert bound["seconds"] == pytest.approx(92.7, abs=1e-5)
    assert bound["criticalPathCalls"][0] == "Create VPC: CreateVpc"


def test_billed_duration_is_rounded_up_to_the_millisecond_per_invocation() -> None:
    runs = [Invocation("A", "fn-a", 1, 2, 0.0, 0.0, model_seconds=0.0101), Invocation("B", "fn-b", 3, 4, 0, 0, 1.0)]

    cost = lambda_cost(runs, {"fn-a": 256, "fn-b": 1024})

    assert cost["billedMs"] == 11 + 1000
    assert cost["billedGbSeconds"] == pytest.approx(0.011 * 0.25 + 1.0, abs=1e-5)


IMPORTTIME = """\
import time: self [us] | cumulative | imported package
import time:      1300 |      43004 | site
import time:      4369 |     238758 |       boto3
import time:      2351 |     244788 |     vpcfactory.aws
import time:     11826 |     264352 |   vpcfactory.network
import time:       267 |      16790 |     aws_lambda_powertools
import time:    209024 |     260752 |     aws_xray_sdk.core
import time:       802 |     278343 |   vpcfactory.observability
import time:       414 |     549737 | vpcfactory.handlers.check_vpc
"""


def test_import_time_is_the_cumulative_time_of_the_top_level_import() -> None:
    total_ms, direct = parse_importtime(IMPORTTIME, "vpcfactory.handlers.check_vpc")

    assert total_ms == pytest.approx(549.737, abs=1e-5)
    assert direct == {"aws_xray_sdk": 260.8, "boto3": 238.8, "aws_lambda_powertools": 16.8}
