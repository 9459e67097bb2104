"""The spec and plan side of interface VPC endpoints (issue 14): parse `interfaceEndpoints`, plan
them, price them. Pure (no AWS call) and importing only errors and contract types, so spec.py and
plan.py can use it without a cycle (aws.py imports spec.py). The build, wait, verify, growth and
teardown side, and the AWS facts with their sources, are in interface_endpoints.py.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from vpcfactory.errors import InvalidSpec

if TYPE_CHECKING:
    from vpcfactory.contracts import NamedResource, Plan, PlannedInterfaceEndpoint, PlannedSubnet

FIELD = "interfaceEndpoints"
KEYS = ("services", "tier")
# A service key as AWS names it after com.amazonaws.<region>.: ssm, ecr.api, execute-api, sagemaker.runtime
SERVICE_RE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?){0,3}$")
MAX_SERVICES = 50  # a VPC's default quota of interface endpoints (Amazon VPC quotas)
SECURITY_GROUP_ID = "sg/endpoints"
HTTPS = 443
# States an endpoint does not leave by itself. `partial`: created in some of its subnets only (the
# botocore State enum lists it; LastError says why).
BROKEN_STATES = ("failed", "rejected", "expired", "partial")


@dataclass(frozen=True)
class InterfaceEndpoints:
    services: tuple[str, ...]
    tier: str  # the tier whose subnets hold the endpoints

    def to_dict(self) -> dict[str, Any]:
        return {"services": list(self.services), "tier": self.tier}


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 64 else f"{text[:64]}…"


def parse(value: Any, tiers: list[tuple[str, str]], gateway_services: tuple[str, ...]) -> InterfaceEndpoints | None:
    """The spec's `interfaceEndpoints` (None when absent, null or an empty list). `tiers`: (name,
    type) of every tier in spec order; `gateway_services`: the gateway endpoints the spec keeps on."""
    if value is None:
        return None
    at_services, tier_name = FIELD, None
    if isinstance(value, Mapping):
        for key in value:
            if key not in KEYS:
                raise InvalidSpec(f"{FIELD}.{key}", f"unknown field; expected one of {', '.join(KEYS)}")
        at_services = f"{FIELD}.services"
        services = value.get("services")
        if services is None:
            raise InvalidSpec(at_services, "required: a list of service names like ssm, ecr.api")
        tier_name = value.get("tier")
    elif isinstance(value, list):
        services = value
    else:
        raise InvalidSpec(
            FIELD, f"must be a list of services like [ssm, ecr.api] or {{services, tier}}, got {_shown(value)}"
        )
    if not isinstance(services, list):
        raise InvalidSpec(at_services, f"must be a list of service names, got {_shown(services)}")
    if not services:
        return None
    if len(services) > MAX_SERVICES:
        raise InvalidSpec(at_services, f"{len(services)} services: at most {MAX_SERVICES} (a VPC's endpoint quota)")
    seen: list[str] = []
    for k, service in enumerate(services):
        where = f"{at_services}[{k}]"
        if not isinstance(service, str):
            raise InvalidSpec(where, f"must be a string, got {_shown(service)}")
        if service.startswith(("com.amazonaws.", "cn.com.amazonaws.", "aws.")):
            raise InvalidSpec(
                where,
                f"{_shown(service)}: give the short name (ssm, ecr.api); the Region's full name is read from "
                "DescribeVpcEndpointServices at build time",
            )
        if not SERVICE_RE.fullmatch(service):
            raise InvalidSpec(where, f"{_shown(service)} is not a service name like ssm, ecr.api, execute-api")
        if service in seen:
            raise InvalidSpec(where, f"{_shown(service)} is listed twice")
        if service in gateway_services:
            raise InvalidSpec(
                where,
                f"{service} already has a gateway endpoint (gatewayEndpoints.{service}, free): turn that off to "
                "use an interface endpoint instead",
            )
        seen.append(service)
    types = dict(tiers)
    if tier_name is None:
        hosts = [name for name, type_ in tiers if type_ == "private"] or [
            name for name, type_ in tiers if type_ == "isolated"
        ]
        if not hosts:
            raise InvalidSpec(
                FIELD, "interface endpoints live in a private or isolated tier, and the spec has none: add one"
            )
        tier_name = hosts[0]
    else:
        at_tier = f"{FIELD}.tier"
        if not isinstance(tier_name, str):
            raise InvalidSpec(at_tier, f"must be a tier name, got {_shown(tier_name)}")
        if tier_name not in types:
            raise InvalidSpec(at_tier, f"{_shown(tier_name)} is not a tier of this spec ({', '.join(types)})")
        if types[tier_name] == "public":
            raise InvalidSpec(at_tier, f"{tier_name} is a public tier: give a private or isolated tier")
    return InterfaceEndpoints(services=tuple(seen), tier=tier_name)


# -- plan (pure) ---------------------------------------------------------------------------------


def plan_entries(
    spec_name: str, endpoints: InterfaceEndpoints | None, subnets: list[PlannedSubnet]
) -> tuple[list[PlannedInterfaceEndpoint], NamedResource | None]:
    """plan["interfaceEndpoints"] and plan["endpointSecurityGroup"]: every zone's subnet of the
    tier; the build keeps those in zones the service is offered in."""
    if endpoints is None:
        return [], None
    tier_subnets = [s["logicalId"] for s in subnets if s["tier"] == endpoints.tier]
    planned: list[PlannedInterfaceEndpoint] = [
        {
            "logicalId": f"vpce/{service}",
            "service": service,
            "name": f"{spec_name}-{service.replace('.', '-')}",
            "tier": endpoints.tier,
            "subnets": tier_subnets,
        }
        for service in endpoints.services
    ]
    return planned, {"logicalId": SECURITY_GROUP_ID, "name": f"{spec_name}-endpoints"}


def hourly_cost(plan: Plan, prices: Mapping[str, Any]) -> dict[str, Any]:
    """{perAzHour, endpointAzs, hourly, monthly} for the plan's interface endpoints, every planned
    zone counted (the build may leave out a zone a service is not offered in: then it costs less)."""
    planned = plan.get("interfaceEndpoints") or []
    rate = float(prices.get("interfaceEndpointAzHourly", 0.0))
    azs = sum(len(e["subnets"]) for e in planned)
    hourly = round(azs * rate, 4)
    return {
        "perAzHour": rate,
        "endpointAzs": azs,
        "hourly": hourly,
        "monthly": round(hourly * float(prices.get("hoursPerMonth", 730)), 2),
    }
