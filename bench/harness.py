"""Running builds on the embedded emulator under the latency model: the shared emulator session
(:class:`Bench`), one factory build (:func:`simulate_build`), one run of the seed script
(:func:`simulate_seed_script`) and one rollout to a fleet of accounts (:func:`simulate_fleet`),
each read back into time to ready (or done) and cost."""

from __future__ import annotations

import datetime
import json
import logging
import math
import time
import traceback
import uuid
from collections import Counter
from types import ModuleType
from typing import Any

from bench.common import BenchConfig, BenchError, log, median, round_or_none
from bench.model import (
    CHILD_START_TRANSITIONS,
    PRICE_PER_TRANSITION,
    READINESS_POLLS,
    TOLERANCE,
    FleetChild,
    analyse_execution,
    analyse_sequential,
    child_outcome,
    child_transitions,
    flatten_states,
    fleet_time,
    lambda_cost,
    lower_bound,
    usd,
)
from bench.scenarios import seed_spec


def unique_name(name: str) -> str:
    return f"{name[:22]}-{uuid.uuid4().hex[:8]}"


# -- the emulator session --------------------------------------------------------------------------


class Bench:
    """One embedded emulator with the latency model on top, shared by every emulator benchmark."""

    def __init__(self, config: BenchConfig) -> None:
        self.config = config
        self.emu: Any = None
        self.states: dict[str, dict[str, Any]] = {}
        self.memory_mb: dict[str, int] = {}
        self.defaults: Any = None

    def __enter__(self) -> Bench:
        from vpcfactory_tools.emulator import latency
        from vpcfactory_tools.emulator.embedded import EmbeddedEmulator
        from vpcfactory_tools.emulator.settings import EmulatorSettings

        logging.getLogger("moto").setLevel(logging.CRITICAL)
        self.defaults = EmulatorSettings(time_scale=self.config.time_scale)
        self.emu = EmbeddedEmulator(self.defaults).start()
        latency.install()
        latency.configure(ec2_call_seconds=self.config.ec2_call_seconds)
        sfn = self.emu.client("stepfunctions")
        definition = sfn.describe_state_machine(stateMachineArn=self.emu.stack.build_arn)["definition"]
        self.states = flatten_states(json.loads(definition))
        self.memory_mb = function_memory(self.emu.stack)
        return self

    def __exit__(self, *exc: object) -> None:
        from vpcfactory_tools.emulator import latency

        latency.uninstall()
        latency.configure()
        if self.emu is not None:
            self.emu.stop()

    def settings(self, time_scale: float) -> Any:
        from vpcfactory_tools.emulator.settings import EmulatorSettings

        return EmulatorSettings(time_scale=time_scale)

    def fresh_account(self, time_scale: float, ec2_call_seconds: float) -> None:
        """New settings, an empty EC2 (every build starts from the same account), zeroed counters."""
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.ec2.models import ec2_backends

        from vpcfactory_tools.emulator import lambda_runtime, latency

        self.emu.reconfigure(self.settings(time_scale))
        ec2_backends[DEFAULT_ACCOUNT_ID][self.emu.region].reset()
        latency.reset()
        lambda_runtime.reset_invocations()
        latency.configure(ec2_call_seconds=ec2_call_seconds)

    def build(self, spec: dict[str, Any]) -> tuple[Any, str]:
        from vpcfactory_tools.execution_results import execution_name

        spec = {**spec, "name": unique_name(spec["name"])}
        name = execution_name(f"bench-{spec['name']}")
        result = self.emu.build(spec, name=name)
        if result.status != "SUCCEEDED":
            raise BenchError(
                f"build of {spec['name']} {result.status}: {result.error}: {result.cause}",
                status=result.status,
                error=result.error,
                cause=result.cause,
            )
        return result, name

    def history(self, execution_arn: str) -> list[dict[str, Any]]:
        sfn = self.emu.client("stepfunctions")
        events: list[dict[str, Any]] = []
        for page in sfn.get_paginator("get_execution_history").paginate(executionArn=execution_arn):
            events.extend(page["events"])
        return events


def function_memory(stack: Any) -> dict[str, int]:
    """Function name -> MemorySize (MB), from template.yaml as sam deploy would set it."""
    from vpcfactory_tools.emulator.deploy import load_template

    template = load_template()
    default = int(template.get("Globals", {}).get("Function", {}).get("MemorySize", 128))
    memory = {}
    for logical_id, arn in stack.functions.items():
        props = template["Resources"][logical_id].get("Properties", {})
        memory[arn.split(":")[-1]] = int(props.get("MemorySize", default))
    return memory


