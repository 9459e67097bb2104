"""The Step Functions API as AWS answers it, with moto's engine running the executions.

Operators drive the served emulator with the AWS CLI (the runbook, docs/operations.md): every
call it makes must be answered as AWS answers it, or a script that works here breaks on AWS (or
the reverse). Checked against botocore's model (``stepfunctions/2016-11-23``) and the API
reference; moto 5.2.5 differs in these ways, each closed here:

GetExecutionHistory
    AWS pages the events: ``maxResults`` "The default is 100 and the maximum allowed page size
    is 1000. A value of 0 uses the default", with a ``nextToken`` while more remain (an expired or
    foreign token is ``InvalidToken``); ``reverseOrder`` lists the latest events first;
    ``includeExecutionData: false`` leaves out "execution data (input or output of a history
    event)". moto ignores all three and returns every event, oldest first, in one page. Here the
    events come in pages, the token names the next event by id (stable while a running
    execution adds events), and without execution data every event's details lose ``input``,
    ``inputDetails``, ``output`` and ``outputDetails`` (the same four keys Step Functions leaves out
    of its CloudWatch Logs events when a state machine's ``includeExecutionData`` is false; a
    task's ``parameters`` stay, as the API reference names only input and output).

StopExecution
    AWS ends the execution at once: ``StopExecution`` answers ``stopDate`` (a required member),
    ``DescribeExecution`` shows ``ABORTED`` with that ``stopDate`` and the caller's ``error`` and
    ``cause`` (omitted when not given), the history's last event is ``ExecutionAborted``
    (``previousEventId`` 0; ``executionAbortedEventDetails`` holds the ``error`` and ``cause``
    given, ``{}`` without them) and nothing a state still in flight does afterwards is recorded or
    starts another state (a Lambda invoked before the stop still runs to its end, its result
    unused). (The history's shape is AWS's as recorded in LocalStack's AWS-validated snapshot of a
    stopped Wait; ``error``/``cause`` in DescribeExecution as measured on AWS in floci-io/floci#2734.)
    moto drops ``error`` and ``cause`` (its event carries empty strings), answers without
    ``stopDate``, and only marks the execution once its engine thread ends: an execution stopped
    while a Parallel branch runs a Lambda task stays ``RUNNING`` until that task returns, and the
    Parallel's completion is recorded after the stop. Here the stop interrupts the engine as moto
    does (waits end, no next state starts) and, in the same step, records ``ExecutionAborted``,
    seals the history and marks the execution ``ABORTED``; the engine thread's own end then
    changes nothing.

DescribeExecution (and ListExecutions, and a ``startExecution.sync`` parent) of an execution that
has just ended
    AWS shows an ended execution's status with its outcome: ``SUCCEEDED`` with its ``output``,
    ``FAILED`` with its ``error`` and ``cause``. moto's engine thread, at the end, sets the status
    first and the outcome after it (``_reflect_execution_status``; the output is a deep copy of the
    state's data): a DescribeExecution that runs in between answers ``SUCCEEDED`` with ``output``
    ``null``, or ``FAILED`` without error or cause. The window is short (copying a build's output
    takes about 0.1 ms) and a thread switch inside it rare, but a bench run makes dozens of builds
    while polling each: on a busy machine one "came back without output" (issue 16). Here the stop
    date and the outcome are set first and the status last, so any reader that sees the status
    sees the outcome too.

DescribeStateMachineForExecution
    AWS answers the state machine as the execution ran it, with ``updateDate`` (required), and
    ``ExecutionDoesNotExist`` for an unknown execution. moto answers the state machine's current
    version without ``updateDate``, and ``ResourceNotFound`` (not an error of this operation).

ListExecutions, ListStateMachines
    AWS refuses ``maxResults`` above 1000 and a ``statusFilter`` outside the enum
    (``ValidationException``; the AWS CLI does not check either), and a ``PENDING_REDRIVE`` filter
    with a ``stateMachineArn``. moto accepts them (an unknown status lists nothing).

DescribeExecution, ListExecutions
    ``stopDate`` is "the date the execution stopped" whenever it ended; moto leaves it out for
    ``TIMED_OUT`` (a build that ran past its ``TimeoutSeconds``). Here every ended execution has it.

ListExecutions with ``mapRunArn``, DescribeExecution of a Map Run's child
    A Distributed Map runs each item as a child execution, and AWS lists a Map Run's children:
    ListExecutions takes a ``mapRunArn`` ("the ARN of the Map Run that started the child workflow
    executions"; "either a mapRunArn or a stateMachineArn, but not both"), each listed with its
    ``mapRunArn`` and ``itemCount`` ("returned only if mapRunArn was specified"), most recent
    first; DescribeExecution describes a child as any execution (its ``input`` is the item, its
    ``error`` and ``cause``, ``mapRunArn``, ``redriveCount``/``redriveStatus``). An unknown Map Run
    is ``ResourceNotFound``. moto fails ListExecutions without a ``stateMachineArn`` (a 500) and
    knows no child (``ExecutionDoesNotExist``). Here both answer from the children
    :mod:`distributed_map` records, once each child has ended (a running child is not listed yet).

DescribeMapRun, ListMapRuns
    AWS answers them while other executions start. moto looks for the Map Run in every
    execution's engine environment, which an execution that is starting does not have yet: during
    a rollout (a Map Run whose children start builds) DescribeMapRun then fails with an
    AttributeError (a 500), and so does ListMapRuns of an execution that is starting. Here those
    executions are passed over (they have no Map Run yet).

StartExecution is made AWS-like in :mod:`engine_integrations`.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import json
import threading
import time
from typing import Any, cast

from moto.core.responses import ActionResult
from moto.core.utils import iso_8601_datetime_with_milliseconds
from moto.stepfunctions.exceptions import InvalidToken, ResourceNotFound, ValidationException
from moto.stepfunctions.parser.api import (
    ExecutionStatus,
    HistoryEventType,
)
from moto.stepfunctions.parser.asl.eval.program_state import (
    ProgramEnded,
    ProgramError,
    ProgramStopped,
    ProgramTimedOut,
)
from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication
from moto.stepfunctions.parser.models import StepFunctionsParserBackend
from moto.stepfunctions.responses import StepFunctionResponse

from .patching import Patcher, PatchSet

PINNED_SOURCES: dict[str, str] = {
    # the answers replaced here
    "moto.stepfunctions.responses:StepFunctionResponse.get_execution_history": "3889cc6224ac2f76",
    "moto.stepfunctions.responses:StepFunctionResponse.stop_execution": "633c8a544aacfd14",
    "moto.stepfunctions.responses:StepFunctionResponse.describe_state_machine_for_execution": "6ea2c887b4ce3e5e",
    "moto.stepfunctions.responses:StepFunctionResponse.list_executions": "6fec14cfc5afd6b8",
    "moto.stepfunctions.responses:StepFunctionResponse.list_state_machines": "eae80c26e1cab515",
    "moto.stepfunctions.responses:StepFunctionResponse.describe_execution": "c3953bdc9ce21fda",
    # what the stop relies on: how the engine stops, records events and reports its end (the
    # report is replaced too: its status set after its outcome)
    "moto.stepfunctions.parser.asl.eval.environment:Environment.set_stop": "163c10d46b1cb9b5",
    "moto.stepfunctions.parser.asl.eval.event.event_manager:EventManager.add_event": "cb430fa2e3fed3e8",
    "moto.stepfunctions.parser.backend.execution_worker:ExecutionWorker._execution_logic": "baa3e2a48fd228d9",
    "moto.stepfunctions.parser.backend.execution:BaseExecutionWorkerCommunication._reflect_execution_status": (
        "038a396107afe59b"
    ),
    # what a Map Run's children are found through: every execution's Map Run records, as moto's
    # DescribeMapRun finds them
    "moto.stepfunctions.responses:StepFunctionResponse.describe_map_run": "7f9bda65cebc4410",
    "moto.stepfunctions.responses:StepFunctionResponse.list_map_runs": "ce190792f66529a4",
    "moto.stepfunctions.parser.models:StepFunctionsParserBackend._get_executions": "99c66bbf9dd987f2",
    "moto.stepfunctions.parser.models:StepFunctionsParserBackend.describe_map_run": "256cb4a9431e76c6",
    "moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.itemprocessor.map_run_record:"
    "MapRunRecordPoolManager.get_all": "e708c350a132b276",
}

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
EXECUTION_DATA = ("input", "inputDetails", "output", "outputDetails")
STATUSES = tuple(status.value for status in ExecutionStatus)
# How long a stop waits for an execution's engine thread to record ExecutionStarted (it does so
# right after StartExecution answers; the wait only matters for a stop sent at that moment).
STARTED_WITHIN_SECONDS = 10.0

_stop_lock = threading.Lock()


# -- GetExecutionHistory ------------------------------------------------------------------------
def _page_size(value: int | None) -> int:
    if value is not None and value > MAX_PAGE_SIZE:
        raise ValidationException(
            f"1 validation error detected: Value '{value}' at 'maxResults' failed to satisfy "
            f"constraint: Member must have value less than or equal to {MAX_PAGE_SIZE}"
        )
    return value or DEFAULT_PAGE_SIZE


def _token(execution_arn: str, reverse: bool, next_event_id: int) -> str:
    body = json.dumps({"executionArn": execution_arn, "reverseOrder": reverse, "nextEventId": next_event_id})
    return base64.urlsafe_b64encode(body.encode()).decode()


def _next_event_id(token: str, execution_arn: str, reverse: bool) -> int:
    """The event a page starts at; a token from another call (or none of ours) is InvalidToken."""
    try:
        body = json.loads(base64.urlsafe_b64decode(token.encode()))
        matches = body["executionArn"] == execution_arn and body["reverseOrder"] == reverse
        next_event_id = body["nextEventId"]
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise InvalidToken() from exc
    if not matches or not isinstance(next_event_id, int):
        raise InvalidToken()
    return next_event_id


def _without_execution_data(event: dict[str, Any]) -> dict[str, Any]:
    for key, details in event.items():
        if key.endswith("EventDetails") and isinstance(details, dict):
            event[key] = {k: v for k, v in details.items() if k not in EXECUTION_DATA}
    return event


def history_page(
    events: list[dict[str, Any]],
    execution_arn: str,
    *,
    max_results: int | None = None,
    reverse: bool = False,
    next_token: str | None = None,
    include_execution_data: bool = True,
) -> dict[str, Any]:
    """One GetExecutionHistory page of ``events`` (the whole history, oldest first)."""
    size = _page_size(max_results)
    ordered = list(reversed(events)) if reverse else list(events)
    if next_token:
        start = _next_event_id(next_token, execution_arn, reverse)
        ordered = [e for e in ordered if (e["id"] <= start if reverse else e["id"] >= start)]
    page, rest = ordered[:size], ordered[size:]
    if not include_execution_data:
        page = [_without_execution_data(event) for event in page]
    answer: dict[str, Any] = {"events": page}
    if rest:
        answer["nextToken"] = _token(execution_arn, reverse, rest[0]["id"])
    return answer


def _get_execution_history(self: StepFunctionResponse) -> ActionResult:
    execution_arn = self._get_param("executionArn")
    include = self._get_param("includeExecutionData")
    max_results = self._get_int_param("maxResults")
    _page_size(max_results)  # refused before the lookup, as AWS validates the request first
    events = self.stepfunction_backend.get_execution_history(execution_arn)["events"]
    return ActionResult(
        history_page(
            events,
            execution_arn,
            max_results=max_results,
            reverse=bool(self._get_param("reverseOrder")),
            next_token=self._get_param("nextToken"),
            include_execution_data=include is None or bool(include),
        )
    )


# -- StopExecution ------------------------------------------------------------------------------
def _started_environment(execution: Any) -> Any:
    """The execution's engine environment once ExecutionStarted is recorded (None if it never is)."""
    deadline = time.monotonic() + STARTED_WITHIN_SECONDS
    while True:
        worker = execution.exec_worker
        env = worker.env if worker is not None else None
        if env is not None and env.event_manager._history_event_list:
            return env
        if time.monotonic() > deadline:
            return env
        time.sleep(0.001)


