"""Summarize Rollout: the per-account report of a rollout, from what the Distributed Map wrote.

The map's ResultWriter exports every child execution to S3 (Step Functions developer guide,
"ResultWriter (Map)"): `<prefix>/<map run id>/manifest.json` lists the SUCCEEDED_n.json,
FAILED_n.json and PENDING_n.json files, each a JSON array of executions with their `Input` (the
item) and `Output`, or `Error` and `Cause`. A build that failed under startExecution.sync:2 fails
its child with the build's DescribeExecution as the cause, so the build's own error (InvalidSpec,
VerificationFailed, ...) is read from there.

Every item of the rollout is in the report (rollouts/<id>/report.json), also those the map run
never started (it stops starting items once the failures pass the tolerance: `not-started`).
The execution's output holds the same report; with very many items only the failures are listed
there (the state holds 256 KiB) and `itemsTruncated` says so.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import TYPE_CHECKING, Any

from vpcfactory import aws
from vpcfactory.observability import lambda_handler, logger

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from vpcfactory.contracts import SummarizeRolloutEvent

AUDIT_FAILURES = {"NetworkDrifted": "drifted", "NetworkMissing": "missing"}
MAX_OUTPUT_BYTES = 200_000  # under the 256 KiB a state's output may hold
MAX_CAUSE = 1000  # per item in the report; the build's own history has the rest


def _s3() -> Any:
    return aws.client("s3", own_account=True)


def _json_object(bucket: str, key: str) -> Any:
    body = aws.call("GetObject", _s3().get_object, Bucket=bucket, Key=key)["Body"].read()
    return json.loads(body)


def _result_manifest(bucket: str, prefix: str, results: dict[str, Any] | None) -> dict[str, Any] | None:
    """The map run's manifest.json: named by the Map's output, or (a failed map run has no output)
    the one under the results prefix. None when the map run wrote none (it never started)."""
    if results and (details := results.get("ResultWriterDetails")):
        return dict(_json_object(details["Bucket"], details["Key"]))
    paginator = _s3().get_paginator("list_objects_v2")
    pages = aws.call("ListObjectsV2", lambda **kw: list(paginator.paginate(**kw)), Bucket=bucket, Prefix=f"{prefix}/")
    found = [o for page in pages for o in page.get("Contents", []) if o["Key"].endswith("/manifest.json")]
    if not found:
        return None
    newest = max(found, key=lambda o: o["LastModified"])
    return dict(_json_object(bucket, newest["Key"]))


def _loads(text: Any) -> Any:
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return None


def _item_of(execution: dict[str, Any]) -> dict[str, Any]:
    """The map item a child execution ran (its Input is the ItemSelector's output)."""
    given = _loads(execution.get("Input")) or {}
    return dict(given.get("item") or {}) if isinstance(given, dict) else {}


def _failure(execution: dict[str, Any]) -> tuple[str, str, str | None]:
    """(error, cause, the build's execution ARN) of a failed child: the build's own when the child
    failed because its build did (the cause is then the build's DescribeExecution)."""
    error, cause = str(execution.get("Error") or "States.Runtime"), str(execution.get("Cause") or "")
    build = _loads(cause)
    if isinstance(build, dict) and "ExecutionArn" in build:
        return (
            str(build.get("Error") or error),
            str(build.get("Cause") or f"the build ended {build.get('Status', 'FAILED')}"),
            str(build["ExecutionArn"]),
        )
    return error, cause, None


def _entry(item: dict[str, Any], mode: str, execution: dict[str, Any], outcome: str) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "accountId": item.get("accountId"),
        "region": item.get("region"),
        "line": item.get("line"),
        "status": None,
        "vpcId": None,
        "error": None,
        "executionArn": None,
    }
    if outcome == "SUCCEEDED":
        output = _loads(execution.get("Output")) or {}
        entry["status"] = output.get("status") or ("compliant" if mode == "audit" else "succeeded")
        entry["vpcId"] = output.get("vpcId")
        entry["executionArn"] = output.get("executionArn")
        if output.get("reused"):
            entry["reused"] = True  # a re-run of this rollout id: the earlier build's result
        return entry
    error, cause, build_arn = _failure(execution)
    entry["status"] = AUDIT_FAILURES.get(error, "failed") if mode == "audit" else "failed"
    if execution.get("Status") == "ABORTED":
        # Stopped by Step Functions when the map run failed (or by someone): a build stopped midway
        # keeps what it made (no rollback runs); applying the spec again completes it (growth).
        entry["status"] = "aborted"
    entry["error"] = error
    entry["cause"] = cause[:MAX_CAUSE]
    entry["executionArn"] = build_arn
    if entry["status"] in ("drifted", "missing"):
        found = _loads(cause) or {}
        entry["vpcId"] = found.get("vpcId") if isinstance(found, dict) else None
        entry["differences"] = found.get("differences", []) if isinstance(found, dict) else []
    return entry


