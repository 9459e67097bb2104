"""Static checks of the CloudFormation in the repository (issue 7): cfn-lint and checkov.

Scanned: template.yaml and every CloudFormation template under examples/ (found by content:
examples/*.yaml are mostly VPC specs, which are not templates and are left to the spec tests).

checkov is pinned in requirements-dev.lock at 2.0.708, the newest release that installs next to
aws-sam-cli: 2.0.709 to 2.x pin jsonschema 3 (aws-sam-cli, cfn-lint and moto need 4), and 3.x pins
an exact, older boto3 (3.3.30: boto3==1.35.49; aws-sam-cli pins 1.43.108). The table below also
covers what checkov 3.3.30 reports on the same template (run in a separate venv), so moving the
scanner to its own environment later needs no new decisions.

Every finding is either suppressed here with its reason (SUPPRESSED: a decision about the whole
template, e.g. no customer-managed KMS key), or waits for a template change (PENDING: each names
the change; `test_..._once_the_template_changes_are_in` is xfail(strict) until then). A skip written
in template.yaml itself (`# checkov:skip=CKV_AWS_116:reason` inside the resource: the comment form
both checkov 2 and 3 read) must carry its reason.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CHECKOV = shutil.which("checkov", path=str(BIN))
CFN_LINT = shutil.which("cfn-lint", path=str(BIN))


def _short_form_loader() -> type[yaml.SafeLoader]:
    """A safe loader that reads CloudFormation short forms (!Ref, !Sub ...) as null."""

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
    return Loader


def _is_template(path: Path) -> bool:
    try:
        doc = yaml.load(path.read_text(), Loader=_short_form_loader())  # noqa: S506 - a SafeLoader
    except yaml.YAMLError:
        return False
    return isinstance(doc, dict) and isinstance(doc.get("Resources"), dict)


TEMPLATES = ["template.yaml"] + sorted(
    str(p.relative_to(ROOT)) for p in (ROOT / "examples").glob("*.y*ml") if _is_template(p)
)

# Functions Step Functions invokes synchronously (lambda:invoke, RequestResponse): a dead-letter
# queue only ever receives failed *asynchronous* invocations, so it would stay empty; a failed
# Task is caught by the state machine and ends in its rollback and failure path.
SYNCHRONOUS = [
    *("ValidateSpec", "CreateVpc", "CheckVpc", "CreateSubnets", "CreateInternetGateway"),
    *("AllocateEips", "CreateNatGateways", "CheckNatGateways", "CreateRouteTables", "ConfigureVpc"),
    *("AddNatRoutes", "VerifyNetwork", "StartTeardown", "CheckNatDeletion", "FinishTeardown"),
    *("ReportLeftovers", "ResolveVpc", "ReportSuccess", "ReportDestroyed", "ReleaseBuildLock"),
    *("PrepareRollout", "AuditNetwork", "SummarizeRollout"),  # the rollout state machine's
]

SUPPRESSED: dict[str, tuple[Any, str]] = {
    "CKV_AWS_115": (
        lambda resource: resource.startswith("AWS::Serverless::Function."),
        "Reserved concurrency per function: the functions' concurrency is bounded by the running "
        "executions (a handful of Tasks each); reserving it for every function would carve "
        "the account's unreserved pool into many small fixed pools and throttle builds.",
    ),
    "CKV_AWS_117": (
        lambda resource: resource.startswith("AWS::Serverless::Function."),
        "Lambda in a VPC: the functions call only AWS APIs (EC2, SSM, EventBridge, Step Functions, "
        "STS). Attaching them to a VPC would need a NAT gateway or interface endpoints in the "
        "factory's own account and adds no control over what they can reach.",
    ),
    "CKV_AWS_116": (
        lambda resource: resource.removeprefix("AWS::Serverless::Function.").removesuffix("Function") in SYNCHRONOUS,
        "Dead-letter queue on a function Step Functions invokes synchronously: a DLQ only "
        "receives failed asynchronous invocations; the state machine catches a failed Task.",
    ),
    "CKV_AWS_173": (
        lambda resource: resource.startswith("AWS::Serverless::Function."),
        "Environment variables encrypted with a customer-managed key: they hold state machine "
        "ARNs, a role name, an SSM parameter name and log settings, no secret; Lambda encrypts "
        "them at rest with an AWS-managed key.",
    ),
    "CKV_AWS_158": (
        lambda resource: resource.startswith("AWS::Logs::LogGroup."),
        "Log groups encrypted with a customer-managed key: CloudWatch Logs encrypts every log "
        "group at rest; the logs hold specs, resource ids and tags, no secret (the custom "
        "resource's ResponseURL is kept in an SSM SecureString and never logged). A key would "
        "add a key policy to manage for no change in who can read them (logs:GetLogEvents).",
    ),
}

# Findings that need template.yaml to change; remove an entry when the change is in.
PENDING: dict[tuple[str, str], str] = {}


@pytest.fixture(scope="module")
def checkov_results() -> dict[str, list[dict[str, Any]]]:
    if CHECKOV is None:
        pytest.skip("checkov is installed by `make` into .venv (requirements-dev.lock)")
    out: dict[str, list[dict[str, Any]]] = {"failed": [], "skipped": [], "passed": []}
    for template in TEMPLATES:
        proc = subprocess.run(
            # --no-guide and --skip-policy-download: no call to the Bridgecrew platform (offline, fast)
            [CHECKOV, "-f", template, "--framework", "cloudformation", "-o", "json"]
            + ["--no-guide", "--skip-policy-download"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert proc.returncode in (0, 1), proc.stderr[-2000:]  # 1: some check failed
        reports = json.loads(proc.stdout)
        for report in reports if isinstance(reports, list) else [reports]:
            assert report.get("summary", report).get("parsing_errors", 0) == 0, report
            results = report.get("results", {})
            for kind in out:
                out[kind].extend(results.get(f"{kind}_checks", []))
    return out


def _name(check: dict[str, Any]) -> str:
    return f"{check['check_id']} on {check['resource']} ({check.get('file_path', '')})"


def _explained(check: dict[str, Any]) -> bool:
    rule = SUPPRESSED.get(check["check_id"])
    return (rule is not None and rule[0](check["resource"])) or ((check["check_id"], check["resource"]) in PENDING)


def test_checkov_scans_every_template_and_checks_the_policies(checkov_results):
    checked = {c["check_id"] for kind in checkov_results.values() for c in kind}
    assert len(checked) >= 10
    assert {"CKV_AWS_107", "CKV_AWS_108", "CKV_AWS_109", "CKV_AWS_110", "CKV_AWS_111"} <= checked


def test_checkov_reports_no_failed_check_that_is_not_explained(checkov_results):
    unexplained = [_name(c) for c in checkov_results["failed"] if not _explained(c)]
    assert not unexplained, "\n".join(unexplained)


def _suppress_comment(check: dict[str, Any]) -> str:
    """The reason of a skip: checkov's JSON has it in check_result (older reports: at the top)."""
    return str(check.get("suppress_comment") or (check.get("check_result") or {}).get("suppress_comment") or "")


