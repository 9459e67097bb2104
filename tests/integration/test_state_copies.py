"""The engine's copies of state data made as JSON copies (vpcfactory_tools.emulator.state_copies): the
copy is deepcopy's for JSON, shares nothing with what it copied, hands anything else to deepcopy, and
the moto code it serves is pinned."""

from __future__ import annotations

import copy
import datetime
import json

from moto.stepfunctions.parser.asl.component.common.string import string_expression
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import state_task_service
from moto.stepfunctions.parser.asl.eval import states

from vpcfactory_tools.emulator import state_copies
from vpcfactory_tools.emulator.patching import source_fingerprints
from vpcfactory_tools.emulator.state_copies import json_copy

STATE = {
    "spec": {"name": "prod", "cidr": "10.0.0.0/16", "tiers": [{"name": "web", "type": "public", "prefix": 24}]},
    "plan": {"zones": ["us-east-1a", "us-east-1b"], "natGateways": 2, "ipv6": False, "cost": 65.7, "note": None},
    "ids": [["subnet-1", "subnet-2"], []],
}


def test_the_moto_code_whose_copies_are_made_is_unchanged_since_it_was_pinned() -> None:
    assert source_fingerprints(state_copies.PINNED_SOURCES) == state_copies.PINNED_SOURCES


def test_a_json_copy_equals_the_deepcopy_and_shares_nothing_with_the_original() -> None:
    copied = json_copy(STATE)
    assert copied == copy.deepcopy(STATE) == STATE
    assert json.dumps(copied, sort_keys=True) == json.dumps(STATE, sort_keys=True)
    copied["spec"]["tiers"][0]["name"] = "changed"
    copied["ids"][0].append("subnet-3")
    assert STATE["spec"]["tiers"][0]["name"] == "web" and STATE["ids"][0] == ["subnet-1", "subnet-2"]
    # what the engine holds that is not JSON is deepcopy's: copied, not shared
    when = {"at": datetime.datetime(2026, 11, 30, tzinfo=datetime.UTC), "pair": ("a", ["b"])}
    other = json_copy(when)
    assert other == when and other["pair"][1] is not when["pair"][1]


def test_install_switches_the_state_data_copies_and_uninstall_gives_moto_back() -> None:
    was_installed = state_copies.installed()
    state_copies.install()
    try:
        for module in (states, state_task_service, string_expression):
            assert module.copy.deepcopy is json_copy and module.copy.copy is copy.copy
        state_copies.uninstall()
        for module in (states, state_task_service, string_expression):
            assert module.copy is copy
    finally:
        if was_installed:
            state_copies.install()
