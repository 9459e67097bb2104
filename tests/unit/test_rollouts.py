"""`vpcfactory rollout`'s view of a running rollout (vpcfactory_tools.rollouts), against a Step
Functions that answers as AWS does: the map run from the history, its counts, each failed child
once, and the summary it prints at the end."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from vpcfactory_tools import rollouts

EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:vpcfactory-rollout:fleet-1"
MAP_RUN = "arn:aws:states:us-east-1:123456789012:mapRun:vpcfactory-rollout/Account:3c1b"
CHILD = "arn:aws:states:us-east-1:123456789012:execution:vpcfactory-rollout/Account:{}"
AT = datetime(2026, 11, 30, tzinfo=UTC)


def event(id_: int, type_: str, **details: Any) -> dict[str, Any]:
    return {"id": id_, "previousEventId": id_ - 1, "timestamp": AT, "type": type_, **details}


def child_input(account: str, region: str = "us-east-1") -> str:
    return json.dumps({"item": {"accountId": account, "region": region, "line": 1}, "mode": "build"})


class FakeStepFunctions:
    """Answers as Step Functions does: each poll shows the next stage of the run."""

    def __init__(self, stages: list[dict[str, Any]], children: dict[str, dict[str, Any]], *, lists: bool = True):
        self.stages = stages
        self.children = children
        self.lists = lists
        self.poll = -1
        self.described: list[str] = []

    @property
    def stage(self) -> dict[str, Any]:
        return self.stages[min(self.poll, len(self.stages) - 1)]

    def describe_execution(self, executionArn: str) -> dict[str, Any]:
        if executionArn == EXECUTION:
            self.poll += 1
            return {"status": self.stage["status"]}
        self.described.append(executionArn)
        return self.children[executionArn]

    def get_execution_history(
        self, maxResults: int = 100, reverseOrder: bool = False, nextToken: str | None = None, **_: Any
    ) -> dict[str, Any]:
        """Paged as Step Functions pages it: oldest or newest first, a token naming the next event."""
        ordered = list(reversed(self.stage["events"])) if reverseOrder else list(self.stage["events"])
        if nextToken is not None:
            ordered = [e for e in ordered if (e["id"] <= int(nextToken) if reverseOrder else e["id"] >= int(nextToken))]
        page, rest = ordered[:maxResults], ordered[maxResults:]
        return {"events": page, **({"nextToken": str(rest[0]["id"])} if rest else {})}

    def describe_state_machine_for_execution(self, **_: Any) -> dict[str, Any]:
        return {"definition": json.dumps({"StartAt": "Roll Out", "States": {}})}

    def describe_map_run(self, mapRunArn: str) -> dict[str, Any]:
        assert mapRunArn == MAP_RUN
        return {"itemCounts": self.stage["counts"]}

    def list_executions(self, mapRunArn: str, statusFilter: str, maxResults: int, **_: Any) -> dict[str, Any]:
        if not self.lists:
            raise ClientError({"Error": {"Code": "InvalidArn", "Message": "no"}}, "ListExecutions")
        assert mapRunArn == MAP_RUN
        failed = [arn for arn in self.stage["failed"] if self.children[arn]["status"] == statusFilter]
        return {"executions": [{"executionArn": arn, "status": statusFilter} for arn in failed]}


STARTED = [
    event(1, "ExecutionStarted"),
    event(2, "MapStateEntered", stateEnteredEventDetails={"name": "Roll Out"}),
    event(3, "MapRunStarted", mapRunStartedEventDetails={"mapRunArn": MAP_RUN}),
]
ENDED = [
    *STARTED,
    event(4, "MapStateExited", stateExitedEventDetails={"name": "Roll Out"}),
    event(5, "ExecutionSucceeded", executionSucceededEventDetails={}),
]


def counts(**given: int) -> dict[str, int]:
    return {"pending": 0, "running": 0, "succeeded": 0, "failed": 0, "timedOut": 0, "aborted": 0, **given}


def follow(sfn: FakeStepFunctions, mode: str = "build") -> tuple[rollouts.RolloutProgress, list[str]]:
    lines: list[str] = []
    progress = rollouts.follow_rollout(sfn, EXECUTION, mode, lines.append, poll_seconds=0)
    return progress, lines


def test_the_counts_are_said_when_they_change_and_each_failed_account_once_with_the_builds_error():
    build_failure = json.dumps({"ExecutionArn": "arn:...:build", "Error": "VerificationFailed", "Cause": "a route"})
    children = {
        CHILD.format(1): {
            "status": "FAILED",
            "input": child_input("111111111111"),
            "error": "InvalidSpec",
            "cause": "cidr",
        },
        CHILD.format(2): {
            "status": "FAILED",
            "input": child_input("222222222222", "eu-west-1"),
            "error": "States.TaskFailed",
            "cause": build_failure,
        },
    }
    sfn = FakeStepFunctions(
        [
            {"status": "RUNNING", "events": STARTED, "counts": counts(running=3, total=3), "failed": []},
            {"status": "RUNNING", "events": STARTED, "counts": counts(running=3, total=3), "failed": []},
            {
                "status": "RUNNING",
                "events": STARTED,
                "counts": counts(running=1, succeeded=1, failed=1, total=3),
                "failed": [CHILD.format(1)],
            },
            {
                "status": "SUCCEEDED",
                "events": ENDED,
                "counts": counts(succeeded=1, failed=2, total=3),
                "failed": [CHILD.format(1), CHILD.format(2)],
            },
        ],
        children,
    )

    progress, lines = follow(sfn)

    assert lines == [
        "→ Roll Out",
        "accounts: 3 — 3 running, 0 succeeded, 0 failed",
        "✗ 111111111111 us-east-1 failed: InvalidSpec: cidr",
        "accounts: 3 — 1 running, 1 succeeded, 1 failed",
        "✗ 222222222222 eu-west-1 failed: VerificationFailed: a route",
        "accounts: 3 — 0 running, 1 succeeded, 2 failed",
        f"✓ Roll Out ({lines[-2].split('(')[1]}",
        lines[-1],
    ]
    assert lines[-1].startswith("== SUCCEEDED")
    assert sfn.described == [CHILD.format(1), CHILD.format(2)]  # each failed child described once
    assert progress.map_run_arn == MAP_RUN


def test_an_audit_counts_drifted_and_missing_accounts_apart_from_other_failures():
    children = {
        CHILD.format(1): {
            "status": "FAILED",
            "input": child_input("111111111111"),
            "error": "NetworkDrifted",
            "cause": "x",
        },
        CHILD.format(2): {
            "status": "FAILED",
            "input": child_input("222222222222"),
            "error": "NetworkMissing",
            "cause": "y",
        },
        CHILD.format(3): {
            "status": "FAILED",
            "input": child_input("333333333333"),
            "error": "AwsCallFailed",
            "cause": "z",
        },
    }
    sfn = FakeStepFunctions(
        [
            {
                "status": "FAILED",
                "events": ENDED,
                "counts": counts(succeeded=1, failed=3, total=4),
                "failed": list(children),
            }
        ],
        children,
    )

    _, lines = follow(sfn, mode="audit")

    assert "✗ 111111111111 us-east-1 drifted: NetworkDrifted: x" in lines
    assert "✗ 222222222222 us-east-1 missing: NetworkMissing: y" in lines
    assert "accounts: 4 — 0 running, 1 compliant, 1 drifted, 1 missing, 1 failed" in lines


def test_a_target_that_cannot_list_the_children_still_shows_the_counts():
    sfn = FakeStepFunctions(
        [{"status": "SUCCEEDED", "events": ENDED, "counts": counts(succeeded=1, failed=1, total=2), "failed": []}],
        {},
        lists=False,
    )

    progress, lines = follow(sfn)

    assert "accounts: 2 — 0 running, 1 succeeded, 1 failed" in lines
    assert progress.children_listed is False and not progress.failures


REPORT = {
    "rolloutId": "fleet-1",
    "mode": "build",
    "total": 2,
    "succeeded": 1,
    "failed": 1,
    "notStarted": 0,
    "items": [
        {"accountId": "111111111111", "region": "us-east-1", "status": "succeeded", "vpcId": "vpc-0abc", "error": None},
        {
            "accountId": "222222222222",
            "region": "eu-west-1",
            "status": "failed",
            "vpcId": None,
            "error": "InvalidSpec",
            "cause": "line 2: cidr: '10.0.0.0/33' is not a CIDR",
        },
    ],
}


def test_the_contract_carries_the_reports_counts_and_items_and_where_the_report_is():
    doc = rollouts.contract(
        status="SUCCEEDED",
        execution_arn=EXECUTION,
        rollout_id="fleet-1",
        mode="build",
        report=REPORT,
        bucket="rollouts-bucket",
        error=None,
        cause=None,
    )

    assert doc == {
        "status": "SUCCEEDED",
        "executionArn": EXECUTION,
        "rolloutId": "fleet-1",
        "mode": "build",
        "succeeded": 1,
        "failed": 1,
        "total": 2,
        "notStarted": 0,
        "items": REPORT["items"],
        "reportUri": "s3://rollouts-bucket/rollouts/fleet-1/report.json",
        "error": None,
        "message": None,
        "cause": None,
    }


def test_a_rollout_refused_before_its_map_ran_has_no_report_and_says_why():
    cause = json.dumps({"errorType": "InvalidRolloutInput", "errorMessage": "manifest.key: gone"})
    doc = rollouts.contract(
        status="FAILED",
        execution_arn=EXECUTION,
        rollout_id="fleet-1",
        mode="audit",
        report=None,
        bucket="b",
        error="InvalidRolloutInput",
        cause=cause,
    )
    out = io.StringIO()
    rollouts.render(doc, out)

    assert (doc["reportUri"], doc["items"], doc["total"], doc["missing"]) == (None, [], 0, 0)
    assert doc["message"] == "manifest.key: gone"
    assert out.getvalue().splitlines()[:3] == [
        "FAILED: rollout fleet-1 (audit): InvalidRolloutInput",
        "0 accounts: 0 compliant, 0 drifted, 0 missing, 0 failed",
        "cause: manifest.key: gone",
    ]


def test_the_summary_is_a_table_of_accounts_with_their_vpc_or_error():
    doc = rollouts.contract(
        status="SUCCEEDED",
        execution_arn=EXECUTION,
        rollout_id="fleet-1",
        mode="build",
        report=REPORT,
        bucket="b",
        error=None,
        cause=None,
    )
    out = io.StringIO()
    rollouts.render(doc, out)

    assert out.getvalue().splitlines() == [
        "SUCCEEDED: rollout fleet-1 (build)",
        "2 accounts: 1 succeeded, 1 failed",
        f"execution: {EXECUTION}",
        "report: s3://b/rollouts/fleet-1/report.json",
        "",
        "ACCOUNT       REGION     STATUS     VPC OR ERROR",
        "111111111111  us-east-1  succeeded  vpc-0abc",
        "222222222222  eu-west-1  failed     InvalidSpec: line 2: cidr: '10.0.0.0/33' is not a CIDR",
    ]


def test_the_manifest_goes_under_manifests_with_the_suffix_of_its_format():
    assert rollouts.manifest_key("fleet-1", '\n {"accountId": "1"}\n') == "manifests/fleet-1.jsonl"
    assert rollouts.manifest_key("fleet-1", "\ufeffaccountId,region\n") == "manifests/fleet-1.csv"
