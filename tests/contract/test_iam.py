"""Least-privilege IAM (issue 7): template.yaml is read and every policy in it is held to rules,
not to today's statement list, so a new function with a sound policy passes and a broken rule
fails wherever it is broken.

Where policies are: AWS::IAM::ManagedPolicy / Policy / Role (inline and trust policies), the
`Policies` of SAM functions and state machines (inline statements, `!Ref` to our own managed
policies, SAM policy templates from a reviewed list) and AWS::Lambda::Permission (who may invoke).

The rules (ids appear in failure messages):
- WILDCARD       no `*`, `*:*`, `service:*` or other wildcard that can match a mutating action
                 (a wildcard is allowed only after a read verb: `ec2:Describe*`); no Allow with
                 NotAction or NotResource.
- STAR-MUTATION  no mutating EC2 action (anything but Describe/Get/List) on Resource "*" without
                 a Condition.
- CREATE-TAGS    ec2:CreateTags only with an `ec2:CreateAction` condition (tag as part of a create).
- OWNED-DELETE   EC2 Delete/Detach/Release/Disassociate/Modify/Revoke/Replace only with an
                 `aws:ResourceTag/vpcfactory:...` condition, except a statement whose Sid is a
                 documented exception below (which must still carry its own narrowing condition).
- DESCRIBE-APART ec2:Describe* only in statements of read actions (they need Resource "*").
- ASSUME-ROLE    sts:AssumeRole only on role ARNs that name the role (no `*` in the role name).
- STATES         states:* never; Step Functions actions never on Resource "*".
- PASS-ROLE      iam:PassRole never on "*", always with an iam:PassedToService condition.
- POLICY-SOURCE  a SAM `Policies` entry is an inline statement, a `!Ref` to a policy in this
                 template, or a reviewed SAM policy template; never an AWS managed policy.
- INVOKE         an AWS::Lambda::Permission names a principal (never "*") and, for a service
                 principal, a SourceArn or SourceAccount.
- ANY-STAR       (stricter, all services) no mutating action on Resource "*" without a Condition,
                 except actions AWS documents as supporting no resource-level permission.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from vpcfactory_tools.emulator.deploy import load_template

ROOT = Path(__file__).resolve().parents[2]
READ_VERBS = ("Describe", "Get", "List")
OWNED_VERBS = ("Delete", "Detach", "Release", "Disassociate", "Modify", "Revoke", "Replace")
OWNERSHIP_CONDITION = re.compile(r"^(aws|ec2):resourcetag/vpcfactory:", re.IGNORECASE)

# Statements that may delete or modify something our tags cannot mark, by Sid, with the reason
# and the condition key that must narrow them instead.
DOCUMENTED_EXCEPTIONS = {
    "LockDownDefaultSecurityGroupsOfOurVpcs": (
        "EC2 creates a VPC's default security group itself, untagged; the factory only revokes "
        "its rules (Security Hub EC2.2). Scoped to security groups, by the VPC they belong to.",
        "ec2:Vpc",
    ),
    "LeaveTheGatewaysDefaultRouteTable": (
        "A transit gateway's route table is the gateway owner's, untagged; the factory only takes its "
        "own attachment (authorized too, by our tags) out of it before associating it elsewhere. "
        "Scoped to this account's route tables in this Region.",
        "ec2:Region",
    ),
}

# SAM policy templates whose expansion was reviewed: what they grant.
REVIEWED_SAM_TEMPLATES = {
    "LambdaInvokePolicy": "lambda:InvokeFunction on the one function named",
    "SSMParameterReadPolicy": "ssm:GetParameter(s)/GetParametersByPath on the one parameter named, "
    "ssm:DescribeParameters (read)",
}

# Mutating actions AWS documents as supporting no resource-level permission (Resource must be "*").
NO_RESOURCE_LEVEL = {
    # Step Functions logging to CloudWatch Logs (vended logs), per the Step Functions guide.
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    # X-Ray tracing.
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
}


@dataclass(frozen=True)
class Violation:
    rule: str
    where: str
    detail: str

    def __str__(self) -> str:
        return f"{self.rule} at {self.where}: {self.detail}"


@dataclass(frozen=True)
class Statement:
    where: str
    body: dict[str, Any]

    @property
    def allows(self) -> bool:
        return self.body.get("Effect") == "Allow"

    @property
    def actions(self) -> list[str]:
        return _strings(self.body.get("Action"))

    @property
    def resources(self) -> list[Any]:
        raw = self.body.get("Resource")
        return raw if isinstance(raw, list) else [raw]

    @property
    def condition_keys(self) -> set[str]:
        return {key.lower() for block in (self.body.get("Condition") or {}).values() for key in block}

    @property
    def on_any_resource(self) -> bool:
        return "*" in self.resources


def _strings(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _text(value: Any) -> str:
    """A resource as text: a plain string, or a Fn::Sub template (its variables left as ${...})."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Sub" in value:
        sub = value["Fn::Sub"]
        return sub if isinstance(sub, str) else sub[0]
    return json.dumps(value, sort_keys=True)