def _seal_history(manager: Any, error: str | None, cause: str | None, stop_date: datetime.datetime) -> None:
    """Record ExecutionAborted as the history's last event: later events are dropped.

    Under the manager's own lock, so an event being added right now lands before ours and any
    added later (a state still in flight) is not recorded."""

    def _dropped(**_: Any) -> None:
        return None

    # an ExecutionAbortedEventDetails (a TypedDict: a plain dict) with only the fields given
    details = {key: value for key, value in (("error", error), ("cause", cause)) if value is not None}
    with manager._mutex:
        event: dict[str, Any] = {
            "event_id": manager._event_id_gen.get(),
            "source_event_id": 0,
            "event_type": HistoryEventType.ExecutionAborted,
            "timestamp": iso_8601_datetime_with_milliseconds(stop_date),
            "event_details": {"executionAbortedEventDetails": details},  # an EventDetails
        }
        manager._publish_history_event(**event)
        manager._publish_history_log(**event)
        manager._publish_history_event = _dropped
        manager._publish_history_log = _dropped


def stop(execution: Any, error: str | None = None, cause: str | None = None) -> datetime.datetime:
    """Stop a running engine execution as StopExecution does on AWS; returns the stop date.

    An execution that is not running keeps its status and answers its own stop date."""
    env = _started_environment(execution)
    with _stop_lock:
        if execution.exec_status != ExecutionStatus.RUNNING or env is None:
            return execution.stop_date or datetime.datetime.now(tz=datetime.UTC)
        stop_date = datetime.datetime.now(tz=datetime.UTC)
        # The engine's own stop: every frame (Parallel branches, Map iterations) stops running,
        # waits end, and no state starts after the one in flight.
        env.set_stop(stop_date=stop_date, cause=cause, error=error)
        state = env.program_state()
        if not isinstance(state, ProgramStopped) or state.stop_date != stop_date:
            return execution.stop_date or stop_date  # it ended on its own a moment ago
        _seal_history(env.event_manager, error, cause, stop_date)
        # The engine thread reports its end when its last state in flight returns: nothing to
        # report by then (a failure of that state would otherwise turn ABORTED into FAILED).
        execution.exec_worker._execution_communication.terminated = lambda: None
        execution.error, execution.cause = error, cause
        execution.stop_date = stop_date
        execution.exec_status = ExecutionStatus.ABORTED
        return stop_date


