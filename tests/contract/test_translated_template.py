"""The template CloudFormation really receives (issue 11): template.yaml after the SAM transform.

cfn-lint run on the SAM template validates it against SAM's schemas; CloudFormation receives
the transform's output, where SAM policy templates are expanded and every intrinsic is checked.
A `Fn::Split` with three arguments inside `SSMParameterReadPolicy` passed the first and fails the
second (E1019), so the translation is linted here, with every rule, informational ones included.
The emulator deploys this same translation (vpcfactory_tools/emulator/deploy.py).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import ManualArgs, lint

from vpcfactory_tools.emulator.intrinsics import IntrinsicError, Resolver, pseudo_parameters
from vpcfactory_tools.emulator.translate import load_sam_template, translate, translated

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = "123456789012"
OLD_SPLIT = {
    "SSMParameterReadPolicy": {
        "ParameterName": {
            "Fn::Select": [1, {"Fn::Split": ["/", {"Ref": "DefaultSpecParameterName"}, 2]}],
        }
    }
}


def _lint(template: dict[str, Any]) -> list[Any]:
    config = ManualArgs(include_checks=["I"], regions=["us-east-1"])
    return lint(json.dumps(template), config=config)


def _resolver(template: dict[str, Any], **parameters: str) -> Resolver:
    """Resolves references as the emulator names things (functions <stack>-<LogicalId>)."""
    resources = template["Resources"]

    def ref(logical_id: str) -> str:
        if resources[logical_id]["Type"] == "AWS::IAM::ManagedPolicy":
            return f"arn:aws:iam::{ACCOUNT}:policy/vpcfactory-{logical_id}"
        return f"vpcfactory-{logical_id}"

    def get_att(logical_id: str, attribute: str) -> str:
        return f"arn:aws:x:us-east-1:{ACCOUNT}:{logical_id}.{attribute}"

    return Resolver(
        template,
        parameter_values=parameters,
        pseudo=pseudo_parameters(region="us-east-1", account_id=ACCOUNT, stack_name="vpcfactory"),
        ref=ref,
        get_att=get_att,
    )


def _with_old_split() -> dict[str, Any]:
    sam = load_sam_template(ROOT / "template.yaml")
    sam["Resources"]["StartFromEventFunction"]["Properties"]["Policies"].append(copy.deepcopy(OLD_SPLIT))
    return sam


def _statements(role: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for policy in role["Properties"].get("Policies", []) for s in policy["PolicyDocument"]["Statement"]]


@pytest.fixture(scope="module")
def translation():
    return translated(ROOT / "template.yaml")


def test_the_translated_template_passes_every_cfn_lint_rule_informational_ones_included(translation):
    matches = _lint(translation.template)
    assert not matches, "\n".join(f"{m.rule.id} {m.message} at {m.path}" for m in matches)


def test_the_same_lint_finds_the_three_argument_split_the_template_used_to_have():
    matches = _lint(translate(_with_old_split()).template)
    e1019 = [m for m in matches if m.rule.id == "E1019"]
    assert e1019, [f"{m.rule.id} {m.message}" for m in matches]
    assert all("StartFromEventFunctionRole" in m.path for m in e1019)
    assert all(m.path[-1] == "Fn::Split" for m in e1019)


def test_the_emulator_refuses_the_three_argument_split_naming_where_it_is():
    template = translate(_with_old_split()).template
    role = template["Resources"]["StartFromEventFunctionRole"]
    with pytest.raises(IntrinsicError) as refused:
        _resolver(template).resolve(role["Properties"], "Resources.StartFromEventFunctionRole.Properties")
    assert refused.value.where.startswith("Resources.StartFromEventFunctionRole.Properties.Policies[")
    assert refused.value.where.endswith(".Fn::Select[1].Fn::Split")
    assert "exactly 2 arguments, found 3" in str(refused.value)


@pytest.mark.parametrize("name", ["/vpcfactory/default-spec", "/org/network/spec.v2"])
def test_the_start_from_event_function_may_get_exactly_the_default_spec_parameter(translation, name):
    template = translation.template
    role = _resolver(template, DefaultSpecParameterName=name).resolve(
        template["Resources"]["StartFromEventFunctionRole"], "StartFromEventFunctionRole"
    )
    ssm = [s for s in _statements(role) if "ssm:" in json.dumps(s["Action"])]
    assert ssm == [
        {
            "Sid": "ReadTheDefaultSpec",
            "Effect": "Allow",
            "Action": "ssm:GetParameter",
            "Resource": f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter{name}",
        }
    ]


def test_each_state_machine_may_invoke_exactly_the_functions_its_definition_names(translation):
    template = translation.template
    for machine in ("BuildStateMachine", "DestroyStateMachine"):
        props = template["Resources"][machine]["Properties"]
        named = {
            value["Fn::GetAtt"][0]
            for value in props["DefinitionSubstitutions"].values()
            if isinstance(value, dict)
            and "Fn::GetAtt" in value
            and template["Resources"][value["Fn::GetAtt"][0]]["Type"] == "AWS::Lambda::Function"
        }
        role_id = props["RoleArn"]["Fn::GetAtt"][0]
        role = _resolver(template).resolve(template["Resources"][role_id], role_id)
        invoked = {
            s["Resource"]
            for s in _statements(role)
            if s["Effect"] == "Allow" and s["Action"] == ["lambda:InvokeFunction"]
        }
        expected = {f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:vpcfactory-{f}*" for f in named}
        assert invoked == expected, machine


def test_every_function_gets_its_own_role_with_the_policies_the_sam_template_lists(translation):
    template = translation.template
    sam = load_sam_template(ROOT / "template.yaml")
    functions = [k for k, r in sam["Resources"].items() if r["Type"] == "AWS::Serverless::Function"]
    roles = set()
    for logical_id in functions:
        role_id = template["Resources"][logical_id]["Properties"]["Role"]["Fn::GetAtt"][0]
        roles.add(role_id)
        attached = template["Resources"][role_id]["Properties"]["ManagedPolicyArns"]
        listed = [p for p in sam["Resources"][logical_id]["Properties"]["Policies"] if set(p) == {"Ref"}]
        assert all(p in attached for p in listed), logical_id
        assert "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole" in attached
    assert len(roles) == len(functions)


def test_each_state_machine_keeps_its_local_definition_file(translation):
    assert translation.definition_files == {
        "BuildStateMachine": ROOT / "statemachine" / "build_vpc.asl.json",
        "DestroyStateMachine": ROOT / "statemachine" / "destroy_vpc.asl.json",
        "RolloutStateMachine": ROOT / "statemachine" / "rollout.asl.json",
    }
    location = translation.template["Resources"]["BuildStateMachine"]["Properties"]["DefinitionS3Location"]
    assert location == {"Bucket": "vpcfactory-local", "Key": "statemachine/build_vpc.asl.json"}


def test_the_translation_is_made_once_per_process_and_each_caller_gets_its_own_copy(translation, monkeypatch):
    from vpcfactory_tools.emulator import translate as translate_module

    def must_not_translate_again(*args, **kwargs):
        raise AssertionError("the template was translated again: the per-process cache was missed")

    monkeypatch.setattr(translate_module, "translate", must_not_translate_again)
    again = translated(ROOT / "template.yaml")
    assert again.template == translation.template
    again.template["Resources"].clear()
    assert translated(ROOT / "template.yaml").template["Resources"]


def test_the_example_stack_that_uses_the_factory_passes_every_cfn_lint_rule():
    # Plain CloudFormation (no transform): what CloudFormation receives is the file itself.
    example = translated(ROOT / "examples" / "custom-resource-stack.yaml")
    assert example.template == load_sam_template(ROOT / "examples" / "custom-resource-stack.yaml")
    matches = _lint(example.template)
    assert not matches, "\n".join(f"{m.rule.id} {m.message} at {m.path}" for m in matches)
