"""The emulator's IAM evaluator (vpcfactory_tools.emulator.iam_evaluator, issue 11): real policy
evaluation by @cloud-copilot/iam-simulate in a node process: conditions the project's role policies
rely on, explicit deny, NotAction/NotResource, multi-valued keys, the library's validation, the
cache, batches, restarts and threads.

Skipped when node or tools/iam_simulator/node_modules is missing (`make iam-simulator`), unless
VPCFACTORY_REQUIRE_IAM_SIMULATOR=1, which makes that a failure (for CI)."""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from vpcfactory_tools.emulator import iam_evaluator
from vpcfactory_tools.emulator.iam_evaluator import AuthzRequest, IamEvaluator

ACCOUNT = "123456789012"
REGION = "us-east-1"
SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/VpcFactoryBuildRole/build-fn"
VPC_ANY = f"arn:aws:ec2:{REGION}:{ACCOUNT}:vpc/*"
SUBNET = f"arn:aws:ec2:{REGION}:{ACCOUNT}:subnet/subnet-0abc"
LOG_GROUP = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/vendedlogs/vpcfactory/flow-logs"

AVAILABLE, WHY_NOT = iam_evaluator.available()
if not AVAILABLE and os.environ.get("VPCFACTORY_REQUIRE_IAM_SIMULATOR") == "1":
    raise RuntimeError(f"the IAM simulator is required here: {WHY_NOT}")
needs_simulator = pytest.mark.skipif(not AVAILABLE, reason=f"IAM simulator unavailable: {WHY_NOT}")


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def req(action: str, resource: str, policies: tuple[dict[str, Any], ...], context: dict[str, Any]) -> AuthzRequest:
    return AuthzRequest(action, resource, ACCOUNT, SESSION, policies, context)


@pytest.fixture(scope="module")
def evaluator():
    if not AVAILABLE:
        pytest.skip(f"IAM simulator unavailable: {WHY_NOT}")
    ev = IamEvaluator()
    yield ev
    ev.close()


def decide(evaluator: IamEvaluator, action: str, resource: str, policies: tuple, context: dict) -> str:
    return evaluator.evaluate_one(req(action, resource, policies, context)).decision


# --------------------------------------------------------------------------------------------
# Conditions the project's policies use


TAGGED_CREATE = policy(
    allow("ec2:CreateVpc", Condition={"Null": {"aws:RequestTag/vpcfactory:execution": "false"}}),
)


@needs_simulator
def test_create_vpc_under_a_null_request_tag_condition_is_allowed_with_the_tag(evaluator):
    decision = evaluator.evaluate_one(
        req("ec2:CreateVpc", VPC_ANY, (TAGGED_CREATE,), {"aws:RequestTag/vpcfactory:execution": "exec-1"})
    )
    assert decision.decision == "Allowed"
    assert decision.allowed is True
    assert decision.errors == ()
    assert decision.resource_type == "vpc"
    assert decision.explain == "allowed by identity:identity-policy-1 statement #1"


@needs_simulator
def test_create_vpc_under_a_null_request_tag_condition_is_implicitly_denied_without_the_tag(evaluator):
    decision = evaluator.evaluate_one(req("ec2:CreateVpc", VPC_ANY, (TAGGED_CREATE,), {}))
    assert (decision.decision, decision.allowed) == ("ImplicitlyDenied", False)
    assert decision.explain == "no allow in identity"


@needs_simulator
def test_put_retention_policy_under_a_request_tag_condition_is_implicitly_denied_as_it_carries_no_tags(evaluator):
    # PutRetentionPolicy sends no tags, so a policy that requires aws:RequestTag can never allow it:
    # the defect the emulator must catch.
    scoped = policy(
        allow("logs:PutRetentionPolicy", Condition={"StringLike": {"aws:RequestTag/vpcfactory:execution": "*"}})
    )
    assert decide(evaluator, "logs:PutRetentionPolicy", LOG_GROUP, (scoped,), {}) == "ImplicitlyDenied"
    assert decide(evaluator, "logs:PutRetentionPolicy", LOG_GROUP, (policy(allow("logs:*")),), {}) == "Allowed"