def report(
    prepared: dict[str, Any], results: dict[str, Any] | None, map_error: dict[str, Any] | None
) -> dict[str, Any]:
    bucket, mode = prepared["bucket"], prepared["mode"]
    items: list[dict[str, Any]] = list(_json_object(bucket, prepared["itemsKey"]))
    written = _result_manifest(bucket, prepared["resultsPrefix"], results)
    by_key: dict[tuple[Any, Any], dict[str, Any]] = {}
    for outcome, files in ((written or {}).get("ResultFiles") or {}).items():
        if outcome not in ("SUCCEEDED", "FAILED"):
            continue  # PENDING: started, not ended (the map run was stopped): reported as not ended below
        for file in files:
            for execution in _json_object(written["DestinationBucket"] if written else bucket, file["Key"]):
                item = _item_of(execution)
                by_key[(item.get("accountId"), item.get("region"))] = _entry(item, mode, execution, outcome)
    entries = []
    for item in items:
        key = (item["accountId"], item["region"])
        entries.append(
            by_key.get(key)
            or {
                "accountId": item["accountId"],
                "region": item["region"],
                "line": item.get("line"),
                "status": "not-started",
                "vpcId": None,
                "error": None,
                "executionArn": None,
            }
        )
    counts = Counter(entry["status"] for entry in entries)
    failed = sum(n for status, n in counts.items() if status not in ("succeeded", "compliant", "not-started"))
    doc: dict[str, Any] = {
        "rolloutId": prepared["rolloutId"],
        "mode": mode,
        "total": len(entries),
        "succeeded": counts["succeeded"] + counts["compliant"],
        "failed": failed,
        "notStarted": counts["not-started"],
        "toleratedFailurePercentage": prepared["toleratedFailurePercentage"],
        "reportUri": f"s3://{bucket}/{prepared['reportKey']}",
        "items": entries,
    }
    if mode == "audit":
        doc |= {"compliant": counts["compliant"], "drifted": counts["drifted"], "missing": counts["missing"]}
    doc["cause"] = _cause(doc, map_error)
    return doc


def _cause(doc: dict[str, Any], map_error: dict[str, Any] | None) -> str:
    """One paragraph for the rollout's Fail state (and the CLI): the counts and the first failures."""
    failures = [e for e in doc["items"] if e["status"] not in ("succeeded", "compliant", "not-started")]
    shown = "; ".join(f"{e['accountId']}/{e['region']}: {e['error']}" for e in failures[:20])
    more = f"; and {len(failures) - 20} more" if len(failures) > 20 else ""
    head = (
        f"{doc['failed']} of {doc['total']} accounts failed (tolerated: {doc['toleratedFailurePercentage']:g} %), "
        f"{doc['succeeded']} succeeded, {doc['notStarted']} not started"
    )
    if map_error and not failures:
        return f"{head}; the map run failed: {map_error.get('Error')}: {str(map_error.get('Cause'))[:2000]}"
    return f"{head}{': ' + shown + more if shown else ''}. Report: {doc['reportUri']}"


def fitted(doc: dict[str, Any]) -> dict[str, Any]:
    """The report as the execution's output: all of it when it fits, else the failures only."""
    if len(json.dumps(doc)) <= MAX_OUTPUT_BYTES:
        return doc
    failures = [e for e in doc["items"] if e["status"] not in ("succeeded", "compliant")]
    out = {**doc, "items": [{k: v for k, v in e.items() if k != "cause"} for e in failures], "itemsTruncated": True}
    while len(json.dumps(out)) > MAX_OUTPUT_BYTES and out["items"]:
        out["items"] = out["items"][: len(out["items"]) // 2]
    return out


@lambda_handler
def handler(event: SummarizeRolloutEvent, context: LambdaContext) -> dict[str, Any]:
    state = event["rollout"]
    prepared = state["prepared"]
    doc = report(prepared, state.get("results"), state.get("mapError"))
    aws.call(
        "PutObject",
        _s3().put_object,
        Bucket=prepared["bucket"],
        Key=prepared["reportKey"],
        Body=json.dumps(doc, indent=1).encode(),
        ContentType="application/json",
    )
    logger.info(
        "rollout summarized",
        extra={k: doc.get(k) for k in ("rolloutId", "mode", "total", "succeeded", "failed", "notStarted")},
    )
    return fitted(doc)
