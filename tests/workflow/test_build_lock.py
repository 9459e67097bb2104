"""One build per network (account, Region, spec name) at a time, on the real build state machine:
concurrent builds of one name are refused at once with nothing created, a lock left by an ended
execution is taken over, and every ending of a build gives the lock back (issue 12, item 3)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from tests.workflow.conftest import TIME_SCALE
from tests.workflow.owned import execution_name, tagged_with_execution
from vpcfactory.tags import TAG_EXECUTION, TAG_VPC, tag_dict
from vpcfactory_tools.emulator.settings import EmulatorSettings
from vpcfactory_tools.execution_results import execution_name as new_execution_name
from vpcfactory_tools.execution_results import wait_for_execution

# Where a test needs a build to hold its lock for a while: NAT gateways pending 600 simulated
# seconds (the wait allows 660) at 5 ms each, 3 real seconds.
SLOWER = 0.005


def _locks(emu, name: str) -> list[dict]:
    """The lock items of spec name `name` (any account, Region)."""
    items = emu.client("dynamodb").scan(TableName=emu.stack.tables["BuildLocksTable"])["Items"]
    return [i for i in items if i["specName"]["S"] == name]


def _start(emu, payload, prefix: str) -> str:
    return emu.start_execution(emu.stack.build_arn, payload, new_execution_name(prefix))


def _states_entered(emu, execution_arn: str) -> list[str]:
    history = emu.client("stepfunctions").get_execution_history(executionArn=execution_arn, maxResults=1000)
    return [e["stateEnteredEventDetails"]["name"] for e in history["events"] if "stateEnteredEventDetails" in e]


def _wait_until(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_three_concurrent_builds_of_one_name_build_once_and_the_other_two_are_refused_with_nothing_created(
    emu, seed_spec
):
    # Given NAT gateways pending for a while (3 real seconds): the winner is still building when
    # the others are refused (they never get past Validate And Plan)
    emu.reconfigure(EmulatorSettings(time_scale=SLOWER, nat_pending_seconds=600))
    sfn = emu.client("stepfunctions")

    # When three builds of the same spec start at once
    arns = [_start(emu, seed_spec, f"build-{seed_spec['name']}-{n}") for n in range(3)]
    _wait_until(lambda: sum(sfn.describe_execution(executionArn=a)["status"] == "FAILED" for a in arns) == 2)
    running = [a for a in arns if sfn.describe_execution(executionArn=a)["status"] == "RUNNING"]
    assert len(running) == 1, "the two refused builds end while the winner is still building"
    (winner_arn,) = running
    # the refused builds left the winner's lock as it was
    assert [i["holder"]["S"] for i in _locks(emu, seed_spec["name"])] == [winner_arn]
    results = {a: wait_for_execution(sfn, a) for a in arns}

    # Then exactly one succeeds
    winner = results[winner_arn]
    assert winner.status == "SUCCEEDED", winner.cause
    # and the other two fail at once with BuildInProgress, naming the running build, in their own
    # Fail state: no rollback ran, nothing of theirs exists
    ec2 = emu.client("ec2")
    for arn, result in results.items():
        if arn == winner_arn:
            continue
        assert result.status == "FAILED"
        assert result.error == "BuildInProgress"
        assert execution_name(winner) in result.cause and "nothing was created" in result.cause
        entered = _states_entered(emu, arn)
        assert entered[-1] == "Build Already Running", entered
        assert not {"Roll Back", "Release Build Lock After Rollback", "Create VPC"} & set(entered), entered
        assert tagged_with_execution(ec2, execution_name(result)) == []

    # and the winner's network is whole: one VPC of that name, all of it the winner's
    named = ec2.describe_vpcs(Filters=[{"Name": f"tag:{TAG_VPC}", "Values": [seed_spec["name"]]}])["Vpcs"]
    assert [v["VpcId"] for v in named] == [winner.vpc_id]
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [winner.vpc_id]}])["Subnets"]
    assert len(subnets) == 6
    assert {tag_dict(s["Tags"])[TAG_EXECUTION] for s in subnets} == {execution_name(winner)}
    (nat,) = winner.output["natGateways"]
    assert ec2.describe_nat_gateways(NatGatewayIds=[nat["natGatewayId"]])["NatGateways"][0]["State"] == "available"
    # and its lock was given back when it ended
    assert _locks(emu, seed_spec["name"]) == []


def test_a_lock_left_by_a_stopped_build_is_taken_over_by_the_next_build_of_the_name(emu, seed_spec):
    # Given a build of the name stopped while it held the lock (in the VPC wait; at real speed the
    # wait lasts 2 s), which never reached a step that gives the lock back
    emu.reconfigure(EmulatorSettings(time_scale=1.0))
    sfn = emu.client("stepfunctions")
    stopped = _start(emu, seed_spec, f"build-{seed_spec['name']}-stopped")
    _wait_until(lambda: "Wait For VPC" in _states_entered(emu, stopped))
    sfn.stop_execution(executionArn=stopped)
    _wait_until(lambda: sfn.describe_execution(executionArn=stopped)["status"] == "ABORTED")
    assert [i["holder"]["S"] for i in _locks(emu, seed_spec["name"])] == [stopped]

    # When the name is built again
    emu.reconfigure(EmulatorSettings(time_scale=TIME_SCALE))
    result = emu.build(seed_spec)

    # Then that build takes the stale lock over, finishes the network (in the VPC the stopped
    # build had created) and gives the lock back
    assert result.status == "SUCCEEDED", result.cause
    assert result.output["changes"]["mode"] == "reconcile"
    assert _locks(emu, seed_spec["name"]) == []


def test_the_same_name_builds_at_once_in_two_target_accounts(emu, seed_spec):
    # Given one spec name for two accounts (two networks: a lock per account, Region and name)
    accounts = ["111111111111", "222222222222"]

    # When both builds start at once
    arns = [
        _start(emu, {"spec": seed_spec, "target": {"accountId": account}}, f"build-{account}") for account in accounts
    ]
    results = [wait_for_execution(emu.client("stepfunctions"), arn) for arn in arns]

    # Then both succeed, and neither left a lock
    assert [r.status for r in results] == ["SUCCEEDED", "SUCCEEDED"], [r.cause for r in results]
    assert results[0].vpc_id and results[1].vpc_id
    assert _locks(emu, seed_spec["name"]) == []


def test_the_lock_is_given_back_after_a_build_succeeds_and_the_next_build_of_the_name_proceeds(emu, seed_spec):
    first = emu.build(seed_spec)
    assert first.status == "SUCCEEDED", first.cause
    assert _locks(emu, seed_spec["name"]) == []

    second = emu.build(seed_spec)

    assert second.status == "SUCCEEDED", second.cause
    assert second.vpc_id == first.vpc_id


def test_the_lock_is_free_before_vpc_ready_is_announced_so_a_follow_up_build_is_not_refused(
    emu, seed_spec, monkeypatch
):
    # CloudFormation (a stack rolling back) or a consumer of "VPC Ready" may start the next build of
    # the name the moment it hears of this one: by then the lock must be free, although the
    # execution is still RUNNING for one more state.
    import vpcfactory.outcomes

    seen: list[list[dict]] = []
    announce = vpcfactory.outcomes.announce

    def recording(detail_type, detail):
        if detail_type == "VPC Ready":
            # read as the test, not as the handler (its role may not scan the table): another thread
            # does not carry the handler's invocation
            reader = threading.Thread(target=lambda: seen.append(_locks(emu, seed_spec["name"])))
            reader.start()
            reader.join()
        return announce(detail_type, detail)

    monkeypatch.setattr(vpcfactory.outcomes, "announce", recording)
    result = emu.build(seed_spec)

    assert result.status == "SUCCEEDED", result.cause
    assert seen == [[]], "VPC Ready was announced while the build still held its lock"


def test_the_lock_is_given_back_after_a_rollback_and_the_next_build_of_the_name_proceeds(emu, seed_spec):
    from vpcfactory_tools.emulator.faults import parse_fault

    # Given a build of the name that fails at its NAT gateway and rolls back
    emu.reconfigure(
        EmulatorSettings(time_scale=TIME_SCALE, faults=[parse_fault("CreateNatGateway:1=InsufficientAddressCapacity")])
    )
    failed = emu.build(seed_spec)
    assert failed.status == "FAILED" and "InsufficientAddressCapacity" in failed.cause
    assert "Release Build Lock After Rollback" in _states_entered(emu, failed.execution_arn)
    assert _locks(emu, seed_spec["name"]) == []

    # When the name is built again
    emu.reconfigure(EmulatorSettings(time_scale=TIME_SCALE))
    result = emu.build(seed_spec)

    # Then it builds
    assert result.status == "SUCCEEDED", result.cause


def test_a_build_refused_while_planning_gives_the_lock_back_at_once(emu, seed_spec):
    # Given a spec valid on its own that the region refuses (a zone it does not have): refused after
    # the lock was taken, before anything was created
    spec = {**seed_spec, "availabilityZones": ["us-east-1a", "us-east-1z"]}

    result = emu.build(spec)

    assert result.status == "FAILED" and result.error == "InvalidSpec", result.cause
    assert "us-east-1z" in result.cause
    assert _locks(emu, spec["name"]) == []


def test_the_lock_item_says_who_holds_it_and_expires_a_day_after(emu, seed_spec):
    # Given NAT gateways pending long enough to read the lock while the build runs
    emu.reconfigure(EmulatorSettings(time_scale=SLOWER, nat_pending_seconds=600))
    arn = _start(emu, seed_spec, f"build-{seed_spec['name']}")
    _wait_until(lambda: "Wait For NAT Gateways" in _states_entered(emu, arn))

    (item,) = _locks(emu, seed_spec["name"])

    assert item["holder"]["S"] == arn
    assert item["lockKey"]["S"] == f"123456789012/us-east-1/{seed_spec['name']}"
    assert int(item["expiresAt"]["N"]) - int(item["acquiredAt"]["N"]) == 24 * 3600
    ttl = emu.client("dynamodb").describe_time_to_live(TableName=emu.stack.tables["BuildLocksTable"])
    assert ttl["TimeToLiveDescription"] == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expiresAt"}
    assert wait_for_execution(emu.client("stepfunctions"), arn).status == "SUCCEEDED"


@contextmanager
def _role_statement_removed(emu, function: str, sid: str) -> Iterator[None]:
    """The function role's inline policy holding statement `sid`, without it; then put back."""
    iam = emu.client("iam")
    role = emu.stack.function_roles[function].rsplit("/", 1)[-1]
    for name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
        document = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
        document = json.loads(document) if isinstance(document, str) else document
        if any(s.get("Sid") == sid for s in document["Statement"]):
            break
    else:
        raise AssertionError(f"{function}'s role has no statement {sid}")
    edited = {**document, "Statement": [s for s in document["Statement"] if s.get("Sid") != sid]}
    iam.put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=json.dumps(edited))
    try:
        yield
    finally:
        iam.put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=json.dumps(document))