def _verb(action: str) -> str:
    return action.split(":", 1)[1] if ":" in action else action


def _service(action: str) -> str:
    return action.split(":", 1)[0].lower() if ":" in action else "*"


def _is_read(action: str) -> bool:
    return _verb(action).startswith(READ_VERBS)


# -- where the policies are ---------------------------------------------------------------------


def statements(template: dict[str, Any]) -> tuple[list[Statement], list[Violation]]:
    """Every identity-policy statement in the template, and POLICY-SOURCE violations met on the way."""
    found: list[Statement] = []
    bad: list[Violation] = []
    resources = template.get("Resources", {})

    def document(doc: Any, where: str) -> None:
        for i, stmt in enumerate(_strings(doc.get("Statement")) if isinstance(doc, dict) else []):
            if isinstance(stmt, dict):
                found.append(Statement(f"{where}.Statement[{stmt.get('Sid', i)}]", stmt))

    def sam_policies(policies: Any, where: str) -> None:
        for i, entry in enumerate(policies if isinstance(policies, list) else [policies]):
            at = f"{where}.Policies[{i}]"
            if isinstance(entry, str):
                bad.append(Violation("POLICY-SOURCE", at, f"managed policy {entry!r} is not reviewed here"))
            elif isinstance(entry, dict) and "Statement" in entry:
                document(entry, at)
            elif isinstance(entry, dict) and set(entry) == {"Ref"}:
                target = resources.get(entry["Ref"], {})
                if target.get("Type") not in ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy"):
                    bad.append(Violation("POLICY-SOURCE", at, f"!Ref {entry['Ref']} is not a policy in this template"))
            elif isinstance(entry, dict) and len(entry) == 1 and next(iter(entry)) in REVIEWED_SAM_TEMPLATES:
                continue
            else:
                bad.append(Violation("POLICY-SOURCE", at, f"{json.dumps(entry)[:80]} is not a reviewed policy source"))

    globals_ = template.get("Globals", {}).get("Function", {})
    if "Policies" in globals_:
        sam_policies(globals_["Policies"], "Globals.Function")
    for logical_id, resource in resources.items():
        kind, props = resource.get("Type"), resource.get("Properties") or {}
        if kind in ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy"):
            document(props.get("PolicyDocument"), logical_id)
        elif kind == "AWS::IAM::Role":
            for policy in props.get("Policies") or []:
                document(policy.get("PolicyDocument"), f"{logical_id}.{policy.get('PolicyName')}")
            for arn in props.get("ManagedPolicyArns") or []:
                bad.append(Violation("POLICY-SOURCE", logical_id, f"managed policy {_text(arn)!r} is not reviewed"))
        elif kind in ("AWS::Serverless::Function", "AWS::Serverless::StateMachine") and "Policies" in props:
            sam_policies(props["Policies"], logical_id)
    return found, bad


# -- the rules ------------------------------------------------------------------------------------


def policy_violations(template: dict[str, Any], *, strict: bool = False) -> list[Violation]:
    """Every broken rule in the template; `strict` adds ANY-STAR."""
    found, out = statements(template)
    for stmt in found:
        if not stmt.allows:
            continue
        out.extend(_wildcards(stmt))
        out.extend(_ec2_rules(stmt))
        out.extend(_other_services(stmt))
        if strict:
            out.extend(_any_star(stmt))
    out.extend(_invoke_permissions(template))
    return out


