"""What the emulator computes the same way in every process, kept on disk between processes.

Every CLI run and every served emulator is a new process, and so is each pytest-xdist worker: what
a process computes from fixed inputs alone (the SAM translation of template.yaml, moto's list of
default VPC endpoint services of a Region) is computed once and then read back. Each entry is
named by a digest of everything it is computed from (its inputs and the versions of the code that
computes it), so a changed input is a different entry, never a stale one.

An entry is written whole to a temporary file in the same directory and renamed into place
(``os.replace``, atomic on POSIX), so processes that write and read one entry at once never see half
of it; an entry that cannot be read is computed again and rewritten. Where: ``$VPCFACTORY_CACHE_DIR``,
else ``$XDG_CACHE_HOME/vpcfactory``, else ``~/.cache/vpcfactory``; ``VPCFACTORY_CACHE_DIR=`` (empty)
keeps nothing on disk. A directory that cannot be written only means nothing is kept.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

CACHE_DIR_VARIABLE = "VPCFACTORY_CACHE_DIR"
KEEP = 32  # entries per kind: each edit of an input adds one


def directory(kind: str) -> Path | None:
    """The directory of one kind of entry, or None when nothing is kept on disk."""
    chosen = os.environ.get(CACHE_DIR_VARIABLE)
    if chosen is not None:
        return Path(chosen) / kind if chosen else None
    try:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    except RuntimeError:  # no HOME and no passwd entry (a container's arbitrary uid): keep nothing
        return None
    return Path(base) / "vpcfactory" / kind


def key(inputs: Any) -> str:
    """The name of the entry computed from ``inputs`` (any JSON value)."""
    return hashlib.sha256(json.dumps(inputs, sort_keys=True, default=str).encode()).hexdigest()


def read(kind: str, name: str) -> Any | None:
    """The stored JSON value, or None (not stored, or unreadable: compute it again). A value read is
    marked used (its time set to now): pruning keeps the entries used last, not the ones written
    last, so what every run reads (the stack's definitions) outlives what one test wrote once."""
    folder = directory(kind)
    if folder is None:
        return None
    path = folder / f"{name}.json"
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    with contextlib.suppress(OSError):  # a read-only directory: still a hit
        os.utime(path)
    return value


def write(kind: str, name: str, value: Any, keep: int | None = None) -> None:
    """Store ``value`` (JSON) whole, then keep the ``keep`` (default :data:`KEEP`) entries of the kind
    used last."""
    folder = directory(kind)
    if folder is None:
        return
    temporary: str | None = None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".tmp")
        with os.fdopen(handle, "w") as out:
            json.dump(value, out)
        os.replace(temporary, folder / f"{name}.json")
        temporary = None
        _prune(folder, KEEP if keep is None else keep)
    except (OSError, TypeError, ValueError):  # a read-only home, a full disk, not JSON: only not kept
        if temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(temporary)


STALE_TEMPORARY_SECONDS = 3600  # a writer killed mid-write leaves its temporary file: gone after an hour


def _prune(folder: Path, keep: int) -> None:
    for leftover in folder.glob(".*.tmp"):
        with contextlib.suppress(OSError):
            if time.time() - leftover.stat().st_mtime > STALE_TEMPORARY_SECONDS:
                leftover.unlink()
    entries = []
    for entry in folder.glob("*.json"):
        with contextlib.suppress(OSError):  # another process pruned it first
            entries.append((entry.stat().st_mtime_ns, entry))
    for _, stale in sorted(entries, reverse=True)[keep:]:
        with contextlib.suppress(OSError):
            stale.unlink()
