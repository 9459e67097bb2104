"""Settings of the embedded emulator, and its simulated clock.

moto's backends are process-global, so the emulator's patches (``fidelity``, ``faults``,
``engine_time``) read :func:`current` at call time instead of capturing settings when they
are installed. :func:`configure` swaps the settings for the whole process.

Durations are **simulated** seconds. ``time_scale`` is the number of *real* seconds one
simulated second takes: ``time_scale=0.01`` runs the emulator 100x faster than AWS, so a
NAT gateway that is ``pending`` for 90 simulated seconds is ``available`` after 0.9 s.

The simulated clock (:class:`SimClock`) says when a timed state ends (a NAT gateway
``pending``, a VPC ``pending``, an attachment, eventual consistency). It has two modes.

**Simulating** -- while a Step Functions execution runs under the latency model (``latency``
wraps each execution in :meth:`SimClock.simulating`), or a script runs inside
``latency.simulated_waiter_sleeps()``: simulated time advances only by the simulated sleeps taken,
never by computing. Every sleep the emulator scales -- a Wait state, a Retry interval, botocore's
back-off between attempts, an EC2 call's latency, a boto3 waiter's delay -- goes through
:meth:`SimClock.sleeping`: a sleep of ``d`` simulated seconds takes ``d * time_scale`` real
seconds, during which the clock moves at ``1 / time_scale`` per real second but never more than
``d`` past where it stood when the sleep began. Sleeps in several threads at once (Parallel
branches, concurrent executions) overlap, as they would on AWS, instead of adding up. Real time
spent computing (moto, the engine, the handlers), and a sleep's overrun past its end when the
machine is busy, count for nothing: a CPU-starved machine runs a build more slowly in real time,
but the simulation is the same -- a NAT gateway is ``available`` after as many polls, a wait loop
uses as many attempts, on a loaded machine as on an idle one (issue 16: ``make bench`` under a CPU
hog must write the same simulated figures). Measuring real elapsed time ``/ time_scale`` there
instead multiplied every millisecond of compute by ``1 / time_scale``: at ``time_scale=0.02`` a
handler slowed by 0.1 s aged every pending resource by 5 simulated seconds, so how many polls a
NAT gateway needed moved with the machine's load.

**Real time** -- otherwise: the clock runs at ``1 / time_scale`` per real second, compute
included. An operator's AWS CLI polling the served emulator, or a test waiting in real time, sees a
NAT gateway become ``available``; and executions without the latency model keep the clock the
test suites and the reliability sweeps were written against. There, at ``time_scale=0.001``, a
millisecond of compute is a simulated second, so a fresh resource is invisible (eventual
consistency) to the calls issued within a few milliseconds of its creation. A clock that ignored
compute while charging nothing for a call would hide it from every call up to the next Wait or
retry -- stricter than AWS, where each call takes tens of milliseconds -- and the calls of a run
would then hang on the random jitter of those retries (the sweeps fail a run's Nth call, counted
in an earlier run). The latency model is what charges each call its time; with it, the clock can
leave compute out.

**Work handed to a thread pool** (a handler's independent calls, issued side by side: issue 16)
starts, in simulated time, when it was handed over, and a pool thread's sleeps follow one another
from there (:meth:`SimClock.pool_task`; the emulator's Lambda runtime runs every task a handler
submits to a pool that way). The hand-over instant is where the handler stands
(:meth:`SimClock.flow`: its start, moved on by its own sleeps and its pool work's, never by
computing), not the clock's ``now()``, which a Parallel branch sleeping meanwhile moves on while the
handler's thread spends real time starting the pool's threads (nor later for a pass's last tasks
because its first have already ended). Without these rules such calls do not overlap here although
they would on AWS: each costs the emulator tens of real milliseconds of CPU (IAM evaluation, moto),
serialized by the GIL and the dispatch lock, against a scaled latency of 2 ms (0.1 s at
``time_scale=0.02``), so one call's sleep has ended before the next thread gets to send its call,
and the clock chained them as if they were sent one after another. With them, ten calls handed over
at once each sleep from the same simulated instant and end together, one call's latency later,
whatever the emulator's CPU; a pool of N runs its tasks N at a time in simulated time
(:class:`PoolWorkers`), whichever real thread runs each.

Switching modes never makes the clock jump, and it never goes back. (The clock is one per process:
while an execution simulates, waiting in real time elsewhere sees simulated time move only with
that execution's sleeps, and an execution held without sleeping -- a handler blocked on something
outside the simulation -- holds it still.)
"""

