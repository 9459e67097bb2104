"""Fleets (issue 15): the rollout state machine (statemachine/rollout.asl.json) over a manifest, run
for real on the embedded emulator: a Distributed Map of builds (startExecution.sync:2) or audits,
with its tolerance, its ResultWriter report, deterministic build names and assumed-role accounts."""

from __future__ import annotations

import json
import uuid

import boto3
import pytest

from vpcfactory.tags import TAG_VPC

from .conftest import TIME_SCALE

ACCOUNTS = ["111111111111", "222222222222", "333333333333", "444444444444", "555555555555", "666666666666"]
ROLE = "AWSControlTowerExecution"


def _line(account: str, spec: dict, **extra: object) -> str:
    return json.dumps({"accountId": account, "region": "us-east-1", "spec": spec, **extra})


def _manifest(spec: dict, bad: set[str] = frozenset()) -> str:
    broken = {**spec, "cidr": "10.0.0.0/33"}
    return "\n".join(_line(a, broken if a in bad else spec) for a in ACCOUNTS) + "\n"


def _in(emu, account: str) -> boto3.session.Session:
    """A session in `account`, through the role the factory assumes there."""
    creds = emu.client("sts").assume_role(RoleArn=f"arn:aws:iam::{account}:role/{ROLE}", RoleSessionName="test")[
        "Credentials"
    ]
    return boto3.session.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        region_name="us-east-1",
    )


def _vpcs_named(session, name: str) -> list[str]:
    ec2 = session.client("ec2")
    found = ec2.describe_vpcs(Filters=[{"Name": f"tag:{TAG_VPC}", "Values": [name]}])["Vpcs"]
    return sorted(v["VpcId"] for v in found)


def _builds(emu, rollout_id: str) -> list[dict]:
    sfn = emu.client("stepfunctions")
    pages = sfn.get_paginator("list_executions").paginate(stateMachineArn=emu.stack.build_arn)
    return [e for page in pages for e in page["executions"] if e["name"].startswith(f"{rollout_id}-")]


def _report(emu, output_or_id: dict | str) -> dict:
    rollout_id = output_or_id if isinstance(output_or_id, str) else output_or_id["rolloutId"]
    body = emu.client("s3").get_object(Bucket=emu.stack.rollout_bucket, Key=f"rollouts/{rollout_id}/report.json")
    return json.loads(body["Body"].read())


@pytest.fixture
def rollout_id() -> str:
    return f"fleet-{uuid.uuid4().hex[:8]}"


def test_a_rollout_within_its_tolerance_builds_every_valid_account_in_that_account(emu, seed_spec, rollout_id):
    # Given six accounts, one of them with a spec that does not validate, and a 20 % tolerance
    manifest = _manifest(seed_spec, bad={ACCOUNTS[3]})

    result = emu.rollout(manifest, rollout_id=rollout_id, maxConcurrency=3, toleratedFailurePercentage=20)

    # Then the rollout succeeds with 5 built and 1 failed, and says which and why
    assert result.status == "SUCCEEDED", result.cause
    out = result.output
    assert (out["succeeded"], out["failed"], out["total"]) == (5, 1, 6)
    by_account = {item["accountId"]: item for item in out["items"]}
    refused = by_account[ACCOUNTS[3]]
    assert refused["status"] == "failed" and refused["error"] == "InvalidSpec"
    assert "cidr" in refused["cause"] and "line 4" in refused["cause"]
    # and each VPC is in its own account, none in the factory's
    for account in ACCOUNTS:
        item = by_account[account]
        there = _vpcs_named(_in(emu, account), seed_spec["name"])
        if account == ACCOUNTS[3]:
            assert there == [] and item["vpcId"] is None
        else:
            assert item["status"] == "succeeded" and there == [item["vpcId"]], item
            assert item["executionArn"].endswith(f":{rollout_id}-{account}-us-east-1-r0")
    assert _vpcs_named(emu, seed_spec["name"]) == [], "nothing is built in the factory's own account"
    # nothing was started for the refused account: one build per valid account, named deterministically
    assert sorted(e["name"] for e in _builds(emu, rollout_id)) == sorted(
        f"{rollout_id}-{a}-us-east-1-r0" for a in ACCOUNTS if a != ACCOUNTS[3]
    )
    # and the report in S3 is the same
    assert _report(emu, out)["items"] == out["items"]


def test_a_rollout_past_its_tolerance_fails_and_still_reports(emu, seed_spec, rollout_id):
    # Given two invalid specs of six (33 %) and a 20 % tolerance
    manifest = _manifest(seed_spec, bad={ACCOUNTS[0], ACCOUNTS[1]})

    result = emu.rollout(manifest, rollout_id=rollout_id, maxConcurrency=1, toleratedFailurePercentage=20)

    assert result.status == "FAILED"
    assert result.error == "RolloutFailed"
    assert "accounts failed (tolerated: 20 %)" in result.cause
    report = _report(emu, rollout_id)
    assert report["failed"] >= 2
    failed = {i["accountId"] for i in report["items"] if i["status"] == "failed"}
    assert {ACCOUNTS[0], ACCOUNTS[1]} <= failed
    assert {i["error"] for i in report["items"] if i["status"] == "failed"} == {"InvalidSpec"}


