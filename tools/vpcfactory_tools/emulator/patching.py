"""How the emulator patches moto: the one moto version it was written for, fingerprints of the moto
source it relies on, a Patcher that sets attributes and puts them back, and the PatchSet each
patch module installs (once) and uninstalls through.

Every patch module (fidelity, faults, consistency, engine_time, ...) builds on this one, and it
imports none of them: the patch modules and the settings they read depend on it, never the other
way round. It imports no moto model either (``moto`` itself only for its version).
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
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
    """Sets attributes of classes or modules (and adds entries to lists) and remembers how to put
    them back."""

    def __init__(self) -> None:
        self._undo: list[Callable[[], None]] = []

    @property
    def active(self) -> bool:
        return bool(self._undo)

    def set(self, owner: Any, name: str, value: Any) -> None:
        had_own = name in vars(owner)
        old = vars(owner).get(name)

        def put_back() -> None:
            if had_own:
                setattr(owner, name, old)
            else:
                delattr(owner, name)

        self._undo.append(put_back)
        setattr(owner, name, value)

    def append(self, items: list[Any], item: Any) -> None:
        """Add ``item`` to ``items`` unless it is there already; :meth:`undo` removes every
        occurrence (a botocore ``BUILTIN_HANDLERS`` hook, say)."""

        def remove() -> None:
            while item in items:
                items.remove(item)

        self._undo.append(remove)
        if item not in items:
            items.append(item)

    def undo(self) -> None:
        for put_back in reversed(self._undo):
            put_back()
        self._undo.clear()


class PatchSet:
    """One patch module's patches, installed at most once: the install()/installed()/uninstall()
    every patch module offers, as ``install = _patches.install`` and so on.

    :meth:`install` checks the moto version (unless ``check_version=False``), then, under
    ``lock``, calls ``apply(patcher)`` unless the set is installed already; :meth:`uninstall`
    undoes everything ``apply`` did, then calls ``on_uninstall()`` (forget the module's state),
    under the same lock. ``lock`` is the module's own lock when it guards other state too;
    ``is_installed`` replaces "``apply`` has patched something" as the test for installed
    (iam_enforcement: "every hook is registered", so install() registers a missing one again)."""

    def __init__(
        self,
        apply: Callable[[Patcher], None],
        lock: AbstractContextManager[Any] | None = None,
        *,
        check_version: bool = True,
        is_installed: Callable[[], bool] | None = None,
        on_uninstall: Callable[[], None] | None = None,
    ) -> None:
        self._apply = apply
        self._lock: AbstractContextManager[Any] = lock if lock is not None else threading.Lock()
        self._patcher = Patcher()
        self._check_version = check_version
        self._is_installed = is_installed
        self._on_uninstall = on_uninstall

    def installed(self) -> bool:
        return self._is_installed() if self._is_installed is not None else self._patcher.active

    def install(self) -> None:
        """Apply the patches (idempotent)."""
        if self._check_version:
            check_moto_version()
        with self._lock:
            if not self.installed():
                self._apply(self._patcher)

    def uninstall(self) -> None:
        """Undo every patch (a no-op when not installed)."""
        with self._lock:
            self._patcher.undo()
            if self._on_uninstall is not None:
                self._on_uninstall()