CREATE_TAGS_ON_CREATE = policy(
    allow("ec2:CreateTags", f"arn:aws:ec2:*:{ACCOUNT}:*", Condition={"StringEquals": {"ec2:CreateAction": "CreateVpc"}})
)


@pytest.mark.parametrize(
    ("context", "expected"),
    [
        ({"ec2:CreateAction": "CreateVpc"}, "Allowed"),
        ({"ec2:CreateAction": "CreateSubnet"}, "ImplicitlyDenied"),
        ({}, "ImplicitlyDenied"),
    ],
    ids=["tagging-on-create-vpc", "tagging-on-another-create", "tagging-an-existing-vpc"],
)
@needs_simulator
def test_create_tags_is_allowed_only_as_part_of_create_vpc(evaluator, context, expected):
    assert decide(evaluator, "ec2:CreateTags", VPC_ANY, (CREATE_TAGS_ON_CREATE,), context) == expected


OWNED_SUBNETS = policy(allow("ec2:DeleteSubnet", Condition={"StringLike": {"aws:ResourceTag/vpcfactory:vpc": "*"}}))


@needs_simulator
def test_delete_subnet_is_allowed_on_a_subnet_tagged_by_the_factory(evaluator):
    tagged = {"aws:ResourceTag/vpcfactory:vpc": "production"}
    assert decide(evaluator, "ec2:DeleteSubnet", SUBNET, (OWNED_SUBNETS,), tagged) == "Allowed"


@needs_simulator
def test_delete_subnet_is_implicitly_denied_on_an_untagged_subnet(evaluator):
    assert decide(evaluator, "ec2:DeleteSubnet", SUBNET, (OWNED_SUBNETS,), {}) == "ImplicitlyDenied"
    other_tag = {"aws:ResourceTag/team": "network"}
    assert decide(evaluator, "ec2:DeleteSubnet", SUBNET, (OWNED_SUBNETS,), other_tag) == "ImplicitlyDenied"


@needs_simulator
def test_an_explicit_deny_wins_over_an_allow_and_is_named_in_the_explanation(evaluator):
    doc = policy(allow("ec2:*"), {"Sid": "KeepVpcs", "Effect": "Deny", "Action": "ec2:DeleteVpc", "Resource": "*"})
    vpc = f"arn:aws:ec2:{REGION}:{ACCOUNT}:vpc/vpc-0abc"
    decision = evaluator.evaluate_one(req("ec2:DeleteVpc", vpc, (doc,), {}))
    assert (decision.decision, decision.allowed) == ("ExplicitlyDenied", False)
    assert decision.explain == "denied by identity:identity-policy-1 statement #2 Sid=KeepVpcs"
    assert decide(evaluator, "ec2:DeleteSubnet", SUBNET, (doc,), {}) == "Allowed"


@needs_simulator
def test_a_deny_in_a_second_policy_document_wins_too(evaluator):
    deny = policy({"Effect": "Deny", "Action": "ec2:DeleteSubnet", "Resource": "arn:aws:ec2:*:*:subnet/*"})
    assert decide(evaluator, "ec2:DeleteSubnet", SUBNET, (policy(allow("*")), deny), {}) == "ExplicitlyDenied"


@needs_simulator
def test_not_action_allows_everything_but_the_listed_actions(evaluator):
    doc = policy({"Effect": "Allow", "NotAction": ["iam:*", "organizations:*"], "Resource": "*"})
    assert decide(evaluator, "ec2:DeleteSubnet", SUBNET, (doc,), {}) == "Allowed"
    passrole = f"arn:aws:iam::{ACCOUNT}:role/Any"
    assert decide(evaluator, "iam:PassRole", passrole, (doc,), {}) == "ImplicitlyDenied"


@needs_simulator
def test_not_resource_allows_every_resource_but_the_listed_ones(evaluator):
    doc = policy({"Effect": "Allow", "Action": "ec2:DeleteVpc", "NotResource": "arn:aws:ec2:*:*:vpc/vpc-keep*"})
    other = f"arn:aws:ec2:{REGION}:{ACCOUNT}:vpc/vpc-0abc"
    kept = f"arn:aws:ec2:{REGION}:{ACCOUNT}:vpc/vpc-keep1"
    assert decide(evaluator, "ec2:DeleteVpc", other, (doc,), {}) == "Allowed"
    assert decide(evaluator, "ec2:DeleteVpc", kept, (doc,), {}) == "ImplicitlyDenied"


