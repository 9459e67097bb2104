"""Run Lambda functions in-process instead of in Docker (no Docker daemon here, none needed).

moto's Lambda is real apart from the container: create_function, not-found errors, invoke
types and FunctionError all behave as on AWS. We replace the one method that starts the
container, `LambdaFunction._invoke_lambda(self, event) -> (payload_json, errored, logs)`, with a
call of the handler the function's `Handler` names. A raised exception is reported the way the
Lambda runtime reports it, `{"errorType": <class name>, ...}`, so ASL Retry/Catch match it by name.
"""

from __future__ import annotations

import importlib
import json
import threading
import traceback
import uuid
from typing import Any

from moto.awslambda.models import LambdaFunction

_ORIGINAL = LambdaFunction._invoke_lambda
_installed = False
_lock = threading.Lock()


class LambdaContext:
    """The attributes of the Lambda context object that our handlers and Powertools read."""

    def __init__(self, fn: LambdaFunction) -> None:
        self.function_name = fn.function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = fn.function_arn
        self.memory_limit_in_mb = int(fn.memory_size or 128)
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{fn.function_name}"
        self.log_stream_name = "in-process"
        self._timeout_ms = int(fn.timeout or 3) * 1000

    def get_remaining_time_in_millis(self) -> int:
        return self._timeout_ms


def resolve_handler(handler: str) -> Any:
    module_name, _, attr = handler.rpartition(".")
    return getattr(importlib.import_module(module_name), attr)


def _invoke_in_process(self: LambdaFunction, event: Any = None) -> tuple[str, bool, str]:
    if isinstance(event, (str, bytes)):
        event = json.loads(event or "{}")
    try:
        result = resolve_handler(self.handler)(event if event is not None else {}, LambdaContext(self))
        return json.dumps(result), False, ""
    except Exception as exc:  # the Lambda runtime reports every exception this way
        error = {
            "errorType": type(exc).__name__,
            "errorMessage": str(exc),
            "stackTrace": traceback.format_tb(exc.__traceback__),
        }
        return json.dumps(error), True, ""


def install() -> None:
    global _installed
    with _lock:
        if not _installed:
            LambdaFunction._invoke_lambda = _invoke_in_process  # type: ignore[method-assign]
            _installed = True
