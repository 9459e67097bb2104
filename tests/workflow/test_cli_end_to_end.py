"""The CLI as a user runs it: `apply --json` on the embedded emulator, and `vpcfactory emulator`
served on 127.0.0.1 and driven by `apply --endpoint-url` and plain boto3."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import boto3
import pytest

from tests.conftest import EXAMPLES
from vpcfactory.tags import TAG_EXECUTION, tag_dict

CLI = [sys.executable, "-m", "vpcfactory_tools.cli"]
ROOT = Path(__file__).resolve().parents[2]


def vpcfactory(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def test_apply_json_prints_exactly_one_contract_object_and_exits_0():
    proc = vpcfactory("apply", str(EXAMPLES / "seed.yaml"), "--json", "--time-scale", "0.002")

    assert proc.returncode == 0, proc.stderr[-3000:]
    doc = json.loads(proc.stdout)  # the whole of stdout is one JSON object
    assert set(doc) >= {"status", "executionArn", "vpcId", "output", "error", "cause"}
    assert doc["status"] == "SUCCEEDED" and doc["vpcId"].startswith("vpc-")
    assert doc["output"]["vpcId"] == doc["vpcId"] and doc["error"] is None


def test_apply_with_an_injected_fault_exits_1_with_the_error():
    proc = vpcfactory(
        "apply",
        str(EXAMPLES / "seed.yaml"),
        "--json",
        "--time-scale",
        "0.002",
        "--fail-at",
        "CreateNatGateway:1=InsufficientAddressCapacity",
    )

    assert proc.returncode == 1, proc.stderr[-3000:]
    doc = json.loads(proc.stdout)
    assert doc["status"] == "FAILED" and doc["error"] == "AwsCallFailed"
    assert "InsufficientAddressCapacity" in doc["cause"]
    # beside the cause (Lambda's JSON, stack trace and all), the one line a person reads
    assert doc["message"].startswith("CreateNatGateway failed with InsufficientAddressCapacity")
    assert "\n" not in doc["message"] and "stackTrace" not in doc["message"] and ".py" not in doc["message"]


def test_a_fault_that_never_fires_is_reported_after_the_run():
    proc = vpcfactory(
        "apply", str(EXAMPLES / "seed.yaml"), "--time-scale", "0.002", "--fail-at", "CreateNatGateway:3=InternalError"
    )

    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (
        "note: --fail-at CreateNatGateway:3=InternalError never fired: the run made 1 CreateNatGateway call"
        in proc.stderr
    )


@contextlib.contextmanager
def serve_emulator(time_scale: str, env: dict[str, str] | None = None, args: Sequence[str] = ()) -> Iterator[dict]:
    """`vpcfactory emulator` on a free port, as a user starts it (with `args`, e.g. --fail-at); yields
    its ready line. `--port 0`: the emulator binds a free port itself and names it in that line (a port
    picked here and passed on could be taken meanwhile by another test worker's emulator)."""
    # stderr goes to a file: a pipe nobody reads fills up (64 KiB) and blocks the server
    # mid-request (with --log-requests it logs every request there).
    with tempfile.TemporaryFile("w+") as stderr:
        proc = subprocess.Popen(
            [*CLI, "emulator", "--port", "0", "--time-scale", time_scale, *args],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env=env,
        )
        try:
            line = proc.stdout.readline()
            if not line:
                stderr.seek(0)
                raise AssertionError(stderr.read()[-3000:])
            yield json.loads(line)
        finally:
            proc.terminate()
            proc.wait(timeout=30)


@pytest.fixture
def served_emulator():
    with serve_emulator("0.002") as ready:
        yield ready


def test_the_served_emulator_builds_a_vpc_that_plain_boto3_can_inspect(served_emulator):
    ready = served_emulator
    assert ready["endpoint"].startswith("http://127.0.0.1:")
    assert ready["buildStateMachineArn"] and ready["destroyStateMachineArn"]

    proc = vpcfactory("apply", str(EXAMPLES / "production.yaml"), "--json", "--endpoint-url", ready["endpoint"])
    assert proc.returncode == 0, proc.stderr[-3000:]
    doc = json.loads(proc.stdout)

    env = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    ec2 = boto3.client("ec2", region_name="us-east-1", endpoint_url=ready["endpoint"], **env)
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [doc["vpcId"]]}])["Subnets"]
    assert sorted(s["CidrBlock"] for s in subnets) == sorted(
        s["cidr"] for tier in doc["output"]["subnets"].values() for s in tier
    )
    execution = doc["executionArn"].rsplit(":", 1)[-1]
    assert all(tag_dict(s["Tags"])[TAG_EXECUTION] == execution for s in subnets)
    tables = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [doc["vpcId"]]}])["RouteTables"]
    targets = {
        r.get("NatGatewayId") or r.get("GatewayId")
        for t in tables
        for r in t["Routes"]
        if r.get("DestinationCidrBlock") == "0.0.0.0/0"
    }
    assert targets == {
        doc["output"]["internetGatewayId"],
        *(n["natGatewayId"] for n in doc["output"]["natGateways"]),
    }

    destroyed = vpcfactory("destroy", doc["vpcId"], "--json", "--endpoint-url", ready["endpoint"])
    assert destroyed.returncode == 0, destroyed.stderr[-3000:]
    assert not ec2.describe_vpcs(Filters=[{"Name": "vpc-id", "Values": [doc["vpcId"]]}])["Vpcs"]
