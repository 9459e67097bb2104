"""A rollout's manifest: which network goes to which account and Region. Parsed and checked with no
AWS call, by the CLI before it uploads the file and by Prepare Rollout after it reads it.

One item per line, in JSON Lines or CSV: `accountId` (12 digits), `region` (an AWS Region), exactly
one of `spec` (the spec inline; in CSV a JSON string), `specKey` (the key of a JSON spec in the
stack's rollout bucket) and `specParameter` (an SSM parameter under /vpcfactory/ holding a JSON
spec), and optionally `roleName` (the role to assume in the account). Blank lines are skipped. A
manifest whose first non-blank character is `{` is JSON Lines; anything else is CSV with a header
row naming the columns.

Every line is checked and InvalidManifest lists every problem, each naming its line and field
("line 3: accountId: '12345' is not a 12-digit AWS account id"), so one run shows what to fix.
The specs themselves are not parsed here: an item whose spec does not load or validate fails alone
when the rollout runs (Prepare Rollout), and the others go on.
"""

# No `from __future__ import annotations`: ManifestItem's NotRequired keys are read at run time
# (__required_keys__), which Python 3.11 does only from evaluated annotations (as in contracts.py).
import csv
import hashlib
import io
import json
import re
from collections.abc import Collection, Mapping
from typing import Any, NotRequired, TypedDict

from vpcfactory.errors import InvalidManifest
from vpcfactory.spec import ACCOUNT_ID_RE, REGION_RE, ROLE_NAME_RE, shown

MAX_ITEMS = 10_000  # items.json and the report stay small enough for one Lambda to write
KEYS = ("accountId", "region", "spec", "specKey", "specParameter", "roleName")
SPEC_SOURCES = ("spec", "specKey", "specParameter")
# The factory's functions may read SSM parameters under /vpcfactory/ only (template.yaml: their
# ssm:GetParameter statements name parameter/vpcfactory/*): any other name would be denied when the
# rollout runs, so it is refused here.
SPEC_PARAMETER_PREFIX = "/vpcfactory/"
# Likewise the rollout bucket's objects: Prepare Rollout may read manifests/* and specs/* only.
SPEC_KEY_PREFIX = "specs/"
# SSM parameter names (Systems Manager User Guide, "Parameter name requirements"): letters, digits
# and _.-/, at most 1011 characters, at most 15 levels of hierarchy.
SPEC_PARAMETER_RE = re.compile(r"(/[A-Za-z0-9_.-]+){2,15}")
MAX_SPEC_PARAMETER = 1011
MAX_SPEC_KEY_BYTES = 1024  # S3's longest object key, in UTF-8 bytes (S3 User Guide, "Naming objects")
# A rollout id names the rollout's files (rollouts/<id>/) and starts every child execution's name.
ROLLOUT_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,40}")
# Step Functions execution names are at most 80 characters; the rollout's child builds append
# "-r<N>" (the redrive count) to these, so they keep 6 characters for it: a map run is redriven at
# most 1,000 times (Step Functions developer guide, "Redriving Map Runs").
MAX_EXECUTION_NAME = 74
EXECUTION_NAME_RE = re.compile(r"[A-Za-z0-9_-]+")
DIGEST_LENGTH = 8  # hex digits of sha256 standing in for the part of a name that was cut


class ManifestItem(TypedDict):
    accountId: str
    region: str
    line: int  # the line of the manifest it came from (a CSV row: the line it starts on)
    spec: NotRequired[dict[str, Any]]  # exactly one of spec, specKey and specParameter
    specKey: NotRequired[str]
    specParameter: NotRequired[str]
    roleName: NotRequired[str]


def parse_manifest(text: str, *, name: str = "manifest", regions: Collection[str] | None = None) -> list[ManifestItem]:
    """The manifest's items, in order. Raises InvalidManifest listing every problem of every line.

    `name` says which manifest a problem of the whole file is about (its path, its S3 URI).
    `regions`, when given, are the Region names known to the caller (the CLI has botocore's list):
    a region of the right shape that is not among them is refused too.
    """
    text = text.removeprefix("\ufeff")  # the byte-order mark spreadsheets put before a CSV
    first = text.lstrip()[:1]
    if first == "[":
        raise InvalidManifest(
            [f"{name}: a JSON array is not a manifest: write one JSON object per line (JSON Lines), or CSV"]
        )
    parsed = _jsonl_rows(text) if first == "{" else _csv_rows(text)
    problems = list(parsed.problems)
    items: list[ManifestItem] = []
    seen: dict[tuple[str, str], int] = {}
    for line, fields in parsed.rows:
        item = _item(line, fields, parsed.columns, problems, regions)
        if item is None:
            continue
        key = (item["accountId"], item["region"])
        if key in seen:
            problems.append(
                f"line {line}: accountId and region: {key[0]} in {key[1]} is on line {seen[key]} too "
                "(one item per account and Region: two builds of one network there would race)"
            )
            continue
        seen[key] = line
        items.append(item)
    if parsed.count == 0 and not problems:
        what = "only the header row" if parsed.columns is not None else "every line is blank"
        problems.append(f"{name}: no items ({what}): give one item per line")
    if parsed.count > MAX_ITEMS:
        problems.append(
            f"{name}: {parsed.count:,} items; a rollout takes at most {MAX_ITEMS:,}: split the manifest into "
            "several rollouts"
        )
    if problems:
        raise InvalidManifest(sorted(problems, key=_line_of))
    return items


