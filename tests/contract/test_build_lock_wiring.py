"""The build lock's wiring in statemachine/build_vpc.asl.json and template.yaml: the lock is taken by
Validate And Plan with the execution's ARN, every ending of a build that took it passes a release,
and a build refused at Validate And Plan (BuildInProgress among others) reaches neither a release
nor the rollback, so it can touch neither the running build's lock nor its network."""

from __future__ import annotations

import json
from pathlib import Path

from vpcfactory_tools.emulator.deploy import load_template

ROOT = Path(__file__).resolve().parents[2]
STATES = json.loads((ROOT / "statemachine" / "build_vpc.asl.json").read_text())["States"]
RESOURCES = load_template(ROOT / "template.yaml")["Resources"]
RELEASES = {"Release Build Lock", "Release Build Lock After Rollback"}
TERMINAL = {"Succeed", "Fail"}


def _next(name: str) -> list[str]:
    state = STATES[name]
    targets = [state.get("Next"), state.get("Default")]
    targets += [c["Next"] for c in state.get("Choices", []) + state.get("Catch", [])]
    return [t for t in targets if t]


def _paths_to_an_end(start: str, avoiding: frozenset[str] = frozenset()) -> set[str]:
    """The terminal states reachable from `start` without entering a state in `avoiding`."""
    seen, todo, ends = set(), [start], set()
    while todo:
        name = todo.pop()
        if name in seen or name in avoiding:
            continue
        seen.add(name)
        if STATES[name]["Type"] in TERMINAL:
            ends.add(name)
        todo += _next(name)
    return ends


def test_validate_and_plan_takes_the_lock_as_this_execution_and_hands_it_on():
    task = STATES["Validate And Plan"]
    assert task["Parameters"]["Payload"]["executionArn.$"] == "$$.Execution.Id"
    assert task["ResultSelector"]["lock.$"] == "$.Payload.lock"


def test_each_release_gives_back_only_this_executions_lock():
    for name in RELEASES:
        payload = STATES[name]["Parameters"]["Payload"]
        assert payload["executionArn.$"] == "$$.Execution.Id", name
        assert payload["lock.$"] == "$.lock", name
        assert STATES[name]["Parameters"]["FunctionName"] == "${ReleaseBuildLockFunctionArn}"


def test_no_ending_of_a_planned_build_skips_a_release():
    # From the first state after the lock was taken, no end (Succeed or Fail) is reachable
    # without passing a release: success, failure after a rollback, and a rollback that failed.
    after_plan = STATES["Validate And Plan"]["Next"]
    assert _paths_to_an_end(after_plan, avoiding=frozenset(RELEASES)) == set()


def test_a_build_refused_at_validate_and_plan_reaches_no_release_and_no_rollback():
    (refused,) = [c["Next"] for c in STATES["Validate And Plan"]["Catch"]]
    seen, todo = set(), [refused]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo += _next(name)
    assert not seen & (RELEASES | {"Roll Back"}), seen & (RELEASES | {"Roll Back"})
    assert "Build Already Running" in seen


def test_a_release_that_fails_never_sends_a_build_into_the_rollback():
    for name in RELEASES:
        assert {c["Next"] for c in STATES[name]["Catch"]} == {STATES[name]["Next"]}, name


def test_the_rollbacks_release_comes_before_cloudformation_is_answered():
    # A stack rolling back sends its next request for the name as soon as it has the answer.
    assert STATES["Release Build Lock After Rollback"]["Next"] == "Report Failure"
    assert STATES["Report Success"]["Next"] == "Release Build Lock"


def test_only_the_lock_functions_reach_the_lock_table_and_the_table_is_on_demand_with_a_ttl():
    table = RESOURCES["BuildLocksTable"]
    assert table["Type"] == "AWS::DynamoDB::Table"
    props = table["Properties"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["SSESpecification"] == {"SSEEnabled": True}
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expiresAt", "Enabled": True}
    users = {
        logical_id
        for logical_id, resource in RESOURCES.items()
        if "BuildLocksTable" in json.dumps(resource.get("Properties", {}).get("Policies", []))
    }
    # Report Success gives the lock back before CloudFormation hears SUCCESS (report_success.py)
    assert users == {"ValidateSpecFunction", "ReleaseBuildLockFunction", "ReportSuccessFunction"}
    for logical_id in users:
        variables = RESOURCES[logical_id]["Properties"]["Environment"]["Variables"]
        assert variables["BUILD_LOCKS_TABLE"] == {"Ref": "BuildLocksTable"}