# -- 1 + 2: time to ready and cost, per scenario ---------------------------------------------------


def simulate_build(bench: Bench, spec: dict[str, Any]) -> dict[str, Any]:
    """Build ``spec`` under the latency model; time to ready (model seconds) and cost."""
    from vpcfactory_tools.emulator import engine_time, lambda_runtime, latency

    config, scale = bench.config, bench.config.time_scale
    bench.fresh_account(scale, config.ec2_call_seconds)
    result, execution = bench.build(spec)
    pending = readiness_seconds(bench.defaults, spec)
    analysis = analyse_execution(
        bench.history(result.execution_arn),
        bench.states,
        latency.calls(execution),
        scale,
        pending,
        runs=lambda_runtime.invocations(execution),
        event_cpu=engine_time.event_cpu(result.execution_arn),
    )
    calls = Counter(latency.call_counts(execution)) + Counter(analysis["addedCalls"])
    bound = lower_bound(pending["vpc_pending_seconds"], pending["nat_pending_seconds"], config.ec2_call_seconds)[
        "seconds"
    ]
    cost = lambda_cost(analysis["invocations"], bench.memory_mb)
    return {
        "spec": spec["name"],
        "availabilityZones": len(result.output["availabilityZones"]),
        "subnets": sum(len(v) for v in result.output["subnets"].values()),
        "natGateways": len(result.output.get("natGateways") or []),
        "simulatedSeconds": round(analysis["modelSeconds"], 3),
        "routesReadySeconds": round_or_none(analysis["routesReadySeconds"]),
        "lowerBoundSeconds": bound,
        "ratio": round(analysis["modelSeconds"] / bound, 4),
        "clockSeconds": round(analysis["clockSeconds"], 3),
        "realSeconds": round(analysis["realSeconds"], 3),
        "timeScale": scale,
        "readinessMarginSeconds": {k: round_or_none(v) for k, v in analysis["readinessMargins"].items()},
        "extraPolls": {k: v["extraPolls"] for k, v in analysis["corrections"].items()},
        "criticalPath": _rounded(analysis["criticalPath"]),
        "cost": {
            "stateTransitions": analysis["transitions"],
            "retries": analysis["retries"],
            "lambdaInvocations": analysis["lambdaInvocations"],
            "billedGbSeconds": round(cost["billedGbSeconds"], 4),
            "billedMs": cost["billedMs"],
            "ec2Calls": sum(calls.values()),
            "ec2MutatingCalls": mutating(calls),
            "ec2CallsByOperation": dict(sorted(calls.items())),
            "usd": round(usd(analysis["transitions"], analysis["lambdaInvocations"], cost["billedGbSeconds"]), 6),
            "lambdaByState": cost["byState"],
        },
        "largestPayloadBytes": analysis["largestPayloadBytes"],
        "unattributedCalls": analysis["unattributedCalls"],
    }


def readiness_seconds(defaults: Any, spec: dict[str, Any]) -> dict[str, float]:
    """How long after its creation each awaited resource is ready, for this spec (READINESS_POLLS'
    settings). A VPC with IPv6 is ready for its subnets only once its Amazon-provided /56 is
    associated (``ipv6_associating_seconds``, after CreateVpc returns): for such a spec that is the
    VPC's wait, in the lower bound and in the check of the poll that ended the wait."""
    ready = {name: float(getattr(defaults, name)) for *_, name in READINESS_POLLS}
    if spec.get("ipv6"):
        ready["vpc_pending_seconds"] = max(ready["vpc_pending_seconds"], float(defaults.ipv6_associating_seconds))
    return ready


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 3)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    return value


def mutating(calls: dict[str, int]) -> int:
    """Calls that change something (not Describe*/Get*/List*)."""
    return sum(n for op, n in calls.items() if not op.startswith(("Describe", "Get", "List")))


