"""Report Failure: announce `VPC Build Failed` and answer CloudFormation with FAILED.

Called from every failure path of both state machines (with the state as it is), and by the
`ExecutionEndedEarlyRule` when an execution ends TIMED_OUT, ABORTED or FAILED: either way
CloudFormation is never left waiting.

A FAILED execution usually went through the failure path already, so the rule's invocation
must not report it twice. How it knows (see _ended_early): for a CloudFormation request, the
stored request itself. respond() deletes it only after CloudFormation got its answer, and the
failure path announces before it answers, so "request gone" means "answered and announced";
"request still there" means the path never ran or died before answering (States.Runtime,
States.DataLimitExceeded, a crashed Report Failure): answer FAILED, then announce once. The
Fail states cannot tell us: they end with the original error, whatever happened on the way.
Without a CloudFormation request there is nothing stored, so for FAILED the error name decides:
only States.Runtime and States.DataLimitExceeded are announced, the two errors `States.ALL`
cannot catch (every other error reached our failure path through a Catch).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from vpcfactory import observability, outcomes
from vpcfactory.observability import lambda_handler, logger

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from vpcfactory.contracts import ReportFailureEvent

STATUS_CHANGE = "Step Functions Execution Status Change"
UNCATCHABLE = frozenset({"States.Runtime", "States.DataLimitExceeded"})
# The build's refusals (its Which Failure? routes them to Spec Rejected / Build Already Running):
# nothing was created, the caller has to change something. Counted apart from failures.
REFUSALS = frozenset({"InvalidSpec", "ReplacementRequired", "AdoptionRefused", "BuildInProgress"})


def _reason(error, cause):
    try:
        parsed = json.loads(cause or "")
        if isinstance(parsed, dict):
            cause = parsed.get("errorMessage") or parsed.get("leftovers") and json.dumps(parsed) or cause
    except ValueError:
        pass
    return f"{error}: {cause}" if cause else str(error)


def _cfn(state, raw_input):
    return state.get("cfn") or raw_input.get("cfn") or (state.get("resolved") or {}).get("cfn") or {}


def _name(state, raw_input):
    spec = state.get("spec") or raw_input.get("spec") or raw_input
    return (state.get("plan") or {}).get("name") or (spec.get("name") if isinstance(spec, dict) else None)


def _is_build(state, raw_input):
    """A build's state (a destroy's holds `vpcId`/`rollbackOf` and `resolved`, never a spec)."""
    return bool(state.get("plan")) or "spec" in state or "spec" in raw_input


def _count(state, raw_input, error_name, leftovers):
    """The metrics of one failed execution (observability.py)."""
    if leftovers:
        observability.count(observability.ROLLBACKS_INCOMPLETE)
    if _is_build(state, raw_input):
        refused = error_name in REFUSALS and not leftovers
        observability.count(observability.BUILDS_REFUSED if refused else observability.BUILDS_FAILED)


def _announce(execution, name, error, reason):
    outcomes.announce(
        "VPC Build Failed", {"execution": execution, "name": name, "error": error.get("Error"), "reason": reason[:2000]}
    )


def _ended_early(detail):
    """The rule's invocation: report only what the failure path did not (module docstring)."""
    state = json.loads(detail.get("input") or "{}")
    status = detail["status"]
    error = {
        "Error": detail.get("error") or f"Execution{status.title().replace('_', '')}",
        "Cause": detail.get("cause"),
    }
    execution = detail.get("name")
    reason = _reason(error["Error"], error["Cause"])
    cfn = _cfn(state, state)
    if cfn.get("requestId"):
        if cfn.get("requestType") == "Create":
            # Ended before (or while) rolling back: whatever it created may still be there. The
            # FAILED answer's physical id names this execution; the record lets CloudFormation's
            # Delete of it tear down exactly what the execution created (a no-op if nothing is
            # left, or if the failure path had already answered and recorded it itself).
            outcomes.record_rollback(execution, state.get("target"), None)
        answered = outcomes.respond(cfn["requestId"], "FAILED", reason=reason)
        if not answered:
            logger.info("already reported by the failure path", extra={"execution": execution, "status": status})
            return {"announced": False, "answeredCloudFormation": False}
    elif status == "FAILED" and error["Error"] not in UNCATCHABLE:
        logger.info("already reported by the failure path", extra={"execution": execution, "status": status})
        return {"announced": False, "answeredCloudFormation": False}
    else:
        answered = False
    _announce(execution, _name(state, state), error, reason)
    _count(state, state, error["Error"], leftovers=False)
    return {"announced": True, "answeredCloudFormation": answered}


@lambda_handler
def handler(event: ReportFailureEvent, context: LambdaContext) -> dict[str, Any]:
    if event.get("detail-type") == STATUS_CHANGE:  # the execution ended without (finishing) its failure path
        return _ended_early(event["detail"])
    state = event["state"]
    error = state.get("error") or {}
    leftovers = bool(state.get("leftovers") or state.get("reportError"))
    if state.get("leftovers"):
        error = {"Error": "RollbackIncomplete", "Cause": state["leftovers"].get("cause")}
    execution = event["execution"]
    raw_input = state.get("input") or state
    name = _name(state, raw_input)
    reason = _reason(error.get("Error", "Failed"), error.get("Cause"))
    _announce(execution, name, error, reason)
    cfn = _cfn(state, raw_input)
    answered = False
    if cfn.get("requestId"):
        if leftovers and cfn.get("requestType") == "Create" and state.get("plan"):
            # The Create answers FAILED with physical id vpcfactory-failed-<requestId>, which names
            # this execution: record it so CloudFormation's Delete of that id can retry the rollback.
            outcomes.record_rollback(execution, state.get("target"), state["plan"].get("flowLogs"))
        answered = outcomes.respond(cfn["requestId"], "FAILED", reason=reason)
    _count(state, raw_input, error.get("Error"), leftovers)  # last: a retried report counts once
    return {"announced": True, "answeredCloudFormation": answered}