def _wildcards(stmt: Statement) -> list[Violation]:
    out = []
    for key in ("NotAction", "NotResource"):
        if key in stmt.body:
            out.append(Violation("WILDCARD", stmt.where, f"Allow with {key}"))
    for action in stmt.actions:
        if "*" not in action:
            continue
        literal = _verb(action).split("*", 1)[0]
        if ":" not in action or _service(action) == "*" or not literal.startswith(READ_VERBS):
            out.append(Violation("WILDCARD", stmt.where, f"{action!r} can match mutating actions"))
    return out


def _ec2_rules(stmt: Statement) -> list[Violation]:
    out = []
    ec2 = [a for a in stmt.actions if _service(a) == "ec2"]
    writes = [a for a in ec2 if not _is_read(a)]
    if writes and stmt.on_any_resource and not stmt.body.get("Condition"):
        out.append(Violation("STAR-MUTATION", stmt.where, f"{writes} on Resource '*' with no Condition"))
    if any(a.lower() == "ec2:createtags" for a in ec2) and "ec2:createaction" not in stmt.condition_keys:
        out.append(Violation("CREATE-TAGS", stmt.where, "ec2:CreateTags without an ec2:CreateAction condition"))
    owned = [a for a in writes if _verb(a).startswith(OWNED_VERBS)]
    if owned and not any(OWNERSHIP_CONDITION.match(k) for k in stmt.condition_keys):
        sid = stmt.body.get("Sid")
        exception = DOCUMENTED_EXCEPTIONS.get(sid or "")
        if exception is None or exception[1].lower() not in stmt.condition_keys or stmt.on_any_resource:
            out.append(
                Violation("OWNED-DELETE", stmt.where, f"{owned} without an aws:ResourceTag/vpcfactory:* condition")
            )
    if any(_verb(a).startswith("Describe") for a in ec2):
        mixed = [a for a in stmt.actions if not _is_read(a)]
        if mixed:
            out.append(Violation("DESCRIBE-APART", stmt.where, f"ec2:Describe* shares a statement with {mixed}"))
    return out


def _other_services(stmt: Statement) -> list[Violation]:
    out = []
    actions = [a.lower() for a in stmt.actions]
    if "sts:assumerole" in actions:
        for resource in stmt.resources:
            text = _text(resource)
            role = text.split(":role/", 1)[1] if ":role/" in text else None
            if role is None or "*" in role:
                out.append(Violation("ASSUME-ROLE", stmt.where, f"sts:AssumeRole on {text!r}: name the role"))
    states = [a for a in stmt.actions if _service(a) == "states"]
    if "states:*" in actions:
        out.append(Violation("STATES", stmt.where, "states:*"))
    if states and stmt.on_any_resource:
        out.append(Violation("STATES", stmt.where, f"{states} on Resource '*'"))
    if "iam:passrole" in actions:
        if stmt.on_any_resource:
            out.append(Violation("PASS-ROLE", stmt.where, "iam:PassRole on Resource '*'"))
        if "iam:passedtoservice" not in stmt.condition_keys:
            out.append(Violation("PASS-ROLE", stmt.where, "iam:PassRole without an iam:PassedToService condition"))
    return out


def _any_star(stmt: Statement) -> list[Violation]:
    if not stmt.on_any_resource or stmt.body.get("Condition"):
        return []
    writes = [a for a in stmt.actions if not _is_read(a) and a not in NO_RESOURCE_LEVEL]
    return [Violation("ANY-STAR", stmt.where, f"{writes} on Resource '*' with no Condition")] if writes else []


def _invoke_permissions(template: dict[str, Any]) -> list[Violation]:
    out = []
    for logical_id, resource in template.get("Resources", {}).items():
        if resource.get("Type") != "AWS::Lambda::Permission":
            continue
        props = resource.get("Properties") or {}
        principal = _text(props.get("Principal"))
        if principal in ("*", '"*"') or "*" in principal:
            out.append(Violation("INVOKE", logical_id, f"Principal {principal!r}"))
        elif principal.endswith(".amazonaws.com") and not (props.get("SourceArn") or props.get("SourceAccount")):
            out.append(Violation("INVOKE", logical_id, f"{principal} may invoke it from any account or resource"))
    return out


