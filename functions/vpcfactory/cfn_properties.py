"""CloudFormation passes every custom-resource property value as a string ("3", "true").
Turn the spec's numbers and booleans back into what the spec validator expects."""

from __future__ import annotations

from typing import Any

INT_KEYS = frozenset(
    {
        "availabilityZones",
        "natGateways",
        "count",
        "prefixLength",
        "azReservation",
        "retentionDays",
        "maxAggregationInterval",
    }
)
BOOL_KEYS = frozenset(
    {
        "ipv6",
        "mapPublicIpOnLaunch",
        "assignIpv6AddressOnCreation",
        "lockDownDefaultSecurityGroup",
        "s3",
        "dynamodb",
        "flowLogs",
        "gatewayEndpoints",
    }
)
NOT_UNDER = frozenset({"tags"})  # tag values stay strings whatever they look like


def coerce_spec(value: Any, key: str | None = None) -> Any:
    if isinstance(value, dict):
        return {k: (v if k in NOT_UNDER else coerce_spec(v, k)) for k, v in value.items()}
    if isinstance(value, list):
        return [coerce_spec(v, key) for v in value]
    if isinstance(value, str):
        if key in INT_KEYS and value.strip().isdigit():
            return int(value)
        if key in BOOL_KEYS and value.lower() in ("true", "false"):
            return value.lower() == "true"
    return value
