"""What is built and compared: the scenarios' specs (from examples/), the growth grid's tiers, and
the seed post's script the factory is measured against."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

from bench.common import ROOT, BenchError

EXAMPLES = ROOT / "examples"
SEED_BASELINE_ENV = "VPCFACTORY_SEED_BASELINE"

GROWTH_TIERS: tuple[dict[str, Any], ...] = (
    {"name": "public", "type": "public", "prefixLength": 24},
    {"name": "private", "type": "private", "prefixLength": 20},
    {"name": "database", "type": "isolated", "prefixLength": 24},
    {"name": "batch", "type": "private", "prefixLength": 22},
    {"name": "cache", "type": "isolated", "prefixLength": 24},
)


def load_example(name: str) -> dict[str, Any]:
    return yaml.safe_load((EXAMPLES / name).read_text())


def seed_spec() -> dict[str, Any]:
    """examples/seed.yaml: the seed post's network as a spec."""
    return load_example("seed.yaml")


def ha_spec(azs: int) -> dict[str, Any]:
    """examples/everything.yaml (every production feature) with a NAT gateway per AZ."""
    spec = load_example("everything.yaml")
    return {**spec, "name": f"ha{azs}", "availabilityZones": azs, "natGateways": "per-az"}


def growth_spec(azs: int, tiers: int) -> dict[str, Any]:
    """examples/production.yaml (NAT per AZ, default features) with ``azs`` zones and ``tiers`` tiers.
    One tier is the public tier alone: no tier would route through a NAT, so it has none (a spec
    asking for NATs there is refused)."""
    spec = load_example("production.yaml")
    chosen = list(GROWTH_TIERS[:tiers])
    nat = spec.get("natGateways") if any(t["type"] == "private" for t in chosen) else "none"
    return {**spec, "name": f"g{azs}az{tiers}t", "availabilityZones": azs, "tiers": chosen, "natGateways": nat}


def seed_minimal_spec() -> dict[str, Any]:
    """examples/seed.yaml with only what the seed script builds: no flow logs, gateway endpoints or
    default-SG lockdown (a like-for-like count of EC2 calls)."""
    return {
        **seed_spec(),
        "name": "seed-minimal",
        "flowLogs": False,
        "gatewayEndpoints": False,
        "lockDownDefaultSecurityGroup": False,
    }


SCENARIOS: dict[str, Callable[[], dict[str, Any]]] = {
    "seed": seed_spec,
    "seedMinimal": seed_minimal_spec,
    "ha3": lambda: ha_spec(3),
    "ha6": lambda: ha_spec(6),
}


SCENARIO_ORDER = ("seed", "seedMinimal", "seedScript", "ha3", "ha6")


def load_seed_baseline(path: Path | None = None) -> ModuleType:
    """The seed post's script (``build_seed_vpc(ec2)``), from ``path`` (``--seed-baseline``; make
    bench passes ``$(SEED_BASELINE)``), else $VPCFACTORY_SEED_BASELINE. There is no default: the
    script lives outside this repository."""
    given = path or os.environ.get(SEED_BASELINE_ENV)
    if not given:
        raise BenchError(
            f"no seed script given: pass --seed-baseline PATH (make bench SEED_BASELINE=PATH) "
            f"or set {SEED_BASELINE_ENV} to seed_baseline.py"
        )
    path = Path(given)
    if not path.is_file():
        raise BenchError(
            f"the seed script is not at {path}; pass --seed-baseline PATH (make bench SEED_BASELINE=PATH) "
            f"or set {SEED_BASELINE_ENV} to seed_baseline.py"
        )
    module_spec = importlib.util.spec_from_file_location("seed_baseline", path)
    assert module_spec is not None and module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    if not callable(getattr(module, "build_seed_vpc", None)):
        raise BenchError(f"{path} has no build_seed_vpc(ec2)")
    return module