def _make_stop_execution(original: Any) -> Any:
    def stop_execution(self: StepFunctionResponse) -> ActionResult:
        backend = self.stepfunction_backend
        if not isinstance(backend, StepFunctionsParserBackend):
            return original(self)
        error, cause = self._get_param("error"), self._get_param("cause")
        # The model's SensitiveError/SensitiveCause maxima; botocore checks only minimums, so
        # AWS's refusal is the emulator's to give.
        for member, value, most in (("error", error, 256), ("cause", cause, 32768)):
            if value is not None and len(value) > most:
                raise ValidationException(
                    f"1 validation error detected: Value at '{member}' failed to satisfy constraint: "
                    f"Member must have length less than or equal to {most}"
                )
        execution = backend.describe_execution(self._get_param("executionArn"))
        return ActionResult({"stopDate": stop(execution, error, cause)})

    stop_execution.__wrapped__ = original  # type: ignore[attr-defined]
    return stop_execution


# -- an ended execution: its outcome, then its status -------------------------------------------
def _reflect_execution_status(self: BaseExecutionWorkerCommunication) -> None:
    """moto's ``_reflect_execution_status`` with the status set last: a reader that sees an ended
    status sees its stop date and outcome (output; error and cause) with it."""
    execution: Any = self.execution  # moto types the worker, its environment and the error as optional
    state: Any = execution.exec_worker.env.program_state()
    execution.stop_date = datetime.datetime.now(tz=datetime.UTC)
    if isinstance(state, ProgramEnded):
        execution.output = execution.exec_worker.env.states.get_input()
        status = ExecutionStatus.SUCCEEDED
    elif isinstance(state, ProgramStopped):
        status = ExecutionStatus.ABORTED
    elif isinstance(state, ProgramError):
        details: Any = state.error
        execution.error, execution.cause = details.get("error"), details.get("cause")
        status = ExecutionStatus.FAILED
    elif isinstance(state, ProgramTimedOut):
        status = ExecutionStatus.TIMED_OUT
    else:
        raise RuntimeWarning(f"Execution ended with unsupported ProgramState type '{type(state)}'.")
    execution.exec_status = status


