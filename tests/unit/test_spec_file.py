"""Hostile inputs (issue 12, item 8): a spec file is read bounded and strictly, and no message
repeats an input whole, in the CLI and in the Lambda's validation alike."""

from __future__ import annotations

import json
import time

import pytest
import yaml

from vpcfactory.errors import InvalidSpec
from vpcfactory.spec import parse_spec, plural, shown
from vpcfactory_tools import spec_file
from vpcfactory_tools.spec_file import MAX_INPUT_BYTES, SpecFileError, load_yaml, read_spec_file

GOOD = {
    "name": "hostile",
    "cidr": "10.1.0.0/16",
    "availabilityZones": 2,
    "tiers": [
        {"name": "public", "type": "public", "prefixLength": 24},
        {"name": "private", "type": "private", "prefixLength": 24},
    ],
}
# 400 bytes that expand to 9**8 = 43 million strings when an alias is followed
BILLION_LAUGHS = "\n".join(
    [
        'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
        *(f"{b}: &{b} [{','.join([f'*{a}'] * 9)}]" for a, b in zip("abcdefg", "bcdefgh", strict=True)),
        "name: *h",
    ]
)


def rejected(raw) -> InvalidSpec:
    with pytest.raises(InvalidSpec) as exc:
        parse_spec(raw)
    return exc.value


def test_a_yaml_alias_bomb_is_refused_at_once_with_a_one_line_message():
    assert len(BILLION_LAUGHS) < 500
    started = time.monotonic()

    with pytest.raises(SpecFileError) as exc:
        load_yaml(BILLION_LAUGHS)

    assert time.monotonic() - started < 1
    assert "aliases are not accepted" in str(exc.value) and len(str(exc.value)) < 200


def test_an_alias_of_a_plain_value_is_refused_too_and_an_unused_anchor_is_fine():
    with pytest.raises(SpecFileError, match="alias"):
        load_yaml("name: &n prod\ntags: {Name: *n}\n")
    assert load_yaml("name: &n prod\n") == {"name": "prod"}


@pytest.mark.parametrize(
    ("text", "field", "where"),
    [
        ("name: a\ncidr: 10.0.0.0/16\nname: b\n", "name", "lines 1 and 3"),
        ("tiers:\n  - name: a\n    type: public\n    name: b\n", "tiers[0].name", "lines 2 and 4"),
        ('{"tags": {"Team": "a", "Team": "b"}}', "tags.Team", "line 1, columns 11 and 24"),
    ],
)
def test_a_key_given_twice_is_refused_naming_it_not_last_wins(text, field, where):
    with pytest.raises(InvalidSpec) as exc:
        load_yaml(text)

    assert exc.value.field == field
    assert f"given twice in one mapping ({where})" in exc.value.reason


def test_a_file_over_256_kib_is_refused_before_it_is_parsed(tmp_path, monkeypatch):
    path = tmp_path / "big.yaml"
    path.write_text("name: x\n" + "#" * MAX_INPUT_BYTES)
    monkeypatch.setattr(spec_file, "load_yaml", lambda *a: pytest.fail("parsed a file over the limit"))

    with pytest.raises(SpecFileError, match=r"over 262,144 bytes: .*256 KiB"):
        read_spec_file(str(path))


def test_yaml_under_256_kib_that_becomes_more_json_than_that_is_refused(tmp_path):
    path = tmp_path / "zones.yaml"
    path.write_text("availabilityZones: [" + ",".join(["a"] * 100_000) + "]\n")  # 200 KB, 500 KB as JSON
    started = time.monotonic()

    with pytest.raises(SpecFileError, match="becomes 500,023 bytes of JSON"):
        read_spec_file(str(path))

    assert time.monotonic() - started < 5


def test_nesting_deeper_than_a_spec_needs_is_refused_without_recursion():
    with pytest.raises(SpecFileError, match="nested more than 32 levels"):
        load_yaml("[" * 40 + "]" * 40)
    with pytest.raises(SpecFileError):
        load_yaml("[" * 100_000 + "]" * 100_000)