from __future__ import annotations

import contextvars
import heapq
import os
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from .fault_spec import CallRef, Fault


@dataclass
class EmulatorSettings:
    """What the emulator simulates. All ``*_seconds`` are simulated seconds."""

    time_scale: float = 1.0
    """Real seconds per simulated second (0.01 = 100x faster than AWS)."""
    vpc_pending_seconds: float = 2.0
    """How long a new VPC reports ``pending`` before ``available``."""
    nat_pending_seconds: float = 90.0
    """How long a new NAT gateway reports ``pending`` (AWS: observed 85-125 s)."""
    nat_deleting_seconds: float = 60.0
    """How long a deleted NAT gateway reports ``deleting`` (AWS: observed 37-79 s)."""
    nat_failure_seconds: float = 5.0
    """How long a NAT gateway that cannot be created stays ``pending`` before ``failed``
    (capped at ``nat_pending_seconds``). AWS answers CreateNatGateway with ``pending``
    and reports the failure a little later."""
    ipv6_associating_seconds: float = 3.0
    """How long a VPC's Amazon-provided IPv6 /56 reports ``associating`` (no CIDR shown yet)
    before ``associated``. AWS associates it asynchronously, after CreateVpc returns."""
    tgw_attachment_seconds: float = 60.0
    """How long a transit gateway VPC attachment reports ``pending`` (after its creation, or its
    acceptance by the gateway's owner) before ``available``, and ``deleting`` before ``deleted``
    (AWS: about a minute or two each way)."""
    ipam_release_seconds: float = 0.0
    """How long after DeleteVpc IPAM keeps the VPC's pool allocation before releasing it. AWS
    releases it on its own, "after some time" (IPAM User Guide, "Release an allocation": minutes on
    the Advanced tier, up to 48 hours on the Free tier); 0 = at once."""
    consistency_delay_seconds: float = 0.0
    """Eventual consistency: for this long after its creation, a new EC2 resource (VPC, subnet,
    gateway, route table, NAT gateway, Elastic IP, endpoint, flow log) answers
    ``Invalid<Kind>ID.NotFound`` to every other request that names its id. 0 = off."""
    endpoint_pending_seconds: float = 60.0
    """How long a new interface VPC endpoint reports ``pending`` before ``available`` (an
    estimate: AWS documents the states, not their duration)."""
    endpoint_deleting_seconds: float = 30.0
    """How long a deleted interface VPC endpoint reports ``deleting`` (its network interfaces stay
    in their subnets until then) before ``deleted``."""
    endpoint_service_zones: dict[str, list[str]] = field(default_factory=dict)
    """Interface endpoint services offered in some zones only: service name
    (``com.amazonaws.<region>.<svc>`` or ``<svc>``) -> the zone names it is offered in. A service
    not listed is offered in every zone of the Region (DescribeVpcEndpointServices and
    CreateVpcEndpoint follow this)."""
    nat_failure_code: str | None = None
    """If set, every new NAT gateway goes ``failed`` with this FailureCode after
    ``nat_failure_seconds`` (e.g. ``InsufficientFreeAddressesInSubnet``)."""
    faults: list[Fault] = field(default_factory=list)
    """Injected failures: fail the Nth call of an EC2 operation with an AWS error code."""
    crash_after: list[CallRef] = field(default_factory=list)
    """Injected crashes: the Nth call of an EC2 operation succeeds, then the Lambda handler
    that made it dies before returning (``Runtime.ExitError``)."""
    throttle: float = 0.0
    """Fraction (0..1) of EC2 request attempts that fail with ``RequestLimitExceeded``."""
    seed: int = 0
    """Seed of the throttling draw, so a throttled run can be reproduced."""
    throttle_from: CallRef | None = None
    """Throttling starts with this call (which is drawn too); None: from the first call."""
    throttle_limit: int | None = None
    """Throttling stops for good after this many throttled attempts; None: never. With
    ``throttle=1.0`` this is a storm of exactly that many throttled attempts."""
    duplicate_invocations: bool = False
    """Run every Lambda handler twice with the same input (at-least-once delivery); the
    workflow sees the second result."""
    rerun_crashed: bool = False
    """Run a handler killed by ``crash_after`` once more with the same input, as a Retry or a
    redrive of the task would; the workflow sees that run's result."""
    iam: bool = field(default_factory=lambda: os.environ.get("VPCFACTORY_EMULATOR_IAM", "1") != "0")
    """Evaluate every AWS request a Lambda handler makes against its role's policies (from the
    SAM-translated template) and deny it as AWS would (see ``iam_enforcement``). On unless
    ``VPCFACTORY_EMULATOR_IAM=0`` (to measure what evaluation costs)."""

    def __post_init__(self) -> None:
        if not self.time_scale > 0:
            raise ValueError(f"time_scale must be > 0, got {self.time_scale!r}")
        for name in (
            "vpc_pending_seconds",
            "nat_pending_seconds",
            "nat_deleting_seconds",
            "nat_failure_seconds",
            "ipv6_associating_seconds",
            "tgw_attachment_seconds",
            "ipam_release_seconds",
            "consistency_delay_seconds",
            "endpoint_pending_seconds",
            "endpoint_deleting_seconds",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)!r}")
        if not 0.0 <= self.throttle <= 1.0:
            raise ValueError(f"throttle must be a fraction between 0 and 1, got {self.throttle!r}")
        if self.throttle_limit is not None and self.throttle_limit < 0:
            raise ValueError(f"throttle_limit must be >= 0, got {self.throttle_limit!r}")


