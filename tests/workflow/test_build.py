"""The real build state machine on the embedded emulator: what it builds, and what it leaves
when it cannot finish (nothing but what was there before)."""

from __future__ import annotations

import ipaddress

import pytest

from tests.workflow.owned import execution_name, tagged_with_execution
from vpcfactory.tags import TAG_EXECUTION, TAG_LOGICAL_ID, TAG_VPC, tag_dict

# Every mutating EC2 operation one build of examples/everything.yaml (every feature on) calls.
# The sweep below fails each in turn; test_the_fault_sweep_covers_every_mutating_call_of_a_build
# keeps this list honest against the calls a build really makes.
MUTATING_OPERATIONS = [
    "CreateVpc",
    "CreateSubnet",
    "ModifySubnetAttribute",
    "CreateInternetGateway",
    "AttachInternetGateway",
    "AllocateAddress",
    "CreateNatGateway",
    "CreateEgressOnlyInternetGateway",
    "CreateRouteTable",
    "AssociateRouteTable",
    "CreateRoute",
    "ModifyVpcAttribute",
    "RevokeSecurityGroupIngress",
    "RevokeSecurityGroupEgress",
    "CreateFlowLogs",
    "CreateVpcEndpoint",
]


def _default_route(table: dict) -> dict | None:
    return next((r for r in table["Routes"] if r.get("DestinationCidrBlock") == "0.0.0.0/0"), None)


def test_production_spec_builds_every_planned_subnet_route_and_tag(emu, production_spec):
    # Given the production example (3 AZs, NAT per AZ, isolated database tier)
    # When it is built
    result = emu.build(production_spec)

    # Then the execution succeeds with the VPC in its output
    assert result.status == "SUCCEEDED", result.cause
    out = result.output
    ec2 = emu.client("ec2")
    vpc = ec2.describe_vpcs(VpcIds=[out["vpcId"]])["Vpcs"][0]
    assert vpc["CidrBlock"] == production_spec["cidr"]
    assert vpc["State"] == "available"

    # every subnet has the planned CIDR, AZ and tier, and sits inside the VPC
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [out["vpcId"]]}])["Subnets"]
    assert len(subnets) == 9
    planned = {(s["tier"], s["az"]): s["cidr"] for s in _plan(emu, production_spec)["subnets"]}
    for subnet in subnets:
        tags = tag_dict(subnet["Tags"])
        tier = tags["vpcfactory:tier"]
        assert planned[(tier, subnet["AvailabilityZone"])] == subnet["CidrBlock"]
        assert ipaddress.ip_network(subnet["CidrBlock"]).subnet_of(ipaddress.ip_network(production_spec["cidr"]))
        assert tags["Name"] == f"{production_spec['name']}-{tier}-{subnet['AvailabilityZone']}"
        assert subnet["MapPublicIpOnLaunch"] is False
    assert {tag_dict(s["Tags"])["vpcfactory:tier"] for s in subnets} == {"public", "private", "database"}

    # every subnet's route table sends 0.0.0.0/0 where its tier says
    nats = {
        n["NatGatewayId"]: n
        for n in ec2.describe_nat_gateways(Filters=[{"Name": "vpc-id", "Values": [out["vpcId"]]}])["NatGateways"]
    }
    assert len(nats) == 3 and all(n["State"] == "available" for n in nats.values())
    nat_az = {nid: _subnet_az(subnets, n["SubnetId"]) for nid, n in nats.items()}
    assert sorted(nat_az.values()) == sorted(out["availabilityZones"])
    tables = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [out["vpcId"]]}])["RouteTables"]
    table_of = {a["SubnetId"]: t for t in tables for a in t["Associations"] if a.get("SubnetId")}
    for subnet in subnets:
        tier = tag_dict(subnet["Tags"])["vpcfactory:tier"]
        route = _default_route(table_of[subnet["SubnetId"]])
        if tier == "public":
            assert route["GatewayId"] == out["internetGatewayId"]
        elif tier == "private":
            assert nat_az[route["NatGatewayId"]] == subnet["AvailabilityZone"], "private must use its own AZ's NAT"
        else:
            assert route is None, "an isolated tier has no internet route"

    # every resource carries the ownership tags, the spec's tags and a Name
    execution = execution_name(result)
    owned = [vpc, *subnets, *nats.values(), *[t for t in tables if not _is_main(t)]]
    owned += ec2.describe_internet_gateways(InternetGatewayIds=[out["internetGatewayId"]])["InternetGateways"]
    owned += ec2.describe_addresses(AllocationIds=[n["allocationId"] for n in out["natGateways"]])["Addresses"]
    for item in owned:
        tags = tag_dict(item.get("Tags"))
        assert tags[TAG_VPC] == production_spec["name"]
        assert tags[TAG_EXECUTION] == execution
        assert tags[TAG_LOGICAL_ID]
        assert tags["Name"].startswith(production_spec["name"])
        for key, value in production_spec["tags"].items():
            assert tags[key] == value