# -- DescribeStateMachineForExecution -----------------------------------------------------------
def _describe_state_machine_for_execution(self: StepFunctionResponse) -> ActionResult:
    backend = self.stepfunction_backend
    execution = backend.describe_execution(self._get_param("executionArn"))  # InvalidArn, ExecutionDoesNotExist
    # The engine keeps the state machine as it was when the execution started.
    machine = getattr(execution, "state_machine", None) or backend.describe_state_machine(execution.state_machine_arn)
    answer = {
        "stateMachineArn": getattr(machine, "source_arn", machine.arn),
        "name": machine.name,
        "definition": machine.definition,
        "roleArn": machine.roleArn,
        "updateDate": machine.update_date,
        "loggingConfiguration": machine.loggingConfiguration,
        "tracingConfiguration": machine.tracingConfiguration,
        "encryptionConfiguration": machine.encryptionConfiguration,
    }
    return ActionResult(answer)


# -- ListExecutions, ListStateMachines ----------------------------------------------------------
def _make_listing(original: Any, *, of_executions: bool) -> Any:
    def listing(self: StepFunctionResponse) -> ActionResult:
        _page_size(self._get_int_param("maxResults"))
        if of_executions and self._get_param("mapRunArn") is not None:
            return _list_children(self)
        if of_executions:
            status = self._get_param("statusFilter")
            if status is not None and status not in STATUSES:
                raise ValidationException(
                    f"1 validation error detected: Value '{status}' at 'statusFilter' failed to satisfy "
                    f"constraint: Member must satisfy enum value set: [{', '.join(STATUSES)}]"
                )
            if status == ExecutionStatus.PENDING_REDRIVE.value and self._get_param("stateMachineArn"):
                raise ValidationException("A PENDING_REDRIVE statusFilter requires a mapRunArn")
        answer = original(self)
        if of_executions:
            _with_stop_dates(self, cast(dict[str, Any], answer.result)["executions"])
        return answer

    listing.__wrapped__ = original  # type: ignore[attr-defined]
    return listing


