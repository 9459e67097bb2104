"""`vpcfactory rollout`: follow a rollout as it runs and say how it ended, on the emulator or AWS.

The rollout state machine (statemachine/rollout.asl.json) runs one child execution per account and
Region in a Distributed Map. While it runs, this reads what Step Functions says of the map run
(Step Functions developer guide, "Examining Distributed Map runs"): DescribeMapRun's `itemCounts`
(pending, running, succeeded, failed, ...) for the counts, and ListExecutions with the `mapRunArn`
and `statusFilter` FAILED for the child executions that failed, each described once
(DescribeExecution: its input is the item, so the account and Region; its error and cause). The
map run is the one the history's MapRunStarted event names. At the end, the report the rollout
writes (rollouts/<rolloutId>/report.json in the rollout bucket) is the answer: every account's
status, its VPC or its error.

Nothing here imports the emulator: the CLI follows a rollout on AWS the same way.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

from vpcfactory_tools.execution_results import TERMINAL, cause_message, short_cause
from vpcfactory_tools.progress import Narrator, definition_of, events_after

AUDIT_FAILURES = {"NetworkDrifted": "drifted", "NetworkMissing": "missing"}  # the child's Fail states
COUNTED = ("pending", "running", "succeeded", "failed", "timedOut", "aborted")
MAX_FAILURES_SHOWN = 50  # failed items said one by one while it runs; the report lists them all
ENDS = ("succeeded", "failed")  # progress.Update kinds of a state's end
MAX_DESCRIBED = 200  # failed children described for their account and error (DescribeExecution each)


def report_key(rollout_id: str) -> str:
    return f"rollouts/{rollout_id}/report.json"


def manifest_key(rollout_id: str, text: str) -> str:
    """Where the CLI uploads a manifest: manifests/<rolloutId>.jsonl or .csv, by its format (the
    format parse_manifest reads it as: JSON Lines when its first non-blank character is `{`)."""
    return f"manifests/{rollout_id}.{'jsonl' if text.lstrip(chr(0xFEFF)).lstrip()[:1] == '{' else 'csv'}"


@dataclass
class Failure:
    account: str
    region: str
    status: str  # failed | drifted | missing (audit) | timed out | aborted
    error: str
    cause: str

    def line(self) -> str:
        return f"✗ {self.account} {self.region} {self.status}: {self.error}: {short_cause(self.cause, 300)}"


@dataclass
class RolloutProgress:
    """What the map run showed while the CLI followed it."""

    mode: str
    map_run_arn: str | None = None
    counts: dict[str, int] = field(default_factory=dict)  # DescribeMapRun itemCounts
    failures: dict[str, Failure] = field(default_factory=dict)  # child execution ARN -> what failed
    children_listed: bool = True  # False once the target would not list the map run's children

    def count_line(self) -> str:
        counts = self.counts
        total = counts.get("total", 0)
        parts = [f"{counts.get('pending', 0)} pending"] if counts.get("pending") else []
        parts.append(f"{counts.get('running', 0)} running")
        if self.mode == "audit":
            drifted = sum(1 for f in self.failures.values() if f.status == "drifted")
            missing = sum(1 for f in self.failures.values() if f.status == "missing")
            other = max(self._failed() - drifted - missing, 0)
            parts += [
                f"{counts.get('succeeded', 0)} compliant",
                f"{drifted} drifted",
                f"{missing} missing",
                f"{other} failed",
            ]
        else:
            parts += [f"{counts.get('succeeded', 0)} succeeded", f"{self._failed()} failed"]
        return f"accounts: {total} — " + ", ".join(parts)

    def _failed(self) -> int:
        counts = self.counts
        return counts.get("failed", 0) + counts.get("timedOut", 0) + counts.get("aborted", 0)


def follow_rollout(
    sfn: Any,
    execution_arn: str,
    mode: str,
    emit: Callable[[str], None],
    *,
    poll_seconds: float = 2.0,
    timeout: float = 86400.0,
) -> RolloutProgress:
    """Say on `emit` what the rollout does until it ends: its states (as `apply` does), the counts
    of the map run whenever they change, and each failed item once. Best effort: what the target
    cannot answer (a map run's children, say) is left out, never a reason to stop following."""
    narrator = Narrator(definition=definition_of(sfn, execution_arn))
    progress = RolloutProgress(mode)
    seen = 0
    map_states: set[str] = set()  # the Map states entered (the map run belongs to one)
    last_counts = ""
    deadline = time.monotonic() + timeout
    while True:
        finished = sfn.describe_execution(executionArn=execution_arn)["status"] in TERMINAL
        events = events_after(sfn, execution_arn, seen)  # what is new since the last poll
        for event in events:
            details = event.get("mapRunStartedEventDetails")
            if details and details.get("mapRunArn") and progress.map_run_arn is None:
                progress.map_run_arn = details["mapRunArn"]
            if event["type"] == "MapStateEntered":
                map_states.add(event["stateEnteredEventDetails"]["name"])
        # In order, except that the map run's news comes before the Map state's end (its last
        # counts belong before the line saying it ended).
        updates = narrator.feed(events)
        ended = next(
            (i for i, u in enumerate(updates) if u.kind == "ended" or (u.state in map_states and u.kind in ENDS)),
            len(updates),
        )
        for update in updates[:ended]:
            emit(update.line())
        if progress.map_run_arn:
            _map_run_news(sfn, progress, emit)
            line = progress.count_line()
            if line != last_counts and progress.counts.get("total"):
                emit(line)
                last_counts = line
        for update in updates[ended:]:
            emit(update.line())
        seen = events[-1]["id"] if events else seen
        if finished or narrator.status:
            return progress
        if time.monotonic() > deadline:
            raise TimeoutError(f"{execution_arn} still running after {timeout}s")
        time.sleep(poll_seconds)


def _map_run_news(sfn: Any, progress: RolloutProgress, emit: Callable[[str], None]) -> None:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        counts = sfn.describe_map_run(mapRunArn=progress.map_run_arn)["itemCounts"]
        progress.counts = {key: int(counts.get(key, 0)) for key in (*COUNTED, "total")}
    except (BotoCoreError, ClientError, KeyError, TypeError, ValueError):
        return
    if not progress.children_listed or not len(progress.failures) < min(progress._failed(), MAX_DESCRIBED):
        return  # no failure that is not said yet (or said enough: the report lists them all)
    try:
        for status in ("FAILED", "TIMED_OUT", "ABORTED"):
            kwargs: dict[str, Any] = {"mapRunArn": progress.map_run_arn, "statusFilter": status, "maxResults": 1000}
            while True:
                page = sfn.list_executions(**kwargs)
                for child in page.get("executions", []):
                    if child["executionArn"] not in progress.failures and len(progress.failures) < MAX_DESCRIBED:
                        failure = _failure_of(sfn, child["executionArn"], status, progress.mode)
                        progress.failures[child["executionArn"]] = failure
                        if len(progress.failures) <= MAX_FAILURES_SHOWN:
                            emit(failure.line())
                        elif len(progress.failures) == MAX_FAILURES_SHOWN + 1:
                            emit("✗ ... more items failed: the report at the end lists every one")
                if not page.get("nextToken"):
                    break
                kwargs["nextToken"] = page["nextToken"]
    except (BotoCoreError, ClientError):
        progress.children_listed = False  # e.g. a target that cannot list a map run's children


def _failure_of(sfn: Any, child_arn: str, status: str, mode: str) -> Failure:
    """A failed child: its item's account and Region (its input) and its error, the build's own
    when the build failed (startExecution.sync:2 fails the child with the build's description)."""
    described = sfn.describe_execution(executionArn=child_arn)
    try:
        item = (json.loads(described.get("input") or "{}") or {}).get("item") or {}
    except (ValueError, AttributeError):
        item = {}
    error = described.get("error") or {"TIMED_OUT": "States.Timeout", "ABORTED": "Aborted"}.get(status, "Failed")
    cause = described.get("cause") or ""
    try:
        build = json.loads(cause)
    except ValueError:
        build = None
    if isinstance(build, dict) and "ExecutionArn" in build:
        error, cause = build.get("Error") or error, build.get("Cause") or f"the build ended {build.get('Status')}"
    kind = {"TIMED_OUT": "timed out", "ABORTED": "aborted"}.get(status, "failed")
    if mode == "audit" and error in AUDIT_FAILURES:
        kind = AUDIT_FAILURES[error]
    return Failure(str(item.get("accountId", "?")), str(item.get("region", "?")), kind, str(error), str(cause))


def read_report(s3: Any, bucket: str, rollout_id: str) -> dict[str, Any] | None:
    """The rollout's report, or None when it wrote none (it was refused before the map ran)."""
    from botocore.exceptions import ClientError

    try:
        body = s3.get_object(Bucket=bucket, Key=report_key(rollout_id))["Body"].read()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
            return None
        raise
    report = json.loads(body)
    return report if isinstance(report, dict) else None


def contract(
    *,
    status: str,
    execution_arn: str | None,
    rollout_id: str,
    mode: str,
    report: dict[str, Any] | None,
    bucket: str,
    error: str | None,
    cause: str | None,
) -> dict[str, Any]:
    """The one object `vpcfactory rollout --json` prints (docs/operations.md)."""
    report = report or {}
    doc: dict[str, Any] = {
        "status": status,
        "executionArn": execution_arn,
        "rolloutId": rollout_id,
        "mode": mode,
        "succeeded": report.get("succeeded", 0),
        "failed": report.get("failed", 0),
        "total": report.get("total", 0),
    }
    if mode == "audit":
        doc |= {key: report.get(key, 0) for key in ("compliant", "drifted", "missing")}
    message = " ".join(cause_message(cause).split()) if cause else ""
    doc |= {
        "notStarted": report.get("notStarted", 0),
        "items": report.get("items", []),
        "reportUri": f"s3://{bucket}/{report_key(rollout_id)}" if report else None,
        "error": error,
        "message": message or (error if status != "SUCCEEDED" else None),
        "cause": cause,
    }
    return doc


def render(doc: dict[str, Any], out: TextIO) -> None:
    """The summary for people: how it ended, the counts, and one row per account."""
    audit = doc["mode"] == "audit"
    counts = (
        f"{doc['compliant']} compliant, {doc['drifted']} drifted, {doc['missing']} missing, "
        f"{doc['failed'] - doc['drifted'] - doc['missing']} failed"
        if audit
        else f"{doc['succeeded']} succeeded, {doc['failed']} failed"
    )
    not_started = f", {doc['notStarted']} not started" if doc.get("notStarted") else ""
    head = f"{doc['status']}: rollout {doc['rolloutId']} ({doc['mode']})"
    if doc["status"] != "SUCCEEDED" and doc.get("error"):
        head += f": {doc['error']}"
    out.write(f"{head}\n{doc['total']} accounts: {counts}{not_started}\n")
    if doc["status"] != "SUCCEEDED" and not doc["items"] and doc.get("cause"):
        out.write(f"cause: {short_cause(doc['cause'], 2000)}\n")
    out.write(f"execution: {doc['executionArn']}\n")
    if doc["reportUri"]:
        out.write(f"report: {doc['reportUri']}\n")
    if not doc["items"]:
        return
    rows = [("ACCOUNT", "REGION", "STATUS", "VPC OR ERROR")]
    for item in doc["items"]:
        detail = item.get("vpcId") or ""
        if item.get("error"):
            detail = f"{item['error']}: {short_cause(item.get('cause'), 160)}"
        rows.append((str(item.get("accountId")), str(item.get("region")), str(item.get("status")), detail))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    out.write("\n")
    for row in rows:
        out.write("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + f"  {row[3]}\n")