# -- the template as it is --------------------------------------------------------------------------


def template() -> dict[str, Any]:
    """template.yaml as plain dicts (cfn-lint's loader keeps intrinsics as Fn::*/Ref keys)."""
    return json.loads(json.dumps(load_template(ROOT / "template.yaml")))


TEMPLATE = template()
FOUND, _ = statements(TEMPLATE)


def test_the_checker_finds_the_policies_it_must_check():
    # A checker that found nothing would pass anything.
    wheres = " ".join(s.where for s in FOUND)
    assert len(FOUND) >= 8
    for expected in ("ReadNetworkPolicy", "BuildNetworkPolicy", "TeardownNetworkPolicy", "StateMachine"):
        assert expected in wheres, expected


@pytest.mark.parametrize(
    "rule",
    ["WILDCARD", "STAR-MUTATION", "CREATE-TAGS", "OWNED-DELETE", "DESCRIBE-APART"]
    + ["ASSUME-ROLE", "STATES", "PASS-ROLE", "POLICY-SOURCE", "INVOKE"],
)
def test_template_policies_keep_the_rule(rule):
    broken = [str(v) for v in policy_violations(TEMPLATE) if v.rule == rule]
    assert not broken, "\n".join(broken)


def test_no_mutating_action_of_any_service_is_on_any_resource_without_a_condition():
    broken = [str(v) for v in policy_violations(TEMPLATE, strict=True) if v.rule == "ANY-STAR"]
    assert not broken, "\n".join(broken)


def test_every_documented_exception_is_still_needed_and_narrowed():
    sids = {s.body.get("Sid"): s for s in FOUND}
    for sid, (_reason, key) in DOCUMENTED_EXCEPTIONS.items():
        assert sid in sids, f"exception {sid} documents a statement that is gone: drop it"
        assert key.lower() in sids[sid].condition_keys
        assert not sids[sid].on_any_resource


# -- the rules catch breakage: a modified copy of the template per broken rule ----------------------


def _with_statement(stmt: dict[str, Any], policy: str = "BuildNetworkPolicy") -> dict[str, Any]:
    broken = copy.deepcopy(TEMPLATE)
    broken["Resources"][policy]["Properties"]["PolicyDocument"]["Statement"].append(stmt)
    return broken


