"""The Step Functions engine's copies of state data, made as JSON copies.

moto's engine copies a state's data at each step (``copy.deepcopy``: the input it extracts, the input
it resets to, a result, an error output, a Task's parameters, the value of each ``.$`` path it reads):
about 7 % of the CPU of a build on the emulator. ``deepcopy`` is general, and pays for it: a memo of
every object it visits, a dispatch table lookup and a ``__deepcopy__``/``__reduce_ex__`` probe per
object. State data is JSON (dicts, lists, strings, numbers, booleans, null): :func:`json_copy` copies
those directly and hands anything else to ``deepcopy``.

Nothing answers differently. The one thing ``deepcopy`` keeps that a JSON copy does not is sharing:
one object reachable twice is copied once. On AWS state data is JSON text between steps, where
nothing is shared, so a JSON copy is closer to AWS, not further; and the engine only reads the copies
or writes into them as a whole document (ResultPath builds new data). Only the modules whose
``deepcopy`` copies state data are switched (their ``copy`` name); moto's own objects elsewhere
(an execution's stack frames, its program state) keep ``deepcopy``.
"""

from __future__ import annotations

import copy
import threading
import types
from typing import Any

from moto.stepfunctions.parser.asl.component.common.string import string_expression
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import state_task_service
from moto.stepfunctions.parser.asl.eval import states

from .patching import Patcher, PatchSet

# sha256[:16] of the moto code whose copies this module makes (see fidelity.PINNED_SOURCES): each
# copies state data with `copy.deepcopy` and nothing else from `copy`.
PINNED_SOURCES: dict[str, str] = {
    "moto.stepfunctions.parser.asl.eval.states:States._extract": "9ab6dac771c565c5",
    "moto.stepfunctions.parser.asl.eval.states:States.reset": "3026ea3d76899e69",
    "moto.stepfunctions.parser.asl.eval.states:States.set_result": "29f5a51aba331324",
    "moto.stepfunctions.parser.asl.eval.states:States.set_error_output": "ae3d6c4590b24001",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service:"
    "StateTaskService._eval_execution": "81a8da94bfdb59ff",
    "moto.stepfunctions.parser.asl.component.common.string.string_expression:"
    "StringJsonPath._eval_body": "392229c667fcb57a",
    "moto.stepfunctions.parser.asl.component.common.string.string_expression:"
    "StringContextPath._eval_body": "6c082012d91adff7",
}

_SCALARS = (str, int, float, bool, type(None))


def json_copy(value: Any) -> Any:
    """A deep copy of JSON data; anything that is not JSON is copied by ``copy.deepcopy``."""
    kind = type(value)
    if kind is dict:
        return {key: json_copy(item) for key, item in value.items()}
    if kind is list:
        return [json_copy(item) for item in value]
    if kind in _SCALARS:
        return value
    return copy.deepcopy(value)


# What the switched modules see as `copy`: `deepcopy` is json_copy, the rest is the standard module's.
_COPY = types.SimpleNamespace(**{**vars(copy), "deepcopy": json_copy})
_MODULES = (states, state_task_service, string_expression)
_lock = threading.Lock()


def _apply(patcher: Patcher) -> None:
    for module in _MODULES:
        if getattr(module, "copy", None) is not copy:
            raise RuntimeError(f"{module.__name__} no longer copies with the copy module")
        patcher.set(module, "copy", _COPY)


_patches = PatchSet(_apply, _lock)
installed = _patches.installed
install = _patches.install
uninstall = _patches.uninstall