def simulate_seed_script(bench: Bench, seed: ModuleType) -> dict[str, Any]:
    """The seed script's ``build_seed_vpc`` on the same emulator under the same latency model; its
    waiters' 15 s sleeps are simulated seconds (``latency.simulated_waiter_sleeps``)."""
    from vpcfactory_tools.emulator import latency

    config, scale = bench.config, bench.config.time_scale
    bench.fresh_account(scale, config.ec2_call_seconds)
    ec2 = bench.emu.client("ec2")
    with latency.simulated_waiter_sleeps() as waits:
        started = time.time()
        seed.build_seed_vpc(ec2)
        ended = time.time()
    records = latency.calls()
    timeline = analyse_sequential(
        records, list(zip(waits.started_at, waits.sleeps, strict=True)), started, ended, scale
    )
    counts = Counter(r.operation for r in records)
    model, wait_total, latency_total = (
        timeline["modelSeconds"],
        sum(waits.sleeps),
        sum(r.simulated_seconds for r in records),
    )
    margins, extra_polls = {}, {}
    for create_op, _, poll_op, pending_field in READINESS_POLLS:
        created = [at for at, op in timeline["calls"] if op == create_op]
        polled = [at for at, op in timeline["calls"] if op == poll_op]
        margin = (polled[-1] - created[-1] - getattr(bench.defaults, pending_field)) if created and polled else None
        if margin is not None and margin < -TOLERANCE:
            # The waiter would have slept and polled again (as often as needed) in the model.
            delay = max(waits.sleeps) if waits.sleeps else 15.0
            turns = math.ceil(-margin / (delay + config.ec2_call_seconds))
            model += turns * (delay + config.ec2_call_seconds)
            wait_total += turns * delay
            latency_total += turns * config.ec2_call_seconds
            counts[poll_op] += turns
            margin += turns * (delay + config.ec2_call_seconds)
            extra_polls[create_op] = turns
        margins[create_op] = margin
    bound = lower_bound(
        bench.defaults.vpc_pending_seconds, bench.defaults.nat_pending_seconds, config.ec2_call_seconds
    )["seconds"]
    return {
        "spec": "seed_baseline.build_seed_vpc",
        "availabilityZones": 2,
        "subnets": 6,
        "natGateways": 1,
        "simulatedSeconds": round(model, 3),
        "routesReadySeconds": round(model, 3),
        "lowerBoundSeconds": bound,
        "ratio": round(model / bound, 4),
        "clockSeconds": round((ended - started) / scale, 3),
        "realSeconds": round(ended - started, 3),
        "timeScale": scale,
        "readinessMarginSeconds": {k: round_or_none(v) for k, v in margins.items()},
        "extraPolls": extra_polls,
        "criticalPath": _rounded(
            {
                "waitSeconds": wait_total,
                "waiterSleeps": len(waits.sleeps) + sum(extra_polls.values()),
                "ec2LatencySeconds": latency_total,
                "computeSeconds": timeline["computeSeconds"],
                "ec2Calls": sum(counts.values()),
            }
        ),
        "cost": {
            "stateTransitions": None,
            "lambdaInvocations": None,
            "billedGbSeconds": None,
            "ec2Calls": sum(counts.values()),
            "ec2MutatingCalls": mutating(counts),
            "ec2CallsByOperation": dict(sorted(counts.items())),
            "usd": None,
        },
    }


# -- 6: the fleet: one rollout over many accounts ---------------------------------------------------


def fleet_accounts(config: BenchConfig) -> list[str]:
    """The fleet's account ids: ``fleet_accounts`` distinct 12-digit ids from ``fleet_first_account``."""
    return [f"{config.fleet_first_account + k:012d}" for k in range(config.fleet_accounts)]


def fleet_manifest(spec: dict[str, Any], accounts: list[str], region: str) -> str:
    """A rollout manifest (JSON Lines): one line per account, the same inline spec in each."""
    return "".join(json.dumps({"accountId": account, "region": region, "spec": spec}) + "\n" for account in accounts)


def simulate_fleet(bench: Bench) -> dict[str, Any]:
    """One rollout of examples/seed.yaml to ``fleet_accounts`` accounts at ``fleet_concurrency``,
    under the latency model: its time to done (model seconds) and what it adds per account.

    A failure is a result, not an exception: a rollout that does not succeed (or a fleet that
    cannot be measured) is reported with its status, error and cause, and the run goes on."""
    config = bench.config
    accounts = fleet_accounts(config)
    fleet: dict[str, Any] = {
        "spec": "examples/seed.yaml",
        "accounts": len(accounts),
        "accountIds": f"{accounts[0]}..{accounts[-1]}" if accounts else None,
        "region": bench.emu.region,
        "maxConcurrency": config.fleet_concurrency,
        "waves": math.ceil(len(accounts) / config.fleet_concurrency),
        "timeScale": config.time_scale,
    }
    started = time.perf_counter()
    try:
        fleet.update(_run_fleet(bench, accounts))
    except BenchError as exc:
        fleet.update(status="FAILED", error=type(exc).__name__, cause=str(exc))
    except Exception as exc:  # noqa: BLE001 - the other benchmarks' figures must still be written
        log(f"WARNING: the fleet could not be measured: {traceback.format_exc()}")
        fleet.update(status="FAILED", error=type(exc).__name__, cause=str(exc))
    fleet["realSeconds"] = round(time.perf_counter() - started, 1)
    return fleet


