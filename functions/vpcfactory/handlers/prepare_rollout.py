"""Prepare Rollout: check the rollout's input and its manifest before anything starts, resolve each
account's spec, and write the items the Distributed Map reads (rollouts/<rolloutId>/items.json).

A malformed manifest (manifest.parse_manifest) or input is refused here, naming each bad line or
the field: nothing is started. An account whose spec cannot be read or does not validate
(spec.parse_spec, aws.normalize_target) is kept with `invalid`: the map fails that item alone,
with InvalidSpec, and nothing is started or created for it; it counts against the tolerance like
any failed item.

The items are JSON in S3, not the state: a fleet's specs outgrow the 256 KiB a state may hold,
and the Distributed Map's ItemReader reads up to 10,000 items (manifest.MAX_ITEMS) from there.
"""

from __future__ import annotations

import json
import math
import os
import re
from typing import TYPE_CHECKING, Any

from vpcfactory import aws, manifest
from vpcfactory.errors import InvalidRolloutInput, InvalidSpec
from vpcfactory.observability import lambda_handler, logger
from vpcfactory.spec import parse_spec, shown

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from vpcfactory.contracts import PreparedRollout, PrepareRolloutEvent, RolloutItem

INPUT_KEYS = (
    "manifest",
    "organizationalUnitId",
    "regions",
    "spec",
    "specKey",
    "specParameter",
    "roleName",
    "mode",
    "rolloutId",
    "maxConcurrency",
    "toleratedFailurePercentage",
)
OU_KEYS = ("regions", "spec", "specKey", "specParameter", "roleName")
MODES = ("build", "audit")
DEFAULT_MAX_CONCURRENCY = 10
MAX_CONCURRENCY = 1000  # what one rollout starts at once; builds also share EC2's request rate
# Organizations ids (API reference, ListAccountsForParent ParentId pattern).
PARENT_RE = re.compile(r"^(r-[0-9a-z]{4,32}|ou-[0-9a-z]{4,32}-[a-z0-9]{8,32})$")
MANIFEST_KEY_PREFIX = "manifests/"


def bucket() -> str:
    return os.environ["ROLLOUT_BUCKET"]


def rollout_keys(rollout_id: str, execution: str) -> dict[str, str]:
    """Where a rollout keeps its items, results and report. The results are under the rollout
    execution's own name: a re-run of the same rollout id writes beside, never over, them."""
    base = f"rollouts/{rollout_id}"
    return {
        "itemsKey": f"{base}/items.json",
        "resultsPrefix": f"{base}/results/{execution}",
        "reportKey": f"{base}/report.json",
    }


# -- the input --------------------------------------------------------------------------------
def _number(raw: dict[str, Any], key: str, default: float, low: float, high: float, *, integer: bool) -> Any:
    value = raw.get(key, default)
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if ok and integer and value != int(value):
        ok = False
    if not ok or not low <= value <= high:
        kind = "an integer" if integer else "a number"
        raise InvalidRolloutInput(key, f"{shown(value)} is not {kind} from {low:g} to {high:g}")
    return int(value) if integer else value


def _rollout_id(raw: dict[str, Any], execution: str) -> str:
    given = raw.get("rolloutId")
    if given is None:
        return execution  # an execution name is already 1-80 characters of a safe set
    if not isinstance(given, str) or not manifest.ROLLOUT_ID_RE.fullmatch(given):
        raise InvalidRolloutInput("rolloutId", f"{shown(given)}: use 1-40 letters, digits, '-' and '_'")
    return given