@dataclass(eq=False)
class SimulatedSleep:
    """One simulated sleep in progress (see :meth:`SimClock.sleeping`)."""

    seconds: float
    """Its length, in simulated seconds."""
    time_scale: float
    """Real seconds per simulated second when it began: it takes ``seconds * time_scale`` real seconds."""
    began: float
    """The simulated time when it began."""
    real_began: float
    """``time.monotonic()`` when it began."""
    interrupted: bool = False
    """Set by a sleeper that ends before its deadline (a stopped execution): the clock then keeps
    only the part slept."""

    @property
    def real_seconds(self) -> float:
        return self.seconds * self.time_scale

    @property
    def deadline(self) -> float:
        """The ``time.monotonic()`` at which it ends."""
        return self.real_began + self.real_seconds

    def reached(self, real: float) -> float:
        """How far it has taken simulated time at the real (monotonic) time ``real``."""
        return self.began + min(self.seconds, max(0.0, real - self.real_began) / self.time_scale)


# In a thread running pool work (SimClock.pool_task), ``position``: where the running task stands in
# simulated time (its start, then the end of its latest sleep). Thread-local, not a context variable:
# the task may run in a context of its own (the product copies its submitter's).
_pool_thread = threading.local()


class Flow:
    """Where a handler run stands in simulated time (:meth:`SimClock.flow`): its start, moved on by
    the ends of its sleeps and of its pool work's sleeps, never by the real time it computes."""

    def __init__(self, position: float) -> None:
        self.position = position
        self.pool_reach = position
        """The latest end of its pool work's sleeps: where it stands once it has waited for them."""
        self.pool: weakref.ref[Any] | None = None
        """The pool of its latest hand-over (a weak reference: a new pool may reuse a dead one's id)."""


_flow: contextvars.ContextVar[Flow | None] = contextvars.ContextVar("vpcfactory_flow", default=None)


