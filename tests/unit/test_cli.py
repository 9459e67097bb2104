"""The CLI contract (DESIGN.md): exit codes, the --json object, and that a bad spec is refused
before anything starts."""

from __future__ import annotations

import io
import json
import sys

import pytest
import yaml

from vpcfactory_tools import cli

GOOD = {
    "name": "cli-test",
    "cidr": "10.1.0.0/16",
    "availabilityZones": 2,
    "natGateways": "single",
    "tiers": [
        {"name": "public", "type": "public", "prefixLength": 24},
        {"name": "private", "type": "private", "prefixLength": 24},
    ],
}

INVALID = [
    ("cidr", {"cidr": "10.1.0.1/16"}),
    ("cidr", {"cidr": "10.0.0.0/8"}),
    (
        "tiers[1].prefixLength",
        {"tiers": [GOOD["tiers"][0], {"name": "private", "type": "private", "prefixLength": 12}]},
    ),
    (
        "tiers[1].name",
        {"tiers": [GOOD["tiers"][0], {"name": "public", "type": "private", "prefixLength": 24}]},
    ),
    ("tiers[1].type", {"tiers": [GOOD["tiers"][0], {"name": "app", "type": "dmz", "prefixLength": 24}]}),
    ("natGateways", {"natGateways": "two"}),
    ("natGateways", {"tiers": [{"name": "app", "type": "private", "prefixLength": 24}]}),
    ("availabilityZones", {"availabilityZones": 0}),
    ("tags.aws:owner", {"tags": {"aws:owner": "me"}}),
    ("name", {"name": "Has Spaces"}),
]


def run(argv, capsys):
    out = io.StringIO()
    real = sys.stdout
    sys.stdout = out
    try:
        code = cli.main(argv)
    finally:
        sys.stdout = real
    return code, out.getvalue(), capsys.readouterr().err


def write(tmp_path, doc):
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(doc))
    return str(path)


@pytest.mark.parametrize(("field", "change"), INVALID, ids=[f for f, _ in INVALID])
def test_plan_of_an_invalid_spec_exits_2_naming_the_field(tmp_path, capsys, field, change):
    code, out, err = run(["plan", write(tmp_path, {**GOOD, **change})], capsys)

    assert code == 2
    assert f"invalid spec: {field}" in err
    assert out == ""


def test_apply_json_of_an_invalid_spec_prints_one_object_naming_the_field_and_starts_nothing(
    tmp_path, capsys, monkeypatch
):
    started = []
    monkeypatch.setattr(cli, "run_execution", lambda *a, **k: started.append(a) or 0)

    code, out, _ = run(["apply", write(tmp_path, {**GOOD, "cidr": "300.1.0.0/16"}), "--json"], capsys)

    assert code == 2
    assert started == []
    doc = json.loads(out)
    assert doc["status"] == "FAILED" and doc["error"] == "InvalidSpec" and doc["field"] == "cidr"
    assert doc["executionArn"] is None and doc["vpcId"] is None


def test_plan_json_prints_the_plan_as_one_json_object(tmp_path, capsys):
    code, out, _ = run(["plan", write(tmp_path, GOOD), "--json"], capsys)

    assert code == 0
    plan = json.loads(out)
    assert [s["cidr"] for s in plan["subnets"]] == [
        "10.1.0.0/24",
        "10.1.1.0/24",
        "10.1.4.0/24",
        "10.1.5.0/24",
    ]


def test_an_unreadable_spec_file_or_bad_flag_is_a_usage_error(tmp_path, capsys):
    assert run(["plan", str(tmp_path / "missing.yaml")], capsys)[0] == 2
    assert run(["apply", write(tmp_path, GOOD), "--fail-at", "CreateVpc:zero"], capsys)[0] == 2
    assert run(["destroy", "subnet-123"], capsys)[0] == 2
    assert run(["frobnicate"], capsys)[0] == 2