def _allow(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def _edit(path: str, fn: Any) -> dict[str, Any]:
    """A copy of the template with fn applied to the statement at Resource/Sid `path`."""
    broken = copy.deepcopy(TEMPLATE)
    logical_id, sid = path.split("/")
    props = broken["Resources"][logical_id]["Properties"]
    if "PolicyDocument" in props:
        statements = props["PolicyDocument"]["Statement"]
    else:  # a SAM function's inline statements
        statements = [
            s for entry in props.get("Policies", []) if isinstance(entry, dict) for s in entry.get("Statement", [])
        ]
    for stmt in statements:
        if stmt.get("Sid") == sid:
            fn(stmt)
            return broken
    raise AssertionError(f"no statement {path} in template.yaml (update this test's example)")


def _sam_policy(entry: Any) -> dict[str, Any]:
    broken = copy.deepcopy(TEMPLATE)
    broken["Resources"]["ValidateSpecFunction"]["Properties"]["Policies"].append(entry)
    return broken


def _permission(**props: Any) -> dict[str, Any]:
    broken = copy.deepcopy(TEMPLATE)
    broken["Resources"]["ForgedPermission"] = {
        "Type": "AWS::Lambda::Permission",
        "Properties": {"Action": "lambda:InvokeFunction", "FunctionName": {"Ref": "ValidateSpecFunction"}, **props},
    }
    return broken


BREAKAGES = {
    "an Allow of every action": ("WILDCARD", lambda: _with_statement(_allow("*"))),
    "an Allow of *:*": ("WILDCARD", lambda: _with_statement(_allow("*:*", {"Fn::Sub": "arn:x"}))),
    "ec2:* even with a condition": (
        "WILDCARD",
        lambda: _with_statement(_allow("ec2:*", Condition={"StringLike": {"aws:ResourceTag/vpcfactory:vpc": "*"}})),
    ),
    "a wildcard over mutating verbs": (
        "WILDCARD",
        lambda: _with_statement(
            _allow("ec2:Delete*", Condition={"StringLike": {"aws:ResourceTag/vpcfactory:vpc": "*"}})
        ),
    ),
    "an Allow with NotAction": (
        "WILDCARD",
        lambda: _with_statement({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}),
    ),
    "CreateVpc on * with no condition": ("STAR-MUTATION", lambda: _with_statement(_allow("ec2:CreateVpc"))),
    "the create statement losing its condition": (
        "STAR-MUTATION",
        lambda: _edit("BuildNetworkPolicy/CreateTaggedResources", lambda s: s.pop("Condition")),
    ),
    "CreateTags with no condition": (
        "CREATE-TAGS",
        lambda: _edit("BuildNetworkPolicy/TagOnlyAtCreation", lambda s: s.pop("Condition")),
    ),
    "CreateTags with a condition but not CreateAction": (
        "CREATE-TAGS",
        lambda: _with_statement(
            _allow("ec2:CreateTags", Condition={"StringEquals": {"aws:RequestedRegion": "us-east-1"}})
        ),
    ),
    "DeleteVpc scoped by region, not by our tag": (
        "OWNED-DELETE",
        lambda: _with_statement(
            _allow("ec2:DeleteVpc", Condition={"StringEquals": {"aws:RequestedRegion": "us-east-1"}}),
            "TeardownNetworkPolicy",
        ),
    ),
    "the delete statement losing its tag condition": (
        "OWNED-DELETE",
        lambda: _edit(
            "TeardownNetworkPolicy/DeleteOnlyOurs",
            lambda s: s.update(Condition={"StringEquals": {"aws:RequestedRegion": "us-east-1"}}),
        ),
    ),
    "a tag condition on someone else's tag": (
        "OWNED-DELETE",
        lambda: _edit(
            "TeardownNetworkPolicy/DeleteOnlyOurs",
            lambda s: s.update(Condition={"StringLike": {"aws:ResourceTag/Owner": "*"}}),
        ),
    ),
    "the default SG exception without its Sid": (
        "OWNED-DELETE",
        lambda: _edit("ConfigureVpcFunction/LockDownDefaultSecurityGroupsOfOurVpcs", lambda s: s.update(Sid="Revoke")),
    ),
    "the default SG exception without its VPC condition": (
        "OWNED-DELETE",
        lambda: _edit(
            "ConfigureVpcFunction/LockDownDefaultSecurityGroupsOfOurVpcs",
            lambda s: s.update(Condition={"StringEquals": {"aws:RequestedRegion": "us-east-1"}}),
        ),
    ),
    "the default SG exception widened to Resource *": (
        "OWNED-DELETE",
        lambda: _edit("ConfigureVpcFunction/LockDownDefaultSecurityGroupsOfOurVpcs", lambda s: s.update(Resource="*")),
    ),
    "Describe next to a write": (
        "DESCRIBE-APART",
        lambda: _edit("ReadNetworkPolicy/DescribeNetwork", lambda s: s["Action"].append("ec2:ModifyVpcAttribute")),
    ),
    "AssumeRole on any resource": (
        "ASSUME-ROLE",
        lambda: _with_statement(_allow("sts:AssumeRole"), "CrossAccountPolicy"),
    ),
    "AssumeRole on any role": (
        "ASSUME-ROLE",
        lambda: _with_statement(_allow("sts:AssumeRole", {"Fn::Sub": "arn:${AWS::Partition}:iam::*:role/*"})),
    ),
    "states:* on our state machine": (
        "STATES",
        lambda: _with_statement(_allow("states:*", {"Fn::Sub": "arn:aws:states:*:*:stateMachine:x"})),
    ),
    "StartExecution on any state machine": ("STATES", lambda: _with_statement(_allow("states:StartExecution"))),
    "PassRole on any role": (
        "PASS-ROLE",
        lambda: _with_statement(
            _allow("iam:PassRole", Condition={"StringEquals": {"iam:PassedToService": "vpc-flow-logs.amazonaws.com"}})
        ),
    ),
    "PassRole to any service": (
        "PASS-ROLE",
        lambda: _edit("BuildNetworkPolicy/PassTheFlowLogsDeliveryRole", lambda s: s.pop("Condition")),
    ),
    "an AWS managed policy on a function": ("POLICY-SOURCE", lambda: _sam_policy("AmazonEC2FullAccess")),
    "an unreviewed SAM policy template": (
        "POLICY-SOURCE",
        lambda: _sam_policy({"EC2DescribePolicy": {}, "VPCAccessPolicy": {}}),
    ),
    "an inline statement on a function": ("WILDCARD", lambda: _sam_policy({"Statement": [_allow("ec2:*")]})),
    "a permission anyone may use": ("INVOKE", lambda: _permission(Principal="*")),
    "a service permission from any source": ("INVOKE", lambda: _permission(Principal="events.amazonaws.com")),
}


@pytest.mark.parametrize("case", list(BREAKAGES))
def test_the_rules_catch_a_deliberately_broken_policy(case):
    rule, make = BREAKAGES[case]
    found = [v for v in policy_violations(make()) if v.rule == rule]
    assert found, f"{case}: no {rule} violation found"


def test_the_stricter_rule_catches_a_write_on_any_resource_in_any_service():
    broken = _with_statement(_allow(["ssm:PutParameter"]), "OutcomesPolicy")
    assert [v for v in policy_violations(broken, strict=True) if v.rule == "ANY-STAR"]
    allowed = _with_statement(_allow(sorted(NO_RESOURCE_LEVEL)), "OutcomesPolicy")
    assert not [
        v for v in policy_violations(allowed, strict=True) if v.rule == "ANY-STAR" and "OutcomesPolicy" in v.where
    ]


def test_a_sound_new_function_policy_passes():
    # Given a new function whose policy follows every rule
    sound = copy.deepcopy(TEMPLATE)
    sound["Resources"]["NewFunction"] = {
        "Type": "AWS::Serverless::Function",
        "Properties": {
            "Handler": "vpcfactory.handlers.validate_spec.handler",
            "Policies": [
                {"Ref": "ReadNetworkPolicy"},
                {"LambdaInvokePolicy": {"FunctionName": {"Ref": "ValidateSpecFunction"}}},
                {
                    "Statement": [
                        _allow(
                            ["ec2:DeleteNetworkAcl", "ec2:ReplaceNetworkAclEntry"],
                            Condition={"StringLike": {"aws:ResourceTag/vpcfactory:vpc": "*"}},
                        )
                    ]
                },
            ],
        },
    }
    # Then nothing new is reported
    assert {str(v) for v in policy_violations(sound)} == {str(v) for v in policy_violations(TEMPLATE)}


def test_wildcard_matching_treats_read_verbs_only_as_safe():
    assert not _wildcards(Statement("x", _allow("ec2:Describe*")))
    assert _wildcards(Statement("x", _allow("ec2:*Vpc")))
    assert _wildcards(Statement("x", _allow("ec2:D*")))


def test_only_configure_vpc_may_revoke_default_security_group_rules():
    """The default-SG statement cannot be scoped by our tags (EC2 creates the group untagged), so
    it is given to the one function that locks the default SG down, not to every builder."""
    holders = []
    for logical_id, resource in TEMPLATE["Resources"].items():
        props = resource.get("Properties", {})
        documents = [props["PolicyDocument"]] if "PolicyDocument" in props else []
        documents += [e for e in props.get("Policies", []) if isinstance(e, dict) and "Statement" in e]
        for document in documents:
            for stmt in document["Statement"]:
                actions = stmt["Action"] if isinstance(stmt["Action"], list) else [stmt["Action"]]
                if any(a.startswith("ec2:RevokeSecurityGroup") for a in actions):
                    holders.append(logical_id)
    assert holders == ["ConfigureVpcFunction"]
