"""Every command the docs show is run (issue 12, item 12).

The runbook's "find a build's resources by tag" loop once passed `--filters` to
`describe-nat-gateways` (the CLI wants `--filter`) and hid the error. So each `aws` and
`vpcfactory` command in a shell code block of README.md and docs/*.md (and each `aws` command
written inline) is taken from the docs as they are now and run as a user would: against
`vpcfactory emulator` served on 127.0.0.1, after a real build, with the docs' placeholders
(execution names and ARNs, VPC ids, buckets, the spec file) replaced by that build's values. It must
exit 0 (or the code its comment announces, "exits 1"); an `aws` command must pass the AWS CLI's own
parameter validation and answer without an error.

A command that is not run is in NOT_RUN with the reason, and shows up as skipped (`pytest -ra`);
an `aws` command among them is still checked against the CLI's parameter validation. A doc command
that is neither run nor listed fails, and so does a NOT_RUN entry no doc shows any more.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from tests.conftest import load_example, unique
from tests.workflow.test_cli_end_to_end import ROOT, serve_emulator

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BIN = ROOT / ".venv" / "bin"
SHELL_BLOCKS = {"", "bash", "sh", "shell", "console"}
RUN = ("aws", "vpcfactory", ".venv/bin/vpcfactory")
LONG_WAIT = {"Type": "Wait", "Seconds": 10**6}

# Doc commands this test does not run, by how they begin, and why. Exact: an entry that matches no
# doc command fails the test.
NOT_RUN: dict[str, str] = {
    "make run": "builds examples/production.yaml on the embedded emulator: `vpcfactory apply` is run here",
    "make test": "the test suite this test is part of",
    "make test-fast": "the test suite this test is part of, without the slow sweeps",
    "make test-unit": "the pure unit tests of this suite (tests/unit)",
    "make lint": "ruff and mypy over the repository (tests/contract/test_lint.py)",
    "make reliability": "the fault/crash/throttle sweep, minutes long (tests/workflow/test_reliability.py)",
    "make bench": "the benchmarks, minutes long (tests/workflow/test_bench.py)",
    "make build": "sam build: packages the Lambda code for a deployment to AWS",
    "make deploy": "deploys the stack to an AWS account (sam deploy): needs real AWS",
    "make smoke": "builds and destroys through a stack deployed in an AWS account: needs real AWS",
    "sam deploy": "deploys the stack to an AWS account: needs real AWS",
    ".venv/bin/python -m vpcfactory_tools.reliability": "the reliability sweep, minutes long (make reliability)",
    ".venv/bin/vpcfactory emulator": "starts the emulator this test already serves on a free port",
    "vpcfactory rollout fleet.jsonl": (
        "the README's fleet examples (a manifest of other accounts): the rollout CLI is run end to end "
        "by tests/workflow/test_rollout_cli.py, the state machine by tests/workflow/test_rollout.py"
    ),
    "aws stepfunctions redrive-execution": (
        "the emulator has no RedriveExecution (moto 5.2.5 answers 500): its parameters are checked by the AWS CLI"
    ),
}


@dataclass(frozen=True)
class DocCommand:
    where: str  # file:line
    text: str  # the command (continuations joined, comment removed)
    comment: str = ""
    preamble: str = ""  # the block's shell variable assignments before it

    @property
    def words(self) -> list[str]:
        return self.text.split()

    @property
    def runs(self) -> bool:
        """An aws or vpcfactory command (or a shell loop around them): what this test runs."""
        lines = self.text.splitlines()
        if self.words[0] in ("for", "while"):
            return any(line.strip().startswith(RUN) for line in lines[1:])
        return self.words[0] in RUN

    @property
    def expected_exit(self) -> int:
        match = re.search(r"\bexits (\d+)", self.comment)
        return int(match.group(1)) if match else 0


# -- reading the docs ---------------------------------------------------------------------------
def _split_comment(line: str) -> tuple[str, str]:
    """A shell line without its trailing `# comment` (a `#` inside quotes is not one)."""
    quote = None
    for i, char in enumerate(line):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip(), line[i + 1 :].strip()
    return line.rstrip(), ""


def _ends_in_quote(text: str) -> bool:
    quote = None
    for char in text:
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
    return quote is not None


def _logical_lines(body: str, first_line: int) -> list[tuple[int, str, str]]:
    """(line number, command, comment): backslash continuations and quotes open across lines joined."""
    out: list[tuple[int, str, str]] = []
    pending: tuple[int, str, str] | None = None
    for offset, raw in enumerate(body.splitlines()):
        if pending and _ends_in_quote(pending[1]):  # inside a quoted string: the line is its text
            start, so_far, note = pending
            text, comment, number = f"{so_far}\n{raw}", note, start
        else:
            text, comment = _split_comment(raw)
            if pending:
                start, so_far, note = pending
                text, comment = f"{so_far} {text.strip()}", " ".join(filter(None, (note, comment)))
                number = start
            else:
                number = first_line + offset
        if text.endswith("\\") and not _ends_in_quote(text):
            pending = (number, text[:-1].rstrip(), comment)
            continue
        if _ends_in_quote(text):
            pending = (number, text, comment)
            continue
        pending = None
        if text.strip() or comment:
            out.append((number, text.strip(), comment))
    return out


def _block_commands(path: Path, first_line: int, body: str, lang: str) -> list[DocCommand]:
    lines = _logical_lines(body, first_line)
    prompted = any(text.startswith("$ ") for _, text, _ in lines)
    commands: list[DocCommand] = []
    assignments: list[str] = []
    loop: list[tuple[int, str]] = []
    for number, text, comment in lines:
        where = f"{path.relative_to(ROOT)}:{number}"
        if prompted:
            if text.startswith("$ "):
                commands.append(DocCommand(where, text[2:].strip(), comment))
            continue
        if not text:
            continue
        if loop or text.startswith(("for ", "while ")):
            loop.append((number, text))
            if text == "done" or text.endswith("; done"):
                start = f"{path.relative_to(ROOT)}:{loop[0][0]}"
                commands.append(DocCommand(start, "\n".join(t for _, t in loop), "", "\n".join(assignments)))
                loop = []
            continue
        if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=\S*", text):
            assignments.append(text)
            continue
        if lang in SHELL_BLOCKS - {""} or text.startswith(RUN):
            commands.append(DocCommand(where, text, comment, "\n".join(assignments)))
    return commands


def doc_commands() -> list[DocCommand]:
    """Every command of the docs' shell code blocks, and every inline `aws ...` command."""
    found: list[DocCommand] = []
    for path in DOCS:
        text = path.read_text()
        fences = list(re.finditer(r"^```([^\n]*)\n(.*?)^```", text, re.S | re.M))
        for fence in fences:
            lang = fence.group(1).strip()
            if lang in SHELL_BLOCKS:
                first_line = text[: fence.start()].count("\n") + 2
                found += _block_commands(path, first_line, fence.group(2), lang)
        prose = text
        for fence in reversed(fences):  # keep line numbers: blank the blocks out
            prose = prose[: fence.start()] + re.sub(r"[^\n]", " ", fence.group(0)) + prose[fence.end() :]
        for span in re.finditer(r"`(aws [^`]+ --[^`]+)`", prose):  # a command, not a mention
            line = prose[: span.start()].count("\n") + 1
            found.append(DocCommand(f"{path.relative_to(ROOT)}:{line}", " ".join(span.group(1).split())))
    return found