def test_every_skip_written_in_a_template_carries_its_reason(checkov_results):
    silent = [
        _name(c)
        for c in checkov_results["skipped"]
        if not _suppress_comment(c).strip() or _suppress_comment(c) == "No comment provided"
    ]
    assert not silent, "\n".join(silent)


def test_every_pending_finding_names_a_resource_that_exists():
    resources = {
        f"{body['Type']}.{logical_id}"
        for logical_id, body in yaml.load(  # noqa: S506 - a SafeLoader
            (ROOT / "template.yaml").read_text(), Loader=_short_form_loader()
        )["Resources"].items()
    }
    missing = [resource for _check, resource in PENDING if resource not in resources]
    assert not missing, f"PENDING names resources template.yaml no longer has: {missing}"


def test_checkov_reports_nothing_but_justified_suppressions_once_the_template_changes_are_in(
    checkov_results,
):
    pending = [_name(c) for c in checkov_results["failed"] if (c["check_id"], c["resource"]) in PENDING]
    assert not pending, "\n".join(pending)


@pytest.mark.skipif(CFN_LINT is None, reason="cfn-lint is installed by `make` into .venv")
@pytest.mark.parametrize("template", TEMPLATES)
def test_cfn_lint_finds_no_error_or_warning(template):
    proc = subprocess.run([CFN_LINT, "--", template], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.skipif(CFN_LINT is None, reason="cfn-lint is installed by `make` into .venv")
@pytest.mark.parametrize(
    "template",
    [t for t in TEMPLATES],
)
def test_cfn_lint_finds_nothing_even_among_its_informational_checks(template):
    proc = subprocess.run(
        [CFN_LINT, "--include-checks", "I", "--", template], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
