"""The emulator's intrinsic-function resolver (vpcfactory_tools/emulator/intrinsics.py): it
resolves what CloudFormation resolves and refuses, naming the place, what CloudFormation refuses."""

from __future__ import annotations

from typing import Any

import pytest

from vpcfactory_tools.emulator.intrinsics import IntrinsicError, Resolver, pseudo_parameters

TEMPLATE: dict[str, Any] = {
    "Parameters": {
        "Name": {"Type": "String", "Default": "/vpcfactory/default-spec"},
        "Count": {"Type": "Number", "Default": 3},
        "Zones": {"Type": "CommaDelimitedList", "Default": "a, b"},
        "Flag": {"Type": "String", "Default": "false"},
        "Required": {"Type": "String"},
    },
    "Conditions": {
        "FlagOn": {"Fn::Equals": [{"Ref": "Flag"}, "true"]},
        "FlagOff": {"Fn::Not": [{"Condition": "FlagOn"}]},
        "Both": {"Fn::And": [{"Condition": "FlagOff"}, {"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]}]},
        "Either": {"Fn::Or": [{"Condition": "FlagOn"}, {"Condition": "Both"}]},
        "Loop": {"Fn::Not": [{"Condition": "Loop"}]},
    },
    "Resources": {
        "Fn": {"Type": "AWS::Lambda::Function"},
        "Queue": {"Type": "AWS::SQS::Queue"},
        "OnlyWhenFlagged": {"Type": "AWS::Events::Rule", "Condition": "FlagOn"},
    },
}
PHYSICAL = {"Fn": "stack-Fn", "Queue": "https://sqs/queue", "OnlyWhenFlagged": "rule"}
ATTRIBUTES = {("Fn", "Arn"): "arn:aws:lambda:us-east-1:123456789012:function:stack-Fn"}


def resolver(**parameters: Any) -> Resolver:
    return Resolver(
        TEMPLATE,
        parameter_values={"Required": "given", **parameters},
        pseudo=pseudo_parameters(region="us-east-1", account_id="123456789012", stack_name="stack"),
        ref=PHYSICAL.__getitem__,
        get_att=lambda logical_id, attribute: ATTRIBUTES[(logical_id, attribute)],
    )


def resolve(value: Any, **parameters: Any) -> Any:
    return resolver(**parameters).resolve(value, "Resources.X.Properties.P")


def refused(value: Any, **parameters: Any) -> IntrinsicError:
    with pytest.raises(IntrinsicError) as error:
        resolve(value, **parameters)
    return error.value


# -- what resolves ------------------------------------------------------------------------------


def test_a_ref_to_a_parameter_gives_its_default_or_the_value_given_as_a_string():
    assert resolve({"Ref": "Name"}) == "/vpcfactory/default-spec"
    assert resolve({"Ref": "Count"}) == "3"
    assert resolve({"Ref": "Name"}, Name="/other") == "/other"
    assert resolve({"Ref": "Zones"}) == ["a", "b"]


def test_pseudo_parameters_resolve_for_the_stack_region_and_account():
    assert resolve({"Fn::Sub": "${AWS::Partition}:${AWS::Region}:${AWS::AccountId}:${AWS::StackName}"}) == (
        "aws:us-east-1:123456789012:stack"
    )
    assert resolve({"Ref": "AWS::URLSuffix"}) == "amazonaws.com"
    assert pseudo_parameters(region="cn-north-1", account_id="1", stack_name="s")["AWS::Partition"] == "aws-cn"


def test_a_ref_and_a_getatt_of_a_resource_give_what_the_deployer_named():
    assert resolve({"Ref": "Fn"}) == "stack-Fn"
    assert resolve({"Fn::GetAtt": ["Fn", "Arn"]}) == ATTRIBUTES[("Fn", "Arn")]
    assert resolve({"Fn::GetAtt": "Fn.Arn"}) == ATTRIBUTES[("Fn", "Arn")]


def test_sub_replaces_parameters_resources_attributes_and_its_own_variables_and_keeps_escapes():
    value = {"Fn::Sub": ["${Fn}|${Fn.Arn}|${Name}|${v}|${!Literal}", {"v": {"Fn::Join": ["-", ["x", "y"]]}}]}
    assert resolve(value) == f"stack-Fn|{ATTRIBUTES[('Fn', 'Arn')]}|/vpcfactory/default-spec|x-y|${{Literal}}"


def test_the_fixed_default_spec_resource_names_the_parameter_after_parameter():
    value = {"Fn::Sub": "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${Name}"}
    assert resolve(value) == "arn:aws:ssm:us-east-1:123456789012:parameter/vpcfactory/default-spec"


def test_split_select_and_join_compose():
    parts = {"Fn::Split": ["/", {"Ref": "Name"}]}
    assert resolve(parts) == ["", "vpcfactory", "default-spec"]
    assert resolve({"Fn::Select": [2, parts]}) == "default-spec"
    assert resolve({"Fn::Select": ["1", parts]}) == "vpcfactory"
    assert resolve({"Fn::Join": [",", {"Ref": "Zones"}]}) == "a,b"


def test_conditions_evaluate_equals_not_and_or_and_references_to_other_conditions():
    r = resolver()
    assert (r.condition("FlagOn"), r.condition("FlagOff"), r.condition("Both"), r.condition("Either")) == (
        False,
        True,
        True,
        True,
    )
    assert resolver(Flag="true").condition("Both") is False


def test_if_takes_the_branch_of_its_condition_and_no_value_drops_the_key_or_item():
    value = {"A": {"Fn::If": ["FlagOn", "yes", {"Ref": "AWS::NoValue"}]}, "B": [1, {"Fn::If": ["FlagOff", 2, 3]}]}
    assert resolve(value) == {"B": [1, 2]}
    assert resolve(value, Flag="true") == {"A": "yes", "B": [1, 3]}


def test_a_resource_whose_condition_is_false_is_not_deployed_and_cannot_be_referenced():
    assert resolver().deployed("OnlyWhenFlagged") is False
    assert resolver(Flag="true").deployed("OnlyWhenFlagged") is True
    assert "its Condition is false" in str(refused({"Ref": "OnlyWhenFlagged"}))
    assert resolve({"Fn::If": ["FlagOn", {"Ref": "OnlyWhenFlagged"}, "none"]}) == "none"


def test_an_iam_condition_block_is_data_not_an_intrinsic():
    statement = {"Effect": "Allow", "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}}
    assert resolve(statement)["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}


# -- what is refused, and where it says it is -----------------------------------------------------


def test_a_split_with_three_arguments_is_refused_naming_its_path():
    error = refused({"Fn::Select": [1, {"Fn::Split": ["/", {"Ref": "Name"}, 2]}]})
    assert error.where == "Resources.X.Properties.P.Fn::Select[1].Fn::Split"
    assert "exactly 2 arguments, found 3" in str(error)


@pytest.mark.parametrize(
    "value, message",
    [
        ({"Fn::Split": "/a/b"}, "exactly 2 arguments, found a str"),
        ({"Fn::Split": [["/"], "a/b"]}, "delimiter must be a non-empty string"),
        ({"Fn::Split": ["/", ["a"]]}, "expected a string"),
        ({"Fn::Select": [5, ["a"]]}, "index 5 is out of range"),
        ({"Fn::Select": [-1, ["a"]]}, "non-negative integer"),
        ({"Fn::Select": [0, "a"]}, "expected a list"),
        ({"Fn::Join": ["-", "a"]}, "expected a list"),
        ({"Fn::Join": ["-", ["a"], "b"]}, "exactly 2 arguments, found 3"),
        ({"Fn::Join": ["-", [{"Ref": "Zones"}]]}, "expected a string"),
        ({"Fn::Sub": ["${x}", {"x": "1"}, "extra"]}, "exactly 2 arguments"),
        ({"Fn::Sub": "${Nothing}"}, "Nothing is neither a parameter nor a resource"),
        ({"Fn::If": ["FlagOn", "a"]}, "exactly 3 arguments"),
        ({"Fn::If": ["NoSuchCondition", "a", "b"]}, "no condition 'NoSuchCondition'"),
        ({"Fn::GetAtt": ["Fn"]}, "takes [LogicalId, Attribute]"),
        ({"Fn::GetAtt": ["Fn", "Nope"]}, "cannot resolve Fn.Nope"),
        ({"Ref": "Queue", "Other": 1}, "must be the only key"),
        ({"Ref": ["Name"]}, "Ref takes a name"),
        ({"Ref": "AWS::Nope"}, "unknown pseudo parameter"),
        ({"Fn::ImportValue": "shared-vpc"}, "Fn::ImportValue is not supported"),
        ({"Fn::Equals": ["a", "a"]}, "allowed only in Conditions"),
    ],
)
def test_a_malformed_or_unresolvable_intrinsic_is_refused_with_its_reason(value, message):
    assert message in str(refused(value))


def test_a_reference_the_deployer_cannot_name_is_refused_not_skipped():
    r = Resolver(TEMPLATE, parameter_values={"Required": "x"})  # no ref/get_att callbacks
    with pytest.raises(IntrinsicError, match=r"cannot resolve Ref Fn \(AWS::Lambda::Function\)"):
        r.resolve({"Ref": "Fn"}, "here")


def test_a_parameter_without_default_or_value_and_an_unknown_parameter_are_refused():
    with pytest.raises(IntrinsicError, match="Parameters.Required: has no Default"):
        Resolver(TEMPLATE)
    with pytest.raises(IntrinsicError, match=r"does not declare: \['Typo'\]"):
        Resolver(TEMPLATE, parameter_values={"Required": "x", "Typo": "y"})


def test_a_circular_condition_is_refused():
    with pytest.raises(IntrinsicError, match="circular condition: Loop -> Loop"):
        resolver().condition("Loop")