def execution_name(rollout_id: str, account_id: str, region: str) -> str:
    """The name of the build a rollout starts for one account and Region: "{rollout_id}-{account_id}-{region}".

    Deterministic (a re-run of the same rollout finds its earlier builds by name), at most
    MAX_EXECUTION_NAME characters of [A-Za-z0-9_-]. A name that would be longer, or hold other
    characters, keeps as much as fits and ends the rollout id's part with a sha256 digest of the
    whole name instead: two rollout ids that differ only in what was cut still get different names.
    """
    full = f"{rollout_id}-{account_id}-{region}"
    if len(full) <= MAX_EXECUTION_NAME and EXECUTION_NAME_RE.fullmatch(full):
        return full
    digest = hashlib.sha256(full.encode("utf-8", "surrogatepass")).hexdigest()[:DIGEST_LENGTH]
    rollout, account, region = (re.sub(r"[^A-Za-z0-9_-]", "_", part) for part in (rollout_id, account_id, region))
    tail = f"-{digest}-{account}-{region}"
    room = MAX_EXECUTION_NAME - len(tail)
    if room >= 1:
        return f"{rollout[:room]}{tail}"
    # an account and Region longer than a name (no real one is): keep the start, then the digest
    cleaned = f"{rollout}-{account}-{region}"
    return f"{cleaned[: MAX_EXECUTION_NAME - DIGEST_LENGTH - 1]}-{digest}"


# -- reading the lines ------------------------------------------------------------------------


class _Rows:
    """What the reader found: (line, fields) per item, problems of whole lines, the CSV header."""

    def __init__(self) -> None:
        self.rows: list[tuple[int, dict[str, Any]]] = []
        self.problems: list[str] = []
        self.columns: set[str] | None = None  # CSV: the known columns the header names
        self.count = 0  # non-blank lines (items, good or bad)


def _jsonl_rows(text: str) -> _Rows:
    out = _Rows()
    # Split on "\n" only: str.splitlines would also split inside a JSON string holding U+2028.
    for number, raw in enumerate(text.split("\n"), start=1):
        if not raw.strip():
            continue
        out.count += 1
        try:
            value = json.loads(raw, object_pairs_hook=_no_key_twice, parse_constant=_no_constant)
        except ValueError as exc:  # json.JSONDecodeError is a ValueError, as are the hooks' refusals
            reason = f"{exc.msg} (column {exc.colno})" if isinstance(exc, json.JSONDecodeError) else str(exc)
            out.problems.append(f"line {number}: not valid JSON: {reason}")
            continue
        if not isinstance(value, dict):
            out.problems.append(f"line {number}: must be a JSON object (one item), got {_kind(value)}")
            continue
        out.rows.append((number, value))
    return out


def _csv_rows(text: str) -> _Rows:
    out = _Rows()
    # newline="": the csv module splits the rows itself (a quoted cell may hold a line break).
    # skipinitialspace: "accountId, region" names the column region, not " region".
    reader = csv.reader(io.StringIO(text, newline=""), skipinitialspace=True)
    header: list[str] | None = None
    columns: set[str] = set()
    header_line = 0
    end = 0
    while True:
        start = end + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:  # a NUL, a cell longer than the csv module reads: the rest is unreadable
            out.problems.append(f"line {reader.line_num}: not valid CSV: {exc}; the lines after it were not read")
            out.count += 1  # the rest is not read: the manifest is not empty, it is wrong
            break
        end = reader.line_num
        if not any(cell.strip() for cell in row):
            continue  # a blank line (or a row of empty cells, as spreadsheets write them)
        if header is None:
            header, header_line = [cell.strip() for cell in row], start
            out.columns = columns = _check_header(header, header_line, out.problems)
            continue
        out.count += 1
        if len(row) > len(header):
            out.problems.append(
                f"line {start}: the row has {len(row)} cells but the header (line {header_line}) names "
                f"{len(header)} columns (a spec with commas must be quoted)"
            )
            continue
        # An empty cell is no value (CSV cannot tell the two apart); a column the header did not
        # accept was reported once, on the header's line.
        fields = {col: cell for col, cell in zip(header, row, strict=False) if cell != "" and col in columns}
        if "spec" in fields:
            spec, problem = _spec_from_cell(fields["spec"])
            if problem:
                out.problems.append(f"line {start}: spec: {problem}")
                fields["spec"] = _BAD  # reported: not reported again as missing
            else:
                fields["spec"] = spec
        out.rows.append((start, fields))
    return out


