"""EventBridge entry points: the rule patterns in template.yaml against real-shaped sample
events in events/, and the mapping from each event to the build's execution input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from moto.events.models import EventPattern

from vpcfactory.events import execution_input
from vpcfactory_tools.emulator.deploy import load_template

ROOT = Path(__file__).resolve().parents[2]
RULES = {
    k: v for k, v in load_template(ROOT / "template.yaml")["Resources"].items() if v["Type"] == "AWS::Events::Rule"
}
DEFAULT_SPEC = {"name": "baseline", "cidr": "10.0.0.0/16", "availabilityZones": 2, "tiers": []}


def sample(name: str) -> dict:
    return json.loads((ROOT / "events" / name).read_text())


def matches(rule: str, event: dict) -> bool:
    # moto's EventBridge pattern matcher: the same rules AWS applies to these patterns
    return EventPattern.load(json.dumps(RULES[rule]["Properties"]["EventPattern"])).matches_event(event)


def test_the_control_tower_rule_matches_a_succeeded_create_managed_account_event_only():
    assert matches("ControlTowerAccountRule", sample("control-tower-create-managed-account.json"))
    assert not matches("ControlTowerAccountRule", sample("control-tower-create-managed-account-failed.json"))
    assert not matches("ControlTowerAccountRule", sample("vpc-requested.json"))


def test_the_control_tower_rule_is_off_unless_enabled():
    assert RULES["ControlTowerAccountRule"]["Condition"] == "ControlTowerTriggerEnabled"


def test_the_vpc_requested_rule_matches_our_event_only():
    assert matches("VpcRequestedRule", sample("vpc-requested.json"))
    assert not matches("VpcRequestedRule", sample("control-tower-create-managed-account.json"))


def test_a_control_tower_event_builds_the_default_spec_in_the_new_account_through_the_default_role():
    payload = execution_input(
        sample("control-tower-create-managed-account.json"), lambda: DEFAULT_SPEC, "AWSControlTowerExecution"
    )

    assert payload == {
        "spec": DEFAULT_SPEC,
        "target": {"accountId": "111111111111", "region": "us-east-1", "roleName": "AWSControlTowerExecution"},
    }


def test_a_vpc_requested_event_builds_its_own_spec_in_its_own_target():
    event = sample("vpc-requested.json")

    payload = execution_input(event, lambda: pytest.fail("the default spec is not read"), "AWSControlTowerExecution")

    assert payload == {"spec": event["detail"]["spec"], "target": event["detail"]["target"]}


def test_a_failed_account_creation_or_an_unrelated_event_starts_nothing():
    assert execution_input(sample("control-tower-create-managed-account-failed.json"), dict, None) is None
    assert execution_input({"source": "aws.ec2", "detail-type": "x", "detail": {}}, dict, None) is None


def test_the_execution_ended_early_rule_catches_timeouts_aborts_and_failures_of_our_state_machines():
    pattern = RULES["ExecutionEndedEarlyRule"]["Properties"]["EventPattern"]
    assert pattern["detail"]["status"] == ["TIMED_OUT", "ABORTED", "FAILED"]
    assert pattern["detail"]["stateMachineArn"] == [{"Ref": "BuildStateMachine"}, {"Ref": "DestroyStateMachine"}]


def _ended_early_rule_for(state_machine_arn: str) -> EventPattern:
    """The rule's pattern with its !Ref resolved to a deployed state machine's ARN."""
    pattern = json.loads(json.dumps(RULES["ExecutionEndedEarlyRule"]["Properties"]["EventPattern"]))
    pattern["detail"]["stateMachineArn"] = [state_machine_arn, "arn:aws:states:us-east-1:123456789012:stateMachine:x"]
    return EventPattern.load(json.dumps(pattern))


def test_the_execution_ended_early_rule_matches_a_failed_execution_of_ours_and_not_a_success_or_another_machine():
    event = sample("step-functions-execution-failed.json")
    rule = _ended_early_rule_for(event["detail"]["stateMachineArn"])

    assert rule.matches_event(event)
    for status in ("TIMED_OUT", "ABORTED"):
        assert rule.matches_event({**event, "detail": {**event["detail"], "status": status}})
    assert not rule.matches_event({**event, "detail": {**event["detail"], "status": "SUCCEEDED"}})
    assert not rule.matches_event({**event, "detail": {**event["detail"], "stateMachineArn": "arn:aws:states:x"}})
