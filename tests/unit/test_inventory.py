"""inventory (kinds, live rules, Scope, Snapshot) and the pure functions that read a snapshot:
growth.diff and verify.check. Hand-made snapshots: no moto, no AWS."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from vpcfactory import inventory
from vpcfactory.aws import snake_case
from vpcfactory.growth import diff
from vpcfactory.inventory import KIND, KINDS, Scope, Snapshot, by_logical
from vpcfactory.plan import adopt_route_tables, plan_network
from vpcfactory.spec import parse_spec
from vpcfactory.tags import resource_tags, tag_list
from vpcfactory.verify import check

VPC_ID = "vpc-0aaaaaaaaaaaaaaa1"
OTHER_VPC = "vpc-0bbbbbbbbbbbbbbb2"
EXECUTION = "build-1"
SPEC = {
    "name": "inv",
    "cidr": "10.0.0.0/16",
    "availabilityZones": 2,
    "natGateways": "single",
    "tiers": [
        {"name": "public", "type": "public", "prefixLength": 24},
        {"name": "private", "type": "private", "prefixLength": 24},
        {"name": "db", "type": "isolated", "prefixLength": 24},
    ],
}
OPEN_GROUP = {"GroupId": "sg-1", "IpPermissions": [{"IpProtocol": "-1"}]}
CLOSED_GROUP = {"GroupId": "sg-1", "IpPermissions": [], "IpPermissionsEgress": []}


def region_zones() -> list[dict[str, Any]]:
    """What DescribeAvailabilityZones returns for us-east-1 (three usable zones)."""
    return [
        {
            "ZoneName": f"us-east-1{letter}",
            "ZoneId": f"use1-az{i}",
            "State": "available",
            "ZoneType": "availability-zone",
        }
        for i, letter in enumerate("abd", start=1)
    ]


def _tags(logical: str, name: str = "inv", execution: str = EXECUTION) -> list[dict[str, str]]:
    return tag_list(resource_tags(spec_name=name, execution=execution, logical_id=logical, name=logical))


def _plan() -> dict[str, Any]:
    return plan_network(parse_spec(copy.deepcopy(SPEC)), region_zones())


def _as_built(plan: dict[str, Any]) -> Snapshot:
    """The snapshot a faithful build of `plan` reads back."""
    subnets = [
        {
            "SubnetId": f"subnet-{i:017x}",
            "VpcId": VPC_ID,
            "CidrBlock": s["cidr"],
            "AvailabilityZone": s["az"],
            "MapPublicIpOnLaunch": False,
            "Tags": _tags(s["logicalId"]),
        }
        for i, s in enumerate(plan["subnets"])
    ]
    subnet_id = {inventory.logical_id(s): s["SubnetId"] for s in subnets}
    nats = [
        {
            "NatGatewayId": f"nat-{i:017x}",
            "VpcId": VPC_ID,
            "SubnetId": subnet_id[n["subnet"]],
            "State": "available",
            "NatGatewayAddresses": [{"AllocationId": f"eipalloc-{i}", "PublicIp": f"198.51.100.{i}"}],
            "Tags": _tags(n["logicalId"]),
        }
        for i, n in enumerate(plan["natGateways"])
    ]
    nat_id = {inventory.logical_id(n): n["NatGatewayId"] for n in nats}
    igw = {"InternetGatewayId": "igw-0000000000000001", "Attachments": [{"VpcId": VPC_ID, "State": "available"}]}
    endpoint_id = {e["logicalId"]: f"vpce-{i:017x}" for i, e in enumerate(plan["gatewayEndpoints"])}
    tables = []
    for i, rt in enumerate(plan["routeTables"]):
        table_id = f"rtb-{i + 1:017x}"
        routes: list[dict[str, Any]] = [{"DestinationCidrBlock": plan["cidr"], "GatewayId": "local"}]
        target = (rt.get("defaultRoute") or {}).get("target")
        if target == "igw":
            routes.append({"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": igw["InternetGatewayId"]})
        elif target == "nat":
            routes.append({"DestinationCidrBlock": "0.0.0.0/0", "NatGatewayId": nat_id[rt["defaultRoute"]["nat"]]})
        for e in plan["gatewayEndpoints"]:
            if rt["logicalId"] in e["routeTables"]:
                routes.append(
                    {"DestinationPrefixListId": f"pl-{e['service']}", "GatewayId": endpoint_id[e["logicalId"]]}
                )
        tables.append(
            {
                "RouteTableId": table_id,
                "VpcId": VPC_ID,
                "Routes": routes,
                "Associations": [{"SubnetId": subnet_id[s]} for s in rt["subnets"]],
                "Tags": _tags(rt["logicalId"]),
            }
        )
    table_id = {inventory.logical_id(t): t["RouteTableId"] for t in tables}
    main = {"RouteTableId": "rtb-main", "VpcId": VPC_ID, "Routes": [], "Associations": [{"Main": True}], "Tags": []}
    endpoints = [
        {
            "VpcEndpointId": endpoint_id[e["logicalId"]],
            "VpcId": VPC_ID,
            "State": "available",
            "RouteTableIds": [table_id[t] for t in e["routeTables"]],
            "Tags": _tags(e["logicalId"]),
        }
        for e in plan["gatewayEndpoints"]
    ]
    flow_log = {
        "FlowLogId": "fl-1",
        "ResourceId": VPC_ID,
        "FlowLogStatus": "ACTIVE",
        "Tags": _tags(plan["flowLogs"]["logicalId"]),
    }
    vpc = {"VpcId": VPC_ID, "CidrBlock": plan["cidr"], "Tags": _tags("vpc")}
    items = {
        "vpc": [vpc],
        "subnet": subnets,
        "nat-gateway": nats,
        "route-table": [main, *tables],
        "internet-gateway": [igw],
        "vpc-endpoint": endpoints,
        "flow-log": [flow_log],
    }
    return _snapshot(items)


def _snapshot(items: dict[str, list[dict[str, Any]]]) -> Snapshot:
    scope = Scope.of_vpc(VPC_ID, "inv")
    ours = {kind: by_logical(i for i in found if scope.owns(i)) for kind, found in items.items()}
    return Snapshot(vpc_id=VPC_ID, scope=scope, items=items, ours=ours)


def _route_table(snap: Snapshot, logical: str) -> dict[str, Any]:
    return snap.mine("route-table")[logical]


# -- the catalog -----------------------------------------------------------------------------------


def test_every_kind_names_its_describe_list_and_id_and_kind_names_are_unique() -> None:
    assert len({k.name for k in KINDS}) == len(KINDS)
    for kind in KINDS:
        assert kind.operation.startswith("Describe") and kind.key and kind.id_key
    assert KIND["elastic-ip"].in_vpc is False and KIND["elastic-ip"].vpc_filter is None
    assert KIND["egress-only-internet-gateway"].vpc_filter is None  # the API has no VPC filter


@pytest.mark.parametrize(
    ("state", "live", "reusable", "in_service", "available"),
    [
        ("pending", True, True, True, False),
        ("available", True, True, True, True),
        ("failed", True, True, False, False),
        ("deleting", True, False, False, False),
        ("deleted", False, False, False, False),
    ],
)
def test_each_nat_state_is_live_reusable_in_service_or_available_as_documented(
    state: str, live: bool, reusable: bool, in_service: bool, available: bool
) -> None:
    nat = {"State": state}
    assert KIND["nat-gateway"].live(nat) is live
    assert inventory.nat_reusable(nat) is reusable
    assert inventory.nat_in_service(nat) is in_service
    assert inventory.nat_available(nat) is available


def test_an_endpoint_is_live_until_it_is_being_deleted_and_serves_only_when_not_refused() -> None:
    assert KIND["vpc-endpoint"].live({"State": "Available"})
    assert KIND["vpc-endpoint"].live({"State": "failed"})
    assert not KIND["vpc-endpoint"].live({"State": "Deleting"})
    assert not inventory.endpoint_in_service({"State": "rejected"})
    assert inventory.endpoint_in_service({"State": "pending"})


# -- ownership -------------------------------------------------------------------------------------


def test_an_execution_scope_owns_only_items_tagged_with_that_execution() -> None:
    scope = Scope.of_execution(EXECUTION)
    assert scope.owns({"VpcId": OTHER_VPC, "Tags": _tags("subnet/a")})
    assert not scope.owns({"VpcId": VPC_ID, "Tags": _tags("subnet/a", execution="build-2")})
    assert not scope.owns({"VpcId": VPC_ID, "Tags": [{"Key": "vpcfactory:execution", "Value": EXECUTION}]})
    assert not Scope.of_execution(EXECUTION, "other-name").owns({"Tags": _tags("subnet/a")})


def test_a_vpc_scope_owns_its_spec_names_items_inside_that_vpc_whatever_a_filter_said() -> None:
    scope = Scope.of_vpc(VPC_ID, "inv")
    assert scope.owns({"VpcId": VPC_ID, "Tags": _tags("subnet/a", execution="any")})
    assert not scope.owns({"VpcId": OTHER_VPC, "Tags": _tags("subnet/a")})
    assert not scope.owns({"VpcId": VPC_ID, "Tags": _tags("subnet/a", name="other")})
    assert not scope.owns({"VpcId": VPC_ID, "Tags": []})
    assert scope.owns({"Attachments": [{"VpcId": VPC_ID}], "Tags": _tags("eigw")})
    assert not scope.owns({"Attachments": [{"VpcId": OTHER_VPC}], "Tags": _tags("eigw")})
    assert scope.owns({"ResourceId": VPC_ID, "Tags": _tags("flow-log")})
    assert scope.owns({"AllocationId": "eipalloc-1", "Tags": _tags("eip/a")})  # in no VPC: by tags


def test_a_scope_needs_an_execution_or_a_vpc_and_a_name() -> None:
    with pytest.raises(ValueError, match="scope needs"):
        Scope(vpc_id=VPC_ID)


def test_a_factory_vpc_carries_all_three_ownership_tags_with_logical_id_vpc() -> None:
    assert inventory.factory_vpc_name({"Tags": _tags("vpc")}) == "inv"
    assert inventory.factory_vpc_name({"Tags": _tags("subnet/a")}) is None
    assert inventory.factory_vpc_name({"Tags": [{"Key": "vpcfactory:vpc", "Value": "inv"}]}) is None


def test_a_subnet_without_its_own_route_table_uses_the_main_one() -> None:
    snap = _as_built(_plan())
    public = snap.mine("subnet")["subnet/public/us-east-1a"]["SubnetId"]
    assert snap.route_table_of(public)["RouteTableId"] == _route_table(snap, "rtb/public")["RouteTableId"]
    assert snap.route_table_of("subnet-unassociated")["RouteTableId"] == "rtb-main"


# -- verify.check ----------------------------------------------------------------------------------


def test_a_network_read_back_as_planned_passes_every_check() -> None:
    plan = _plan()
    problems, compliance = check(plan, _as_built(plan), CLOSED_GROUP)
    assert problems == []
    assert compliance == {"EC2.2": "PASSED", "EC2.6": "PASSED", "EC2.15": "PASSED"}


def test_a_private_subnet_routed_to_the_internet_gateway_fails_naming_subnet_and_route() -> None:
    plan = _plan()
    snap = _as_built(plan)
    table = _route_table(snap, "rtb/private")
    default = next(r for r in table["Routes"] if r.get("DestinationCidrBlock") == "0.0.0.0/0")
    default.pop("NatGatewayId")
    default["GatewayId"] = "igw-0000000000000001"

    problems, _ = check(plan, snap, CLOSED_GROUP)

    assert problems == [
        f"subnet/private/{zone} (route table {table['RouteTableId']}): 0.0.0.0/0 -> igw-0000000000000001, "
        "expected nat-00000000000000000"
        for zone in ("us-east-1a", "us-east-1b")  # one table for the tier (one NAT): both its subnets
    ]


def test_an_isolated_subnet_that_falls_back_to_a_main_table_with_a_way_out_fails() -> None:
    plan = _plan()
    snap = _as_built(plan)
    db = _route_table(snap, "rtb/db")
    db["Associations"] = [
        a for a in db["Associations"] if a["SubnetId"] != snap.mine("subnet")["subnet/db/us-east-1a"]["SubnetId"]
    ]
    snap.main_route_table["Routes"].append({"DestinationCidrBlock": "10.9.0.0/16", "NatGatewayId": "nat-x"})

    problems, _ = check(plan, snap, CLOSED_GROUP)

    assert any("subnet/db/us-east-1a (route table rtb-main): isolated tier routes to nat-x" in p for p in problems)


def test_a_nat_that_is_not_available_yet_leaves_the_private_routes_unexplained() -> None:
    plan = _plan()
    snap = _as_built(plan)
    snap.mine("nat-gateway")["nat/us-east-1a"]["State"] = "pending"
    problems, _ = check(plan, snap, CLOSED_GROUP)
    assert len([p for p in problems if "expected None" in p]) == 2  # both private subnets


def test_missing_pieces_open_security_group_and_inactive_flow_logs_are_each_named() -> None:
    plan = _plan()
    snap = _as_built(plan)
    del snap.ours["subnet"]["subnet/db/us-east-1b"]
    del snap.ours["vpc-endpoint"]["vpce/s3"]
    snap.items["flow-log"][0]["FlowLogStatus"] = "INACTIVE"

    problems, compliance = check(plan, snap, OPEN_GROUP)

    assert "subnet/db/us-east-1b is missing" in problems
    assert "gateway endpoint vpce/s3 (s3) is missing" in problems
    assert "default security group sg-1 still has rules" in problems
    assert "flow logs are not active" in problems
    assert compliance["EC2.2"] == "FAILED" and compliance["EC2.6"] == "FAILED"


# -- growth.diff -----------------------------------------------------------------------------------


def test_reapplying_the_same_plan_adds_and_refuses_nothing() -> None:
    plan = _plan()
    changes = diff(plan, _as_built(plan))
    assert changes["mode"] == "reconcile" and changes["vpcId"] == VPC_ID
    assert changes["added"] == [] and changes["refused"] == []
    assert changes["unchangedNetwork"] == len(plan["subnets"]) + len(plan["natGateways"]) + len(plan["routeTables"])


def test_a_failed_nat_is_not_part_of_the_network_so_a_reapply_adds_it_again() -> None:
    plan = _plan()
    snap = _as_built(plan)
    snap.mine("nat-gateway")["nat/us-east-1a"]["State"] = "failed"
    assert diff(plan, snap)["added"] == ["nat/us-east-1a"]


def test_a_spec_that_moves_or_removes_what_exists_is_refused_naming_each_change() -> None:
    plan = _plan()
    snap = _as_built(plan)
    snap.items["vpc"][0]["CidrBlock"] = "10.1.0.0/16"
    smaller = {**plan, "subnets": [s for s in plan["subnets"] if s["logicalId"] != "subnet/db/us-east-1b"]}

    refused = diff(smaller, snap)["refused"]

    assert refused == [
        "cidr: the VPC is 10.1.0.0/16, the spec asks for 10.0.0.0/16",
        "subnet/db/us-east-1b (10.0.9.0/24) would be removed",
    ]


def test_a_zone_added_to_the_spec_only_adds_logical_ids() -> None:
    plan = _plan()
    grown = plan_network(parse_spec({**copy.deepcopy(SPEC), "availabilityZones": 3}), region_zones())
    changes = diff(grown, _as_built(plan))
    assert changes["refused"] == []
    assert set(changes["added"]) == {"subnet/public/us-east-1d", "subnet/private/us-east-1d", "subnet/db/us-east-1d"}
    # (the new zone's private subnet joins rtb/private: one NAT, one table for the tier)


# -- route tables laid out by an earlier version: one per zone for a single NAT's private tier ----


def _previous_layout(plan: dict[str, Any]) -> dict[str, Any]:
    """`plan` as versions before the one-table-per-tier rule planned it: a private tier had one
    route table per zone (rtb/<tier>/<az>, named <spec>-<tier>-<az>), each routed to the one NAT."""
    old = copy.deepcopy(plan)
    tables = []
    for rt in old["routeTables"]:
        if rt["type"] != "private":
            tables.append(rt)
            continue
        for sub in [s for s in old["subnets"] if s["logicalId"] in rt["subnets"]]:
            zonal = {**copy.deepcopy(rt), "logicalId": f"rtb/{sub['tier']}/{sub['az']}", "az": sub["az"]}
            zonal.update(name=f"{old['name']}-{sub['tier']}-{sub['az']}", subnets=[sub["logicalId"]])
            sub["routeTable"] = zonal["logicalId"]
            tables.append(zonal)
    old["routeTables"] = tables
    for endpoint in old["gatewayEndpoints"]:
        endpoint["routeTables"] = [t["logicalId"] for t in tables if t["type"] in ("private", "isolated")]
    return old


def test_a_vpc_built_with_a_table_per_zone_is_planned_as_it_is_built_so_nothing_is_added_or_drifted() -> None:
    # Given a VPC an earlier version built for this spec (single NAT: a private table per zone)
    plan = _plan()
    previous = _previous_layout(plan)
    snap = _as_built(previous)
    # When today's plan is laid in the layout the VPC has
    adopted = adopt_route_tables(plan, snap.mine("route-table"))
    # Then it is that layout: the same tables, names, routes and members, and the CIDRs unchanged
    assert adopted["routeTables"] == previous["routeTables"]
    assert adopted["subnets"] == previous["subnets"] and adopted["gatewayEndpoints"] == previous["gatewayEndpoints"]
    assert [s["cidr"] for s in adopted["subnets"]] == [s["cidr"] for s in plan["subnets"]]
    # and a re-apply adds and refuses nothing, and Verify (the fleet audit) finds no drift
    changes = diff(adopted, snap)
    assert changes["added"] == [] and changes["refused"] == []
    assert check(adopted, snap, CLOSED_GROUP)[0] == []
    # (without adopting, the re-apply would move every private subnet: refused, naming the tables)
    refused = diff(plan, snap)["refused"]
    assert [r.split(" (")[0] for r in refused] == ["rtb/private/us-east-1a", "rtb/private/us-east-1b"]
    assert all(r.endswith("would be replaced: its subnets would move to rtb/private") for r in refused)


def test_a_zone_added_to_a_vpc_with_a_table_per_zone_gets_its_own_table_too() -> None:
    grown = plan_network(parse_spec({**copy.deepcopy(SPEC), "availabilityZones": 3}), region_zones())
    snap = _as_built(_previous_layout(_plan()))
    adopted = adopt_route_tables(grown, snap.mine("route-table"))
    changes = diff(adopted, snap)
    assert changes["refused"] == []
    assert "rtb/private/us-east-1d" in changes["added"] and "rtb/private" not in changes["added"]
    table = next(t for t in adopted["routeTables"] if t["logicalId"] == "rtb/private/us-east-1d")
    assert table["defaultRoute"] == {"target": "nat", "nat": "nat/us-east-1a"}
    assert table["subnets"] == ["subnet/private/us-east-1d"]


def test_a_vpc_built_with_one_table_per_tier_keeps_it_and_a_per_zone_spec_is_refused() -> None:
    plan = _plan()
    snap = _as_built(plan)
    assert adopt_route_tables(plan, snap.mine("route-table")) is plan  # nothing to adopt
    per_az = plan_network(parse_spec({**copy.deepcopy(SPEC), "natGateways": "per-az"}), region_zones())
    refused = diff(per_az, snap)["refused"]
    table = _route_table(snap, "rtb/private")["RouteTableId"]
    assert (
        f"rtb/private ({table}) would be replaced: its subnets would move to rtb/private/us-east-1a, "
        "rtb/private/us-east-1b" in refused
    )


# -- snapshot: one Describe per kind -----------------------------------------------------------------


class FakeEc2:
    """Answers every Describe with the same items whatever its filters (a filter is a hint, never
    trusted), and counts the calls."""

    def __init__(self, items: dict[str, list[dict[str, Any]]]) -> None:
        self.items = items
        self.calls: list[str] = []

    def can_paginate(self, method: str) -> bool:
        return False

    def __getattr__(self, method: str) -> Any:
        kind = next(k for k in KINDS if snake_case(k.operation) == method)

        def describe(**kwargs: Any) -> dict[str, Any]:
            self.calls.append(kind.operation)
            return {kind.key: copy.deepcopy(self.items.get(kind.name, []))}

        return describe


def test_a_snapshot_reads_each_kind_once_and_keeps_only_live_items_in_the_vpc() -> None:
    # Given an account with ours, someone else's, one in another VPC, a deleted NAT and a detached EIGW
    ec2 = FakeEc2(
        {
            "vpc": [{"VpcId": VPC_ID, "CidrBlock": "10.0.0.0/16", "Tags": _tags("vpc")}],
            "subnet": [
                {"SubnetId": "subnet-ours", "VpcId": VPC_ID, "Tags": _tags("subnet/a")},
                {"SubnetId": "subnet-theirs", "VpcId": VPC_ID, "Tags": []},
                {"SubnetId": "subnet-elsewhere", "VpcId": OTHER_VPC, "Tags": _tags("subnet/b")},
            ],
            "nat-gateway": [
                {"NatGatewayId": "nat-gone", "VpcId": VPC_ID, "State": "deleted", "Tags": _tags("nat/a")},
                {"NatGatewayId": "nat-failed", "VpcId": VPC_ID, "State": "failed", "Tags": _tags("nat/b")},
            ],
            "egress-only-internet-gateway": [
                {"EgressOnlyInternetGatewayId": "eigw-detached", "Attachments": [], "Tags": _tags("eigw")},
                {"EgressOnlyInternetGatewayId": "eigw-ours", "Attachments": [{"VpcId": VPC_ID}], "Tags": _tags("eigw")},
            ],
        }
    )
    kinds = [KIND[k] for k in ("vpc", "subnet", "nat-gateway", "egress-only-internet-gateway", "elastic-ip")]

    # When
    snap = inventory.snapshot(ec2, VPC_ID, Scope.of_vpc(VPC_ID, "inv"), kinds)

    # Then
    assert ec2.calls == [k.operation for k in kinds]
    assert snap.vpc["VpcId"] == VPC_ID
    assert [s["SubnetId"] for s in snap.all("subnet")] == ["subnet-ours", "subnet-theirs"]
    assert list(snap.mine("subnet")) == ["subnet/a"]
    assert [n["NatGatewayId"] for n in snap.all("nat-gateway")] == ["nat-failed"]  # live: every state but deleted
    assert snap.mine("egress-only-internet-gateway")["eigw"]["EgressOnlyInternetGatewayId"] == "eigw-ours"


def test_a_detached_internet_gateway_sits_in_no_vpc_but_an_egress_only_one_always_names_its_vpc() -> None:
    assert inventory.vpcs_of({"InternetGatewayId": "igw-1", "Attachments": []}) is None
    assert inventory.vpcs_of({"InternetGatewayId": "igw-1", "Attachments": [{"VpcId": VPC_ID}]}) == {VPC_ID}
    assert inventory.vpcs_of({"EgressOnlyInternetGatewayId": "eigw-1", "Attachments": []}) == set()


def test_a_vpc_scope_finds_what_sits_in_no_vpc_only_if_one_of_the_vpcs_builders_tagged_it() -> None:
    # Given detached internet gateways (the Describe answers all of them, whatever its filters)
    ec2 = FakeEc2(
        {
            "internet-gateway": [
                {"InternetGatewayId": "igw-ours", "Attachments": [], "Tags": _tags("igw")},
                {"InternetGatewayId": "igw-namesake", "Attachments": [], "Tags": _tags("igw", execution="build-9")},
                {"InternetGatewayId": "igw-other-name", "Attachments": [], "Tags": _tags("igw", name="other")},
                {"InternetGatewayId": "igw-untagged", "Attachments": [], "Tags": []},
                {"InternetGatewayId": "igw-elsewhere", "Attachments": [{"VpcId": OTHER_VPC}], "Tags": _tags("igw")},
            ]
        }
    )

    # When a destroy of the VPC built by EXECUTION (and a later build-2) looks for them
    found = inventory.owned_in_no_vpc(
        ec2, KIND["internet-gateway"], Scope.of_vpc(VPC_ID, "inv"), [EXECUTION, "build-2"]
    )

    # Then it gets only the detached one its spec name and one of its builders tagged, in one Describe;
    # an execution scope has nothing to find this way (its tag says all), and no builders mean nothing
    assert [i["InternetGatewayId"] for i in found] == ["igw-ours"]
    assert ec2.calls == ["DescribeInternetGateways"]
    assert inventory.owned_in_no_vpc(ec2, KIND["internet-gateway"], Scope.of_execution(EXECUTION), [EXECUTION]) == []
    assert inventory.owned_in_no_vpc(ec2, KIND["internet-gateway"], Scope.of_vpc(VPC_ID, "inv"), []) == []


def test_a_snapshot_leaves_out_a_detached_internet_gateway_whatever_the_describe_answered() -> None:
    ec2 = FakeEc2(
        {
            "internet-gateway": [
                {"InternetGatewayId": "igw-detached", "Attachments": [], "Tags": _tags("igw")},
                {"InternetGatewayId": "igw-ours", "Attachments": [{"VpcId": VPC_ID}], "Tags": _tags("igw")},
            ]
        }
    )
    snap = inventory.snapshot(ec2, VPC_ID, Scope.of_vpc(VPC_ID, "inv"), [KIND["internet-gateway"]])
    assert [i["InternetGatewayId"] for i in snap.all("internet-gateway")] == ["igw-ours"]


def test_a_snapshot_without_a_scope_does_not_read_elastic_ips() -> None:
    ec2 = FakeEc2({"elastic-ip": [{"AllocationId": "eipalloc-1", "Tags": _tags("eip/a")}]})
    snap = inventory.snapshot(ec2, VPC_ID, None, [KIND["elastic-ip"]])
    assert ec2.calls == [] and snap.all("elastic-ip") == [] and snap.mine("elastic-ip") == {}