def test_seed_spec_builds_the_seed_posts_network_with_the_database_tier_behind_the_nat(emu, seed_spec):
    result = emu.build(seed_spec)

    assert result.status == "SUCCEEDED", result.cause
    subnets = result.output["subnets"]
    assert [s["cidr"] for s in subnets["public"]] == ["10.0.1.0/24", "10.0.2.0/24"]
    assert [s["cidr"] for s in subnets["private"]] == ["10.0.11.0/24", "10.0.12.0/24"]
    assert [s["cidr"] for s in subnets["database"]] == ["10.0.21.0/24", "10.0.22.0/24"]
    (nat,) = result.output["natGateways"]
    routes = {rt["tier"]: rt["defaultRoute"] for rt in result.output["routeTables"] if rt["tier"] != "public"}
    assert set(routes.values()) == {nat["natGatewayId"]}, "seed routes private and database through its one NAT"


def test_applying_the_same_spec_again_reconciles_into_its_vpc_and_creates_nothing(emu, seed_spec):
    first = emu.build(seed_spec)
    second = emu.build(seed_spec)

    assert first.status == second.status == "SUCCEEDED", second.cause
    assert second.vpc_id == first.vpc_id
    assert second.output["changes"] == {
        "mode": "reconcile",
        "vpcId": first.vpc_id,
        "added": [],
        "unchanged": 10,  # 6 subnets, 1 NAT, 3 route tables (public; private and database: one NAT, one each)
    }
    assert second.output["subnets"] == first.output["subnets"]
    assert tagged_with_execution(emu.client("ec2"), execution_name(second)) == []


def test_a_nat_gateway_stuck_in_pending_ends_the_wait_and_rolls_back(emu, seed_spec):
    from vpcfactory_tools.emulator.settings import EmulatorSettings

    # Given NAT gateways that never leave `pending` (the default bound is 60 s + 120 x 5 s)
    emu.reconfigure(EmulatorSettings(time_scale=0.0002, nat_pending_seconds=10**9))

    result = emu.build(seed_spec)

    assert result.status == "FAILED"
    assert result.error == "WaitTimedOut"
    assert tagged_with_execution(emu.client("ec2"), execution_name(result)) == []


def test_a_nat_gateway_that_goes_failed_ends_the_wait_with_its_failure_code_and_rolls_back(emu, production_spec):
    from vpcfactory_tools.emulator.settings import EmulatorSettings

    # Given AWS accepts the NAT gateways, then fails them
    emu.reconfigure(EmulatorSettings(time_scale=0.001, nat_failure_code="InsufficientFreeAddressesInSubnet"))

    result = emu.build(production_spec)

    assert result.status == "FAILED"
    assert result.error == "NatGatewayFailed"
    assert "InsufficientFreeAddressesInSubnet" in result.cause
    assert tagged_with_execution(emu.client("ec2"), execution_name(result)) == []


