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
        ("AwsCallFailed", "docs/operations.md#a-build-failed"),
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


# -- issue 12: what the user gets wrong, help, and what the CLI says ---------------------------------


def test_every_region_botocore_knows_is_accepted_whatever_its_partition():
    regions = cli.known_regions()

    assert {"us-east-1", "eu-west-1", "cn-north-1", "us-gov-west-1"} <= regions
    assert "mars-1" not in regions


@pytest.mark.parametrize(
    "flag",
    [
        ["--fail-at", "CreateVpc"],
        ["--crash-after", "CreateVpc"],
        ["--throttle", "0.2"],
        ["--seed", "7"],
        ["--time-scale", "0.1"],
        ["--consistency-delay", "2"],
        ["--no-iam"],
    ],
    ids=lambda flag: flag[0],
)
def test_an_emulator_only_flag_with_a_target_is_refused_naming_it(tmp_path, capsys, monkeypatch, flag):
    monkeypatch.setattr(cli, "run_execution", lambda *a, **k: pytest.fail("started an execution"))

    code, out, err = run(["apply", write(tmp_path, GOOD), "--stack", "factory", *flag, "--json"], capsys)

    assert code == 2
    assert err.count("\n") == 1 and f"{flag[0]} works on the emulator only; with --stack it would be ignored" in err
    assert "`vpcfactory emulator`" in err
    assert json.loads(out)["field"] == flag[0]


def test_without_a_target_the_emulator_flags_take_their_defaults(tmp_path, capsys, monkeypatch):
    seen = []
    monkeypatch.setattr(cli, "run_execution", lambda args, *a: seen.append(args) or 0)

    assert run(["apply", write(tmp_path, GOOD)], capsys)[0] == 0

    args = seen[0]
    assert (args.fail_at, args.crash_after, args.throttle, args.seed) == ([], [], 0.0, 0)
    assert (args.time_scale, args.consistency_delay, args.no_iam) == (0.01, 0.0, False)


def test_status_offers_only_what_means_something_there(capsys):
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["status", "--help"])
    text = capsys.readouterr().out

    assert "--name" not in text and "--state-machine-arn" not in text
    assert "--endpoint-url" in text and "--stack" in text


@pytest.mark.parametrize(("command", "option"), [("plan", "--region"), ("diagram", "-o"), ("emulator", "--port")])
def test_every_option_has_help(command, option):
    sub = next(a for a in cli.build_parser()._actions if a.dest == "command").choices[command]
    for action in sub._actions:
        assert action.help, f"{command} {'/'.join(action.option_strings) or action.dest} has no help"
    assert any(option in a.option_strings for a in sub._actions)


def test_version_is_the_installed_package_version(capsys):
    from importlib.metadata import version

    code, out, err = run(["--version"], capsys)

    assert code == 0
    assert f"vpcfactory {version('vpcfactory')}" in out + err


def test_a_one_zone_plan_says_1_zone(tmp_path, capsys):
    one = {**GOOD, "availabilityZones": 1}

    code, out, _ = run(["plan", write(tmp_path, one)], capsys)

    assert code == 0
    assert "1 zone (" in out and "1 zones" not in out


def test_diagram_of_an_existing_file_named_like_a_vpc_draws_the_spec(tmp_path, capsys, monkeypatch):
    from vpcfactory_tools import diagram

    drawn = []
    monkeypatch.setattr(diagram, "render", lambda network, path: drawn.append(network) or path)
    spec = tmp_path / "vpc-prod.yaml"
    spec.write_text(yaml.safe_dump(GOOD))
    monkeypatch.chdir(tmp_path)

    code, out, err = run(["diagram", "vpc-prod.yaml", "-o", "prod.svg"], capsys)

    assert code == 0, err
    assert drawn[0].name == "cli-test" and out == "wrote prod.svg\n"


def test_diagram_into_a_directory_that_does_not_exist_is_refused_naming_it(tmp_path, capsys, monkeypatch):
    from vpcfactory_tools import diagram

    monkeypatch.setattr(diagram, "render", lambda *a: pytest.fail("drew into a missing directory"))

    code, _, err = run(["diagram", write(tmp_path, GOOD), "-o", str(tmp_path / "pictures" / "x.svg")], capsys)

    assert code == 2
    assert f"the directory {tmp_path / 'pictures'} does not exist" in err
    assert not (tmp_path / "pictures").exists()


def test_a_failed_result_carries_a_one_line_message_beside_its_cause():
    from vpcfactory_tools.execution_results import ExecutionResult

    cause = json.dumps(
        {
            "errorType": "AwsCallFailed",
            "errorMessage": "CreateRoute failed with InternalError: An internal error has occurred.",
            "stackTrace": ['  File "/var/task/vpcfactory/aws.py", line 274, in call\n    raise translate(...)\n'],
        }
    )
    failed = ExecutionResult("arn:aws:states:us-east-1:1:execution:m:x", "FAILED", None, "AwsCallFailed", cause)
    succeeded = ExecutionResult("arn:aws:states:us-east-1:1:execution:m:y", "SUCCEEDED", {"vpcId": "vpc-1"}, None, None)

    contract = failed.as_contract()

    assert contract["message"] == "CreateRoute failed with InternalError: An internal error has occurred."
    assert contract["cause"] == cause  # unchanged: the whole of what Step Functions said
    assert succeeded.as_contract()["message"] is None


def test_a_successful_destroy_says_what_it_destroyed():
    from types import SimpleNamespace

    result = SimpleNamespace(
        status="SUCCEEDED",
        execution_arn="arn:aws:states:us-east-1:1:execution:destroy:d-1",
        output={"vpcId": "vpc-0123456789abcdef0", "name": "prod"},
        error=None,
        cause=None,
    )
    args = cli.build_parser().parse_args(["destroy", "vpc-0123456789abcdef0", "--stack", "factory"])
    out = io.StringIO()

    assert cli.report(result, args, out) == 0
    assert "destroyed VPC vpc-0123456789abcdef0 (prod) and everything the factory built in it" in out.getvalue()
    assert " in \n" not in out.getvalue()
