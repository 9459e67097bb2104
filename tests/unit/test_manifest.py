"""A rollout's manifest (vpcfactory.manifest): JSON Lines or CSV, every line checked, every problem
named by its line and field before anything starts; and the child builds' execution names."""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vpcfactory.aws import normalize_target
from vpcfactory.errors import InvalidManifest, InvalidSpec
from vpcfactory.manifest import MAX_ITEMS, ROLLOUT_ID_RE, execution_name, parse_manifest

SPEC = {
    "name": "team-a",
    "cidr": "10.0.0.0/16",
    "availabilityZones": 2,
    "tiers": [{"name": "app", "type": "private", "prefixLength": 20}],
}


def jsonl(*items: Any) -> str:
    return "\n".join(item if isinstance(item, str) else json.dumps(item) for item in items) + "\n"


def csv_text(header: list[str], *rows: list[Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow([json.dumps(c) if isinstance(c, dict) else c for c in row])
    return out.getvalue()


def problems(text: str, **kwargs: Any) -> list[str]:
    with pytest.raises(InvalidManifest) as refused:
        parse_manifest(text, **kwargs)
    return refused.value.problems


def item(account: str = "111111111111", region: str = "us-east-1", **more: Any) -> dict[str, Any]:
    return {"accountId": account, "region": region, **(more or {"spec": SPEC})}


# -- what a good manifest gives -----------------------------------------------------------------


def test_json_lines_give_one_item_per_line_with_its_line_number_and_blank_lines_skipped():
    text = jsonl(
        item(),
        "",
        "   ",
        item("222222222222", "eu-west-1", specKey="specs/prod.json", roleName="AWSAFTExecution"),
        item("333333333333", "us-gov-west-1", specParameter="/vpcfactory/specs/prod"),
    )

    items = parse_manifest(text)

    assert items == [
        {"accountId": "111111111111", "region": "us-east-1", "line": 1, "spec": SPEC},
        {
            "accountId": "222222222222",
            "region": "eu-west-1",
            "line": 4,
            "specKey": "specs/prod.json",
            "roleName": "AWSAFTExecution",
        },
        {"accountId": "333333333333", "region": "us-gov-west-1", "line": 5, "specParameter": "/vpcfactory/specs/prod"},
    ]


def test_csv_has_a_header_row_and_its_spec_column_holds_the_spec_as_json():
    text = csv_text(
        ["accountId", "region", "spec", "specKey", "roleName"],
        ["111111111111", "us-east-1", SPEC, "", ""],
        ["222222222222", "eu-west-1", "", "specs/prod.json", "AWSAFTExecution"],
    )

    items = parse_manifest(text)

    assert items == [
        {"accountId": "111111111111", "region": "us-east-1", "line": 2, "spec": SPEC},
        {
            "accountId": "222222222222",
            "region": "eu-west-1",
            "line": 3,
            "specKey": "specs/prod.json",
            "roleName": "AWSAFTExecution",
        },
    ]


def test_csv_from_a_spreadsheet_reads_too_a_byte_order_mark_crlf_spaces_after_commas_and_empty_rows():
    text = "\ufeffaccountId, region, specKey\r\n111111111111, us-east-1, specs/a.json\r\n,,\r\n\r\n"

    assert parse_manifest(text) == [
        {"accountId": "111111111111", "region": "us-east-1", "line": 2, "specKey": "specs/a.json"}
    ]


def test_a_csv_row_over_several_lines_is_numbered_by_the_line_it_starts_on():
    spec = json.dumps(SPEC, indent=2)  # a quoted cell with line breaks in it
    text = csv_text(["accountId", "region", "spec"], ["111111111111", "us-east-1", spec], ["12", "us-east-1", spec])

    assert problems(text) == [f"line {3 + spec.count(chr(10))}: accountId: '12' is not a 12-digit AWS account id"]


def test_a_json_number_account_id_of_12_digits_is_taken_as_the_target_takes_it():
    assert parse_manifest(jsonl({**item(), "accountId": 123456789012}))[0]["accountId"] == "123456789012"
    assert normalize_target({"accountId": 123456789012, "region": "us-east-1"})["accountId"] == "123456789012"


# -- every rule, named by line and field ---------------------------------------------------------


def test_an_unknown_key_is_named_with_the_keys_allowed_and_a_near_miss_suggested():
    assert problems(jsonl({**item(), "acountId": "1"}, {**item("222222222222"), "accountid": "x"})) == [
        "line 1: acountId: unknown field; expected one of accountId, region, spec, specKey, specParameter, roleName",
        "line 2: accountid: unknown field (did you mean accountId?); expected one of accountId, region, spec, "
        "specKey, specParameter, roleName",
    ]


def test_an_unknown_csv_column_is_named_once_on_the_header_line():
    text = csv_text(
        ["accountId", "region", "spec", "notes"],
        ["111111111111", "us-east-1", SPEC, "x"],
        ["222222222222", "us-east-1", SPEC, "y"],
    )

    assert problems(text) == [
        "line 1: notes: unknown column; expected accountId, region, spec, specKey, specParameter, roleName"
    ]


def test_a_csv_header_without_a_required_column_is_said_once_not_on_every_row():
    text = csv_text(["accountId", "spec"], ["111111111111", SPEC], ["222222222222", SPEC])

    assert problems(text) == ["line 1: region: the header has no region column: every item needs one"]


@pytest.mark.parametrize(
    ("account", "shown"),
    [
        ("12345678901", "'12345678901'"),
        ("1234567890123", "'1234567890123'"),
        ("12345678901a", "'12345678901a'"),
        ("١٢٣٤٥٦٧٨٩٠١٢", "'١٢٣٤٥٦٧٨٩٠١٢'"),  # Arabic-Indic digits: \d would take them, AWS does not
        (True, "true"),
    ],
)
def test_an_account_id_that_is_not_12_digits_is_refused(account, shown):
    assert problems(jsonl({**item(), "accountId": account})) == [
        f"line 1: accountId: {shown} is not a 12-digit AWS account id"
    ]


def test_a_short_numeric_account_id_says_a_number_loses_its_leading_zeros():
    assert problems(jsonl({**item(), "accountId": 12345678901})) == [
        "line 1: accountId: 12345678901 is not a 12-digit AWS account id (quote it: a number loses its leading zeros)"
    ]


def test_the_target_refuses_what_the_manifest_refuses_one_owner_for_account_ids():
    with pytest.raises(InvalidSpec):
        normalize_target({"accountId": "١٢٣٤٥٦٧٨٩٠١٢", "region": "us-east-1"})
    with pytest.raises(InvalidSpec):
        normalize_target({"accountId": "111111111111", "region": "us-east-١"})


def test_a_missing_account_id_or_region_is_required():
    assert problems(jsonl({"spec": SPEC})) == [
        "line 1: accountId: required: the 12-digit id of the account to build in",
        "line 1: region: required: the AWS Region to build in (e.g. us-east-1)",
    ]


@pytest.mark.parametrize("region", ["US-EAST-1", "us-east", "useast1", "us-east-1a", 1, ""])
def test_a_region_that_is_not_a_region_name_is_refused(region):
    found = problems(jsonl({**item(), "region": region}))

    assert len(found) == 1 and re.fullmatch(r"line 1: region: (required|.* is not an AWS Region).*", found[0]), found


def test_a_region_of_the_right_shape_that_the_caller_does_not_know_is_refused_when_it_gives_its_list():
    text = jsonl(item(region="us-esat-1"))

    assert parse_manifest(text)[0]["region"] == "us-esat-1"  # the Lambda: the name's shape only
    assert problems(text, regions={"us-east-1"}) == [
        "line 1: region: 'us-esat-1' is not an AWS Region (none of that name is known)"
    ]


def test_the_same_account_and_region_twice_names_both_lines():
    text = jsonl(item(), item("222222222222"), item(specKey="specs/other.json"))

    assert problems(text) == [
        "line 3: accountId and region: 111111111111 in us-east-1 is on line 1 too (one item per account and "
        "Region: two builds of one network there would race)"
    ]


def test_the_same_account_in_two_regions_is_two_items():
    assert len(parse_manifest(jsonl(item(), item(region="eu-west-1")))) == 2


def test_no_spec_source_is_refused_naming_the_three():
    (found,) = problems(jsonl({"accountId": "111111111111", "region": "us-east-1"}))

    assert found.startswith("line 1: spec: required: give one of spec (the spec inline), specKey")
    assert "specParameter (an SSM parameter under /vpcfactory/" in found


def test_more_than_one_spec_source_is_refused_naming_them():
    assert problems(jsonl(item(spec=SPEC, specKey="specs/a.json"))) == [
        "line 1: specKey: give only one of spec, specKey and specParameter (this line gives spec and specKey)"
    ]


def test_an_inline_spec_must_be_an_object_but_is_not_validated_here():
    # a spec that parse_spec would refuse is the rollout's business: that item fails alone
    assert parse_manifest(jsonl(item(spec={"name": "NOT VALID"})))[0]["spec"] == {"name": "NOT VALID"}
    assert problems(jsonl(item(spec="team-a.yaml"))) == [
        "line 1: spec: must be a mapping (the spec inline), got the string 'team-a.yaml'"
    ]


def test_a_csv_spec_cell_that_is_not_a_json_object_is_refused():
    text = csv_text(
        ["accountId", "region", "spec"], ["111111111111", "us-east-1", "name: a"], ["222222222222", "us-east-1", "[1]"]
    )

    assert problems(text) == [
        "line 2: spec: not valid JSON: Expecting value (column 1) (in CSV the spec is a JSON object in one quoted "
        "cell)",
        "line 3: spec: must be a JSON object (the spec), got a list of 1 item",
    ]


def test_a_spec_parameter_outside_vpcfactory_is_refused_saying_the_functions_may_read_only_those():
    (found,) = problems(jsonl(item(specParameter="/platform/specs/prod")))

    assert found == (
        "line 1: specParameter: '/platform/specs/prod' is not under /vpcfactory/: the factory's functions may "
        "read only the SSM parameters under /vpcfactory/ (their IAM policy), e.g. /vpcfactory/specs/prod"
    )


@pytest.mark.parametrize(
    "name", ["/vpcfactory/", "/vpcfactory//x", "/vpcfactory/a b", "/vpcfactory/x/", "/vpcfactory/" + "a/" * 15 + "b"]
)
def test_a_spec_parameter_that_is_not_an_ssm_parameter_name_is_refused(name):
    (found,) = problems(jsonl(item(specParameter=name)))

    assert found.startswith("line 1: specParameter: ") and "is not an SSM parameter name" in found


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("s3://bucket/specs/a.json", "is an S3 URI: give the key in the rollout bucket"),
        ("/specs/a.json", "is not under specs/"),
        ("prod.json", "is not under specs/: the factory's functions may read only the specs under specs/"),
        ("specs//a.json", "is not a plain S3 key"),
        ("specs/../manifests/a.json", "is not a plain S3 key"),
        ("specs/", "is not a plain S3 key"),
        ("specs/a\n.json", "is not a plain S3 key"),
        ("specs/./a.json", "is not a plain S3 key"),
        ("specs/" + "k" * 1019, "is longer than an S3 key (1024 bytes)"),
        (7, "must be a string"),
    ],
)
def test_a_spec_key_that_is_not_a_plain_s3_key_is_refused(key, reason):
    (found,) = problems(jsonl(item(specKey=key)))

    assert found.startswith("line 1: specKey: ") and reason in found


