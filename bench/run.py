"""VPC Factory benchmarks: time to a ready network, cost per build, local speed, cold start and size,
growth -- measured the same way for the factory and for the seed script, in one run.

    make bench                      # = .venv/bin/python -m bench.run
    .venv/bin/python -m bench.run --quick --output /tmp/results.json

Writes bench/results.json and prints the tables (Markdown) on stdout; progress goes to stderr.
docs/performance.md explains every figure and formula. In short:

- **Simulated time to ready** of a build on the embedded emulator under the latency model
  (:mod:`vpcfactory_tools.emulator.latency`: every EC2 call 100 ms; a VPC ``pending`` 2 s, a NAT
  gateway 90 s), all scaled by ``time_scale`` so a build takes seconds, then read back from the
  execution history in model time (:mod:`bench.model`), against the critical-path lower bound.
- **Cost per build** from the same history and the latency model's call counts.
- **Local speed**, **cold start and size**, **growth** (1-6 AZs, 1-5 tiers).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import math
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

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

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
HANDLERS = ROOT / "functions" / "vpcfactory" / "handlers"
DEFAULT_OUTPUT = ROOT / "bench" / "results.json"
SEED_BASELINE_ENV = "VPCFACTORY_SEED_BASELINE"
DEFAULT_SEED_BASELINE = ROOT.parent / "shared" / "seed" / "seed_baseline.py"

TARGET_RATIO = 1.10
TARGET_HA6_VS_HA3 = 0.05
TARGET_IMPORT_MS = 150.0
TARGET_PACKAGE_BYTES = 100 * 1024
TARGET_LOCAL_RATIO = 3.0
SEED_SCRIPT_CALLS_MEASURED = 31  # issue 6: what the seed script was measured to make

GROWTH_TIERS: tuple[dict[str, Any], ...] = (
    {"name": "public", "type": "public", "prefixLength": 24},
    {"name": "private", "type": "private", "prefixLength": 20},
    {"name": "database", "type": "isolated", "prefixLength": 24},
    {"name": "batch", "type": "private", "prefixLength": 22},
    {"name": "cache", "type": "isolated", "prefixLength": 24},
)


class BenchError(RuntimeError):
    """A benchmark could not be measured (a build failed, sam build failed, ...)."""


@dataclass
class BenchConfig:
    time_scale: float = 0.02
    """Real seconds per simulated second for the time-to-ready runs."""
    ec2_call_seconds: float = 0.1
    scenarios: tuple[str, ...] = ("seed", "seedMinimal", "ha3", "ha6")
    local_runs: int = 5
    local_time_scale: float = 0.0001
    import_runs: int = 5
    import_jobs: int = field(default_factory=lambda: 2 if (os.cpu_count() or 1) >= 4 else 1)
    """Interpreters timed at once (each is single-threaded; 2 with 4+ CPUs, so they do not compete)."""
    handlers: tuple[str, ...] | None = None
    """Handler modules to time (None: every module in functions/vpcfactory/handlers)."""
    package: bool = True
    growth_azs: tuple[int, ...] = (1, 2, 3, 4, 5, 6)
    growth_tiers: tuple[int, ...] = (1, 2, 3, 4, 5)
    growth_base_azs: int = 3
    growth_base_tiers: int = 3
    seed_baseline: Path | None = None

    @classmethod
    def quick(cls) -> BenchConfig:
        """Tiny repetitions: every figure, none of them meaningful (the smoke test)."""
        return cls(
            time_scale=0.01,
            local_runs=1,
            import_runs=1,
            handlers=("vpcfactory.handlers.check_vpc",),
            growth_azs=(1, 2),
            growth_tiers=(1, 2),
            growth_base_azs=1,
            growth_base_tiers=1,
        )


def _log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def _median(values: Iterable[float]) -> float:
    return statistics.median(list(values))


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


# -- specs -----------------------------------------------------------------------------------------


def load_example(name: str) -> dict[str, Any]:
    return yaml.safe_load((EXAMPLES / name).read_text())


def seed_spec() -> dict[str, Any]:
    """examples/seed.yaml: the seed post's network as a spec."""
    return load_example("seed.yaml")


def ha_spec(azs: int) -> dict[str, Any]:
    """examples/everything.yaml (every production feature) with a NAT gateway per AZ."""
    spec = load_example("everything.yaml")
    return {**spec, "name": f"ha{azs}", "availabilityZones": azs, "natGateways": "per-az"}