_BAD: Any = object()  # a value already reported


def _check_header(header: list[str], line: int, problems: list[str]) -> set[str]:
    """The known columns of a CSV header; what is wrong with it goes to `problems`, once."""
    columns: set[str] = set()
    for cell in header:
        column = cell.strip()
        if column in columns:
            problems.append(f"line {line}: {_field(column)}: the header names this column twice")
        elif column in KEYS:
            columns.add(column)
        else:
            problems.append(f"line {line}: {_field(column)}: unknown column{_did_you_mean(column)}; expected {_keys()}")
    for required in ("accountId", "region"):
        if required not in columns:
            problems.append(f"line {line}: {required}: the header has no {required} column: every item needs one")
    if not columns & set(SPEC_SOURCES):
        problems.append(
            f"line {line}: spec: the header has none of the columns spec, specKey and specParameter: every item "
            "needs one"
        )
    return columns


def _spec_from_cell(cell: str) -> tuple[Any, str | None]:
    """A CSV spec cell's JSON object, or the problem with it."""
    try:
        spec = json.loads(cell, object_pairs_hook=_no_key_twice, parse_constant=_no_constant)
    except ValueError as exc:
        reason = f"{exc.msg} (column {exc.colno})" if isinstance(exc, json.JSONDecodeError) else str(exc)
        return None, f"not valid JSON: {reason} (in CSV the spec is a JSON object in one quoted cell)"
    if not isinstance(spec, dict):
        return None, f"must be a JSON object (the spec), got {_kind(spec)}"
    return spec, None


def _no_key_twice(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"the key {shown(key)} is given twice in one object (which one was meant?)")
        out[key] = value
    return out


def _no_constant(word: str) -> Any:
    raise ValueError(f"{word} is not a JSON value")


# -- checking an item -------------------------------------------------------------------------


def _item(
    line: int,
    fields: Mapping[str, Any],
    columns: set[str] | None,
    problems: list[str],
    regions: Collection[str] | None,
) -> ManifestItem | None:
    """The item of one line, or None after adding each of its problems to `problems`."""
    ok = True

    def problem(field: str, reason: str) -> None:
        nonlocal ok
        ok = False
        problems.append(f"line {line}: {field}: {reason}")

    def missing(field: str) -> bool:  # not given; a CSV without the column was reported on its header
        return fields.get(field) is None and (columns is None or field in columns)

    for key in fields:
        if key not in KEYS:  # (CSV: only known columns get here)
            problem(_field(key), f"unknown field{_did_you_mean(key)}; expected one of {_keys()}")

    account = _account_id(fields.get("accountId"))
    if missing("accountId"):
        problem("accountId", "required: the 12-digit id of the account to build in")
    elif account is None and "accountId" in fields:
        given = fields["accountId"]
        number = isinstance(given, int) and not isinstance(given, bool)
        hint = " (quote it: a number loses its leading zeros)" if number else ""
        problem("accountId", f"{shown(given)} is not a 12-digit AWS account id{hint}")

    region = fields.get("region")
    if missing("region"):
        problem("region", "required: the AWS Region to build in (e.g. us-east-1)")
    elif region is not None and (not isinstance(region, str) or not REGION_RE.fullmatch(region)):
        problem("region", f"{shown(region)} is not an AWS Region (e.g. us-east-1, eu-west-1, us-gov-west-1)")
    elif region is not None and regions is not None and region not in regions:
        problem("region", f"{shown(region)} is not an AWS Region (none of that name is known)")

    role = fields.get("roleName")
    if role is not None and (not isinstance(role, str) or not ROLE_NAME_RE.fullmatch(role)):
        problem("roleName", f"{shown(role)} is not an IAM role name (1 to 64 letters, digits and +=,.@_-)")

    given = [key for key in SPEC_SOURCES if fields.get(key) is not None]
    source: tuple[str, Any] | None = None
    if len(given) > 1:
        problem(given[1], f"give only one of spec, specKey and specParameter (this line gives {' and '.join(given)})")
    elif not given:
        if columns is None or columns & set(SPEC_SOURCES):
            problem(
                "spec",
                "required: give one of spec (the spec inline), specKey (the key of a JSON spec in the rollout "
                f"bucket) and specParameter (an SSM parameter under {SPEC_PARAMETER_PREFIX} holding a JSON spec)",
            )
    else:
        key = given[0]
        value = fields[key]
        reason = None if value is _BAD else _SOURCE_CHECKS[key](value)
        if reason:
            problem(key, reason)
        if value is not _BAD:  # (already reported by the reader)
            source = (key, value)

    if not ok or account is None or not isinstance(region, str) or source is None:
        return None
    item: ManifestItem = {"accountId": account, "region": region, "line": line}
    if source[0] == "spec":
        item["spec"] = source[1]
    elif source[0] == "specKey":
        item["specKey"] = source[1]
    else:
        item["specParameter"] = source[1]
    if role is not None:
        item["roleName"] = role
    return item