@needs_simulator
def test_arn_like_on_ec2_vpc_allows_deleting_only_the_subnets_of_that_vpc(evaluator):
    doc = policy(allow("ec2:DeleteSubnet", Condition={"ArnLike": {"ec2:Vpc": f"arn:aws:ec2:*:{ACCOUNT}:vpc/vpc-0abc"}}))
    inside = {"ec2:Vpc": f"arn:aws:ec2:{REGION}:{ACCOUNT}:vpc/vpc-0abc"}
    outside = {"ec2:Vpc": f"arn:aws:ec2:{REGION}:{ACCOUNT}:vpc/vpc-0def"}
    assert decide(evaluator, "ec2:DeleteSubnet", SUBNET, (doc,), inside) == "Allowed"
    assert decide(evaluator, "ec2:DeleteSubnet", SUBNET, (doc,), outside) == "ImplicitlyDenied"


@needs_simulator
def test_pass_role_is_allowed_only_to_the_service_named_by_iam_passed_to_service(evaluator):
    role = f"arn:aws:iam::{ACCOUNT}:role/vpcfactory-flow-logs"
    doc = policy(
        allow("iam:PassRole", role, Condition={"StringEquals": {"iam:PassedToService": "vpc-flow-logs.amazonaws.com"}})
    )
    assert decide(evaluator, "iam:PassRole", role, (doc,), {"iam:PassedToService": "vpc-flow-logs.amazonaws.com"}) == (
        "Allowed"
    )
    assert decide(evaluator, "iam:PassRole", role, (doc,), {"iam:PassedToService": "ec2.amazonaws.com"}) == (
        "ImplicitlyDenied"
    )
    other_role = f"arn:aws:iam::{ACCOUNT}:role/admin"
    ctx = {"iam:PassedToService": "vpc-flow-logs.amazonaws.com"}
    assert decide(evaluator, "iam:PassRole", other_role, (doc,), ctx) == "ImplicitlyDenied"


ALLOWED_TAG_KEYS = policy(
    allow(
        "ec2:CreateVpc",
        Condition={"ForAllValues:StringEquals": {"aws:TagKeys": ["Name", "vpcfactory:execution", "vpcfactory:vpc"]}},
    )
)


@pytest.mark.parametrize(
    ("tag_keys", "expected"),
    [
        (["Name", "vpcfactory:execution"], "Allowed"),
        (["Name", "owner"], "ImplicitlyDenied"),
        (None, "Allowed"),  # ForAllValues over an absent key is true, as on AWS
    ],
    ids=["only-listed-keys", "an-unlisted-key", "no-tags-at-all"],
)
@needs_simulator
def test_for_all_values_on_the_multi_valued_aws_tag_keys(evaluator, tag_keys, expected):
    context = {} if tag_keys is None else {"aws:TagKeys": tag_keys}
    assert decide(evaluator, "ec2:CreateVpc", VPC_ANY, (ALLOWED_TAG_KEYS,), context) == expected


@needs_simulator
def test_for_any_value_needs_one_of_the_values(evaluator):
    doc = policy(allow("ec2:CreateVpc", Condition={"ForAnyValue:StringEquals": {"aws:TagKeys": "vpcfactory:vpc"}}))
    assert decide(evaluator, "ec2:CreateVpc", VPC_ANY, (doc,), {"aws:TagKeys": ["Name", "vpcfactory:vpc"]}) == "Allowed"
    assert decide(evaluator, "ec2:CreateVpc", VPC_ANY, (doc,), {"aws:TagKeys": ["Name"]}) == "ImplicitlyDenied"


# --------------------------------------------------------------------------------------------
# What the library validates, and the literal "*" of a create


