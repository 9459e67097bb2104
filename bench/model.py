"""The benchmarks' time model: an execution history replayed in model time, the critical-path
lower bound, and the cost of a build. Pure functions over recorded data (no emulator, no AWS).

**Model time** is the duration a run would have at ``time_scale = 1`` on this machine: every step
of the execution history keeps its real duration (the emulator's compute: moto, the ASL engine,
the handlers), and every simulated sleep inside it -- a Wait state, an EC2 call's latency -- is
counted at its simulated length instead of its scaled real one. Dividing the execution's duration
by ``time_scale`` instead would magnify the emulator's compute ``1 / time_scale`` times.

Parallel states take their slowest branch (in model time). One thing in a run depends on the
emulator's speed: how many polls a wait loop needs, since each poll lands on the simulated clock
(which the emulator's compute pushes forward) and may see a NAT gateway ready a poll earlier than
the model allows. :func:`analyse_execution` checks each wait loop -- the poll that ended it must
come at least ``pending`` model seconds after the resource's creation -- and where it came earlier
adds the polls the model would have needed (a Wait plus a poll task, as measured in that loop),
with their transitions, invocations and EC2 calls.

A fleet (one rollout over many accounts) is timed by :func:`fleet_time`: the rollout's history
replayed the same way, its Map Run re-timed as its children scheduled on ``maxConcurrency`` slots,
each child its own measured time plus one account's build in model time; its billed transitions
are the rollout's plus each child's (:func:`child_transitions`).
"""

from __future__ import annotations

import heapq
import json
import math
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

# The dependency chain every build of this network must walk, one EC2 call deep per stage, as the
# workflow orders it (statemachine/build_vpc.asl.json; DESIGN.md "Critical path"):
CRITICAL_PATH_CALLS: tuple[tuple[str, str], ...] = (
    ("Create VPC", "CreateVpc"),
    ("Check VPC State", "DescribeVpcs"),  # the poll that finds it `available` (after VPC pending)
    # the parallel stage: subnets (CreateSubnet), EIPs (AllocateAddress) and the IGW run side by
    # side and every AZ's are independent; its longest chain is the IGW's create -> attach
    ("Create Internet Gateway", "CreateInternetGateway"),
    ("Create Internet Gateway", "AttachInternetGateway"),
    ("Create NAT Gateways", "CreateNatGateway"),  # every AZ's NAT is independent: one call deep
    ("Check NAT Gateways", "DescribeNatGateways"),  # the poll that finds them `available`
    ("Add NAT Routes", "CreateRoute"),  # every private route table's default route is independent
)
# The states whose last run ends a wait loop: (create call, poll state, poll call, pending setting)
READINESS_POLLS = (
    ("CreateVpc", "Check VPC State", "DescribeVpcs", "vpc_pending_seconds"),
    ("CreateNatGateway", "Check NAT Gateways", "DescribeNatGateways", "nat_pending_seconds"),
)
ROUTES_READY_STATE = "Add NAT Routes"


# us-east-1 list prices (no free tier): Step Functions Standard $0.025 per 1,000 state
# transitions; Lambda arm64 $0.0000133334 per GB-second and $0.20 per million requests.
PRICE_PER_TRANSITION = 0.000025
PRICE_PER_LAMBDA_REQUEST = 0.0000002
PRICE_PER_GB_SECOND_ARM64 = 0.0000133334


# -- the model: lower bound ------------------------------------------------------------------------


def lower_bound(vpc_pending: float, nat_pending: float, ec2_call_seconds: float) -> dict[str, Any]:
    """VPC pending + NAT pending + the sequential calls of the critical path x EC2 latency."""
    calls = len(CRITICAL_PATH_CALLS)
    return {
        "seconds": round(vpc_pending + nat_pending + calls * ec2_call_seconds, 3),
        "formula": "vpcPending + natPending + criticalPathCalls x ec2CallLatency",
        "vpcPendingSeconds": vpc_pending,
        "natPendingSeconds": nat_pending,
        "ec2CallSeconds": ec2_call_seconds,
        "criticalPathCalls": [f"{state}: {operation}" for state, operation in CRITICAL_PATH_CALLS],
    }


# -- the execution history, replayed in model time -------------------------------------------------

