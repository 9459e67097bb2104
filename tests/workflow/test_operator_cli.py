"""The operator's day as a user lives it, against `vpcfactory emulator` served on 127.0.0.1:
plan (with the diff against what exists), apply, status while running and after, destroy."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import time
from pathlib import Path

import boto3
import pytest
import yaml

from tests.workflow.test_cli_end_to_end import CLI, ROOT, serve_emulator
from vpcfactory_tools import cli

ENV = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "NO_COLOR": "1"}


@pytest.fixture(scope="module")
def served():
    # 1 simulated second = 20 ms: a build's NAT wait lasts over a second, long enough to see it run
    with serve_emulator("0.02", ENV) as ready:
        yield ready


def vpcfactory(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], cwd=ROOT, capture_output=True, text=True, timeout=300, env=ENV)


OPS_SPEC = {
    "name": "ops-day",
    "cidr": "10.20.0.0/16",
    "availabilityZones": 2,
    "natGateways": "single",
    "tiers": [
        {"name": "public", "type": "public", "prefixLength": 24},
        {"name": "private", "type": "private", "prefixLength": 22},
        {"name": "database", "type": "isolated", "prefixLength": 24},
    ],
    "tags": {"Team": "network"},
}


def spec_file(tmp_path: Path, **changes) -> str:
    doc = {**OPS_SPEC, **changes}
    path = tmp_path / f"spec-{len(list(tmp_path.iterdir()))}.yaml"
    path.write_text(yaml.safe_dump(doc))
    return str(path)


def test_plan_apply_status_and_destroy_read_at_a_glance(served, tmp_path, monkeypatch):
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "testing")
    url = served["endpoint"]
    ec2 = boto3.client("ec2", endpoint_url=url, region_name="us-east-1", **_creds())

    # plan against an account with no such VPC: says it would build one
    plan = vpcfactory("plan", spec_file(tmp_path), "--endpoint-url", url)
    assert plan.returncode == 0, plan.stderr
    assert "no VPC is tagged vpcfactory:vpc=ops-day: apply builds a new one" in plan.stdout

    # apply in the background; status while it runs says where it is
    build = subprocess.Popen(
        [*CLI, "apply", spec_file(tmp_path), "--endpoint-url", url, "--name", "ops-day-1"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    running = _status_while_running(url, "ops-day-1")
    out, err = build.communicate(timeout=300)
    assert build.returncode == 0, err[-3000:]
    assert running["status"] == "RUNNING" and running["running"], running
    assert all(set(r) == {"state", "type", "enteredAt", "seconds"} for r in running["running"])

    # the apply's progress (stderr, not a TTY) is plain lines: states, the NAT wait and its subject
    assert "\x1b[" not in err
    assert "✓ Create VPC (" in err
    nat_id = next(line for line in err.splitlines() if line.startswith("… Wait For NAT Gateways: NAT gateways nat-"))
    assert "next check (#1) in" in nat_id
    assert "== SUCCEEDED after" in err

    # status after: what it created, found by the execution's tag, matching the account
    done = json.loads(vpcfactory("status", "ops-day-1", "--endpoint-url", url, "--json").stdout)
    vpc_id = done["vpcId"]
    assert done["status"] == "SUCCEEDED" and done["createdSource"] == "tags" and not done["rollbackTaken"]
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]
    assert done["created"]["subnet"] == sorted(s["SubnetId"] for s in subnets)
    assert done["created"]["vpc"] == [vpc_id]
    assert len(done["created"]["nat-gateway"]) == 1
    text = vpcfactory("status", "ops-day-1", "--endpoint-url", url)
    assert text.returncode == 0
    assert text.stdout.startswith("SUCCEEDED") and vpc_id in text.stdout and "\x1b[" not in text.stdout

    # plan of a grown spec: the diff lists what a re-apply adds, with CIDRs, and nothing refused
    grown = spec_file(tmp_path, availabilityZones=3)
    grown_plan = json.loads(vpcfactory("plan", grown, "--endpoint-url", url, "--json").stdout)
    diff = grown_plan["diff"]
    assert diff["mode"] == "reconcile" and diff["vpcId"] == vpc_id and diff["refused"] == []
    assert {a for a in diff["added"] if a.startswith("subnet/")} == {
        "subnet/public/us-east-1c",
        "subnet/private/us-east-1c",
        "subnet/database/us-east-1c",
    }
    readable = vpcfactory("plan", grown, "--endpoint-url", url).stdout
    new_private = next(s["cidr"] for s in grown_plan["subnets"] if s["logicalId"] == "subnet/private/us-east-1c")
    assert f"+ subnet/private/us-east-1c {new_private}" in readable

    # a change it will not make in place is refused, naming it
    moved = vpcfactory("plan", spec_file(tmp_path, cidr="10.21.0.0/16"), "--endpoint-url", url, "--json")
    assert any(r.startswith("cidr: the VPC is 10.20.0.0/16") for r in json.loads(moved.stdout)["diff"]["refused"])

    # a picture of the VPC as it exists: every subnet, with its id and CIDR
    picture = tmp_path / "ops-day.svg"
    drawn = vpcfactory("diagram", vpc_id, "--endpoint-url", url, "-o", str(picture), "--json")
    assert drawn.returncode == 0, drawn.stderr[-3000:]
    assert json.loads(drawn.stdout) == {"path": str(picture), "vpc": "ops-day", "subnets": len(subnets)}
    svg = picture.read_text()
    for subnet in subnets:
        assert subnet["SubnetId"] in svg and subnet["CidrBlock"] in svg

    # destroy, then the build's status shows nothing of it left
    gone = vpcfactory("destroy", vpc_id, "--endpoint-url", url, "--name", "ops-day-destroy")
    assert gone.returncode == 0, gone.stderr[-3000:]
    assert f"destroyed VPC {vpc_id} (ops-day) and everything the factory built in it" in gone.stdout
    after = json.loads(vpcfactory("status", "ops-day-1", "--endpoint-url", url, "--json").stdout)
    assert after["created"] == {}
    destroy = json.loads(vpcfactory("status", "ops-day-destroy", "--endpoint-url", url, "--json").stdout)
    assert destroy["status"] == "SUCCEEDED" and destroy["stateMachineArn"] == served["destroyStateMachineArn"]


def test_a_failed_build_status_shows_the_rollback_and_that_nothing_is_left(served, tmp_path):
    url = served["endpoint"]
    # an EIP allocation id that does not exist: the NAT step fails and the build rolls back
    doc = spec_file(
        tmp_path, name="ops-fail", natGateways={"mode": "single", "eipAllocationIds": ["eipalloc-0123456789abcdef0"]}
    )
    build = vpcfactory("apply", doc, "--endpoint-url", url, "--name", "ops-fail-1", "--json")
    assert build.returncode == 1, build.stderr[-3000:]
    assert "!! rolling back" in build.stderr

    status = vpcfactory("status", "ops-fail-1", "--endpoint-url", url)

    assert status.returncode == 1
    assert status.stdout.startswith("FAILED")
    assert "rollback      taken" in status.stdout
    assert "nothing left: the rollback deleted everything it had created" in status.stdout


def test_the_diff_of_a_cross_account_spec_is_read_in_the_target_account(served, tmp_path):
    url = served["endpoint"]
    wrapper = {"spec": {**OPS_SPEC, "name": "ops-remote"}, "target": {"accountId": "111111111111"}}
    path = tmp_path / "remote.yaml"
    path.write_text(yaml.safe_dump(wrapper))
    built = vpcfactory("apply", str(path), "--endpoint-url", url, "--json")
    assert built.returncode == 0, built.stderr[-3000:]

    remote = json.loads(vpcfactory("plan", str(path), "--endpoint-url", url, "--json").stdout)["diff"]
    local = json.loads(
        vpcfactory("plan", spec_file(tmp_path, name="ops-remote"), "--endpoint-url", url, "--json").stdout
    )

    assert remote["mode"] == "reconcile" and remote["vpcId"] == json.loads(built.stdout)["vpcId"]
    assert remote["added"] == [] and remote["refused"] == []
    assert local["diff"]["mode"] == "create"  # the factory's own account has no such VPC


def test_diagram_refuses_what_it_cannot_draw(served, tmp_path):
    bad_suffix = vpcfactory("diagram", spec_file(tmp_path), "-o", str(tmp_path / "x.pdf"))
    assert bad_suffix.returncode == 2 and ".svg or .png" in bad_suffix.stderr

    no_target = vpcfactory("diagram", "vpc-0123456789abcdef0", "-o", str(tmp_path / "x.svg"))
    assert no_target.returncode == 2 and "pass --endpoint-url" in no_target.stderr

    missing = vpcfactory(
        "diagram", "vpc-0123456789abcdef0", "--endpoint-url", served["endpoint"], "-o", str(tmp_path / "x.svg")
    )
    assert missing.returncode == 2 and "vpc-0123456789abcdef0" in missing.stderr
    assert not (tmp_path / "x.svg").exists()


def test_status_needs_a_target_and_an_execution_that_exists(served):
    alone = vpcfactory("status", "whatever")
    assert alone.returncode == 2 and "status needs a target" in alone.stderr

    missing = vpcfactory("status", "no-such-run", "--endpoint-url", served["endpoint"])
    assert missing.returncode == 2 and "no execution 'no-such-run'" in missing.stderr


def _creds() -> dict[str, str]:
    return {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def _status_while_running(url: str, name: str) -> dict:
    """`status --json`, in this process (a fresh CLI process takes longer to start than a wait lasts),
    polled until the execution exists and has a state running, or has ended."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            code = cli.main(["status", name, "--endpoint-url", url, "--json"])
        if code != 2:  # 2: no such execution yet
            doc = json.loads(out.getvalue())
            if doc["status"] != "RUNNING" or doc["running"]:
                return doc
        time.sleep(0.05)
    raise AssertionError(f"{name} never started")