def test_a_file_that_is_not_utf8_names_the_byte(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: caf\xe9\n".encode("latin-1"))

    with pytest.raises(SpecFileError, match=r"not UTF-8 text \(byte 0xe9 at offset 9\)"):
        read_spec_file(str(path))


def test_a_yaml_error_is_one_line_with_its_place():
    with pytest.raises(SpecFileError) as exc:
        load_yaml("tiers: [1, 2\n")

    assert "\n" not in str(exc.value) and "(line 2, column 1)" in str(exc.value)


def test_a_200_kb_name_is_shown_cut_in_the_lambdas_validation_too():
    # parse_spec is what Validate Spec runs on an EventBridge or CloudFormation input
    exc = rejected({**GOOD, "name": "a" * 200_000})

    assert exc.field == "name"
    assert len(str(exc)) < 300 and "(200,000 characters)" in str(exc)


@pytest.mark.parametrize(
    "change",
    [
        {"cidr": "1" * 100_000},
        {"availabilityZones": ["us-" + "east" * 50_000 + "-1a"]},
        {"tiers": [{"name": "x" * 100_000, "type": "public", "prefixLength": 24}]},
        {"tags": {"k" * 100_000: "v"}},
        {"tags": {"Team": "v" * 100_000}},
        {"flowLogs": {"logGroupName": "/" * 100_000}},
        {"natGateways": {"mode": "m" * 100_000}},
        {"spec": GOOD, "target": {"accountId": "1" * 100_000}},
        {"spec": GOOD, "target": {"accountId": 10**4000}},
        {"spec": GOOD, "target": {"region": "us-" + "x" * 100_000 + "-1"}},
        {"unknown" * 20_000: 1},
    ],
    ids=lambda change: next(iter(change)),
)
def test_no_message_repeats_a_huge_value_whole(change):
    from vpcfactory.aws import normalize_target

    raw = change if "spec" in change else {**GOOD, **change}
    with pytest.raises(InvalidSpec) as exc:
        parse_spec(raw)
        normalize_target(raw.get("target"))

    assert len(str(exc.value)) < 700


def test_a_list_of_100000_eip_ids_is_refused_in_well_under_a_second():
    eips = [f"eipalloc-{k:017x}" for k in range(100_000)]
    started = time.monotonic()

    exc = rejected({**GOOD, "natGateways": {"mode": "single", "eipAllocationIds": eips}})

    assert time.monotonic() - started < 1
    assert exc.field == "natGateways.eipAllocationIds"


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"tiers": [None]}, "got null (no value)"),
        ({"tags": False}, "got the boolean false"),
        ({"tags": 3}, "got the number 3"),
        ({"tiers": {"a": 1}}, "got a mapping of 1 key"),
        ({"tags": [1, 2]}, "got a list of 2 items"),
        ({"tags": "x"}, "got the string 'x'"),
    ],
)
def test_a_wrong_type_is_named_in_yamls_words_not_pythons(change, words):
    exc = rejected({**GOOD, **change})

    assert words in str(exc)
    for python in ("NoneType", "bool ", "str ", "int ", "dict", "list ["):
        assert python not in str(exc)


def test_a_yaml_11_boolean_where_a_string_belongs_says_to_quote_it():
    exc = rejected(load_yaml(yaml.safe_dump(GOOD).replace("name: hostile", "name: no")))

    assert exc.field == "name"
    assert "got the boolean false" in exc.reason and "quote the value" in exc.reason


def test_shown_cuts_strings_and_summarizes_collections():
    assert shown("a" * 10) == "'aaaaaaaaaa'"
    assert shown("a" * 1000).endswith("… (1,000 characters)") and len(shown("a" * 1000)) < 100
    assert shown(list(range(10**5))) == "a list of 100000 items"
    assert "digits" in shown(10**5000)
    assert (plural(1, "zone"), plural(2, "zone"), plural(0, "NAT gateway")) == ("1 zone", "2 zones", "0 NAT gateways")


def test_a_spec_file_reads_back_as_the_same_mapping(tmp_path):
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(GOOD))

    assert read_spec_file(str(path)) == GOOD
