"""The rollout's handlers, their pure parts: the input checks of Prepare Rollout and how Summarize
Rollout reads the Distributed Map's results (the whole state machine runs in
tests/workflow/test_rollout.py)."""

from __future__ import annotations

import json

import pytest

from vpcfactory.errors import InvalidRolloutInput
from vpcfactory.handlers import prepare_rollout, summarize_rollout

BUCKET = "vpcfactory-rolloutbucket-123456789012"


@pytest.fixture(autouse=True)
def rollout_bucket(monkeypatch):
    monkeypatch.setenv("ROLLOUT_BUCKET", BUCKET)


def _input(**extra):
    return {"manifest": {"bucket": BUCKET, "key": "manifests/fleet.jsonl"}, **extra}


def test_the_defaults_are_build_ten_at_a_time_and_no_failure_tolerated():
    assert prepare_rollout.check_input(_input()) == {
        "mode": "build",
        "maxConcurrency": 10,
        "toleratedFailurePercentage": 0,
    }
    assert prepare_rollout.check_input(_input(mode="audit", maxConcurrency=20, toleratedFailurePercentage=12.5)) == {
        "mode": "audit",
        "maxConcurrency": 20,
        "toleratedFailurePercentage": 12.5,
    }


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ("not a mapping", "input"),
        (_input(colour="blue"), "colour"),
        ({}, "manifest"),
        ({**_input(), "organizationalUnitId": "ou-ab12-abcdefgh"}, "manifest"),
        (_input(manifest={"bucket": BUCKET}), "manifest"),
        ({"manifest": {"bucket": "someone-elses", "key": "manifests/x.jsonl"}}, "manifest.bucket"),
        ({"manifest": {"bucket": BUCKET, "key": "elsewhere/x.jsonl"}}, "manifest.key"),
        (_input(regions=["us-east-1"]), "regions"),
        (_input(mode="deploy"), "mode"),
        (_input(maxConcurrency=0), "maxConcurrency"),
        (_input(maxConcurrency=1001), "maxConcurrency"),
        (_input(maxConcurrency=2.5), "maxConcurrency"),
        (_input(maxConcurrency=True), "maxConcurrency"),
        (_input(toleratedFailurePercentage=101), "toleratedFailurePercentage"),
        (_input(toleratedFailurePercentage=-1), "toleratedFailurePercentage"),
        (_input(toleratedFailurePercentage="5"), "toleratedFailurePercentage"),
        ({"organizationalUnitId": "ou-1", "regions": ["us-east-1"], "specKey": "specs/a.json"}, "organizationalUnitId"),
        ({"organizationalUnitId": "ou-ab12-abcdefgh", "specKey": "specs/a.json"}, "regions"),
        ({"organizationalUnitId": "ou-ab12-abcdefgh", "regions": ["us-east-1"]}, "spec"),
    ],
)
def test_a_bad_input_is_refused_naming_its_field(raw, field):
    with pytest.raises(InvalidRolloutInput) as refused:
        prepare_rollout.check_input(raw)
    assert refused.value.field == field
    assert str(refused.value).startswith(f"{field}: ")


def test_an_ou_rollout_takes_regions_and_one_spec_source():
    raw = {"organizationalUnitId": "ou-ab12-abcdefgh", "regions": ["eu-west-1"], "specParameter": "/vpcfactory/x"}
    assert prepare_rollout.check_input(raw)["mode"] == "build"


def test_each_rollout_execution_writes_its_results_apart():
    first = prepare_rollout.rollout_keys("net-v7", "run-a")
    again = prepare_rollout.rollout_keys("net-v7", "run-b")
    assert first["itemsKey"] == again["itemsKey"] == "rollouts/net-v7/items.json"
    assert first["resultsPrefix"] != again["resultsPrefix"]
    assert first["reportKey"] == "rollouts/net-v7/report.json"


def _child(status, item, **fields):
    return {"Status": status, "Input": json.dumps({"item": item, "mode": "build"}), **fields}


def test_a_failed_build_is_reported_with_the_builds_own_error():
    build = {
        "ExecutionArn": (
            "arn:aws:states:us-east-1:123456789012:execution:vpcfactory-build-vpc:r-1-111111111111-us-east-1-r0"
        ),
        "Status": "FAILED",
        "Error": "VerificationFailed",
        "Cause": "rtb/app/us-east-1a has no default route",
    }
    item = {"accountId": "111111111111", "region": "us-east-1", "line": 1}
    entry = summarize_rollout._entry(
        item, "build", _child("FAILED", item, Error="States.TaskFailed", Cause=json.dumps(build)), "FAILED"
    )
    assert entry["status"] == "failed"
    assert entry["error"] == "VerificationFailed"
    assert entry["cause"] == build["Cause"]
    assert entry["executionArn"] == build["ExecutionArn"]


def test_a_stopped_child_is_aborted_and_an_audit_failure_is_drift():
    item = {"accountId": "111111111111", "region": "us-east-1", "line": 1}
    aborted = summarize_rollout._entry(item, "build", _child("ABORTED", item), "FAILED")
    assert aborted["status"] == "aborted"
    cause = json.dumps({"vpcId": "vpc-0123456789abcdef0", "differences": ["missing: subnet/app/us-east-1c"]})
    drifted = summarize_rollout._entry(
        item, "audit", _child("FAILED", item, Error="NetworkDrifted", Cause=cause), "FAILED"
    )
    assert drifted["status"] == "drifted"
    assert drifted["vpcId"] == "vpc-0123456789abcdef0"
    assert drifted["differences"] == ["missing: subnet/app/us-east-1c"]


def test_a_report_too_big_for_the_state_lists_only_the_failures():
    items = [
        {"accountId": f"{n:012d}", "region": "us-east-1", "status": "succeeded", "vpcId": "vpc-" + "0" * 17}
        for n in range(3000)
    ]
    items.append(
        {
            "accountId": "999999999999",
            "region": "us-east-1",
            "status": "failed",
            "error": "InvalidSpec",
            "cause": "x" * 900,
        }
    )
    fitted = summarize_rollout.fitted({"total": len(items), "items": items})
    assert fitted["itemsTruncated"] is True
    assert [i["accountId"] for i in fitted["items"]] == ["999999999999"]
    assert len(json.dumps(fitted)) <= summarize_rollout.MAX_OUTPUT_BYTES
