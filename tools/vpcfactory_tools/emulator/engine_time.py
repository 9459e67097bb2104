"""Scale the sleeps of moto's Step Functions engine, and botocore's retry back-off, by
``EmulatorSettings.time_scale``.

moto's ASL interpreter really sleeps: a Wait state blocks on
``env.program_state_event.wait(seconds)`` (``WaitFunction._wait_interval``) and a Retry
interval calls ``time.sleep(interval)`` (``RetrierDecl._eval_body``). After
:func:`install`, both take ``seconds * current().time_scale`` real seconds, read at the
moment the sleep starts. Waits stay interruptible: stopping an execution ends them.

botocore sleeps too: between the attempts of a retried call (standard mode: up to 20 s of
exponential back-off with jitter per attempt), ``Endpoint._needs_retry`` calls
``time.sleep(delay)`` in ``botocore.endpoint``. Those are the handlers' own SDK retries
against the emulator's throttling and injected 5xx errors, so they are simulated time as well:
after :func:`install` they take ``delay * time_scale`` real seconds. This applies to every
botocore client in the emulator's process (handlers, the engine's Lambda client, tests), never
to a process that does not run the emulator.

:func:`simulated_seconds_waited` reports the simulated seconds the engine has slept
(Wait states plus Retry intervals, summed over all executions and branches);
:func:`simulated_sdk_seconds_slept` the simulated seconds botocore slept between attempts.

Every one of these sleeps is a simulated sleep on the clock (``SimClock.sleeping``): when the
clock simulates (an execution under the latency model, :mod:`.latency`), these sleeps and the EC2
calls' latencies are what moves simulated time, and the engine's and the handlers' compute does
not (the model: :mod:`.settings`).

Real time must not grow with the account's history either. moto looks up one resource's tags
(``TaggedEC2Resource.get_tags``, used by every ``tag:`` filter on every resource) by scanning
every tag in the account with regular expressions, and keeps the tags of deleted resources: a
Describe with a tag filter costs resources x all tags ever created, and a long run (the
reliability sweeps build and delete hundreds of VPCs on one emulator) slows down
quadratically. After :func:`install` the lookup reads the resource's own tags directly -- the
same answer (resource ids are fixed-format, so the scan's anchored-regex match is an exact
match), in constant time. And moto's engine parses the state machine's definition with ANTLR
at the start of every execution (0.1-0.3 s for the build ASL, about a fifth of a build on the
emulator); after :func:`install` each definition is parsed once and its program reused -- by
``CreateStateMachine`` too, which parses it to validate it (the stack's three definitions cost
nearly half of deploying it, and every emulator a test suite starts deploys them again); a
definition an earlier process found valid is not parsed to create its machine at all, only when
an execution first runs it (kept on disk, :func:`_cached_validation`). The
program is a tree of immutable components: an execution keeps its state in its own Environment
(``env.heap``, ``env.stack``), so executions -- concurrent ones included -- can share it.

What the engine itself computes between two history events is measured too, for the benchmarks'
model (``bench/model.py``): after :func:`install` each event an execution records carries the
recording thread and that thread's CPU time then (:func:`event_cpu`). The history's timestamps are
wall-clock milliseconds: on a busy machine they grow with the wait for a CPU, the thread's CPU
time does not. Nothing an execution answers changes.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import threading
import time
from collections.abc import Callable, Iterator
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import Any

import moto
from botocore import endpoint as botocore_endpoint
from moto.ec2.models.core import TaggedEC2Resource
from moto.ec2.utils import EC2_PREFIX_TO_RESOURCE, get_prefix
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from moto.stepfunctions.parser.asl.component.eval_component import EvalComponent
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import (
    WaitFunction,
)
from moto.stepfunctions.parser.asl.eval.event.event_manager import EventManager
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker
from moto.stepfunctions.parser.models import StepFunctionsParserBackend, stepfunctions_parser_backends

from . import disk_cache
from .patching import Patcher, PatchSet
from .settings import clock

PINNED_SOURCES: dict[str, str] = {
    "moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function:"
    "WaitFunction._wait_interval": "8f954dee80372b4b",
    "moto.stepfunctions.parser.asl.component.common.retry.retrier_decl:RetrierDecl._eval_body": "48463fff19cefa98",
    # botocore: the one sleep between the attempts of a retried call
    "botocore.endpoint:Endpoint._needs_retry": "9621767a04c7931a",
    # one resource's tags: replaced by a direct lookup with the same result
    "moto.ec2.models.core:TaggedEC2Resource.get_tags": "73ba6daeb7cb331e",
    "moto.ec2.models.tags:TagBackend.describe_tags": "2a65a6b5f69a78e9",
    # an execution's program: parsed once per definition
    "moto.stepfunctions.parser.backend.execution_worker:ExecutionWorker._get_evaluation_entrypoint": "2b25949ae855da80",
    "moto.stepfunctions.parser.asl.parse.asl_parser:AmazonStateLanguageParser.parse": "a59a7d18760fb22e",
    "moto.stepfunctions.parser.models:StepFunctionsParserBackend._validate_definition": "a5921e3d3b46dcd3",
    # each history event's thread CPU: recorded after moto's own bookkeeping (sfn_api pins its source)
    "moto.stepfunctions.parser.asl.eval.event.event_manager:EventManager.add_event": "cb430fa2e3fed3e8",
}

_lock = threading.Lock()
_waited = 0.0
_sdk_slept = 0.0


def simulated_seconds_waited() -> float:
    """Simulated seconds slept by Wait states and Retry intervals since the last reset."""
    with _lock:
        return _waited


def simulated_sdk_seconds_slept() -> float:
    """Simulated seconds botocore slept between retry attempts since the last reset."""
    with _lock:
        return _sdk_slept


def reset() -> None:
    global _waited, _sdk_slept
    with _lock:
        _waited = _sdk_slept = 0.0


def _record(seconds: float) -> None:
    global _waited
    with _lock:
        _waited += seconds


def _record_sdk(seconds: float) -> None:
    global _sdk_slept
    with _lock:
        _sdk_slept += seconds


# moto signals a stop by pulsing ``env.program_state_event`` (set, then clear at once): a wait
# that starts just after the pulse misses it. So a wait re-checks whether the run still runs at
# least this often (real seconds).
STOP_CHECK_SECONDS = 0.05


def _scaled_wait_interval(self: WaitFunction, env: Any, wait_seconds: int) -> None:
    """A Wait state of ``wait_seconds`` simulated seconds, cut short if the run stops."""
    if wait_seconds <= 0:
        return
    _record(wait_seconds)
    with clock().sleeping(wait_seconds) as sleep:
        while env.is_running():
            remaining = sleep.deadline - time.monotonic()
            if remaining <= 0:
                return
            env.program_state_event.wait(min(remaining, STOP_CHECK_SECONDS))
        sleep.interrupted = True


class _ScaledTime(ModuleType):
    """Stands in for ``time`` inside one module: ``sleep`` is a simulated sleep (and recorded),
    the rest is the real time module."""

    def __init__(self, name: str, record: Callable[[float], None]) -> None:
        super().__init__(name)
        self._record = record

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)

    def sleep(self, seconds: float) -> None:
        self._record(seconds)
        clock().sleep(seconds)


def _own_tags(self: Any) -> list[dict[str, str]]:
    """``TaggedEC2Resource.get_tags``: what ``describe_tags(filters={"resource-id": [self.id]})``
    returns, read from the resource's own entry instead of a scan of every tag."""
    if not self.id:
        return []
    tags = self.ec2_backend.tags.get(self.id) or {}
    resource_type = EC2_PREFIX_TO_RESOURCE.get(get_prefix(self.id), "")
    return [
        {"resource_id": self.id, "key": key, "value": value, "resource_type": resource_type}
        for key, value in list(tags.items())
    ]