@needs_simulator
def test_a_request_resource_with_a_star_is_a_literal_so_a_specific_vpc_arn_does_not_allow_create_vpc(evaluator):
    specific = policy(allow("ec2:CreateVpc", f"arn:aws:ec2:*:{ACCOUNT}:vpc/vpc-0abc"))
    prefixed = policy(allow("ec2:CreateVpc", f"arn:aws:ec2:*:{ACCOUNT}:vpc/vpc-*"))
    any_vpc = policy(allow("ec2:CreateVpc", f"arn:aws:ec2:*:{ACCOUNT}:vpc/*"))
    assert decide(evaluator, "ec2:CreateVpc", VPC_ANY, (specific,), {}) == "ImplicitlyDenied"
    assert decide(evaluator, "ec2:CreateVpc", VPC_ANY, (prefixed,), {}) == "ImplicitlyDenied"
    assert decide(evaluator, "ec2:CreateVpc", VPC_ANY, (any_vpc,), {}) == "Allowed"
    explained = evaluator.evaluate_one(req("ec2:CreateVpc", VPC_ANY, (any_vpc,), {}))
    assert "\u2731" not in explained.explain


@needs_simulator
def test_context_keys_not_valid_for_the_action_are_ignored_and_reported(evaluator):
    doc = policy(allow("ec2:CreateVpc", Condition={"StringEquals": {"ec2:CreateAction": "CreateVpc"}}))
    decision = evaluator.evaluate_one(req("ec2:CreateVpc", VPC_ANY, (doc,), {"ec2:CreateAction": "CreateVpc"}))
    assert decision.decision == "ImplicitlyDenied"
    assert decision.ignored_context_keys == ("ec2:CreateAction",)


@needs_simulator
def test_a_resource_arn_of_no_resource_type_of_the_action_is_an_error_not_a_decision(evaluator):
    vpc = f"arn:aws:ec2:{REGION}:{ACCOUNT}:vpc/vpc-0abc"
    decision = evaluator.evaluate_one(req("ec2:DeleteSubnet", vpc, (policy(allow("*")),), {}))
    assert (decision.decision, decision.allowed, decision.errors) == ("Error", False, ("no.resource.types",))


@needs_simulator
def test_each_resource_keeps_its_own_resource_type_when_the_node_side_answers_from_its_memo(evaluator):
    # simulate.mjs memoizes iam-simulate's resource-type lookup by (service, action, resource): asked
    # again for an ARN under other policies and context, the type is the same; another ARN of the same
    # action gets its own type, and one that is no type of the action stays an error.
    vpc = f"arn:aws:ec2:{REGION}:{ACCOUNT}:vpc/vpc-0memo"
    subnet = f"arn:aws:ec2:{REGION}:{ACCOUNT}:subnet/subnet-0memo"
    tagged = {"aws:RequestTag/vpcfactory:execution": "x", "aws:TagKeys": ["vpcfactory:execution"]}
    asked = [
        (vpc, (policy(allow("ec2:CreateTags")),), {}),
        (subnet, (policy(allow("ec2:CreateTags")),), {}),
        (vpc, (policy(allow("ec2:CreateTags", f"arn:aws:ec2:{REGION}:{ACCOUNT}:subnet/*")),), tagged),
        (subnet, (policy(allow("ec2:CreateTags", f"arn:aws:ec2:{REGION}:{ACCOUNT}:subnet/*")),), tagged),
    ]
    answers = [evaluator.evaluate_one(req("ec2:CreateTags", *a)) for a in asked]
    assert [(d.resource_type, d.decision) for d in answers] == [
        ("vpc", "Allowed"),
        ("subnet", "Allowed"),
        ("vpc", "ImplicitlyDenied"),
        ("subnet", "Allowed"),
    ]
    for sid in ("First", "Second"):  # another policy each time, so node is asked: the second from its memo
        decision = evaluator.evaluate_one(req("ec2:DeleteSubnet", vpc, (policy(allow("*", Sid=sid)),), {}))
        assert (decision.decision, decision.errors) == ("Error", ("no.resource.types",))