def test_crash_throttle_and_seed_flags_reach_the_emulator_settings(tmp_path):
    from vpcfactory_tools.emulator.faults import CallRef

    args = cli.build_parser().parse_args(
        ["apply", "spec.yaml", "--crash-after", "CreateNatGateway:2", "--throttle", "0.3", "--seed", "7"]
    )
    settings = cli.emulator_settings(args)

    assert settings.crash_after == [CallRef("CreateNatGateway", 2)]
    assert (settings.throttle, settings.seed) == (0.3, 7)
    served = cli.emulator_settings(cli.build_parser().parse_args(["emulator", "--crash-after", "CreateVpc"]))
    assert served.crash_after == [CallRef("CreateVpc", 1)]


def test_a_bad_crash_point_or_throttle_is_a_usage_error(tmp_path, capsys):
    code, _, err = run(["apply", write(tmp_path, GOOD), "--crash-after", "CreateVpc=InternalError"], capsys)
    assert code == 2 and "--crash-after" in err and "a crash takes no error code" in err
    code, _, err = run(["apply", write(tmp_path, GOOD), "--throttle", "1.5"], capsys)
    assert code == 2 and "throttle must be a fraction between 0 and 1" in err


def test_consistency_delay_reaches_the_emulator_settings_of_apply_and_the_served_emulator():
    applied = cli.emulator_settings(cli.build_parser().parse_args(["apply", "spec.yaml", "--consistency-delay", "2.5"]))
    served = cli.emulator_settings(cli.build_parser().parse_args(["emulator", "--consistency-delay", "3"]))
    default = cli.emulator_settings(cli.build_parser().parse_args(["emulator"]))

    assert (applied.consistency_delay_seconds, served.consistency_delay_seconds) == (2.5, 3.0)
    assert default.consistency_delay_seconds == 0.0


@pytest.mark.parametrize("value", ["-1", "nan", "inf", "soon"])
def test_a_bad_consistency_delay_is_a_usage_error(tmp_path, capsys, value):
    code, _, err = run(["apply", write(tmp_path, GOOD), f"--consistency-delay={value}"], capsys)

    assert code == 2 and "--consistency-delay" in err


def test_apply_allow_replace_asks_the_build_for_a_replacement(tmp_path, capsys, monkeypatch):
    sent = []
    monkeypatch.setattr(cli, "run_execution", lambda args, which, payload, prefix, out: sent.append(payload) or 0)

    code, _, _ = run(["apply", write(tmp_path, GOOD), "--allow-replace"], capsys)

    assert code == 0
    assert sent == [{"spec": GOOD, "allowReplace": True}]


@pytest.mark.parametrize(
    ("error", "section"),
    [
        ("Ec2CallFailed", "docs/operations.md#a-build-failed"),
        ("RollbackIncomplete", "docs/operations.md#a-rollback-or-destroy-could-not-finish"),
        ("ReplacementRequired", "docs/operations.md#day-2-growth"),
    ],
)
def test_a_failed_execution_points_to_the_runbook_section_for_its_error(error, section):
    from types import SimpleNamespace

    result = SimpleNamespace(
        status="FAILED",
        error=error,
        cause="{}",
        execution_arn="arn:aws:states:us-east-1:1:execution:m:run-1",
        output=None,
    )
    args = cli.build_parser().parse_args(["destroy", "vpc-1", "--stack", "factory"])
    out = io.StringIO()

    code = cli.report(result, args, out)

    assert code == 1
    assert f"what to do next: {section}" in out.getvalue()
    assert "vpcfactory status arn:aws:states:us-east-1:1:execution:m:run-1 --stack factory" in out.getvalue()


def test_an_invalid_spec_says_nothing_was_created_and_where_the_format_is(tmp_path, capsys):
    code, _, err = run(["plan", write(tmp_path, {**GOOD, "cidr": "10.0.0.0/8"})], capsys)

    assert code == 2
    assert "nothing was created; the spec format is in README.md#the-spec" in err
