"""What the sweeps aim at, found by running the builds, never from a list: each example's
:class:`Profile` (the EC2 calls of a clean build, its destroy and a failed build's rollback), the
fault and crash points derived from it (:func:`sweep_points`) and the handlers the re-runs fail or
kill (:func:`rerun_points`)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from vpcfactory_tools.emulator import faults
from vpcfactory_tools.emulator.embedded import EmbeddedEmulator
from vpcfactory_tools.emulator.faults import Fault
from vpcfactory_tools.reliability.conditions import settings
from vpcfactory_tools.reliability.executions import _checked, execution_of
from vpcfactory_tools.reliability.specs import unique

READ_PREFIXES = ("Describe", "Get", "List", "Search")


def is_mutating(operation: str) -> bool:
    return not operation.startswith(READ_PREFIXES)


Call = tuple[str, str]  # (Lambda function, EC2 operation)


@dataclass
class Profile:
    """What real runs of one example call, in order (found by running them, never from a list):
    a clean build, its destroy, and a build failed at its last mutating call (``trigger``) with
    the rollback that follows."""

    example: str
    spec: dict[str, Any]
    build: list[Call]
    destroy: list[Call]
    rollback: list[Call]
    trigger: Fault

    def mutating(self, phase: str = "build") -> dict[str, int]:
        """Mutating operations of a phase and how often each is called, in first-call order."""
        counts: dict[str, int] = {}
        for _, op in getattr(self, phase):
            if is_mutating(op):
                counts[op] = counts.get(op, 0) + 1
        return counts


def profile(emu: EmbeddedEmulator, example: str, spec: dict[str, Any]) -> Profile:
    """Run ``spec`` for real and record each EC2 call of its build, destroy and rollback."""
    emu.reconfigure(settings(emu))
    built = _checked(emu.build(unique(spec)), "SUCCEEDED", f"a clean build of {example}")
    build = faults.call_sequence(execution_of(built))
    destroyed = _checked(emu.destroy(built.vpc_id or ""), "SUCCEEDED", f"destroying {example}")
    destroy = faults.call_sequence(execution_of(destroyed))
    _, op, n = last_mutating_calls(build)[-1]
    trigger = Fault(op, n, "InternalError")
    emu.reconfigure(settings(emu, faults=[trigger]))
    failed = _checked(emu.build(unique(spec)), "FAILED", f"{example} failed at {trigger}")
    rollback = faults.call_sequence(execution_of(failed))
    emu.reconfigure(settings(emu))
    return Profile(example, spec, build, destroy, rollback, trigger)


def last_mutating_calls(calls: list[Call], functions: Iterable[str] | None = None) -> list[tuple[str, str, int]]:
    """For each function (in order of its last call), its last mutating call: (function,
    operation, N) where N numbers that call among all calls of the operation in ``calls``."""
    wanted = set(functions) if functions is not None else None
    seen: Counter[str] = Counter()
    last: dict[str, tuple[str, str, int]] = {}
    for function, op in calls:
        seen[op] += 1
        if is_mutating(op) and (wanted is None or function in wanted):
            last.pop(function, None)
            last[function] = (function, op, seen[op])
    return list(last.values())


@dataclass(frozen=True)
class SweepPoint:
    """One call of one operation, and the example whose build makes it."""

    example: str
    operation: str
    call: int

    @property
    def id(self) -> str:
        return f"{self.operation}:{self.call}"


def sweep_points(profiles: list[Profile], *, last_calls: bool = True) -> list[SweepPoint]:
    """Every mutating operation the builds of the examples make: its first call and
    (``last_calls``) its last, each in the build that calls it most."""
    points: list[SweepPoint] = []
    seen: set[str] = set()
    for prof in profiles:
        for op in prof.mutating():
            if op in seen:
                continue
            seen.add(op)
            richest = max(profiles, key=lambda p: p.mutating().get(op, 0))
            count = richest.mutating()[op]
            points.append(SweepPoint(richest.example, op, 1))
            if last_calls and count > 1:
                points.append(SweepPoint(richest.example, op, count))
    return points


@dataclass(frozen=True)
class RerunPoint:
    """The last mutating call of one handler in one phase of one example's run."""

    phase: str  # build | destroy | rollback
    example: str
    function: str
    operation: str
    call: int

    @property
    def id(self) -> str:
        return f"{self.phase}:{self.function.rsplit('-', 1)[-1]}:{self.operation}:{self.call}"


def rerun_points(profiles: list[Profile]) -> list[RerunPoint]:
    """Every handler that changes something, in each phase (build, destroy, rollback): its last
    mutating call, in the example where that handler does the most."""
    points: dict[tuple[str, str], RerunPoint] = {}
    weight: dict[tuple[str, str], int] = {}
    for prof in profiles:
        build_functions = {f for f, _ in prof.build}
        teardown = [f for f, _ in prof.rollback if f not in build_functions]
        phases = {
            "build": last_mutating_calls(prof.build),
            "destroy": last_mutating_calls(prof.destroy),
            "rollback": last_mutating_calls(prof.rollback, teardown),
        }
        for phase, lasts in phases.items():
            calls = getattr(prof, phase)
            for function, op, n in lasts:
                mutations = sum(1 for f, o in calls if f == function and is_mutating(o))
                key = (phase, function)
                if mutations > weight.get(key, -1):
                    weight[key] = mutations
                    points[key] = RerunPoint(phase, prof.example, function, op, n)
    return list(points.values())
