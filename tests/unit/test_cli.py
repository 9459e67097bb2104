"""The CLI contract (DESIGN.md): exit codes, the --json object, and that a bad spec is refused
before anything starts."""

from __future__ import annotations

import io
import json
import re
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


# -- rollout: refused before anything is uploaded or started ------------------------------------
ITEM = {"accountId": "111111111111", "region": "us-east-1", "spec": GOOD}


def manifest(tmp_path, *lines, name="fleet.jsonl"):
    path = tmp_path / name
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines))
    return str(path)


@pytest.fixture
def started(monkeypatch):
    """What `rollout` would start (the embedded emulator or a target), without starting it."""
    calls = []
    monkeypatch.setattr(cli, "rollout_embedded", lambda args, rollout, out: calls.append(("embedded", rollout)) or 0)
    monkeypatch.setattr(cli, "rollout_at_target", lambda args, rollout, out: calls.append(("target", rollout)) or 0)
    return calls


def test_rollout_of_a_bad_manifest_exits_2_naming_each_bad_line_and_starts_nothing(tmp_path, capsys, started):
    path = manifest(
        tmp_path,
        ITEM,
        {**ITEM, "accountId": "12345"},
        {**ITEM, "region": "us-east-1", "accountId": "111111111111", "spec": None, "specKey": "specs/a.json"},
        "not json",
    )

    code, out, err = run(["rollout", path], capsys)

    assert code == 2 and out == "" and started == []
    assert f"vpcfactory: invalid manifest {path}: 3 problems, nothing was started:" in err
    assert "  line 2: accountId: '12345' is not a 12-digit AWS account id" in err
    assert "  line 3: accountId and region: 111111111111 in us-east-1 is on line 1 too" in err
    assert "  line 4: not valid JSON" in err


def test_rollout_json_of_a_bad_manifest_prints_one_object_with_every_problem(tmp_path, capsys, started):
    path = manifest(tmp_path, *({**ITEM, "accountId": f"{n:011d}"} for n in range(150)))

    code, out, err = run(["rollout", path, "--json"], capsys)

    assert code == 2 and started == []
    doc = json.loads(out)  # exactly one object
    assert (doc["status"], doc["error"], doc["field"], doc["executionArn"]) == (
        "FAILED",
        "InvalidManifest",
        "MANIFEST",
        None,
    )
    assert len(doc["problems"]) == 150 and doc["problems"][0].startswith("line 1: accountId: '00000000000'")
    assert doc["message"].startswith(f"invalid manifest {path}: 150 problems, nothing was started: line 1: ")
    assert "... and 50 more (--json lists them all)" in err  # stderr lists 100


def test_rollout_of_a_csv_manifest_names_its_lines_too(tmp_path, capsys, started):
    path = tmp_path / "fleet.csv"
    path.write_text("accountId,region,specKey\n111111111111,us-east-1,specs/a.json\n111111111111,mars-1,specs/a.json\n")

    code, _, err = run(["rollout", str(path)], capsys)

    assert code == 2 and started == []
    assert "  line 3: region: 'mars-1' is not an AWS Region" in err


def test_rollout_refuses_a_region_botocore_does_not_know(tmp_path, capsys, started):
    code, out, _ = run(["rollout", manifest(tmp_path, {**ITEM, "region": "us-esat-1"}), "--json"], capsys)

    assert code == 2 and started == []
    assert json.loads(out)["problems"] == [
        "line 1: region: 'us-esat-1' is not an AWS Region (none of that name is known)"
    ]