@functools.lru_cache(maxsize=64)
def _program(definition: str, parse: Callable[[str], Any] | None = None) -> Any:
    """The program of ``definition`` as ``parse`` reads it (by default the parser in effect). The
    parser is part of the key: patches change what parses (distributed_map's accepts an integer
    ToleratedFailurePercentage), and plain moto must not be handed what the patched parser read."""
    program = (parse or AmazonStateLanguageParser.parse)(definition)[0]
    _assign_heap_keys(program)
    return program


def components(root: Any) -> Iterator[Any]:
    """Every object of a parsed program: its components and what they hold, each once."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        yield node
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, (list, tuple, set, frozenset)):
            stack.extend(node)
        elif hasattr(node, "__dict__") and type(node).__module__.startswith("moto.stepfunctions.parser"):
            stack.extend(vars(node).values())


def _assign_heap_keys(root: Any) -> None:
    """Give every component of a shared program its ``heap_key`` before any execution runs it.

    moto's engine keeps per-execution state (a Retry's attempt number, a Map's counters) in the
    execution's heap under the component's ``heap_key``, which the component creates the first
    time it is read. Executions sharing one parsed program would race on that first read: two
    keys, and one execution's attempt counter lost (a Retry with MaxAttempts 2 ran 3 times).
    """
    for node in components(root):
        if isinstance(node, EvalComponent):
            _ = node.heap_key


# lru_cache does not hold a lock while it computes: executions started together would each miss
# and parse the same definition. Parsing is single-flight so a definition is parsed exactly once.
_parse_lock = threading.Lock()


def _cached_entrypoint(self: ExecutionWorker) -> Any:
    """``ExecutionWorker._get_evaluation_entrypoint``: the definition's program, parsed once."""
    with _parse_lock:
        return _program(self._evaluation_details.state_machine_details.definition, AmazonStateLanguageParser.parse)