@pytest.mark.slow
@pytest.mark.parametrize("operation", MUTATING_OPERATIONS)
def test_a_fault_at_any_mutating_call_fails_the_build_and_leaves_only_what_existed_before(
    emu, everything_spec, operation
):
    from vpcfactory_tools.emulator.faults import parse_fault
    from vpcfactory_tools.emulator.settings import EmulatorSettings

    # Given a VPC and an EIP that existed before the run (untagged, not the factory's)
    ec2 = emu.client("ec2")
    before_vpc = ec2.create_vpc(CidrBlock="10.99.0.0/16")["Vpc"]["VpcId"]
    before_eip = ec2.allocate_address(Domain="vpc")["AllocationId"]
    emu.reconfigure(EmulatorSettings(time_scale=0.001, faults=[parse_fault(operation)]))

    # When the first call of `operation` fails with InternalError
    result = emu.build(everything_spec)

    # Then the build fails with that error, after rolling back everything it created
    assert result.status == "FAILED"
    assert result.error == "AwsCallFailed"
    assert operation in result.cause and "InternalError" in result.cause
    assert tagged_with_execution(ec2, execution_name(result)) == []
    assert ec2.describe_vpcs(VpcIds=[before_vpc])["Vpcs"][0]["State"] == "available"
    assert ec2.describe_addresses(AllocationIds=[before_eip])["Addresses"]


def test_a_fault_midway_through_a_stage_rolls_back_the_part_already_created(emu, production_spec):
    from vpcfactory_tools.emulator.faults import parse_fault
    from vpcfactory_tools.emulator.settings import EmulatorSettings

    emu.reconfigure(
        EmulatorSettings(time_scale=0.001, faults=[parse_fault("CreateSubnet:5=InsufficientFreeAddressesInSubnet")])
    )

    result = emu.build(production_spec)

    assert result.status == "FAILED"
    assert "InsufficientFreeAddressesInSubnet" in result.cause
    assert tagged_with_execution(emu.client("ec2"), execution_name(result)) == []


def test_the_fault_sweep_covers_every_mutating_call_of_a_build(emu, everything_spec):
    from vpcfactory_tools.emulator import faults

    faults.reset()
    result = emu.build(everything_spec)

    assert result.status == "SUCCEEDED"
    called = {op for op, n in faults.call_counts().items() if n and not op.startswith("Describe")}
    assert called == set(MUTATING_OPERATIONS)


def _plan(emu, spec):
    from vpcfactory.plan import plan_network
    from vpcfactory.spec import parse_spec

    zones = emu.client("ec2").describe_availability_zones()["AvailabilityZones"]
    return plan_network(parse_spec(spec), zones)


def _subnet_az(subnets, subnet_id):
    return next(s["AvailabilityZone"] for s in subnets if s["SubnetId"] == subnet_id)


def _is_main(table):
    return any(a.get("Main") for a in table.get("Associations", []))


def _states_entered(emu, execution_arn: str) -> list[str]:
    sfn = emu.client("stepfunctions")
    events = []
    for page in sfn.get_paginator("get_execution_history").paginate(executionArn=execution_arn):
        events += page["events"]
    return [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e]


def test_an_invalid_spec_started_directly_fails_with_the_field_before_any_aws_call(emu, production_spec):
    from vpcfactory_tools.emulator import faults

    faults.reset()
    bad = {
        **production_spec,
        "tiers": [*production_spec["tiers"], {"name": "extra", "type": "dmz", "prefixLength": 24}],
    }

    result = emu.build(bad)

    assert result.status == "FAILED"
    assert result.error == "InvalidSpec"
    assert "tiers[3].type" in result.cause
    assert sum(faults.call_counts().values()) == 0, "validation must come before any EC2 call"
    assert _states_entered(emu, result.execution_arn)[-1] == "Spec Rejected"


