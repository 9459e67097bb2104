"""The spec (DESIGN.md "Spec"): parse and validate it, with no AWS call.

Every rejection is an `InvalidSpec(field, reason)` whose field is a precise path into the input
(`tiers[1].prefixLength`, `tags.aws:foo`, `natGateways.eipAllocationIds[0]`, `flowLogs.retentionDays`),
so the person who wrote the spec can find the line. parse_spec also lays the CIDRs out (allocate, below): an
address plan that cannot work is rejected here, before the workflow calls DescribeAvailabilityZones.
Only the checks that need the region's zones are left to plan.plan_network.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from vpcfactory import interface_endpoints_spec, transit_spec
from vpcfactory.errors import InvalidSpec
from vpcfactory.interface_endpoints_spec import InterfaceEndpoints
from vpcfactory.pricing import monthly_cost, prices
from vpcfactory.transit_spec import TransitGateway

NAME_RE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$")
# Names under /vpcfactory/ that the factory keeps for itself (outcomes.py: stored custom-resource
# requests, failed-Create records; the default spec's parameter): a network of one of these names
# would publish its outputs there, and its destroy would delete them.
RESERVED_NAMES = frozenset({"cfn-requests", "cfn-rollbacks", "default-spec"})
TIER_NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,19}$")
ZONE_NAME_RE = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+[a-z]$")  # us-east-1a, us-gov-west-1b
ZONE_ID_RE = re.compile(r"^[a-z]+\d+-az\d+$")  # use1-az1, usgw1-az2
EIP_ALLOCATION_RE = re.compile(r"^eipalloc-[0-9a-f]{8,17}$")
VPC_ID_RE = re.compile(r"^vpc-(?:[0-9a-f]{8}|[0-9a-f]{17})$")  # EC2's short (8) and long (17) ids
# Where a network goes: a build's `target` (aws.normalize_target) and each line of a rollout's manifest
# (manifest.py) are checked by these, here because both need them and this module is pure. ASCII
# only: Python's \d and \w also match other scripts' digits and letters, which AWS's ids never hold.
ACCOUNT_ID_RE = re.compile(r"[0-9]{12}")  # an AWS account id: 12 digits
# The shape of a Region name (us-east-1, us-gov-west-1, cn-north-1): the Lambda code has no Region
# list (botocore's endpoint data is too costly to load per invocation); the CLI checks the name too.
REGION_RE = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]")
ROLE_NAME_RE = re.compile(r"[\w+=,.@-]{1,64}", re.ASCII)  # IAM CreateRole's RoleName pattern and length
LOG_GROUP_NAME_RE = re.compile(r"^[A-Za-z0-9_\-/.#]{1,512}$")  # CreateLogGroup's naming rules
# arn:aws:s3:::bucket or arn:aws-us-gov:s3:::bucket/folder/: S3 bucket naming rules, optional folder.
BUCKET_ARN_RE = re.compile(r"^arn:aws[-a-z]*:s3:::([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(/.*)?$")

TIER_TYPES = ("public", "private", "isolated")
NAT_MODES = ("none", "single", "per-az", "regional")  # plus "count" (natGateways: N), which the normal form uses
FLOW_LOG_DESTINATIONS = ("cloud-watch-logs", "s3")
FLOW_LOG_TRAFFIC_TYPES = ("ALL", "ACCEPT", "REJECT")
FLOW_LOG_AGGREGATION_INTERVALS = (60, 600)  # seconds; CreateFlowLogs accepts nothing else
# PutRetentionPolicy accepts exactly these (CloudWatch Logs API reference).
LOG_RETENTION_DAYS = (
    *(1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731),
    *(1096, 1827, 2192, 2557, 2922, 3288, 3653),
)
DEFAULT_RETENTION_DAYS = 365
GATEWAY_ENDPOINT_SERVICES = ("s3", "dynamodb")
MIN_PREFIX, MAX_PREFIX = 16, 28  # what CreateVpc and CreateSubnet accept
MAX_AZS = 6  # the most availability zones any region has
MAX_TIERS = 8
MAX_AZ_RESERVATION = 16
# EC2 allows 50 tags per resource; we add Name, three ownership tags and vpcfactory:tier.
MAX_USER_TAGS = 40
RESERVED_TAG_PREFIXES = ("aws:", "vpcfactory:")
MAX_SHOWN = 64  # characters of a value from the input that an error message repeats (see shown)
MAX_ZONE_LENGTH = 32  # longer than any zone name or zone ID AWS has (us-gov-west-1a, usgw1-az1)
MAX_CIDR_LENGTH = 18  # 255.255.255.255/32

SPEC_KEYS = (
    "name",
    "cidr",
    "availabilityZones",
    "natGateways",
    "tiers",
    "azReservation",
    "tags",
    "ipv6",
    "flowLogs",
    "gatewayEndpoints",
    "lockDownDefaultSecurityGroup",
    "transitGateway",
    "interfaceEndpoints",
)
TIER_KEYS = (
    "name",
    "type",
    "prefixLength",
    "cidrs",
    "tags",
    "mapPublicIpOnLaunch",
    "assignIpv6AddressOnCreation",
)
NAT_KEYS = ("mode", "count", "eipAllocationIds")
FLOW_LOG_KEYS = (
    "destination",
    "retentionDays",
    "logGroupName",
    "bucketArn",
    "prefix",
    "trafficType",
    "maxAggregationInterval",
)
WRAPPER_KEYS = ("spec", "target")
IPAM_KEYS = ("ipamPoolId", "netmaskLength")  # cidr as a mapping (ipam.py)
IPAM_POOL_RE = re.compile(r"^ipam-pool-[0-9a-f]{8,17}$")


@dataclass(frozen=True)
class Tier:
    name: str
    type: str  # public | private | isolated
    prefix_length: int | None = None  # exactly one of prefix_length and cidrs is set
    cidrs: tuple[str, ...] | None = None
    tags: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}), hash=False)
    map_public_ip_on_launch: bool = False
    assign_ipv6_address_on_creation: bool = False  # only ever true when the spec turns ipv6 on

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "type": self.type}
        if self.cidrs is not None:
            out["cidrs"] = list(self.cidrs)
        else:
            out["prefixLength"] = self.prefix_length
        out["mapPublicIpOnLaunch"] = self.map_public_ip_on_launch
        out["assignIpv6AddressOnCreation"] = self.assign_ipv6_address_on_creation
        out["tags"] = dict(self.tags)
        return out


@dataclass(frozen=True)
class FlowLogs:
    """VPC flow logs (Security Hub EC2.6). CloudWatch-only fields are None for s3, and the reverse."""

    destination: str = "cloud-watch-logs"  # cloud-watch-logs | s3
    log_group_name: str | None = None
    retention_days: int | None = None
    bucket_arn: str | None = None
    prefix: str | None = None
    traffic_type: str = "ALL"  # ALL | ACCEPT | REJECT
    max_aggregation_interval: int = 600  # seconds: 60 or 600

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"destination": self.destination}
        if self.destination == "s3":
            out |= {"bucketArn": self.bucket_arn, "prefix": self.prefix}
        else:
            out |= {"logGroupName": self.log_group_name, "retentionDays": self.retention_days}
        return out | {
            "trafficType": self.traffic_type,
            "maxAggregationInterval": self.max_aggregation_interval,
        }


@dataclass(frozen=True)
class Spec:
    name: str
    cidr: str
    availability_zones: int | tuple[str, ...]  # a count, or zone names, or zone IDs
    tiers: tuple[Tier, ...]
    nat_mode: str  # none | single | per-az | regional (nat_modes.py) | count (natGateways: N, 2 <= N <= zones)
    az_reservation: int  # already defaulted: 4 up to 4 AZs, else 6
    eip_allocation_ids: tuple[str, ...] = ()  # bring-your-own EIPs, one per NAT (regional: per zone), in AZ order
    tags: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}), hash=False)
    nat_count: int | None = None  # N when nat_mode is "count", else None
    ipv6: bool = False
    # parse_spec fills these in (flow logs on, both endpoints, default SG locked down) unless the
    # spec turns them off; a Spec built by hand gets the same except flow logs, whose log group
    # name depends on the spec name.
    flow_logs: FlowLogs | None = None
    gateway_endpoints: tuple[str, ...] = GATEWAY_ENDPOINT_SERVICES
    lock_down_default_security_group: bool = True
    # cidr: {ipamPoolId, netmaskLength} (ipam.py): the pool; `cidr` is then the nominal block
    # 0.0.0.0/<netmaskLength> the layout is validated in (the real block is known at build time).
    ipam_pool_id: str | None = None
    transit_gateway: TransitGateway | None = None  # transitGateway (transit.py)
    interface_endpoints: InterfaceEndpoints | None = None  # interfaceEndpoints (interface_endpoints_spec.py)

    @property
    def az_count(self) -> int:
        azs = self.availability_zones
        return azs if isinstance(azs, int) else len(azs)

    @property
    def nat_gateway_count(self) -> int:
        """How many NAT gateways the plan makes (in the first that many zones)."""
        if self.nat_mode == "count":
            return self.nat_count or 0
        return {"none": 0, "single": 1, "regional": 1, "per-az": self.az_count}[self.nat_mode]

    @property
    def has_public_tier(self) -> bool:
        return any(t.type == "public" for t in self.tiers)

    def to_dict(self) -> dict[str, Any]:
        """The normalized, JSON-able spec: defaults filled in; parse_spec(to_dict()) == self."""
        azs = self.availability_zones
        return {
            "name": self.name,
            "cidr": (
                {"ipamPoolId": self.ipam_pool_id, "netmaskLength": int(self.cidr.split("/")[1])}
                if self.ipam_pool_id
                else self.cidr
            ),
            "availabilityZones": azs if isinstance(azs, int) else list(azs),
            "azReservation": self.az_reservation,
            "natGateways": {
                "mode": self.nat_mode,
                # per-az follows the zones, so its count is left open; the others are fixed numbers.
                "count": None if self.nat_mode in ("per-az", "regional") else self.nat_gateway_count,
                "eipAllocationIds": list(self.eip_allocation_ids),
            },
            "tiers": [t.to_dict() for t in self.tiers],
            "tags": dict(self.tags),
            "ipv6": self.ipv6,
            "flowLogs": self.flow_logs.to_dict() if self.flow_logs else False,
            "gatewayEndpoints": {svc: svc in self.gateway_endpoints for svc in GATEWAY_ENDPOINT_SERVICES},
            "lockDownDefaultSecurityGroup": self.lock_down_default_security_group,
            "transitGateway": self.transit_gateway.to_dict() if self.transit_gateway else None,
            "interfaceEndpoints": self.interface_endpoints.to_dict() if self.interface_endpoints else None,
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
    if not NAME_RE.fullmatch(name):
        raise InvalidSpec(
            "name", f"{shown(name)}: use 1-32 lowercase letters, digits and '-', not starting or ending with '-'"
        )
    if name in RESERVED_NAMES:
        raise InvalidSpec("name", f"{shown(name)} is reserved: the factory keeps /vpcfactory/{name} for itself")
    vpc, ipam_pool_id = _vpc_cidr(raw.get("cidr"), raw.get("tiers"))
    azs = _availability_zones(raw.get("availabilityZones"))
    az_count = azs if isinstance(azs, int) else len(azs)
    tags = _tags(raw.get("tags"), "tags")
    ipv6 = _bool(raw.get("ipv6"), "ipv6", default=False)
    tiers = _tiers(raw.get("tiers"), vpc, az_count, tags, ipv6)
    nat_mode, nat_count, eips = _nat_gateways(raw.get("natGateways"), tiers, az_count)
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
        nat_count=nat_count,
        ipv6=ipv6,
        ipam_pool_id=ipam_pool_id,
        # Routes are checked against the VPC's block here; an IPAM VPC's once the pool previews it
        # (transit.check_plan, in Validate And Plan).
        transit_gateway=_transit_gateway(raw.get("transitGateway"), None if ipam_pool_id else str(vpc)),
        flow_logs=_flow_logs(raw.get("flowLogs"), name),
        gateway_endpoints=_gateway_endpoints(raw.get("gatewayEndpoints")),
        interface_endpoints=interface_endpoints_spec.parse(
            raw.get("interfaceEndpoints"),
            [(t.name, t.type) for t in tiers],
            _gateway_endpoints(raw.get("gatewayEndpoints")),
        ),
        lock_down_default_security_group=_bool(
            raw.get("lockDownDefaultSecurityGroup"), "lockDownDefaultSecurityGroup", default=True
        ),
    )
    allocate(spec)  # raises InvalidSpec if the tiers do not fit or explicit CIDRs collide
    if spec.ipv6:
        ipv6_blocks(spec)  # raises InvalidSpec if the tiers' /64 blocks do not fit in the /56
    return spec


# -- sections ---------------------------------------------------------------------------------


def _vpc_cidr(value: Any, raw_tiers: Any) -> tuple[ipaddress.IPv4Network, str | None]:
    """(the VPC's block, the IPAM pool id or None): a CIDR string, or {ipamPoolId, netmaskLength}
    (ipam.py), whose block is the nominal 0.0.0.0/<netmaskLength> until the pool gives the real one."""
    if not isinstance(value, Mapping):
        if value is not None and not isinstance(value, str):
            raise InvalidSpec(
                "cidr", f"must be a CIDR like 10.0.0.0/16 or {{ipamPoolId, netmaskLength}}, got {_kind(value)}"
            )
        return _network(_required_str({"cidr": value}, "cidr", "cidr"), "cidr"), None
    _reject_unknown(value, IPAM_KEYS, "cidr")
    pool = value.get("ipamPoolId")
    if pool is None:
        raise InvalidSpec("cidr.ipamPoolId", "required: the IPAM pool the VPC's block comes from (ipam-pool-...)")
    if not isinstance(pool, str) or len(pool) > 32 or not IPAM_POOL_RE.fullmatch(pool):
        raise InvalidSpec(
            "cidr.ipamPoolId", f"{shown(pool)} is not an IPAM pool id (ipam-pool- and 8 to 17 hex digits)"
        )
    netmask = value.get("netmaskLength")
    if netmask is None:
        raise InvalidSpec("cidr.netmaskLength", f"required: the VPC's netmask length, /{MIN_PREFIX} to /{MAX_PREFIX}")
    if not _is_int(netmask):
        raise InvalidSpec("cidr.netmaskLength", f"must be an integer, got {_kind(netmask)}")
    if not MIN_PREFIX <= netmask <= MAX_PREFIX:
        raise InvalidSpec(
            "cidr.netmaskLength", f"/{netmask} is out of range: AWS accepts /{MIN_PREFIX} to /{MAX_PREFIX}"
        )
    # Nobody knows the block before the pool allocates it, so no tier can name addresses in it.
    for i, tier in enumerate(raw_tiers if isinstance(raw_tiers, list) else []):
        if isinstance(tier, Mapping) and tier.get("cidrs") is not None:
            raise InvalidSpec(
                f"tiers[{i}].cidrs",
                "explicit cidrs cannot be used with an IPAM pool (the VPC's block is known only when the "
                "pool allocates it): give prefixLength",
            )
    return ipaddress.IPv4Network((0, netmask)), pool


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
            raise InvalidSpec(f"{field_}[{k}]", f"must be a string, got {_kind_for_string(zone)}")
        if len(zone) <= MAX_ZONE_LENGTH and ZONE_NAME_RE.fullmatch(zone):
            kinds.add("zone names")
        elif len(zone) <= MAX_ZONE_LENGTH and ZONE_ID_RE.fullmatch(zone):
            kinds.add("zone IDs")
        else:
            raise InvalidSpec(
                f"{field_}[{k}]", f"{shown(zone)} is neither a zone name (us-east-1a) nor a zone ID (use1-az1)"
            )
        if zone in value[:k]:
            raise InvalidSpec(f"{field_}[{k}]", f"{shown(zone)} is listed twice")
    if len(kinds) > 1:
        raise InvalidSpec(field_, "mixes zone names and zone IDs: use one or the other")
    return tuple(value)


def _tiers(
    value: Any, vpc: ipaddress.IPv4Network, az_count: int, spec_tags: dict[str, str], ipv6: bool
) -> tuple[Tier, ...]:
    if value is None:
        raise InvalidSpec("tiers", "required: a list of 1 to 8 tiers")
    if not isinstance(value, list):
        raise InvalidSpec("tiers", f"must be a list, got {_kind(value)}")
    if not 1 <= len(value) <= MAX_TIERS:
        raise InvalidSpec("tiers", f"needs 1 to {MAX_TIERS} tiers, got {len(value)}")
    tiers: list[Tier] = []
    for i, raw in enumerate(value):
        tier = _tier(raw, f"tiers[{i}]", vpc, az_count, spec_tags, ipv6)
        if any(t.name == tier.name for t in tiers):
            raise InvalidSpec(
                f"tiers[{i}].name", f"{shown(tier.name)} is used by an earlier tier: names must be unique"
            )
        tiers.append(tier)
    return tuple(tiers)


def _tier(raw: Any, at: str, vpc: ipaddress.IPv4Network, az_count: int, spec_tags: dict[str, str], ipv6: bool) -> Tier:
    if not isinstance(raw, Mapping):
        raise InvalidSpec(at, f"must be a mapping, got {_kind(raw)}")
    _reject_unknown(raw, TIER_KEYS, at)
    name = _required_str(raw, "name", f"{at}.name")
    if not TIER_NAME_RE.fullmatch(name):
        raise InvalidSpec(f"{at}.name", f"{shown(name)}: use a lowercase letter, then up to 19 letters, digits or '-'")
    if name == transit_spec.TIER:
        raise InvalidSpec(f"{at}.name", f"{shown(name)} is reserved for the transit gateway attachment's subnets")
    type_ = _required_str(raw, "type", f"{at}.type")
    if type_ not in TIER_TYPES:
        raise InvalidSpec(f"{at}.type", f"{shown(type_)} is not one of {', '.join(TIER_TYPES)}")

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

    map_public = _bool(raw.get("mapPublicIpOnLaunch"), f"{at}.mapPublicIpOnLaunch", default=False)
    if map_public and type_ != "public":
        raise InvalidSpec(f"{at}.mapPublicIpOnLaunch", f"only a public tier may assign public IPs, this one is {type_}")
    assign_ipv6 = _bool(raw.get("assignIpv6AddressOnCreation"), f"{at}.assignIpv6AddressOnCreation", default=ipv6)
    if assign_ipv6 and not ipv6:
        raise InvalidSpec(
            f"{at}.assignIpv6AddressOnCreation",
            "needs ipv6: true on the spec (the subnets have no IPv6 CIDR)",
        )

    return Tier(
        name=name,
        type=type_,
        prefix_length=prefix,
        cidrs=cidrs,
        tags=MappingProxyType(tags),
        map_public_ip_on_launch=map_public,
        assign_ipv6_address_on_creation=assign_ipv6,
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
            raise InvalidSpec(f"{at}[{k}]", f"must be a CIDR string, got {_kind_for_string(item)}")
        net = _network(item, f"{at}[{k}]")
        if not net.subnet_of(vpc):
            raise InvalidSpec(f"{at}[{k}]", f"{net} is outside the VPC's {vpc}")
        out.append(str(net))
    return tuple(out)


def _nat_gateways(value: Any, tiers: tuple[Tier, ...], az_count: int) -> tuple[str, int | None, tuple[str, ...]]:
    """(mode, N for mode count else None, BYO EIPs) from any of the three forms of natGateways.

    `natGateways: single`, `natGateways: 2` and `natGateways: {mode|count, eipAllocationIds}`.
    A count normalizes to a mode where one means the same thing for ever: 0 is none and 1 is
    single. N >= 2 stays a count, even N = zones: per-az would add a NAT with every zone added.
    Left out, it is single when a private tier routes through a NAT, else none; asking for NATs (or
    NAT EIPs) with no private tier is refused: nothing would route through them.
    """
    has_public = any(t.type == "public" for t in tiers)
    # Only private tiers route through a NAT (plan.plan_network): public tiers go to the internet
    # gateway, isolated tiers nowhere. Without one, a NAT and its EIP are paid for and never used.
    has_private = any(t.type == "private" for t in tiers)
    eips: list[Any] = []
    mode: Any = None
    count: Any = None
    count_field = "natGateways"
    if value is None or isinstance(value, str):
        mode = value
    elif _is_int(value):
        count = value
    elif isinstance(value, Mapping):
        _reject_unknown(value, NAT_KEYS, "natGateways")
        mode, count, count_field = value.get("mode"), value.get("count"), "natGateways.count"
        eips = value.get("eipAllocationIds") or []
        if not isinstance(eips, list):
            raise InvalidSpec("natGateways.eipAllocationIds", f"must be a list, got {_kind(eips)}")
    else:
        raise InvalidSpec(
            "natGateways",
            f"must be one of {', '.join(NAT_MODES)}, a number of NAT gateways or a mapping, "
            f"got {_kind_for_string(value)}",
        )

    mode_field = "natGateways.mode" if isinstance(value, Mapping) else "natGateways"
    allowed = (*NAT_MODES, "count") if isinstance(value, Mapping) else NAT_MODES
    if mode is not None and (not isinstance(mode, str) or mode not in allowed):
        raise InvalidSpec(mode_field, f"{shown(mode)} is not one of {', '.join(NAT_MODES)}")
    if count is not None and mode == "regional":
        raise InvalidSpec(count_field, "give either mode regional or count, not both (regional is one NAT gateway)")
    if count is not None:
        if not _is_int(count):
            raise InvalidSpec(count_field, f"must be a whole number of NAT gateways, got {_kind(count)}")
        if not 0 <= count <= az_count:
            raise InvalidSpec(
                count_field,
                f"{plural(count, 'NAT gateway')} for {plural(az_count, 'zone')}: give 0 to {az_count} "
                "(at most one per zone)",
            )
        # The normal form (Spec.to_dict) carries both; anything else giving both is a contradiction.
        implied = {"none": 0, "single": 1}.get(mode or "") if mode != "count" else count
        if mode is not None and implied != count:
            raise InvalidSpec(
                count_field,
                f"give either mode or count, not both: mode {mode} and count {count} disagree "
                "(none is 0 NAT gateways, single is 1, per-az one per zone)",
            )
        mode = {0: "none", 1: "single"}.get(count, "count")
    elif mode == "count":
        raise InvalidSpec(count_field, "mode count needs count: the number of NAT gateways")
    if mode is None:
        mode = "single" if has_public and has_private else "none"
    nat_count = count if mode == "count" else None
    needed: int = (
        nat_count if nat_count is not None else {"none": 0, "single": 1, "regional": 1, "per-az": az_count}[mode]
    )
    if (needed or eips) and not has_private:
        asked = (
            f"{plural(needed, 'NAT gateway')} (${monthly_cost(needed, len(eips))['total']:.2f} a month at "
            f"{prices()['region']} list prices)"
            if needed
            else f"{plural(len(eips), 'Elastic IP')} for NAT gateways"
        )
        raise InvalidSpec(
            "natGateways",
            f"{asked} but no tier would route through them: only private tiers egress through a NAT "
            "(public tiers use the internet gateway, isolated tiers have no internet route); "
            "add a private tier, or use none (the default without one)",
        )
    # A regional NAT gateway sits in no subnet: it needs no public tier (nat_modes.py).
    if needed and not has_public and mode != "regional":
        raise InvalidSpec(
            "natGateways",
            f"{plural(needed, 'NAT gateway')} {'needs' if needed == 1 else 'need'} a public tier to hold "
            f"{'it' if needed == 1 else 'them'}; add one or use none",
        )

    seen: set[str] = set()  # not `eip in eips[:k]`: a list of 100,000 ids must not take minutes
    for k, eip in enumerate(eips):
        at = f"natGateways.eipAllocationIds[{k}]"
        if not isinstance(eip, str) or not EIP_ALLOCATION_RE.fullmatch(eip):
            raise InvalidSpec(at, f"{shown(eip)} is not an allocation id (eipalloc-...)")
        if eip in seen:
            raise InvalidSpec(at, f"{shown(eip)} is listed twice")
        seen.add(eip)
    if eips and mode == "regional" and len(eips) != az_count:
        raise InvalidSpec(
            "natGateways.eipAllocationIds",
            f"lists {plural(len(eips), 'allocation id')} but a regional NAT gateway with brought Elastic IPs needs "
            f"one per zone ({plural(az_count, 'zone')}), in zone order, or none to let AWS manage its addresses",
        )
    if eips and mode != "regional" and len(eips) != needed:
        raise InvalidSpec(
            "natGateways.eipAllocationIds",
            f"lists {plural(len(eips), 'allocation id')} but natGateways ({mode}) with {plural(az_count, 'zone')} "
            f"makes {plural(needed, 'NAT gateway')}: give one per NAT gateway, in zone order, or none to allocate them",
        )
    return mode, nat_count, tuple(eips)


def _flow_logs(value: Any, spec_name: str) -> FlowLogs | None:
    """None when the spec says `flowLogs: false`; otherwise the settings with defaults filled in."""
    at = "flowLogs"
    if value is False:
        return None
    if value is None or value is True:
        value = {}
    if not isinstance(value, Mapping):
        raise InvalidSpec(at, f"must be false (no flow logs) or a mapping of settings, got {_kind(value)}")
    _reject_unknown(value, FLOW_LOG_KEYS, at)

    destination = _default(value.get("destination"), "cloud-watch-logs")
    if destination not in FLOW_LOG_DESTINATIONS:
        raise InvalidSpec(f"{at}.destination", f"{shown(destination)} is not one of {', '.join(FLOW_LOG_DESTINATIONS)}")
    traffic = _default(value.get("trafficType"), "ALL")
    if traffic not in FLOW_LOG_TRAFFIC_TYPES:
        raise InvalidSpec(f"{at}.trafficType", f"{shown(traffic)} is not one of {', '.join(FLOW_LOG_TRAFFIC_TYPES)}")
    interval = _default(value.get("maxAggregationInterval"), 600)
    if not _is_int(interval) or interval not in FLOW_LOG_AGGREGATION_INTERVALS:
        raise InvalidSpec(f"{at}.maxAggregationInterval", f"{shown(interval)} seconds: use 60 or 600")

    only_for = {"s3": ("retentionDays", "logGroupName"), "cloud-watch-logs": ("bucketArn", "prefix")}
    for key in only_for[destination]:
        if value.get(key) is not None:
            other = "cloud-watch-logs" if destination == "s3" else "s3"
            raise InvalidSpec(f"{at}.{key}", f"applies to destination {other} only, this one is {destination}")

    if destination == "s3":
        bucket_arn = value.get("bucketArn")
        if bucket_arn is None:
            raise InvalidSpec(f"{at}.bucketArn", "required when destination is s3")
        match = BUCKET_ARN_RE.fullmatch(bucket_arn) if isinstance(bucket_arn, str) else None
        if not match or ".." in match.group(1):
            raise InvalidSpec(
                f"{at}.bucketArn", f"{shown(bucket_arn)} is not an S3 bucket ARN (arn:aws:s3:::bucket[/folder/])"
            )
        folder = (match.group(2) or "").lstrip("/")
        if folder.startswith("AWSLogs"):
            raise InvalidSpec(f"{at}.bucketArn", "the folder may not start with AWSLogs (AWS reserves it)")
        prefix = value.get("prefix")
        if prefix is not None:
            if not isinstance(prefix, str) or not prefix:
                raise InvalidSpec(f"{at}.prefix", f"must be a non-empty string, got {_kind_for_string(prefix)}")
            if prefix.startswith("/"):
                raise InvalidSpec(f"{at}.prefix", f"{shown(prefix)} must not start with '/'")
            if prefix.startswith("AWSLogs"):
                raise InvalidSpec(f"{at}.prefix", f"{shown(prefix)} may not start with AWSLogs (AWS reserves it)")
            if folder:
                raise InvalidSpec(
                    f"{at}.prefix", "bucketArn already names a folder: give the folder there or as prefix"
                )
        return FlowLogs(
            destination=destination,
            bucket_arn=bucket_arn,
            prefix=prefix,
            traffic_type=traffic,
            max_aggregation_interval=interval,
        )

    retention = _default(value.get("retentionDays"), DEFAULT_RETENTION_DAYS)
    if not _is_int(retention) or retention not in LOG_RETENTION_DAYS:
        raise InvalidSpec(
            f"{at}.retentionDays",
            f"{shown(retention)} is not a CloudWatch Logs retention: "
            f"use one of {', '.join(map(str, LOG_RETENTION_DAYS))}",
        )
    group = _default(value.get("logGroupName"), f"/vpcfactory/{spec_name}/flow-logs")
    if not isinstance(group, str) or not LOG_GROUP_NAME_RE.fullmatch(group):
        raise InvalidSpec(
            f"{at}.logGroupName",
            f"{shown(group)}: a log group name is 1 to 512 of a-z, A-Z, 0-9, '_', '-', '/', '.', '#'",
        )
    if group.startswith("aws/"):
        raise InvalidSpec(f"{at}.logGroupName", f"{shown(group)}: names starting with aws/ are reserved by AWS")
    return FlowLogs(
        destination=destination,
        log_group_name=group,
        retention_days=retention,
        traffic_type=traffic,
        max_aggregation_interval=interval,
    )


def _transit_gateway(value: Any, vpc_cidr: str | None) -> TransitGateway | None:
    """The spec's `transitGateway` (None when absent or null). `vpc_cidr`: the VPC's block when the
    spec gives it (None for an IPAM pool: Validate And Plan checks the routes against the preview,
    check_plan). Raises InvalidSpec naming the field."""
    at = "transitGateway"
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise InvalidSpec(at, f"must be a mapping like {{id: tgw-..., routes: [10.0.0.0/8]}}, got {_kind(value)}")
    _reject_unknown(value, transit_spec.KEYS, at)
    tgw_id = value.get("id")
    if tgw_id is None:
        raise InvalidSpec(f"{at}.id", "required: the transit gateway to attach to (tgw-...)")
    if not isinstance(tgw_id, str) or not transit_spec.TGW_ID_RE.fullmatch(tgw_id):
        raise InvalidSpec(f"{at}.id", f"{shown(tgw_id)} is not a transit gateway id (tgw- and 8 or 17 hex digits)")

    routes = value.get("routes")
    routes = [] if routes is None else routes
    if not isinstance(routes, list):
        raise InvalidSpec(f"{at}.routes", f"must be a list of CIDRs and prefix list ids, got {_kind(routes)}")
    if len(routes) > transit_spec.MAX_ROUTES:
        raise InvalidSpec(f"{at}.routes", f"{len(routes)} destinations: at most {transit_spec.MAX_ROUTES}")
    out: list[str] = []
    for k, route in enumerate(routes):
        where = f"{at}.routes[{k}]"
        if not isinstance(route, str):
            raise InvalidSpec(where, f"must be an IPv4 CIDR or a prefix list id (pl-...), got {_kind(route)}")
        normal = route if transit_spec.PREFIX_LIST_RE.fullmatch(route) else str(_route_cidr(route, where, vpc_cidr))
        if normal in out:
            raise InvalidSpec(where, f"{shown(route)} is listed twice")
        out.append(normal)

    associate = value.get("associateRouteTableId")
    if associate is not None and (
        not isinstance(associate, str) or not transit_spec.TGW_ROUTE_TABLE_RE.fullmatch(associate)
    ):
        raise InvalidSpec(
            f"{at}.associateRouteTableId", f"{shown(associate)} is not a transit gateway route table id (tgw-rtb-...)"
        )
    propagate = value.get("propagateRouteTableIds")
    propagate = [] if propagate is None else propagate
    if not isinstance(propagate, list):
        raise InvalidSpec(f"{at}.propagateRouteTableIds", f"must be a list of tgw-rtb-... ids, got {_kind(propagate)}")
    if len(propagate) > transit_spec.MAX_PROPAGATIONS:
        raise InvalidSpec(
            f"{at}.propagateRouteTableIds", f"{len(propagate)} route tables: at most {transit_spec.MAX_PROPAGATIONS}"
        )
    for k, table in enumerate(propagate):
        where = f"{at}.propagateRouteTableIds[{k}]"
        if not isinstance(table, str) or not transit_spec.TGW_ROUTE_TABLE_RE.fullmatch(table):
            raise InvalidSpec(where, f"{shown(table)} is not a transit gateway route table id (tgw-rtb-...)")
        if table in propagate[:k]:
            raise InvalidSpec(where, f"{shown(table)} is listed twice")
    return TransitGateway(
        id=tgw_id,
        routes=tuple(out),
        associate_route_table_id=associate,
        propagate_route_table_ids=tuple(propagate),
    )


def _route_cidr(text: str, where: str, vpc_cidr: str | None) -> ipaddress.IPv4Network:
    if len(text) > MAX_CIDR_LENGTH or "/" not in text:
        raise InvalidSpec(where, f"{shown(text)} is neither an IPv4 CIDR like 10.0.0.0/8 nor a prefix list id (pl-...)")
    try:
        net = ipaddress.ip_network(text, strict=True)
    except ValueError as exc:
        raise InvalidSpec(where, f"{shown(text)} is not a valid IPv4 network: {exc}") from None
    if not isinstance(net, ipaddress.IPv4Network):
        raise InvalidSpec(where, f"{shown(text)} is not an IPv4 network (IPv6 routes to the gateway are not supported)")
    if vpc_cidr is not None:
        transit_spec.check_not_in_vpc(net, vpc_cidr, where)
    return net


def _gateway_endpoints(value: Any) -> tuple[str, ...]:
    at = "gatewayEndpoints"
    if value is None or value is True:
        return GATEWAY_ENDPOINT_SERVICES
    if value is False:
        return ()
    if not isinstance(value, Mapping):
        raise InvalidSpec(at, f"must be false or a mapping like {{s3: true, dynamodb: false}}, got {_kind(value)}")
    _reject_unknown(value, GATEWAY_ENDPOINT_SERVICES, at)
    return tuple(svc for svc in GATEWAY_ENDPOINT_SERVICES if _bool(value.get(svc), f"{at}.{svc}", default=True))


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
        where = f"{at}.{_field_key(key, empty='')}"
        if not isinstance(key, str):
            raise InvalidSpec(where, f"a tag key must be a string, got {_kind_for_string(key)}")
        if not 1 <= len(key) <= 128:
            raise InvalidSpec(where, f"a tag key is 1 to 128 characters, this one is {len(key)}")
        if key.lower().startswith(RESERVED_TAG_PREFIXES):
            raise InvalidSpec(where, "keys starting with aws: or vpcfactory: are reserved")
        if key == "Name":
            raise InvalidSpec(where, "the factory sets Name on every resource (<name>-<tier>-<zone>)")
        if not isinstance(val, str):
            raise InvalidSpec(where, f"a tag value must be a string, got {_kind_for_string(val)}")
        if len(val) > 256:
            raise InvalidSpec(where, f"a tag value is at most 256 characters, this one is {len(val)}")
        bad = sorted({c for c in key + val if not _tag_char_ok(c)})
        if bad:
            # The flow-log group carries the spec's tags, and CloudWatch Logs (like most of AWS)
            # takes only letters, spaces, digits and _.:/=+-@ in tags.
            raise InvalidSpec(
                where, f"tags may hold letters, spaces, digits and _.:/=+-@ only, not {shown(''.join(bad))}"
            )
    return dict(value)


def _tag_char_ok(char: str) -> bool:
    return unicodedata.category(char)[0] in "LZN" or char in "_.:/=+-@"


# -- small helpers ----------------------------------------------------------------------------


def _network(text: str, at: str) -> ipaddress.IPv4Network:
    if len(text) > MAX_CIDR_LENGTH:
        raise InvalidSpec(at, f"{shown(text)} is not an IPv4 CIDR like 10.0.0.0/16")
    if "/" not in text:
        raise InvalidSpec(at, f"{shown(text)} needs a prefix length, like 10.0.0.0/16")
    try:
        net = ipaddress.ip_network(text, strict=True)
    except ValueError as exc:
        # "10.0.0.1/16 has host bits set" is the message a user needs; keep ipaddress's wording.
        raise InvalidSpec(at, f"{shown(text)} is not a valid IPv4 network: {exc}") from None
    if not isinstance(net, ipaddress.IPv4Network):
        raise InvalidSpec(at, f"{shown(text)} is not an IPv4 network")
    if not MIN_PREFIX <= net.prefixlen <= MAX_PREFIX:
        raise InvalidSpec(at, f"/{net.prefixlen} is out of range: AWS accepts /16 to /28")
    if net.is_multicast or net.is_loopback or net.is_link_local or net.is_reserved or net.is_unspecified:
        raise InvalidSpec(at, f"{net} is a special-purpose range that a VPC cannot use")
    return net


def _default(value: Any, default: Any) -> Any:
    """A field given as null (or left out) takes its default; false or "" do not."""
    return default if value is None else value


def _bool(value: Any, at: str, *, default: bool) -> bool:
    if value is None:
        return default
    if not isinstance(value, bool):
        raise InvalidSpec(at, f"must be true or false, got {_kind(value)}")
    return value


def _required_str(raw: Mapping[str, Any], key: str, at: str) -> str:
    value = raw.get(key)
    if value is None:
        raise InvalidSpec(at, "required")
    if not isinstance(value, str):
        raise InvalidSpec(at, f"must be a string, got {_kind_for_string(value)}")
    return value


def _reject_unknown(raw: Mapping[str, Any], allowed: tuple[str, ...], at: str) -> None:
    for key in raw:
        if key not in allowed:
            key_ = _field_key(key)
            where = f"{at}.{key_}" if at else key_
            raise InvalidSpec(where, f"unknown field; expected one of {', '.join(allowed)}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)  # YAML `true` is not a count


def _kind(value: Any) -> str:
    """What the input gave, in the words of YAML and JSON, for "got ..." in a message."""
    if value is None:
        return "null (no value)"
    if isinstance(value, bool):
        return f"the boolean {shown(value)}"
    if isinstance(value, (int, float)):
        return f"the number {shown(value)}"
    if isinstance(value, str):
        return f"the string {shown(value)}"
    return shown(value)


def _kind_for_string(value: Any) -> str:
    """_kind where a string was expected: YAML 1.1 reads a bare yes/no/on/off as a boolean."""
    if isinstance(value, bool):
        return f"{_kind(value)} ({YAML_BOOLEAN_HINT})"
    if isinstance(value, (int, float)):
        return f"{_kind(value)} (quote it to make it a string)"
    return _kind(value)


YAML_BOOLEAN_HINT = "YAML reads an unquoted yes, no, on, off, true or false as a boolean: quote the value"


def shown(value: Any, limit: int = MAX_SHOWN) -> str:
    """A value from the input as an error message repeats it: a string quoted (escapes visible)
    and cut after `limit` characters, a collection by its size, never whole. Every message that
    echoes input goes through here, in the CLI and in the Lambda's validation alike, so no input
    (a 200 KB name, a YAML alias bomb, an EventBridge event, CloudFormation properties) can make
    a message bigger than a line."""
    if isinstance(value, str):
        if len(value) <= limit:
            return repr(value)
        return f"{value[:limit]!r}… ({len(value):,} characters)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        if isinstance(value, int) and value.bit_length() > 200:  # str() of a huge int is slow, then refused
            return f"<a number of about {int(value.bit_length() * 0.30103) + 1} digits>"
        text = repr(value)
        return text if len(text) <= limit else f"{text[:limit]}…"
    if isinstance(value, Mapping):
        return f"a mapping of {plural(len(value), 'key')}"
    if isinstance(value, (list, tuple)):
        return f"a list of {plural(len(value), 'item')}"
    text = str(value)
    return f"a {type(value).__name__} ({text if len(text) <= limit else text[:limit] + '…'})"


def _field_key(key: Any, empty: str = '""') -> str:
    """A mapping key as it appears in a field path (tiers[0].<key>). Whole: the field is a path
    into the input (InvalidSpec cuts a long one where its message shows it)."""
    huge = isinstance(key, int) and key.bit_length() > 200  # str() of a huge int is slow, then refused
    text = shown(key) if huge else str(key)
    return text or empty  # an unknown empty key must still show in the field


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """'1 zone', '2 zones', '0 NAT gateways': a count with its noun in agreement."""
    return f"{count} {singular if count == 1 else plural_form or singular + 's'}"


# -- CIDR layout (plan.py's docstring: "How CIDRs are allocated") ------------------------------
# Here, not in plan.py: it depends on the spec alone (no zones), parse_spec rejects a layout that
# cannot work, and plan.py builds on it -- so the imports run one way, spec <- plan.

IPV6_SUBNETS_PER_VPC = 256  # /64s in the Amazon-provided /56

Range = tuple[int, int]  # [start, end) as integers


def ipv6_blocks(spec: Spec) -> list[range]:
    """Per tier, in spec order: the /64 indexes it reserves in the VPC's /56 (R of them, zone order).

    Raises InvalidSpec (field `tiers`) when the tiers need more than the /56's 256 /64s.
    """
    reservation = spec.az_reservation
    need = len(spec.tiers) * reservation
    if need > IPV6_SUBNETS_PER_VPC:
        raise InvalidSpec(
            "tiers",
            f"with ipv6 each tier reserves azReservation ({reservation}) /64s of the VPC's /56: "
            f"{len(spec.tiers)} tiers need {need} but a /56 has {IPV6_SUBNETS_PER_VPC}; "
            "lower azReservation or use fewer tiers",
        )
    return [range(t * reservation, (t + 1) * reservation) for t in range(len(spec.tiers))]


def allocate(spec: Spec) -> list[list[ipaddress.IPv4Network]]:
    """Per tier, in spec order: its subnets in zone order.

    For a prefixLength tier that is the whole reserved block (R subnets; the first N are used);
    for an explicit tier, its cidrs. Raises InvalidSpec when a block does not fit or CIDRs overlap.
    """
    vpc = ipaddress.IPv4Network(spec.cidr)
    vpc_range = (int(vpc.network_address), int(vpc.broadcast_address) + 1)
    reservation = spec.az_reservation
    # The transit gateway attachment's /28s sit at the top of the VPC (transit_spec.attachment_cidrs):
    # every tier must end below them, so neither appending a tier nor adding a zone moves them.
    tgw_block = transit_spec.attachment_block(spec.cidr, reservation) if spec.transit_gateway else None
    top = tgw_block[0] if tgw_block else vpc_range[1]
    explicit: dict[int, list[ipaddress.IPv4Network]] = {}
    blocks: dict[int, Range] = {}

    cursor = vpc_range[0]
    for i, tier in enumerate(spec.tiers):
        if tier.cidrs is not None:
            explicit[i] = [ipaddress.IPv4Network(c) for c in tier.cidrs]
            continue
        assert tier.prefix_length is not None  # parse_spec: exactly one of prefixLength and cidrs
        size = 2 ** (32 - tier.prefix_length)
        need = reservation * size
        start = _align_up(cursor, size)
        earlier = [_range(n) for j in explicit for n in explicit[j]]
        while clashes := [end for s, end in earlier if _overlaps((start, start + need), (s, end))]:
            start = _align_up(max(clashes), size)
        if start + need > top:
            free = max(0, top - start)
            below = f" and below the transit gateway attachment's {reservation} x /28" if tgw_block else ""
            raise InvalidSpec(
                f"tiers[{i}].prefixLength",
                f"tier {tier.name!r} needs {reservation} x /{tier.prefix_length} = {need} addresses "
                f"(azReservation {reservation}) but only {free} are free after the earlier tiers{below} "
                f"in {vpc}; lower azReservation or the prefix length",
            )
        blocks[i] = (start, start + need)
        cursor = start + need

    # Explicit CIDRs against everything else. Blocks only step around the explicit CIDRs of tiers
    # before them, so a later explicit tier can land in a block, even in a slot no zone uses yet:
    # that slot is promised to a future zone, so it is an error too.
    for i, nets in explicit.items():
        for k, net in enumerate(nets):
            other = _first_overlap(spec, i, k, net, explicit, blocks, reservation)
            if other is None and tgw_block and _overlaps(_range(net), tgw_block):
                first, last = (ipaddress.IPv4Address(a) for a in (tgw_block[0], tgw_block[1] - 1))
                other = f"the block {first}-{last} reserved for the transit gateway attachment ({reservation} x /28)"
            if other:
                raise InvalidSpec(f"tiers[{i}].cidrs[{k}]", f"{net} overlaps {other}")

    out: list[list[ipaddress.IPv4Network]] = []
    for i, tier in enumerate(spec.tiers):
        if i in explicit:
            out.append(explicit[i])
        else:
            start, end = blocks[i]
            assert tier.prefix_length is not None  # a tier without explicit cidrs has a block
            size = 2 ** (32 - tier.prefix_length)
            out.append([ipaddress.IPv4Network((addr, tier.prefix_length)) for addr in range(start, end, size)])
    return out


def _first_overlap(
    spec: Spec,
    i: int,
    k: int,
    net: ipaddress.IPv4Network,
    explicit: dict[int, list[ipaddress.IPv4Network]],
    blocks: dict[int, Range],
    reservation: int,
) -> str | None:
    """What explicit CIDR k of tier i collides with, described for the error message, or None."""
    for j, tier in enumerate(spec.tiers):
        if j in blocks:
            if _overlaps(_range(net), blocks[j]):
                first, last = (ipaddress.IPv4Address(a) for a in (blocks[j][0], blocks[j][1] - 1))
                return (
                    f"the block {first}-{last} reserved for tier {tier.name!r} "
                    f"({reservation} x /{tier.prefix_length}, tiers[{j}])"
                )
            continue
        # Two explicit CIDRs that overlap are reported once, on the later of the two.
        if j > i:
            continue
        others = explicit[j][:k] if j == i else explicit[j]
        for m, other in enumerate(others):
            if net.overlaps(other):
                owner = "this tier" if j == i else f"tier {tier.name!r}, tiers[{j}]"
                return f"{other} (cidrs[{m}] of {owner})"
    return None


def _range(net: ipaddress.IPv4Network) -> Range:
    return int(net.network_address), int(net.broadcast_address) + 1


def _overlaps(a: Range, b: Range) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def _align_up(value: int, size: int) -> int:
    return -(-value // size) * size