# -- DescribeExecution, ListExecutions: stopDate ------------------------------------------------
def _with_stop_dates(self: StepFunctionResponse, items: list[dict[str, Any]]) -> None:
    for item in items:
        if item.get("status") not in (None, ExecutionStatus.RUNNING.value) and "stopDate" not in item:
            stop_date = self.stepfunction_backend.describe_execution(item["executionArn"]).stop_date
            if stop_date is not None:
                item["stopDate"] = stop_date


def _make_describe_execution(original: Any) -> Any:
    def describe_execution(self: StepFunctionResponse) -> ActionResult:
        found = _child(self.stepfunction_backend, self._get_param("executionArn") or "")
        if found is not None:
            return ActionResult(_describe_child(*found))
        answer = original(self)
        _with_stop_dates(self, [cast(dict[str, Any], answer.result)])
        return answer

    describe_execution.__wrapped__ = original  # type: ignore[attr-defined]
    return describe_execution


# -- a Map Run's children: ListExecutions (mapRunArn), DescribeExecution ------------------------
def _map_run_records(backend: Any) -> list[Any]:
    """Every Map Run of every execution (moto keeps them in the execution's environment)."""
    return [record for execution in backend._get_executions() for record in _records_of(execution)]


def _records_of(execution: Any) -> list[Any]:
    """The execution's Map Runs; none while it starts (its engine has no environment yet)."""
    env = getattr(getattr(execution, "exec_worker", None), "env", None)
    manager = getattr(env, "map_run_record_pool_manager", None)
    return manager.get_all() if manager is not None else []


