"""Report Leftovers: when a teardown cannot finish, say exactly what is left and why."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from vpcfactory.observability import lambda_handler
from vpcfactory.teardown import Teardown

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from vpcfactory.contracts import ReportLeftoversEvent

MAX_CAUSE = 32_000  # Fail state causes are capped at 32,768 characters


def _error(error):
    """{Error, Cause} with a Lambda error's cause reduced to its message: the stack trace is in the
    function's log, and in the Fail state's cause it would crowd out the list of what is left (the
    CloudFormation Reason and the announcement keep only the first few thousand characters)."""
    if not isinstance(error, dict):
        return error
    cause = error.get("Cause")
    try:
        parsed = json.loads(cause or "")
    except ValueError:
        return error
    if isinstance(parsed, dict) and parsed.get("errorMessage"):
        return {**error, "Cause": parsed["errorMessage"]}
    return error


@lambda_handler
def handler(event: ReportLeftoversEvent, context: LambdaContext) -> dict[str, Any]:
    leftovers = Teardown.for_event(event).leftovers()
    report = {
        "originalError": _error(event.get("error")),
        "teardownError": _error(event.get("teardownError")),
        "leftovers": leftovers,
    }
    return {"leftovers": leftovers, "cause": json.dumps(report)[:MAX_CAUSE]}