def _account_id(value: Any) -> str | None:
    """The account id as a string, or None. A JSON number is taken as aws.normalize_target takes it."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10**12:
        value = str(value)
    return value if isinstance(value, str) and ACCOUNT_ID_RE.fullmatch(value) else None


def _check_spec(value: Any) -> str | None:
    if not isinstance(value, dict):
        return f"must be a mapping (the spec inline), got {_kind(value)}"
    return None


def _check_spec_key(value: Any) -> str | None:
    """A key of the rollout bucket, as written in an S3 URI's path: no bucket, no leading '/', no
    '.' or '..' or empty segment (S3 would store them, but they are a path meant for somewhere else)."""
    if not isinstance(value, str):
        return f"must be a string (an S3 key in the rollout bucket, e.g. specs/prod.json), got {_kind(value)}"
    if value.startswith("s3://"):
        return f"{shown(value)} is an S3 URI: give the key in the rollout bucket (e.g. specs/prod.json)"
    if not value.startswith(SPEC_KEY_PREFIX):
        return (
            f"{shown(value)} is not under {SPEC_KEY_PREFIX}: the factory's functions may read only the specs "
            f"under {SPEC_KEY_PREFIX} in the rollout bucket (their IAM policy), e.g. specs/prod.json"
        )
    if len(value.encode("utf-8", "surrogatepass")) > MAX_SPEC_KEY_BYTES:
        return f"{shown(value)} is longer than an S3 key ({MAX_SPEC_KEY_BYTES} bytes)"
    segments = value.split("/")
    if (
        not value.isprintable()
        or value.startswith("/")
        or value.endswith("/")
        or any(s in ("", ".", "..") for s in segments)
    ):
        return (
            f"{shown(value)} is not a plain S3 key: give the object's key in the rollout bucket "
            "(e.g. specs/prod.json), with no leading or trailing '/', no empty, '.' or '..' segment and no "
            "control character"
        )
    return None


def _check_spec_parameter(value: Any) -> str | None:
    if not isinstance(value, str):
        return f"must be a string (an SSM parameter name under {SPEC_PARAMETER_PREFIX}), got {_kind(value)}"
    if not value.startswith(SPEC_PARAMETER_PREFIX):
        return (
            f"{shown(value)} is not under {SPEC_PARAMETER_PREFIX}: the factory's functions may read only "
            f"the SSM parameters under {SPEC_PARAMETER_PREFIX} (their IAM policy), e.g. /vpcfactory/specs/prod"
        )
    if len(value) > MAX_SPEC_PARAMETER or not SPEC_PARAMETER_RE.fullmatch(value):
        return (
            f"{shown(value)} is not an SSM parameter name (letters, digits and _.-, levels separated by '/', "
            f"at most 15 levels and {MAX_SPEC_PARAMETER} characters)"
        )
    return None


_SOURCE_CHECKS = {"spec": _check_spec, "specKey": _check_spec_key, "specParameter": _check_spec_parameter}


# -- messages ---------------------------------------------------------------------------------


def _keys() -> str:
    return ", ".join(KEYS)


def _field(key: Any) -> str:
    """A key as the field of a problem: itself when short and printable, else cut and quoted."""
    text = str(key)
    return text if 0 < len(text) <= 64 and text.isprintable() and text.strip() == text else shown(text)


def _did_you_mean(key: Any) -> str:
    match = [k for k in KEYS if k.lower() == str(key).strip().lower().replace("_", "")]
    return f" (did you mean {match[0]}?)" if match else ""


def _kind(value: Any) -> str:
    """What a line gave where it should not, for "got ..."."""
    if isinstance(value, str):
        return f"the string {shown(value)}"
    if isinstance(value, bool) or value is None:
        return shown(value)
    if isinstance(value, (int, float)):
        return f"the number {shown(value)}"
    return shown(value)


def _line_of(problem: str) -> tuple[int, int]:
    """Problems in line order; those of the whole manifest last."""
    found = re.match(r"line (\d+):", problem)
    return (0, int(found.group(1))) if found else (1, 0)