def _make_describe_map_run(original: Any) -> Any:
    def describe_map_run(self: StepFunctionResponse) -> ActionResult:
        backend = self.stepfunction_backend
        if not isinstance(backend, StepFunctionsParserBackend):
            return original(self)
        map_run_arn = self._get_param("mapRunArn")
        record = next((r for r in _map_run_records(backend) if r.map_run_arn == map_run_arn), None)
        if record is None:
            raise ResourceNotFound(map_run_arn)
        return ActionResult(record.describe())

    describe_map_run.__wrapped__ = original  # type: ignore[attr-defined]
    return describe_map_run


def _make_list_map_runs(original: Any) -> Any:
    def list_map_runs(self: StepFunctionResponse) -> ActionResult:
        backend = self.stepfunction_backend
        if not isinstance(backend, StepFunctionsParserBackend):
            return original(self)
        execution = backend.describe_execution(self._get_param("executionArn"))  # ExecutionDoesNotExist
        return ActionResult({"mapRuns": [record.list_item() for record in _records_of(execution)]})

    list_map_runs.__wrapped__ = original  # type: ignore[attr-defined]
    return list_map_runs


def _children_of(record: Any) -> list[Any]:
    """The Map Run's children that ran and ended, as distributed_map recorded them (none without it;
    a child never started because the Map Run failed is PENDING: no execution)."""
    from . import distributed_map

    run = distributed_map._run_of(record) if distributed_map.installed() else None
    if run is None:
        return []
    with run.lock:
        children = list(run.children.values())
    return [child for child in children if child.status != "PENDING"]


def _child(backend: Any, execution_arn: str) -> tuple[Any, str] | None:
    """(the child, its Map Run's ARN) of a child execution's ARN (execution:<machine>/<label>:<id>)."""
    if not isinstance(backend, StepFunctionsParserBackend) or "/" not in execution_arn.split(":execution:")[-1]:
        return None
    for record in _map_run_records(backend):
        for child in _children_of(record):
            if child.arn == execution_arn:
                return child, record.map_run_arn
    return None


def _list_item(child: Any, map_run_arn: str) -> dict[str, Any]:
    item = {
        "executionArn": child.arn,
        "stateMachineArn": child.state_machine_arn,
        "name": child.name,
        "status": child.status,
        "startDate": child.start,
        "stopDate": child.stop or child.start,
        "mapRunArn": map_run_arn,
        "itemCount": 1,  # items per child: one without an ItemBatcher
        "redriveCount": 0,
    }
    return item


def _describe_child(child: Any, map_run_arn: str) -> dict[str, Any]:
    answer = {
        **{key: value for key, value in _list_item(child, map_run_arn).items() if key != "itemCount"},
        "input": json.dumps(child.input, separators=(",", ":")),
        "inputDetails": {"included": True},
    }
    if child.status == "SUCCEEDED":
        answer["output"] = json.dumps(child.output, separators=(",", ":"))
        answer["outputDetails"] = {"included": True}
        answer["redriveStatus"] = "NOT_REDRIVABLE"
        answer["redriveStatusReason"] = "Execution is SUCCEEDED and cannot be redriven"
    else:
        answer.update({key: value for key, value in (("error", child.error), ("cause", child.cause)) if value})
        answer["redriveStatus"] = "REDRIVABLE_BY_MAP_RUN"
    return answer


