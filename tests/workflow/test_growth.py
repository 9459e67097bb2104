"""Day-2 growth: applying a changed spec to the VPC it built adds what is new and touches
nothing that exists; anything destructive is refused unless a replacement is allowed."""

from __future__ import annotations

from tests.workflow.owned import execution_name, tagged_with_execution
from vpcfactory import plan as planner
from vpcfactory.handlers.audit_network import differences
from vpcfactory.plan import plan_network
from vpcfactory.spec import parse_spec
from vpcfactory.tags import TAG_LOGICAL_ID, tag_dict


def _snapshot(ec2, vpc_id):
    """Every subnet, NAT and route table in the VPC: id, CIDR/state, routes."""
    in_vpc = [{"Name": "vpc-id", "Values": [vpc_id]}]

    def logical(item):
        return tag_dict(item.get("Tags")).get(TAG_LOGICAL_ID, "main")

    return {
        "subnets": {
            logical(s): (s["SubnetId"], s["CidrBlock"]) for s in ec2.describe_subnets(Filters=in_vpc)["Subnets"]
        },
        "nats": {
            logical(n): (n["NatGatewayId"], n["State"])
            for n in ec2.describe_nat_gateways(Filters=in_vpc)["NatGateways"]
        },
        "routes": {
            logical(t): (t["RouteTableId"], sorted(str(sorted(r.items())) for r in t["Routes"]))
            for t in ec2.describe_route_tables(Filters=in_vpc)["RouteTables"]
        },
    }


def test_growing_from_two_to_three_zones_and_adding_a_tier_changes_nothing_that_exists(emu, production_spec):
    # Given the production example built in 2 zones
    small = {**production_spec, "availabilityZones": 2}
    first = emu.build(small)
    assert first.status == "SUCCEEDED", first.cause
    ec2 = emu.client("ec2")
    before = _snapshot(ec2, first.vpc_id)

    # When the same spec (same name) is applied with a third zone and a new tier
    grown = {
        **small,
        "availabilityZones": 3,
        "tiers": [*small["tiers"], {"name": "cache", "type": "isolated", "prefixLength": 26}],
    }
    second = emu.build(grown)

    # Then the same VPC grew: every existing subnet, NAT and route table is exactly as it was
    assert second.status == "SUCCEEDED", second.cause
    assert second.vpc_id == first.vpc_id
    after = _snapshot(ec2, first.vpc_id)
    for kind in ("subnets", "nats"):
        for logical, value in before[kind].items():
            assert after[kind][logical] == value, f"{logical} changed"
    for logical, (table_id, routes) in before["routes"].items():
        if logical in ("rtb/public", "main"):  # shared tables: only associations may be added
            assert after["routes"][logical][0] == table_id
            continue
        assert after["routes"][logical] == (table_id, routes), f"{logical} changed"
    # and reports what it added
    zone = second.output["availabilityZones"][2]
    added = second.output["changes"]["added"]
    assert second.output["changes"]["mode"] == "reconcile"
    assert {
        f"subnet/public/{zone}",
        f"subnet/private/{zone}",
        f"nat/{zone}",
        "subnet/cache/us-east-1a",
    } <= set(added)
    assert len(after["subnets"]) == 12 and len(after["nats"]) == 3


def test_a_destructive_change_is_refused_before_anything_is_created(emu, production_spec):
    first = emu.build(production_spec)
    assert first.status == "SUCCEEDED", first.cause
    ec2 = emu.client("ec2")
    before = _snapshot(ec2, first.vpc_id)

    shrunk = {**production_spec, "availabilityZones": 2, "cidr": "10.9.0.0/16"}
    result = emu.build(shrunk)

    assert result.status == "FAILED"
    assert result.error == "ReplacementRequired"
    assert "cidr" in result.cause and "would be removed" in result.cause and "--allow-replace" in result.cause
    history = emu.client("stepfunctions").get_execution_history(executionArn=result.execution_arn, reverseOrder=True)
    assert history["events"][1]["stateEnteredEventDetails"]["name"] == "Spec Rejected"  # a refusal, by its name
    assert tagged_with_execution(ec2, execution_name(result)) == []
    assert _snapshot(ec2, first.vpc_id) == before


