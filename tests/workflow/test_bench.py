"""`make bench` end to end with tiny repetitions: every figure of issue 6 (and issue 15's fleet, 6 accounts
at concurrency 2 instead of 100 at 20) lands in the results file and in the printed tables. (The numbers of
such a run mean nothing; docs/performance.md has real ones.)"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from bench.run import SEED_BASELINE_ENV, BenchConfig, BenchError, load_seed_baseline, render, run

SCENARIO_KEYS = {
    "availabilityZones",
    "natGateways",
    "simulatedSeconds",
    "routesReadySeconds",
    "lowerBoundSeconds",
    "ratio",
    "timeScale",
    "criticalPath",
    "cost",
}
COST_KEYS = {"stateTransitions", "lambdaInvocations", "billedGbSeconds", "ec2Calls", "ec2CallsByOperation", "usd"}
GROWTH_KEYS = {"availabilityZones", "tiers", "subnets", "stateTransitions", "lambdaInvocations", "ec2Calls"}
# The seed script is given explicitly, as make bench gives it (SEED_BASELINE in the Makefile).
SEED_BASELINE = Path(
    os.environ.get(SEED_BASELINE_ENV) or Path(__file__).resolve().parents[3] / "shared" / "seed" / "seed_baseline.py"
)


def seed_script_available() -> bool:
    try:
        load_seed_baseline(SEED_BASELINE)
    except BenchError:
        return False
    return True


@pytest.mark.slow
def test_a_quick_bench_run_writes_every_figure_and_prints_every_table(tmp_path: Path) -> None:
    # Given the smallest run that still measures everything once
    config = BenchConfig.quick()
    config.growth_azs, config.growth_tiers = (1, 2), (1,)
    config.seed_baseline = SEED_BASELINE
    output = tmp_path / "results.json"

    # When
    results = run(config, output)

    # Then: 1. time to ready and 2. cost, per scenario, with the lower bound and the ratio
    written = json.loads(output.read_text())
    assert written["timeToReady"].keys() >= {"seed", "seedScript", "ha3", "ha6"}
    for name in ("seed", "ha3", "ha6"):
        scenario = written["timeToReady"][name]
        assert scenario.keys() >= SCENARIO_KEYS
        assert scenario["cost"].keys() >= COST_KEYS
        assert scenario["simulatedSeconds"] >= scenario["lowerBoundSeconds"] * 0.95
        assert scenario["cost"]["stateTransitions"] > 0 and scenario["cost"]["billedGbSeconds"] > 0
    assert written["model"]["lowerBound"]["seconds"] == pytest.approx(92.7)
    script = written["timeToReady"]["seedScript"]
    if seed_script_available():
        assert script.keys() >= SCENARIO_KEYS
        assert script["cost"]["ec2Calls"] > 0
    else:  # a clone without ../shared: the seed script's figures are left out, saying why
        assert SEED_BASELINE_ENV in script["error"]
    assert written["cost"].keys() >= {"seed", "ha3", "ha6"}
    # 3. local speed
    assert written["localSpeed"]["factorySeconds"]["median"] > 0
    if "error" not in script:
        assert written["localSpeed"]["ratio"] > 0
    # 4. cold start and size
    imports = written["coldStart"]["imports"]
    assert imports["handlers"]["vpcfactory.handlers.check_vpc"]["medianMs"] > 0
    assert imports["boto3MedianMs"] > 0
    assert written["coldStart"]["lambdaLayout"]["medianMs"] > 0
    assert written["coldStart"]["lambdaLayout"]["ratio"] > 0  # issue 16's figure: slowest handler / import boto3
    # on the functions' runtime (python3.13) when this host has one, the bench's own interpreter beside it
    lean = written["coldStart"]["lambdaLayout"]
    if written["coldStart"]["package"]["bytecode"]["python"]:
        assert lean["interpreter"] == "cpython-313" and lean["hostInterpreter"]["cpuRatio"] > 0
    else:
        assert lean["interpreter"] == sys.implementation.cache_tag and "hostInterpreter" not in lean
    assert 0 < written["coldStart"]["package"]["zippedBytes"] < written["coldStart"]["package"]["unzippedBytes"]
    # 5. growth
    assert [g["availabilityZones"] for g in written["growth"]["byAvailabilityZones"]] == [1, 2]
    assert all(g.keys() >= GROWTH_KEYS for g in written["growth"]["byAvailabilityZones"] + written["growth"]["byTiers"])
    # 6. the fleet: one rollout to 6 accounts, 2 at a time, each VPC in its own account
    fleet = written["fleet"]
    assert fleet["status"] == "SUCCEEDED", fleet.get("cause")
    assert (fleet["accounts"], fleet["maxConcurrency"], fleet["waves"]) == (6, 2, 3)
    assert fleet["succeeded"] == fleet["builtInTheirAccounts"] == 6
    assert fleet["simulatedSeconds"] >= 3 * fleet["accountBuild"]["simulatedSeconds"]
    transitions = fleet["transitions"]
    assert transitions["childOutcomes"] == {"built": 6}
    assert (transitions["childStarts"], transitions["childStates"]) == (6, 12)  # Spec Loaded?, Run Build
    assert transitions["rolloutPerAccount"] == pytest.approx((transitions["rolloutExecution"] + 18) / 6, abs=1e-3)
    assert transitions["buildPerAccount"] > transitions["rolloutPerAccount"]
    assert fleet["usd"]["rolloutPerAccount"] == pytest.approx(transitions["rolloutPerAccount"] * 0.000025, abs=1e-7)
    # the targets, and the tables
    # without the seed script: no seed-vs-script time, EC2 calls or local-speed ratio (3 of the 11)
    assert len(written["targets"]) == (11 if "error" not in script else 8)
    assert all(isinstance(t["met"], bool) for t in written["targets"])
    assert any(t["target"].startswith("fleet: 6 accounts at maxConcurrency 2") for t in written["targets"])
    table = render(results)
    for heading in (
        "Time to a ready network",
        "Cost per build",
        "Local speed",
        "Cold start",
        "Growth",
        "Fleet rollout",
        "Targets",
    ):
        assert heading in table
