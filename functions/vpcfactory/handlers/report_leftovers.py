"""Report Leftovers: when a teardown cannot finish, say exactly what is left and why."""

import json

from vpcfactory.observability import lambda_handler
from vpcfactory.teardown import Teardown

MAX_CAUSE = 32_000  # Fail state causes are capped at 32,768 characters


@lambda_handler
def handler(event, context):
    leftovers = Teardown.for_event(event).leftovers()
    report = {
        "originalError": event.get("error"),
        "teardownError": event.get("teardownError"),
        "leftovers": leftovers,
    }
    return {"leftovers": leftovers, "cause": json.dumps(report)[:MAX_CAUSE]}
