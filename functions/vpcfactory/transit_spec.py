"""The spec side of the transit gateway attachment (transit.py has the rest): the spec's
`transitGateway` as parsed (spec.py parses it), the checks of its destinations, and where the
attachment's /28s go. Pure: no AWS call, and no import of spec.py or aws.py (spec.py imports this).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Any

from vpcfactory.errors import InvalidSpec

KEYS = ("id", "routes", "associateRouteTableId", "propagateRouteTableIds")
TGW_ID_RE = re.compile(r"^tgw-(?:[0-9a-f]{8}|[0-9a-f]{17})$")
TGW_ROUTE_TABLE_RE = re.compile(r"^tgw-rtb-(?:[0-9a-f]{8}|[0-9a-f]{17})$")
PREFIX_LIST_RE = re.compile(r"^pl-(?:[0-9a-f]{8}|[0-9a-f]{17})$")
# Routes per route table: 50 by default (Amazon VPC quotas), shared with the local, default and
# gateway endpoint routes; a prefix list counts as its max entries. 20 leaves room for those.
MAX_ROUTES = 20
MAX_PROPAGATIONS = 20

TIER = "tgw"  # the attachment subnets' tier: a reserved tier name (spec.py)
SUBNET_PREFIX = 28  # the smallest subnet AWS allows; one interface per zone needs no more


@dataclass(frozen=True)
class TransitGateway:
    """The spec's `transitGateway`: attach the VPC to this gateway and route `routes` to it."""

    id: str
    routes: tuple[str, ...] = ()  # IPv4 CIDRs and prefix list ids (pl-...)
    associate_route_table_id: str | None = None
    propagate_route_table_ids: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "routes": list(self.routes),
            "associateRouteTableId": self.associate_route_table_id,
            "propagateRouteTableIds": list(self.propagate_route_table_ids),
        }


def check_not_in_vpc(net: ipaddress.IPv4Network, vpc_cidr: str, where: str) -> None:
    """A destination inside the VPC's block (or the block itself) would compete with the VPC's
    local route; 0.0.0.0/0 is the private tiers' route to their NAT gateway. A block that contains
    the VPC's (10.0.0.0/8 for a 10.40.0.0/16 VPC, the usual hub-and-spoke route) is fine: the local
    route is more specific and wins (Amazon VPC User Guide, "How route priority works": longest
    prefix match)."""
    vpc = ipaddress.IPv4Network(vpc_cidr)
    if net.prefixlen == 0:
        raise InvalidSpec(
            where, "0.0.0.0/0 is the private tiers' route to their NAT gateway: name the networks behind the gateway"
        )
    if net.subnet_of(vpc):
        raise InvalidSpec(
            where, f"{net} is inside the VPC's own block {vpc}: the gateway's destinations must be outside it"
        )


def attachment_cidrs(vpc_cidr: str, reservation: int) -> list[ipaddress.IPv4Network]:
    """The attachment subnets' block: `reservation` /28s ending at the VPC's last address, slot k
    for zone k. Relative to the VPC's top, so it never moves when tiers or zones are added."""
    vpc = ipaddress.IPv4Network(vpc_cidr)
    size = 2 ** (32 - SUBNET_PREFIX)
    start = int(vpc.broadcast_address) + 1 - reservation * size  # a multiple of 16: the VPC is /28 or larger
    if start < int(vpc.network_address):
        raise InvalidSpec(
            "transitGateway",
            f"the attachment needs {reservation} x /{SUBNET_PREFIX} (azReservation {reservation}) at the top of "
            f"the VPC, more than {vpc} holds",
        )
    return [ipaddress.IPv4Network((start + k * size, SUBNET_PREFIX)) for k in range(reservation)]


def attachment_block(vpc_cidr: str, reservation: int) -> tuple[int, int]:
    """[start, end) of the attachment subnets' block, for spec.allocate's overlap checks."""
    cidrs = attachment_cidrs(vpc_cidr, reservation)
    return int(cidrs[0].network_address), int(cidrs[-1].broadcast_address) + 1
