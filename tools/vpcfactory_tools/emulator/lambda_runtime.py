"""Run Lambda functions in-process instead of in Docker (no Docker daemon here, none needed).

moto's Lambda is real apart from the container: create_function, not-found errors, invoke
types and FunctionError all behave as on AWS. We replace the one method that starts the
container, `LambdaFunction._invoke_lambda(self, event) -> (payload_json, errored, logs)`, with a
call of the handler the function's `Handler` names. A raised exception is reported the way the
Lambda runtime reports it, `{"errorType": <class name>, ...}`, so ASL Retry/Catch match it by name.

A handler whose runtime *dies* (the emulator's ``--crash-after``, which raises :class:`RuntimeExit`,
or a handler calling ``sys.exit``) is reported as Lambda reports a runtime that exited mid-request:
``errorType`` ``Runtime.ExitError``, ``errorMessage`` "RequestId: ... Error: Runtime exited with
error: ...". Step Functions' ``lambda:invoke`` integration takes the task's error name from that
``errorType`` (the AWS docs also mention ``Lambda.Unknown`` for unhandled runtime failures such as
out-of-memory and time-outs); our ASL retries neither, so the task fails into its Catch.

While a handler runs, :func:`current_invocation` tells the emulator which function and which
Step Functions execution (the event's ``execution`` field) the running code works for; the fault
injection uses it to attribute EC2 calls to an execution and to kill only handlers, the IAM
enforcement to evaluate a call as the function's role. It is a context variable, and work a handler
hands to a ``concurrent.futures.ThreadPoolExecutor`` runs in a copy of the handler's context
(:func:`_submit_in_context`): a call from a handler's worker thread is the handler's call. (Without
that, a handler making its EC2 calls from a thread pool would escape IAM, faults and attribution: a
thread-local is empty in a new thread. On AWS the question does not arise: the whole sandbox is
the function.)

Each invocation counts the CPU seconds its threads used (the handler's thread and the pool work it
submitted), and of those the seconds spent in the emulator's own handling of its AWS requests
(:meth:`Usage.add_emulator`, from the latency model's dispatch hook): :func:`invocations` lists them,
so the benchmarks can count a handler's compute by the CPU it used, the same on a busy machine as on
an idle one, not by the wall-clock time it waited for the CPU (issue 16).

Two settings replay what AWS may do to a task, to prove the handlers idempotent end to end:
``duplicate_invocations`` runs every handler twice with the same input (Lambda's at-least-once
delivery; the workflow sees the second result, and :func:`duplicate_mismatches` lists the runs
whose two results differ beyond their poll state), and ``rerun_crashed`` runs a handler killed by
``crash_after`` once more with the same input, as a Retry or a redrive of the task would.
"""

from __future__ import annotations

import concurrent.futures
import contextvars
import copy
import importlib
import json
import threading
import time
import traceback
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from moto.awslambda.models import LambdaFunction

from .patching import Patcher, PatchSet
from .settings import HandOver, clock, current

_ORIGINAL = LambdaFunction._invoke_lambda
_ORIGINAL_SUBMIT = concurrent.futures.ThreadPoolExecutor.submit
_lock = threading.Lock()

EXIT_ERROR = "Runtime.ExitError"
# Fields of a handler's result that describe a poll's progress, not a resource: two runs of a
# check may legitimately see a NAT gateway pending, then available.
POLL_FIELDS = frozenset({"wait", "status", "attempts", "waitSeconds", "state"})
_mismatches: list[dict[str, Any]] = []
_reruns = {"duplicated": 0, "rerunAfterCrash": 0}
_duplicated_functions: set[str] = set()
_running = 0  # handler runs in progress (running_handlers)


class RuntimeExit(BaseException):
    """The Lambda runtime process died while a handler ran (e.g. killed, out of memory).

    A BaseException, so no ``except Exception`` in the handler, Powertools or botocore can
    swallow it: like a killed process, the handler never gets to return or clean up.
    """

    def __init__(self, reason: str = "signal: killed") -> None:
        super().__init__(reason)
        self.reason = reason


