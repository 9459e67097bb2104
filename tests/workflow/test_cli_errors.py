"""Everything a user can get wrong on the command line is one line on stderr and exit 2, and with
--json exactly one JSON object on stdout (the error object), never a traceback (issue 12, item 7).

One table, run as a user runs the CLI (a process per row), against `vpcfactory emulator` served on
127.0.0.1 where a row needs a target."""

from __future__ import annotations

import json
import os
import socket
import subprocess
from pathlib import Path

import boto3
import pytest
import yaml

from tests.workflow.test_cli_end_to_end import CLI, ROOT, serve_emulator

ENV = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "NO_COLOR": "1"}
ENV.pop("AWS_DEFAULT_REGION", None)
SPEC = {
    "name": "cli-errors",
    "cidr": "10.30.0.0/16",
    "availabilityZones": 2,
    "tiers": [
        {"name": "public", "type": "public", "prefixLength": 24},
        {"name": "private", "type": "private", "prefixLength": 24},
    ],
}
TAKEN = "cli-errors-taken"  # an execution name the served emulator already has
ALIAS_BOMB = (
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
    "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nname: *e\n"
)


@pytest.fixture(scope="module")
def served():
    with serve_emulator("0.002", ENV) as ready:
        # Given an execution the user's --name will collide with
        sfn = boto3.client(
            "stepfunctions",
            endpoint_url=ready["endpoint"],
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        sfn.start_execution(stateMachineArn=ready["buildStateMachineArn"], name=TAKEN, input=json.dumps(SPEC))
        yield ready


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, str]:
    """The inputs the rows name, as files."""
    root = tmp_path_factory.mktemp("cli-errors")

    def put(name: str, content: str | bytes) -> str:
        path = root / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        return str(path)

    (root / "dir.svg").mkdir()
    return {
        "good": put("good.yaml", yaml.safe_dump(SPEC)),
        "latin1": put("latin1.yaml", yaml.safe_dump(SPEC).replace("cli-errors", "caf\xe9").encode("latin-1")),
        "bomb": put("bomb.yaml", ALIAS_BOMB),
        "long-name": put("long-name.yaml", yaml.safe_dump({**SPEC, "name": "a" * 200_000})),
        "huge": put("huge.yaml", "name: x\n" + "#" * 300_000 + "\n"),
        # under 256 KiB as YAML (2 bytes an item), over it as the JSON input it becomes (5 bytes)
        "zones": put("zones.yaml", "availabilityZones: [" + ",".join(["a"] * 100_000) + "]\n"),
        "twice": put("twice.yaml", yaml.safe_dump(SPEC) + "cidr: 10.31.0.0/16\n"),
        "name-no": put("name-no.yaml", yaml.safe_dump(SPEC).replace("name: cli-errors", "name: no")),
        "empty": put("empty.yaml", ""),
        "dirsvg": str(root / "dir.svg"),
        "missing-dir": str(root / "no-such-dir" / "x.svg"),
        "missing": str(root / "missing.yaml"),
    }


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the block ends: nothing listens there