def _run_fleet(bench: Bench, accounts: list[str]) -> dict[str, Any]:
    from moto.ec2.models import ec2_backends

    from vpcfactory_tools.emulator import distributed_map, engine_time, lambda_runtime

    config, scale, region = bench.config, bench.config.time_scale, bench.emu.region
    spec = seed_spec()
    bench.fresh_account(scale, config.ec2_call_seconds)
    alone_account = f"{config.fleet_first_account + len(accounts):012d}"  # the next id: not in the fleet
    for account in [*accounts, alone_account]:
        ec2_backends[account][region].reset()

    # One account's build, alone: what each child's build takes in model time. The fleet's own
    # builds cannot say: the emulator runs every concurrent build in this one interpreter, so each
    # of 20 at once computes ~20 times slower than alone, which AWS (a Lambda sandbox per task)
    # does not; see docs/performance.md, "Fleet rollout".
    alone = account_build(bench, spec, alone_account)

    rollout_id = unique_name("bench-fleet")
    log(f"fleet: rollout {rollout_id}, {len(accounts)} accounts at maxConcurrency {config.fleet_concurrency}")
    result = bench.emu.rollout(
        fleet_manifest(spec, accounts, region),
        rollout_id=rollout_id,
        mode="build",
        maxConcurrency=config.fleet_concurrency,
        toleratedFailurePercentage=0,
        timeout=max(1800.0, 30.0 * len(accounts)),
    )
    out: dict[str, Any] = {"status": result.status, "rolloutId": rollout_id, "accountBuild": alone}
    if result.status != "SUCCEEDED":
        out.update(error=result.error, cause=result.cause)
        return out
    items = result.output["items"]
    built_there = sum(
        1
        for item in items
        if item.get("status") == "succeeded" and item.get("vpcId") in ec2_backends[item["accountId"]][region].vpcs
    )

    records = sorted(map_run_records(bench, rollout_id), key=lambda r: (_loads(r.get("Input")) or {})["item"]["line"])
    build_runs = _build_durations(bench, rollout_id)
    child_cpu = distributed_map.children_cpu_seconds()
    children = []
    for record in records:
        if child_outcome(record) is None:
            continue
        build_arn = (_loads(record.get("Output")) or {}).get("executionArn")
        build_seconds = build_runs.get(build_arn) if isinstance(build_arn, str) else None
        if child_outcome(record) == "built" and build_seconds is None:
            raise BenchError(f"the build {build_arn} a rollout child reports is not among the build executions")
        if record.get("ExecutionArn") not in child_cpu:
            raise BenchError(f"the emulator recorded no CPU for the rollout child {record.get('ExecutionArn')}")
        children.append(
            FleetChild(
                _record_date(record["StartDate"]),
                _record_date(record["StopDate"]),
                build_seconds,
                child_cpu.get(record.get("ExecutionArn", "")),
            )
        )
    sfn = bench.emu.client("stepfunctions")
    definition = sfn.describe_state_machine(stateMachineArn=bench.emu.stack.rollout_arn)["definition"]
    timing = fleet_time(
        bench.history(result.execution_arn),
        flatten_states(json.loads(definition)),
        children,
        alone["simulatedSeconds"],
        config.fleet_concurrency,
        scale,
        event_cpu=engine_time.event_cpu(result.execution_arn),
        runs=lambda_runtime.invocations(rollout_id),
    )
    outcomes = Counter(child_outcome(r) or "notStarted" for r in records)
    child_total = sum(child_transitions(r) for r in records)
    per_account = (timing["transitions"] + child_total) / len(accounts)
    own = timing["childOwnSeconds"]
    build_real = sorted(build_runs.values())
    return {
        **out,
        "succeeded": result.output.get("succeeded"),
        "failed": result.output.get("failed"),
        "builtInTheirAccounts": built_there,
        "simulatedSeconds": round(timing["modelSeconds"], 3),
        "childrenSeconds": round(timing["childrenSeconds"], 3),
        "outsideChildrenSeconds": round(timing["outsideChildrenSeconds"], 3),
        "taskSeconds": {k: round(v, 3) for k, v in timing["taskSeconds"].items()},
        "childOwnSeconds": {"median": round(median(own), 3), "max": round(max(own), 3)} if own else None,
        "rolloutRealSeconds": round(timing["realSeconds"], 3),
        "buildRealSeconds": {
            "median": round(median(build_real), 3) if build_real else None,
            "max": round(build_real[-1], 3) if build_real else None,
            "alone": alone["realSeconds"],
        },
        "transitions": {
            "rolloutExecution": timing["transitions"],
            "childStarts": sum(1 for r in records if child_outcome(r) is not None) * CHILD_START_TRANSITIONS,
            "childStates": child_total - sum(1 for r in records if child_outcome(r) is not None),
            "childOutcomes": dict(sorted(outcomes.items())),
            "rolloutPerAccount": round(per_account, 4),
            "buildPerAccount": alone["stateTransitions"],
            "countedBy": (
                "rollout execution: its history (every *StateEntered, plus retries); children: one transition per "
                "child started plus the states of its path through the ItemProcessor, from its ResultWriter record "
                "(the emulator keeps no child history)"
            ),
        },
        "usd": {
            "rolloutPerAccount": round(per_account * PRICE_PER_TRANSITION, 8),
            "buildPerAccount": round(alone["stateTransitions"] * PRICE_PER_TRANSITION, 8),
            "price": "Step Functions Standard, us-east-1: $0.025 per 1,000 state transitions",
        },
        "rolloutLambdaInvocations": timing["lambdaInvocations"],
    }


