"""The cases: one function per scenario (a fault, a crash, throttling, the throttling storm, a
re-run, a duplicated invocation, the concurrency run), each running builds on the emulator and
recording in a :class:`Case` how it ended, what it left behind and what it disturbed."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

from vpcfactory import aws as factory_aws
from vpcfactory.plan import plan_network
from vpcfactory.spec import parse_spec
from vpcfactory_tools.emulator import faults, lambda_runtime
from vpcfactory_tools.emulator.embedded import (
    EmbeddedEmulator,
    ExecutionResult,
    execution_name,
)
from vpcfactory_tools.emulator.faults import CallRef, Fault
from vpcfactory_tools.emulator.lambda_runtime import EXIT_ERROR
from vpcfactory_tools.reliability.conditions import settings
from vpcfactory_tools.reliability.executions import _checked, asl_max_attempts, execution_of, task_outcomes
from vpcfactory_tools.reliability.network import verify_network
from vpcfactory_tools.reliability.profiles import Profile, RerunPoint
from vpcfactory_tools.reliability.resources import Bystanders, account, tagged_with
from vpcfactory_tools.reliability.specs import unique

THROTTLE_P = 0.3
VPC_PENDING_FOR_TWO_RUNS = 30.0  # simulated seconds: more than two runs of Create VPC take


@dataclass
class Case:
    """One run and what came of it."""

    kind: str
    name: str
    expected_status: str
    expected_error: str | None
    status: str = ""
    error: str | None = None
    execution: str | None = None
    vpc_id: str | None = None
    left_behind: list[str] = field(default_factory=list)
    disturbed: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def as_expected(self) -> bool:
        return (
            self.status == self.expected_status
            and (self.expected_error is None or self.error == self.expected_error)
            and not self.problems
        )

    @property
    def ok(self) -> bool:
        return self.as_expected and not self.left_behind and not self.disturbed

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "asExpected": self.as_expected, "ok": self.ok}


@contextmanager
def _timed(case: Case) -> Iterator[Case]:
    started = time.monotonic()
    try:
        yield case
    finally:
        case.seconds = round(time.monotonic() - started, 2)


def _finish(emu: EmbeddedEmulator, case: Case, result: ExecutionResult, bystanders: Bystanders | None) -> Case:
    case.status, case.error = result.status, result.error
    case.execution, case.vpc_id = execution_of(result), result.vpc_id
    emu.reconfigure(settings(emu))
    _account_for(emu, case, bystanders, keep_log_groups=False)
    return case


def _account_for(emu: EmbeddedEmulator, case: Case, bystanders: Bystanders | None, *, keep_log_groups: bool) -> None:
    """What the case left behind, and which pre-existing resources it disturbed (one scan)."""
    state = account(emu.client("ec2"), emu.client("logs"))
    case.left_behind = tagged_with(
        emu.client("ec2"), emu.client("logs"), case.execution or "", keep_log_groups=keep_log_groups, state=state
    )
    if bystanders is not None:
        case.disturbed = bystanders.disturbed(emu, state)


def fault_case(emu: EmbeddedEmulator, spec: dict[str, Any], fault: Fault, bystanders: Bystanders | None = None) -> Case:
    """A build whose ``fault`` call fails: it must fail with AwsCallFailed and leave nothing."""
    case = Case("fault", f"{fault} ({spec['name']})", "FAILED", "AwsCallFailed")
    with _timed(case):
        emu.reconfigure(settings(emu, faults=[fault]))
        result = emu.build(unique(spec))
        _finish(emu, case, result, bystanders)
        if result.status == "FAILED" and (fault.operation not in (result.cause or "")):
            case.problems.append(f"the failure does not name {fault.operation}: {result.cause}")
    return case


def crash_case(
    emu: EmbeddedEmulator, spec: dict[str, Any], crash: CallRef, bystanders: Bystanders | None = None
) -> Case:
    """A build whose handler dies right after ``crash`` succeeded: it must fail with
    Runtime.ExitError, and its rollback must find the orphan by its tags."""
    case = Case("crash", f"after {crash} ({spec['name']})", "FAILED", EXIT_ERROR)
    with _timed(case):
        emu.reconfigure(settings(emu, crash_after=[crash]))
        result = emu.build(unique(spec))
        if faults.call_counts().get(crash.operation, 0) < crash.call:
            case.problems.append(f"the build never made call {crash}")
        _finish(emu, case, result, bystanders)
    return case


def throttle_case(
    emu: EmbeddedEmulator,
    spec: dict[str, Any],
    seed: int,
    p: float = THROTTLE_P,
    bystanders: Bystanders | None = None,
) -> Case:
    """A build with a fraction ``p`` of EC2 attempts throttled: it must succeed with exactly the
    planned network; then it is destroyed, still throttled, and must leave nothing."""
    case = Case("throttle", f"p={p} seed={seed} ({spec['name']})", "SUCCEEDED", None)
    with _timed(case):
        spec = unique(spec)
        emu.reconfigure(settings(emu, throttle=p, seed=seed))
        result = emu.build(spec)
        throttled = faults.throttled_attempts()
        emu.reconfigure(settings(emu))
        case.status, case.error = result.status, result.error
        case.execution, case.vpc_id = execution_of(result), result.vpc_id
        if result.status == "SUCCEEDED":
            case.problems += verify_network(emu, spec, result)
            emu.reconfigure(settings(emu, throttle=p, seed=seed + 10_000))
            destroyed = emu.destroy(result.vpc_id or "")
            if destroyed.status != "SUCCEEDED":
                case.problems.append(f"destroy failed: {destroyed.error}: {destroyed.cause}")
            emu.reconfigure(settings(emu))
        if throttled == 0 and p > 0:
            case.problems.append("no attempt was throttled: the run proves nothing")
        keep = result.status == "SUCCEEDED"
        _account_for(emu, case, bystanders, keep_log_groups=keep)
    return case


def storm_limit(nat_gateways: int = 1) -> int:
    """Throttled attempts in the storm: the build's Create NAT Gateways task uses up every SDK
    attempt of every call it has in flight, on each workflow attempt -- the first (a fresh
    execution: nothing to look up) sends the CreateNatGateway of each of its ``nat_gateways`` at
    once (fanout.each), each retry fails at its first call, the lookup -- then the rollback's first
    two invocations are throttled."""
    retries = asl_max_attempts("Create NAT Gateways", "AwsThrottled")
    rollback_attempts = 2
    if asl_max_attempts("Roll Back", "AwsThrottled") < rollback_attempts:
        raise RuntimeError("the rollback must retry AwsThrottled at least twice")
    return factory_aws.SDK_ATTEMPTS * (nat_gateways + retries + rollback_attempts)


def storm_case(emu: EmbeddedEmulator, spec: dict[str, Any], bystanders: Bystanders | None = None) -> Case:
    """Every EC2 attempt throttled from the first CreateNatGateway on, for :func:`storm_limit`
    attempts: the build fails with AwsThrottled after all its retries, its rollback is throttled
    twice and then, the storm over, succeeds: nothing is left."""
    case = Case("throttle", f"p=1.0 storm from CreateNatGateway:1 ({spec['name']})", "FAILED", "AwsThrottled")
    with _timed(case):
        zones = emu.client("ec2").describe_availability_zones()["AvailabilityZones"]
        limit = storm_limit(len(plan_network(parse_spec(spec), zones)["natGateways"]))
        emu.reconfigure(settings(emu, throttle=1.0, throttle_from=CallRef("CreateNatGateway"), throttle_limit=limit))
        result = emu.build(unique(spec))
        throttled = faults.throttled_attempts()
        _finish(emu, case, result, bystanders)
        attempts = 1 + asl_max_attempts("Create NAT Gateways", "AwsThrottled")
        if task_outcomes(emu, result, "Create NAT Gateways") != ["AwsThrottled"] * attempts:
            case.problems.append("Create NAT Gateways did not fail with AwsThrottled on each of its attempts")
        if task_outcomes(emu, result, "Roll Back") != ["AwsThrottled", "AwsThrottled", "SUCCEEDED"]:
            case.problems.append(f"Roll Back attempts: {task_outcomes(emu, result, 'Roll Back')}")
        if throttled != limit:
            case.problems.append(f"{throttled} attempts throttled, the storm had {limit}")
    return case


def _short(function: str) -> str:
    """vpcfactory-CreateSubnetsFunction -> CreateSubnets."""
    return function.rsplit("-", 1)[-1].removesuffix("Function")


def rerun_case(
    emu: EmbeddedEmulator, prof: Profile, point: RerunPoint, mode: str, bystanders: Bystanders | None = None
) -> Case:
    """A handler fails at its last mutating call (``mode="fault"``: RequestLimitExceeded on every
    SDK attempt, so the workflow's Retry runs the task again with the same input) or dies right
    after it (``mode="crash"``: the emulator runs it again with the same input, as a redrive
    would). The run must end as if nothing had happened -- a build with exactly its planned
    network, a destroy or a rollback with nothing left -- and the handler must really have run
    twice."""
    if mode == "fault":
        change: dict[str, Any] = {"faults": [Fault(point.operation, point.call, "RequestLimitExceeded")]}
    elif mode == "crash":
        change = {"crash_after": [CallRef(point.operation, point.call)], "rerun_crashed": True}
    else:
        raise ValueError(f"mode must be fault or crash, not {mode!r}")
    where = f"{'after' if mode == 'crash' else 'at'} {point.operation}:{point.call}"
    name = f"{point.phase}: {_short(point.function)} {mode} {where}, run again ({point.example})"
    expected = ("FAILED", "AwsCallFailed") if point.phase == "rollback" else ("SUCCEEDED", None)
    case = Case("rerun", name, *expected)
    with _timed(case):
        spec = unique(prof.spec)
        if point.phase == "build":
            emu.reconfigure(settings(emu, **change))
            result = emu.build(spec)
            rerun = _rerun_happened(point, mode)
            emu.reconfigure(settings(emu))
            built = result
            if result.status == "SUCCEEDED":
                case.problems += verify_network(emu, spec, result)
                destroyed = emu.destroy(result.vpc_id or "")
                if destroyed.status != "SUCCEEDED":
                    case.problems.append(f"destroy failed: {destroyed.error}: {destroyed.cause}")
        elif point.phase == "destroy":
            emu.reconfigure(settings(emu))
            built = _checked(emu.build(spec), "SUCCEEDED", f"building {spec['name']}")
            emu.reconfigure(settings(emu, **change))
            result = emu.destroy(built.vpc_id or "")
            rerun = _rerun_happened(point, mode)
        else:
            rollback_change = {**change, "faults": [prof.trigger, *change.get("faults", [])]}
            emu.reconfigure(settings(emu, **rollback_change))
            result = built = emu.build(spec)
            rerun = _rerun_happened(point, mode)
        emu.reconfigure(settings(emu))
        if not rerun:
            case.problems.append(f"{_short(point.function)} did not run again after {point.operation}:{point.call}")
        case.status, case.error = result.status, result.error
        case.execution, case.vpc_id = execution_of(built), built.vpc_id
        _account_for(emu, case, bystanders, keep_log_groups=point.phase != "rollback")
    return case


def _rerun_happened(point: RerunPoint, mode: str) -> bool:
    """The handler ran again after failing: killed and re-run once, or its failed call made anew."""
    if mode == "crash":
        return lambda_runtime.rerun_counts()["rerunAfterCrash"] == 1
    return faults.call_counts().get(point.operation, 0) > point.call


def duplicate_case(
    emu: EmbeddedEmulator, example: str, spec: dict[str, Any], bystanders: Bystanders | None = None
) -> Case:
    """Every handler of a build, then of its destroy, runs twice with the same input (Lambda's
    at-least-once delivery): each build handler must return the same result both times, the
    network must be exactly as planned, and the destroy must still leave nothing."""
    case = Case("rerun", f"every handler run twice: build and destroy ({example})", "SUCCEEDED", None)
    with _timed(case):
        spec = unique(spec)
        # a VPC pending long enough that its wait loop runs even when Create VPC runs twice
        emu.reconfigure(settings(emu, duplicate_invocations=True, vpc_pending_seconds=VPC_PENDING_FOR_TWO_RUNS))
        result = emu.build(spec)
        duplicated = lambda_runtime.rerun_counts()["duplicated"]
        run_twice = lambda_runtime.duplicated_functions()
        for mismatch in lambda_runtime.duplicate_mismatches():
            case.problems.append(f"{_short(mismatch['function'])} answered differently the second time")
        emu.reconfigure(settings(emu))
        case.status, case.error = result.status, result.error
        case.execution, case.vpc_id = execution_of(result), result.vpc_id
        if duplicated == 0:
            case.problems.append("no handler was run twice")
        if result.status == "SUCCEEDED":
            case.problems += verify_network(emu, spec, result)
            emu.reconfigure(settings(emu, duplicate_invocations=True))
            destroyed = emu.destroy(result.vpc_id or "")
            run_twice |= lambda_runtime.duplicated_functions()
            # a teardown step reports what it deleted: the second run deletes nothing and says so
            for mismatch in lambda_runtime.duplicate_mismatches():
                if mismatch["errored"]:
                    case.problems.append(f"{_short(mismatch['function'])} failed when run again")
            emu.reconfigure(settings(emu))
            if destroyed.status != "SUCCEEDED":
                case.problems.append(f"destroy failed: {destroyed.error}: {destroyed.cause}")
        case.details["runTwice"] = sorted(run_twice)
        _account_for(emu, case, bystanders, keep_log_groups=True)
    return case


def duplicate_rollback_case(emu: EmbeddedEmulator, prof: Profile, bystanders: Bystanders | None = None) -> Case:
    """A build failed at its last mutating call whose rollback handlers each run twice: it must
    still fail with the original error and leave nothing."""
    case = Case("rerun", f"every rollback handler run twice ({prof.example})", "FAILED", "AwsCallFailed")
    with _timed(case):
        emu.reconfigure(
            settings(
                emu, faults=[prof.trigger], duplicate_invocations=True, vpc_pending_seconds=VPC_PENDING_FOR_TWO_RUNS
            )
        )
        result = emu.build(unique(prof.spec))
        case.details["runTwice"] = sorted(lambda_runtime.duplicated_functions())
        for mismatch in lambda_runtime.duplicate_mismatches():
            if mismatch["errored"]:
                case.problems.append(f"{_short(mismatch['function'])} failed when run again")
        _finish(emu, case, result, bystanders)
    return case


def concurrency_cases(
    emu: EmbeddedEmulator,
    specs: list[dict[str, Any]],
    *,
    failed: int | None = None,
    bystanders: Bystanders | None = None,
    timeout: float = 600.0,
) -> list[Case]:
    """Every spec built at once; spec number ``failed`` is failed at its first CreateRoute by a
    fault aimed at its execution alone. Every other build must succeed with exactly its own
    resources (checked after the failed one's rollback ran beside them), and be destroyed, all at
    once, leaving nothing."""
    assert emu.stack is not None
    names = [execution_name(f"build-{s['name']}") for s in specs]
    targeted = [Fault("CreateRoute", 1, "InternalError", names[failed])] if failed is not None else []
    emu.reconfigure(settings(emu, faults=targeted))
    started = time.monotonic()
    arns = [emu.start_execution(emu.stack.build_arn, spec, name) for spec, name in zip(specs, names, strict=True)]
    results = [emu.wait(arn, timeout=timeout) for arn in arns]
    build_seconds = time.monotonic() - started
    emu.reconfigure(settings(emu))

    cases = []
    for index, (spec, result) in enumerate(zip(specs, results, strict=True)):
        expected = ("FAILED", "AwsCallFailed") if index == failed else ("SUCCEEDED", None)
        label = f"{spec['name']} ({spec['availabilityZones']} AZ, NAT {spec['natGateways']})"
        case = Case("concurrency", label + (" failed at CreateRoute:1" if index == failed else ""), *expected)
        case.status, case.error = result.status, result.error
        case.execution, case.vpc_id = execution_of(result), result.vpc_id
        if result.status == "SUCCEEDED":
            case.problems += verify_network(emu, spec, result)
        cases.append(case)

    started = time.monotonic()
    destroys = [
        emu.start_execution(emu.stack.destroy_arn, {"vpcId": c.vpc_id}, execution_name(f"destroy-{c.vpc_id}"))
        for c in cases
        if c.status == "SUCCEEDED"
    ]
    for arn in destroys:
        destroyed = emu.wait(arn, timeout=timeout)
        if destroyed.status != "SUCCEEDED":
            owner = next(c for c in cases if c.vpc_id == (destroyed.input or {}).get("vpcId"))
            owner.problems.append(f"destroy failed: {destroyed.error}: {destroyed.cause}")
    destroy_seconds = time.monotonic() - started
    state = account(emu.client("ec2"), emu.client("logs"))
    disturbed = bystanders.disturbed(emu, state) if bystanders is not None else []
    for case in cases:
        case.left_behind = tagged_with(
            emu.client("ec2"),
            emu.client("logs"),
            case.execution or "",
            keep_log_groups=case.status == "SUCCEEDED",
            state=state,
        )
        case.disturbed = disturbed
        case.seconds = round((build_seconds + destroy_seconds) / len(cases), 2)
    return cases
