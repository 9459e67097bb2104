"""The emulator's latency model: every EC2 call takes a configurable (simulated) time.

moto answers an EC2 call in a millisecond or so; AWS takes tens to hundreds of milliseconds. For
the benchmarks (``make bench``, docs/performance.md) a build must pay that per call, so a design
that makes more sequential calls is slower, as it would be on AWS.

    latency.install()                              # on top of the emulator's other patches
    latency.configure(ec2_call_seconds=0.1)        # the default; 0 turns the model off

After :func:`install`, every EC2 request *attempt* that reaches the emulator first sleeps
``ec2_call_seconds * settings.current().time_scale`` real seconds (read at the moment of the
call, like every other simulated duration of the emulator), then moto handles it. Attempts, not
calls: a retried, throttled or fault-injected attempt costs the latency too, as on AWS. The
request is handled at the end of the latency (a resource exists from then on), and the answer
returns at once.

The hook wraps moto's EC2 request dispatch, ``EC2Response.call_action``, exactly as
:mod:`.faults` does, and installs itself on top of it (:func:`install` installs the fault hook
first), so it works in-process (``mock_aws``) and in server mode alike and sees every request.
The sleep happens in the thread that dispatches the request: with the in-process mock that is
the caller's own thread (a Lambda handler, a script), as a network round trip would be.

What it counts, since the last :func:`reset`: attempts per operation (:func:`call_counts`),
per Step Functions execution when the request names one (the fault hook's client side adds
``x-vpcfactory-execution`` to requests made by the emulator's Lambda handlers), a record of
each attempt (:func:`calls`) with its wall-clock start, so a benchmark can attribute calls to the
task that made them, and the real time moto spent handling them (:func:`dispatch_seconds`).

Scripts that use **boto3 waiters** (the seed script: ``VpcAvailable`` and ``NatGatewayAvailable``
poll every 15 s) sleep in ``botocore.waiter``; :func:`simulated_waiter_sleeps` makes those sleeps
simulated seconds too (``delay * time_scale`` real seconds) for the duration of a ``with`` block,
and records them.

**The simulated clock follows the model.** With the latency model installed, every Step Functions
execution runs with the simulated clock simulating (``SimClock.simulating``, wrapped around
``ExecutionWorker._execution_logic``), and so does the block of :func:`simulated_waiter_sleeps`:
simulated time is then the calls' latencies, the Wait states, the retries' intervals and the
waiters' delays -- every one a simulated sleep on the clock (the model: :mod:`.settings`) -- and the
real time the emulator spends computing counts for nothing. A build's simulated figures (how many
polls its NAT gateways need, so its calls, waits and transitions) are then the same on a busy
machine as on an idle one: the benchmark's model counts compute at its real duration on its own,
and a clock that also counted it, ``1 / time_scale`` times over, made the polls depend on the
machine's load (issue 16). Without the latency model the clock counts real elapsed time
(``settings`` says why that stays the default).

Patched code is pinned (:data:`PINNED_SOURCES`), as in :mod:`.fidelity`.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from botocore import waiter as botocore_waiter
from moto.core.responses import BaseResponse
from moto.ec2.responses import EC2Response
from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

from . import faults, lambda_runtime
from .patching import Patcher, check_moto_version
from .settings import clock

DEFAULT_EC2_CALL_SECONDS = 0.1
"""Simulated seconds per EC2 request attempt (issue 6: 100 ms unless configured)."""

PINNED_SOURCES: dict[str, str] = {
    # the dispatch every EC2 request goes through (wrapped here, and by faults.py underneath)
    "moto.core.responses:BaseResponse.call_action": "26076963fd17fd1a",
    # the one sleep between a waiter's polls: ``time.sleep(sleep_amount)`` in botocore.waiter
    "botocore.waiter:Waiter.wait": "5537450c8eabef0b",
    # an execution's thread, from ExecutionStarted to its end: run with the clock simulating
    "moto.stepfunctions.parser.backend.execution_worker:ExecutionWorker._execution_logic": "baa3e2a48fd228d9",
}

_MAX_RECORDS = 200_000
_MARK = "_vpcfactory_latency"


@dataclass(frozen=True)
class CallRecord:
    """One EC2 request attempt as the latency model saw it."""

    operation: str
    execution: str | None
    """The Step Functions execution the calling handler works for (None: not a handler)."""
    function: str | None
    """The Lambda function that made the call (None: not a handler)."""
    started_at: float
    """Wall-clock time (``time.time()``) the attempt reached the emulator, before its latency."""
    simulated_seconds: float
    """The latency it was charged, in simulated seconds."""
    thread_id: int
    """The calling thread: calls a handler makes at once from its threads overlap (bench.model)."""
    simulated_start: float | None = None
    """The simulated instant its latency began (``SimClock.sleeping``): calls a handler hands to a
    thread pool at once all begin at the hand-over (``SimClock.pool_task``), however long the
    emulator takes to get to each of them. None: no latency (the model off)."""


@dataclass
class WaiterSleeps:
    """The boto3 waiter sleeps taken inside :func:`simulated_waiter_sleeps`."""

    sleeps: list[float]
    """Each sleep, in simulated seconds."""
    started_at: list[float]
    """Wall-clock time (``time.time()``) each sleep began."""

    @property
    def total(self) -> float:
        return sum(self.sleeps)


_lock = threading.Lock()
_ec2_call_seconds = DEFAULT_EC2_CALL_SECONDS
_counts: Counter[str] = Counter()
_execution_counts: Counter[tuple[str, str]] = Counter()
_records: deque[CallRecord] = deque(maxlen=_MAX_RECORDS)
_simulated = 0.0
_dispatched = 0.0
_MISSING: Any = object()
_saved: Any = _MISSING  # EC2Response's own call_action before install() (faults' hook, or none)
_enabled = False
_waiter_patcher = Patcher()
_execution_patcher = Patcher()


# -- configuration ---------------------------------------------------------------------------------


def configure(*, ec2_call_seconds: float = DEFAULT_EC2_CALL_SECONDS) -> float:
    """Set the simulated latency of every EC2 request attempt (0 disables); return the previous."""
    global _ec2_call_seconds
    if isinstance(ec2_call_seconds, bool) or not isinstance(ec2_call_seconds, (int, float)):
        raise ValueError(f"ec2_call_seconds must be a number of seconds, got {ec2_call_seconds!r}")
    if not ec2_call_seconds >= 0:
        raise ValueError(f"ec2_call_seconds must be >= 0, got {ec2_call_seconds!r}")
    with _lock:
        previous, _ec2_call_seconds = _ec2_call_seconds, float(ec2_call_seconds)
    return previous


def ec2_call_seconds() -> float:
    """The simulated latency of one EC2 request attempt now in force."""
    return _ec2_call_seconds


@contextmanager
def configured(*, ec2_call_seconds: float = DEFAULT_EC2_CALL_SECONDS) -> Iterator[float]:
    """``configure(...)`` for the duration of a ``with`` block, then restore."""
    previous = configure(ec2_call_seconds=ec2_call_seconds)
    try:
        yield ec2_call_seconds
    finally:
        configure(ec2_call_seconds=previous)


# -- what was counted ------------------------------------------------------------------------------


def call_counts(execution: str | None = None) -> dict[str, int]:
    """EC2 request attempts per operation since the last :func:`reset`; with ``execution``, only
    those the Lambda handlers of that Step Functions execution made."""
    with _lock:
        if execution is None:
            return dict(_counts)
        return {op: n for (ex, op), n in _execution_counts.items() if ex == execution}


def calls(execution: str | None = None) -> list[CallRecord]:
    """Every attempt since the last :func:`reset` (the latest 200,000), in arrival order; with
    ``execution``, only that execution's."""
    with _lock:
        records = list(_records)
    return records if execution is None else [r for r in records if r.execution == execution]