_JOINS = frozenset({"ParallelStateSucceeded", "ParallelStateFailed", "ParallelStateAborted", "ParallelStateExited"})
_TASK_ENDS = frozenset({"TaskSucceeded", "TaskFailed", "TaskTimedOut"})
_MAP_RUN_ENDS = frozenset({"MapRunSucceeded", "MapRunFailed", "MapRunAborted"})
_SLACK = 0.001  # history timestamps are truncated to the millisecond
TOLERANCE = 0.05  # model seconds a readiness poll may come "early" (clock granularity)


def flatten_states(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every state of an ASL definition by name, nested branches included."""
    states: dict[str, dict[str, Any]] = {}

    def walk(level: dict[str, Any]) -> None:
        for name, state in level.items():
            states[name] = state
            for branch in state.get("Branches", []):
                walk(branch["States"])
            for key in ("Iterator", "ItemProcessor"):
                if key in state:
                    walk(state[key]["States"])

    walk(definition["States"])
    return states


def _json_path(document: Any, path: str) -> Any:
    """A ``$.a.b.c`` reference path (all the ASL's SecondsPaths are of this form)."""
    if path == "$":
        return document
    if not path.startswith("$."):
        raise ValueError(f"unsupported path {path!r}")
    for key in path[2:].split("."):
        document = document[key]
    return document


def _details(event: dict[str, Any]) -> dict[str, Any]:
    for key, value in event.items():
        if key.endswith("EventDetails") and isinstance(value, dict):
            return value
    return {}


def _function_of(state: dict[str, Any]) -> str | None:
    arn = (state.get("Parameters") or {}).get("FunctionName") or state.get("Resource") or ""
    return arn.split(":function:")[-1].split(":")[0] if ":function:" in arn else None


@dataclass
class Invocation:
    """One Lambda invocation of a Task state, in model time."""

    state: str
    function: str | None
    entered_event: int  # the TaskStateEntered event of this run of the state
    ended_event: int  # TaskSucceeded / TaskFailed / TaskTimedOut
    started: float  # wall clock at TaskStarted
    ended: float
    model_seconds: float = 0.0
    calls: list[tuple[float, str]] = field(default_factory=list)  # (model time of the call, operation)
    latency: float = 0.0


@dataclass
class _Replay:
    model: dict[int, float]
    came_from: dict[int, int]
    step: dict[int, tuple[str | None, float, float]]  # id -> (sleep kind, simulated sleep, compute seconds)
    state_of: dict[int, str | None]
    invocations: list[Invocation]
    invocation_at: dict[int, Invocation]
    unattributed: int


def call_latency(calls: Sequence[Any]) -> tuple[float, list[float]]:
    """Simulated seconds an invocation waited for its EC2 calls, and for each call (in the order
    given) how many of them it had waited before it began.

    A handler may make independent calls at once from a thread pool (issue 16): their latencies
    overlap, so the wait is the union of the calls' latencies on the simulated clock (each record's
    ``simulated_start``: work handed to a pool begins at its hand-over, ``SimClock.pool_task``), not
    their sum. Records without a simulated start (the model off) add up in the order they began."""
    if not all(getattr(r, "simulated_start", None) is not None for r in calls):
        order = sorted(range(len(calls)), key=lambda i: calls[i].started_at)
        before, total = [0.0] * len(calls), 0.0
        for i in order:
            before[i], total = total, total + calls[i].simulated_seconds
        return total, before
    spans = sorted((r.simulated_start, r.simulated_start + r.simulated_seconds) for r in calls)
    merged: list[list[float]] = []
    for begin, end in spans:
        if merged and begin <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([begin, end])

    def waited_until(instant: float) -> float:
        return sum(max(0.0, min(end, instant) - begin) for begin, end in merged)

    return waited_until(float("inf")), [waited_until(r.simulated_start) for r in calls]


def _replay(
    events: Sequence[dict[str, Any]],
    states: dict[str, dict[str, Any]],
    records: Sequence[Any],
    time_scale: float,
    extra: dict[int, float],
    runs: Sequence[Any] = (),
    event_cpu: Mapping[int, tuple[int, float]] | None = None,
    at_wall: frozenset[int] = frozenset(),
) -> _Replay:
    """The forward pass: each event's model time from its predecessor's (joins: the slowest branch),
    plus ``extra`` model seconds at the given events (corrections).

    A task's compute is the CPU its handler used (``runs``: the emulator's records of each handler
    run, :func:`vpcfactory_tools.emulator.lambda_runtime.invocations`) when its run is known, so it
    is the same on a busy machine as on an idle one; else its real duration less its calls' scaled
    latency. Calls made at once overlap (:func:`call_latency`). Every other step's compute -- the
    engine's own, between two events -- is the CPU the thread recording the event spent since its
    previous event (``event_cpu``: :func:`vpcfactory_tools.emulator.engine_time.event_cpu`), at
    most the step's real duration; else its real duration less its simulated sleep. The steps
    ending at the events in ``at_wall`` count their real duration whatever their CPU (a fleet's Map
    Run: :func:`fleet_time` re-times its children)."""
    by_id = {e["id"]: e for e in events}
    wall = {e["id"]: e["timestamp"].timestamp() for e in events}
    children: dict[int, list[int]] = defaultdict(list)
    state_of: dict[int, str | None] = {}
    entered_of: dict[int, int] = {}
    ctx: dict[int, int] = {}
    members: dict[int, list[int]] = defaultdict(list)
    model: dict[int, float] = {}
    came_from: dict[int, int] = {}
    step: dict[int, tuple[str | None, float, float]] = {}
    invocations: list[Invocation] = []
    invocation_at: dict[int, Invocation] = {}
    pool = sorted(records, key=lambda r: r.started_at)
    claimed: set[int] = set()
    run_pool = sorted(runs, key=lambda r: r.started_at)
    runs_claimed: set[int] = set()
    engine_cpu = _engine_cpu(event_cpu or {})

    def compute_of(eid: int, wall_compute: float) -> float:
        """The engine's compute for the step ending at ``eid``: its thread's CPU since that thread's
        previous event when recorded (bounded by the step's real duration, to the millisecond of
        the history's timestamps: a thread's first event counts from the thread's start), else the
        step's real duration less its simulated sleep."""
        wall_compute = max(0.0, wall_compute)
        cpu = None if eid in at_wall else engine_cpu.get(eid)
        return wall_compute if cpu is None else min(cpu, wall_compute + _SLACK)

    first = events[0]["id"]
    model[first], ctx[first], state_of[first], entered_of[first] = 0.0, 0, None, first
    for event in events[1:]:
        eid, kind, prev = event["id"], event["type"], event["previousEventId"]
        children[prev].append(eid)
        if kind.endswith("StateEntered"):
            state_of[eid], entered_of[eid] = _details(event).get("name"), eid
        else:
            state_of[eid], entered_of[eid] = state_of.get(prev), entered_of.get(prev, eid)
        prev_kind = by_id[prev]["type"] if prev in by_id else ""

        if kind in _JOINS and ctx.get(prev, 0):
            parallel = ctx[prev]
            ctx[eid] = ctx[parallel]
            leaves = [m for m in members[parallel] if not any(ctx.get(c) == parallel for c in children[m])]
            slowest = max(leaves, key=lambda m: model[m]) if leaves else prev
            overhead = compute_of(eid, wall[eid] - wall[prev])
            model[eid], came_from[eid], step[eid] = model[slowest] + overhead, slowest, (None, 0.0, overhead)
        else:
            ctx[eid] = prev if prev_kind == "ParallelStateStarted" else ctx.get(prev, 0)
            real = max(0.0, wall[eid] - wall.get(prev, wall[eid]))
            sleep, sleep_kind = 0.0, None
            base = model.get(prev, 0.0) + extra.get(eid, 0.0)
            if prev_kind == "WaitStateEntered" and kind == "WaitStateExited":
                sleep_kind, sleep = "wait", _wait_seconds(states, by_id[prev], real, time_scale)
            elif prev_kind == "TaskStarted" and kind in _TASK_ENDS:
                name = state_of.get(prev) or ""
                inv = Invocation(name, _function_of(states.get(name, {})), entered_of[prev], eid, wall[prev], wall[eid])
                mine = []
                for k, record in enumerate(pool):
                    if k in claimed or record.function != inv.function:
                        continue
                    if inv.started <= record.started_at < inv.ended + _SLACK:
                        claimed.add(k)
                        mine.append(record)
                inv.latency, waited = call_latency(mine)
                wall_compute = max(0.0, real - time_scale * inv.latency)
                cpu = _handler_cpu(run_pool, runs_claimed, inv)
                compute = wall_compute if cpu is None else cpu
                # each call's model time: the compute and the latency before it
                share = compute / wall_compute if wall_compute > 0 else 1.0
                for record, before in zip(mine, waited, strict=True):
                    elapsed = max(0.0, record.started_at - inv.started - time_scale * before)
                    inv.calls.append((model[prev] + share * elapsed + before, record.operation))
                sleep_kind, sleep = "task", inv.latency
                inv.model_seconds = compute + inv.latency
                invocations.append(inv)
                invocation_at[eid] = inv
                model[eid] = base + inv.model_seconds
                came_from[eid], step[eid] = prev, (sleep_kind, sleep, compute)
                if ctx[eid]:
                    members[ctx[eid]].append(eid)
                continue
            elif prev_kind == "TaskFailed" and kind == "TaskScheduled":
                sleep_kind, sleep = "retry", real / time_scale  # the engine's (scaled) retry interval
            compute = compute_of(eid, real - time_scale * sleep)
            model[eid] = base + compute + sleep
            came_from[eid], step[eid] = prev, (sleep_kind, sleep, compute)
        if ctx[eid]:
            members[ctx[eid]].append(eid)
    return _Replay(model, came_from, step, state_of, invocations, invocation_at, len(pool) - len(claimed))


def _engine_cpu(marks: Mapping[int, tuple[int, float]]) -> dict[int, float]:
    """Event id -> the CPU seconds its recording thread spent since that thread's previous event
    (since the thread began, for its first): ``marks`` are (thread, thread CPU time) per
    event, as :func:`vpcfactory_tools.emulator.engine_time.event_cpu` records them."""
    last: dict[int, float] = {}
    spent: dict[int, float] = {}
    for eid in sorted(marks):
        thread, cpu = marks[eid]
        spent[eid] = max(0.0, cpu - last.get(thread, 0.0))
        last[thread] = cpu
    return spent


def _handler_cpu(runs: Sequence[Any], claimed: set[int], inv: Invocation) -> float | None:
    """The CPU seconds of the handler run behind ``inv`` (its function's first unclaimed run that
    began inside the task), the emulator's own handling of its requests left out; None if unknown."""
    for k, run in enumerate(runs):
        if k in claimed or run.function_name != inv.function:
            continue
        if inv.started - _SLACK <= run.started_at < inv.ended + _SLACK:
            claimed.add(k)
            return float(run.handler_cpu_seconds)
    return None


def _readiness(replay: _Replay, create_op: str, poll_state: str, poll_op: str, pending: float):
    """(margin, the poll invocation that ended the wait): the model seconds by which that poll came
    after the resource's creation + its pending time (negative: it saw it ready too early)."""
    created = [at for inv in replay.invocations for at, op in inv.calls if op == create_op]
    polls = [inv for inv in replay.invocations if inv.state == poll_state]
    if not created or not polls:
        return None, None
    polled = [at for at, op in polls[-1].calls if op == poll_op]
    if not polled:
        return None, polls[-1]
    return polled[-1] - max(created) - pending, polls[-1]


def _poll_cycle(replay: _Replay, events: dict[int, dict[str, Any]], final: Invocation) -> dict[str, Any] | None:
    """One turn of the wait loop that ``final`` ended: its Wait seconds, its model cost besides the
    wait (Wait overhead + the poll task), and the states it enters."""
    node, wait_exit = final.entered_event, None
    for _ in range(8):
        node = replay.came_from.get(node, 0)
        if events.get(node, {}).get("type") == "WaitStateExited":
            wait_exit = node
            break
    if wait_exit is None:
        return None
    wait_entered = replay.came_from[wait_exit]
    interval = replay.step[wait_exit][1]
    cost = replay.model[final.ended_event] - replay.model[wait_entered] - interval
    names = {replay.state_of.get(wait_entered), final.state}
    # the Choice the poll returns to: the first state entered after the poll's TaskStateExited
    later = [e for e in sorted(events) if e > final.ended_event and events[e]["type"].endswith("StateEntered")]
    after_exit = [e for e in later if replay.state_of.get(e) not in names]
    if after_exit:
        names.add(replay.state_of.get(after_exit[0]))
    return {
        "wait": replay.state_of.get(wait_entered),
        "interval": interval,
        "cost": max(cost, 0.0),
        "transitions": len(names),
    }


def analyse_execution(
    events: Sequence[dict[str, Any]],
    states: dict[str, dict[str, Any]],
    records: Sequence[Any],
    time_scale: float,
    pending: dict[str, float] | None = None,
    runs: Sequence[Any] = (),
    event_cpu: Mapping[int, tuple[int, float]] | None = None,
    at_wall: frozenset[int] = frozenset(),
) -> dict[str, Any]:
    """Replay an execution history in model time (see the module docstring).

    ``records`` are the execution's EC2 calls from the latency model (``latency.calls(execution)``);
    ``pending`` the emulator's ``vpc_pending_seconds``/``nat_pending_seconds``, to check (and
    correct) the poll that ended each wait loop; ``runs`` the execution's handler runs
    (``lambda_runtime.invocations(execution)``), for the CPU each task used; ``event_cpu`` the
    engine's CPU at each event (``engine_time.event_cpu(execution_arn)``), for the steps between
    tasks (except the steps ending at ``at_wall``, at their real duration). Returns the model
    duration, the critical path's breakdown, the Lambda invocations and the state-transition counts.
    """
    events = sorted(events, key=lambda e: e["id"])
    by_id = {e["id"]: e for e in events}
    wall = {e["id"]: e["timestamp"].timestamp() for e in events}
    extra: dict[int, float] = {}
    corrections: dict[str, dict[str, Any]] = {}
    replay = _replay(events, states, records, time_scale, extra, runs, event_cpu, at_wall)
    for create_op, poll_state, poll_op, pending_field in READINESS_POLLS if pending else ():
        margin, final = _readiness(replay, create_op, poll_state, poll_op, (pending or {})[pending_field])
        if margin is None or final is None or margin >= -TOLERANCE:
            continue
        cycle = _poll_cycle(replay, by_id, final)
        if cycle is None or cycle["interval"] + cycle["cost"] <= 0:
            continue
        turns = math.ceil(-margin / (cycle["interval"] + cycle["cost"]))
        extra[final.entered_event] = turns * (cycle["interval"] + cycle["cost"])
        corrections[create_op] = {
            "extraPolls": turns,
            "seconds": extra[final.entered_event],
            "cycle": cycle,
            "poll": final,
        }
    if extra:
        replay = _replay(events, states, records, time_scale, extra, runs, event_cpu, at_wall)
    margins = {}
    for create_op, poll_state, poll_op, pending_field in READINESS_POLLS if pending else ():
        margins[create_op] = _readiness(replay, create_op, poll_state, poll_op, (pending or {})[pending_field])[0]

    first, last = events[0]["id"], events[-1]["id"]
    model, came_from, step = replay.model, replay.came_from, replay.step
    waits = latency_s = retries_s = compute = 0.0
    calls_on_path: Counter[str] = Counter()
    path_states: dict[str, dict[str, float]] = {}
    node = last
    while node in came_from:
        sleep_kind, sleep, step_compute = step[node]
        compute += step_compute
        name = replay.state_of.get(node) or "?"
        if sleep_kind == "wait":
            waits += sleep
        elif sleep_kind == "retry":
            retries_s += sleep
        elif sleep_kind == "task":
            latency_s += sleep
            invocation = replay.invocation_at[node]
            calls_on_path.update(op for _, op in invocation.calls)
        if sleep_kind in ("wait", "task"):
            entry = path_states.setdefault(name, {"runs": 0, "seconds": 0.0, "ec2Calls": 0})
            entry["runs"] += 1
            entry["seconds"] += sleep if sleep_kind == "wait" else replay.invocation_at[node].model_seconds
            entry["ec2Calls"] += len(replay.invocation_at[node].calls) if sleep_kind == "task" else 0
        node = came_from[node]
    # Polls the model adds (corrections) happen on the path: count their waits, calls and compute.
    invocations = list(replay.invocations)
    added_calls: Counter[str] = Counter()
    transitions_added = 0
    for fix in corrections.values():
        poll, turns, cycle = fix.pop("poll"), fix["extraPolls"], fix["cycle"]
        waits += turns * cycle["interval"]
        latency_s += turns * poll.latency
        compute += turns * (cycle["cost"] - poll.latency)
        ops = Counter(op for _, op in poll.calls)
        for op, n in ops.items():
            calls_on_path[op] += turns * n
            added_calls[op] += turns * n
        invocations += [poll] * turns
        transitions_added += turns * cycle["transitions"]
        entry = path_states.setdefault(cycle["wait"] or "?", {"runs": 0, "seconds": 0.0, "ec2Calls": 0})
        entry["runs"] += turns
        entry["seconds"] += turns * cycle["interval"]
        entry = path_states.setdefault(poll.state, {"runs": 0, "seconds": 0.0, "ec2Calls": 0})
        entry["runs"] += turns
        entry["seconds"] += turns * poll.model_seconds
        entry["ec2Calls"] += turns * len(poll.calls)

    routes_ready = [
        model[e["id"]]
        for e in events
        if e["type"] == "TaskStateExited" and _details(e).get("name") == ROUTES_READY_STATE
    ]
    types = Counter(e["type"] for e in events)
    retried = sum(
        1 for e in events if e["type"] == "TaskScheduled" and by_id[e["previousEventId"]]["type"] != "TaskStateEntered"
    )
    lambda_invocations = sum(
        1 for e in events if e["type"] == "TaskScheduled" and _details(e).get("resourceType") == "lambda"
    )
    payloads = [len(_details(e).get(key) or "") for e in events for key in ("input", "output") if key in _details(e)]
    return {
        "modelSeconds": model[last],
        "largestPayloadBytes": max(payloads, default=0),
        "clockSeconds": (wall[last] - wall[first]) / time_scale,
        "realSeconds": wall[last] - wall[first],
        "routesReadySeconds": routes_ready[-1] if routes_ready else None,
        "status": events[-1]["type"],
        "readinessMargins": margins,
        "corrections": corrections,
        "criticalPath": {
            "waitSeconds": waits,
            "ec2LatencySeconds": latency_s,
            "retrySeconds": retries_s,
            "computeSeconds": compute,
            "ec2Calls": sum(calls_on_path.values()),
            "ec2CallsByOperation": dict(sorted(calls_on_path.items())),
            "states": {k: {**v, "seconds": round(v["seconds"], 3)} for k, v in reversed(path_states.items())},
        },
        "invocations": invocations,
        "addedCalls": dict(added_calls),
        "unattributedCalls": replay.unattributed,
        "transitions": sum(n for t, n in types.items() if t.endswith("StateEntered")) + retried + transitions_added,
        "retries": retried,
        "lambdaInvocations": lambda_invocations + sum(c["extraPolls"] for c in corrections.values()),
    }


def _wait_seconds(states: dict[str, dict[str, Any]], entered: dict[str, Any], real: float, scale: float) -> float:
    details = _details(entered)
    state = states.get(details.get("name", ""), {})
    try:
        if "Seconds" in state:
            return float(state["Seconds"])
        if "SecondsPath" in state:
            return float(_json_path(json.loads(details.get("input") or "null"), state["SecondsPath"]))
    except (KeyError, TypeError, ValueError):
        pass
    return real / scale  # a Timestamp wait: its real duration is scaled


def lambda_cost(invocations: Sequence[Invocation], memory_mb: dict[str, int]) -> dict[str, Any]:
    """Billed GB-seconds: memory x each invocation's duration, rounded up to 1 ms."""
    gb_seconds = 0.0
    billed_ms_total = 0
    by_function: dict[str, dict[str, float]] = {}
    for inv in invocations:
        billed_ms = math.ceil(round(inv.model_seconds * 1000, 6))
        memory = memory_mb.get(inv.function or "", 128)
        gb_s = billed_ms / 1000 * memory / 1024
        gb_seconds += gb_s
        billed_ms_total += billed_ms
        entry = by_function.setdefault(inv.state, {"invocations": 0, "billedMs": 0, "memoryMb": memory})
        entry["invocations"] += 1
        entry["billedMs"] += billed_ms
    return {"billedGbSeconds": gb_seconds, "billedMs": billed_ms_total, "byState": by_function}


def usd(transitions: int, invocations: int, gb_seconds: float) -> float:
    return (
        transitions * PRICE_PER_TRANSITION
        + invocations * PRICE_PER_LAMBDA_REQUEST
        + gb_seconds * PRICE_PER_GB_SECOND_ARM64
    )


def analyse_sequential(
    records: Sequence[Any], sleeps: Sequence[tuple[float, float]], started: float, ended: float, scale: float
) -> dict[str, Any]:
    """A single-threaded script's duration in model time: its real duration, with every EC2
    latency and waiter sleep at its simulated length (``sleeps``: (wall start, simulated seconds)).
    Also the model time of each call (before its latency): (model seconds, operation)."""
    keep = 1.0 - scale
    timeline = sorted(
        [(r.started_at, r.simulated_seconds, r.operation) for r in records]
        + [(at, seconds, None) for at, seconds in sleeps]
    )
    calls: list[tuple[float, str]] = []
    slept = 0.0
    for at, seconds, operation in timeline:
        if operation is not None:
            calls.append(((at - started) + keep * slept, operation))
        slept += seconds
    real = ended - started
    return {"modelSeconds": real + keep * slept, "computeSeconds": real - scale * slept, "calls": calls}


# -- the fleet: one rollout over many accounts -----------------------------------------------------

# What Step Functions bills a rollout beyond the builds it starts (Standard workflows, us-east-1):
# "Step Functions counts a state transition each time a step of your workflow is executed. You are
# charged for the total number of state transitions across all your state machines, including
# retries" (https://aws.amazon.com/step-functions/pricing/, $0.025 per 1,000 state transitions),
# and a Distributed Map adds one per child: "you'll be charged one state transition for each child
# workflow execution that the Distributed Map state starts" (Step Functions developer guide,
# "Transitions", https://docs.aws.amazon.com/step-functions/latest/dg/concepts-transitions.html).
# Each child workflow (STANDARD) is then billed for the states it enters, like any execution.
#
# The emulator keeps no history of a child workflow (moto's engine gives the Map Run a throwaway
# event manager), so a child's states are read from its path through the rollout's ItemProcessor
# (statemachine/rollout.asl.json), known from how it ended (its ResultWriter record); the unit tests
# check each path against the ASL. A retried Run Build or Audit Network would add one transition
# per retry, which a record does not show.
ROLLOUT_CHILD_PATHS: dict[str, tuple[str, ...]] = {
    "built": ("Spec Loaded?", "Run Build"),
    "buildFailed": ("Spec Loaded?", "Run Build"),
    "reused": (
        "Spec Loaded?",
        "Run Build",
        "Find Earlier Build",
        "Earlier Build Succeeded?",
        "Read Earlier Output",
        "Reuse Earlier Build",
    ),
    "earlierBuildFailed": (
        "Spec Loaded?",
        "Run Build",
        "Find Earlier Build",
        "Earlier Build Succeeded?",
        "Describe Earlier Failure",
        "Earlier Build Failed",
    ),
    "refused": ("Spec Loaded?", "Item Refused"),
    "compliant": ("Spec Loaded?", "Audit Network", "Compliant?", "Network Compliant"),
    "drifted": ("Spec Loaded?", "Audit Network", "Compliant?", "Network Drifted"),
    "missing": ("Spec Loaded?", "Audit Network", "Compliant?", "Network Missing"),
    "auditFailed": ("Spec Loaded?", "Audit Network"),
}
CHILD_START_TRANSITIONS = 1  # the Distributed Map's charge for starting a child workflow execution


def _loads(text: Any) -> Any:
    try:
        return json.loads(text) if isinstance(text, str) else text
    except ValueError:
        return None


def child_outcome(record: dict[str, Any]) -> str | None:
    """How a rollout child ended, from its ResultWriter record (a key of :data:`ROLLOUT_CHILD_PATHS`);
    None for one never started (``PENDING``: the Map Run failed first)."""
    status = record.get("Status")
    if status == "PENDING" or not status:
        return None
    given = _loads(record.get("Input")) or {}
    item = given.get("item") or {}
    audit = given.get("mode") == "audit"
    if status == "SUCCEEDED":
        output = _loads(record.get("Output")) or {}
        if output.get("reused"):
            return "reused"
        return "compliant" if audit else "built"
    error = record.get("Error")
    if "invalid" in item:
        return "refused"
    if error == "EarlierBuildFailed":
        return "earlierBuildFailed"
    if error in ("NetworkDrifted", "NetworkMissing"):
        return "drifted" if error == "NetworkDrifted" else "missing"
    return "auditFailed" if audit else "buildFailed"


def child_transitions(record: dict[str, Any]) -> int:
    """State transitions billed for one rollout child: its start plus every state it entered."""
    outcome = child_outcome(record)
    return 0 if outcome is None else CHILD_START_TRANSITIONS + len(ROLLOUT_CHILD_PATHS[outcome])


def list_schedule(durations: Sequence[float], slots: int) -> float:
    """The makespan of jobs started in order, each on the first slot to come free (a Distributed
    Map's ``MaxConcurrency``: it starts the next item when a running child ends)."""
    if slots < 1:
        raise ValueError(f"slots must be >= 1, got {slots}")
    free = [0.0] * min(slots, len(durations))
    for duration in durations:
        start = heapq.heappop(free)
        heapq.heappush(free, start + duration)
    return max(free, default=0.0)


@dataclass(frozen=True)
class FleetChild:
    """One started rollout child, in wall-clock seconds (its ResultWriter record's dates)."""

    start: float
    stop: float
    build_seconds: float | None = None
    """The real duration of the build execution it ran and waited for (None: it ran none)."""
    cpu_seconds: float | None = None
    """The CPU its own work took, the build it waited for left out (the emulator's
    ``distributed_map.children_cpu_seconds``); None: unknown, its span less the build's counts."""


def fleet_time(
    events: Sequence[dict[str, Any]],
    states: dict[str, dict[str, Any]],
    children: Sequence[FleetChild],
    build_seconds: float,
    slots: int,
    time_scale: float,
    event_cpu: Mapping[int, tuple[int, float]] | None = None,
    runs: Sequence[Any] = (),
) -> dict[str, Any]:
    """A rollout's time to done in model time.

    The rollout's own history (Prepare Rollout, the Map Run, Summarize Rollout) is replayed as a
    build's is (:func:`analyse_execution`: its tasks by their handlers' CPU, ``runs``, its engine's
    steps by their threads' CPU, ``event_cpu``), except the step that ends the Map Run, which counts
    its real duration. That step is then re-timed: the real span of the children is replaced by
    their makespan -- each child takes its own time (the CPU of its own work: its Choice,
    StartExecution, the polls that see the build end; where that is unknown, its real duration less
    that of the build it waited for) plus ``build_seconds``, one account's build in model time, and
    the children run in item order on ``slots`` slots (:func:`list_schedule`). What the Map Run does
    before the first child (reading the items) stays as measured; writing the results follows the
    Map Run's end event and counts by CPU.

    A child's own time is its CPU, not its span less the build's, because the span also holds
    moto's real-time 0.5 s between ``.sync`` polls and, on a busy machine, the wait for a processor.
    How soon AWS sees the build end is not documented (its ``.sync`` policy grants a managed
    EventBridge rule, ``StepFunctionsGetEventsForStepFunctionsExecutionRule``) and not modelled."""
    map_run_ends = frozenset(e["id"] for e in events if e["type"] in _MAP_RUN_ENDS)
    parent = analyse_execution(events, states, (), time_scale, runs=runs, event_cpu=event_cpu, at_wall=map_run_ends)
    own = [
        max(0.0, c.cpu_seconds if c.cpu_seconds is not None else (c.stop - c.start) - (c.build_seconds or 0.0))
        for c in children
    ]
    durations = [
        o + (build_seconds if c.build_seconds is not None else 0.0) for o, c in zip(own, children, strict=True)
    ]
    span = max((c.stop for c in children), default=0.0) - min((c.start for c in children), default=0.0)
    makespan = list_schedule(durations, slots)
    tasks: dict[str, float] = {}
    for inv in parent["invocations"]:
        tasks[inv.state] = tasks.get(inv.state, 0.0) + inv.model_seconds
    return {
        "modelSeconds": parent["modelSeconds"] - span + makespan,
        "childrenSeconds": makespan,
        "outsideChildrenSeconds": parent["modelSeconds"] - span,
        "childOwnSeconds": own,
        "taskSeconds": tasks,
        "realSeconds": parent["realSeconds"],
        "transitions": parent["transitions"],
        "retries": parent["retries"],
        "lambdaInvocations": parent["lambdaInvocations"],
        "invocations": parent["invocations"],
    }