class PoolWorkers:
    """A thread pool's workers in simulated time: when each is free again. A task takes the one free
    first, in the order the tasks were submitted (the order a pool starts them), so a pool of N runs
    its tasks N at a time in simulated time, whichever real thread runs each: the emulator's slow
    calls let a real thread finish its task, and take the next, before the submitter has even
    handed over the rest."""

    def __init__(self, count: int | None) -> None:
        self.count = count
        self.free: list[float] = []  # a heap: when each busy-once worker is free again
        self.taken = 0  # workers in use or used (at most count)

    def take(self, handed_over: float) -> float:
        """The instant a task handed over at ``handed_over`` begins (the clock's lock held)."""
        if self.count is None or self.taken < self.count:
            self.taken += 1
            return handed_over
        return max(handed_over, heapq.heappop(self.free)) if self.free else handed_over

    def give_back(self, at: float) -> None:
        heapq.heappush(self.free, at)


@dataclass(frozen=True)
class HandOver:
    """Work handed to a thread pool (:meth:`SimClock.hand_over`)."""

    instant: float
    """The simulated instant it was handed over."""
    workers: PoolWorkers
    """Its pool's workers in simulated time."""


_pool_workers: weakref.WeakKeyDictionary[Any, PoolWorkers] = weakref.WeakKeyDictionary()


