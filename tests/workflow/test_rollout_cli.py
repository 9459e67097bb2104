"""`vpcfactory rollout` as a user runs it: a manifest of three accounts on the embedded emulator, the
rollout state machine run for real (Distributed Map, builds in each account), live progress on
stderr, and exactly one JSON object on stdout: exit 0 within the tolerance, 1 past it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import load_example, unique

CLI = [sys.executable, "-m", "vpcfactory_tools.cli"]
ROOT = Path(__file__).resolve().parents[2]
ACCOUNTS = ["111111111111", "222222222222", "333333333333"]


def rollout(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*CLI, "rollout", *args, "--time-scale", "0.002"], cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )


def write_manifest(path: Path, bad: set[str]) -> str:
    """One line per account, the spec inline; the accounts in `bad` get a spec that does not validate."""
    spec = unique(load_example("seed.yaml"))
    broken = {**spec, "cidr": "10.0.0.0/33"}
    lines = [{"accountId": a, "region": "us-east-1", "spec": broken if a in bad else spec} for a in ACCOUNTS]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return str(path)


def test_a_rollout_within_its_tolerance_exits_0_with_the_report_and_past_it_exits_1(tmp_path):
    # Given three accounts, one whose spec does not validate, and 40 % of failures tolerated
    manifest = write_manifest(tmp_path / "fleet.jsonl", bad={ACCOUNTS[1]})

    done = rollout(manifest, "--json", "--tolerated-failure-percentage", "40", "--rollout-id", "fleet-cli-1")

    # Then the rollout succeeds (1 of 3 failed: 33 %), and stdout is exactly one JSON object
    assert done.returncode == 0, done.stderr[-4000:]
    doc = json.loads(done.stdout)
    assert doc["status"] == "SUCCEEDED" and doc["error"] is None
    assert (doc["rolloutId"], doc["mode"]) == ("fleet-cli-1", "build")
    assert (doc["succeeded"], doc["failed"], doc["total"]) == (2, 1, 3)
    assert doc["executionArn"].endswith(":fleet-cli-1") and ":execution:" in doc["executionArn"]
    assert doc["reportUri"].startswith("s3://") and doc["reportUri"].endswith("/rollouts/fleet-cli-1/report.json")
    items = {item["accountId"]: item for item in doc["items"]}
    assert set(items) == set(ACCOUNTS)
    for account in (ACCOUNTS[0], ACCOUNTS[2]):
        assert items[account]["status"] == "succeeded" and items[account]["vpcId"].startswith("vpc-")
        assert items[account]["region"] == "us-east-1"
    refused = items[ACCOUNTS[1]]
    assert (refused["status"], refused["error"], refused["vpcId"]) == ("failed", "InvalidSpec", None)
    assert "cidr" in refused["cause"]
    # and stderr said what happened as it happened: the counts, the failed account and why
    assert "accounts: 3 — " in done.stderr
    assert f"✗ {ACCOUNTS[1]} us-east-1 failed: InvalidSpec: " in done.stderr
    assert "== SUCCEEDED" in done.stderr

    # Given two accounts of three refused: past the 40 % tolerance
    manifest = write_manifest(tmp_path / "fleet-2.jsonl", bad={ACCOUNTS[0], ACCOUNTS[1]})

    done = rollout(manifest, "--json", "--tolerated-failure-percentage", "40")

    # Then the rollout fails (exit 1), still with its report: what failed, and the account it built
    assert done.returncode == 1, done.stderr[-4000:]
    doc = json.loads(done.stdout)
    assert doc["status"] == "FAILED" and doc["error"] == "RolloutFailed"
    assert doc["rolloutId"].startswith("rollout-")  # generated: rollout-<UTC time>-<4 hex>
    assert doc["failed"] == 2 and doc["total"] == 3
    assert doc["succeeded"] + doc["notStarted"] == 1
    assert doc["cause"] and doc["message"]
    assert {item["accountId"] for item in doc["items"] if item["status"] == "failed"} == set(ACCOUNTS[:2])


def test_a_rollout_without_json_prints_a_table_of_the_accounts(tmp_path):
    manifest = write_manifest(tmp_path / "fleet.jsonl", bad={ACCOUNTS[2]})

    done = rollout(manifest, "--tolerated-failure-percentage", "50", "--rollout-id", "fleet-cli-table")

    assert done.returncode == 0, done.stderr[-4000:]
    lines = done.stdout.splitlines()
    assert lines[0] == "SUCCEEDED: rollout fleet-cli-table (build)"
    assert lines[1] == "3 accounts: 2 succeeded, 1 failed"
    assert any(line.startswith("report: s3://") for line in lines)
    header = next(i for i, line in enumerate(lines) if line.startswith("ACCOUNT"))
    rows = [line.split() for line in lines[header + 1 :]]
    assert [(row[0], row[1], row[2]) for row in rows] == [
        (ACCOUNTS[0], "us-east-1", "succeeded"),
        (ACCOUNTS[1], "us-east-1", "succeeded"),
        (ACCOUNTS[2], "us-east-1", "failed"),
    ]
    assert rows[0][3].startswith("vpc-") and rows[2][3] == "InvalidSpec:"


def test_an_audit_of_accounts_with_no_network_says_each_is_missing(tmp_path):
    # Given a fresh emulator: none of the accounts has the network yet (every failure tolerated)
    manifest = write_manifest(tmp_path / "fleet.jsonl", bad=set())

    done = rollout(manifest, "--audit", "--json", "--tolerated-failure-percentage", "100")

    assert done.returncode == 0, done.stderr[-4000:]
    doc = json.loads(done.stdout)
    assert doc["mode"] == "audit" and doc["status"] == "SUCCEEDED"
    assert (doc["compliant"], doc["drifted"], doc["missing"], doc["total"]) == (0, 0, 3, 3)
    assert {item["status"] for item in doc["items"]} == {"missing"}
    assert "missing" in done.stderr