def test_a_rerun_of_the_same_rollout_builds_nothing_new(emu, seed_spec, rollout_id):
    manifest = "\n".join(_line(a, seed_spec) for a in ACCOUNTS[:3])
    first = emu.rollout(manifest, rollout_id=rollout_id, name=f"{rollout_id}-a", maxConcurrency=3)
    assert first.status == "SUCCEEDED", first.cause
    builds = _builds(emu, rollout_id)

    # When the same rollout id runs again (a new rollout execution)
    again = emu.rollout(manifest, rollout_id=rollout_id, name=f"{rollout_id}-b", maxConcurrency=3)

    # Then no build is started: each account's earlier build is reported again
    assert again.status == "SUCCEEDED", again.cause
    assert len(_builds(emu, rollout_id)) == len(builds) == 3
    assert all(item.get("reused") for item in again.output["items"])
    assert {i["vpcId"] for i in again.output["items"]} == {i["vpcId"] for i in first.output["items"]}

    # And under a new rollout id the builds reconcile into the same VPCs: still one per account
    other = emu.rollout(manifest, rollout_id=f"{rollout_id}-2", maxConcurrency=3)
    assert other.status == "SUCCEEDED", other.cause
    assert {i["vpcId"] for i in other.output["items"]} == {i["vpcId"] for i in first.output["items"]}
    for account in ACCOUNTS[:3]:
        assert len(_vpcs_named(_in(emu, account), seed_spec["name"])) == 1


def test_a_malformed_manifest_is_refused_before_anything_starts(emu, seed_spec, rollout_id):
    manifest = "\n".join(
        [
            _line(ACCOUNTS[0], seed_spec),
            _line("12345", seed_spec),
            _line(ACCOUNTS[0], seed_spec),
            json.dumps({"accountId": ACCOUNTS[2], "region": "us-east-1", "spec": seed_spec, "colour": "blue"}),
        ]
    )

    result = emu.rollout(manifest, rollout_id=rollout_id)

    assert result.status == "FAILED"
    assert result.error == "InvalidManifest"
    for line in ("line 2", "line 3", "line 4"):
        assert line in result.cause
    assert _builds(emu, rollout_id) == []


def test_the_audit_reports_compliant_drifted_and_missing_networks(emu, seed_spec, rollout_id, monkeypatch):
    # Given two accounts built from the spec, and a third never built
    built = "\n".join(_line(a, seed_spec) for a in ACCOUNTS[:2])
    first = emu.rollout(built, rollout_id=rollout_id, maxConcurrency=2)
    assert first.status == "SUCCEEDED", first.cause
    # and someone opened the default security group of the second account's VPC by hand
    drifted_vpc = next(i["vpcId"] for i in first.output["items"] if i["accountId"] == ACCOUNTS[1])
    ec2 = _in(emu, ACCOUNTS[1]).client("ec2")
    group = ec2.describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [drifted_vpc]}, {"Name": "group-name", "Values": ["default"]}]
    )["SecurityGroups"][0]
    ec2.authorize_security_group_ingress(
        GroupId=group["GroupId"],
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )
    vpcs_before = {a: _vpcs_named(_in(emu, a), seed_spec["name"]) for a in ACCOUNTS[:3]}

    # When the fleet is audited (what it announces on the bus recorded as it goes out)
    import vpcfactory.outcomes

    announced: list[tuple[str, dict]] = []
    announce = vpcfactory.outcomes.announce

    def recording(detail_type, detail):
        announced.append((detail_type, detail))
        return announce(detail_type, detail)

    monkeypatch.setattr(vpcfactory.outcomes, "announce", recording)
    audit = "\n".join(_line(a, seed_spec) for a in ACCOUNTS[:3])
    result = emu.rollout(audit, rollout_id=f"{rollout_id}-audit", mode="audit", toleratedFailurePercentage=100)

    # Then each account's state is reported, and nothing was changed or created
    assert result.status == "SUCCEEDED", result.cause
    out = result.output
    assert (out["compliant"], out["drifted"], out["missing"]) == (1, 1, 1)
    by_account = {i["accountId"]: i for i in out["items"]}
    assert by_account[ACCOUNTS[0]]["status"] == "compliant"
    drifted = by_account[ACCOUNTS[1]]
    assert drifted["status"] == "drifted" and drifted["vpcId"] == drifted_vpc
    assert any("default security group" in d for d in drifted["differences"]), drifted
    assert by_account[ACCOUNTS[2]]["status"] == "missing"
    assert {a: _vpcs_named(_in(emu, a), seed_spec["name"]) for a in ACCOUNTS[:3]} == vpcs_before
    assert _builds(emu, f"{rollout_id}-audit") == []
    # and each drifted or missing network was announced as VPC Drifted
    drift = {(d["accountId"], d["status"]) for kind, d in announced if kind == "VPC Drifted"}
    assert drift == {(ACCOUNTS[1], "drifted"), (ACCOUNTS[2], "missing")}

    # And with no tolerance the same audit fails the rollout
    strict = emu.rollout(audit, rollout_id=f"{rollout_id}-strict", mode="audit", maxConcurrency=1)
    assert strict.status == "FAILED" and strict.error == "RolloutFailed"


def test_the_rollout_needs_no_permission_it_does_not_have(emu):
    """Every request of this module's rollouts (their handlers, their builds, and Step Functions' own
    calls as the rollout's role) was allowed. (The process's denial log also holds other modules'
    deliberate denials: only this module's executions and roles count here.)"""
    from vpcfactory_tools.emulator import iam_enforcement

    assert TIME_SCALE > 0
    ours = [
        d
        for d in iam_enforcement.denials()
        if str(d.get("execution") or "").startswith(("fleet-", "rollout-"))
        or "Rollout" in str(d.get("principal") or "")
        or "AuditNetwork" in str(d.get("principal") or "")
    ]
    assert ours == [], ours