class Usage:
    """CPU seconds an invocation's threads used, and how many of them the emulator's own handling of
    its requests took (thread-safe: a handler's worker threads add to it)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.cpu_seconds = 0.0
        self.emulator_cpu_seconds = 0.0

    def add(self, seconds: float) -> None:
        with self._lock:
            self.cpu_seconds += seconds

    def add_emulator(self, seconds: float) -> None:
        with self._lock:
            self.emulator_cpu_seconds += seconds


@dataclass(frozen=True)
class Invocation:
    """The Lambda invocation the running code works for."""

    function_name: str
    execution: str | None = None
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    usage: Usage = field(default_factory=Usage, compare=False, repr=False)


@dataclass(frozen=True)
class InvocationRecord:
    """One finished handler run, for the benchmarks."""

    function_name: str
    execution: str | None
    started_at: float
    """Wall-clock time (``time.time()``) the handler run began."""
    ended_at: float
    cpu_seconds: float
    """CPU seconds its threads used, the emulator's handling of its requests included..."""
    emulator_cpu_seconds: float
    """... of which the emulator's own (moto answering its AWS requests): not the handler's compute."""

    @property
    def handler_cpu_seconds(self) -> float:
        return max(0.0, self.cpu_seconds - self.emulator_cpu_seconds)


_current: contextvars.ContextVar[Invocation | None] = contextvars.ContextVar("vpcfactory_invocation", default=None)
_MAX_RECORDS = 100_000
_records: deque[InvocationRecord] = deque(maxlen=_MAX_RECORDS)


def current_invocation() -> Invocation | None:
    """The invocation the running code works for (a handler, or work it handed to a thread pool),
    or None outside any handler."""
    return _current.get()


def invocations(execution: str | None = None) -> list[InvocationRecord]:
    """Finished handler runs since the last :func:`reset_invocations` (the latest 100,000), in the
    order they ended; with ``execution``, only that execution's."""
    with _lock:
        records = list(_records)
    return records if execution is None else [r for r in records if r.execution == execution]


def reset_invocations() -> None:
    with _lock:
        _records.clear()


def _execution_of(event: Any) -> str | None:
    execution = event.get("execution") if isinstance(event, dict) else None
    return execution if isinstance(execution, str) and execution else None


@contextmanager
def invocation(function_name: str, event: Any = None) -> Iterator[Invocation]:
    """Mark the running code as ``function_name`` for the event's execution (nests), and count the
    CPU this thread uses meanwhile; the run is recorded for :func:`invocations` when it ends."""
    current = Invocation(function_name, _execution_of(event))
    token = _current.set(current)
    started, cpu_started = time.time(), time.thread_time()
    try:
        with clock().flow():  # where it stands in simulated time: its pool work is handed over there
            yield current
    finally:
        current.usage.add(time.thread_time() - cpu_started)
        _current.reset(token)
        record = InvocationRecord(
            function_name,
            current.execution,
            started,
            time.time(),
            current.usage.cpu_seconds,
            current.usage.emulator_cpu_seconds,
        )
        with _lock:
            _records.append(record)


def _measured(
    running: Invocation | None, hand_over: HandOver | None, fn: Callable[..., Any], *args: Any, **kwargs: Any
) -> Any:
    """Run pool work, adding the CPU this worker thread spends on it to ``running``'s usage; a
    handler's work runs in simulated time from its hand-over (``SimClock.pool_task``)."""
    if running is None or hand_over is None:
        return fn(*args, **kwargs)
    cpu_started = time.thread_time()
    try:
        with clock().pool_task(hand_over):
            return fn(*args, **kwargs)
    finally:
        running.usage.add(time.thread_time() - cpu_started)


def _submit_in_context(
    self: concurrent.futures.ThreadPoolExecutor, fn: Callable[..., Any], /, *args: Any, **kwargs: Any
) -> concurrent.futures.Future[Any]:
    """ThreadPoolExecutor.submit that runs the work in a copy of the submitter's context (one copy
    per submission: a context cannot be entered by two threads at once), so work a handler hands to
    a pool stays that handler's (faults, IAM, attribution, CPU), and begins in simulated time when
    it was handed over (``SimClock.pool_task``: calls handed over at once overlap, as on AWS)."""
    context = contextvars.copy_context()
    running = context.get(_current)
    hand_over = clock().hand_over(self) if running is not None else None
    return _ORIGINAL_SUBMIT(self, context.run, _measured, running, hand_over, fn, *args, **kwargs)


class LambdaContext:
    """The attributes of the Lambda context object that our handlers and Powertools read."""

    def __init__(self, fn: LambdaFunction, request_id: str | None = None) -> None:
        self.function_name = fn.function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = fn.function_arn
        self.memory_limit_in_mb = int(fn.memory_size or 128)
        self.aws_request_id = request_id or str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{fn.function_name}"
        self.log_stream_name = "in-process"
        self._timeout_ms = int(fn.timeout or 3) * 1000

    def get_remaining_time_in_millis(self) -> int:
        return self._timeout_ms


