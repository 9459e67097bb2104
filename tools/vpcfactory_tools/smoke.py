"""`make smoke ENV=dev`: what only a real account can prove, proved with the user's credentials.

Deploys the stack (`sam build`, the runtime's bytecode, `sam deploy --config-env ENV`: the steps of
`make deploy`), builds `examples/seed.yaml` through it, checks the build verified (status SUCCEEDED,
every Security Hub control in its compliance summary PASSED), destroys the VPC, deletes the stack,
and writes a JSON report (`smoke/report.json` by default) with each step, its duration and outcome.

Without AWS credentials it does nothing but say so: the report's status is SKIPPED and it exits 0,
so `make smoke` is safe anywhere. Cleanup always runs: a failed build or verify still destroys
what it can and deletes the stack (`--keep-stack` keeps the stack for a look).

Exit codes: 0 passed or skipped, 1 a step failed, 2 usage.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "examples" / "seed.yaml"
REPORT = ROOT / "smoke" / "report.json"

Runner = Callable[[Sequence[str]], "subprocess.CompletedProcess[str]"]


@dataclass
class Step:
    name: str
    command: list[str]
    status: str = "NOT_RUN"  # PASSED | FAILED | NOT_RUN
    seconds: float = 0.0
    detail: Any = None


@dataclass
class Report:
    env: str
    stack: str
    region: str
    status: str = "RUNNING"  # PASSED | FAILED | SKIPPED
    reason: str | None = None
    account: str | None = None
    vpcId: str | None = None
    steps: list[Step] = field(default_factory=list)


def run_process(command: Sequence[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(command), cwd=ROOT, capture_output=True, text=True, check=False)


def deploy_settings(env: str, samconfig: Path = ROOT / "samconfig.toml") -> tuple[str, str]:
    """(stack name, region) of a samconfig environment."""
    config = tomllib.loads(samconfig.read_text())
    if env not in config:
        raise ValueError(f"samconfig.toml has no environment {env!r} (has: {', '.join(sorted(config))})")
    default = config.get("default", {})
    stack = config[env].get("global", {}).get("parameters", {}).get("stack_name") or default.get("global", {}).get(
        "parameters", {}
    ).get("stack_name")
    region = config[env].get("deploy", {}).get("parameters", {}).get("region") or "us-east-1"
    return str(stack), str(region)


def account_of_credentials(region: str) -> tuple[str | None, str]:
    """The account the credentials in this environment belong to, or (None, why not)."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    session = boto3.session.Session(region_name=region)
    if session.get_credentials() is None:
        return None, "no AWS credentials in this environment (profile, variables or instance role)"
    try:
        return session.client("sts").get_caller_identity()["Account"], ""
    except (BotoCoreError, ClientError) as exc:
        return None, f"the AWS credentials in this environment do not work: {exc}"


def _step(report: Report, name: str, command: list[str], run: Runner) -> subprocess.CompletedProcess[str]:
    step = Step(name, command)
    report.steps.append(step)
    started = time.monotonic()
    done = run(command)
    step.seconds = round(time.monotonic() - started, 1)
    step.status = "PASSED" if done.returncode == 0 else "FAILED"
    if done.returncode != 0:
        step.detail = (done.stderr or done.stdout or "")[-2000:]
    return done


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "vpcfactory_tools.cli", *args]


def smoke(env: str, *, run: Runner = run_process, keep_stack: bool = False, spec: Path = SPEC) -> Report:
    stack, region = deploy_settings(env)
    report = Report(env=env, stack=stack, region=region)
    account, why_not = account_of_credentials(region)
    if account is None:
        report.status, report.reason = "SKIPPED", why_not
        return report
    report.account = account
    sam = str(Path(sys.executable).with_name("sam"))
    try:
        if _step(report, "build", [sam, "build"], run).returncode:
            return report
        if _step(report, "bytecode", [sys.executable, "-m", "vpcfactory_tools.bytecode"], run).returncode:
            return report
        deploy = [sam, "deploy", "--config-env", env, "--no-confirm-changeset", "--no-fail-on-empty-changeset"]
        if _step(report, "deploy", deploy, run).returncode:
            return report
        applied = _step(report, "apply", _cli("apply", str(spec), "--stack", stack, "--region", region, "--json"), run)
        result = _json(applied.stdout)
        report.vpcId = result.get("vpcId")
        verify = report.steps[-1]
        compliance = (result.get("output") or {}).get("compliance") or {}
        verify.detail = {"status": result.get("status"), "error": result.get("error"), "compliance": compliance}
        if result.get("status") != "SUCCEEDED" or any(v != "PASSED" for v in compliance.values()) or not compliance:
            verify.status = "FAILED"
    finally:
        if report.vpcId:
            _step(report, "destroy", _cli("destroy", report.vpcId, "--stack", stack, "--region", region, "--json"), run)
        if not keep_stack and any(s.name == "deploy" for s in report.steps):
            _step(
                report, "delete-stack", [sam, "delete", "--stack-name", stack, "--region", region, "--no-prompts"], run
            )
        report.status = "PASSED" if all(s.status == "PASSED" for s in report.steps) else "FAILED"
    return report


def _json(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make smoke", description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", default="dev", help="samconfig.toml environment (default dev)")
    parser.add_argument("--report", type=Path, default=REPORT, help=f"where to write the report (default {REPORT})")
    parser.add_argument("--keep-stack", action="store_true", help="do not delete the stack at the end")
    args = parser.parse_args(argv)
    try:
        report = smoke(args.env, keep_stack=args.keep_stack)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(json.dumps(asdict(report), indent=2) + "\n")
    for step in report.steps:
        print(f"{step.status:8} {step.name} ({step.seconds}s)", file=sys.stderr)
    print(
        f"smoke test {report.status}{': ' + report.reason if report.reason else ''} -> {args.report}", file=sys.stderr
    )
    return 0 if report.status in ("PASSED", "SKIPPED") else 1


if __name__ == "__main__":
    sys.exit(main())
