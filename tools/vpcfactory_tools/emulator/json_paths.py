"""The Step Functions engine's JSONPaths, parsed once per process.

moto's engine parses a JSONPath (``$.plan.zones``, ``$$.Execution.Id``, a ``ResultPath``) each time a
state reads or writes one: ``extract_json`` and ``ResultPath`` call ``jsonpath_ng``'s ``parse`` with the
path's text, and every ``parse`` builds a new ply parser from its tables (~0.3-0.4 ms of CPU). A build
reads a few hundred paths, so that was ~10 % of the engine's CPU. After :func:`install` both read
their paths through one cache keyed by the path's text.

Nothing answers differently: ``parse`` is a pure function of the text (a path that does not parse
raises each time: a raising call is not cached), and the parsed expression is never changed by
``find`` or ``update_or_create`` (they build new data; every attribute of an expression is set in
its constructor), so one expression serves every execution and thread.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

import jsonpath_ng
import jsonpath_ng.ext
from moto.stepfunctions.parser.asl.component.common.path import result_path
from moto.stepfunctions.parser.asl.utils import json_path

from .patching import Patcher, PatchSet

# sha256[:16] of the moto code that calls the parse this module replaces (see fidelity.PINNED_SOURCES).
PINNED_SOURCES: dict[str, str] = {
    "moto.stepfunctions.parser.asl.utils.json_path:extract_json": "932245247973780c",
    "moto.stepfunctions.parser.asl.component.common.path.result_path:ResultPath._eval_body": "a6d93b4e5a332fad",
}

CACHE_SIZE = 4096

_lock = threading.Lock()


@functools.lru_cache(maxsize=CACHE_SIZE)
def parse_extended(path: str) -> Any:
    """``jsonpath_ng.ext.parse`` (what ``extract_json`` uses), once per path text."""
    return jsonpath_ng.ext.parse(path)


@functools.lru_cache(maxsize=CACHE_SIZE)
def parse_plain(path: str) -> Any:
    """``jsonpath_ng.parse`` (what ``ResultPath`` uses), once per path text."""
    return jsonpath_ng.parse(path)


def _apply(patcher: Patcher) -> None:
    for module, cached, original in (
        (json_path, parse_extended, jsonpath_ng.ext.parse),
        (result_path, parse_plain, jsonpath_ng.parse),
    ):
        if module.parse is not original:
            raise RuntimeError(f"{module.__name__} no longer parses with {original.__module__}.parse")
        patcher.set(module, "parse", cached)


def _forget() -> None:
    parse_extended.cache_clear()
    parse_plain.cache_clear()


_patches = PatchSet(_apply, _lock, on_uninstall=_forget)
installed = _patches.installed
install = _patches.install
uninstall = _patches.uninstall