def check_input(raw: Any) -> dict[str, Any]:
    """The input's settings, or InvalidRolloutInput naming the field (pure)."""
    if not isinstance(raw, dict):
        raise InvalidRolloutInput("input", f"must be a mapping, got {shown(raw)}")
    unknown = sorted(str(k) for k in set(raw) - set(INPUT_KEYS))
    if unknown:
        raise InvalidRolloutInput(unknown[0], f"unknown key (the input takes {', '.join(INPUT_KEYS)})")
    sources = [k for k in ("manifest", "organizationalUnitId") if k in raw]
    if len(sources) != 1:
        raise InvalidRolloutInput("manifest", "give exactly one of manifest {bucket, key} or organizationalUnitId")
    if "manifest" in raw:
        stray = [k for k in OU_KEYS if k in raw]
        if stray:
            raise InvalidRolloutInput(stray[0], "belongs in the manifest's lines (or with organizationalUnitId)")
        where = raw["manifest"]
        if not isinstance(where, dict) or set(where) != {"bucket", "key"}:
            raise InvalidRolloutInput("manifest", f"must be {{bucket, key}}, got {shown(where)}")
        if where["bucket"] != bucket():
            raise InvalidRolloutInput(
                "manifest.bucket",
                f"{shown(where['bucket'])}: the factory reads manifests only from its rollout bucket {bucket()}",
            )
        key = where["key"]
        if not isinstance(key, str) or not key.startswith(MANIFEST_KEY_PREFIX) or len(key) > 1024:
            raise InvalidRolloutInput("manifest.key", f"{shown(key)}: a manifest's key starts with manifests/")
    else:
        parent = raw["organizationalUnitId"]
        if not isinstance(parent, str) or not PARENT_RE.fullmatch(parent):
            raise InvalidRolloutInput(
                "organizationalUnitId", f"{shown(parent)} is not an OU (ou-...) or root (r-...) id"
            )
        regions = raw.get("regions")
        if not isinstance(regions, list) or not regions:
            raise InvalidRolloutInput("regions", "the Regions to build in, a non-empty list (e.g. [us-east-1])")
        if len([k for k in ("spec", "specKey", "specParameter") if k in raw]) != 1:
            raise InvalidRolloutInput("spec", "give exactly one of spec, specKey or specParameter")
    mode = raw.get("mode", "build")
    if mode not in MODES:
        raise InvalidRolloutInput("mode", f"{shown(mode)}: build or audit")
    return {
        "mode": mode,
        "maxConcurrency": _number(raw, "maxConcurrency", DEFAULT_MAX_CONCURRENCY, 1, MAX_CONCURRENCY, integer=True),
        "toleratedFailurePercentage": _number(raw, "toleratedFailurePercentage", 0, 0, 100, integer=False),
    }


# -- the manifest's lines -----------------------------------------------------------------------
def _ou_manifest(raw: dict[str, Any]) -> str:
    """The accounts of an OU (active ones, directly under it) as manifest lines, one per Region."""
    org = aws.client("organizations", own_account=True)
    accounts: list[dict[str, Any]] = []
    paginator = org.get_paginator("list_accounts_for_parent")
    pages = aws.call(
        "ListAccountsForParent", lambda **kw: list(paginator.paginate(**kw)), ParentId=raw["organizationalUnitId"]
    )
    for page in pages:
        accounts += [a for a in page.get("Accounts", []) if (a.get("State") or a.get("Status")) == "ACTIVE"]
    source = {k: raw[k] for k in ("spec", "specKey", "specParameter", "roleName") if k in raw}
    lines = [
        json.dumps({"accountId": account["Id"], "region": region, **source})
        for account in sorted(accounts, key=lambda a: a["Id"])
        for region in raw["regions"]
    ]
    if not lines:
        raise InvalidRolloutInput("organizationalUnitId", f"{raw['organizationalUnitId']} holds no active account")
    return "\n".join(lines)


def _read_manifest(raw: dict[str, Any]) -> str:
    s3 = aws.client("s3", own_account=True)
    key = raw["manifest"]["key"]
    found = aws.call("GetObject", s3.get_object, missing_ok=True, Bucket=bucket(), Key=key)
    if found is None:
        raise InvalidRolloutInput("manifest.key", f"s3://{bucket()}/{key} does not exist")
    body: bytes = found["Body"].read()
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidRolloutInput("manifest.key", f"s3://{bucket()}/{key} is not UTF-8 text") from None


