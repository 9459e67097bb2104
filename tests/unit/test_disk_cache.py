"""The emulator's cache on disk (vpcfactory_tools.emulator.disk_cache): where it is, entries written
whole, the newest kept, nothing kept when it is turned off or cannot be written."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from vpcfactory_tools.emulator import disk_cache


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(disk_cache.CACHE_DIR_VARIABLE, str(tmp_path))
    return tmp_path


def test_the_cache_is_under_the_variable_else_xdg_cache_home_else_the_home_cache(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv(disk_cache.CACHE_DIR_VARIABLE, str(tmp_path / "mine"))
    assert disk_cache.directory("kind") == tmp_path / "mine" / "kind"
    monkeypatch.delenv(disk_cache.CACHE_DIR_VARIABLE)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert disk_cache.directory("kind") == tmp_path / "xdg" / "vpcfactory" / "kind"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert disk_cache.directory("kind") == Path.home() / ".cache" / "vpcfactory" / "kind"
    monkeypatch.setenv(disk_cache.CACHE_DIR_VARIABLE, "")
    assert disk_cache.directory("kind") is None


def test_an_entry_is_read_back_as_written_and_its_name_follows_its_inputs(cache: Path) -> None:
    name = disk_cache.key({"a": 1, "b": [1, 2]})
    assert name == disk_cache.key({"b": [1, 2], "a": 1})
    assert name != disk_cache.key({"a": 1, "b": [2, 1]})
    assert disk_cache.read("kind", name) is None

    disk_cache.write("kind", name, {"value": [1, "x", None]})

    assert disk_cache.read("kind", name) == {"value": [1, "x", None]}
    assert [p.name for p in (cache / "kind").iterdir()] == [f"{name}.json"]  # no temporary file left


def test_an_unreadable_entry_reads_as_none(cache: Path) -> None:
    (cache / "kind").mkdir()
    (cache / "kind" / "broken.json").write_text('{"cut": ')
    assert disk_cache.read("kind", "broken") is None


def test_only_the_newest_entries_of_a_kind_are_kept(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(disk_cache, "KEEP", 3)
    for n in range(5):
        disk_cache.write("kind", f"e{n}", n)
        os.utime(cache / "kind" / f"e{n}.json", ns=(n * 10**9, n * 10**9))
    disk_cache.write("kind", "e5", 5)
    assert sorted(p.name for p in (cache / "kind").iterdir()) == ["e3.json", "e4.json", "e5.json"]


def test_an_entry_read_is_kept_over_newer_ones_written_once(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # what every run reads (the stack's definitions) outlives what one test wrote once; a kind can
    # keep more than the default
    monkeypatch.setattr(disk_cache, "KEEP", 3)
    for n in range(3):
        disk_cache.write("kind", f"e{n}", n)
        os.utime(cache / "kind" / f"e{n}.json", ns=(n * 10**9, n * 10**9))
    assert disk_cache.read("kind", "e0") == 0  # used now
    disk_cache.write("kind", "e3", 3)
    assert sorted(p.name for p in (cache / "kind").iterdir()) == ["e0.json", "e2.json", "e3.json"]
    for n in range(4, 8):
        disk_cache.write("kind", f"e{n}", n, keep=10)
    assert len(list((cache / "kind").iterdir())) == 7


def test_nothing_is_kept_when_turned_off_or_when_the_directory_cannot_be_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(disk_cache.CACHE_DIR_VARIABLE, "")
    disk_cache.write("kind", "e", 1)
    assert disk_cache.read("kind", "e") is None

    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    monkeypatch.setenv(disk_cache.CACHE_DIR_VARIABLE, str(blocked))
    disk_cache.write("kind", "e", 1)  # no error: only not kept
    assert disk_cache.read("kind", "e") is None


def test_no_home_at_all_keeps_nothing(monkeypatch) -> None:
    # A container's arbitrary uid: no HOME, no passwd entry (Path.home() raises RuntimeError)
    monkeypatch.delenv(disk_cache.CACHE_DIR_VARIABLE, raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)

    def no_home() -> Path:
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.setattr(Path, "home", staticmethod(no_home))
    assert disk_cache.directory("kind") is None
    disk_cache.write("kind", "name", {"a": 1})  # nothing kept, nothing raised
    assert disk_cache.read("kind", "name") is None


def test_a_value_that_is_not_json_is_not_kept_and_leaves_no_temporary_file(cache: Path) -> None:
    disk_cache.write("kind", "name", {"a": object()})

    assert disk_cache.read("kind", "name") is None
    assert list((cache / "kind").iterdir()) == []


def test_a_temporary_file_a_killed_writer_left_is_removed_after_an_hour(cache: Path) -> None:
    folder = cache / "kind"
    folder.mkdir()
    old, fresh = folder / ".gone.abc.tmp", folder / ".writing.def.tmp"
    for leftover in (old, fresh):
        leftover.write_text("{")
    two_hours_ago = old.stat().st_mtime - 7200
    os.utime(old, (two_hours_ago, two_hours_ago))

    disk_cache.write("kind", "name", [1])

    assert not old.exists() and fresh.exists()  # another process may be writing the fresh one
    assert disk_cache.read("kind", "name") == [1]
