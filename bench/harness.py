"""Running builds on the embedded emulator under the latency model: the shared emulator session
(:class:`Bench`), one factory build (:func:`simulate_build`) and one run of the seed script
(:func:`simulate_seed_script`), each read back into time to ready and cost."""

from __future__ import annotations

import json
import logging
import math
import time
import uuid
from collections import Counter
from types import ModuleType
from typing import Any

from bench.common import BenchConfig, BenchError, round_or_none
from bench.model import (
    READINESS_POLLS,
    TOLERANCE,
    analyse_execution,
    analyse_sequential,
    flatten_states,
    lambda_cost,
    lower_bound,
    usd,
)


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

        from vpcfactory_tools.emulator import latency

        self.emu.reconfigure(self.settings(time_scale))
        ec2_backends[DEFAULT_ACCOUNT_ID][self.emu.region].reset()
        latency.reset()
        latency.configure(ec2_call_seconds=ec2_call_seconds)

    def build(self, spec: dict[str, Any]) -> tuple[Any, str]:
        from vpcfactory_tools.execution_results import execution_name

        spec = {**spec, "name": unique_name(spec["name"])}
        name = execution_name(f"bench-{spec['name']}")
        result = self.emu.build(spec, name=name)
        if result.status != "SUCCEEDED":
            raise BenchError(f"build of {spec['name']} {result.status}: {result.error}: {result.cause}")
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
    from vpcfactory_tools.emulator import latency

    config, scale = bench.config, bench.config.time_scale
    bench.fresh_account(scale, config.ec2_call_seconds)
    result, execution = bench.build(spec)
    pending = {name: getattr(bench.defaults, name) for *_, name in READINESS_POLLS}
    analysis = analyse_execution(
        bench.history(result.execution_arn), bench.states, latency.calls(execution), scale, pending
    )
    calls = Counter(latency.call_counts(execution)) + Counter(analysis["addedCalls"])
    bound = lower_bound(
        bench.defaults.vpc_pending_seconds, bench.defaults.nat_pending_seconds, config.ec2_call_seconds
    )["seconds"]
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