class SimClock:
    """Simulated seconds: moved only by simulated sleeps while something simulates, else at
    ``1 / time_scale`` per real (monotonic) second (the module docstring has the model).

    It never jumps when its mode or its scale changes: the simulated time reached so far is kept
    and the new rate applies from then on, so resources created before a :func:`configure` keep
    consistent ages.
    """

    def __init__(self, time_scale: float = 1.0) -> None:
        self._lock = threading.Lock()
        self._real_origin = time.monotonic()
        self._sim_origin = 0.0
        self._scale = time_scale
        self._simulating = 0  # open simulating() blocks
        self._sleeps: list[SimulatedSleep] = []

    def _now(self, real: float) -> float:
        """The simulated time at the real time ``real`` (the lock held)."""
        if not self._simulating:
            return self._sim_origin + (real - self._real_origin) / self._scale
        return max([self._sim_origin, *(sleep.reached(real) for sleep in self._sleeps)])

    def now(self) -> float:
        """Simulated seconds since this clock started."""
        with self._lock:
            return self._now(time.monotonic())

    def advance(self, seconds: float) -> None:
        """Jump ``seconds`` simulated seconds ahead (tests: 'wait' without sleeping); sleeps in
        progress jump with it."""
        if seconds < 0:
            raise ValueError("the simulated clock only moves forward")
        with self._lock:
            self._sim_origin += seconds
            for sleep in self._sleeps:
                sleep.began += seconds

    def rescale(self, time_scale: float) -> None:
        """From now on, ``1 / time_scale`` simulated seconds per real second (real-time mode), and
        sleeps that begin from now on take ``time_scale`` real seconds per simulated one."""
        with self._lock:
            real = time.monotonic()
            self._sim_origin = self._now(real)
            self._real_origin = real
            self._scale = time_scale

    @property
    def simulating_now(self) -> bool:
        """Is a :meth:`simulating` block open (simulated time moves only by sleeps)?"""
        with self._lock:
            return self._simulating > 0

    @contextmanager
    def simulating(self) -> Iterator[None]:
        """Within the block (and any other open at the same time), simulated time advances only by
        the sleeps taken through :meth:`sleeping`; outside all of them, with real time."""
        with self._lock:
            real = time.monotonic()
            if not self._simulating:
                self._sim_origin = self._now(real)
            self._simulating += 1
        try:
            yield
        finally:
            with self._lock:
                real = time.monotonic()
                if self._simulating == 1:
                    self._sim_origin, self._real_origin = self._now(real), real
                self._simulating -= 1

    @contextmanager
    def sleeping(self, seconds: float) -> Iterator[SimulatedSleep]:
        """A sleep of ``seconds`` simulated seconds: the caller sleeps until the yielded sleep's
        ``deadline`` (``seconds * time_scale`` real seconds from now), and sets its ``interrupted``
        if it stops earlier. When the block ends, the clock stands at least at the sleep's end (or,
        interrupted, as far as it got), however late the sleeper woke up."""
        position: float | None = getattr(_pool_thread, "position", None)
        with self._lock:
            real = time.monotonic()
            began = self._now(real)
            if self._simulating and position is not None:
                began = min(began, position)  # pool work: where its task stands, never later than now
            sleep = SimulatedSleep(max(0.0, seconds), self._scale, began, real)
            self._sleeps.append(sleep)
        try:
            yield sleep
        except BaseException:
            sleep.interrupted = True
            raise
        finally:
            with self._lock:
                real = time.monotonic()
                self._sleeps.remove(sleep)
                end = sleep.reached(real) if sleep.interrupted else sleep.began + sleep.seconds
                if self._simulating:
                    self._sim_origin = max(self._sim_origin, end)
                    flow = _flow.get()
                    if flow is not None and position is not None:
                        flow.pool_reach = max(flow.pool_reach, end)
                    elif flow is not None:
                        flow.position = max(flow.position, end)
                if position is not None:
                    _pool_thread.position = end

    @contextmanager
    def flow(self) -> Iterator[Flow]:
        """Run a handler as a flow: from now, its position moves with its sleeps and its pool
        work's (the pool work runs in copies of its context, so it shares the flow), and what it
        hands to a pool is handed over there (:meth:`hand_over`)."""
        flow = Flow(self.now())
        token = _flow.set(flow)
        try:
            yield flow
        finally:
            _flow.reset(token)

    def hand_over(self, pool: Any) -> HandOver:
        """Work being submitted to ``pool`` (a ``concurrent.futures.ThreadPoolExecutor``) now, to be
        run under :meth:`pool_task`. Its instant is where the running flow stands (never later than
        now), or now outside any flow. Work handed to the same pool one after another is handed
        over at one instant, however long submitting takes; handing work to another pool (the next
        pass, after waiting for this one) comes after all the earlier pool work."""
        flow = _flow.get()
        with self._lock:
            workers = _pool_workers.get(pool)
            if workers is None:
                workers = _pool_workers[pool] = PoolWorkers(getattr(pool, "_max_workers", None))
            instant = self._now(time.monotonic())
            if flow is not None:
                if flow.pool is None or flow.pool() is not pool:
                    flow.position = max(flow.position, flow.pool_reach)
                    flow.pool = weakref.ref(pool)
                instant = min(instant, flow.position)
            return HandOver(instant, workers)

    @contextmanager
    def pool_task(self, hand_over: HandOver) -> Iterator[None]:
        """Run handed-over work in this pool thread: it begins when its pool has a worker free in
        simulated time, from its hand-over on, and its sleeps follow one another from there, not
        from when the thread gets the CPU (module docstring)."""
        with self._lock:
            begins = hand_over.workers.take(hand_over.instant)
        previous = getattr(_pool_thread, "position", None)
        _pool_thread.position = begins
        try:
            yield
        finally:
            with self._lock:
                hand_over.workers.give_back(_pool_thread.position)
            _pool_thread.position = previous

    def sleep(self, seconds: float) -> None:
        """Sleep ``seconds`` simulated seconds (``seconds * time_scale`` real ones)."""
        with self.sleeping(seconds) as sleep:
            time.sleep(sleep.real_seconds)


_lock = threading.Lock()
_current = EmulatorSettings()
_clock = SimClock(_current.time_scale)


def current() -> EmulatorSettings:
    """The settings in force now (process-wide)."""
    return _current


def configure(settings: EmulatorSettings) -> EmulatorSettings:
    """Make ``settings`` the process-wide emulator settings; return the previous ones."""
    global _current
    with _lock:
        previous, _current = _current, settings
        _clock.rescale(settings.time_scale)
    return previous


@contextmanager
def configured(settings: EmulatorSettings) -> Iterator[EmulatorSettings]:
    """``configure(settings)`` for the duration of a ``with`` block, then restore."""
    previous = configure(settings)
    try:
        yield settings
    finally:
        configure(previous)


def clock() -> SimClock:
    """The process-wide simulated clock."""
    return _clock
