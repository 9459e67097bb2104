"""Each handler on moto, invoked twice with the same input (Lambda and Step Functions both retry):
the second call finds what the first created and creates nothing new."""

from __future__ import annotations

import time
from collections import Counter

import boto3
import pytest
from moto import mock_aws

from tests.conftest import load_example
from tests.lambda_context import LambdaContext
from vpcfactory import aws
from vpcfactory.handlers import (
    add_nat_routes,
    allocate_eips,
    check_nat_deletion,
    check_nat_gateways,
    configure_vpc,
    create_internet_gateway,
    create_nat_gateways,
    create_route_tables,
    create_subnets,
    create_vpc,
    finish_teardown,
    start_teardown,
    validate_spec,
    verify_network,
)
from vpcfactory_tools.emulator import faults, fidelity
from vpcfactory_tools.emulator.settings import EmulatorSettings, configure

EXECUTION = "idempotency-test"


def invoke(module, **event):
    return module.handler({"execution": EXECUTION, **event}, LambdaContext())


def twice(module, **event):
    first = invoke(module, **event)
    second = invoke(module, **event)
    assert first == second, f"{module.__name__} is not idempotent"
    return first


@pytest.fixture
def ec2():
    fidelity.install()
    # one EC2 request at a time, as in the emulator: the handlers send a stage's calls side by side,
    # and plain moto's backend is not safe under concurrent requests (test_emulator_concurrency.py)
    faults.install()
    configure(EmulatorSettings(time_scale=0.0001))
    with mock_aws():
        aws.reset_clients()
        yield boto3.client("ec2", region_name="us-east-1")
    aws.reset_clients()


def count(ec2, op: str, key: str) -> int:
    items = getattr(ec2, op)(Filters=[{"Name": "tag:vpcfactory:execution", "Values": [EXECUTION]}])[key]
    return len([i for i in items if i.get("State") != "deleted"])


def until_done(module, **event):
    wait = event.pop("wait")
    while wait["status"] != "done":
        time.sleep(0.01)
        wait = invoke(module, wait=wait, **event)
    return wait