def test_a_throttled_describe_availability_zones_ends_as_build_failed_not_spec_rejected(emu, production_spec):
    from vpcfactory_tools.emulator.faults import CallRef
    from vpcfactory_tools.emulator.settings import EmulatorSettings

    # Given EC2 throttling every attempt from Validate And Plan's DescribeAvailabilityZones on
    emu.reconfigure(
        EmulatorSettings(time_scale=0.001, throttle=1.0, throttle_from=CallRef("DescribeAvailabilityZones", 1))
    )

    result = emu.build(production_spec)

    # Then the build fails with AwsThrottled in Build Failed: the spec was fine, AWS was busy
    assert result.status == "FAILED"
    assert result.error == "AwsThrottled", result.cause
    assert "DescribeAvailabilityZones" in result.cause
    entered = _states_entered(emu, result.execution_arn)
    assert entered[-1] == "Build Failed", entered
    assert "Create VPC" not in entered
    emu.reconfigure(EmulatorSettings(time_scale=0.001))  # the test's own client is throttled too
    assert tagged_with_execution(emu.client("ec2"), execution_name(result)) == []


def test_a_rollback_that_cannot_finish_fails_with_the_original_error_the_rollback_error_and_what_is_left(
    emu, seed_spec
):
    import json

    from vpcfactory_tools.emulator.faults import parse_fault
    from vpcfactory_tools.emulator.settings import EmulatorSettings

    # Given a build that fails at its second CreateRoute, and a VPC the rollback may not delete
    emu.reconfigure(
        EmulatorSettings(
            time_scale=0.001,
            faults=[parse_fault("CreateRoute:2"), parse_fault("DeleteVpc:1=UnauthorizedOperation")],
        )
    )

    result = emu.build(seed_spec)

    # Then the execution says so, never silently: original error, rollback error, leftovers
    assert result.status == "FAILED"
    assert result.error == "RollbackIncomplete"
    report = json.loads(result.cause)
    assert report["originalError"]["Error"] == "AwsCallFailed" and "CreateRoute" in report["originalError"]["Cause"]
    assert "UnauthorizedOperation" in report["teardownError"]["Cause"]
    assert [(left["type"], left["logicalId"]) for left in report["leftovers"]] == [("vpc", "vpc")]
    assert tagged_with_execution(emu.client("ec2"), execution_name(result)) == [report["leftovers"][0]["id"]]


def test_a_run_answers_what_polling_describe_execution_answers_after_asking_it_once(emu, seed_spec, monkeypatch):
    from vpcfactory_tools.execution_results import wait_for_execution

    sfn = emu.client("stepfunctions")
    asked: list[str] = []
    describe = sfn.describe_execution

    def counted(**kwargs):
        asked.append(kwargs["executionArn"])
        return describe(**kwargs)

    monkeypatch.setattr(sfn, "describe_execution", counted)

    # When a build runs to its end
    result = emu.build(seed_spec)

    # Then the run waited in the process and asked DescribeExecution once, for the same answer
    assert result.status == "SUCCEEDED"
    assert asked == [result.execution_arn]
    assert wait_for_execution(sfn, result.execution_arn) == result
    # an execution the engine does not know is left to DescribeExecution
    missing = result.execution_arn.rsplit(":", 1)[0] + ":no-such-execution"
    with pytest.raises(sfn.exceptions.ExecutionDoesNotExist):
        emu.wait(missing, timeout=1)


def test_a_run_that_outlasts_its_timeout_says_so_with_the_whole_timeout(emu, seed_spec):
    from vpcfactory_tools.execution_results import execution_name as new_name

    arn = emu.start_execution(emu.stack.build_arn, seed_spec, new_name("build-timeout"))

    with pytest.raises(TimeoutError, match=r"still RUNNING after 0\.05s"):
        emu.wait(arn, timeout=0.05)
    assert emu.wait(arn).status == "SUCCEEDED"  # and it goes on to its end
