"""How the emulator patches moto: the one moto version it was written for, fingerprints of the moto
source it relies on, and a Patcher that sets attributes and puts them back.

Every patch module (fidelity, faults, consistency, engine_time, ...) builds on this one, and it
imports none of them: the patch modules and the settings they read depend on it, never the other
way round. It imports no moto model either (``moto`` itself only for its version).
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
from typing import Any

import moto

MOTO_VERSION = "5.2.5"


class MotoVersionMismatch(RuntimeError):
    """The installed moto is not the version the emulator's patches were written for."""


def check_moto_version() -> None:
    """Refuse to patch a moto other than :data:`MOTO_VERSION`."""
    if moto.__version__ != MOTO_VERSION:
        raise MotoVersionMismatch(
            f"the vpcfactory emulator patches moto {MOTO_VERSION} but moto {moto.__version__} is "
            "installed; pin moto to that version (requirements-dev.lock) or re-check every patch "
            "in tools/vpcfactory_tools/emulator against the new moto source and update the pins"
        )


def resolve(path: str) -> Any:
    """``"package.module:Class.attr"`` -> the object (functions unwrapped from classes)."""
    module_name, _, qualname = path.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in qualname.split("."):
        obj = inspect.getattr_static(obj, part) if inspect.isclass(obj) else getattr(obj, part)
    return inspect.unwrap(obj)  # the moto original, even while patched


def source_fingerprint(obj: Any) -> str:
    """A short hash of an object's source code."""
    return hashlib.sha256(inspect.getsource(obj).encode()).hexdigest()[:16]


def source_fingerprints(paths: dict[str, str] | list[str]) -> dict[str, str]:
    """The current fingerprints of ``paths`` (compare with a PINNED_SOURCES dict)."""
    return {path: source_fingerprint(resolve(path)) for path in paths}


class Patcher:
    """Sets attributes of classes or modules and remembers how to put them back."""

    def __init__(self) -> None:
        self._undo: list[tuple[Any, str, bool, Any]] = []

    @property
    def active(self) -> bool:
        return bool(self._undo)

    def set(self, owner: Any, name: str, value: Any) -> None:
        had_own = name in vars(owner)
        self._undo.append((owner, name, had_own, vars(owner).get(name)))
        setattr(owner, name, value)

    def undo(self) -> None:
        for owner, name, had_own, old in reversed(self._undo):
            if had_own:
                setattr(owner, name, old)
            else:
                delattr(owner, name)
        self._undo.clear()