def test_a_role_name_is_checked_as_the_targets_role_name_is():
    assert problems(
        jsonl(item(spec=SPEC, roleName="not a role"), item("222222222222", spec=SPEC, roleName="r" * 65))
    ) == [
        "line 1: roleName: 'not a role' is not an IAM role name (1 to 64 letters, digits and +=,.@_-)",
        f"line 2: roleName: '{'r' * 64}'… (65 characters) is not an IAM role name (1 to 64 letters, digits "
        "and +=,.@_-)",
    ]
    with pytest.raises(InvalidSpec, match="not an IAM role name"):
        normalize_target({"accountId": "111111111111", "region": "us-east-1", "roleName": "not a role"})


def test_a_line_that_is_not_json_or_not_an_object_is_refused():
    assert problems(jsonl(item(), '{"accountId": "2222', "[1, 2]", '{"region": "a", "region": "b"}', '{"x": NaN}')) == [
        "line 2: not valid JSON: Unterminated string starting at (column 15)",
        "line 3: must be a JSON object (one item), got a list of 2 items",
        "line 4: not valid JSON: the key 'region' is given twice in one object (which one was meant?)",
        "line 5: not valid JSON: NaN is not a JSON value",
    ]


def test_a_json_array_is_not_taken_for_a_csv():
    assert problems(json.dumps([item()])) == [
        "manifest: a JSON array is not a manifest: write one JSON object per line (JSON Lines), or CSV"
    ]