@needs_simulator
def test_an_action_without_resource_types_is_evaluated_on_star_only(evaluator):
    doc = policy(allow("ec2:Describe*"))
    assert decide(evaluator, "ec2:DescribeVpcs", "*", (doc,), {}) == "Allowed"
    assert decide(evaluator, "ec2:DescribeVpcs", "*", (policy(allow("ec2:DescribeVpcs", VPC_ANY)),), {}) == (
        "ImplicitlyDenied"
    )
    decision = evaluator.evaluate_one(
        req("ec2:DescribeVpcs", f"arn:aws:ec2:{REGION}:{ACCOUNT}:vpc/vpc-0abc", (doc,), {})
    )
    assert (decision.decision, decision.errors) == ("Error", ("must.use.wildcard",))


@needs_simulator
def test_an_unknown_action_and_an_invalid_policy_are_errors_and_the_process_keeps_answering(evaluator):
    unknown = evaluator.evaluate_one(req("ec2:CreateVpcs", VPC_ANY, (policy(allow("*")),), {}))
    assert (unknown.decision, unknown.errors) == ("Error", ("invalid.action",))
    bad = evaluator.evaluate_one(req("ec2:CreateVpc", VPC_ANY, (policy({"Effect": "Alow", "Action": "*"}),), {}))
    assert bad.decision == "Error"
    assert bad.errors[0] == "policy.errors"
    assert any("Effect" in error for error in bad.errors[1:])
    assert decide(evaluator, "ec2:CreateVpc", VPC_ANY, (policy(allow("*")),), {}) == "Allowed"


@needs_simulator
def test_an_unknown_condition_operator_is_an_error_rather_than_a_deny_that_silently_never_applies(evaluator):
    doc = policy(
        allow("ec2:*"),
        {
            "Effect": "Deny",
            "Action": "ec2:CreateVpc",
            "Resource": "*",
            "Condition": {"StringEqualz": {"aws:TagKeys": "x"}},
        },
    )
    decision = evaluator.evaluate_one(req("ec2:CreateVpc", VPC_ANY, (doc,), {"aws:TagKeys": ["x"]}))
    assert decision.decision == "Error"
    assert decision.errors == (
        "policy.errors",
        "identityPolicyErrors identity-policy-1: unknown condition operator StringEqualz"
        " at Statement[1].Condition.StringEqualz",
    )


@needs_simulator
def test_a_request_on_another_accounts_resource_is_implicitly_denied_without_a_resource_policy(evaluator):
    other = "arn:aws:ec2:us-east-1:210987654321:vpc/*"
    decision = evaluator.evaluate_one(
        AuthzRequest("ec2:CreateVpc", other, "210987654321", SESSION, (policy(allow("*")),))
    )
    assert decision.decision == "ImplicitlyDenied"
    assert decision.explain.startswith("cross-account request")


@needs_simulator
def test_a_none_context_value_means_the_key_is_absent(evaluator):
    context = {"aws:RequestTag/vpcfactory:execution": None}
    assert decide(evaluator, "ec2:CreateVpc", VPC_ANY, (TAGGED_CREATE,), context) == "ImplicitlyDenied"


@needs_simulator
def test_the_protocol_answers_a_malformed_line_with_an_error_and_goes_on(evaluator):
    evaluator.evaluate([])  # started
    answers = evaluator._exchange([{"batch": [{"action": "ec2:CreateVpc"}, 5]}, {"ping": True}])
    first, second = answers[0]["results"]
    assert first["decision"] == second["decision"] == "Error"
    assert first["errors"] == ['"resource" must be a non-empty string']
    assert answers[1]["versions"]["iam-simulate"] == "0.1.173"


# --------------------------------------------------------------------------------------------
# Cache, batches, restarts, threads


@needs_simulator
def test_a_second_identical_request_is_answered_from_the_cache_without_asking_node():
    ev = IamEvaluator()
    try:
        first = ev.evaluate_one(req("ec2:CreateVpc", VPC_ANY, (TAGGED_CREATE,), {"aws:TagKeys": ["a", "b"]}))
        sent = ev.counters["sent_to_node"]
        second = ev.evaluate_one(req("ec2:CreateVpc", VPC_ANY, (TAGGED_CREATE,), {"aws:TagKeys": ("a", "b")}))
        assert second == first
        assert ev.counters["sent_to_node"] == sent == 1
        assert ev.counters["cache_hits"] == 1
        ev.evaluate_one(req("ec2:CreateVpc", VPC_ANY, (TAGGED_CREATE,), {"aws:TagKeys": ["b", "a"]}))
        assert ev.counters["sent_to_node"] == 2  # order of a multi-valued key is part of the key
    finally:
        ev.close()


