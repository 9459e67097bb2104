"""Every wait of the workflows is bounded by template parameters: a VPC or NAT gateway that never
gets where it should ends its wait after exactly the configured number of checks, and the run
rolls back (or, when what it waits for is the rollback itself, says what is left).

The stack here is deployed with short bounds (parameter overrides, as `sam deploy
--parameter-overrides` would); test_the_production_bounds_* checks the defaults against the
times AWS was observed to take.
"""

from __future__ import annotations

import json

import pytest

from tests.workflow.conftest import TIME_SCALE
from vpcfactory_tools.emulator.deploy import load_template
from vpcfactory_tools.emulator.embedded import EmbeddedEmulator
from vpcfactory_tools.emulator.faults import Fault
from vpcfactory_tools.emulator.settings import EmulatorSettings
from vpcfactory_tools.reliability import execution_of, tagged_with, task_outcomes

BOUNDS = {
    "VpcPollIntervalSeconds": 1,
    "VpcPollMaxAttempts": 3,
    "NatInitialWaitSeconds": 10,
    "NatPollIntervalSeconds": 5,
    "NatPollMaxAttempts": 4,
    "NatDeleteInitialWaitSeconds": 5,
    "NatDeletePollIntervalSeconds": 5,
    "NatDeletePollMaxAttempts": 3,
}
NEVER = 10**9  # simulated seconds


def quick(**changes) -> EmulatorSettings:
    """AWS's states, shortened to fit the short bounds: a NAT is pending 12 s, deleting 2 s."""
    return EmulatorSettings(
        **{"time_scale": TIME_SCALE, "nat_pending_seconds": 12, "nat_deleting_seconds": 2, **changes}
    )


@pytest.fixture(scope="module")
def short_waits():
    with EmbeddedEmulator(quick(), parameter_overrides=BOUNDS) as emu:
        yield emu


@pytest.fixture
def emu(short_waits):
    short_waits.reconfigure(quick())
    yield short_waits
    short_waits.reconfigure(quick())


def left_by(emu, result) -> list[str]:
    return tagged_with(emu.client("ec2"), emu.client("logs"), execution_of(result))


def test_with_short_bounds_a_build_and_its_destroy_still_succeed(emu, seed_spec):
    built = emu.build(seed_spec)
    assert built.status == "SUCCEEDED", built.cause

    destroyed = emu.destroy(built.vpc_id)

    assert destroyed.status == "SUCCEEDED", destroyed.cause
    assert task_outcomes(emu, built, "Check NAT Gateways")[-1] == "SUCCEEDED"


def test_a_vpc_stuck_in_pending_ends_its_wait_after_the_configured_checks_and_rolls_back(emu, seed_spec):
    # Given a VPC that never leaves `pending`
    emu.reconfigure(quick(vpc_pending_seconds=NEVER))

    result = emu.build(seed_spec)

    # Then the VPC is checked VpcPollMaxAttempts times, the last check times the wait out, and
    # the rollback deletes the pending VPC
    assert (result.status, result.error) == ("FAILED", "WaitTimedOut")
    checks = BOUNDS["VpcPollMaxAttempts"]
    assert task_outcomes(emu, result, "Check VPC State") == ["SUCCEEDED"] * (checks - 1) + ["WaitTimedOut"]
    emu.reconfigure(quick())
    assert left_by(emu, result) == []


def test_a_nat_gateway_stuck_in_pending_ends_its_wait_after_the_configured_checks_and_rolls_back(emu, production_spec):
    emu.reconfigure(quick(nat_pending_seconds=NEVER))

    result = emu.build(production_spec)

    assert (result.status, result.error) == ("FAILED", "WaitTimedOut")
    checks = BOUNDS["NatPollMaxAttempts"]
    assert task_outcomes(emu, result, "Check NAT Gateways") == ["SUCCEEDED"] * (checks - 1) + ["WaitTimedOut"]
    emu.reconfigure(quick())
    assert left_by(emu, result) == []


def test_a_nat_gateway_stuck_in_deleting_ends_the_rollbacks_wait_and_the_run_says_what_is_left(emu, seed_spec):
    # Given a build that fails once its NAT gateway exists, and NAT gateways that never finish deleting
    emu.reconfigure(quick(nat_deleting_seconds=NEVER, faults=[Fault("CreateRoute")]))

    result = emu.build(seed_spec)

    # Then the rollback checks NatDeletePollMaxAttempts times, gives up, and fails the run with
    # the original error, the time-out and everything it could not delete
    assert (result.status, result.error) == ("FAILED", "RollbackIncomplete")
    checks = BOUNDS["NatDeletePollMaxAttempts"]
    assert task_outcomes(emu, result, "Check NAT Deletion") == ["SUCCEEDED"] * (checks - 1) + ["WaitTimedOut"]
    report = json.loads(result.cause)
    assert report["originalError"]["Error"] == "AwsCallFailed" and "CreateRoute" in report["originalError"]["Cause"]
    assert report["teardownError"]["Error"] == "WaitTimedOut"
    assert {left["type"] for left in report["leftovers"]} >= {"nat-gateway", "subnet", "vpc"}


def test_destroy_ends_its_wait_for_a_nat_gateway_stuck_in_deleting_and_says_what_is_left(emu, seed_spec):
    built = emu.build(seed_spec)
    assert built.status == "SUCCEEDED", built.cause
    emu.reconfigure(quick(nat_deleting_seconds=NEVER))

    destroyed = emu.destroy(built.vpc_id)

    assert (destroyed.status, destroyed.error) == ("FAILED", "DestroyIncomplete")
    checks = BOUNDS["NatDeletePollMaxAttempts"]
    assert task_outcomes(emu, destroyed, "Check NAT Deletion") == ["SUCCEEDED"] * (checks - 1) + ["WaitTimedOut"]
    report = json.loads(destroyed.cause)
    assert report["teardownError"]["Error"] == "WaitTimedOut"
    assert "nat-gateway" in {left["type"] for left in report["leftovers"]}


def _bound(defaults: dict[str, int], prefix: str) -> int:
    """Simulated seconds until a wait times out: first wait, then a check every interval; the
    last of MaxAttempts checks raises WaitTimedOut."""
    initial = defaults.get(f"{prefix}InitialWaitSeconds", defaults[f"{prefix}PollIntervalSeconds"])
    return initial + (defaults[f"{prefix}PollMaxAttempts"] - 1) * defaults[f"{prefix}PollIntervalSeconds"]


def test_the_production_bounds_outlast_what_aws_was_observed_to_take():
    defaults = {
        name: int(p["Default"]) for name, p in load_template()["Parameters"].items() if "Poll" in name or "Wait" in name
    }

    # A new VPC is pending about a second or two: a minute is plenty
    assert _bound(defaults, "Vpc") >= 60
    # NAT gateways: pending 85-125 s observed, up to 10 minutes documented; the first check
    # comes no later than the fastest one observed was ready (earlier ones could only see
    # `pending`), and the wait outlasts the slowest
    assert defaults["NatInitialWaitSeconds"] <= 85
    assert _bound(defaults, "Nat") >= 600
    # NAT deletion: 37-79 s observed; the first check before the fastest, and 10 minutes of slack
    assert defaults["NatDeleteInitialWaitSeconds"] < 37
    assert _bound(defaults, "NatDelete") >= 600
