"""The Step Functions engine's Distributed Map, made to run as on AWS for what the rollout uses.

moto 5.2.5's engine (LocalStack's ASL interpreter) runs a ``Map`` with ``ProcessorConfig``
``Mode: DISTRIBUTED`` in-process: each item's child workflow is a frame of the parent, not an
execution of its own. Reading the items (``ItemReader`` ``s3:getObject``, ``ReaderConfig``
``InputType: JSON``), ``ItemSelector`` with ``$$.Map.Item.Value``, ``MaxConcurrency`` (at most N
children at once, also from ``MaxConcurrencyPath``), ``ToleratedFailurePercentagePath`` and the
optimized ``states:startExecution`` errors (``StepFunctions.ExecutionAlreadyExistsException``,
with :mod:`engine_integrations`) already work as on AWS. moto differs in these ways, each closed
here:

ToleratedFailurePercentage as an integer
    AWS accepts any number from 0 to 100 (Step Functions developer guide, "Tolerated failure
    threshold for Distributed Map state": "You must specify a value between zero and 100"); moto's
    ASL grammar takes only a decimal (``20.5``) and refuses ``20`` at CreateStateMachine
    (``ASLParserException ... no viable alternative at input '"ToleratedFailurePercentage":20'``).
    Here a Map state's integer percentage is read as the same decimal before the definition is
    parsed.

The tolerated failure threshold
    AWS (same page): the Map Run "fails automatically if it exceeds the threshold" -- the
    percentage of failed items is "the total number of failed or timed out items divided by the
    total number of items"; the default is zero, so "the workflow fails if any child workflow
    execution fails or times out"; with both a count and a percentage it fails when it exceeds
    either -- and "Step Functions returns a States.ExceedToleratedFailureThreshold error when the
    Map Run fails because the specified threshold is exceeded". It "can continue to run child
    workflows in a Map Run even after the tolerated failure threshold is exceeded, but before the
    Map Run fails". The error's cause is "The specified tolerated failure threshold was exceeded"
    (AWS's answer as recorded in LocalStack's AWS-validated TestState snapshots,
    ``test_state_configuration.snapshot.json``). moto counts failed items and never fails: a Map
    whose every item fails succeeds with ``null`` outputs. Here, once the failed (or timed out)
    items exceed a declared threshold (any failure when none is declared), no further item starts,
    the children already running finish, and the Map Run fails with that error: the Map state's
    Retry and Catch see it (``States.ExceedToleratedFailureThreshold`` or ``States.ALL``).

ResultWriter ``arn:aws:states:::s3:putObject``
    AWS (developer guide, "ResultWriter (Map)", "Exporting to Amazon S3"): the Map's output is
    ``{MapRunArn, ResultWriterDetails: {Bucket, Key}}`` with Key
    ``<Prefix>/<map run id>/manifest.json``; next to it ``SUCCEEDED_n.json`` (the succeeded child
    executions), ``FAILED_n.json`` ("all failed, timed out, and aborted child workflow
    executions") and ``PENDING_n.json`` ("all child workflow executions that weren't started
    because the Map Run failed or aborted"), each a JSON array of the children's records
    (Transformation ``NONE``: ``ExecutionArn``, ``Input``, ``InputDetails``, ``Name``, ``Output``,
    ``OutputDetails``, ``RedriveCount``, ``RedriveStatus``, ``RedriveStatusReason``, ``StartDate``,
    ``StateMachineArn``, ``Status``, ``StopDate``; Input and Output as JSON strings, dates like
    ``2025-02-04T01:49:50.099Z``), and the manifest ``{DestinationBucket, MapRunArn, ResultFiles:
    {FAILED: [{Key, Size}], PENDING: [...], SUCCEEDED: [...]}}``. The PENDING file means the
    results are written when the Map Run fails too. The Parameters' reference paths point into
    the Map state's input (same page: "If you specify an Amazon S3 bucket and object, or prefix,
    with a reference path to an existing key-value pair in your Distributed Map state input").
    moto resolves them against the Map's results (``Bucket.$: $.bucket`` fails the state with
    ``States.Runtime``), writes a manifest listing no files, and nothing when the Map Run fails.
    Here the paths read the state's input and the files are written -- also for a Map Run failed
    by its threshold, before the Map state fails -- a failed record carrying the child's ``Error``
    and ``Cause`` in place of ``Output`` (``RedriveStatus`` ``REDRIVABLE_BY_MAP_RUN``, the
    botocore enum value for a child redriven through its Map Run), a pending one its ``Input``
    and ``Status`` only (the page does not show a pending record; a child never started has no
    ARN, name or dates).

The child workflow execution
    AWS runs each item as a child execution of its own (``arn:...:execution:<state machine>/<Map
    label or id>:<uuid>``, named by the uuid, of the state machine ``<state machine>/<label>``):
    its context object's ``Execution`` and ``StateMachine`` are the child's. moto gives every child
    the parent's. Here each child gets its identity, which its result record carries too. (They are
    still not executions DescribeExecution or ListExecutions know.)

``$$.Execution.RedriveCount``
    AWS (developer guide, "Accessing execution data from the Context object"): ``Execution``
    holds ``RedriveCount``, "the number of times this execution has been redriven" -- 0 for a new
    one. moto has no such field: a path to it fails the state with ``States.Runtime``. Here every
    execution, and every child, starts with ``RedriveCount`` 0 (the emulator has no
    RedriveExecution).

``states:startExecution.sync`` / ``.sync:2`` details
    AWS describes the started execution as DescribeExecution does, in PascalCase, with
    ``InputDetails`` (and for a succeeded one ``OutputDetails``) ``{"Included": true}``; a failed
    or timed out one fails the task with ``States.TaskFailed`` and that description as the cause
    (LocalStack's AWS-validated snapshots, ``test_callback.snapshot.json``:
    ``test_start_execution_sync_delegate_failure``, ``test_start_execution_sync2``). moto's
    DescribeExecution has no ``inputDetails`` and :mod:`engine_integrations` PascalCases only the
    top-level keys (``"OutputDetails": {"included": true}``). Here both details are AWS's, and the
    cause lists its keys in AWS's (sorted) order.

Not here: ``ItemBatcher`` and ``RedriveExecution``/``RedriveMapRun`` (moto has neither; the
rollout uses neither).
"""

