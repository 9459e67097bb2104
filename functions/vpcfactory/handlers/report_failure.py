"""Report Failure: announce `VPC Build Failed` and answer CloudFormation with FAILED.

Called from every failure path of both state machines (with the state as it is), and by an
EventBridge rule when an execution ends without reaching one (TIMED_OUT, ABORTED): either way
CloudFormation is never left waiting.
"""

import json

from vpcfactory import outcomes
from vpcfactory.observability import lambda_handler

STATUS_CHANGE = "Step Functions Execution Status Change"


def _reason(error, cause):
    try:
        parsed = json.loads(cause or "")
        if isinstance(parsed, dict):
            cause = parsed.get("errorMessage") or parsed.get("leftovers") and json.dumps(parsed) or cause
    except ValueError:
        pass
    return f"{error}: {cause}" if cause else str(error)


@lambda_handler
def handler(event, context):
    if event.get("detail-type") == STATUS_CHANGE:  # the execution timed out or was stopped
        detail = event["detail"]
        state = json.loads(detail.get("input") or "{}")
        error = {"Error": f"Execution{detail['status'].title().replace('_', '')}", "Cause": detail.get("cause")}
        execution = detail.get("name")
    else:
        state = event["state"]
        error = state.get("error") or {}
        if state.get("leftovers"):
            error = {"Error": "RollbackIncomplete", "Cause": state["leftovers"].get("cause")}
        execution = event["execution"]
    raw_input = state.get("input") or state
    spec = state.get("spec") or raw_input.get("spec") or raw_input
    name = (state.get("plan") or {}).get("name") or (spec.get("name") if isinstance(spec, dict) else None)
    reason = _reason(error.get("Error", "Failed"), error.get("Cause"))
    outcomes.announce(
        "VPC Build Failed", {"execution": execution, "name": name, "error": error.get("Error"), "reason": reason[:2000]}
    )
    cfn = state.get("cfn") or raw_input.get("cfn") or (state.get("resolved") or {}).get("cfn") or {}
    answered = False
    if cfn.get("requestId"):
        answered = outcomes.respond(cfn["requestId"], "FAILED", reason=reason)
    return {"announced": True, "answeredCloudFormation": answered}