# (id, argv with {placeholders}, error name, field, words the one line says)
ROWS = [
    ("non-utf8-spec", "plan {latin1} --json", "InvalidSpec", None, "is not UTF-8"),
    ("missing-spec", "apply {missing} --json", "UsageError", "SPEC", "cannot read"),
    ("empty-spec", "plan {empty} --json", "InvalidSpec", "(spec)", "is empty"),
    (
        "unreachable-endpoint",
        "apply {good} --endpoint-url http://127.0.0.1:{closed} --json",
        "TargetUnreachable",
        "--endpoint-url",
        "cannot reach",
    ),
    (
        "endpoint-not-a-url",
        "plan {good} --endpoint-url localhost --json",
        "UsageError",
        "--endpoint-url",
        "not an http(s) URL",
    ),
    ("bad-execution-name", "apply {good} --name bad/name --json", "UsageError", "--name", "an execution name is"),
    (
        "execution-name-taken",
        "apply {good} --endpoint-url {url} --name " + TAKEN + " --json",
        "ExecutionAlreadyExists",
        "--name",
        "already exists",
    ),
    ("unwritable-output", "diagram {good} -o {dirsvg} --json", "UsageError", "-o", "cannot write"),
    ("output-in-missing-directory", "diagram {good} -o {missing-dir} --json", "UsageError", "-o", "does not exist"),
    ("unknown-region", "plan {good} --region mars-1 --json", "UsageError", "--region", "not an AWS Region"),
    ("unknown-region-in-env", "status x --endpoint-url {url} --json", "UsageError", None, "$AWS_DEFAULT_REGION"),
    ("port-out-of-range", "emulator --port 99999", None, None, "0 to 65535"),
    ("port-not-a-number", "emulator --port http", None, None, "invalid int value"),
    ("alias-bomb", "plan {bomb} --json", "InvalidSpec", None, "aliases are not accepted"),
    ("200-kb-name", "apply {long-name} --json", "InvalidSpec", "name", "(200,000 characters)"),
    ("over-256-kib", "plan {huge} --json", "InvalidSpec", None, "256 KiB"),
    ("zone-list-over-256-kib-as-json", "plan {zones} --json", "InvalidSpec", None, "256 KiB"),
    ("duplicate-key", "plan {twice} --json", "InvalidSpec", "cidr", "given twice"),
    ("yaml-boolean-name", "plan {name-no} --json", "InvalidSpec", "name", "quote the value"),
    (
        "fail-at-with-a-target",
        "apply {good} --endpoint-url {url} --fail-at CreateVpc --json",
        "UsageError",
        "--fail-at",
        "to `vpcfactory emulator`",
    ),
    (
        "time-scale-and-throttle-with-a-target",
        "apply {good} --stack factory --throttle 0.2 --time-scale 0.1 --json",
        "UsageError",
        "--throttle",
        "--throttle and --time-scale work on the emulator only",
    ),
    (
        "crash-after-with-a-target",
        "apply {good} --state-machine-arn arn:aws:states:us-east-1:1:stateMachine:m "
        "--crash-after CreateVpc --seed 3 --consistency-delay 1 --no-iam --json",
        "UsageError",
        "--crash-after",
        "--seed",
    ),
    ("destroy-a-typo", "destroy vpc-x --endpoint-url {url} --json", "UsageError", "VPC_ID", "is not a VPC id"),
    (
        "destroy-on-the-embedded-emulator",
        "destroy vpc-0123456789abcdef0 --json",
        "UsageError",
        None,
        "`vpcfactory emulator`",
    ),
    (
        "diagram-neither-file-nor-vpc",
        "diagram vpc-prod.yaml -o {dirsvg}/x.svg --json",
        "UsageError",
        "SPEC|VPC_ID",
        "neither a spec file nor a VPC id",
    ),
    (
        "status-has-no-name",
        "status x --endpoint-url {url} --name y --json",
        "UsageError",
        None,
        "unrecognized arguments: --name",
    ),
    ("status-without-a-target", "status x --json", "UsageError", None, "status needs a target"),
    (
        "time-scale-zero",
        "apply {good} --time-scale 0 --json",
        "UsageError",
        "--time-scale",
        "--time-scale must be a number",
    ),
    (
        "fail-at-not-an-ec2-operation",
        "apply {good} --fail-at CreateBuckets --json",
        "UsageError",
        "--fail-at",
        "is not an EC2 operation",
    ),
    ("missing-argument", "apply --json", "UsageError", None, "required: SPEC"),
    ("unknown-command", "frobnicate --json", "UsageError", "COMMAND", "invalid choice"),
    ("bad-number", "apply {good} --throttle lots --json", "UsageError", "--throttle", "invalid float value"),
]


@pytest.mark.parametrize(("argv", "error", "field", "says"), [r[1:] for r in ROWS], ids=[r[0] for r in ROWS])
def test_a_user_error_is_one_line_on_stderr_exit_2_and_one_json_object(served, files, argv, error, field, says):
    env = {**ENV, "AWS_DEFAULT_REGION": "mars-1"} if "$AWS_DEFAULT_REGION" in says else ENV
    args = argv.format(**files, url=served["endpoint"], closed=_closed_port()).split()
    proc = subprocess.run([*CLI, *args], cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)

    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("vpcfactory: "), proc.stderr
    assert says in lines[0]
    assert len(lines[0]) < 700  # no input is echoed whole
    if "--json" not in args:
        assert proc.stdout == ""
        return
    doc = json.loads(proc.stdout)  # the whole of stdout is one object
    assert doc == {
        "status": "FAILED",
        "executionArn": None,
        "vpcId": None,
        "output": None,
        "error": error,
        "message": doc["message"],
        "cause": doc["message"],
        "field": field,
    }
    assert doc["message"] in lines[0] and "\n" not in doc["message"]


def test_the_table_covers_every_error_the_issue_lists():
    covered = {r[0] for r in ROWS}
    assert covered >= {
        "non-utf8-spec",
        "unreachable-endpoint",
        "execution-name-taken",
        "unwritable-output",
        "unknown-region",
        "port-out-of-range",
        "alias-bomb",
        "200-kb-name",
        "over-256-kib",
        "duplicate-key",
        "fail-at-with-a-target",
        "destroy-a-typo",
        "destroy-on-the-embedded-emulator",
        "output-in-missing-directory",
        "fail-at-not-an-ec2-operation",
    }
    assert Path(__file__).name == "test_cli_errors.py"


def test_destroy_of_a_vpc_that_does_not_exist_exits_1_with_vpc_not_found_and_deletes_nothing(served):
    proc = subprocess.run(
        [*CLI, "destroy", "vpc-0123456789abcdef0", "--endpoint-url", served["endpoint"], "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env=ENV,
    )

    assert proc.returncode == 1, proc.stderr[-3000:]
    doc = json.loads(proc.stdout)
    assert (doc["status"], doc["error"]) == ("FAILED", "VpcNotFound")
    assert doc["message"] == "vpc-0123456789abcdef0 does not exist (this account, us-east-1): nothing was deleted"
    assert "Traceback" not in proc.stderr
