"""How `make reliability` sums its cases up: the JSON report and the printed table."""

from __future__ import annotations

import re

import pytest

from vpcfactory_tools import reliability
from vpcfactory_tools.reliability import Case, report, table


def case(kind: str, expected: str, status: str, **fields) -> Case:
    error = fields.pop("error", None)
    expected_error = fields.pop("expected_error", None)
    return Case(kind, f"{kind} {status}", expected, expected_error, status=status, error=error, **fields)


def test_a_case_is_ok_only_as_expected_with_nothing_left_and_nothing_disturbed():
    fine = case("crash", "FAILED", "FAILED", error="Runtime.ExitError", expected_error="Runtime.ExitError")
    wrong_error = case("crash", "FAILED", "FAILED", error="AwsCallFailed", expected_error="Runtime.ExitError")
    leaky = case("fault", "FAILED", "FAILED", left_behind=["subnet subnet-1 (subnet/a)"])
    noisy = case("throttle", "SUCCEEDED", "SUCCEEDED", problems=["duplicate subnet subnet/a"])

    assert fine.ok and fine.as_expected
    assert not wrong_error.as_expected and not wrong_error.ok
    assert leaky.as_expected and not leaky.ok
    assert not noisy.as_expected


def test_the_report_sums_each_kind_and_counts_a_disturbed_resource_once():
    cases = [
        case("fault", "FAILED", "FAILED", left_behind=["log-group /vpcfactory/x/flow-logs"]),
        case("fault", "FAILED", "FAILED", disturbed=["vpc vpc-1: changed"]),
        case("concurrency", "SUCCEEDED", "SUCCEEDED", disturbed=["vpc vpc-1: changed"]),
        case("concurrency", "FAILED", "FAILED"),
    ]

    doc = report(cases, {"seconds": 1.0})

    assert doc["summary"] == {
        "cases": 4,
        "asExpected": 4,
        "expectedToSucceed": 1,
        "succeededAsExpected": 1,
        "expectedToFail": 3,
        "failedAsExpected": 3,
        "leftBehind": 1,
        "disturbed": 1,
        "ok": False,
    }
    assert list(doc["byKind"]) == ["fault sweep", "concurrency"]
    assert len(doc["failures"]) == 3 and len(doc["cases"]) == 4


def test_the_table_has_a_row_per_kind_and_a_total_and_says_pass_only_when_all_is_well():
    good = [case("crash", "FAILED", "FAILED"), case("throttle", "SUCCEEDED", "SUCCEEDED")]
    bad = [*good, case("crash", "FAILED", "FAILED", left_behind=["vpc vpc-9"])]

    passed, failed = table(report(good, {})), table(report(bad, {}))

    cells = [re.split(r"\s{2,}", line.strip()) for line in passed.splitlines()[3:-1] if not line.startswith("-")]
    rows = {row[0]: row[1:] for row in cells}
    assert rows["crash sweep"] == ["1", "0/0", "1/1", "0", "0"]
    assert rows["throttling"] == ["1", "1/1", "0/0", "0", "0"]
    assert rows["total"] == ["2", "1/1", "1/1", "0", "0"]
    assert passed.endswith("PASS")
    assert failed.splitlines()[-1].startswith("FAIL: 1 case(s)")


def test_an_unknown_kind_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        reliability.main(["--only", "fault,chaos"])

    assert exc.value.code == 2
    assert "unknown ['chaos']" in capsys.readouterr().err
