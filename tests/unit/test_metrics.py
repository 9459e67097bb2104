"""The metrics an operator alarms on (observability.py): the CloudWatch embedded-metric-format
blobs Powertools prints to stdout when a report handler ends, read back as CloudWatch would."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from vpcfactory import build_lock, observability, outcomes
from vpcfactory.handlers import check_nat_gateways, report_failure, report_success

NETWORK = {"name": "prod", "vpcId": "vpc-1", "cidr": "10.0.0.0/16", "natGateways": [], "routeTables": []}


class Context:
    function_name = "report"
    function_version = "$LATEST"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:report"
    aws_request_id = "req"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


@pytest.fixture
def emf(monkeypatch, capsys):
    """Metrics on (tests/conftest.py turns them off); returns a reader of the EMF blobs printed."""
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    observability.metrics.clear_metrics()
    capsys.readouterr()

    def blobs() -> list[dict]:
        out = capsys.readouterr().out
        return [doc for doc in map(_json, out.splitlines()) if isinstance(doc, dict) and "_aws" in doc]

    yield blobs
    observability.metrics.clear_metrics()


def _json(line: str):
    try:
        return json.loads(line)
    except ValueError:
        return None


def metric_values(blob: dict) -> dict[str, tuple[str, object]]:
    """{metric name: (unit, value)} of one EMF blob, checked against the EMF spec's shape."""
    (directive,) = blob["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "VpcFactory"
    assert directive["Dimensions"] == [["service"]] and blob["service"] == "vpcfactory"
    assert isinstance(blob["_aws"]["Timestamp"], int)
    return {m["Name"]: (m["Unit"], _one(blob[m["Name"]])) for m in directive["Metrics"]}


def _one(value):
    """EMF allows a value or an array of values (Powertools writes an array)."""
    if isinstance(value, list):
        (value,) = value
    return value


@pytest.fixture
def quiet_outcomes(monkeypatch):
    """The report handlers' AWS side effects, recorded instead of made."""
    calls: list[str] = []
    monkeypatch.setattr(outcomes, "publish_outputs", lambda network: calls.append("publish") or [])
    monkeypatch.setattr(outcomes, "announce", lambda detail_type, detail: calls.append(detail_type))
    monkeypatch.setattr(outcomes, "respond", lambda *a, **kw: calls.append("respond") or True)
    monkeypatch.setattr(outcomes, "record_rollback", lambda *a, **kw: calls.append("record"))
    monkeypatch.setattr(build_lock, "release", lambda lock: calls.append("release"))
    return calls


def test_a_successful_build_counts_one_success_and_its_seconds_from_the_execution_start(emf, quiet_outcomes):
    started = (datetime.now(UTC) - timedelta(seconds=42)).isoformat(timespec="milliseconds").replace("+00:00", "Z")

    report_success.handler({"execution": "b-1", "startTime": started, "network": NETWORK}, Context())

    (blob,) = emf()
    values = metric_values(blob)
    assert values[observability.BUILDS_SUCCEEDED] == ("Count", 1.0)
    unit, seconds = values[observability.BUILD_SECONDS]
    assert unit == "Seconds" and 42 <= seconds < 60


def test_a_success_that_cannot_be_reported_counts_no_success(emf, quiet_outcomes, monkeypatch):
    def fails(*_args):
        raise RuntimeError("PutEvents failed")

    monkeypatch.setattr(outcomes, "announce", fails)

    with pytest.raises(RuntimeError):
        report_success.handler({"execution": "b-1", "startTime": "2026-01-01T00:00:00Z", "network": NETWORK}, Context())

    assert emf() == []  # it rolls back, and Report Failure counts it as failed


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ({"spec": {"name": "prod"}, "plan": {"name": "prod"}, "error": {"Error": "AwsCallFailed"}}, ["BuildsFailed"]),
        ({"spec": {"name": "prod"}, "error": {"Error": "AwsThrottled"}}, ["BuildsFailed"]),
        ({"spec": {"name": "prod"}, "error": {"Error": "InvalidSpec"}}, ["BuildsRefused"]),
        ({"spec": {"name": "prod"}, "error": {"Error": "BuildInProgress"}}, ["BuildsRefused"]),
        (
            {"spec": {"name": "prod"}, "plan": {"name": "prod"}, "error": {"Error": "AwsCallFailed"},
             "leftovers": {"leftovers": [], "cause": "{}"}},
            ["BuildsFailed", "RollbacksIncomplete"],
        ),
        (
            {"vpcId": "vpc-1", "resolved": {"exists": True}, "leftovers": {"leftovers": [], "cause": "{}"}},
            ["RollbacksIncomplete"],
        ),
        ({"vpcId": "vpc-1", "error": {"Error": "NotOwnedByFactory"}}, []),
    ],
    ids=["failed", "throttled-in-validate", "invalid-spec", "build-in-progress", "rollback-incomplete",
         "destroy-left-resources", "destroy-refused"],
)  # fmt: skip
def test_a_failed_execution_counts_how_it_ended(emf, quiet_outcomes, state, expected):
    report_failure.handler({"execution": "b-1", "state": state}, Context())

    blobs = emf()
    counted = sorted(name for blob in blobs for name, (unit, value) in metric_values(blob).items())
    assert counted == expected
    assert all(metric_values(blob)[name] == ("Count", 1.0) for blob in blobs for name in metric_values(blob))


def test_a_build_that_timed_out_counts_as_failed_once(emf, quiet_outcomes):
    detail = {"name": "b-1", "status": "TIMED_OUT", "input": json.dumps({"spec": {"name": "prod"}})}

    report_failure.handler({"detail-type": report_failure.STATUS_CHANGE, "detail": detail}, Context())

    (blob,) = emf()
    assert metric_values(blob) == {"BuildsFailed": ("Count", 1.0)}


def test_nat_wait_seconds_run_from_the_newest_nat_gateways_creation():
    now = datetime(2026, 1, 1, 12, 5, tzinfo=UTC)
    states = {
        "nat-old": {"State": "available", "CreateTime": datetime(2026, 1, 1, 9, 0, tzinfo=UTC)},  # reused
        "nat-new": {"State": "available", "CreateTime": datetime(2026, 1, 1, 12, 1, 30, tzinfo=UTC)},
    }

    assert check_nat_gateways.nat_wait_seconds(states, now) == 210.0
    assert check_nat_gateways.nat_wait_seconds({"nat-1": {"State": "available"}}, now) is None


def test_nat_wait_is_published_when_the_wait_is_done(emf, monkeypatch):
    created = datetime.now(UTC) - timedelta(seconds=95)

    def states(_ec2, ids):
        return {i: {"NatGatewayId": i, "State": "available", "CreateTime": created} for i in ids}

    monkeypatch.setattr(check_nat_gateways.waits, "states", states)

    answer = check_nat_gateways.handler(
        {"execution": "b-1", "ids": {"a": "nat-1"}, "wait": {"status": "waiting", "attempts": 1}}, Context()
    )

    assert answer["status"] == "done"
    (blob,) = emf()
    unit, seconds = metric_values(blob)[observability.NAT_WAIT_SECONDS]
    assert unit == "Seconds" and 95 <= seconds < 120


def test_with_metrics_disabled_nothing_is_kept_or_printed(monkeypatch, capsys):
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    observability.metrics.clear_metrics()

    for _ in range(150):  # Powertools prints 100 values of one metric even when disabled
        observability.count(observability.BUILDS_SUCCEEDED)

    assert observability.metrics.metric_set == {}
    assert "_aws" not in capsys.readouterr().out