@pytest.mark.parametrize(
    ("text", "what"),
    [
        ("", "every line is blank"),
        ("\n  \n", "every line is blank"),
        ("accountId,region,spec\n", "only the header row"),
    ],
)
def test_an_empty_manifest_is_refused_by_its_name(text, what):
    assert problems(text, name="s3://b/manifests/x.csv") == [
        f"s3://b/manifests/x.csv: no items ({what}): give one item per line"
    ]


def test_more_than_10000_items_is_refused():
    text = "accountId,region,specKey\n" + "".join(f"{n:012d},us-east-1,specs/a.json\n" for n in range(1, MAX_ITEMS + 2))

    assert problems(text) == [
        "manifest: 10,001 items; a rollout takes at most 10,000: split the manifest into several rollouts"
    ]
    assert len(parse_manifest(text.rsplit("\n", 2)[0] + "\n")) == MAX_ITEMS


def test_every_line_is_checked_and_every_problem_is_reported_in_line_order():
    text = jsonl(
        item(),
        {**item("1"), "extra": 1},
        item(region="mars-1"),
        "oops",
        item("333333333333", specParameter="/other/x"),
    )

    found = problems(text)

    assert [p.split(":")[0] for p in found] == ["line 2", "line 2", "line 3", "line 4", "line 5"]
    assert [p.split(": ")[1] for p in found] == ["extra", "accountId", "region", "not valid JSON", "specParameter"]