from __future__ import annotations

import datetime
import json
import threading
import time
import uuid
import weakref
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, cast

from moto.stepfunctions.parser.api import HistoryEventType, MapRunFailedEventDetails
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
    FailureEvent,
    FailureEventException,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
    StatesErrorNameType,
)
from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import EvalTimeoutError
from moto.stepfunctions.parser.asl.component.program import program as program_module
from moto.stepfunctions.parser.asl.component.state.exec import execute_state
from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.distributed_iteration_component import (
    DistributedIterationComponent,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.itemprocessor import (
    distributed_item_processor_worker,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.itemprocessor.map_run_record import (
    MapRunRecord,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_map.result_writer.resource_eval import (
    resource_eval_s3,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_map.result_writer.result_writer_decl import (
    ResultWriter,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_map.state_map import StateMap
from moto.stepfunctions.parser.asl.component.state.exec.state_map.tolerated_failure import (
    ToleratedFailureCountDecl,
    ToleratedFailurePercentageDecl,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn import (
    StateTaskServiceSfn,
)
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
from moto.stepfunctions.parser.asl.eval.program_state import ProgramError, ProgramStopped, ProgramTimedOut
from moto.stepfunctions.parser.asl.eval.states import ItemData, MapData
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
from moto.stepfunctions.parser.asl.utils.boto_client import boto_client_for
from moto.stepfunctions.parser.asl.utils.encoding import to_json_str
from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

from .patching import Patcher, PatchSet

DistributedItemProcessorWorker = distributed_item_processor_worker.DistributedItemProcessorWorker

_MAP = "moto.stepfunctions.parser.asl.component.state.exec.state_map"
_WORKERS = f"{_MAP}.iteration.itemprocessor"
PINNED_SOURCES: dict[str, str] = {
    # replaced or wrapped here
    "moto.stepfunctions.parser.asl.parse.asl_parser:AmazonStateLanguageParser.parse": "a59a7d18760fb22e",
    "moto.stepfunctions.parser.backend.execution_worker:"
    "ExecutionWorker._get_evaluation_environment": "ce8421b71dabea7d",
    f"{_MAP}.state_map:StateMap.from_state_props": "29a54c96bda4cf20",
    f"{_MAP}.state_map:StateMap._eval_execution": "fb4daa9ac528b07c",
    f"{_MAP}.iteration.distributed_iteration_component:DistributedIterationComponent._map_run": "e45cb604929ff346",
    f"{_WORKERS}.distributed_item_processor_worker:DistributedItemProcessorWorker._eval_job": "c97e0ed4aba18b55",
    f"{_MAP}.result_writer.result_writer_decl:ResultWriter._eval_body": "bcde5765f0a578a3",
    f"{_MAP}.result_writer.resource_eval.resource_eval_s3:ResourceEvalS3._handle_put_object": "0613338ea09e12ab",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn:"
    "StateTaskServiceSfn._build_sync_resolver": "0a833c2f9a9ce0aa",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn:"
    "StateTaskServiceSfn._build_sync2_resolver": "fbbf50b684b90a7e",
    # what the replacements rely on: a Map Run failure becomes MapRunFailed; a worker takes jobs
    # until the pool is empty; the ItemSelector's evaluation
    f"{_MAP}.iteration.distributed_iteration_component:DistributedIterationComponent._eval_body": "5f5e01607eb064fb",
    f"{_WORKERS}.distributed_item_processor_worker:DistributedItemProcessorWorker._eval_pool": "8797235af229965f",
    f"{_WORKERS}.inline_item_processor_worker:InlineItemProcessorWorker._eval_input": "c8a62d1f4864ec80",
    # a child's CPU: its program runs on a thread of its own, and each Task's body on another
    "moto.stepfunctions.parser.asl.component.program.program:Program.eval": "6d701880064a8970",
    "moto.stepfunctions.parser.asl.component.state.exec.execute_state:ExecutionState._evaluate_with_timeout": (
        "c56deda08a42e98d"
    ),
}

THRESHOLD_CAUSE = "The specified tolerated failure threshold was exceeded"
# The ResultWriter's files, in the manifest's order.
RESULT_STATUSES = ("FAILED", "PENDING", "SUCCEEDED")
FAILED_STATUSES = frozenset({"FAILED", "TIMED_OUT", "ABORTED"})
# The Map state's tolerance fields the definition declares: set on the Map's iteration component
# when the definition is parsed.
_DECLARED = "_vpcfactory_declared_thresholds"


# -- ToleratedFailurePercentage as an integer ---------------------------------------------------
def _float_percentages(definition: str) -> str:
    """``definition`` with each Map state's integer ``ToleratedFailurePercentage`` as a decimal
    (``20`` -> ``20.0``); the same string when it has none."""
    try:
        document = json.loads(definition)
    except (TypeError, ValueError):
        return definition
    changed = False
    stack = [document]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            value = node.get("ToleratedFailurePercentage")
            if node.get("Type") == "Map" and isinstance(value, int) and not isinstance(value, bool):
                node["ToleratedFailurePercentage"] = float(value)
                changed = True
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return json.dumps(document) if changed else definition


def _make_parse(original: Any) -> Any:
    def parse(definition: str) -> Any:
        return original(_float_percentages(definition))

    parse.__wrapped__ = original  # type: ignore[attr-defined]
    return parse


# -- $$.Execution.RedriveCount ------------------------------------------------------------------
def _make_environment(original: Any) -> Any:
    def _get_evaluation_environment(self: ExecutionWorker) -> Any:
        env = original(self)
        execution: dict[str, Any] = env.states.context_object.context_object_data["Execution"]
        execution.setdefault("RedriveCount", 0)
        return env

    _get_evaluation_environment.__wrapped__ = original  # type: ignore[attr-defined]
    return _get_evaluation_environment


# -- one Map Run: its children's records and its threshold --------------------------------------
def _date(moment: datetime.datetime) -> str:
    """A result record's date, as AWS writes it: ``2025-02-04T01:49:50.099Z``."""
    utc = moment.astimezone(datetime.UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def _json(value: Any) -> str:
    return to_json_str(value, separators=(",", ":"))


@dataclass
class _Child:
    """One item's child workflow execution."""

    index: int
    arn: str
    name: str
    state_machine_arn: str
    start: datetime.datetime = field(default_factory=lambda: datetime.datetime.now(datetime.UTC))
    input: Any = None
    status: str = "PENDING"
    output: Any = None
    error: str | None = None
    cause: str | None = None
    stop: datetime.datetime | None = None
    cpu_seconds: float | None = None
    """The CPU spent on it, start to end, on its worker thread and the threads moto started for it
    (its program's, its Tasks'; None: never started). Not part of its
    record: the benchmarks' model counts a child's own work by it (:func:`children_cpu_seconds`)."""

    def record(self) -> dict[str, Any]:
        """The child's entry in a ResultWriter file (keys in AWS's order)."""
        entry: dict[str, Any] = {"Input": _json(self.input), "InputDetails": {"Included": True}}
        if self.status == "PENDING":
            return {**entry, "Status": "PENDING"}
        entry = {"ExecutionArn": self.arn, **entry, "Name": self.name}
        if self.status == "SUCCEEDED":
            entry["Output"] = _json(self.output)
            entry["OutputDetails"] = {"Included": True}
            redrive = {
                "RedriveStatus": "NOT_REDRIVABLE",
                "RedriveStatusReason": "Execution is SUCCEEDED and cannot be redriven",
            }
        else:
            entry.update(
                {key: value for key, value in (("Error", self.error), ("Cause", self.cause)) if value is not None}
            )
            redrive = {"RedriveStatus": "REDRIVABLE_BY_MAP_RUN"}
        return dict(
            sorted(
                {
                    **entry,
                    "RedriveCount": 0,
                    **redrive,
                    "StartDate": _date(self.start),
                    "StateMachineArn": self.state_machine_arn,
                    "Status": self.status,
                    "StopDate": _date(self.stop or self.start),
                }.items()
            )
        )


@dataclass
class _MapRun:
    record_ref: weakref.ref[MapRunRecord]
    total: int
    count_declared: bool
    percentage_declared: bool
    children: dict[int, _Child] = field(default_factory=dict)
    failed: int = 0
    tripped: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def record(self) -> MapRunRecord:
        record = self.record_ref()
        assert record is not None, "the Map Run's record is gone"
        return record

    def child(self, index: int) -> _Child:
        name = str(uuid.uuid4())
        state_machine_arn = self.record.map_state_machine_arn
        arn = f"{state_machine_arn.replace(':stateMachine:', ':execution:', 1)}:{name}"
        return _Child(index=index, arn=arn, name=name, state_machine_arn=state_machine_arn)

    def _exceeded(self) -> bool:
        """AWS: "failed or timed out items divided by the total number of items" above the
        percentage, or more failed items than the count; any failure when neither is declared."""
        if not (self.count_declared or self.percentage_declared):
            return self.failed > 0
        if self.count_declared and self.failed > self.record.tolerated_failure_count:
            return True
        return self.percentage_declared and self.failed * 100 > self.record.tolerated_failure_percentage * self.total

    def finish(self, child: _Child) -> None:
        child.stop = child.stop or datetime.datetime.now(datetime.UTC)
        with self.lock:
            self.children[child.index] = child
            if child.status in ("FAILED", "TIMED_OUT"):
                self.failed += 1
                self.tripped = self.tripped or self._exceeded()

    def records(self, status: str) -> list[dict[str, Any]]:
        with self.lock:
            children = [self.children[index] for index in sorted(self.children)]
        wanted = FAILED_STATUSES if status == "FAILED" else {status}
        return [child.record() for child in children if child.status in wanted]


# Each Map Run's children and threshold, by moto's record of it (gone with the record: a run holds
# only a weak reference to it).
_runs: weakref.WeakKeyDictionary[MapRunRecord, _MapRun] = weakref.WeakKeyDictionary()
_runs_lock = threading.Lock()


# -- a child's CPU ---------------------------------------------------------------------------------
# moto runs a program on a thread of its own (``Program.eval``, to time it out) and each Task
# state's body on another (``ExecutionState._evaluate_with_timeout``), so a child's states, its
# StartExecution and its ``.sync`` polls run on threads its worker did not make itself. Those
# threads are counted to the child whose worker (or whose counted thread) started them.
_counting = threading.local()


class _CountedThread(threading.Thread):
    """``execute_state.Thread``: a thread started while a Map Run child runs counts its CPU to it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._child_cpu: _ChildCpu | None = getattr(_counting, "child", None)
        if self._child_cpu is not None:
            self._child_cpu.threads.append(self)

    def run(self) -> None:
        account = self._child_cpu
        if account is None:
            super().run()
            return
        _counting.child = account
        started = time.thread_time()
        try:
            super().run()
        finally:
            account.add(time.thread_time() - started)
            _counting.child = None


def _not_the_childs(seconds: float) -> None:
    """Take ``seconds`` of this thread's CPU off the child it counts for: moto learns that a
    ``.sync`` execution ended by asking DescribeExecution every 0.5 s of real time, as many times as
    the execution runs long in real time (more on a busy machine). AWS does not document how it
    learns it: the ``.sync`` policy (Step Functions developer guide, "IAM policies for AWS Step
    Functions") grants it a managed EventBridge rule,
    ``rule/StepFunctionsGetEventsForStepFunctionsExecutionRule``, which indicates it is notified,
    and ``states:DescribeExecution`` too. The poll that sees the end stays counted: the model
    counts one look at the ended execution, not moto's real-time polling."""
    account = getattr(_counting, "child", None)
    if account is not None:
        account.add(-seconds)


class _ThreadingWithCountedThreads(ModuleType):
    """Stands in for ``threading`` inside moto's program module: its ``Thread`` is counted."""

    Thread = _CountedThread

    def __getattr__(self, name: str) -> Any:
        return getattr(threading, name)


@dataclass
class _ChildCpu:
    """The CPU of one child's threads: its worker's own, plus each thread started on its behalf."""

    threads: list[threading.Thread] = field(default_factory=list)
    seconds: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, seconds: float) -> None:
        with self.lock:
            self.seconds += seconds

    def total(self, own: float) -> float:
        """``own`` plus its threads' CPU, once they have ended: each ends right after it reports
        its Task's end (``_evaluate_with_timeout``), so this waits microseconds, at most 1 s each."""
        for thread in list(self.threads):
            if thread.ident is not None:  # a thread made but never started has nothing to count
                thread.join(timeout=1.0)
        with self.lock:
            # never below zero: a Task thread that outlives the wait (a timed-out Task still polling)
            # has had its polls taken off but not its CPU added
            return max(0.0, own + self.seconds)


def children_cpu_seconds() -> dict[str, float]:
    """Child execution ARN -> the CPU seconds spent running it (its states, the calls it made, the
    ``.sync`` poll that saw the execution it started end -- not the polls before, see
    :func:`_not_the_childs` -- on its worker thread and the threads started for it), for every
    started child of the Map Runs still recorded. A thread's CPU time does not
    grow while it waits for a processor, so on a busy machine it stays what an idle one measures,
    where the child's wall-clock span does not. The execution a child starts runs on threads of its
    own and is not counted here."""
    with _runs_lock:
        runs = list(_runs.values())
    found: dict[str, float] = {}
    for run in runs:
        with run.lock:
            found.update({c.arn: c.cpu_seconds for c in run.children.values() if c.cpu_seconds is not None})
    return found


def _run_of(record: MapRunRecord) -> _MapRun | None:
    with _runs_lock:
        return _runs.get(record)


class ToleratedFailureThresholdExceeded(FailureEventException):
    """The Map Run failed because its failed items exceeded the tolerated threshold."""


def _make_from_state_props(original: Any) -> Any:
    def from_state_props(self: StateMap, state_props: Any) -> None:
        original(self, state_props)
        declared = (
            state_props.get(ToleratedFailureCountDecl) is not None,
            state_props.get(ToleratedFailurePercentageDecl) is not None,
        )
        setattr(self.iteration_component, _DECLARED, declared)

    from_state_props.__wrapped__ = original  # type: ignore[attr-defined]
    return from_state_props


def _make_map_run(original: Any) -> Any:
    def _map_run(self: DistributedIterationComponent, env: Any, eval_input: Any) -> None:
        record: MapRunRecord = eval_input.map_run_record
        # a program parsed before install(): a non-zero value was declared
        count_declared, percentage_declared = getattr(
            self, _DECLARED, (record.tolerated_failure_count != 0, record.tolerated_failure_percentage != 0)
        )
        run = _MapRun(weakref.ref(record), len(env.stack[-1]), count_declared, percentage_declared)
        with _runs_lock:
            _runs[record] = run
        original(self, env, eval_input)
        if run.tripped:
            raise ToleratedFailureThresholdExceeded(
                FailureEvent(
                    env=env,
                    error_name=StatesErrorName(typ=StatesErrorNameType.StatesExceedToleratedFailureThreshold),
                    event_type=HistoryEventType.MapRunFailed,
                    event_details=cast(
                        EventDetails,
                        {
                            "mapRunFailedEventDetails": MapRunFailedEventDetails(
                                error=StatesErrorNameType.StatesExceedToleratedFailureThreshold.to_name(),
                                cause=THRESHOLD_CAUSE,
                            )
                        },
                    ),
                )
            )

    _map_run.__wrapped__ = original  # type: ignore[attr-defined]
    return _map_run


def _make_eval_job(original: Any) -> Any:
    def _eval_job(self: DistributedItemProcessorWorker, env: Any, job: Any) -> None:
        run = _run_of(self._map_run_record)
        if run is None:
            return original(self, env, job)
        record = self._map_run_record
        child = run.child(job.job_index)
        cpu_started, cpu = time.thread_time(), _ChildCpu()
        counting, _counting.child = getattr(_counting, "child", None), cpu
        context = env.states.context_object.context_object_data
        job_output = None
        selected = started = False
        record.item_counter.total.count()
        try:
            context["Map"] = MapData(Item=ItemData(Index=job.job_index, Value=job.job_input))
            env.states.reset(job.job_input)
            env.stack.append(env.states.get_input())
            self._eval_input(env_frame=env)
            child.input, selected = env.states.get_input(), True
            if run.tripped:  # AWS: not started, "because the Map Run failed"
                record.item_counter.pending.count()
                return
            started = True
            child.status = "FAILED"
            record.item_counter.running.count()
            record.execution_counter.total.count()
            record.execution_counter.running.count()
            # the child's own execution, as AWS starts it
            context["Execution"] = {
                "Id": child.arn,
                "Input": child.input,
                "Name": child.name,
                "RoleArn": context["Execution"]["RoleArn"],
                "StartTime": _date(child.start),
                "RedriveCount": 0,
            }
            context["StateMachine"] = {
                "Id": child.state_machine_arn,
                "Name": child.state_machine_arn.split(":stateMachine:", 1)[-1],
            }
            job.job_program.eval(env)
            end = env.program_state()
            if isinstance(end, ProgramError):
                child.error = (end.error or {}).get("error")
                child.cause = (end.error or {}).get("cause")
            elif isinstance(end, ProgramTimedOut):
                child.status = "TIMED_OUT"
            elif isinstance(end, ProgramStopped):
                child.status = "ABORTED"
            else:
                child.status = "SUCCEEDED"
                child.output = job_output = env.states.get_input()
        except EvalTimeoutError:
            child.status = "TIMED_OUT"
        except FailureEventException as failure:
            child.error, child.cause = failure.extract_error_cause_pair() or (None, None)
        except Exception as exc:  # noqa: BLE001 - the child fails, as moto's worker lets it
            child.error, child.cause = StatesErrorNameType.StatesRuntime.to_name(), str(exc)
        finally:
            job.job_output = job_output
            if started:
                record.item_counter.running.offset(-1)
                record.execution_counter.running.offset(-1)
                counter = {"SUCCEEDED": "succeeded", "TIMED_OUT": "timed_out", "ABORTED": "aborted"}.get(
                    child.status, "failed"
                )
                for counts in (record.item_counter, record.execution_counter):
                    getattr(counts, counter).count()
                if child.status == "SUCCEEDED":
                    record.item_counter.results_written.count()
                    record.execution_counter.results_written.count()
            elif not selected:  # its ItemSelector failed: the child fails
                child.status = "FAILED"
                record.item_counter.failed.count()
            _counting.child = counting
            if started:
                child.cpu_seconds = cpu.total(time.thread_time() - cpu_started)
            run.finish(child)

    _eval_job.__wrapped__ = original  # type: ignore[attr-defined]
    return _eval_job


def _make_eval_execution(original: Any) -> Any:
    def _eval_execution(self: StateMap, env: Any) -> None:
        try:
            original(self, env)
        except ToleratedFailureThresholdExceeded:
            # AWS writes the results of a failed Map Run too (its PENDING file is for "child
            # workflow executions that weren't started because the Map Run failed").
            if self.result_writer is not None:
                env.stack.append(None)  # the Map's results, which moto's writer pops
                self.result_writer.eval(env)
                env.stack.pop()
            raise

    _eval_execution.__wrapped__ = original  # type: ignore[attr-defined]
    return _eval_execution


def _writer_eval_body(self: ResultWriter, env: Any) -> None:
    """The ResultWriter's Parameters, resolved against the Map state's input (moto: its results)."""
    results = env.stack.pop()
    env.stack.append(env.states.get_input())
    self.parargs.eval(env=env)
    parameters = env.stack.pop()
    env.stack.pop()
    env.stack.extend([results, parameters])
    self.resource_eval.eval_resource(env=env)


def _handle_put_object(env: Any, resource_runtime_part: Any, state_credentials: Any) -> None:
    """The ResultWriter's export: the manifest and one file per status of the Map Run's children."""
    parameters = env.stack.pop()
    env.stack.pop()  # the Map's results: the files are written from the Map Run's records
    s3: Any = boto_client_for(service="s3", region=resource_runtime_part.region, state_credentials=state_credentials)
    record = env.map_run_record_pool_manager.get_all().pop()  # this Map's, as moto finds it
    run = _run_of(record)
    bucket = parameters["Bucket"]
    prefix = parameters.get("Prefix") or ""
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    folder = f"{prefix}{record.map_run_arn.split(':')[-1]}/"
    files: dict[str, list[dict[str, Any]]] = {status: [] for status in RESULT_STATUSES}
    for status in RESULT_STATUSES:
        records = run.records(status) if run is not None else []
        if records:
            body = json.dumps(records).encode()
            key = f"{folder}{status}_0.json"
            s3.put_object(Bucket=bucket, Key=key, Body=body)
            files[status].append({"Key": key, "Size": len(body)})
    manifest = {"DestinationBucket": bucket, "MapRunArn": record.map_run_arn, "ResultFiles": files}
    key = f"{folder}manifest.json"
    s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(manifest).encode())
    env.stack.append({"MapRunArn": record.map_run_arn, "ResultWriterDetails": {"Bucket": bucket, "Key": key}})


# -- startExecution.sync / .sync:2 details ------------------------------------------------------
def _aws_details(description: dict[str, Any]) -> None:
    """DescribeExecution's ``InputDetails``/``OutputDetails`` as AWS gives them in the task."""
    description["InputDetails"] = {"Included": True}
    if "Output" in description or "OutputDetails" in description:
        description["OutputDetails"] = {"Included": True}


def _aws_cause(cause: str) -> str:
    try:
        description = json.loads(cause)
    except ValueError:
        return cause
    if not isinstance(description, dict):
        return cause
    _aws_details(description)
    return to_json_str(dict(sorted(description.items())))


def _make_resolver_builder(original: Any) -> Any:
    def build(self: StateTaskServiceSfn, *args: Any, **kwargs: Any) -> Any:
        resolver = original(self, *args, **kwargs)

        def resolve() -> Any:
            cpu_started = time.thread_time()
            try:
                description = resolver()
            except FailureEventException as failure:
                event_details: dict[str, Any] = dict(failure.failure_event.event_details or {})
                details = event_details.get("taskFailedEventDetails")
                if details is not None and isinstance(cause := details.get("cause"), str):
                    details["cause"] = _aws_cause(cause)
                raise
            if isinstance(description, dict):
                _aws_details(description)
            if not description:  # still running: moto polls again in 0.5 s (_not_the_childs)
                _not_the_childs(time.thread_time() - cpu_started)
            return description

        return resolve

    build.__wrapped__ = original  # type: ignore[attr-defined]
    return build


def _apply(patcher: Patcher) -> None:
    # checked before anything is patched: a refusal must not leave the set half-installed
    if execute_state.Thread is not threading.Thread or program_module.threading is not threading:
        raise RuntimeError("moto no longer makes its program and Task threads with threading.Thread")
    parse = AmazonStateLanguageParser.__dict__["parse"].__func__
    patcher.set(AmazonStateLanguageParser, "parse", staticmethod(_make_parse(parse)))
    patcher.set(
        ExecutionWorker,
        "_get_evaluation_environment",
        _make_environment(ExecutionWorker.__dict__["_get_evaluation_environment"]),
    )
    patcher.set(StateMap, "from_state_props", _make_from_state_props(StateMap.__dict__["from_state_props"]))
    patcher.set(StateMap, "_eval_execution", _make_eval_execution(StateMap.__dict__["_eval_execution"]))
    patcher.set(
        DistributedIterationComponent,
        "_map_run",
        _make_map_run(DistributedIterationComponent.__dict__["_map_run"]),
    )
    patcher.set(
        DistributedItemProcessorWorker,
        "_eval_job",
        _make_eval_job(DistributedItemProcessorWorker.__dict__["_eval_job"]),
    )
    _writer_eval_body.__wrapped__ = ResultWriter.__dict__["_eval_body"]  # type: ignore[attr-defined]
    patcher.set(ResultWriter, "_eval_body", _writer_eval_body)
    writer = resource_eval_s3.ResourceEvalS3
    _handle_put_object.__wrapped__ = writer.__dict__["_handle_put_object"].__func__  # type: ignore[attr-defined]
    patcher.set(writer, "_handle_put_object", staticmethod(_handle_put_object))
    for name in ("_build_sync_resolver", "_build_sync2_resolver"):
        patcher.set(StateTaskServiceSfn, name, _make_resolver_builder(StateTaskServiceSfn.__dict__[name]))
    patcher.set(execute_state, "Thread", _CountedThread)
    patcher.set(program_module, "threading", _ThreadingWithCountedThreads("threading"))


_patches = PatchSet(_apply)
installed = _patches.installed
install = _patches.install
uninstall = _patches.uninstall