def simulated_seconds() -> float:
    """Simulated seconds of latency charged since the last :func:`reset`, over all threads."""
    with _lock:
        return _simulated


def dispatch_seconds() -> float:
    """Real seconds moto (and the hooks below this one) spent handling the requests counted since
    the last :func:`reset`: the emulator's own EC2 cost, latency excluded."""
    with _lock:
        return _dispatched


def _handled(seconds: float) -> None:
    global _dispatched
    with _lock:
        _dispatched += seconds


def reset() -> None:
    """Forget counts and records (the configuration stays)."""
    global _simulated, _dispatched
    with _lock:
        _counts.clear()
        _execution_counts.clear()
        _records.clear()
        _simulated = _dispatched = 0.0


def _charge(
    operation: str, execution: str | None, function: str | None, seconds: float, simulated_start: float | None
) -> None:
    """Count one attempt of ``seconds`` simulated seconds of latency."""
    global _simulated
    record = CallRecord(operation, execution, function, time.time(), seconds, threading.get_ident(), simulated_start)
    with _lock:
        _counts[operation] += 1
        if execution is not None:
            _execution_counts[(execution, operation)] += 1
        _records.append(record)
        _simulated += seconds


# -- the hook --------------------------------------------------------------------------------------


def _make_call_action(original: Any) -> Any:
    def call_action(self: BaseResponse) -> Any:
        """Charge the request its latency (a real sleep of latency x time_scale), then dispatch."""
        operation = self._get_action()
        if not _enabled or not operation:
            return original(self)
        seconds = _ec2_call_seconds
        attribution = (self.headers.get(faults.EXECUTION_HEADER), self.headers.get(faults.FUNCTION_HEADER))
        if seconds > 0:
            with clock().sleeping(seconds) as sleep:
                _charge(operation, *attribution, seconds, sleep.began)
                time.sleep(sleep.real_seconds)
        else:
            _charge(operation, *attribution, seconds, None)
        started, cpu_started = time.perf_counter(), time.thread_time()
        try:
            return original(self)
        finally:
            _handled(time.perf_counter() - started)
            # moto answering in the caller's thread (the in-process mock) is the emulator's work,
            # not the handler's: AWS's own handling is the latency above
            running = lambda_runtime.current_invocation()
            if running is not None:
                running.usage.add_emulator(time.thread_time() - cpu_started)

    call_action.__wrapped__ = original  # type: ignore[attr-defined]
    setattr(call_action, _MARK, True)
    return call_action