def resolve_handler(handler: str) -> Any:
    module_name, _, attr = handler.rpartition(".")
    return getattr(importlib.import_module(module_name), attr)


def exit_error(request_id: str, reason: str) -> dict[str, str]:
    """The payload Lambda returns for a runtime that exited before the handler returned."""
    return {
        "errorType": EXIT_ERROR,
        "errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: {reason}",
    }


def running_handlers() -> int:
    """How many handler runs are in progress in this process (the CLI waits for them to end
    before it leaves an interrupted embedded emulator: a handler still running then would call
    AWS itself)."""
    with _lock:
        return _running


@contextmanager
def _counted() -> Iterator[None]:
    global _running
    with _lock:
        _running += 1
    try:
        yield
    finally:
        with _lock:
            _running -= 1


def _run_handler(fn: LambdaFunction, event: Any) -> tuple[Any, bool, bool]:
    """One run of the handler on a copy of the event: (result or error payload, errored, crashed)."""
    event = copy.deepcopy(event)
    with invocation(fn.function_name, event) as running:
        try:
            return resolve_handler(str(fn.handler))(event, LambdaContext(fn, running.request_id)), False, False
        except RuntimeExit as exc:
            return exit_error(running.request_id, exc.reason), True, True
        except SystemExit as exc:  # sys.exit() in a handler ends the runtime process too
            status = exc.code if isinstance(exc.code, int) else 1
            return exit_error(running.request_id, f"exit status {status}"), True, True
        except Exception as exc:  # the Lambda runtime reports every exception this way
            error = {
                "errorType": type(exc).__name__,
                "errorMessage": str(exc),
                "stackTrace": traceback.format_tb(exc.__traceback__),
            }
            return error, True, False


def without_poll_fields(value: Any) -> Any:
    """A handler result with its poll-progress fields removed, recursively."""
    if isinstance(value, dict):
        return {k: without_poll_fields(v) for k, v in value.items() if k not in POLL_FIELDS}
    if isinstance(value, list):
        return [without_poll_fields(v) for v in value]
    return value


def duplicate_mismatches() -> list[dict[str, Any]]:
    """Duplicated runs (``duplicate_invocations``) whose two results differ beyond poll fields."""
    with _lock:
        return list(_mismatches)


def rerun_counts() -> dict[str, int]:
    """How many handler runs were duplicated, and how many killed ones were run again."""
    with _lock:
        return dict(_reruns)


def duplicated_functions() -> set[str]:
    """The functions whose handler was run twice since the last :func:`reset_reruns`."""
    with _lock:
        return set(_duplicated_functions)


def reset_reruns() -> None:
    with _lock:
        _mismatches.clear()
        _duplicated_functions.clear()
        _reruns.update(duplicated=0, rerunAfterCrash=0)


def _invoke_in_process(self: LambdaFunction, event: Any = None) -> tuple[str, bool, str]:
    with _counted():
        return _invoke(self, event)


def _invoke(self: LambdaFunction, event: Any) -> tuple[str, bool, str]:
    if isinstance(event, (str, bytes)):
        event = json.loads(event or "{}")
    event = event if event is not None else {}
    settings = current()
    result, errored, crashed = _run_handler(self, event)
    if crashed and settings.rerun_crashed:
        with _lock:
            _reruns["rerunAfterCrash"] += 1
        result, errored, _ = _run_handler(self, event)
    elif not errored and settings.duplicate_invocations:
        first = result
        result, errored, _ = _run_handler(self, event)
        with _lock:
            _reruns["duplicated"] += 1
            _duplicated_functions.add(self.function_name)
            if errored or without_poll_fields(first) != without_poll_fields(result):
                _mismatches.append(
                    {"function": self.function_name, "first": first, "second": result, "errored": errored}
                )
    return json.dumps(result), errored, ""


def _apply(patcher: Patcher) -> None:
    """Run Lambda handlers in this process, their thread pools' work as theirs (idempotent; never
    undone)."""
    patcher.set(LambdaFunction, "_invoke_lambda", _invoke_in_process)
    patcher.set(concurrent.futures.ThreadPoolExecutor, "submit", _submit_in_context)


_patches = PatchSet(_apply, _lock, check_version=False)
installed = _patches.installed
install = _patches.install