@needs_simulator
def test_duplicates_inside_one_batch_are_sent_once():
    ev = IamEvaluator()
    try:
        one = req("ec2:CreateVpc", VPC_ANY, (TAGGED_CREATE,), {})
        decisions = ev.evaluate([one, one, one])
        assert [d.decision for d in decisions] == ["ImplicitlyDenied"] * 3
        assert ev.counters["sent_to_node"] == 1
    finally:
        ev.close()


def test_a_policy_set_is_the_same_cache_key_and_the_same_policy_set_digest_as_its_plain_policies():
    # The role's policies, parsed once (iam_enforcement), and the same documents as a plain tuple
    documents = (TAGGED_CREATE, policy(allow("ec2:Describe*")))
    shared = iam_evaluator.PolicySet(documents)
    context = {"aws:TagKeys": ["a", "b"], "aws:RequestTag/a": "1"}
    as_set = req("ec2:CreateVpc", VPC_ANY, shared, context)
    as_tuple = req("ec2:CreateVpc", VPC_ANY, documents, context)

    assert iam_evaluator.cache_key(as_set) == iam_evaluator.cache_key(as_tuple)
    assert as_set.payload() == as_tuple.payload()  # what node is sent
    assert shared.digest == iam_evaluator._digest(iam_evaluator.canonical_json(list(documents)))
    # every part of the request is in the key; the policies cannot pass for part of the request
    others = [
        req("ec2:CreateSubnet", VPC_ANY, shared, context),
        req("ec2:CreateVpc", SUBNET, shared, context),
        req("ec2:CreateVpc", VPC_ANY, shared, {**context, "aws:RequestTag/a": "2"}),
        req("ec2:CreateVpc", VPC_ANY, iam_evaluator.PolicySet(documents[:1]), context),
        req("ec2:CreateVpc", VPC_ANY, (), context),
        AuthzRequest("ec2:CreateVpc", VPC_ANY, "210987654321", SESSION, shared, context),
    ]
    keys = {iam_evaluator.cache_key(r) for r in [as_set, *others]}
    assert len(keys) == 1 + len(others)
    assert all(key.count("\x00") == 1 for key in keys)


@needs_simulator
def test_a_policy_set_gets_the_decision_its_plain_policies_get():
    documents = (TAGGED_CREATE,)
    plain, shared = IamEvaluator(), IamEvaluator()
    try:
        for context in ({"aws:TagKeys": ["a", "b"]}, {}, {"aws:RequestTag/vpcfactory:execution": "x"}):
            expected = plain.evaluate_one(req("ec2:CreateVpc", VPC_ANY, documents, context))
            got = shared.evaluate_one(req("ec2:CreateVpc", VPC_ANY, iam_evaluator.PolicySet(documents), context))
            assert got == expected
        assert shared.counters["sent_to_node"] == 3
    finally:
        plain.close()
        shared.close()


def distinct_requests(count: int, offset: int = 0) -> list[AuthzRequest]:
    big = policy(
        *(
            allow(f"ec2:Create{kind}", Condition={"Null": {"aws:RequestTag/vpcfactory:execution": "false"}})
            for kind in ("Vpc", "Subnet", "RouteTable", "InternetGateway", "NatGateway", "FlowLogs", "VpcEndpoint")
        ),
        allow("ec2:Describe*"),
        allow(
            ["ec2:Delete*", "ec2:Disassociate*", "ec2:Detach*"],
            Condition={"StringLike": {"aws:ResourceTag/vpcfactory:vpc": "*"}},
        ),
        {
            "Effect": "Deny",
            "Action": "ec2:DeleteVpc",
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:ResourceTag/protected": "true"}},
        },
    )
    return [
        req("ec2:CreateVpc", VPC_ANY, (big,), {"aws:RequestTag/vpcfactory:execution": f"exec-{offset + i}"})
        for i in range(count)
    ]