@pytest.mark.parametrize(
    ("flags", "field"),
    [
        (["--max-concurrency", "0"], "--max-concurrency"),
        (["--max-concurrency", "1001"], "--max-concurrency"),
        (["--max-concurrency", "ten"], "--max-concurrency"),
        (["--tolerated-failure-percentage", "101"], "--tolerated-failure-percentage"),
        (["--tolerated-failure-percentage", "-1"], "--tolerated-failure-percentage"),
        (["--tolerated-failure-percentage", "nan"], "--tolerated-failure-percentage"),
        (["--rollout-id", "has spaces"], "--rollout-id"),
        (["--rollout-id", "r" * 41], "--rollout-id"),
        (["--rollout-id", ""], "--rollout-id"),
    ],
)
def test_rollout_with_a_bad_flag_exits_2_naming_it(tmp_path, capsys, started, flags, field):
    code, out, err = run(["rollout", manifest(tmp_path, ITEM), *flags, "--json"], capsys)

    assert code == 2 and started == []
    doc = json.loads(out)
    assert doc["field"] == field and doc["error"] == "UsageError"
    assert field in err


def test_rollout_of_a_manifest_that_cannot_be_read_or_is_not_utf8_names_it(tmp_path, capsys, started):
    missing = str(tmp_path / "nowhere.jsonl")
    binary = tmp_path / "fleet.csv"
    binary.write_bytes(b"accountId,region,specKey\n\xff\xfe\n")

    code, out, _ = run(["rollout", missing, "--json"], capsys)
    assert code == 2 and json.loads(out)["field"] == "MANIFEST" and json.loads(out)["error"] == "UsageError"
    code, out, _ = run(["rollout", str(binary), "--json"], capsys)
    assert code == 2 and json.loads(out)["error"] == "InvalidManifest"
    assert json.loads(out)["problems"] == [f"{binary}: not UTF-8 text (byte 25)"]
    assert started == []


def test_rollout_starts_the_embedded_emulator_with_the_manifest_and_the_input_the_state_machine_takes(
    tmp_path, capsys, started
):
    path = manifest(tmp_path, ITEM, {**ITEM, "region": "eu-west-1"})

    code, _, _ = run(
        ["rollout", path, "--audit", "--max-concurrency", "5", "--tolerated-failure-percentage", "40"], capsys
    )

    assert code == 0
    ((where, rollout),) = started
    assert where == "embedded" and rollout.accounts == 2
    assert re.fullmatch(r"rollout-\d{8}T\d{6}Z-[0-9a-f]{4}", rollout.rollout_id)
    assert rollout.key == f"manifests/{rollout.rollout_id}.jsonl"
    assert rollout.payload("the-bucket") == {
        "manifest": {"bucket": "the-bucket", "key": rollout.key},
        "mode": "audit",
        "rolloutId": rollout.rollout_id,
        "maxConcurrency": 5,
        "toleratedFailurePercentage": 40,
    }


def test_a_given_rollout_id_names_the_rollout_and_a_csv_keeps_its_suffix(tmp_path, capsys, started):
    path = tmp_path / "fleet.txt"
    path.write_text("accountId,region,specParameter\n111111111111,us-east-1,/vpcfactory/specs/a\n")

    code, _, _ = run(
        ["rollout", str(path), "--rollout-id", "fleet-2026", "--tolerated-failure-percentage", "12.5"], capsys
    )

    assert code == 0
    ((_, rollout),) = started
    assert (rollout.rollout_id, rollout.key, rollout.mode) == ("fleet-2026", "manifests/fleet-2026.csv", "build")
    assert rollout.payload("b")["toleratedFailurePercentage"] == 12.5
    assert rollout.payload("b")["maxConcurrency"] == 10


def test_rollout_offers_the_rollout_state_machine_as_its_target_and_every_option_has_help():
    sub = next(a for a in cli.build_parser()._actions if a.dest == "command").choices["rollout"]
    options = {option for action in sub._actions for option in action.option_strings}

    assert {"--audit", "--max-concurrency", "--tolerated-failure-percentage", "--rollout-id", "--json"} <= options
    assert {"--endpoint-url", "--stack", "--state-machine-arn", "--region"} <= options
    assert "--name" not in options  # the rollout id names it
    for action in sub._actions:
        assert action.help, f"rollout {'/'.join(action.option_strings) or action.dest} has no help"


def test_the_module_docstring_shows_the_rollout_usage():
    assert "vpcfactory rollout MANIFEST [--audit] [--max-concurrency N] [--tolerated-failure-percentage P]" in (
        cli.__doc__ or ""
    )
