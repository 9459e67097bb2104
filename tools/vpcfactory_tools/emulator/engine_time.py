"""Scale the sleeps of moto's Step Functions engine by ``EmulatorSettings.time_scale``.

moto's ASL interpreter really sleeps: a Wait state blocks on
``env.program_state_event.wait(seconds)`` (``WaitFunction._wait_interval``) and a Retry
interval calls ``time.sleep(interval)`` (``RetrierDecl._eval_body``). After
:func:`install`, both take ``seconds * current().time_scale`` real seconds, read at the
moment the sleep starts. Waits stay interruptible: stopping an execution ends them.

:func:`simulated_seconds_waited` reports the simulated seconds the engine has slept
(Wait states plus Retry intervals, summed over all executions and branches).
"""

from __future__ import annotations

import threading
import time
from types import ModuleType
from typing import Any

from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import (
    WaitFunction,
)

from .fidelity import Patcher, check_moto_version
from .settings import current

PINNED_SOURCES: dict[str, str] = {
    "moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function:"
    "WaitFunction._wait_interval": "8f954dee80372b4b",
    "moto.stepfunctions.parser.asl.component.common.retry.retrier_decl:"
    "RetrierDecl._eval_body": "48463fff19cefa98",
}

_lock = threading.Lock()
_waited = 0.0
_patcher = Patcher()


def simulated_seconds_waited() -> float:
    """Simulated seconds slept by Wait states and Retry intervals since the last reset."""
    with _lock:
        return _waited


def reset() -> None:
    global _waited
    with _lock:
        _waited = 0.0


def _record(seconds: float) -> None:
    global _waited
    with _lock:
        _waited += seconds


def _scaled_wait_interval(self: WaitFunction, env: Any, wait_seconds: int) -> None:
    """A Wait state of ``wait_seconds`` simulated seconds, cut short if the run stops."""
    if wait_seconds <= 0:
        return
    _record(wait_seconds)
    deadline = time.monotonic() + wait_seconds * current().time_scale
    while env.is_running():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return
        env.program_state_event.wait(remaining)


class _ScaledTime(ModuleType):
    """Stands in for ``time`` inside retrier_decl: ``sleep`` is scaled, the rest is time."""

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)

    @staticmethod
    def sleep(seconds: float) -> None:
        _record(seconds)
        time.sleep(seconds * current().time_scale)


def installed() -> bool:
    return _patcher.active


def install() -> None:
    """Make engine sleeps honour the time scale (idempotent)."""
    check_moto_version()
    with _lock:
        if _patcher.active:
            return
        original = WaitFunction.__dict__["_wait_interval"]
        _scaled_wait_interval.__wrapped__ = original  # type: ignore[attr-defined]
        _patcher.set(WaitFunction, "_wait_interval", _scaled_wait_interval)
        if retrier_decl.time is not time:
            raise RuntimeError("moto's retrier_decl no longer sleeps through the time module")
        _patcher.set(retrier_decl, "time", _ScaledTime("time"))


def uninstall() -> None:
    with _lock:
        _patcher.undo()
