"""`vpcfactory status EXECUTION`: where a running or finished execution is, and what it created.

Where it is comes from its history (progress.Narrator, the same reading `apply` shows live).
What it created comes from the account itself: every resource a build makes carries
`vpcfactory:execution` = the execution's name from the moment it exists, so DescribeTags on that
tag lists exactly what this execution created and still exists — after a rollback, nothing. If the
account cannot be read (no credentials for a cross-account target), the resource ids the tasks
returned are listed instead, and the output says which source it used.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime
from typing import Any, TextIO

from rich.text import Text

from vpcfactory.tags import TAG_EXECUTION
from vpcfactory_tools.execution_results import cause_message, runbook, short_cause
from vpcfactory_tools.plan_view import console_for
from vpcfactory_tools.progress import Narrator, Update, definition_of, history, resource_ids

# The errors an execution ends with when its teardown (a build's rollback, or a destroy) could not
# delete everything: what it created is partly still there.
INCOMPLETE = {"RollbackIncomplete": "rollback", "DestroyIncomplete": "destroy"}

# EC2 resource types in the order a build creates them (DescribeTags' ResourceType values)
TYPE_ORDER = [
    "vpc",
    "subnet",
    "internet-gateway",
    "egress-only-internet-gateway",
    "elastic-ip",
    "nat-gateway",
    "route-table",
    "vpc-endpoint",
    "flow-log",
]
PREFIX_TYPES = {
    "vpc": "vpc",
    "subnet": "subnet",
    "igw": "internet-gateway",
    "eigw": "egress-only-internet-gateway",
    "eipalloc": "elastic-ip",
    "nat": "nat-gateway",
    "rtb": "route-table",
    "vpce": "vpc-endpoint",
    "fl": "flow-log",
}


def execution_status(sfn: Any, execution_arn: str, ec2: Any = None) -> tuple[dict[str, Any], list[Update]]:
    """(status, timeline): the machine-readable status and the narrated history."""
    described = sfn.describe_execution(executionArn=execution_arn)
    events = history(sfn, execution_arn)
    narrator = Narrator(definition=definition_of(sfn, execution_arn))
    timeline = narrator.feed(events)
    now = datetime.now().astimezone()
    running = [
        {"state": name, "type": kind, "enteredAt": entered.isoformat(), "seconds": (now - entered).total_seconds()}
        for name, kind, entered in narrator.running_states()
    ]
    output = _json(described.get("output"))
    name = described["name"]
    created, source = _created(ec2, name, events)
    started, stopped = described.get("startDate"), described.get("stopDate")
    error = described.get("error") or narrator.error
    cause = described.get("cause") or narrator.cause
    status = {
        "executionArn": execution_arn,
        "name": name,
        "stateMachineArn": described["stateMachineArn"],
        "status": described["status"],
        "startDate": started.isoformat() if started else None,
        "stopDate": stopped.isoformat() if stopped else None,
        "seconds": ((stopped or now) - started).total_seconds() if started else None,
        "running": running if described["status"] == "RUNNING" else [],
        "lastState": narrator.last_state,
        "rollbackTaken": narrator.rolled_back,
        "rollback": _rollback(narrator.rolled_back, described["status"], error),
        "retries": sum(1 for u in timeline if u.kind == "retry"),
        "vpcId": (output or {}).get("vpcId") if isinstance(output, dict) else None,
        "error": error,
        "cause": cause,
        "message": cause_message(cause) or None,
        "created": created,
        "createdSource": source,
        "runbook": _runbook(described["status"], error),
    }
    return status, timeline


def _rollback(taken: bool, status: str, error: str | None) -> str | None:
    """None (no rollback) | running | finished (deleted all it had created) | incomplete."""
    if error == "RollbackIncomplete":
        return "incomplete"
    if not taken:
        return None
    return "running" if status == "RUNNING" else "finished"


def _runbook(status: str, error: str | None) -> str | None:
    if status in ("SUCCEEDED", "RUNNING"):
        return None
    return runbook(error)


def _created(ec2: Any, name: str, events: list[dict[str, Any]]) -> tuple[dict[str, list[str]], str]:
    if ec2 is not None:
        try:
            return _created_by_tag(ec2, name), "tags"
        except Exception:  # noqa: BLE001 - no access to the account: fall back to the history
            pass
    found: dict[str, set[str]] = defaultdict(set)
    for event in events:
        details = event.get("taskSucceededEventDetails") or event.get("lambdaFunctionSucceededEventDetails")
        if details:
            for rid in resource_ids(_json(details.get("output"))):
                found[PREFIX_TYPES.get(rid.split("-")[0], "other")].add(rid)
    return _ordered({k: sorted(v) for k, v in found.items()}), "history"


def _created_by_tag(ec2: Any, name: str) -> dict[str, list[str]]:
    """Live resources of each kind the factory creates, filtered by the execution's tag. Not
    DescribeTags alone: it can list a deleted resource's tags (moto keeps them), and a NAT gateway
    stays visible as `deleted` for an hour."""
    from vpcfactory import inventory

    found: dict[str, list[str]] = {}
    scope = inventory.Scope.of_execution(name)
    for kind in inventory.KINDS:
        ids = sorted(item[kind.id_key] for item in inventory.owned(ec2, kind, scope))
        if ids:
            found[kind.name] = ids
    return _ordered(found)


def _ordered(found: dict[str, list[str]]) -> dict[str, list[str]]:
    rank = {t: i for i, t in enumerate(TYPE_ORDER)}
    return dict(sorted(found.items(), key=lambda kv: (rank.get(kv[0], len(rank)), kv[0])))


def _json(text: Any) -> Any:
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return None


def render(status: dict[str, Any], timeline: list[Update], out: TextIO, *, full: bool = False) -> None:
    console = console_for(out)
    colour = {"SUCCEEDED": "green", "RUNNING": "cyan"}.get(status["status"], "red")
    took = f" after {status['seconds']:.0f}s" if status["seconds"] is not None else ""
    console.print(Text.assemble((status["status"], f"bold {colour}"), f"{took}  {status['name']}"))
    console.print(f"execution     {status['executionArn']}")
    console.print(
        f"started       {status['startDate']}" + (f", stopped {status['stopDate']}" if status["stopDate"] else "")
    )
    if status["running"]:
        now = ", ".join(f"{r['state']} ({r['seconds']:.0f}s)" for r in status["running"])
        console.print(f"running now   {now}")
    elif status["lastState"]:
        console.print(f"last state    {status['lastState']}")
    if status["retries"]:
        console.print(f"retries       {status['retries']}")
    created = status["created"]
    total = sum(len(v) for v in created.values())
    incomplete = INCOMPLETE.get(status["error"] or "")
    if incomplete:
        left = f"{total} resource{'s' if total != 1 else ''} it created {'are' if total != 1 else 'is'} still there"
        console.print(
            Text(
                f"{'rollback' if incomplete == 'rollback' else 'teardown'}      could not finish: "
                + (f"{left} (listed below)" if total else "nothing it created is left now"),
                style="bold red",
            )
        )
    elif status["status"] == "ABORTED":
        console.print(Text("stopped       it did not roll back: what it created is listed below", style="yellow"))
    elif status["rollbackTaken"]:
        if status["status"] == "RUNNING":
            console.print(Text("rollback      running: deleting what the execution created", style="yellow"))
        else:
            console.print(Text("rollback      taken: the execution deleted what it had created", style="yellow"))
    if status["vpcId"]:
        console.print(f"vpc           {status['vpcId']}")
    if status["error"]:
        console.print(Text(f"error         {status['error']}: {short_cause(status['cause'], 1000)}", style="red"))

    source = (
        f"resources tagged {TAG_EXECUTION}={status['name']} that exist now"
        if status["createdSource"] == "tags"
        else "resource ids its tasks returned (the account could not be read; some may be deleted)"
    )
    console.print(Text(f"created: {total} {source}", style="bold"))
    if not total and incomplete:
        console.print("  nothing left now: what the teardown could not delete has been deleted since")
    elif not total and status["rollbackTaken"] and status["status"] != "RUNNING":
        console.print("  nothing left: the rollback deleted everything it had created")
    elif not total and status["status"] == "SUCCEEDED":
        console.print("  nothing: it found everything its spec asks for already in place (a re-apply)")
    for kind, ids in created.items():
        console.print(f"  {kind:<30} {len(ids):>3}  {' '.join(ids)}")
    if status.get("runbook"):
        console.print(f"what to do next: {status['runbook']}")
    shown = timeline if full else timeline[-12:]
    console.print(
        Text(f"history ({len(timeline)} updates{'' if full else ', last 12; --history for all'})", style="bold")
    )
    for update in shown:
        console.print(f"  {update.line()}")
