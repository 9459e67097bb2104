"""`make smoke` (tools/vpcfactory_tools/smoke.py): skipped without credentials, and with them the
steps run in order and the stack is always cleaned up. The real-account run itself is the user's."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence

import pytest

from vpcfactory_tools import smoke


class FakeShell:
    """Answers each command by the step it belongs to; records the order."""

    def __init__(self, fail: str | None = None, apply_result: dict | None = None) -> None:
        self.fail = fail
        self.apply_result = apply_result or {
            "status": "SUCCEEDED",
            "vpcId": "vpc-0abc",
            "output": {"compliance": {"EC2.2": "PASSED", "EC2.6": "PASSED", "EC2.15": "PASSED"}},
        }
        self.ran: list[str] = []

    def __call__(self, command: Sequence[str]) -> subprocess.CompletedProcess[str]:
        step = self.step_of(list(command))
        self.ran.append(step)
        stdout = json.dumps(self.apply_result) if step == "apply" else "{}"
        return subprocess.CompletedProcess(list(command), 1 if step == self.fail else 0, stdout, "boom")

    @staticmethod
    def step_of(command: list[str]) -> str:
        if command[0].endswith("sam"):
            return {"build": "build", "deploy": "deploy", "delete": "delete-stack"}[command[1]]
        if command[2] == "vpcfactory_tools.bytecode":
            return "bytecode"
        return command[3]  # python -m vpcfactory_tools.cli <verb>


@pytest.fixture
def credentials(monkeypatch):
    monkeypatch.setattr(smoke, "account_of_credentials", lambda region: ("123456789012", ""))


def test_without_credentials_the_smoke_test_is_skipped_and_touches_nothing(monkeypatch):
    monkeypatch.setattr(smoke, "account_of_credentials", lambda region: (None, "no AWS credentials"))
    shell = FakeShell()

    report = smoke.smoke("dev", run=shell)

    assert (report.status, report.reason, shell.ran) == ("SKIPPED", "no AWS credentials", [])


def test_a_passing_run_deploys_builds_verifies_destroys_and_deletes_the_stack(credentials):
    shell = FakeShell()

    report = smoke.smoke("dev", run=shell)

    assert shell.ran == ["build", "bytecode", "deploy", "apply", "destroy", "delete-stack"]
    assert report.status == "PASSED" and report.vpcId == "vpc-0abc"
    assert (report.stack, report.region) == ("vpcfactory-dev", "us-east-1")


def test_a_failed_compliance_check_fails_the_run_and_still_cleans_up(credentials):
    result = {"status": "SUCCEEDED", "vpcId": "vpc-0abc", "output": {"compliance": {"EC2.6": "FAILED"}}}
    shell = FakeShell(apply_result=result)

    report = smoke.smoke("dev", run=shell)

    assert report.status == "FAILED"
    assert [s.name for s in report.steps if s.status == "FAILED"] == ["apply"]
    assert shell.ran[-2:] == ["destroy", "delete-stack"]


def test_a_failed_deploy_deletes_the_half_made_stack(credentials):
    shell = FakeShell(fail="deploy")

    report = smoke.smoke("dev", run=shell)

    assert shell.ran == ["build", "bytecode", "deploy", "delete-stack"]
    assert report.status == "FAILED" and report.steps[2].detail == "boom"


def test_an_unknown_environment_is_a_usage_error(tmp_path, capsys):
    assert smoke.main(["--env", "nope", "--report", str(tmp_path / "r.json")]) == 2
    assert "no environment 'nope'" in capsys.readouterr().err