def test_every_build_handler_run_twice_creates_each_resource_once(ec2):
    # Given the production example planned
    planned = twice(validate_spec, input=load_example("production.yaml"))
    plan = planned["plan"]

    # When every stage runs twice with the same input
    vpc = twice(create_vpc, plan=plan)
    subnets = twice(create_subnets, plan=plan, vpcId=vpc["vpcId"])
    igw = twice(create_internet_gateway, plan=plan, vpcId=vpc["vpcId"])
    eips = twice(allocate_eips, plan=plan)
    network = [subnets, igw, eips]
    nats = twice(create_nat_gateways, plan=plan, network=network, poll={"intervalSeconds": "1", "maxAttempts": "500"})
    until_done(check_nat_gateways, ids=nats["ids"], wait=nats["wait"], poll={"maxAttempts": "5000"})
    tables = twice(create_route_tables, plan=plan, vpcId=vpc["vpcId"], network=network)
    role = boto3.client("iam").create_role(RoleName="flow-logs", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    settings = twice(
        configure_vpc, plan=plan, vpcId=vpc["vpcId"], routeTables=tables["routeTables"], flowLogsRoleArn=role
    )
    assert settings["flowLogId"].startswith("fl-") and len(settings["gatewayEndpoints"]) == 2
    twice(add_nat_routes, plan=plan, routing=[nats, tables])
    out = twice(verify_network, plan=plan, vpcId=vpc["vpcId"])

    # Then each resource exists exactly once
    assert count(ec2, "describe_vpcs", "Vpcs") == 1
    assert count(ec2, "describe_subnets", "Subnets") == len(plan["subnets"]) == 9
    assert count(ec2, "describe_internet_gateways", "InternetGateways") == 1
    assert count(ec2, "describe_addresses", "Addresses") == 3
    assert count(ec2, "describe_nat_gateways", "NatGateways") == 3
    assert count(ec2, "describe_route_tables", "RouteTables") == len(plan["routeTables"])
    table = ec2.describe_route_tables(RouteTableIds=[out["routeTables"][1]["routeTableId"]])["RouteTables"][0]
    assert [r for r in table["Routes"] if r.get("DestinationCidrBlock") == "0.0.0.0/0"][0]["NatGatewayId"]

    # And the teardown steps, also run twice each, remove all of it
    scope = {"execution": EXECUTION}
    poll = {"intervalSeconds": "1", "maxAttempts": "5000"}
    started = invoke(start_teardown, scope=scope, poll=poll)
    assert sorted(started["deletingIds"]) == sorted(n["natGatewayId"] for n in out["natGateways"])
    # run again, it asks for nothing new: only NATs still on their way to `deleted` are listed
    again = invoke(start_teardown, scope=scope, poll=poll)
    assert set(again["deletingIds"]) <= set(started["deletingIds"])
    until_done(
        check_nat_deletion,
        scope=scope,
        deletingIds=started["deletingIds"],
        wait=started["wait"],
        poll={"maxAttempts": "5000"},
    )
    invoke(finish_teardown, scope=scope)
    assert invoke(finish_teardown, scope=scope) == {"deleted": {}}
    for op, key in (
        ("describe_vpcs", "Vpcs"),
        ("describe_subnets", "Subnets"),
        ("describe_addresses", "Addresses"),
        ("describe_internet_gateways", "InternetGateways"),
        ("describe_route_tables", "RouteTables"),
        ("describe_nat_gateways", "NatGateways"),
    ):
        assert count(ec2, op, key) == 0, op


def test_a_create_handler_rerun_after_a_partial_failure_completes_without_duplicates(ec2):
    from vpcfactory_tools.emulator.faults import install, parse_fault, reset

    install()
    reset()  # "the 4th CreateSubnet" counts from here, whatever earlier modules called
    plan = invoke(validate_spec, input=load_example("production.yaml"))["plan"]
    vpc = invoke(create_vpc, plan=plan)
    configure(EmulatorSettings(time_scale=0.0001, faults=[parse_fault("CreateSubnet:4")]))
    with pytest.raises(Exception, match="InternalError"):
        invoke(create_subnets, plan=plan, vpcId=vpc["vpcId"])
    # The creates go out side by side (fanout.each): the three before the failed one, and those
    # already in flight with it, exist -- every one tagged with the execution (count filters on it),
    # so the rollback finds them all; the failed one was never created.
    assert 3 <= count(ec2, "describe_subnets", "Subnets") <= 8

    configure(EmulatorSettings(time_scale=0.0001))
    subnets = invoke(create_subnets, plan=plan, vpcId=vpc["vpcId"])

    assert count(ec2, "describe_subnets", "Subnets") == 9
    assert len({s["subnetId"] for s in subnets["subnets"].values()}) == 9


FIRST_ATTEMPT = {"retry": 0, "redrive": 0}  # what the ASL passes on a task's first attempt


def _ec2_calls() -> Counter[str]:
    """The EC2 operations the handlers' client makes from now on (it is cached: aws.client)."""
    calls: Counter[str] = Counter()
    aws.client("ec2").meta.events.register("before-call.ec2", lambda model, **_: calls.update([model.name]))
    return calls


def _as_first_created(parsed, **_):
    """A CreateRouteTable answer as the table was when first created: no association, local route only."""
    table = parsed.get("RouteTable") or {}
    table["Associations"] = []
    table["Routes"] = [r for r in table.get("Routes", []) if r.get("GatewayId") == "local"]


def test_a_first_attempt_skips_its_lookups_and_delivered_twice_still_creates_each_resource_once(ec2):
    # Given the seed example with only the script's features (one NAT: a route table per tier)
    spec = {**load_example("seed.yaml"), "flowLogs": False, "gatewayEndpoints": False}
    plan = invoke(validate_spec, input={**spec, "lockDownDefaultSecurityGroup": False})["plan"]
    vpc_id = invoke(create_vpc, plan=plan)["vpcId"]
    calls = _ec2_calls()

    # When each create of the first attempt runs once
    subnets = invoke(create_subnets, plan=plan, vpcId=vpc_id, attempt=FIRST_ATTEMPT)
    igw = invoke(create_internet_gateway, plan=plan, vpcId=vpc_id)
    eips = invoke(allocate_eips, plan=plan)
    network = [subnets, igw, eips]
    poll = {"intervalSeconds": "1", "maxAttempts": "500"}
    nats = invoke(create_nat_gateways, plan=plan, network=network, poll=poll, attempt=FIRST_ATTEMPT)
    before_wait = calls.copy()
    until_done(check_nat_gateways, ids=nats["ids"], wait=nats["wait"], poll={"maxAttempts": "5000"})
    calls.subtract(calls - before_wait)  # (the wait's own polls are not lookups)
    tables = invoke(create_route_tables, plan=plan, vpcId=vpc_id, network=network, attempt=FIRST_ATTEMPT)
    routes = invoke(add_nat_routes, plan=plan, routing=[nats, tables], attempt=FIRST_ATTEMPT)

    # Then it looked nothing up before creating subnets, NATs, tables and routes (nothing of this
    # execution could exist yet); the internet gateway and the Elastic IP (no ClientToken) it did
    assert {op: n for op, n in calls.items() if op.startswith("Describe") and n} == {
        "DescribeInternetGateways": 1,
        "DescribeAddresses": 1,
    }
    assert (calls["CreateRouteTable"], calls["CreateRoute"]) == (3, 1 + 2)  # public, private, database

    # And when Lambda delivers each of those events again, every handler answers the same, EC2's
    # own answers (ClientToken, InvalidSubnet.Conflict, Resource.AlreadyAssociated,
    # RouteAlreadyExists) turn the second run into a lookup, and nothing exists twice
    calls.clear()
    assert invoke(create_subnets, plan=plan, vpcId=vpc_id, attempt=FIRST_ATTEMPT) == subnets
    assert calls["DescribeSubnets"] == 1
    assert invoke(create_nat_gateways, plan=plan, network=network, poll=poll, attempt=FIRST_ATTEMPT) == nats
    # (AWS may answer a repeated token with the table as first created, without what was done to
    # it since: then the associations are refused, Resource.AlreadyAssociated, and looked up)
    aws.client("ec2").meta.events.register("after-call.ec2.CreateRouteTable", _as_first_created)
    assert invoke(create_route_tables, plan=plan, vpcId=vpc_id, network=network, attempt=FIRST_ATTEMPT) == tables
    assert calls["DescribeRouteTables"] == 1
    assert invoke(add_nat_routes, plan=plan, routing=[nats, tables], attempt=FIRST_ATTEMPT) == routes
    assert calls["DescribeRouteTables"] == 2  # RouteAlreadyExists: read, and found as wanted
    assert calls["ReplaceRoute"] == 0 and calls["DescribeSubnets"] == 1
    assert count(ec2, "describe_subnets", "Subnets") == 6
    assert count(ec2, "describe_nat_gateways", "NatGateways") == 1
    assert count(ec2, "describe_route_tables", "RouteTables") == 3
    assert calls["CreateNatGateway"] == 1 and calls["CreateRouteTable"] == 3  # answered by their ClientTokens
    verified = invoke(verify_network, plan=plan, vpcId=vpc_id, cidr=plan["cidr"])
    assert [(t["tier"], len(t["subnetIds"])) for t in verified["routeTables"]] == [
        ("public", 2),
        ("private", 2),
        ("database", 2),
    ]


@pytest.mark.parametrize("attempt", [None, {"retry": 1, "redrive": 0}, {"retry": 0, "redrive": 1}])
def test_a_retried_or_redriven_task_looks_up_before_creating(ec2, attempt):
    plan = invoke(validate_spec, input=load_example("seed.yaml"))["plan"]
    vpc_id = invoke(create_vpc, plan=plan)["vpcId"]
    calls = _ec2_calls()

    invoke(create_subnets, plan=plan, vpcId=vpc_id, **({"attempt": attempt} if attempt else {}))

    assert calls["DescribeSubnets"] == 1 and calls["CreateSubnet"] == 6