@needs_simulator
def test_a_batch_of_200_requests_is_fast_and_cached_requests_are_far_under_a_millisecond():
    ev = IamEvaluator()
    try:
        ev.evaluate([])
        started = time.perf_counter()
        ev.evaluate([req("ec2:DescribeVpcs", "*", (policy(allow("ec2:Describe*")),), {})])
        first_call = time.perf_counter() - started  # includes node start-up
        batch = distinct_requests(200)
        started = time.perf_counter()
        decisions = ev.evaluate(batch)
        uncached = (time.perf_counter() - started) / len(batch)
        started = time.perf_counter()
        again = ev.evaluate(batch)
        cached = (time.perf_counter() - started) / len(batch)
        singles = distinct_requests(50, offset=1000)
        started = time.perf_counter()
        for one in singles:
            ev.evaluate([one])
        single_round_trip = (time.perf_counter() - started) / len(singles)
        print(
            f"\nIAM evaluator: node start-up {ev.startup_seconds * 1000:.0f} ms "
            f"(first call {first_call * 1000:.0f} ms); "
            f"200-request batch {uncached * 1000:.2f} ms/request uncached, {cached * 1000:.4f} ms/request cached; "
            f"one request per round trip {single_round_trip * 1000:.2f} ms"
        )
        assert [d.decision for d in decisions] == ["Allowed"] * 200
        assert again == decisions
        assert cached < 0.001
        assert uncached < 0.02
    finally:
        ev.close()


@needs_simulator
def test_a_dead_node_process_is_restarted_on_the_next_request():
    ev = IamEvaluator()
    try:
        assert decide(ev, "ec2:CreateVpc", VPC_ANY, (policy(allow("*")),), {}) == "Allowed"
        assert ev._proc is not None
        ev._proc.kill()
        ev._proc.wait()
        assert decide(ev, "ec2:CreateVpc", VPC_ANY, (TAGGED_CREATE,), {}) == "ImplicitlyDenied"
        assert ev.counters["starts"] == 2
    finally:
        ev.close()
    assert ev._proc is None


@needs_simulator
def test_concurrent_threads_each_get_their_own_answers():
    ev = IamEvaluator()
    try:
        with_tag = {"aws:RequestTag/vpcfactory:execution": "x"}

        def work(i: int) -> tuple[int, str]:
            context = with_tag if i % 2 else {"aws:RequestTag/other": str(i)}
            return i, decide(ev, "ec2:CreateVpc", VPC_ANY, (TAGGED_CREATE,), context)

        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(work, range(64)))
        assert results == [(i, "Allowed" if i % 2 else "ImplicitlyDenied") for i in range(64)]
        assert ev.counters["starts"] == 1
    finally:
        ev.close()


# --------------------------------------------------------------------------------------------
# available()


def test_available_names_node_when_node_is_missing():
    ok, reason = iam_evaluator.available(node="/nonexistent/node")
    assert ok is False
    assert reason.startswith("node is not installed")
    assert "make iam-simulator" in reason


def test_available_names_make_iam_simulator_when_node_modules_is_missing(tmp_path: Path):
    (tmp_path / "simulate.mjs").write_text("")
    ok, reason = iam_evaluator.available(simulator_dir=tmp_path)
    if not ok and reason.startswith("node is not installed"):
        pytest.skip("node is not installed")
    assert ok is False
    assert "lacks @cloud-copilot/iam-simulate" in reason
    assert "make iam-simulator" in reason
    assert "npm ci --prefix tools/iam_simulator --no-audit --no-fund" in reason


def test_evaluating_without_the_node_packages_raises_an_error_naming_make_iam_simulator(tmp_path: Path):
    (tmp_path / "simulate.mjs").write_text("")
    ev = IamEvaluator(simulator_dir=tmp_path)
    with pytest.raises(iam_evaluator.IamEvaluatorError, match="make iam-simulator"):
        ev.evaluate([req("ec2:CreateVpc", VPC_ANY, (), {})])
