"""The spec (DESIGN.md "Spec"): parse and validate it, with no AWS call.

Every rejection is an `InvalidSpec(field, reason)` whose field is a precise path into the input
(`tiers[1].prefixLength`, `tags.aws:foo`, `natGateways.eipAllocationIds[0]`), so the person who
wrote the spec can find the line. parse_spec also lays the CIDRs out (plan.allocate): an
address plan that cannot work is rejected here, before the workflow calls DescribeAvailabilityZones.
Only the checks that need the region's zones are left to plan.plan_network.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from vpcfactory.errors import InvalidSpec
from vpcfactory.plan import allocate

NAME_RE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$")
TIER_NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,19}$")
ZONE_NAME_RE = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+[a-z]$")  # us-east-1a, us-gov-west-1b
ZONE_ID_RE = re.compile(r"^[a-z]+\d+-az\d+$")  # use1-az1, usgw1-az2
EIP_ALLOCATION_RE = re.compile(r"^eipalloc-[0-9a-f]{8,17}$")

TIER_TYPES = ("public", "private", "isolated")
NAT_MODES = ("none", "single", "per-az")
MIN_PREFIX, MAX_PREFIX = 16, 28  # what CreateVpc and CreateSubnet accept
MAX_AZS = 6  # the most availability zones any region has
MAX_TIERS = 8
MAX_AZ_RESERVATION = 16
# EC2 allows 50 tags per resource; we add Name, three ownership tags and vpcfactory:tier.
MAX_USER_TAGS = 40
RESERVED_TAG_PREFIXES = ("aws:", "vpcfactory:")

SPEC_KEYS = ("name", "cidr", "availabilityZones", "natGateways", "tiers", "azReservation", "tags")
TIER_KEYS = ("name", "type", "prefixLength", "cidrs", "tags", "mapPublicIpOnLaunch")
NAT_KEYS = ("mode", "eipAllocationIds")
WRAPPER_KEYS = ("spec", "target")


@dataclass(frozen=True)
class Tier:
    name: str
    type: str  # public | private | isolated
    prefix_length: int | None = None  # exactly one of prefix_length and cidrs is set
    cidrs: tuple[str, ...] | None = None
    tags: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}), hash=False)
    map_public_ip_on_launch: bool = False

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "type": self.type}
        if self.cidrs is not None:
            out["cidrs"] = list(self.cidrs)
        else:
            out["prefixLength"] = self.prefix_length
        out["mapPublicIpOnLaunch"] = self.map_public_ip_on_launch
        out["tags"] = dict(self.tags)
        return out


@dataclass(frozen=True)
class Spec:
    name: str
    cidr: str
    availability_zones: int | tuple[str, ...]  # a count, or zone names, or zone IDs
    tiers: tuple[Tier, ...]
    nat_mode: str  # none | single | per-az
    az_reservation: int  # already defaulted: 4 up to 4 AZs, else 6
    eip_allocation_ids: tuple[str, ...] = ()  # bring-your-own EIPs, one per NAT, in AZ order
    tags: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}), hash=False)

    @property
    def az_count(self) -> int:
        azs = self.availability_zones
        return azs if isinstance(azs, int) else len(azs)

    @property
    def has_public_tier(self) -> bool:
        return any(t.type == "public" for t in self.tiers)

    def to_dict(self) -> dict[str, Any]:
        """The normalized, JSON-able spec: defaults filled in; parse_spec(to_dict()) == self."""
        azs = self.availability_zones
        return {
            "name": self.name,
            "cidr": self.cidr,
            "availabilityZones": azs if isinstance(azs, int) else list(azs),
            "azReservation": self.az_reservation,
            "natGateways": {"mode": self.nat_mode, "eipAllocationIds": list(self.eip_allocation_ids)},
            "tiers": [t.to_dict() for t in self.tiers],
            "tags": dict(self.tags),
        }


def split_input(raw: Any) -> tuple[Any, dict[str, Any] | None]:
    """(spec, target) from an execution input that is either the spec or {"spec": ..., "target": ...}.

    A spec never has a `spec` key (it would be an unknown field), so the two forms cannot be confused.
    """
    if not isinstance(raw, Mapping) or "spec" not in raw:
        return raw, None
    _reject_unknown(raw, WRAPPER_KEYS, "")
    target = raw.get("target")
    if target is not None and not isinstance(target, Mapping):
        raise InvalidSpec("target", f"must be a mapping, got {_kind(target)}")
    return raw["spec"], dict(target) if target is not None else None


def parse_spec(raw: Any) -> Spec:
    """Validate a spec (or a {"spec", "target"} wrapper) and return it normalized. Raises InvalidSpec."""
    raw, _target = split_input(raw)
    if not isinstance(raw, Mapping):
        raise InvalidSpec("spec", f"must be a mapping, got {_kind(raw)}")
    _reject_unknown(raw, SPEC_KEYS, "")

    name = _required_str(raw, "name", "name")
    if not NAME_RE.match(name):
        raise InvalidSpec(
            "name", f"{name!r}: use 1-32 lowercase letters, digits and '-', not starting or ending with '-'"
        )
    vpc = _network(_required_str(raw, "cidr", "cidr"), "cidr")
    azs = _availability_zones(raw.get("availabilityZones"))
    az_count = azs if isinstance(azs, int) else len(azs)
    tags = _tags(raw.get("tags"), "tags")
    tiers = _tiers(raw.get("tiers"), vpc, az_count, tags)
    nat_mode, eips = _nat_gateways(raw.get("natGateways"), tiers, az_count)
    reservation = _az_reservation(raw.get("azReservation"), az_count)

    spec = Spec(
        name=name,
        cidr=str(vpc),
        availability_zones=azs,
        tiers=tiers,
        nat_mode=nat_mode,
        az_reservation=reservation,
        eip_allocation_ids=eips,
        tags=MappingProxyType(tags),
    )
    allocate(spec)  # raises InvalidSpec if the tiers do not fit or explicit CIDRs collide
    return spec


# -- sections ---------------------------------------------------------------------------------


def _availability_zones(value: Any) -> int | tuple[str, ...]:
    field_ = "availabilityZones"
    if value is None:
        raise InvalidSpec(field_, "required: a count (1-6) or a list of zone names or zone IDs")
    if _is_int(value):
        if not 1 <= value <= MAX_AZS:
            raise InvalidSpec(field_, f"{value} is out of range: a count must be 1 to {MAX_AZS}")
        return value
    if not isinstance(value, list):
        raise InvalidSpec(field_, f"must be a count or a list of zone names or zone IDs, got {_kind(value)}")
    if not 1 <= len(value) <= MAX_AZS:
        raise InvalidSpec(field_, f"a list must name 1 to {MAX_AZS} zones, got {len(value)}")
    kinds = set()
    for k, zone in enumerate(value):
        if not isinstance(zone, str):
            raise InvalidSpec(f"{field_}[{k}]", f"must be a string, got {_kind(zone)}")
        if ZONE_NAME_RE.match(zone):
            kinds.add("zone names")
        elif ZONE_ID_RE.match(zone):
            kinds.add("zone IDs")
        else:
            raise InvalidSpec(
                f"{field_}[{k}]", f"{zone!r} is neither a zone name (us-east-1a) nor a zone ID (use1-az1)"
            )
        if zone in value[:k]:
            raise InvalidSpec(f"{field_}[{k}]", f"{zone!r} is listed twice")
    if len(kinds) > 1:
        raise InvalidSpec(field_, "mixes zone names and zone IDs: use one or the other")
    return tuple(value)


def _tiers(
    value: Any, vpc: ipaddress.IPv4Network, az_count: int, spec_tags: dict[str, str]
) -> tuple[Tier, ...]:
    if value is None:
        raise InvalidSpec("tiers", "required: a list of 1 to 8 tiers")
    if not isinstance(value, list):
        raise InvalidSpec("tiers", f"must be a list, got {_kind(value)}")
    if not 1 <= len(value) <= MAX_TIERS:
        raise InvalidSpec("tiers", f"needs 1 to {MAX_TIERS} tiers, got {len(value)}")
    tiers: list[Tier] = []
    for i, raw in enumerate(value):
        tier = _tier(raw, f"tiers[{i}]", vpc, az_count, spec_tags)
        if any(t.name == tier.name for t in tiers):
            raise InvalidSpec(
                f"tiers[{i}].name", f"{tier.name!r} is used by an earlier tier: names must be unique"
            )
        tiers.append(tier)
    return tuple(tiers)


def _tier(raw: Any, at: str, vpc: ipaddress.IPv4Network, az_count: int, spec_tags: dict[str, str]) -> Tier:
    if not isinstance(raw, Mapping):
        raise InvalidSpec(at, f"must be a mapping, got {_kind(raw)}")
    _reject_unknown(raw, TIER_KEYS, at)
    name = _required_str(raw, "name", f"{at}.name")
    if not TIER_NAME_RE.match(name):
        raise InvalidSpec(
            f"{at}.name", f"{name!r}: use a lowercase letter, then up to 19 letters, digits or '-'"
        )
    type_ = _required_str(raw, "type", f"{at}.type")
    if type_ not in TIER_TYPES:
        raise InvalidSpec(f"{at}.type", f"{type_!r} is not one of {', '.join(TIER_TYPES)}")

    prefix, cidrs = raw.get("prefixLength"), raw.get("cidrs")
    if prefix is not None and cidrs is not None:
        raise InvalidSpec(f"{at}.cidrs", "give either prefixLength or cidrs, not both")
    if prefix is None and cidrs is None:
        raise InvalidSpec(f"{at}.prefixLength", "required unless the tier lists explicit cidrs")
    if prefix is not None:
        if not _is_int(prefix):
            raise InvalidSpec(f"{at}.prefixLength", f"must be an integer, got {_kind(prefix)}")
        if not MIN_PREFIX <= prefix <= MAX_PREFIX:
            raise InvalidSpec(f"{at}.prefixLength", f"/{prefix} is out of range: AWS subnets are /16 to /28")
        if prefix < vpc.prefixlen:
            raise InvalidSpec(f"{at}.prefixLength", f"/{prefix} is larger than the VPC itself ({vpc})")
    else:
        cidrs = _explicit_cidrs(cidrs, f"{at}.cidrs", vpc, az_count)

    tags = _tags(raw.get("tags"), f"{at}.tags")
    if len({**spec_tags, **tags}) > MAX_USER_TAGS:
        raise InvalidSpec(
            f"{at}.tags",
            f"with the spec's tags this tier's resources would carry more than "
            f"{MAX_USER_TAGS} user tags (EC2 allows 50 and the factory adds its own)",
        )

    map_public = raw.get("mapPublicIpOnLaunch", False)
    if map_public is None:
        map_public = False
    if not isinstance(map_public, bool):
        raise InvalidSpec(f"{at}.mapPublicIpOnLaunch", f"must be true or false, got {_kind(map_public)}")
    if map_public and type_ != "public":
        raise InvalidSpec(
            f"{at}.mapPublicIpOnLaunch", f"only a public tier may assign public IPs, this one is {type_}"
        )

    return Tier(
        name=name,
        type=type_,
        prefix_length=prefix,
        cidrs=cidrs,
        tags=MappingProxyType(tags),
        map_public_ip_on_launch=map_public,
    )


def _explicit_cidrs(value: Any, at: str, vpc: ipaddress.IPv4Network, az_count: int) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise InvalidSpec(at, f"must be a list of CIDRs, one per availability zone, got {_kind(value)}")
    if len(value) != az_count:
        raise InvalidSpec(
            at,
            f"lists {len(value)} CIDRs but the spec asks for {az_count} availability zones "
            "(one CIDR per zone, in zone order)",
        )
    out: list[str] = []
    for k, item in enumerate(value):
        if not isinstance(item, str):
            raise InvalidSpec(f"{at}[{k}]", f"must be a CIDR string, got {_kind(item)}")
        net = _network(item, f"{at}[{k}]")
        if not net.subnet_of(vpc):
            raise InvalidSpec(f"{at}[{k}]", f"{net} is outside the VPC's {vpc}")
        out.append(str(net))
    return tuple(out)


def _nat_gateways(value: Any, tiers: tuple[Tier, ...], az_count: int) -> tuple[str, tuple[str, ...]]:
    has_public = any(t.type == "public" for t in tiers)
    default = "single" if has_public else "none"
    eips: list[Any] = []
    mode: Any
    if value is None or isinstance(value, str):
        mode = value
    elif isinstance(value, Mapping):
        _reject_unknown(value, NAT_KEYS, "natGateways")
        mode = value.get("mode")
        eips = value.get("eipAllocationIds") or []
        if not isinstance(eips, list):
            raise InvalidSpec("natGateways.eipAllocationIds", f"must be a list, got {_kind(eips)}")
    else:
        raise InvalidSpec(
            "natGateways", f"must be one of {', '.join(NAT_MODES)} or a mapping, got {_kind(value)}"
        )

    mode_field = "natGateways.mode" if isinstance(value, Mapping) else "natGateways"
    if mode is None:
        mode = default
    if not isinstance(mode, str) or mode not in NAT_MODES:
        raise InvalidSpec(mode_field, f"{mode!r} is not one of {', '.join(NAT_MODES)}")
    if mode != "none" and not has_public:
        raise InvalidSpec(
            "natGateways", f"{mode!r} needs a public tier to hold the NAT gateways; add one or use none"
        )

    for k, eip in enumerate(eips):
        if not isinstance(eip, str) or not EIP_ALLOCATION_RE.match(eip):
            raise InvalidSpec(
                f"natGateways.eipAllocationIds[{k}]", f"{eip!r} is not an allocation id (eipalloc-...)"
            )
        if eip in eips[:k]:
            raise InvalidSpec(f"natGateways.eipAllocationIds[{k}]", f"{eip!r} is listed twice")
    needed = {"none": 0, "single": 1, "per-az": az_count}[mode]
    if eips and len(eips) != needed:
        raise InvalidSpec(
            "natGateways.eipAllocationIds",
            f"lists {len(eips)} allocation id(s) but natGateways {mode} with {az_count} zones makes {needed} "
            "NAT gateways: give one per NAT gateway, in zone order, or none to allocate them",
        )
    return mode, tuple(eips)


def _az_reservation(value: Any, az_count: int) -> int:
    if value is None:
        return 4 if az_count <= 4 else MAX_AZS
    if not _is_int(value):
        raise InvalidSpec("azReservation", f"must be an integer, got {_kind(value)}")
    if not az_count <= value <= MAX_AZ_RESERVATION:
        raise InvalidSpec(
            "azReservation",
            f"{value} must be at least the number of zones ({az_count}) and at most {MAX_AZ_RESERVATION}",
        )
    return value


def _tags(value: Any, at: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidSpec(at, f"must be a mapping of key to value, got {_kind(value)}")
    if len(value) > MAX_USER_TAGS:
        raise InvalidSpec(
            at, f"{len(value)} tags: at most {MAX_USER_TAGS} (EC2 allows 50 and the factory adds its own)"
        )
    for key, val in value.items():
        if not isinstance(key, str):
            raise InvalidSpec(f"{at}.{key}", f"a tag key must be a string, got {_kind(key)}")
        where = f"{at}.{key}"
        if not 1 <= len(key) <= 128:
            raise InvalidSpec(where, f"a tag key is 1 to 128 characters, this one is {len(key)}")
        if key.lower().startswith(RESERVED_TAG_PREFIXES):
            raise InvalidSpec(where, "keys starting with aws: or vpcfactory: are reserved")
        if key == "Name":
            raise InvalidSpec(where, "the factory sets Name on every resource (<name>-<tier>-<zone>)")
        if not isinstance(val, str):
            raise InvalidSpec(where, f"a tag value must be a string (quote it in YAML), got {_kind(val)}")
        if len(val) > 256:
            raise InvalidSpec(where, f"a tag value is at most 256 characters, this one is {len(val)}")
    return dict(value)


# -- small helpers ----------------------------------------------------------------------------


def _network(text: str, at: str) -> ipaddress.IPv4Network:
    if "/" not in text:
        raise InvalidSpec(at, f"{text!r} needs a prefix length, like 10.0.0.0/16")
    try:
        net = ipaddress.ip_network(text, strict=True)
    except ValueError as exc:
        # "10.0.0.1/16 has host bits set" is the message a user needs; keep ipaddress's wording.
        raise InvalidSpec(at, f"{text!r} is not a valid IPv4 network: {exc}") from None
    if not isinstance(net, ipaddress.IPv4Network):
        raise InvalidSpec(at, f"{text!r} is not an IPv4 network")
    if not MIN_PREFIX <= net.prefixlen <= MAX_PREFIX:
        raise InvalidSpec(at, f"/{net.prefixlen} is out of range: AWS accepts /16 to /28")
    if net.is_multicast or net.is_loopback or net.is_link_local or net.is_reserved or net.is_unspecified:
        raise InvalidSpec(at, f"{net} is a special-purpose range that a VPC cannot use")
    return net


def _required_str(raw: Mapping[str, Any], key: str, at: str) -> str:
    value = raw.get(key)
    if value is None:
        raise InvalidSpec(at, "required")
    if not isinstance(value, str):
        raise InvalidSpec(at, f"must be a string, got {_kind(value)}")
    return value


def _reject_unknown(raw: Mapping[str, Any], allowed: tuple[str, ...], at: str) -> None:
    for key in raw:
        if key not in allowed:
            where = f"{at}.{key}" if at else str(key)
            raise InvalidSpec(where, f"unknown field; expected one of {', '.join(allowed)}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)  # YAML `true` is not a count


def _kind(value: Any) -> str:
    return f"{type(value).__name__} {value!r}"