def test_without_its_lock_statement_validate_and_plan_is_refused_by_iam_before_anything_is_created(emu, seed_spec):
    with _role_statement_removed(emu, "ValidateSpecFunction", "TakeTheBuildLock"):
        result = emu.build(seed_spec)

    assert result.status == "FAILED" and result.error == "BuildLockFailed", result.cause
    assert "AccessDeniedException" in result.cause and "not authorized to perform: dynamodb:PutItem" in result.cause
    assert tagged_with_execution(emu.client("ec2"), execution_name(result)) == []


def test_asking_about_the_lock_holder_needs_describe_execution_on_build_executions(emu, seed_spec):
    # Given a build of the name holding the lock (its NAT gateways pending for a while)
    emu.reconfigure(EmulatorSettings(time_scale=SLOWER, nat_pending_seconds=600))
    holder = _start(emu, seed_spec, f"build-{seed_spec['name']}")
    _wait_until(lambda: "Create VPC" in _states_entered(emu, holder))

    # When another build of the name may not ask Step Functions about it
    with _role_statement_removed(emu, "ValidateSpecFunction", "AskWhetherTheLockHolderStillRuns"):
        refused = emu.build(seed_spec)

    # Then that build fails before creating anything, naming the call IAM refused
    assert refused.status == "FAILED" and refused.error == "BuildLockFailed", refused.cause
    assert "not authorized to perform: states:DescribeExecution" in refused.cause
    assert tagged_with_execution(emu.client("ec2"), execution_name(refused)) == []
    assert wait_for_execution(emu.client("stepfunctions"), holder).status == "SUCCEEDED"
