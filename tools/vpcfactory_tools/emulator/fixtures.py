"""Fixtures: the resources a spec names but does not build, made in the embedded emulator for one run.

A spec can name things the factory uses and never creates: an IPAM pool (`cidr.ipamPoolId`), a
transit gateway (`transitGateway.id`). In an AWS account they exist before the build; the embedded
emulator starts empty on every run, and its ids are random, so an example such as
examples/connected.yaml could never run there. `vpcfactory apply` on the embedded emulator therefore
calls provide(): every string of the input that fully matches a registered pattern is taken as a
placeholder, the fixture creates a real resource for it in the emulator, and every occurrence of the
placeholder is replaced by the new id (one resource per distinct placeholder). What was created is
printed on stderr. Never used against a target (--endpoint-url, --stack): there the ids must exist.

The API, for each feature's fixture:

    fixtures.register(r"^ipam-pool-[0-9a-f]{8,17}$", "IPAM pool", create)

where ``create(client, placeholder) -> (new_id, description)``; ``client(service)`` returns a boto3
client of the emulator (EmbeddedEmulator.client). Registration order is the order fixtures run in.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Client = Callable[[str], Any]
Create = Callable[[Client, str], tuple[str, str]]


@dataclass(frozen=True)
class Fixture:
    pattern: re.Pattern[str]
    label: str
    create: Create


_FIXTURES: list[Fixture] = []


def register(pattern: str, label: str, create: Create) -> None:
    """Add a fixture: strings of the input that fully match `pattern` are placeholders for it."""
    _FIXTURES.append(Fixture(re.compile(pattern), label, create))


def _strings(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for value in node.values() for s in _strings(value)]
    if isinstance(node, list):
        return [s for value in node for s in _strings(value)]
    return []


def _replace(node: Any, ids: dict[str, str]) -> Any:
    if isinstance(node, str):
        return ids.get(node, node)
    if isinstance(node, dict):
        return {key: _replace(value, ids) for key, value in node.items()}
    if isinstance(node, list):
        return [_replace(value, ids) for value in node]
    return node


def provide(client: Client, payload: Any) -> tuple[Any, list[str]]:
    """(the payload with every placeholder replaced by the id of the resource made for it, one line
    per resource made). Pure except for the creates; the payload itself is not changed."""
    ids: dict[str, str] = {}
    made: list[str] = []
    for fixture in _FIXTURES:
        for text in dict.fromkeys(_strings(payload)):  # distinct, in order
            if text not in ids and fixture.pattern.fullmatch(text):
                new_id, description = fixture.create(client, text)
                ids[text] = new_id
                made.append(f"fixture: {fixture.label} {new_id} ({description}) stands for {text}")
    return _replace(payload, ids), made


# -- IPAM (functions/vpcfactory/ipam.py) ---------------------------------------------------------

IPAM_POOL_CIDR = "10.0.0.0/8"  # room for 4,096 /20s: any example's VPCs


def _ipam_pool(client: Client, placeholder: str) -> tuple[str, str]:
    """An IPAM with a private pool in this Region, allocations /16 to /28 (what CreateVpc accepts)."""
    ec2 = client("ec2")
    region = ec2.meta.region_name
    scope = ec2.create_ipam(OperatingRegions=[{"RegionName": region}], Description="vpcfactory fixture")["Ipam"][
        "PrivateDefaultScopeId"
    ]
    pool = ec2.create_ipam_pool(
        IpamScopeId=scope,
        AddressFamily="ipv4",
        Locale=region,
        AllocationMinNetmaskLength=16,
        AllocationMaxNetmaskLength=28,
        Description=f"vpcfactory fixture for {placeholder}",
    )["IpamPool"]["IpamPoolId"]
    ec2.provision_ipam_pool_cidr(IpamPoolId=pool, Cidr=IPAM_POOL_CIDR)
    return str(pool), f"{IPAM_POOL_CIDR}, private scope, {region}"


register(r"^ipam-pool-[0-9a-f]{8,17}$", "IPAM pool", _ipam_pool)


# -- transit gateway (functions/vpcfactory/transit.py) -------------------------------------------


_GATEWAYS: list[str] = []  # the gateways made so far: a route table placeholder goes in the last one


def _transit_gateway(client: Client, placeholder: str) -> tuple[str, str]:
    """A transit gateway of this account with AWS's default options: default route table
    association and propagation on, shared attachments not auto-accepted."""
    ec2 = client("ec2")
    tgw = ec2.create_transit_gateway(
        Description=f"vpcfactory fixture for {placeholder}",
        Options={"DefaultRouteTableAssociation": "enable", "DefaultRouteTablePropagation": "enable"},
    )["TransitGateway"]
    _GATEWAYS.append(str(tgw["TransitGatewayId"]))
    return _GATEWAYS[-1], "this account's, default route table association and propagation on"


def _transit_gateway_route_table(client: Client, placeholder: str) -> tuple[str, str]:
    """A route table (besides the default one) of the gateway made last (registered after it, so
    made after it), or of a new gateway."""
    tgw_id = _GATEWAYS[-1] if _GATEWAYS else _transit_gateway(client, placeholder)[0]
    table = client("ec2").create_transit_gateway_route_table(TransitGatewayId=tgw_id)["TransitGatewayRouteTable"]
    return str(table["TransitGatewayRouteTableId"]), f"a route table of {tgw_id}"


def _prefix_list(client: Client, placeholder: str) -> tuple[str, str]:
    """A customer-managed prefix list (the networks behind the gateway a route may name)."""
    entries = [{"Cidr": "172.16.0.0/12", "Description": "fixture"}, {"Cidr": "192.168.0.0/16"}]
    prefix_list = client("ec2").create_managed_prefix_list(
        PrefixListName=f"vpcfactory-fixture-{placeholder}", Entries=entries, MaxEntries=5, AddressFamily="IPv4"
    )["PrefixList"]
    return str(prefix_list["PrefixListId"]), "172.16.0.0/12, 192.168.0.0/16"


# tgw-<hex> only: a route table id (tgw-rtb-...) is not a gateway placeholder.
register(r"^tgw-[0-9a-f]{8,17}$", "transit gateway", _transit_gateway)
register(r"^tgw-rtb-[0-9a-f]{8,17}$", "transit gateway route table", _transit_gateway_route_table)
register(r"^pl-[0-9a-f]{8,17}$", "prefix list", _prefix_list)
