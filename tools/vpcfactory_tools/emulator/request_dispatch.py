"""moto finds each request's handler method without listing the whole response class.

For every request, moto's ``BaseResponse.call_action`` asks ``method_names_from_class(cls)`` (every
function of the response class, by ``inspect.getmembers``) and then whether the action's name is
in that list: 0.3 ms for EC2's ~300 methods, on every EC2 call the handlers and the deploy make. After
:func:`install` it gets an object that answers that one question, ``name in names``, directly:
whether ``getattr(cls, name)`` is a function, which is what membership in the list means for a
class whose metaclass is ``type`` (``inspect.getmembers`` lists the names in ``dir(cls)`` whose
``getattr`` is a function; a name outside ``dir(cls)`` that ``getattr`` finds comes from the
metaclass, and ``type``'s attributes are not functions). Any other class gets moto's list. The
answer is read when asked, so methods the emulator patches in or out are seen at once.
"""

from __future__ import annotations

import inspect
import threading
from typing import Any

from moto.core import responses

from .patching import Patcher, PatchSet

# sha256[:16] of the moto code this module relies on (see fidelity.PINNED_SOURCES).
PINNED_SOURCES: dict[str, str] = {
    "moto.core.utils:method_names_from_class": "9dbac89d082b655f",
    "moto.core.responses:BaseResponse.call_action": "26076963fd17fd1a",
}

_lock = threading.Lock()


class FunctionNames:
    """``name in FunctionNames(cls)`` is ``name in method_names_from_class(cls)``, for one name."""

    __slots__ = ("_owner",)

    def __init__(self, owner: type) -> None:
        self._owner = owner

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and inspect.isfunction(getattr(self._owner, name, None))


def method_names(clazz: Any) -> Any:
    """What ``call_action`` asks ``method_names_from_class`` for, answered per name."""
    if type(clazz) is not type:  # a metaclass of its own could add functions: moto's list
        return _original(clazz)
    return FunctionNames(clazz)


_original = responses.method_names_from_class


def _apply(patcher: Patcher) -> None:
    if responses.method_names_from_class is not _original:
        raise RuntimeError("moto.core.responses.method_names_from_class is not moto's")
    patcher.set(responses, "method_names_from_class", method_names)


_patches = PatchSet(_apply, _lock)
installed = _patches.installed
install = _patches.install
uninstall = _patches.uninstall
