"""VPC Factory benchmarks: time to a ready network, cost per build, local speed, cold start and size,
growth -- measured the same way for the factory and for the seed script, in one run.

    make bench                      # = .venv/bin/python -m bench.run --seed-baseline $(SEED_BASELINE)
    .venv/bin/python -m bench.run --quick --seed-baseline ../shared/seed/seed_baseline.py --output /tmp/results.json

Writes bench/results.json and prints the tables (Markdown) on stdout; progress goes to stderr. The
seed script's path is an argument (``--seed-baseline PATH``, else $VPCFACTORY_SEED_BASELINE): the
Makefile's ``SEED_BASELINE`` gives it (default ../shared/seed/seed_baseline.py, outside this repo).
docs/performance.md explains every figure and formula. In short:

- **Simulated time to ready** of a build on the embedded emulator under the latency model
  (:mod:`vpcfactory_tools.emulator.latency`: every EC2 call 100 ms; a VPC ``pending`` 2 s, a NAT
  gateway 90 s), all scaled by ``time_scale`` so a build takes seconds, then read back from the
  execution history in model time (:mod:`bench.model`), against the critical-path lower bound.
- **Cost per build** from the same history and the latency model's call counts.
- **Local speed**, **cold start and size**, **growth** (1-6 AZs, 1-5 tiers).
- **Fleet**: one rollout (statemachine/rollout.asl.json) of examples/seed.yaml to 100 accounts at
  maxConcurrency 20, under the same latency model: time to done in model time against
  1.05 x ceil(100/20) x the seed scenario's time to ready, and the state transitions (and their
  price) the rollout adds per account beside the build's own.

This module is the entry point: :func:`run` runs the phases in order and :func:`main` is the CLI.
What is built is in :mod:`bench.scenarios`, how it runs on the emulator in :mod:`bench.harness`,
the other measurements in :mod:`bench.measures`, the limits in :mod:`bench.targets`, the tables and
the results file in :mod:`bench.render`, the time model in :mod:`bench.model`.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from bench.common import ROOT, BenchConfig, BenchError, log
from bench.harness import Bench, simulate_build, simulate_fleet, simulate_seed_script
from bench.measures import measure_cold_start, measure_growth, measure_local_speed
from bench.model import lower_bound
from bench.render import print_report, render, write_results
from bench.scenarios import SCENARIO_ORDER, SCENARIOS, SEED_BASELINE_ENV, load_seed_baseline, seed_spec
from bench.targets import evaluate_targets

__all__ = ["SEED_BASELINE_ENV", "BenchConfig", "BenchError", "load_seed_baseline", "main", "render", "run"]

DEFAULT_OUTPUT = ROOT / "bench" / "results.json"


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

    def guarded(name: str, measure: Callable[[], Any]) -> Any:
        """A phase whose failure (a build that failed, under load or not) is its result, with the
        execution's status, error and cause: the run goes on and writes every other figure."""
        try:
            return timed(name, measure)
        except BenchError as exc:
            log(f"WARNING: {name} could not be measured: {exc}")
            return exc.as_result()

    # Cold start and size first, with no emulator running: an idle CPU for the interpreters.
    results["coldStart"] = timed("coldStart", lambda: measure_cold_start(config))
    seed: ModuleType | None = None
    try:
        seed = load_seed_baseline(config.seed_baseline)
    except BenchError as exc:
        log(f"WARNING: {exc}: the seed script's figures are left out")
        seed_error = str(exc)
    log("starting the embedded emulator")
    bench = Bench(config)
    try:
        timed("emulatorStart", bench.__enter__)
        bench.fresh_account(config.local_time_scale, 0.0)
        guarded("warmUp", lambda: bench.build(seed_spec()))  # clients, service models, first calls
        ttr: dict[str, Any] = {}
        for name in config.scenarios:
            log(f"time to ready: {name}")

            def build_scenario(scenario: str = name) -> dict[str, Any]:
                return simulate_build(bench, SCENARIOS[scenario]())

            ttr[name] = guarded(f"timeToReady.{name}", build_scenario)
        if seed is not None:
            log("time to ready: the seed script")
            ttr["seedScript"] = guarded("timeToReady.seedScript", lambda: simulate_seed_script(bench, seed))
        else:
            ttr["seedScript"] = {"error": seed_error}
        results["timeToReady"] = {k: ttr[k] for k in SCENARIO_ORDER if k in ttr}
        results["cost"] = {k: v["cost"] for k, v in results["timeToReady"].items() if "cost" in v}
        log(f"local speed: {config.local_runs} builds and seed-script runs")
        results["localSpeed"] = guarded("localSpeed", lambda: measure_local_speed(bench, seed))
        results["growth"] = guarded("growth", lambda: measure_growth(bench))
        if config.fleet_accounts:
            log(f"fleet: {config.fleet_accounts} accounts at maxConcurrency {config.fleet_concurrency} (minutes)")
            results["fleet"] = guarded("fleet", lambda: simulate_fleet(bench))
    finally:
        bench.__exit__(None, None, None)
    results["targets"] = evaluate_targets(results)
    results["runtimeSeconds"] = round(time.perf_counter() - started, 1)
    results["phaseSeconds"] = phases
    if output is not None:
        write_results(results, output)
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
    parser.add_argument("--fleet-accounts", type=int, help="accounts of the fleet rollout (default 100; 0: no fleet)")
    parser.add_argument("--fleet-concurrency", type=int, help="the fleet rollout's maxConcurrency (default 20)")
    parser.add_argument(
        "--seed-baseline",
        type=Path,
        help=f"the seed script, seed_baseline.py (default ${SEED_BASELINE_ENV}; make bench passes $(SEED_BASELINE))",
    )
    args = parser.parse_args(argv)
    if args.seed_baseline is None and not os.environ.get(SEED_BASELINE_ENV):
        parser.error(
            f"the seed script's path is required: --seed-baseline PATH (or set {SEED_BASELINE_ENV}); "
            "make bench passes SEED_BASELINE, by default ../shared/seed/seed_baseline.py"
        )
    config = BenchConfig.quick() if args.quick else BenchConfig()
    if args.time_scale:
        config.time_scale = args.time_scale
    if args.runs:
        config.local_runs = config.import_runs = args.runs
    if args.import_jobs:
        config.import_jobs = args.import_jobs
    if args.fleet_accounts is not None:
        config.fleet_accounts = args.fleet_accounts
    if args.fleet_concurrency:
        config.fleet_concurrency = args.fleet_concurrency
    config.seed_baseline = args.seed_baseline
    results = run(config, args.output)
    print_report(results, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