def test_allowing_replacement_builds_a_new_vpc_and_leaves_the_old_one(emu, production_spec):
    first = emu.build(production_spec)
    assert first.status == "SUCCEEDED", first.cause

    changed = {**production_spec, "cidr": "10.9.0.0/16"}
    second = emu.build({"spec": changed, "allowReplace": True})

    assert second.status == "SUCCEEDED", second.cause
    assert second.vpc_id != first.vpc_id
    assert second.output["changes"]["mode"] == "replace"
    assert second.output["changes"]["replaces"] == [first.vpc_id]
    assert any("cidr" in reason for reason in second.output["changes"]["because"])
    assert second.output["cidr"] == "10.9.0.0/16"
    assert emu.client("ec2").describe_vpcs(VpcIds=[first.vpc_id])["Vpcs"]


def test_a_failed_growth_rolls_back_only_what_it_added(emu, production_spec):
    from vpcfactory_tools.emulator.faults import parse_fault
    from vpcfactory_tools.emulator.settings import EmulatorSettings

    small = {**production_spec, "availabilityZones": 2}
    first = emu.build(small)
    assert first.status == "SUCCEEDED", first.cause
    ec2 = emu.client("ec2")
    before = _snapshot(ec2, first.vpc_id)

    # the growth fails at its one new route (the new zone's private default route), after it
    # added subnets, a NAT, a route table and an association to the existing public table
    emu.reconfigure(EmulatorSettings(time_scale=0.001, faults=[parse_fault("CreateRoute:1")]))
    grown = emu.build({**small, "availabilityZones": 3})

    assert grown.status == "FAILED"
    assert tagged_with_execution(ec2, execution_name(grown)) == []
    after = _snapshot(ec2, first.vpc_id)
    assert after["subnets"] == before["subnets"]
    assert {k: v for k, v in after["nats"].items() if v[1] != "deleted"} == before["nats"]
    assert after["routes"] == before["routes"]
    public = ec2.describe_route_tables(RouteTableIds=[before["routes"]["rtb/public"][0]])["RouteTables"][0]
    assert sorted(a["SubnetId"] for a in public["Associations"]) == sorted(
        v[0] for k, v in before["subnets"].items() if k.startswith("subnet/public/")
    ), "the new zone's association to the existing public table is undone"


def test_a_vpc_built_with_a_route_table_per_zone_is_reapplied_audited_and_destroyed_as_it_is(
    emu, seed_spec, monkeypatch
):
    # Given the seed network as the factory built it before a single NAT's private tiers shared one
    # route table each: a private table per zone (the handlers run in this process)
    monkeypatch.setattr(planner, "ONE_NAT_MODES", ())
    first = emu.build(seed_spec)
    monkeypatch.undo()
    assert first.status == "SUCCEEDED", first.cause
    ec2 = emu.client("ec2")
    before = _snapshot(ec2, first.vpc_id)
    zones = first.output["availabilityZones"]
    assert {f"rtb/{tier}/{zone}" for tier in ("private", "database") for zone in zones} <= set(before["routes"])

    # When today's factory applies the same spec again
    second = emu.build(seed_spec)

    # Then it grows nothing and touches nothing: every table, route and subnet is as it was
    assert second.status == "SUCCEEDED", second.cause
    assert second.output["changes"] == {"mode": "reconcile", "vpcId": first.vpc_id, "added": [], "unchanged": 12}
    assert _snapshot(ec2, first.vpc_id) == before
    assert tagged_with_execution(ec2, execution_name(second)) == []
    assert [t["az"] for t in second.output["routeTables"] if t["tier"] == "private"] == zones
    # and the fleet audit (growth.compare + verify.find_problems) finds no drift
    plan = plan_network(parse_spec(seed_spec), ec2.describe_availability_zones()["AvailabilityZones"])
    assert differences(plan, ec2) == (first.vpc_id, [])
    # and a destroy removes it all
    destroyed = emu.destroy(first.vpc_id)
    assert destroyed.status == "SUCCEEDED", destroyed.cause
    assert tagged_with_execution(ec2, execution_name(first)) == []
    assert not ec2.describe_vpcs(Filters=[{"Name": "vpc-id", "Values": [first.vpc_id]}])["Vpcs"]


def test_a_single_nat_network_going_per_az_is_refused_naming_the_shared_tables(emu, seed_spec):
    first = emu.build(seed_spec)
    assert first.status == "SUCCEEDED", first.cause

    result = emu.build({**seed_spec, "natGateways": "per-az"})

    assert result.status == "FAILED" and result.error == "ReplacementRequired"
    for tier in ("private", "database"):
        assert f"rtb/{tier} (rtb-" in result.cause and "would be replaced: its subnets would move to" in result.cause
    assert tagged_with_execution(emu.client("ec2"), execution_name(result)) == []