VALID_DEFINITIONS_KIND = "valid-definitions"
VALID_DEFINITIONS_KEPT = 512  # a few bytes each; a test suite creates a few hundred machines of its own


@functools.cache
def _parser_identity() -> str:
    """What decides whether a definition parses: moto's and the ANTLR runtime's versions and the
    emulator's own sources (its patches change what parses: distributed_map's accepts an integer
    ToleratedFailurePercentage)."""
    digest = hashlib.sha256(f"moto {moto.__version__} antlr4 {metadata.version('antlr4-python3-runtime')}".encode())
    for source in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(source.name.encode() + b"\0" + source.read_bytes())
    return digest.hexdigest()


def _known_valid(definition: str, parse: Callable[[str], Any]) -> tuple[bool, str]:
    """Whether ``parse`` (the parser in effect: plain moto's, or distributed_map's) found
    ``definition`` valid in an earlier process; and the entry's name."""
    parser = f"{parse.__module__}.{parse.__qualname__}:{_parser_identity()}"
    name = disk_cache.key({"definition": definition, "parser": parser})
    return disk_cache.read(VALID_DEFINITIONS_KIND, name) is True, name


def _cached_validation(original: Callable[[str], None]) -> Callable[[str], None]:
    """``StepFunctionsParserBackend._validate_definition``: a definition that parses is valid, and
    its program is the one its executions will run; one that does not is left to moto, which
    raises ``InvalidDefinition`` with its own message.

    A definition this parser found valid in an earlier process is not parsed again to create its
    state machine (disk_cache: ~0.15 s of CPU each; an embedded CLI run or a served emulator
    deploys three and runs one or two): its program is parsed when an execution first runs it. Only
    valid ones are kept: a definition that does not parse is refused, with moto's message, each time."""

    def _validate_definition(definition: str) -> None:
        parse = AmazonStateLanguageParser.parse
        valid, name = _known_valid(definition, parse)
        if valid:
            return
        with _parse_lock:
            try:
                _program(definition, parse)
            except Exception:  # noqa: BLE001 - moto's own validation says what is wrong
                pass
            else:
                disk_cache.write(VALID_DEFINITIONS_KIND, name, True, keep=VALID_DEFINITIONS_KEPT)
                return
        original(definition)

    _validate_definition.__wrapped__ = original  # type: ignore[attr-defined]
    return _validate_definition