def test_the_error_message_joins_the_problems_and_lists_at_most_50():
    text = jsonl(*(item(f"{n:011d}") for n in range(1, 61)))

    with pytest.raises(InvalidManifest) as refused:
        parse_manifest(text)

    assert len(refused.value.problems) == 60
    message = str(refused.value)
    assert message.startswith(refused.value.problems[0] + "; " + refused.value.problems[1] + "; ")
    assert message.endswith("; and 10 more")


def test_a_message_never_repeats_a_huge_value_whole():
    found = problems(jsonl({**item(), "region": "x" * 100_000, "y" * 100_000: 1}))

    assert all(len(p) < 400 for p in found), [len(p) for p in found]


# -- execution names -----------------------------------------------------------------------------


def test_an_execution_name_is_the_rollout_id_the_account_and_the_region():
    assert execution_name("fleet-2026-11-30", "111111111111", "us-east-1") == "fleet-2026-11-30-111111111111-us-east-1"


def test_the_longest_rollout_id_in_the_longest_region_needs_no_cut():
    rollout = "r" * 40
    assert ROLLOUT_ID_RE.fullmatch(rollout)

    assert execution_name(rollout, "111111111111", "us-isof-south-1") == f"{rollout}-111111111111-us-isof-south-1"


def test_a_name_too_long_is_cut_within_74_characters_and_keeps_the_account_and_region():
    name = execution_name("r" * 70, "111111111111", "us-east-1")

    assert len(name) == 74 and name.endswith("-111111111111-us-east-1")
    assert re.fullmatch(r"r+-[0-9a-f]{8}-111111111111-us-east-1", name)


NAMES = st.text(st.characters(codec="utf-8"), min_size=1, max_size=90)


@settings(max_examples=300, derandomize=True)
@given(a=NAMES, b=NAMES, region=st.sampled_from(["us-east-1", "us-isof-south-1", "x" * 80]))
def test_execution_names_are_deterministic_valid_and_unique_per_rollout_id(a, b, region):
    # AWS's execution names (StartExecution, name): at most 80 characters, and our builds add "-r<N>"
    first = execution_name(a, "111111111111", region)

    assert first == execution_name(a, "111111111111", region)
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,74}", first)
    if a != b:
        assert first != execution_name(b, "111111111111", region)
    assert first != execution_name(a, "222222222222", region)


def test_rollout_ids_that_differ_only_where_they_are_cut_get_different_names():
    names = {execution_name("p" * 70 + suffix, "111111111111", "us-east-1") for suffix in ("a", "b", "c", "d")}

    assert len(names) == 4


def test_rollout_ids_that_differ_only_in_a_character_names_cannot_hold_get_different_names():
    assert execution_name("a.b", "111111111111", "us-east-1") != execution_name("a_b", "111111111111", "us-east-1")
    assert execution_name("a_b", "111111111111", "us-east-1") == "a_b-111111111111-us-east-1"