def growth_spec(azs: int, tiers: int) -> dict[str, Any]:
    """examples/production.yaml (NAT per AZ, default features) with ``azs`` zones and ``tiers`` tiers.
    One tier is the public tier alone: no tier would route through a NAT, so it has none (a spec
    asking for NATs there is refused)."""
    spec = load_example("production.yaml")
    chosen = list(GROWTH_TIERS[:tiers])
    nat = spec.get("natGateways") if any(t["type"] == "private" for t in chosen) else "none"
    return {**spec, "name": f"g{azs}az{tiers}t", "availabilityZones": azs, "tiers": chosen, "natGateways": nat}


def seed_minimal_spec() -> dict[str, Any]:
    """examples/seed.yaml with only what the seed script builds: no flow logs, gateway endpoints or
    default-SG lockdown (a like-for-like count of EC2 calls)."""
    return {
        **seed_spec(),
        "name": "seed-minimal",
        "flowLogs": False,
        "gatewayEndpoints": False,
        "lockDownDefaultSecurityGroup": False,
    }


SCENARIOS: dict[str, Callable[[], dict[str, Any]]] = {
    "seed": seed_spec,
    "seedMinimal": seed_minimal_spec,
    "ha3": lambda: ha_spec(3),
    "ha6": lambda: ha_spec(6),
}


SCENARIO_ORDER = ("seed", "seedMinimal", "seedScript", "ha3", "ha6")


def unique_name(name: str) -> str:
    return f"{name[:22]}-{uuid.uuid4().hex[:8]}"


def load_seed_baseline(path: Path | None = None) -> ModuleType:
    """The seed post's script (``build_seed_vpc(ec2)``), from ../shared/seed/seed_baseline.py or
    $VPCFACTORY_SEED_BASELINE."""
    path = Path(path or os.environ.get(SEED_BASELINE_ENV) or DEFAULT_SEED_BASELINE)
    if not path.is_file():
        raise BenchError(f"the seed script is not at {path}; set {SEED_BASELINE_ENV} to seed_baseline.py")
    module_spec = importlib.util.spec_from_file_location("seed_baseline", path)
    assert module_spec is not None and module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    if not callable(getattr(module, "build_seed_vpc", None)):
        raise BenchError(f"{path} has no build_seed_vpc(ec2)")
    return module


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
        "routesReadySeconds": _round(analysis["routesReadySeconds"]),
        "lowerBoundSeconds": bound,
        "ratio": round(analysis["modelSeconds"] / bound, 4),
        "clockSeconds": round(analysis["clockSeconds"], 3),
        "realSeconds": round(analysis["realSeconds"], 3),
        "timeScale": scale,
        "readinessMarginSeconds": {k: _round(v) for k, v in analysis["readinessMargins"].items()},
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
        "readinessMarginSeconds": {k: _round(v) for k, v in margins.items()},
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


# -- 3: local speed --------------------------------------------------------------------------------


def measure_local_speed(bench: Bench, seed: ModuleType | None) -> dict[str, Any]:
    """Wall time of a full build of examples/seed.yaml (warm process) and of the seed script, on the
    same emulator with no latency and a tiny time scale (waits cost ~nothing), interleaved; and
    where the build's time goes (medians): moto's EC2 handling, the Lambda tasks (invocation
    plumbing + handler code + their EC2 calls, summed over parallel branches), and the critical
    path split into tasks and the engine between them."""
    from vpcfactory_tools.emulator import latency

    config = bench.config
    spec = seed_spec()
    factory: list[float] = []
    script: list[float] = []
    parts: dict[str, list[float]] = defaultdict(list)
    script_parts: dict[str, list[float]] = defaultdict(list)
    for round_ in range(config.local_runs + 1):  # round 0 warms both up
        bench.fresh_account(config.local_time_scale, 0.0)
        t0 = time.perf_counter()
        result, execution = bench.build(spec)
        elapsed = time.perf_counter() - t0
        if round_:
            factory.append(elapsed)
            analysis = analyse_execution(bench.history(result.execution_arn), bench.states, [], config.local_time_scale)
            on_path = analysis["criticalPath"]
            path_tasks = sum(
                v["seconds"] for k, v in on_path["states"].items() if bench.states.get(k, {}).get("Type") == "Task"
            )
            parts["ec2Calls"].append(sum(latency.call_counts(execution).values()))
            parts["ec2DispatchSeconds"].append(latency.dispatch_seconds())
            parts["lambdaTaskSeconds"].append(sum(i.model_seconds for i in analysis["invocations"]))
            parts["criticalPathTaskSeconds"].append(path_tasks)
            parts["criticalPathEngineSeconds"].append(on_path["computeSeconds"] - path_tasks)
            parts["lambdaInvocations"].append(analysis["lambdaInvocations"])
            parts["stateTransitions"].append(analysis["transitions"])
        if seed is not None:
            bench.fresh_account(config.local_time_scale, 0.0)
            ec2 = bench.emu.client("ec2")
            with latency.simulated_waiter_sleeps():
                t0 = time.perf_counter()
                seed.build_seed_vpc(ec2)
                elapsed = time.perf_counter() - t0
            if round_:
                script.append(elapsed)
                script_parts["ec2Calls"].append(len(latency.calls()))
                script_parts["ec2DispatchSeconds"].append(latency.dispatch_seconds())
    return {
        "runs": config.local_runs,
        "timeScale": config.local_time_scale,
        "factorySeconds": _stats(factory),
        "seedScriptSeconds": _stats(script) if script else None,
        "ratio": round(_median(factory) / _median(script), 3) if script else None,
        "factoryWork": {k: round(_median(v), 4) for k, v in parts.items()},
        "seedScriptWork": {k: round(_median(v), 4) for k, v in script_parts.items()} or None,
    }


