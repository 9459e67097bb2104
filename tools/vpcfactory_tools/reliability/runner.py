"""Reliability runs: prove that a build either finishes with a verified network or leaves the
account exactly as it found it, whatever EC2 does in between.

The runner: :func:`run` sets up one embedded emulator with its pre-existing resources and runs
the chosen kinds of cases on it; :func:`main` is ``python -m vpcfactory_tools.reliability`` (writes
the report, prints the table, exits 0 only if every case is ok).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import moto

from vpcfactory_tools.emulator import fixtures
from vpcfactory_tools.emulator.deploy import PROJECT_ROOT
from vpcfactory_tools.emulator.embedded import EmbeddedEmulator
from vpcfactory_tools.emulator.faults import CallRef, Fault
from vpcfactory_tools.emulator.settings import EmulatorSettings
from vpcfactory_tools.reliability.cases import (
    Case,
    concurrency_cases,
    crash_case,
    duplicate_case,
    duplicate_rollback_case,
    fault_case,
    rerun_case,
    storm_case,
    throttle_case,
)
from vpcfactory_tools.reliability.conditions import CONSISTENCY_DELAY, TIME_SCALE
from vpcfactory_tools.reliability.profiles import Profile, profile, rerun_points, sweep_points
from vpcfactory_tools.reliability.resources import Bystanders, create_bystanders
from vpcfactory_tools.reliability.specs import concurrency_specs, examples
from vpcfactory_tools.reliability.summary import KINDS, TITLES, report, table

REPORT = PROJECT_ROOT / "reliability" / "report.json"


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
        # What an example names but does not build (its IPAM pool, transit gateway) is made once here.
        specs, made = fixtures.provide(emu.client, examples())
        for line in made:
            log(line)
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
            for rerun in reruns:
                for mode in ("fault", "crash"):
                    add(rerun_case(emu, by_example[rerun.example], rerun, mode, bystanders))
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