# -- the engine's CPU between history events --------------------------------------------------------
_MARKS = "_vpcfactory_cpu_marks"
# Each thread's own number, for the marks: a thread ident is reused once its thread has ended, and a
# Parallel branch or Map iteration runs on a thread of its own that ends with it.
_thread_numbers = itertools.count(1)
_this_thread = threading.local()


def _thread_number() -> int:
    number = getattr(_this_thread, "number", None)
    if number is None:
        number = _this_thread.number = next(_thread_numbers)
    return number


def _marking_add_event(original: Callable[..., int]) -> Callable[..., int]:
    """``EventManager.add_event``: the event as moto records it, then (thread, thread CPU) for it."""

    def add_event(self: EventManager, *args: Any, **kwargs: Any) -> int:
        event_id = original(self, *args, **kwargs)
        marks = self.__dict__.get(_MARKS)
        if marks is None:
            marks = self.__dict__.setdefault(_MARKS, {})
        marks[event_id] = (_thread_number(), time.thread_time())
        return event_id

    add_event.__wrapped__ = original  # type: ignore[attr-defined]
    return add_event


def event_cpu(execution_arn: str) -> dict[int, tuple[int, float]]:
    """The events ``execution_arn`` recorded since :func:`install`: event id -> (the recording
    thread, by a number of its own, and its CPU seconds then). A thread's CPU between two of its events is what it
    computed between them, however long it waited for a processor; empty if the execution is not
    this process's or recorded nothing."""
    parts = execution_arn.split(":")
    if len(parts) < 8 or parts[5] != "execution":
        raise ValueError(f"not an execution ARN: {execution_arn!r}")
    region, account = parts[3], parts[4]
    try:
        execution = stepfunctions_parser_backends[account][region].describe_execution(execution_arn)
    except Exception:  # noqa: BLE001 - ExecutionDoesNotExist, or no such backend: nothing recorded
        return {}
    worker = getattr(execution, "exec_worker", None)  # the parser backend's executions have one
    env = getattr(worker, "env", None)
    manager = getattr(env, "event_manager", None)
    return dict(manager.__dict__.get(_MARKS, {})) if manager is not None else {}


def _apply(patcher: Patcher) -> None:
    """Make engine and SDK sleeps simulated sleeps; tag lookups constant-time; each definition parsed
    once per process (idempotent)."""
    original = WaitFunction.__dict__["_wait_interval"]
    _scaled_wait_interval.__wrapped__ = original  # type: ignore[attr-defined]
    patcher.set(WaitFunction, "_wait_interval", _scaled_wait_interval)
    original_entrypoint = ExecutionWorker.__dict__["_get_evaluation_entrypoint"]
    _cached_entrypoint.__wrapped__ = original_entrypoint  # type: ignore[attr-defined]
    patcher.set(ExecutionWorker, "_get_evaluation_entrypoint", _cached_entrypoint)
    original_validation = StepFunctionsParserBackend.__dict__["_validate_definition"].__func__
    patcher.set(
        StepFunctionsParserBackend, "_validate_definition", staticmethod(_cached_validation(original_validation))
    )
    patcher.set(EventManager, "add_event", _marking_add_event(EventManager.__dict__["add_event"]))
    original_get_tags = TaggedEC2Resource.__dict__["get_tags"]
    _own_tags.__wrapped__ = original_get_tags  # type: ignore[attr-defined]
    patcher.set(TaggedEC2Resource, "get_tags", _own_tags)
    for module, record in ((retrier_decl, _record), (botocore_endpoint, _record_sdk)):
        if module.time is not time:
            raise RuntimeError(f"{module.__name__} no longer sleeps through the time module")
        patcher.set(module, "time", _ScaledTime("time", record))


_patches = PatchSet(_apply, _lock)
installed = _patches.installed
install = _patches.install
uninstall = _patches.uninstall
