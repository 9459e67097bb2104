"""The specs the cases build: every example in examples/, a spec under a name of its own, and the
varied specs of the concurrency run."""

from __future__ import annotations

import uuid
from typing import Any

import yaml

from vpcfactory.spec import parse_spec
from vpcfactory_tools.emulator.deploy import PROJECT_ROOT

EXAMPLES = PROJECT_ROOT / "examples"


def examples() -> dict[str, dict[str, Any]]:
    """Every example spec in examples/ (files that hold a valid spec; not the CloudFormation
    template that shows the custom resource), by file stem."""
    found = {}
    for path in sorted(EXAMPLES.glob("*.yaml")):
        try:
            doc = yaml.safe_load(path.read_text())
            parse_spec(doc)
        except Exception:  # not a spec: the custom-resource template, or anything else
            continue
        found[path.stem] = doc
    return found


def unique(spec: dict[str, Any]) -> dict[str, Any]:
    """The spec under a name of its own (a name is a network's identity: reusing one grows it)."""
    return {**spec, "name": f"{spec['name'][:20]}-{uuid.uuid4().hex[:8]}"}


def concurrency_specs(count: int = 20) -> list[dict[str, Any]]:
    """``count`` different specs: own names and CIDRs, 1-3 zones, NAT none/single/per-az, varied tiers."""
    modes = ("single", "per-az", "none")
    specs = []
    for i in range(count):
        zones, mode = 1 + i % 3, modes[(i // 3) % 3]
        tiers: list[dict[str, Any]] = [{"name": "web", "type": "public", "prefixLength": 24 + i % 3}]
        if mode != "none":
            tiers.append({"name": "app", "type": "private", "prefixLength": 20 + i % 4, "tags": {"Tier": "app"}})
        if i % 2 == 0:
            tiers.append({"name": "data", "type": "isolated", "prefixLength": 26})
        spec = {
            "name": f"fleet-{i:02d}-{uuid.uuid4().hex[:6]}",
            "cidr": f"10.{100 + i}.0.0/16",
            "availabilityZones": zones,
            "natGateways": mode,
            "tiers": tiers,
            "tags": {"Team": f"team-{i % 5}"},
        }
        parse_spec(spec)  # every one must be a valid spec
        specs.append(spec)
    return specs