def _stats(values: Sequence[float]) -> dict[str, Any]:
    return {
        "median": round(_median(values), 4),
        "min": round(min(values), 4),
        "max": round(max(values), 4),
        "runs": [round(v, 4) for v in values],
    }


# -- 4: cold start and size ------------------------------------------------------------------------


def handler_modules() -> list[str]:
    return sorted(f"vpcfactory.handlers.{p.stem}" for p in HANDLERS.glob("*.py") if p.stem != "__init__")


def lambda_environment() -> dict[str, str]:
    """The process environment a deployed function sees, as far as imports care: the template's
    Globals environment (Powertools settings), a region, and no emulator/test switches (tracing
    is on: the template sets Tracing: Active, so Powertools imports the X-Ray SDK)."""
    from vpcfactory_tools.emulator.deploy import load_template

    template = load_template()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POWERTOOLS_", "AWS_"))}
    variables = template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    parameters = template.get("Parameters", {})
    for name, value in variables.items():
        if isinstance(value, dict) and "Ref" in value:
            value = parameters.get(value["Ref"], {}).get("Default", "")
        env[name] = str(value)
    env.update(
        {
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_LAMBDA_FUNCTION_NAME": "vpcfactory-bench",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        }
    )
    return env


def parse_importtime(stderr: str, module: str) -> tuple[float, dict[str, float]]:
    """From ``-X importtime`` output: (ms of the top-level import of ``module``, plus its parent
    packages if they were imported on their own; what the packages our code imports directly
    cost, by top-level package: name -> cumulative ms, the five largest)."""
    wanted = {".".join(module.split(".")[: k + 1]) for k in range(module.count(".") + 1)}
    total_us = 0
    entries: list[tuple[int, str, int]] = []  # (depth, module, cumulative us), in output order
    for line in stderr.splitlines():
        if not line.startswith("import time:"):
            continue
        parts = line[len("import time:") :].split("|")
        if len(parts) != 3 or not parts[1].strip().isdigit():
            continue
        name = parts[2]
        depth = (len(name) - len(name.lstrip(" ")) - 1) // 2
        entries.append((depth, name.strip(), int(parts[1])))
        if depth == 0 and name.strip() in wanted:
            total_us += int(parts[1])
    if not total_us:
        raise BenchError(f"no import time for {module} in the -X importtime output")
    # A module is printed after everything it imports: its parent is the next line one level up.
    direct: dict[str, int] = defaultdict(int)
    parents: list[tuple[int, str]] = []
    for depth, name, cumulative in reversed(entries):
        while parents and parents[-1][0] >= depth:
            parents.pop()
        root = name.split(".")[0]
        if parents and parents[-1][1].startswith("vpcfactory") and root != "vpcfactory":
            direct[root] += cumulative
        parents.append((depth, name))
    top = sorted(direct.items(), key=lambda kv: -kv[1])[:5]
    return total_us / 1000, {k: round(v / 1000, 1) for k, v in top}


def import_time(module: str, env: dict[str, str], flags: Sequence[str] = ()) -> tuple[float, dict[str, float]]:
    """One fresh interpreter: ``python -X importtime -c "import MODULE"``."""
    proc = subprocess.run(
        [sys.executable, *flags, "-X", "importtime", "-c", f"import {module}"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if proc.returncode:
        raise BenchError(f"import {module} failed: {proc.stderr.strip().splitlines()[-1:]}")
    return parse_importtime(proc.stderr, module)


def measure_imports(
    modules: Sequence[str],
    runs: int,
    jobs: int = 1,
    env: dict[str, str] | None = None,
    flags: Sequence[str] = (),
) -> dict[str, Any]:
    """Median of ``runs`` fresh-interpreter import times of each module, and of ``import boto3``
    (the floor every boto3 function pays)."""
    env = env or lambda_environment()
    work = [(m, k) for k in range(runs) for m in [*modules, "boto3"]]
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        timed = list(pool.map(lambda item: (item[0], import_time(item[0], env, flags)), work))
    by_module: dict[str, list[float]] = defaultdict(list)
    heaviest: dict[str, dict[str, float]] = {}
    for module, (ms, packages) in timed:
        by_module[module].append(ms)
        heaviest.setdefault(module, packages)
    handlers = {
        m: {"medianMs": round(_median(by_module[m]), 1), "runsMs": [round(v, 1) for v in by_module[m]]} for m in modules
    }
    slowest = max(modules, key=lambda m: handlers[m]["medianMs"])
    return {
        "runs": runs,
        "jobs": jobs,
        "python": platform.python_version(),
        "handlers": handlers,
        "maxMedianMs": handlers[slowest]["medianMs"],
        "slowest": slowest,
        "boto3MedianMs": round(_median(by_module["boto3"]), 1),
        "heaviestPackagesMs": heaviest[slowest],
    }


def sam_build(build_dir: Path, sam: Path | None = None) -> float:
    """``sam build --build-dir BUILD_DIR`` (offline: no requirements.txt); returns its seconds."""
    sam = sam or Path(sys.executable).with_name("sam")
    t0 = time.perf_counter()
    proc = subprocess.run(
        [str(sam), "build", "--build-dir", str(build_dir), "--template-file", str(ROOT / "template.yaml")],
        cwd=ROOT,
        env={**os.environ, "SAM_CLI_TELEMETRY": "0"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    if proc.returncode:
        raise BenchError(f"sam build failed: {(proc.stderr or proc.stdout).strip()[-500:]}")
    return time.perf_counter() - t0


def package_size(build_dir: Path, scratch: Path) -> dict[str, Any]:
    """One function's directory of a ``sam build``, zipped (deflate, as sam deploy uploads it)."""
    functions = sorted(d for d in build_dir.iterdir() if d.is_dir())
    sizes = {d.name: sum(f.stat().st_size for f in d.rglob("*") if f.is_file()) for d in functions}
    measured = functions[0]
    archive = scratch / "function.zip"
    files = sorted(f for f in measured.rglob("*") if f.is_file())
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in files:
            zf.write(f, f.relative_to(measured).as_posix())
    return {
        "function": measured.name,
        "functions": len(functions),
        "zippedBytes": archive.stat().st_size,
        "unzippedBytes": sizes[measured.name],
        "files": len(files),
        "sameForEveryFunction": len(set(sizes.values())) == 1,
    }


# What a deployed function can import besides its own package: boto3 from the Lambda runtime,
# Powertools and the X-Ray SDK from the Powertools layer -- and their dependencies.
LAMBDA_PROVIDED = ("boto3", "aws-lambda-powertools", "aws-xray-sdk")


def lambda_layout(target: Path) -> Path:
    """A directory holding (links to) only the packages the Lambda runtime and the Powertools
    layer provide: /opt/python, roughly. The dev venv holds ~150 more distributions (sam-cli,
    moto, awscrt, ...); some change what boto3 imports (awscrt), all slow metadata scans."""
    from importlib import metadata

    target.mkdir(parents=True, exist_ok=True)
    seen: set[str] = set()
    todo = list(LAMBDA_PROVIDED)
    while todo:
        try:
            dist = metadata.distribution(todo.pop())
        except metadata.PackageNotFoundError:
            continue
        name = dist.metadata["Name"].lower()
        if name in seen:
            continue
        seen.add(name)
        todo += [re.split(r"[ ;<>=!~\[(]", r, maxsplit=1)[0] for r in dist.requires or [] if "extra ==" not in r]
        for top in {f.parts[0] for f in dist.files or []}:
            if top.endswith((".dist-info", ".egg-info", ".pth")) or top in ("..", "__pycache__", "bin"):
                continue
            source = Path(str(dist.locate_file(top)))
            if source.exists() and not (target / top).exists():
                (target / top).symlink_to(source)
    return target


def measure_cold_start(config: BenchConfig) -> dict[str, Any]:
    """Import times in the dev venv (every handler) and in a Lambda-like layout (the slowest one:
    the sam build output as /var/task, only the runtime's and the layer's packages, ``python -S``);
    the deployment package's size."""
    modules = list(config.handlers or handler_modules())
    _log(f"import times: {len(modules)} handler modules x {config.import_runs} fresh interpreters")
    out: dict[str, Any] = {"imports": measure_imports(modules, config.import_runs, config.import_jobs)}
    if not config.package:
        return out
    with tempfile.TemporaryDirectory(prefix="vpcfactory-bench-") as tmp:
        scratch = Path(tmp)
        _log("sam build")
        seconds = sam_build(scratch / "build")
        out["package"] = {**package_size(scratch / "build", scratch), "samBuildSeconds": round(seconds, 2)}
        task = scratch / "build" / out["package"]["function"]
        env = {
            **lambda_environment(),
            "PYTHONPATH": f"{task}{os.pathsep}{lambda_layout(scratch / 'opt')}",
            "PYTHONDONTWRITEBYTECODE": "1",  # /var/task is read-only: our modules compile at every cold start
        }
        slowest = out["imports"]["slowest"]
        _log(f"import time in a Lambda-like layout: {slowest}")
        lean = measure_imports([slowest], config.import_runs, config.import_jobs, env=env, flags=("-S",))
        out["lambdaLayout"] = {
            "handler": slowest,
            "medianMs": lean["maxMedianMs"],
            "runsMs": lean["handlers"][slowest]["runsMs"],
            "boto3MedianMs": lean["boto3MedianMs"],
            "heaviestPackagesMs": lean["heaviestPackagesMs"],
        }
    return out


# -- 5: growth -------------------------------------------------------------------------------------


def measure_growth(bench: Bench) -> dict[str, Any]:
    config = bench.config
    cache: dict[tuple[int, int], dict[str, Any]] = {}

    def point(azs: int, tiers: int) -> dict[str, Any]:
        if (azs, tiers) not in cache:
            _log(f"growth: {azs} AZ x {tiers} tiers")
            run = simulate_build(bench, growth_spec(azs, tiers))
            cache[(azs, tiers)] = {
                "availabilityZones": azs,
                "tiers": tiers,
                "subnets": run["subnets"],
                "stateTransitions": run["cost"]["stateTransitions"],
                "lambdaInvocations": run["cost"]["lambdaInvocations"],
                "ec2Calls": run["cost"]["ec2Calls"],
                "simulatedSeconds": run["simulatedSeconds"],
                "ratio": run["ratio"],
                "timeScale": run["timeScale"],
                "extraPolls": run["extraPolls"],
            }
        return cache[(azs, tiers)]

    return {
        "spec": "examples/production.yaml (NAT per AZ), tiers from: "
        + ", ".join(f"{t['name']}/{t['type']}" for t in GROWTH_TIERS),
        "byAvailabilityZones": [point(a, config.growth_base_tiers) for a in config.growth_azs],
        "byTiers": [point(config.growth_base_azs, t) for t in config.growth_tiers],
    }


# -- targets ---------------------------------------------------------------------------------------


def _local_note(local: dict[str, Any]) -> str:
    ours, theirs = local["factoryWork"], local["seedScriptWork"]
    return (
        f"the build is {ours['lambdaInvocations']:.0f} Lambda invocations and {ours['stateTransitions']:.0f} state "
        f"transitions through moto plus {ours['ec2Calls']:.0f} EC2 calls (the script: {theirs['ec2Calls']:.0f}); "
        f"moto's EC2 handling {ours['ec2DispatchSeconds']:.3f} s (script {theirs['ec2DispatchSeconds']:.3f} s), "
        f"Lambda tasks {ours['lambdaTaskSeconds']:.3f} s (summed over parallel branches), engine between tasks "
        f"on the critical path {ours['criticalPathEngineSeconds']:.3f} s"
    )


def evaluate_targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Issue 6's targets: measured vs limit, met or not, and for a miss what the figures say about it."""
    ttr = results.get("timeToReady", {})
    cold = results.get("coldStart", {})
    targets: list[dict[str, Any]] = []

    def add(target: str, measured: Any, limit: Any, met: bool | None, note: str = "") -> None:
        targets.append({"target": target, "measured": measured, "limit": limit, "met": met, "note": note})

    for name in ("ha3", "ha6"):
        if name in ttr:
            run_ = ttr[name]
            path = run_["criticalPath"]
            model = results["model"]
            waited_past_ready = path["waitSeconds"] - model["vpcPendingSeconds"] - model["natPendingSeconds"]
            add(
                f"{name}: simulated time to ready <= {TARGET_RATIO:.2f} x lower bound",
                run_["ratio"],
                TARGET_RATIO,
                run_["ratio"] <= TARGET_RATIO,
                f"{run_['simulatedSeconds'] - run_['lowerBoundSeconds']:.1f} s over the bound: "
                f"{path['ec2Calls']} EC2 calls on the critical path (the bound has "
                f"{len(model['lowerBound']['criticalPathCalls'])}), {waited_past_ready:.1f} s of waiting past "
                f"VPC/NAT ready, {path['computeSeconds']:.1f} s of compute",
            )
    seed, script = ttr.get("seed"), ttr.get("seedScript")
    if seed and script and "simulatedSeconds" in script:
        add(
            "seed: simulated time to ready below the seed script's",
            seed["simulatedSeconds"],
            script["simulatedSeconds"],
            seed["simulatedSeconds"] < script["simulatedSeconds"],
        )
    if "ha3" in ttr and "ha6" in ttr:
        change = ttr["ha6"]["simulatedSeconds"] / ttr["ha3"]["simulatedSeconds"] - 1
        add(
            "ha6 within 5 % of ha3 (simulated time)",
            round(change, 4),
            TARGET_HA6_VS_HA3,
            abs(change) <= TARGET_HA6_VS_HA3,
        )
    if seed and script and "cost" in script:
        ours, theirs = seed["cost"]["ec2CallsByOperation"], script["cost"]["ec2CallsByOperation"]
        more = {op: ours.get(op, 0) - theirs.get(op, 0) for op in sorted({*ours, *theirs})}
        add(
            "seed: EC2 calls <= the seed script's",
            seed["cost"]["ec2Calls"],
            script["cost"]["ec2Calls"],
            seed["cost"]["ec2Calls"] <= script["cost"]["ec2Calls"],
            (
                f"with only the script's features (seedMinimal) {ttr['seedMinimal']['cost']['ec2Calls']}; "
                if "seedMinimal" in ttr
                else ""
            )
            + f"mutating: {seed['cost']['ec2MutatingCalls']} vs the script's {script['cost']['ec2MutatingCalls']}; "
            + f"the script makes {SEED_SCRIPT_CALLS_MEASURED} on plain moto (its waiters see everything ready "
            "at once); difference by operation: "
            + ", ".join(f"{op} {n:+d}" for op, n in sorted(more.items(), key=lambda kv: -abs(kv[1])) if n),
        )
    imports = cold.get("imports")
    if imports:
        lean = cold.get("lambdaLayout") or {}
        add(
            f"handler import <= {TARGET_IMPORT_MS:.0f} ms each (slowest median)",
            imports["maxMedianMs"],
            TARGET_IMPORT_MS,
            imports["maxMedianMs"] <= TARGET_IMPORT_MS,
            f"`import boto3` alone takes {imports['boto3MedianMs']:g} ms here; heaviest packages: "
            + ", ".join(f"{k} {v:g} ms" for k, v in imports["heaviestPackagesMs"].items())
            + (f"; {lean['medianMs']:g} ms in a Lambda-like layout" if lean else ""),
        )
    package = cold.get("package")
    if package:
        add(
            "deployment package <= 100 KB (zipped)",
            package["zippedBytes"],
            TARGET_PACKAGE_BYTES,
            package["zippedBytes"] <= TARGET_PACKAGE_BYTES,
        )
    local = results.get("localSpeed")
    if local and local.get("ratio") is not None:
        add(
            "local build of seed.yaml <= 3 x the seed script's wall time",
            local["ratio"],
            TARGET_LOCAL_RATIO,
            local["ratio"] <= TARGET_LOCAL_RATIO,
            _local_note(local) if local.get("factoryWork") and local.get("seedScriptWork") else "",
        )
    return targets


# -- the table -------------------------------------------------------------------------------------


def _table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
    def cell(v: Any) -> str:
        if v is None:
            return "—"
        if isinstance(v, float):
            return f"{v:,.3f}".rstrip("0").rstrip(".") if abs(v) < 10 else f"{v:,.1f}"
        return str(v)

    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return lines


def render(results: dict[str, Any]) -> str:
    model = results["model"]
    ttr = results.get("timeToReady", {})
    out = [
        f"### Time to a ready network (simulated seconds; EC2 call {model['ec2CallSeconds'] * 1000:.0f} ms, "
        f"VPC pending {model['vpcPendingSeconds']:g} s, NAT pending {model['natPendingSeconds']:g} s)",
        "",
    ]
    labels = {
        "seed": "seed (examples/seed.yaml)",
        "seedMinimal": "seed, the script's features only",
        "seedScript": "seed script (seed_baseline.py)",
        "ha3": "ha3 (every feature, NAT per AZ)",
        "ha6": "ha6 (every feature, NAT per AZ)",
    }
    order = [k for k in SCENARIO_ORDER if k in ttr and "simulatedSeconds" in ttr[k]]
    out += _table(
        [
            "scenario",
            "AZs",
            "NATs",
            "ready (s)",
            "routes in place (s)",
            "lower bound (s)",
            "ratio",
            "waits (s)",
            "EC2 latency (s)",
            "compute (s)",
            "EC2 calls on path",
        ],
        [
            [
                labels[k],
                ttr[k]["availabilityZones"],
                ttr[k]["natGateways"],
                ttr[k]["simulatedSeconds"],
                ttr[k]["routesReadySeconds"],
                ttr[k]["lowerBoundSeconds"],
                ttr[k]["ratio"],
                ttr[k]["criticalPath"]["waitSeconds"],
                ttr[k]["criticalPath"]["ec2LatencySeconds"],
                ttr[k]["criticalPath"]["computeSeconds"],
                ttr[k]["criticalPath"]["ec2Calls"],
            ]
            for k in order
        ],
    )
    out += ["", "### Cost per build", ""]
    out += _table(
        [
            "scenario",
            "state transitions",
            "Lambda invocations",
            "billed GB-s",
            "EC2 calls",
            "of which mutating",
            "USD (SFN + Lambda)",
        ],
        [
            [
                labels[k],
                ttr[k]["cost"]["stateTransitions"],
                ttr[k]["cost"]["lambdaInvocations"],
                ttr[k]["cost"]["billedGbSeconds"],
                ttr[k]["cost"]["ec2Calls"],
                ttr[k]["cost"]["ec2MutatingCalls"],
                None if ttr[k]["cost"]["usd"] is None else f"{ttr[k]['cost']['usd']:.5f}",
            ]
            for k in order
        ],
    )
    operations = sorted({op for k in order for op in ttr[k]["cost"]["ec2CallsByOperation"]})
    out += ["", "EC2 calls by operation:", ""]
    out += _table(
        ["operation", *[labels[k] for k in order]],
        [[op, *[ttr[k]["cost"]["ec2CallsByOperation"].get(op, 0) for k in order]] for op in operations],
    )
    local = results.get("localSpeed")
    if local:
        out += ["", f"### Local speed (wall seconds, warm process, median of {local['runs']})", ""]
        out += _table(
            ["build of examples/seed.yaml", "seed script", "ratio"],
            [[local["factorySeconds"]["median"], (local["seedScriptSeconds"] or {}).get("median"), local["ratio"]]],
        )
        if local.get("factoryWork") and local.get("seedScriptWork"):
            out += ["", "Where the time goes (medians): " + _local_note(local) + "."]
    cold = results.get("coldStart", {})
    if cold:
        imports, package = cold.get("imports"), cold.get("package")
        out += ["", "### Cold start and size", ""]
        rows = []
        if imports:
            rows.append(
                [
                    f"handler import, slowest median of {imports['runs']} (ms)",
                    imports["maxMedianMs"],
                    imports["slowest"].rsplit(".", 1)[-1],
                ]
            )
            rows.append(["`import boto3` alone (ms)", imports["boto3MedianMs"], "the floor"])
        lean = cold.get("lambdaLayout")
        if lean:
            rows.append(
                [
                    "same handler, Lambda-like layout (ms)",
                    lean["medianMs"],
                    f"only runtime + layer packages, python -S; boto3 alone {lean['boto3MedianMs']:g} ms",
                ]
            )
        if package:
            rows.append(
                [
                    "deployment package, zipped (KB)",
                    round(package["zippedBytes"] / 1024, 1),
                    f"{package['files']} files, {round(package['unzippedBytes'] / 1024, 1)} KB unzipped",
                ]
            )
        out += _table(["figure", "value", "note"], rows)
        if imports:
            out += [
                "",
                "Import time per handler (median ms): "
                + ", ".join(f"{m.rsplit('.', 1)[-1]} {v['medianMs']:g}" for m, v in imports["handlers"].items()),
            ]
    growth = results.get("growth")
    if growth:
        header = ["AZs", "tiers", "subnets", "transitions", "Lambda invocations", "EC2 calls", "ready (s)"]

        def rows(points: list[dict[str, Any]]) -> list[list[Any]]:
            keys = ("availabilityZones", "tiers", "subnets", "stateTransitions", "lambdaInvocations", "ec2Calls")
            return [[*(g[k] for k in keys), g["simulatedSeconds"]] for g in points]

        out += ["", "### Growth (examples/production.yaml, NAT per AZ): 1 to 6 AZs", ""]
        out += _table(header, rows(growth["byAvailabilityZones"]))
        out += ["", "### Growth: 1 to 5 tiers", ""]
        out += _table(header, rows(growth["byTiers"]))
    targets = results.get("targets")
    if targets:
        out += ["", "### Targets", ""]
        out += _table(
            ["target", "measured", "limit", "result", "why (missed)"],
            [
                [
                    t["target"],
                    t["measured"],
                    t["limit"],
                    "met" if t["met"] else ("not measured" if t["met"] is None else "**missed**"),
                    "" if t["met"] else t["note"],
                ]
                for t in targets
            ],
        )
    return "\n".join(out)


# -- the whole run ---------------------------------------------------------------------------------


def run(config: BenchConfig, output: Path | None = DEFAULT_OUTPUT) -> dict[str, Any]:
    """Every benchmark; writes ``output`` (unless None) and returns the results."""
    from vpcfactory_tools.emulator import latency
    from vpcfactory_tools.emulator.settings import EmulatorSettings

    started = time.perf_counter()
    defaults = EmulatorSettings()
    results: dict[str, Any] = {
        "generatedAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": "make bench",
        "environment": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "moto": _version("moto"),
        },
        "model": {
            "ec2CallSeconds": config.ec2_call_seconds,
            "vpcPendingSeconds": defaults.vpc_pending_seconds,
            "natPendingSeconds": defaults.nat_pending_seconds,
            "natDeletingSeconds": defaults.nat_deleting_seconds,
            "timeScale": config.time_scale,
            "lowerBound": lower_bound(
                defaults.vpc_pending_seconds, defaults.nat_pending_seconds, config.ec2_call_seconds
            ),
            "latencyModel": latency.__name__,
        },
    }

    phases: dict[str, float] = {}

    def timed(name: str, measure: Callable[[], Any]) -> Any:
        phase = time.perf_counter()
        try:
            return measure()
        finally:
            phases[name] = round(time.perf_counter() - phase, 1)

    # Cold start and size first, with no emulator running: an idle CPU for the interpreters.
    results["coldStart"] = timed("coldStart", lambda: measure_cold_start(config))
    seed: ModuleType | None = None
    try:
        seed = load_seed_baseline(config.seed_baseline)
    except BenchError as exc:
        _log(f"WARNING: {exc}: the seed script's figures are left out")
        seed_error = str(exc)
    _log("starting the embedded emulator")
    bench = Bench(config)
    try:
        timed("emulatorStart", bench.__enter__)
        bench.fresh_account(config.local_time_scale, 0.0)
        timed("warmUp", lambda: bench.build(seed_spec()))  # clients, service models, first calls
        ttr: dict[str, Any] = {}
        for name in config.scenarios:
            _log(f"time to ready: {name}")
            ttr[name] = timed(f"timeToReady.{name}", lambda name=name: simulate_build(bench, SCENARIOS[name]()))
        if seed is not None:
            _log("time to ready: the seed script")
            ttr["seedScript"] = timed("timeToReady.seedScript", lambda: simulate_seed_script(bench, seed))
        else:
            ttr["seedScript"] = {"error": seed_error}
        results["timeToReady"] = {k: ttr[k] for k in SCENARIO_ORDER if k in ttr}
        results["cost"] = {k: v["cost"] for k, v in results["timeToReady"].items() if "cost" in v}
        _log(f"local speed: {config.local_runs} builds and seed-script runs")
        results["localSpeed"] = timed("localSpeed", lambda: measure_local_speed(bench, seed))
        results["growth"] = timed("growth", lambda: measure_growth(bench))
    finally:
        bench.__exit__(None, None, None)
    results["targets"] = evaluate_targets(results)
    results["runtimeSeconds"] = round(time.perf_counter() - started, 1)
    results["phaseSeconds"] = phases
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(results, indent=2, default=str) + "\n")
    return results


def _version(package: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="results file (bench/results.json)")
    parser.add_argument("--quick", action="store_true", help="tiny repetitions (a smoke test, not a measurement)")
    parser.add_argument("--time-scale", type=float, help="real seconds per simulated second (default 0.02)")
    parser.add_argument("--runs", type=int, help="repetitions for local speed and import times (default 5)")
    parser.add_argument("--import-jobs", type=int, help="interpreters timed at once (default: 2 with 4+ CPUs, else 1)")
    parser.add_argument(
        "--seed-baseline", type=Path, help=f"seed_baseline.py (default ${SEED_BASELINE_ENV} or {DEFAULT_SEED_BASELINE})"
    )
    args = parser.parse_args(argv)
    config = BenchConfig.quick() if args.quick else BenchConfig()
    if args.time_scale:
        config.time_scale = args.time_scale
    if args.runs:
        config.local_runs = config.import_runs = args.runs
    if args.import_jobs:
        config.import_jobs = args.import_jobs
    config.seed_baseline = args.seed_baseline
    results = run(config, args.output)
    print(render(results))
    print(f"\n(wrote {args.output}; {results['runtimeSeconds']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