class SpecSources:
    """Each spec an item names, read once (a fleet shares a few specs among many accounts)."""

    def __init__(self) -> None:
        self._read: dict[tuple[str, str], Any] = {}

    def load(self, item: dict[str, Any]) -> Any:
        """The item's spec (a mapping, unchecked), or InvalidSpec saying why it cannot be read."""
        if "spec" in item:
            return item["spec"]
        if "specKey" in item:
            return self._once(("specKey", item["specKey"]), self._from_s3)
        return self._once(("specParameter", item["specParameter"]), self._from_ssm)

    def _once(self, key: tuple[str, str], read: Any) -> Any:
        if key not in self._read:
            try:
                self._read[key] = read(key[1])
            except InvalidSpec as exc:
                self._read[key] = exc
        found = self._read[key]
        if isinstance(found, InvalidSpec):
            raise found
        return found

    @staticmethod
    def _json(text: str, field: str, where: str) -> Any:
        try:
            return json.loads(text)
        except ValueError as exc:
            raise InvalidSpec(field, f"{where} is not JSON ({exc}); a spec read by a rollout is JSON") from None

    def _from_s3(self, key: str) -> Any:
        s3 = aws.client("s3", own_account=True)
        found = aws.call("GetObject", s3.get_object, missing_ok=True, Bucket=bucket(), Key=key)
        if found is None:
            raise InvalidSpec("specKey", f"s3://{bucket()}/{key} does not exist")
        return self._json(found["Body"].read().decode("utf-8", "replace"), "specKey", f"s3://{bucket()}/{key}")

    def _from_ssm(self, name: str) -> Any:
        ssm = aws.client("ssm", own_account=True)
        found = aws.call("GetParameter", ssm.get_parameter, missing_ok=True, Name=name)
        if found is None:
            raise InvalidSpec("specParameter", f"the SSM parameter {name} does not exist")
        return self._json(found["Parameter"]["Value"], "specParameter", f"the SSM parameter {name}")


def build_items(
    lines: list[manifest.ManifestItem], rollout_id: str, default_role_name: str | None
) -> list[RolloutItem]:
    """Each manifest line as a map item: the build's input, or why the item is refused."""
    sources = SpecSources()
    items: list[RolloutItem] = []
    for line in lines:
        target_raw: dict[str, Any] = {"accountId": line["accountId"], "region": line["region"]}
        if line.get("roleName"):
            target_raw["roleName"] = line["roleName"]
        item: RolloutItem = {
            "accountId": line["accountId"],
            "region": line["region"],
            "line": line["line"],
            "executionName": manifest.execution_name(rollout_id, line["accountId"], line["region"]),
            "input": {"spec": {}, "target": target_raw},
        }
        try:
            spec_raw = sources.load(dict(line))
            parse_spec(spec_raw)  # the build validates again; this only spares it a doomed start
            target = aws.normalize_target(target_raw, default_role_name)
            assert target is not None  # an accountId is always given
            item["input"] = {"spec": spec_raw, "target": dict(target)}
        except InvalidSpec as exc:
            item["invalid"] = {"error": "InvalidSpec", "cause": f"line {line['line']}: {exc}"}
        items.append(item)
    return items


@lambda_handler
def handler(event: PrepareRolloutEvent, context: LambdaContext) -> PreparedRollout:
    raw = event["input"]
    settings = check_input(raw)
    rollout_id = _rollout_id(raw, event["execution"])
    text = _read_manifest(raw) if "manifest" in raw else _ou_manifest(raw)
    name = f"s3://{bucket()}/{raw['manifest']['key']}" if "manifest" in raw else raw["organizationalUnitId"]
    lines = manifest.parse_manifest(text, name=name)  # InvalidManifest, naming each bad line
    items = build_items(lines, rollout_id, event.get("defaultRoleName"))
    keys = rollout_keys(rollout_id, event["execution"])
    s3 = aws.client("s3", own_account=True)
    aws.call(
        "PutObject",
        s3.put_object,
        Bucket=bucket(),
        Key=keys["itemsKey"],
        Body=json.dumps(items).encode(),
        ContentType="application/json",
    )
    refused = sum(1 for item in items if "invalid" in item)
    logger.info("rollout prepared", extra={"rolloutId": rollout_id, "items": len(items), "refused": refused})
    return {
        "rolloutId": rollout_id,
        "mode": settings["mode"],
        "bucket": bucket(),
        **keys,  # type: ignore[typeddict-item]
        "count": len(items),
        "maxConcurrency": settings["maxConcurrency"],
        "toleratedFailurePercentage": settings["toleratedFailurePercentage"],
    }
