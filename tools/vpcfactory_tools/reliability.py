"""Reliability runs: prove that a build either finishes with a verified network or leaves the
account exactly as it found it, whatever EC2 does in between.

    make reliability                       # or: python -m vpcfactory_tools.reliability
    python -m vpcfactory_tools.reliability --only crash,throttle --out /tmp/report.json

On one embedded emulator, after creating pre-existing resources the factory must never touch (a
foreign VPC with a subnet, routes, an internet gateway, a NAT gateway and its Elastic IP, a spare
Elastic IP, and a VPC the factory itself built earlier), it runs

- the **fault sweep**: for every mutating EC2 operation a real build of each example makes (found
  by running the build, never from a list), its first and its last call fail with InternalError;
- the **crash sweep**: the same calls succeed and the Lambda handler that made them dies right
  after (``Runtime.ExitError``), before it can return the id;
- the **throttling runs**: builds with 30 % of EC2 attempts throttled (several seeds), checked
  against their plan and then destroyed, still throttled; and a storm that throttles every attempt
  from the first CreateNatGateway on until the build has exhausted its retries and the rollback
  has failed twice, to watch the rollback's own retries succeed once it passes;
- the **concurrency run**: 20 builds of different specs at once, one of them failed mid-build by
  a fault aimed at its execution only; the 19 others are checked against their plans after the
  rollback ran beside them, then destroyed all at once;
- the **re-runs**: every handler that changes something (in a build, a destroy and a rollback)
  fails at its last change and is retried, or dies right after it and is run again; and every
  handler of both workflows runs twice with the same input. Nothing may be duplicated or left.

Each case records whether the build ended as expected, what it left behind (every live resource
tagged with its execution; for a build that succeeded, what is left after destroying it -- except
the flow-log group, which destroy keeps on purpose) and which pre-existing resources changed or
vanished. ``reliability/report.json`` holds every case; the printed table sums them up. The exit
status is 0 only when every case ended as expected with nothing left behind and nothing disturbed.
docs/reliability.md explains how to read the report.

The same functions back the pytest sweeps in tests/workflow/test_reliability.py (``make test``).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import moto
import yaml

from vpcfactory import aws as factory_aws
from vpcfactory import inventory
from vpcfactory.plan import plan_network
from vpcfactory.spec import parse_spec
from vpcfactory.tags import TAG_EXECUTION, TAG_LOGICAL_ID, tag_dict
from vpcfactory_tools.emulator import faults, lambda_runtime
from vpcfactory_tools.emulator.deploy import PROJECT_ROOT
from vpcfactory_tools.emulator.embedded import (
    EmbeddedEmulator,
    ExecutionResult,
    execution_name,
    wait_for_execution,
)
from vpcfactory_tools.emulator.faults import CallRef, Fault
from vpcfactory_tools.emulator.lambda_runtime import EXIT_ERROR
from vpcfactory_tools.emulator.settings import EmulatorSettings

EXAMPLES = PROJECT_ROOT / "examples"
BUILD_ASL = PROJECT_ROOT / "statemachine" / "build_vpc.asl.json"
REPORT = PROJECT_ROOT / "reliability" / "report.json"
TIME_SCALE = 0.001  # one simulated second is one real millisecond
# Every case runs with EC2's eventual consistency on (new ids answer NotFound to other calls for
# this many simulated seconds) and the VPC's IPv6 /56 associating for a while (the default).
CONSISTENCY_DELAY = 2.0
READ_PREFIXES = ("Describe", "Get", "List", "Search")
THROTTLE_P = 0.3
VPC_PENDING_FOR_TWO_RUNS = 30.0  # simulated seconds: more than two runs of Create VPC take
KINDS = ("fault", "crash", "throttle", "concurrency", "rerun")
TITLES = {
    "fault": "fault sweep",
    "crash": "crash sweep",
    "throttle": "throttling",
    "concurrency": "concurrency",
    "rerun": "re-runs",
}


# -- what is in the account ---------------------------------------------------------------------


# The kinds the factory creates or could touch, each with its one `live` rule, are the product's
# own catalog (vpcfactory.inventory), not the harness's.
EC2_KINDS = inventory.KINDS
_KIND_OF_TAG_TYPE = {t: kind for kind in EC2_KINDS for t in kind.tag_types}
LOG_GROUP = "log-group"


@dataclass(frozen=True)
class Resource:
    kind: str
    id: str
    tags: dict[str, str]
    item: dict[str, Any]

    @property
    def fingerprint(self) -> str:
        return json.dumps(self.item, sort_keys=True, default=str)

    def __str__(self) -> str:
        logical = self.tags.get(TAG_LOGICAL_ID)
        return f"{self.kind} {self.id}" + (f" ({logical})" if logical else "")


def account(ec2: Any, logs: Any) -> dict[str, Resource]:
    """Every live resource of every kind the factory creates or could touch, by id."""
    found: dict[str, Resource] = {}
    for kind in EC2_KINDS:
        for item in factory_aws.describe_all(ec2, kind.operation, kind.key, []):
            if kind.live(item):
                found[item[kind.id_key]] = Resource(kind.name, item[kind.id_key], tag_dict(item.get("Tags")), item)
    for page in logs.get_paginator("describe_log_groups").paginate():
        for group in page["logGroups"]:
            arn = group["arn"].removesuffix(":*")
            tags = logs.list_tags_for_resource(resourceArn=arn).get("tags", {})
            found[group["logGroupName"]] = Resource(LOG_GROUP, group["logGroupName"], dict(tags), group)
    return found


def tagged_with(
    ec2: Any,
    logs: Any,
    execution: str,
    *,
    keep_log_groups: bool = False,
    state: dict[str, Resource] | None = None,
) -> list[str]:
    """Every live resource tagged ``vpcfactory:execution = execution``.

    Also, from DescribeTags, anything of a kind this module cannot list (a kind the factory
    started creating since): it cannot be checked for life, so it counts as left behind until
    :data:`EC2_KINDS` learns it. ``keep_log_groups``: destroy keeps the flow-log group on purpose.
    """
    live = state if state is not None else account(ec2, logs)
    left = [
        str(r)
        for r in live.values()
        if r.tags.get(TAG_EXECUTION) == execution and not (keep_log_groups and r.kind == LOG_GROUP)
    ]
    filters = [{"Name": "key", "Values": [TAG_EXECUTION]}, {"Name": "value", "Values": [execution]}]
    for tag in factory_aws.describe_all(ec2, "DescribeTags", "Tags", filters):
        if tag["ResourceType"] not in _KIND_OF_TAG_TYPE:
            left.append(f"{tag['ResourceType']} {tag['ResourceId']} (a kind the reliability runs cannot list)")
    return sorted(left)


@dataclass
class Bystanders:
    """The account before the runs: every resource there, to be found unchanged after each case."""

    before: dict[str, Resource]

    @classmethod
    def snapshot(cls, emu: EmbeddedEmulator) -> Bystanders:
        return cls(account(emu.client("ec2"), emu.client("logs")))

    def disturbed(self, emu: EmbeddedEmulator, state: dict[str, Resource] | None = None) -> list[str]:
        """Pre-existing resources that are gone or different now."""
        now = state if state is not None else account(emu.client("ec2"), emu.client("logs"))
        out = []
        for rid, was in self.before.items():
            if rid not in now:
                out.append(f"{was}: gone")
            elif now[rid].fingerprint != was.fingerprint:
                out.append(f"{was}: changed")
        return sorted(out)


def create_bystanders(emu: EmbeddedEmulator, spec: dict[str, Any] | None = None) -> list[str]:
    """Resources that exist before the runs and that no run may touch; returns their ids.

    A foreign (untagged) VPC with a subnet, a route table with a default route to its attached
    internet gateway, a NAT gateway with its Elastic IP, a security group; a spare Elastic IP;
    and, if ``spec`` is given, a VPC the factory built from it (tagged by another execution).
    They are set up as they would be long before the runs: with every new id visible at once.
    """
    emu.reconfigure(settings(emu, consistency_delay_seconds=0.0))
    ec2 = emu.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.250.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.250.1.0/24")["Subnet"]["SubnetId"]
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.associate_route_table(RouteTableId=table, SubnetId=subnet)
    ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    eip = ec2.allocate_address(Domain="vpc")["AllocationId"]
    nat = ec2.create_nat_gateway(SubnetId=subnet, AllocationId=eip)["NatGateway"]["NatGatewayId"]
    group = ec2.create_security_group(GroupName="theirs", Description="not the factory's", VpcId=vpc)
    spare = ec2.allocate_address(Domain="vpc")["AllocationId"]
    ids = [vpc, subnet, igw, table, eip, nat, group["GroupId"], spare]
    if spec is not None:
        built = emu.build(unique(spec))
        if built.status != "SUCCEEDED":
            raise RuntimeError(f"the pre-existing factory VPC could not be built: {built.error}: {built.cause}")
        ids.append(built.vpc_id or "")
    # let the foreign NAT gateway become available: the snapshot must not catch it pending
    deadline = time.monotonic() + 60
    while ec2.describe_nat_gateways(NatGatewayIds=[nat])["NatGateways"][0]["State"] != "available":
        if time.monotonic() > deadline:
            raise TimeoutError(f"{nat} did not become available")
        time.sleep(0.01)
    emu.reconfigure(settings(emu))
    return ids


# -- specs ----------------------------------------------------------------------------------------


def examples() -> dict[str, dict[str, Any]]:
    """Every example spec in examples/ (files that hold a valid spec; not the CloudFormation
    template that shows the custom resource), by file stem."""
    found = {}
    for path in sorted(EXAMPLES.glob("*.yaml")):
        try:
            doc = yaml.safe_load(path.read_text())
            parse_spec(doc)
        except Exception:  # not a spec: the custom-resource template, or anything else
            continue
        found[path.stem] = doc
    return found


def unique(spec: dict[str, Any]) -> dict[str, Any]:
    """The spec under a name of its own (a name is a network's identity: reusing one grows it)."""
    return {**spec, "name": f"{spec['name'][:20]}-{uuid.uuid4().hex[:8]}"}


def concurrency_specs(count: int = 20) -> list[dict[str, Any]]:
    """``count`` different specs: own names and CIDRs, 1-3 zones, NAT none/single/per-az, varied tiers."""
    modes = ("single", "per-az", "none")
    specs = []
    for i in range(count):
        zones, mode = 1 + i % 3, modes[(i // 3) % 3]
        tiers: list[dict[str, Any]] = [{"name": "web", "type": "public", "prefixLength": 24 + i % 3}]
        if mode != "none":
            tiers.append({"name": "app", "type": "private", "prefixLength": 20 + i % 4, "tags": {"Tier": "app"}})
        if i % 2 == 0:
            tiers.append({"name": "data", "type": "isolated", "prefixLength": 26})
        spec = {
            "name": f"fleet-{i:02d}-{uuid.uuid4().hex[:6]}",
            "cidr": f"10.{100 + i}.0.0/16",
            "availabilityZones": zones,
            "natGateways": mode,
            "tiers": tiers,
            "tags": {"Team": f"team-{i % 5}"},
        }
        parse_spec(spec)  # every one must be a valid spec
        specs.append(spec)
    return specs


# -- what a build does ----------------------------------------------------------------------------


def is_mutating(operation: str) -> bool:
    return not operation.startswith(READ_PREFIXES)


Call = tuple[str, str]  # (Lambda function, EC2 operation)


@dataclass
class Profile:
    """What real runs of one example call, in order (found by running them, never from a list):
    a clean build, its destroy, and a build failed at its last mutating call (``trigger``) with
    the rollback that follows."""

    example: str
    spec: dict[str, Any]
    build: list[Call]
    destroy: list[Call]
    rollback: list[Call]
    trigger: Fault

    def mutating(self, phase: str = "build") -> dict[str, int]:
        """Mutating operations of a phase and how often each is called, in first-call order."""
        counts: dict[str, int] = {}
        for _, op in getattr(self, phase):
            if is_mutating(op):
                counts[op] = counts.get(op, 0) + 1
        return counts


def _checked(result: ExecutionResult, status: str, what: str) -> ExecutionResult:
    if result.status != status:
        raise RuntimeError(f"{what}: expected {status}, got {result.status} {result.error}: {result.cause}")
    return result


def profile(emu: EmbeddedEmulator, example: str, spec: dict[str, Any]) -> Profile:
    """Run ``spec`` for real and record each EC2 call of its build, destroy and rollback."""
    emu.reconfigure(settings(emu))
    built = _checked(emu.build(unique(spec)), "SUCCEEDED", f"a clean build of {example}")
    build = faults.call_sequence(execution_of(built))
    destroyed = _checked(emu.destroy(built.vpc_id or ""), "SUCCEEDED", f"destroying {example}")
    destroy = faults.call_sequence(execution_of(destroyed))
    _, op, n = last_mutating_calls(build)[-1]
    trigger = Fault(op, n, "InternalError")
    emu.reconfigure(settings(emu, faults=[trigger]))
    failed = _checked(emu.build(unique(spec)), "FAILED", f"{example} failed at {trigger}")
    rollback = faults.call_sequence(execution_of(failed))
    emu.reconfigure(settings(emu))
    return Profile(example, spec, build, destroy, rollback, trigger)


def last_mutating_calls(calls: list[Call], functions: Iterable[str] | None = None) -> list[tuple[str, str, int]]:
    """For each function (in order of its last call), its last mutating call: (function,
    operation, N) where N numbers that call among all calls of the operation in ``calls``."""
    wanted = set(functions) if functions is not None else None
    seen: Counter[str] = Counter()
    last: dict[str, tuple[str, str, int]] = {}
    for function, op in calls:
        seen[op] += 1
        if is_mutating(op) and (wanted is None or function in wanted):
            last.pop(function, None)
            last[function] = (function, op, seen[op])
    return list(last.values())


@dataclass(frozen=True)
class SweepPoint:
    """One call of one operation, and the example whose build makes it."""

    example: str
    operation: str
    call: int

    @property
    def id(self) -> str:
        return f"{self.operation}:{self.call}"


def sweep_points(profiles: list[Profile], *, last_calls: bool = True) -> list[SweepPoint]:
    """Every mutating operation the builds of the examples make: its first call and
    (``last_calls``) its last, each in the build that calls it most."""
    points: list[SweepPoint] = []
    seen: set[str] = set()
    for prof in profiles:
        for op in prof.mutating():
            if op in seen:
                continue
            seen.add(op)
            richest = max(profiles, key=lambda p: p.mutating().get(op, 0))
            count = richest.mutating()[op]
            points.append(SweepPoint(richest.example, op, 1))
            if last_calls and count > 1:
                points.append(SweepPoint(richest.example, op, count))
    return points


@dataclass(frozen=True)
class RerunPoint:
    """The last mutating call of one handler in one phase of one example's run."""

    phase: str  # build | destroy | rollback
    example: str
    function: str
    operation: str
    call: int

    @property
    def id(self) -> str:
        return f"{self.phase}:{self.function.rsplit('-', 1)[-1]}:{self.operation}:{self.call}"


def rerun_points(profiles: list[Profile]) -> list[RerunPoint]:
    """Every handler that changes something, in each phase (build, destroy, rollback): its last
    mutating call, in the example where that handler does the most."""
    points: dict[tuple[str, str], RerunPoint] = {}
    weight: dict[tuple[str, str], int] = {}
    for prof in profiles:
        build_functions = {f for f, _ in prof.build}
        teardown = [f for f, _ in prof.rollback if f not in build_functions]
        phases = {
            "build": last_mutating_calls(prof.build),
            "destroy": last_mutating_calls(prof.destroy),
            "rollback": last_mutating_calls(prof.rollback, teardown),
        }
        for phase, lasts in phases.items():
            calls = getattr(prof, phase)
            for function, op, n in lasts:
                mutations = sum(1 for f, o in calls if f == function and is_mutating(o))
                key = (phase, function)
                if mutations > weight.get(key, -1):
                    weight[key] = mutations
                    points[key] = RerunPoint(phase, prof.example, function, op, n)
    return list(points.values())


def asl_max_attempts(state: str, error: str, path: Path = BUILD_ASL) -> int:
    """MaxAttempts of the Retry on ``error`` of the Task ``state`` in the build ASL."""

    def find(states: dict[str, Any]) -> dict[str, Any] | None:
        for name, body in states.items():
            if name == state:
                return body
            for branch in body.get("Branches", []):
                if (hit := find(branch["States"])) is not None:
                    return hit
        return None

    body = find(json.loads(path.read_text())["States"])
    if body is None:
        raise KeyError(f"no state {state!r} in {path.name}")
    for retrier in body.get("Retry", []):
        if error in retrier["ErrorEquals"]:
            return int(retrier.get("MaxAttempts", 3))
    return 0


def execution_of(result: ExecutionResult) -> str:
    return result.execution_arn.rsplit(":", 1)[-1]


def task_outcomes(emu: EmbeddedEmulator, result: ExecutionResult, state: str) -> list[str]:
    """Each attempt of Task ``state``: its error name, or SUCCEEDED (from the execution history)."""
    sfn = emu.client("stepfunctions")
    events: list[dict[str, Any]] = []
    for page in sfn.get_paginator("get_execution_history").paginate(executionArn=result.execution_arn):
        events += page["events"]
    by_id = {e["id"]: e for e in events}

    def state_of(event: dict[str, Any]) -> str | None:
        while event is not None:
            if event["type"] == "TaskStateEntered":
                return event["stateEnteredEventDetails"]["name"]
            event = by_id.get(event.get("previousEventId"))
        return None

    out = []
    for event in events:
        if event["type"] == "TaskFailed" and state_of(event) == state:
            out.append(event["taskFailedEventDetails"].get("error", ""))
        elif event["type"] == "TaskSucceeded" and state_of(event) == state:
            out.append("SUCCEEDED")
    return out


# -- is the network right -----------------------------------------------------------------------


def verify_network(emu: EmbeddedEmulator, spec: dict[str, Any], result: ExecutionResult) -> list[str]:
    """What is wrong with a built network: each resource of the plan exists exactly once, as
    planned, tagged with the execution; the VPC holds nothing else; routes go where the plan says."""
    ec2 = emu.client("ec2")
    execution, vpc_id = execution_of(result), result.vpc_id
    plan = plan_network(parse_spec(spec), ec2.describe_availability_zones()["AvailabilityZones"])
    everything = account(ec2, emu.client("logs"))
    mine = [r for r in everything.values() if r.tags.get(TAG_EXECUTION) == execution]
    problems: list[str] = []

    by_kind: dict[str, dict[str, Resource]] = {}
    for res in mine:
        logical = res.tags.get(TAG_LOGICAL_ID, "")
        slot = by_kind.setdefault(res.kind, {})
        if logical in slot:
            problems.append(f"duplicate {res.kind} {logical}: {slot[logical].id} and {res.id}")
        slot[logical] = res

    def expect(kind: str, planned: Iterable[str]) -> dict[str, Resource]:
        have = by_kind.get(kind, {})
        wanted = set(planned)
        if set(have) != wanted:
            problems.append(f"{kind}: planned {sorted(wanted)}, found {sorted(have)}")
        return have

    vpcs = expect("vpc", [plan["vpc"]["logicalId"]])
    if [r.id for r in vpcs.values()] != [vpc_id]:
        problems.append(f"the execution's VPC is {[r.id for r in vpcs.values()]}, its output says {vpc_id}")
    elif vpcs[plan["vpc"]["logicalId"]].item["CidrBlock"] != plan["cidr"]:
        problems.append(f"VPC CIDR {vpcs[plan['vpc']['logicalId']].item['CidrBlock']} != {plan['cidr']}")

    subnets = expect("subnet", [s["logicalId"] for s in plan["subnets"]])
    for sub in plan["subnets"]:
        item = subnets.get(sub["logicalId"])
        if item and (item.item["CidrBlock"], item.item["AvailabilityZone"]) != (sub["cidr"], sub["az"]):
            problems.append(f"{sub['logicalId']} is {item.item['CidrBlock']} in {item.item['AvailabilityZone']}")
    nats = expect("nat-gateway", [n["logicalId"] for n in plan["natGateways"]])
    for nat in plan["natGateways"]:
        item = nats.get(nat["logicalId"])
        if item and item.item.get("State") != "available":
            problems.append(f"{nat['logicalId']} is {item.item.get('State')}")
        if item and nat["subnet"] in subnets and item.item["SubnetId"] != subnets[nat["subnet"]].id:
            problems.append(f"{nat['logicalId']} is not in {nat['subnet']}")
    expect("elastic-ip", [n["eip"] for n in plan["natGateways"] if not n.get("eipAllocationId")])
    igws = expect("internet-gateway", [plan["internetGateway"]["logicalId"]] if plan.get("internetGateway") else [])
    igw_id = next(iter(igws.values())).id if igws else None
    tables = expect("route-table", [t["logicalId"] for t in plan["routeTables"]])

    # nothing in the VPC that is not this execution's (no cross-talk between builds)
    ids = {r.id for r in mine}
    for res in everything.values():
        in_vpc = res.item.get("VpcId") == vpc_id or any(
            a.get("VpcId") == vpc_id for a in res.item.get("Attachments", [])
        )
        main = any(a.get("Main") for a in res.item.get("Associations", []))
        if in_vpc and res.id not in ids and res.kind in ("subnet", "nat-gateway", "internet-gateway"):
            problems.append(f"{res} in {vpc_id} is not this execution's")
        if in_vpc and res.id not in ids and res.kind == "route-table" and not main:
            problems.append(f"{res} in {vpc_id} is not this execution's")

    # every subnet in its planned table, every default route to its planned target
    table_of_subnet = {
        a["SubnetId"]: logical
        for logical, t in tables.items()
        for a in t.item.get("Associations", [])
        if a.get("SubnetId")
    }
    for sub in plan["subnets"]:
        item = subnets.get(sub["logicalId"])
        if item and table_of_subnet.get(item.id) != sub["routeTable"]:
            problems.append(f"{sub['logicalId']} is associated with {table_of_subnet.get(item.id)}")
    for planned in plan["routeTables"]:
        table = tables.get(planned["logicalId"])
        if table is None:
            continue
        route = next((r for r in table.item.get("Routes", []) if r.get("DestinationCidrBlock") == "0.0.0.0/0"), None)
        target = (planned.get("defaultRoute") or {}).get("target")
        got = (route or {}).get("NatGatewayId") or (route or {}).get("GatewayId")
        if target == "igw":
            want = igw_id
        elif target == "nat":
            nat = nats.get(planned["defaultRoute"]["nat"])
            want = nat.id if nat else "a NAT gateway"
        else:
            want = None
        if got != want:
            problems.append(f"{planned['logicalId']} routes 0.0.0.0/0 to {got}, planned {want}")
    return problems


# -- cases ----------------------------------------------------------------------------------------


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


def settings(emu: EmbeddedEmulator, **changes: Any) -> EmulatorSettings:
    """The emulator's defaults at its time scale (no faults, crashes or throttling), plus ``changes``."""
    base = EmulatorSettings(time_scale=emu.settings.time_scale, consistency_delay_seconds=CONSISTENCY_DELAY)
    return replace(base, **changes)


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


def storm_limit() -> int:
    """Throttled attempts in the storm: the build's Create NAT Gateways task uses up every SDK
    attempt of every workflow attempt, then the rollback's first two invocations are throttled."""
    build_attempts = 1 + asl_max_attempts("Create NAT Gateways", "AwsThrottled")
    rollback_attempts = 2
    if asl_max_attempts("Roll Back", "AwsThrottled") < rollback_attempts:
        raise RuntimeError("the rollback must retry AwsThrottled at least twice")
    return factory_aws.SDK_ATTEMPTS * (build_attempts + rollback_attempts)


def storm_case(emu: EmbeddedEmulator, spec: dict[str, Any], bystanders: Bystanders | None = None) -> Case:
    """Every EC2 attempt throttled from the first CreateNatGateway on, for :func:`storm_limit`
    attempts: the build fails with AwsThrottled after all its retries, its rollback is throttled
    twice and then, the storm over, succeeds: nothing is left."""
    case = Case("throttle", f"p=1.0 storm from CreateNatGateway:1 ({spec['name']})", "FAILED", "AwsThrottled")
    with _timed(case):
        limit = storm_limit()
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
    sfn = emu.client("stepfunctions")
    results = [wait_for_execution(sfn, arn, timeout=timeout) for arn in arns]
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
        destroyed = wait_for_execution(sfn, arn, timeout=timeout)
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


# -- the report -----------------------------------------------------------------------------------


def summarize(cases: list[Case]) -> dict[str, Any]:
    to_succeed = [c for c in cases if c.expected_status == "SUCCEEDED"]
    to_fail = [c for c in cases if c.expected_status != "SUCCEEDED"]
    return {
        "cases": len(cases),
        "asExpected": sum(c.as_expected for c in cases),
        "expectedToSucceed": len(to_succeed),
        "succeededAsExpected": sum(c.as_expected for c in to_succeed),
        "expectedToFail": len(to_fail),
        "failedAsExpected": sum(c.as_expected for c in to_fail),
        "leftBehind": sum(len(c.left_behind) for c in cases),
        # a pre-existing resource disturbed once stays counted once, whatever the number of cases
        "disturbed": len({d for c in cases for d in c.disturbed}),
        "ok": all(c.ok for c in cases),
    }


def report(cases: list[Case], meta: dict[str, Any]) -> dict[str, Any]:
    kinds = [k for k in KINDS if any(c.kind == k for c in cases)]
    return {
        **meta,
        "summary": summarize(cases),
        "byKind": {TITLES[k]: summarize([c for c in cases if c.kind == k]) for k in kinds},
        "failures": [c.to_json() for c in cases if not c.ok],
        "cases": [c.to_json() for c in cases],
    }


def table(doc: dict[str, Any]) -> str:
    header = ("", "cases", "succeeded", "failed", "left behind", "pre-existing")
    sub = ("", "", "as expected", "as expected", "(must be 0)", "disturbed (0)")
    rows = [header, sub]
    for title, s in [*doc["byKind"].items(), ("total", doc["summary"])]:
        rows.append(
            (
                title,
                str(s["cases"]),
                f"{s['succeededAsExpected']}/{s['expectedToSucceed']}",
                f"{s['failedAsExpected']}/{s['expectedToFail']}",
                str(s["leftBehind"]),
                str(s["disturbed"]),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(r, widths, strict=True)))
        for r in rows
    ]
    lines.insert(2, "-" * len(lines[0]))
    lines.insert(len(lines) - 1, "-" * len(lines[0]))
    bad = len(doc["failures"])
    verdict = "PASS" if doc["summary"]["ok"] else f"FAIL: {bad} case(s) with a problem: see `failures` in the report"
    return "\n".join([*lines, verdict])


# -- the runner -----------------------------------------------------------------------------------


def run(
    kinds: Iterable[str] = KINDS,
    *,
    seeds: int = 4,
    concurrency: int = 20,
    time_scale: float = TIME_SCALE,
    log: Callable[[str], None] = lambda line: None,
) -> dict[str, Any]:
    kinds = [k for k in KINDS if k in set(kinds)]
    started = time.monotonic()
    cases: list[Case] = []
    meta: dict[str, Any] = {
        "generatedAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "moto": moto.__version__,
        "timeScale": time_scale,
        "consistencyDelaySeconds": CONSISTENCY_DELAY,
        "kinds": kinds,
    }

    def add(case: Case) -> None:
        cases.append(case)
        mark = "ok " if case.ok else "BAD"
        outcome = f"{case.status} {case.error or ''}".strip()
        log(f"  {mark} {TITLES[case.kind]:<12} {case.name}: {outcome} ({case.seconds}s)")
        for line in case.problems + [f"left behind: {x}" for x in case.left_behind] + case.disturbed:
            log(f"      {line}")

    with EmbeddedEmulator(EmulatorSettings(time_scale=time_scale, consistency_delay_seconds=CONSISTENCY_DELAY)) as emu:
        specs = examples()
        log("pre-existing resources: a foreign VPC with a NAT gateway, a spare EIP, a factory VPC")
        create_bystanders(emu, specs.get("production") or next(iter(specs.values())))
        bystanders = Bystanders.snapshot(emu)
        meta["preexistingResources"] = len(bystanders.before)

        profiles: list[Profile] = []
        if {"fault", "crash", "rerun"} & set(kinds):
            log(f"profiling the builds, destroys and rollbacks of {', '.join(specs)}")
            profiles = [profile(emu, name, spec) for name, spec in specs.items()]
            meta["mutatingCalls"] = {
                p.example: {phase: p.mutating(phase) for phase in ("build", "destroy", "rollback")} for p in profiles
            }
        points = sweep_points(profiles)
        for kind in ("fault", "crash"):
            if kind not in kinds:
                continue
            log(f"{TITLES[kind]}: {len(points)} calls")
            for point in points:
                spec = specs[point.example]
                if kind == "fault":
                    add(fault_case(emu, spec, Fault(point.operation, point.call), bystanders))
                else:
                    add(crash_case(emu, spec, CallRef(point.operation, point.call), bystanders))
        if "throttle" in kinds:
            log(f"{TITLES['throttle']}:")
            for spec in specs.values():
                for seed in range(1, seeds + 1):
                    add(throttle_case(emu, spec, seed, bystanders=bystanders))
            add(storm_case(emu, specs.get("production") or next(iter(specs.values())), bystanders))
        if "concurrency" in kinds:
            log(f"{TITLES['concurrency']}: {concurrency} builds at once")
            for case in concurrency_cases(emu, concurrency_specs(concurrency), failed=3, bystanders=bystanders):
                add(case)
        if "rerun" in kinds:
            reruns = rerun_points(profiles)
            log(f"{TITLES['rerun']}: {len(reruns)} handlers that change something, failed or killed, run again")
            by_example = {p.example: p for p in profiles}
            for point in reruns:
                for mode in ("fault", "crash"):
                    add(rerun_case(emu, by_example[point.example], point, mode, bystanders))
            for prof in profiles:
                add(duplicate_case(emu, prof.example, prof.spec, bystanders))
            add(duplicate_rollback_case(emu, max(profiles, key=lambda p: len(p.rollback)), bystanders))
    meta["seconds"] = round(time.monotonic() - started, 1)
    return report(cases, meta)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m vpcfactory_tools.reliability", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--out", default=str(REPORT), help=f"where to write the JSON report (default {REPORT})")
    parser.add_argument("--only", default=",".join(KINDS), help=f"comma-separated subset of {','.join(KINDS)}")
    parser.add_argument("--seeds", type=int, default=4, help="throttled builds per example (default 4)")
    parser.add_argument("--concurrency", type=int, default=20, help="builds started at once (default 20)")
    parser.add_argument("--time-scale", type=float, default=TIME_SCALE)
    args = parser.parse_args(argv)
    kinds = [k.strip() for k in args.only.split(",") if k.strip()]
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        parser.error(f"--only: unknown {unknown}; choose from {', '.join(KINDS)}")

    # Handlers log to stdout and moto's engine logs every caught task error: keep stdout for the
    # table, and the rest quiet or on stderr.
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    out, sys.stdout = sys.stdout, sys.stderr
    lock = threading.Lock()

    def log(line: str) -> None:
        with lock:
            print(line, file=sys.stderr, flush=True)

    try:
        doc = run(kinds, seeds=args.seeds, concurrency=args.concurrency, time_scale=args.time_scale, log=log)
    finally:
        sys.stdout = out
    path = Path(args.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2) + "\n")
    out.write(f"reliability report: {path} ({doc['seconds']} s)\n{table(doc)}\n")
    return 0 if doc["summary"]["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