def _simulating_execution_logic(original: Any) -> Any:
    def _execution_logic(self: ExecutionWorker) -> None:
        """An execution's run with the simulated clock simulating throughout."""
        with clock().simulating():
            original(self)

    _execution_logic.__wrapped__ = original  # type: ignore[attr-defined]
    return _execution_logic


def _in_chain(function: Any) -> bool:
    """Is our wrapper ``function`` or anything it wraps?"""
    while function is not None:
        if getattr(function, _MARK, False):
            return True
        function = getattr(function, "__wrapped__", None)
    return False


def installed() -> bool:
    return _enabled and _in_chain(EC2Response.__dict__.get("call_action"))


def install() -> None:
    """Wrap EC2 dispatch with the latency model, on top of the fault hook, and run executions with
    the simulated clock simulating (idempotent)."""
    global _enabled, _saved
    check_moto_version()
    faults.install()  # underneath: an attempt the fault hook fails has paid its latency first
    with _lock:
        _enabled = True
        if not _execution_patcher.active:
            original_logic = ExecutionWorker.__dict__["_execution_logic"]
            _execution_patcher.set(ExecutionWorker, "_execution_logic", _simulating_execution_logic(original_logic))
        if _in_chain(EC2Response.__dict__.get("call_action")):
            return
        _saved = EC2Response.__dict__.get("call_action", _MISSING)
        EC2Response.call_action = _make_call_action(EC2Response.call_action)  # type: ignore[method-assign]


def uninstall() -> None:
    """Remove the latency model (executions run on the real-time clock again). If another patch has
    since wrapped it, the wrapper stays in that chain but passes every request straight through,
    uncounted."""
    global _enabled, _saved
    with _lock:
        _enabled = False
        _execution_patcher.undo()
        if getattr(EC2Response.__dict__.get("call_action"), _MARK, False):
            if _saved is _MISSING:
                del EC2Response.call_action
            else:
                EC2Response.call_action = _saved  # type: ignore[method-assign]
            _saved = _MISSING


# -- boto3 waiters in simulated time ---------------------------------------------------------------


class _ScaledWaiterTime(ModuleType):
    """Stands in for ``time`` inside botocore.waiter: ``sleep`` takes simulated seconds."""

    def __init__(self, record: WaiterSleeps) -> None:
        super().__init__("time")
        self._record = record

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)

    def sleep(self, seconds: float) -> None:
        self._record.sleeps.append(seconds)
        self._record.started_at.append(time.time())
        clock().sleep(seconds)


@contextmanager
def simulated_waiter_sleeps() -> Iterator[WaiterSleeps]:
    """Within the block, boto3 waiters (``client.get_waiter(...).wait()``) sleep their ``Delay``
    in simulated seconds (``Delay * time_scale`` real seconds), and the simulated clock moves only
    by simulated sleeps (``SimClock.simulating``); yields the record of the sleeps.

    Process-wide while active (botocore.waiter has one ``time``): use it around one script."""
    check_moto_version()
    record = WaiterSleeps([], [])
    with _lock:
        if _waiter_patcher.active:
            raise RuntimeError("simulated_waiter_sleeps() is already active")
        if getattr(botocore_waiter, "time", None) is not time:
            raise RuntimeError("botocore.waiter no longer sleeps through the time module")
        _waiter_patcher.set(botocore_waiter, "time", _ScaledWaiterTime(record))
    try:
        with clock().simulating():
            yield record
    finally:
        with _lock:
            _waiter_patcher.undo()