def _list_children(self: StepFunctionResponse) -> ActionResult:
    map_run_arn = self._get_param("mapRunArn")
    if self._get_param("stateMachineArn") is not None:
        raise ValidationException("You can specify either a mapRunArn or a stateMachineArn, but not both")
    status = self._get_param("statusFilter")
    if status is not None and status not in STATUSES:
        raise ValidationException(
            f"1 validation error detected: Value '{status}' at 'statusFilter' failed to satisfy "
            f"constraint: Member must satisfy enum value set: [{', '.join(STATUSES)}]"
        )
    backend = self.stepfunction_backend
    record = next((r for r in _map_run_records(backend) if r.map_run_arn == map_run_arn), None)
    if record is None:
        raise ResourceNotFound(map_run_arn)
    # most recent first (ListExecutions: "sorted by time, with the most recent execution first")
    children = sorted(_children_of(record), key=lambda c: (c.start, c.arn), reverse=True)
    if status is not None:
        children = [c for c in children if c.status == status]
    token = self._get_param("nextToken")
    if token:
        start = _next_child(token, map_run_arn)
        children = [c for c in children if (c.start.isoformat(), c.arn) <= start]
    size = _page_size(self._get_int_param("maxResults"))
    page, rest = children[:size], children[size:]
    answer: dict[str, Any] = {"executions": [_list_item(child, map_run_arn) for child in page]}
    if rest:
        body = json.dumps({"mapRunArn": map_run_arn, "next": [rest[0].start.isoformat(), rest[0].arn]})
        answer["nextToken"] = base64.urlsafe_b64encode(body.encode()).decode()
    return ActionResult(answer)


def _next_child(token: str, map_run_arn: str) -> tuple[str, str]:
    """Where a page of a Map Run's children starts; a token of another listing is InvalidToken."""
    try:
        body = json.loads(base64.urlsafe_b64decode(token.encode()))
        start, arn = body["next"]
        matches = body["mapRunArn"] == map_run_arn and isinstance(start, str) and isinstance(arn, str)
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise InvalidToken() from exc
    if not matches:
        raise InvalidToken()
    return start, arn


def _apply(patcher: Patcher) -> None:
    response = StepFunctionResponse
    _get_execution_history.__wrapped__ = response.get_execution_history  # type: ignore[attr-defined]
    _describe_state_machine_for_execution.__wrapped__ = (  # type: ignore[attr-defined]
        response.describe_state_machine_for_execution
    )
    _reflect_execution_status.__wrapped__ = (  # type: ignore[attr-defined]
        BaseExecutionWorkerCommunication._reflect_execution_status
    )
    patcher.set(BaseExecutionWorkerCommunication, "_reflect_execution_status", _reflect_execution_status)
    patcher.set(response, "get_execution_history", _get_execution_history)
    patcher.set(response, "stop_execution", _make_stop_execution(response.stop_execution))
    patcher.set(response, "describe_state_machine_for_execution", _describe_state_machine_for_execution)
    patcher.set(response, "list_executions", _make_listing(response.list_executions, of_executions=True))
    patcher.set(response, "describe_execution", _make_describe_execution(response.describe_execution))
    patcher.set(response, "list_state_machines", _make_listing(response.list_state_machines, of_executions=False))
    patcher.set(response, "describe_map_run", _make_describe_map_run(response.describe_map_run))
    patcher.set(response, "list_map_runs", _make_list_map_runs(response.list_map_runs))


_patches = PatchSet(_apply)
installed = _patches.installed
install = _patches.install
uninstall = _patches.uninstall