def account_build(bench: Bench, spec: dict[str, Any], account: str) -> dict[str, Any]:
    """A build of ``spec`` into ``account`` through the role the factory assumes there, alone on the
    emulator: its time to ready in model time and its state transitions."""
    from vpcfactory_tools.emulator import engine_time, lambda_runtime, latency
    from vpcfactory_tools.execution_results import execution_name

    name = execution_name(f"bench-account-{account}")
    result = bench.emu.build({"spec": spec, "target": {"accountId": account, "region": bench.emu.region}}, name=name)
    if result.status != "SUCCEEDED":
        raise BenchError(f"the build into account {account} {result.status}: {result.error}: {result.cause}")
    pending = readiness_seconds(bench.defaults, spec)
    analysis = analyse_execution(
        bench.history(result.execution_arn),
        bench.states,
        latency.calls(name),
        bench.config.time_scale,
        pending,
        runs=lambda_runtime.invocations(name),
        event_cpu=engine_time.event_cpu(result.execution_arn),
    )
    return {
        "account": account,
        "simulatedSeconds": round(analysis["modelSeconds"], 3),
        "realSeconds": round(analysis["realSeconds"], 3),
        "stateTransitions": analysis["transitions"],
        "lambdaInvocations": analysis["lambdaInvocations"],
        "extraPolls": {k: v["extraPolls"] for k, v in analysis["corrections"].items()},
    }


def map_run_records(bench: Bench, rollout_id: str) -> list[dict[str, Any]]:
    """Every child's record, as the rollout's ResultWriter exported them to S3: the files its
    ``manifest.json`` lists (Step Functions developer guide, "ResultWriter (Map)")."""
    s3, bucket = bench.emu.client("s3"), bench.emu.stack.rollout_bucket
    prefix = f"rollouts/{rollout_id}/results/"
    keys = [
        entry["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        for entry in page.get("Contents", [])
    ]
    manifests = [key for key in keys if key.endswith("/manifest.json")]
    if len(manifests) != 1:
        raise BenchError(f"expected one ResultWriter manifest under s3://{bucket}/{prefix}, found {len(manifests)}")

    def read(key: str) -> Any:
        return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())

    return [record for files in read(manifests[0])["ResultFiles"].values() for f in files for record in read(f["Key"])]


def _build_durations(bench: Bench, rollout_id: str) -> dict[str, float]:
    """Real seconds of each build the rollout started (its executions are named after the rollout)."""
    sfn = bench.emu.client("stepfunctions")
    durations = {}
    for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=bench.emu.stack.build_arn):
        for execution in page["executions"]:
            if execution["name"].startswith(f"{rollout_id}-") and execution.get("stopDate"):
                durations[execution["executionArn"]] = (execution["stopDate"] - execution["startDate"]).total_seconds()
    return durations


def _record_date(text: str) -> float:
    """A ResultWriter record's date (``2025-02-04T01:49:50.099Z``) as a POSIX timestamp."""
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.UTC).timestamp()


def _loads(text: Any) -> Any:
    return json.loads(text) if isinstance(text, str) else text
