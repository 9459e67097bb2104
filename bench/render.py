"""The results for people and for files: the Markdown tables printed on stdout, results.json, and the
closing line."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from bench.common import measured
from bench.scenarios import SCENARIO_ORDER
from bench.targets import TARGET_FLEET_RATIO, fleet_limit, local_note


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
    failed = {
        k: v
        for k, v in [*ttr.items(), *((k, results.get(k)) for k in ("localSpeed", "growth", "fleet"))]
        if v and not measured(v)
    }
    if failed:
        out += ["", "### Not measured (each failed; every other figure stands)", ""]
        out += _table(
            ["scenario", "status", "error", "cause"],
            [
                [k, v.get("status"), v.get("error"), " ".join(str(v.get("cause")).split())[:300]]
                for k, v in failed.items()
            ],
        )
    local = results.get("localSpeed")
    if measured(local):
        out += ["", f"### Local speed (wall seconds, warm process, median of {local['runs']})", ""]
        out += _table(
            ["build of examples/seed.yaml", "seed script", "ratio"],
            [[local["factorySeconds"]["median"], (local["seedScriptSeconds"] or {}).get("median"), local["ratio"]]],
        )
        if local.get("factoryWork") and local.get("seedScriptWork"):
            out += ["", "Where the time goes (medians): " + local_note(local) + "."]
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
            bytecode = "with" if lean.get("packageBytecode") else "without"
            on = f" on {lean['interpreter']}" if lean.get("interpreter") else ""
            rows.append(
                [
                    f"same handler, Lambda-like layout{on} (ms)",
                    lean["medianMs"],
                    f"only runtime + layer packages, python -S, package {bytecode} bytecode; boto3 alone "
                    f"{lean['boto3MedianMs']:g} ms: {lean.get('ratio', 0):g}x",
                ]
            )
            if lean.get("cpuRatio") is not None:
                rows.append(
                    [
                        "same, CPU time beyond a bare interpreter (ms)",
                        lean["cpuMedianMs"],
                        f"boto3 alone {lean['boto3CpuMedianMs']:g} ms: {lean['cpuRatio']:g}x (the target's figure)",
                    ]
                )
            host = lean.get("hostInterpreter")
            if host and host.get("cpuRatio") is not None:
                rows.append(
                    [
                        f"same layout on the bench's {host['interpreter']}, CPU time (ms)",
                        host["cpuMedianMs"],
                        f"boto3 alone {host['boto3CpuMedianMs']:g} ms: {host['cpuRatio']:g}x (not the runtime's "
                        "interpreter: for comparison)",
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
    if measured(growth):
        header = ["AZs", "tiers", "subnets", "transitions", "Lambda invocations", "EC2 calls", "ready (s)"]

        def growth_rows(points: list[dict[str, Any]]) -> list[list[Any]]:
            keys = ("availabilityZones", "tiers", "subnets", "stateTransitions", "lambdaInvocations", "ec2Calls")
            return [[*(g[k] for k in keys), g["simulatedSeconds"]] for g in points]

        out += ["", "### Growth (examples/production.yaml, NAT per AZ): 1 to 6 AZs", ""]
        out += _table(header, growth_rows(growth["byAvailabilityZones"]))
        out += ["", "### Growth: 1 to 5 tiers", ""]
        out += _table(header, growth_rows(growth["byTiers"]))
    if measured(results.get("fleet")) or "accounts" in (results.get("fleet") or {}):
        out += render_fleet(results)
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


def render_fleet(results: dict[str, Any]) -> list[str]:
    fleet = results["fleet"]
    out = [
        "",
        f"### Fleet rollout: {fleet['spec']} to {fleet['accounts']} accounts ({fleet['accountIds']}, "
        f"{fleet['region']}), maxConcurrency {fleet['maxConcurrency']} (simulated seconds)",
        "",
    ]
    if fleet.get("simulatedSeconds") is None:
        cause = " ".join(str(fleet.get("cause")).split())[:400]
        return [*out, f"The fleet {fleet.get('status')}: {fleet.get('error')}: {cause}"]
    limit = fleet_limit(results)
    seed = results.get("timeToReady", {}).get("seed") or {}
    verdict = "—" if limit is None else ("met" if fleet["simulatedSeconds"] <= limit else "**missed**")
    tasks, own, builds = fleet["taskSeconds"], fleet["childOwnSeconds"] or {}, fleet["buildRealSeconds"]
    out += _table(
        ["figure", "value", "note"],
        [
            [
                "time to done (s)",
                fleet["simulatedSeconds"],
                f"target <= {TARGET_FLEET_RATIO:.2f} x {fleet['waves']} waves x seed's "
                f"{seed.get('simulatedSeconds')} s = {limit} s: {verdict}",
            ],
            [
                "one account's build, alone, through the assumed role (s)",
                fleet["accountBuild"]["simulatedSeconds"],
                "each child's build in the schedule",
            ],
            [
                "each child's own time, median / max (s)",
                f"{own.get('median', 0):.2f} / {own.get('max', 0):.2f}",
                "Choice, StartExecution, seeing the build end (.sync:2)",
            ],
            [
                "Prepare Rollout / Summarize Rollout (s)",
                f"{tasks.get('Prepare Rollout', 0):.2f} / {tasks.get('Summarize Rollout', 0):.2f}",
                f"outside the children in all (items read, results written) {fleet['outsideChildrenSeconds']:.2f} s",
            ],
            [
                "accounts built / VPC in its own account",
                f"{fleet['succeeded']} / {fleet['builtInTheirAccounts']}",
                f"of {fleet['accounts']}",
            ],
            [
                "real time of the rollout (s)",
                fleet["rolloutRealSeconds"],
                f"{fleet['maxConcurrency']} builds at once in one interpreter: each {builds['median']} s real "
                f"(median; alone {builds['alone']} s)",
            ],
        ],
    )
    transitions, usd = fleet["transitions"], fleet["usd"]
    out += ["", "Per account (Step Functions Standard, us-east-1: $0.025 per 1,000 state transitions):", ""]
    out += _table(
        ["per account", "state transitions", "USD"],
        [
            [
                "the rollout (its execution + its child workflows)",
                transitions["rolloutPerAccount"],
                f"{usd['rolloutPerAccount']:.8f}",
            ],
            ["the build (its own execution)", transitions["buildPerAccount"], f"{usd['buildPerAccount']:.6f}"],
        ],
    )
    return out


def write_results(results: dict[str, Any], output: Path) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=2, default=str) + "\n")


def print_report(results: dict[str, Any], output: Path) -> None:
    print(render(results))
    print(f"\n(wrote {output}; {results['runtimeSeconds']} s)")
