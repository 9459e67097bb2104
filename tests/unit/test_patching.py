"""The emulator's PatchSet (emulator/patching.py): the install-once/uninstall every patch module uses.
Pure: patches a throwaway class and list, never moto."""

from __future__ import annotations

import threading

import pytest

from vpcfactory_tools.emulator import patching
from vpcfactory_tools.emulator.patching import Patcher, PatchSet


class Target:
    def original(self) -> str:
        return "original"


def _replacement(self: Target) -> str:
    return "patched"


def test_install_applies_once_and_uninstall_puts_everything_back() -> None:
    hooks: list[str] = ["theirs"]
    applied: list[int] = []
    forgotten: list[int] = []

    def apply(patcher: Patcher) -> None:
        applied.append(1)
        patcher.set(Target, "original", _replacement)
        patcher.set(Target, "added", 1)
        patcher.append(hooks, "ours")

    patches = PatchSet(apply, on_uninstall=lambda: forgotten.append(1))
    assert not patches.installed()
    patches.install()
    patches.install()  # idempotent
    assert patches.installed() and applied == [1]
    assert Target().original() == "patched" and Target.added == 1  # type: ignore[attr-defined]
    assert hooks == ["theirs", "ours"]

    hooks.append("ours")  # registered twice meanwhile: uninstall removes every occurrence
    patches.uninstall()
    assert not patches.installed() and forgotten == [1]
    assert Target().original() == "original" and not hasattr(Target, "added")
    assert hooks == ["theirs"]
    patches.uninstall()  # a no-op once undone (on_uninstall still runs, as the modules' did)

    patches.install()  # installable again after an uninstall
    assert patches.installed() and applied == [1, 1]
    patches.uninstall()


def test_is_installed_replaces_the_default_test() -> None:
    hooks: list[str] = []
    patches = PatchSet(lambda p: p.append(hooks, "ours"), check_version=False, is_installed=lambda: "ours" in hooks)
    patches.install()
    hooks.clear()  # removed behind its back: not installed, and install() registers it again
    assert not patches.installed()
    patches.install()
    assert hooks == ["ours"]
    patches.uninstall()
    assert hooks == []


def test_install_checks_the_moto_version_unless_told_not_to(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(patching, "MOTO_VERSION", "0.0.0")
    with pytest.raises(patching.MotoVersionMismatch):
        PatchSet(lambda p: None).install()
    PatchSet(lambda p: None, check_version=False).install()


def test_install_runs_under_the_given_lock() -> None:
    lock = threading.RLock()
    held: list[bool] = []

    def apply(patcher: Patcher) -> None:
        held.append(lock._is_owned())  # type: ignore[attr-defined]
        patcher.set(Target, "flag", True)

    patches = PatchSet(apply, lock, check_version=False)
    patches.install()
    patches.uninstall()
    assert held == [True]
