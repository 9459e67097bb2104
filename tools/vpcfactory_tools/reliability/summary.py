"""The report: the document written to reliability/report.json (:func:`report`, each kind and the
total summed up by :func:`summarize`) and the table printed from it (:func:`table`)."""

from __future__ import annotations

from typing import Any

from vpcfactory_tools.reliability.cases import Case

KINDS = ("fault", "crash", "throttle", "concurrency", "rerun")
TITLES = {
    "fault": "fault sweep",
    "crash": "crash sweep",
    "throttle": "throttling",
    "concurrency": "concurrency",
    "rerun": "re-runs",
}


def summarize(cases: list[Case]) -> dict[str, Any]:
    to_succeed = [c for c in cases if c.expected_status == "SUCCEEDED"]
    to_fail = [c for c in cases if c.expected_status != "SUCCEEDED"]
    return {
        "cases": len(cases),
        "asExpected": sum(c.as_expected for c in cases),
        "expectedToSucceed": len(to_succeed),
        "succeededAsExpected": sum(c.as_expected for c in to_succeed),
        "expectedToFail": len(to_fail),
        "failedAsExpected": sum(c.as_expected for c in to_fail),
        "leftBehind": sum(len(c.left_behind) for c in cases),
        # a pre-existing resource disturbed once stays counted once, whatever the number of cases
        "disturbed": len({d for c in cases for d in c.disturbed}),
        "ok": all(c.ok for c in cases),
    }


def report(cases: list[Case], meta: dict[str, Any]) -> dict[str, Any]:
    kinds = [k for k in KINDS if any(c.kind == k for c in cases)]
    return {
        **meta,
        "summary": summarize(cases),
        "byKind": {TITLES[k]: summarize([c for c in cases if c.kind == k]) for k in kinds},
        "failures": [c.to_json() for c in cases if not c.ok],
        "cases": [c.to_json() for c in cases],
    }


def table(doc: dict[str, Any]) -> str:
    header = ("", "cases", "succeeded", "failed", "left behind", "pre-existing")
    sub = ("", "", "as expected", "as expected", "(must be 0)", "disturbed (0)")
    rows = [header, sub]
    for title, s in [*doc["byKind"].items(), ("total", doc["summary"])]:
        rows.append(
            (
                title,
                str(s["cases"]),
                f"{s['succeededAsExpected']}/{s['expectedToSucceed']}",
                f"{s['failedAsExpected']}/{s['expectedToFail']}",
                str(s["leftBehind"]),
                str(s["disturbed"]),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(r, widths, strict=True)))
        for r in rows
    ]
    lines.insert(2, "-" * len(lines[0]))
    lines.insert(len(lines) - 1, "-" * len(lines[0]))
    bad = len(doc["failures"])
    verdict = "PASS" if doc["summary"]["ok"] else f"FAIL: {bad} case(s) with a problem: see `failures` in the report"
    return "\n".join([*lines, verdict])