def is_synopsis(command: DocCommand) -> bool:
    """A usage line (`vpcfactory plan SPEC [--json] ...`), not a command to run."""
    return command.words[0] in RUN and bool(re.search(r"\s\[(--|[A-Z])", command.text))


def not_run_reason(command: DocCommand) -> str | None:
    if is_synopsis(command):
        return "a usage synopsis: each form is run by the CLI's own tests"
    for prefix, reason in NOT_RUN.items():
        if command.text == prefix or command.text.startswith(prefix + " "):
            return reason
    return None


COMMANDS = doc_commands()


# -- the target: a served emulator with a real build in it --------------------------------------
@dataclass
class Docs:
    workdir: Path
    env: dict[str, str]
    substitutions: list[tuple[str, str]]


STACK_TEMPLATE = {
    "Resources": {"Handle": {"Type": "AWS::SQS::Queue"}},
    "Outputs": {
        "BuildStateMachineArn": {"Value": "{build}"},
        "DestroyStateMachineArn": {"Value": "{destroy}"},
    },
}


@pytest.fixture(scope="module")
def docs(tmp_path_factory: pytest.TempPathFactory) -> Any:
    assert (BIN / "aws").exists(), "the AWS CLI is pinned in requirements-dev.lock (awscli): make venv"
    workdir = tmp_path_factory.mktemp("docs")
    for name in ("examples", ".venv"):  # the docs' relative paths, from a directory of their own
        (workdir / name).symlink_to(ROOT / name)
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "NO_COLOR": "1",
    }
    with serve_emulator("0.002", env) as ready:
        endpoint = ready["endpoint"]
        env["AWS_ENDPOINT_URL"] = endpoint  # what `--stack` and plain `aws` commands reach
        client = boto3.session.Session(region_name="us-east-1").client

        # Given a spec built for real (the spec file the docs call spec.yaml / spec.json)
        spec = unique(load_example("seed.yaml"))
        (workdir / "spec.yaml").write_text(yaml.safe_dump(spec))
        (workdir / "spec.json").write_text(json.dumps(spec))
        built = subprocess.run(
            [str(BIN / "vpcfactory"), "apply", "spec.yaml", "--json", "--endpoint-url", endpoint],
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert built.returncode == 0, built.stderr[-3000:]
        result = json.loads(built.stdout)
        execution_arn, vpc_id = result["executionArn"], result["vpcId"]

        # and what a deployment would have: the stack whose outputs `--stack` reads, a bucket
        cfn = client("cloudformation", endpoint_url=endpoint)
        template = json.dumps(STACK_TEMPLATE).replace("{build}", ready["buildStateMachineArn"])
        template = template.replace("{destroy}", ready["destroyStateMachineArn"])
        for stack in ("vpcfactory", "vpcfactory-dev"):
            cfn.create_stack(StackName=stack, TemplateBody=template)
        bucket = f"vpcfactory-docs-{uuid.uuid4().hex[:8]}"
        client("s3", endpoint_url=endpoint).create_bucket(Bucket=bucket)
        (workdir / "policy.json").write_text(json.dumps(flow_log_bucket_policy(bucket)))

        # and a run still going, for the runbook's stop-execution
        sfn = client("stepfunctions", endpoint_url=endpoint)
        hold = sfn.create_state_machine(
            name="docs-hold",
            definition=json.dumps({"StartAt": "Wait", "States": {"Wait": {**LONG_WAIT, "End": True}}}),
            roleArn="arn:aws:iam::123456789012:role/docs-hold",
        )["stateMachineArn"]
        running = sfn.start_execution(stateMachineArn=hold, name="docs-hold")["executionArn"]

        execution = execution_arn.rsplit(":", 1)[-1]
        escaped_spec = json.dumps(spec).replace('"', '\\"')
        substitutions = [
            ("http://127.0.0.1:5000", endpoint),
            ("--endpoint-url ...", f"--endpoint-url {endpoint}"),
            ("<buildStateMachineArn>", ready["buildStateMachineArn"]),
            ("<execution name>", execution),
            ("<execution>", execution),
            ("<arn>", execution_arn),
            ("<vpc id>", vpc_id),
            ("vpc-0abc...", vpc_id),
            ('\\"spec\\": {...}', f'\\"spec\\": {escaped_spec}'),
            (r"re:\bbuild-team-a-\d{8}T\d{6}-[0-9a-f]{8}\b", execution),
            (r"re:\bARN\b", running),
            (r"re:\bBUCKET\b", bucket),
            (r"re:\bVPC_ID\b", vpc_id),
        ]
        yield Docs(workdir, env, substitutions)


def flow_log_bucket_policy(bucket: str) -> dict[str, Any]:
    """The README's flow-log bucket policy for ``bucket`` (account 123456789012, no prefix)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AWSLogDeliveryWrite",
                "Effect": "Allow",
                "Principal": {"Service": "delivery.logs.amazonaws.com"},
                "Action": "s3:PutObject",
                "Resource": f"arn:aws:s3:::{bucket}/AWSLogs/123456789012/*",
                "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}},
            }
        ],
    }


def substitute(text: str, substitutions: list[tuple[str, str]]) -> str:
    for placeholder, value in substitutions:
        if placeholder.startswith("re:"):
            text = re.sub(placeholder[3:], value, text)
        else:
            text = text.replace(placeholder, value)
    return text


def run_shell(docs: Docs, script: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", "-c", f"set -eo pipefail\n{script}"],
        cwd=docs.workdir,
        env=docs.env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def cli_accepts(docs: Docs, command: str) -> subprocess.CompletedProcess:
    """The AWS CLI's parameter validation alone: nothing is sent."""
    return run_shell(docs, f"{command} --generate-cli-skeleton output")


# -- the tests ----------------------------------------------------------------------------------
def test_the_docs_show_aws_and_vpcfactory_commands_and_this_test_finds_them():
    texts = [c.text for c in COMMANDS]
    assert sum(t.startswith("aws ") for t in texts) >= 5
    assert any("aws ec2 describe-nat-gateways --filter " in t for t in texts)
    assert any(t.startswith("for what in ") and "aws ec2 describe-$what" in t for t in texts)
    assert any(t.startswith(("vpcfactory status", ".venv/bin/vpcfactory status")) for t in texts)


def test_every_not_run_entry_names_a_command_the_docs_still_show():
    shown = {prefix for prefix in NOT_RUN for c in COMMANDS if c.text == prefix or c.text.startswith(prefix + " ")}
    assert set(NOT_RUN) - shown == set()


def test_every_doc_command_is_either_run_here_or_listed_with_a_reason():
    unlisted = [f"{c.where}: {c.text}" for c in COMMANDS if not c.runs and not not_run_reason(c)]
    assert unlisted == [], "add each to NOT_RUN with the reason it is not run, or make it runnable here"


@pytest.mark.parametrize("command", COMMANDS, ids=[f"{c.where} {c.text[:60]}" for c in COMMANDS])
def test_the_doc_command_runs_against_the_served_emulator(command: DocCommand, docs: Docs):
    text = substitute(command.text, docs.substitutions)
    reason = not_run_reason(command)
    if reason is not None or not command.runs:
        if command.words[:1] == ["aws"] and not is_synopsis(command):
            accepted = cli_accepts(docs, text)
            assert accepted.returncode == 0, f"{command.where}: the AWS CLI refuses it:\n{accepted.stderr[-2000:]}"
        pytest.skip(reason or "not an aws or vpcfactory command")
    if "diagram" in command.words and shutil.which("dot", path=docs.env["PATH"]) is None:
        pytest.skip("needs Graphviz's dot (make graphviz)")

    done = run_shell(docs, "\n".join(filter(None, (substitute(command.preamble, docs.substitutions), text))))

    assert done.returncode == command.expected_exit, (
        f"{command.where}: `{text}` exited {done.returncode}\n{done.stderr[-3000:]}\n{done.stdout[-1000:]}"
    )
    if command.words[0] == "aws" and done.stdout.lstrip().startswith("{"):
        answer = json.loads(done.stdout)
        assert answer.get("FailedEntryCount", 0) == 0, f"{command.where}: {answer}"


def test_the_embedded_emulator_ignores_an_endpoint_set_in_the_environment(monkeypatch):
    # Found by the README's `vpcfactory apply examples/seed.yaml --json` run in a shell whose
    # AWS_ENDPOINT_URL named a served emulator: the embedded one deployed its stack into that one.
    from vpcfactory_tools.emulator.embedded import EmbeddedEmulator
    from vpcfactory_tools.emulator.settings import EmulatorSettings

    nowhere = "http://127.0.0.1:9"  # nothing listens there
    monkeypatch.setenv("AWS_ENDPOINT_URL", nowhere)
    monkeypatch.setenv("AWS_ENDPOINT_URL_EC2", nowhere)
    with EmbeddedEmulator(EmulatorSettings(time_scale=0.001)) as emu:
        vpcs = emu.client("ec2").describe_vpcs()["Vpcs"]

    assert [v["IsDefault"] for v in vpcs] == [True]  # moto's default VPC, in the mock
    assert os.environ["AWS_ENDPOINT_URL"] == os.environ["AWS_ENDPOINT_URL_EC2"] == nowhere
