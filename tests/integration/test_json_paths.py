"""The engine's JSONPaths parsed once per process (vpcfactory_tools.emulator.json_paths): the cached
parse is the parse, for every path our state machines use, and the moto code it serves is pinned."""

from __future__ import annotations

import json
from pathlib import Path

import jsonpath_ng
import jsonpath_ng.ext
import pytest
from moto.stepfunctions.parser.asl.component.common.path import result_path
from moto.stepfunctions.parser.asl.utils import json_path

from vpcfactory_tools.emulator import json_paths
from vpcfactory_tools.emulator.patching import source_fingerprints

ROOT = Path(__file__).resolve().parents[2]


def _asl_paths() -> set[str]:
    """Every JSONPath in the state machines: ``...Path`` fields and ``.$`` parameter values."""
    found: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if isinstance(value, str) and (key.endswith(".$") or key.endswith("Path")) and value.startswith("$"):
                    found.add(value)
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    for asl in (ROOT / "statemachine").glob("*.asl.json"):
        walk(json.loads(asl.read_text()))
    return found


def test_the_moto_code_whose_parse_is_cached_is_unchanged_since_it_was_pinned() -> None:
    assert source_fingerprints(json_paths.PINNED_SOURCES) == json_paths.PINNED_SOURCES


def test_the_cached_parse_of_every_path_the_state_machines_use_is_the_parse() -> None:
    paths = _asl_paths()
    assert len(paths) > 20
    data = {"a": [1, 2], "spec": {"name": "x"}}
    for path in sorted(paths):
        for cached, fresh in ((json_paths.parse_extended, jsonpath_ng.ext.parse), (json_paths.parse_plain, None)):
            try:
                expected = (fresh or jsonpath_ng.parse)(path)
            except Exception as error:  # noqa: BLE001 - then the cached parse raises the same
                with pytest.raises(type(error)):
                    cached(path)
                continue
            assert cached(path) == expected, path
            assert cached(path) is cached(path)  # parsed once
            assert [m.value for m in cached(path).find(data)] == [m.value for m in expected.find(data)]


def test_a_path_that_does_not_parse_raises_every_time() -> None:
    for _ in range(2):
        with pytest.raises(Exception, match="Parse error|Unexpected|Error"):
            json_paths.parse_extended("$.[[")


def test_install_swaps_the_engine_parse_and_uninstall_gives_moto_back() -> None:
    was_installed = json_paths.installed()
    json_paths.install()
    try:
        assert json_path.parse is json_paths.parse_extended
        assert result_path.parse is json_paths.parse_plain
        json_paths.uninstall()
        assert json_path.parse is jsonpath_ng.ext.parse
        assert result_path.parse is jsonpath_ng.parse
    finally:
        if was_installed:
            json_paths.install()
