"""List prices the factory quotes (data/prices.json): one Region's on-demand rates, with the
date they were read. Pure: no AWS call. spec.py checks a NAT budget with them, plan.py prices a plan."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

PRICES_FILE = Path(__file__).resolve().parent / "data" / "prices.json"
# regional: one NAT gateway charged per zone it is active in, i.e. every planned zone (nat_modes.py)
NAT_MODE_COMPARISON = ("none", "single", "per-az", "regional")


@functools.cache
def _load_prices() -> dict[str, Any]:
    return json.loads(PRICES_FILE.read_text(encoding="utf-8"))


def prices() -> dict[str, Any]:
    """The price table (data/prices.json): asOf, source, region, currency, hoursPerMonth, hourly rates."""
    return dict(_load_prices())


def monthly_cost(nat_gateways: int, byo_eips: int = 0) -> dict[str, float]:
    """{natGateways, elasticIps, total} per month in USD; byo_eips of the NATs' addresses are not charged."""
    table = _load_prices()
    hours = table["hoursPerMonth"]
    nat = round(nat_gateways * table["natGatewayHourly"] * hours, 2)
    eip = round(max(0, nat_gateways - byo_eips) * table["publicIpv4Hourly"] * hours, 2)
    return {"natGateways": nat, "elasticIps": eip, "total": round(nat + eip, 2)}


def nat_hours_for_mode(mode: str, zones: int, count: int | None = None) -> int:
    """How many NAT gateway hours an hour of this NAT mode costs: a regional NAT gateway is billed
    for each zone it is active in (it expands into every zone with subnets: nat_modes.py)."""
    if mode == "count":
        return count or 0
    return {"none": 0, "single": 1, "per-az": zones, "regional": zones}[mode]
