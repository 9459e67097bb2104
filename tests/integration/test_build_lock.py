"""The build lock (functions/vpcfactory/build_lock.py) on moto: who may take it, when a held lock is
stale, who may give it back; and the emulator patch that makes moto decide a conditional write as
one step, as DynamoDB does (emulator/conditional_writes.py)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import boto3
import pytest
from moto import mock_aws

from vpcfactory import aws, build_lock
from vpcfactory.errors import BuildInProgress, BuildLockFailed
from vpcfactory_tools.emulator import conditional_writes
from vpcfactory_tools.emulator.patching import source_fingerprints

REGION = "us-east-1"
TABLE = "locks"
TARGET = {"accountId": "111111111111", "region": "eu-west-1", "roleName": "AWSControlTowerExecution"}


@pytest.fixture
def clients(monkeypatch):
    """moto (executions stay RUNNING: its engine is off), the lock table, a state machine."""
    monkeypatch.setenv(build_lock.TABLE_VARIABLE, TABLE)
    with mock_aws():
        aws.reset_clients()
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        dynamodb.create_table(
            TableName=TABLE,
            AttributeDefinitions=[{"AttributeName": "lockKey", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "lockKey", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
        sfn = boto3.client("stepfunctions", region_name=REGION)
        machine = sfn.create_state_machine(
            name="vpcfactory-build-vpc",
            definition='{"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}',
            roleArn="arn:aws:iam::123456789012:role/sfn",
        )["stateMachineArn"]
        yield dynamodb, sfn, machine
    aws.reset_clients()


def _execution(sfn, machine: str, name: str) -> str:
    return sfn.start_execution(stateMachineArn=machine, name=name)["executionArn"]


def _item(dynamodb, key: str) -> dict | None:
    return dynamodb.get_item(TableName=TABLE, Key={"lockKey": {"S": key}}, ConsistentRead=True).get("Item")


def test_the_key_is_the_targets_account_region_and_name_or_the_factorys_own():
    arn = "arn:aws:states:us-east-1:123456789012:execution:vpcfactory-build-vpc:build-1"
    assert build_lock.lock_key("net", None, arn) == "123456789012/us-east-1/net"
    assert build_lock.lock_key("net", TARGET, arn) == "111111111111/eu-west-1/net"
    with pytest.raises(BuildLockFailed, match="not a Step Functions execution ARN"):
        build_lock.lock_key("net", None, "build-1")


@pytest.mark.parametrize(
    ("status", "age", "stale"),
    [
        ("RUNNING", 10**6, False),
        ("PENDING_REDRIVE", 10**6, False),  # a redrive is on its way: it will build again
        ("SUCCEEDED", 0, True),
        ("FAILED", 0, True),
        ("TIMED_OUT", 0, True),
        ("ABORTED", 0, True),
        (None, 10, False),  # unknown to Step Functions: maybe too new to be listed
        (None, build_lock.UNKNOWN_HOLDER_GRACE_SECONDS + 1, True),
    ],
)
def test_a_lock_is_stale_only_when_its_holder_can_no_longer_build(status, age, stale):
    assert build_lock.is_stale(status, 1000, 1000 + age) is stale


def test_a_free_lock_is_taken_and_its_holder_takes_it_again(clients):
    dynamodb, sfn, machine = clients
    me = _execution(sfn, machine, "build-1")

    first = build_lock.acquire("net", None, me)
    again = build_lock.acquire("net", None, me)  # a retried Validate And Plan

    assert first == again == {"key": "123456789012/us-east-1/net", "holder": me}
    item = _item(dynamodb, first["key"])
    assert item["holder"]["S"] == me and item["specName"]["S"] == "net"
    assert int(item["expiresAt"]["N"]) - int(item["acquiredAt"]["N"]) == build_lock.LOCK_LIFETIME_SECONDS


def test_a_lock_held_by_a_running_execution_is_refused_naming_it(clients):
    dynamodb, sfn, machine = clients
    holder = _execution(sfn, machine, "build-holder")
    build_lock.acquire("net", None, holder)

    with pytest.raises(BuildInProgress) as refused:
        build_lock.acquire("net", None, _execution(sfn, machine, "build-other"))

    assert "build-holder" in str(refused.value) and holder in str(refused.value)
    assert "RUNNING" in str(refused.value) and "nothing was created" in str(refused.value)
    assert _item(dynamodb, "123456789012/us-east-1/net")["holder"]["S"] == holder


def test_the_same_name_in_another_account_is_another_lock(clients):
    _, sfn, machine = clients
    build_lock.acquire("net", None, _execution(sfn, machine, "build-here"))

    there = build_lock.acquire("net", TARGET, _execution(sfn, machine, "build-there"))

    assert there["key"] == "111111111111/eu-west-1/net"


def test_a_lock_whose_holder_ended_is_taken_over(clients):
    dynamodb, sfn, machine = clients
    stopped = _execution(sfn, machine, "build-stopped")
    build_lock.acquire("net", None, stopped)
    sfn.stop_execution(executionArn=stopped)
    me = _execution(sfn, machine, "build-next")

    taken = build_lock.acquire("net", None, me)

    assert taken["holder"] == me
    assert _item(dynamodb, taken["key"])["holder"]["S"] == me


def test_a_holder_step_functions_does_not_know_keeps_the_lock_until_the_grace_has_passed(clients):
    dynamodb, sfn, machine = clients
    unknown = "arn:aws:states:us-east-1:123456789012:execution:vpcfactory-build-vpc:not-listed-yet"
    key = "123456789012/us-east-1/net"
    now = int(time.time())

    def held_since(seconds_ago: int) -> None:
        item = {"lockKey": {"S": key}, "holder": {"S": unknown}, "acquiredAt": {"N": str(now - seconds_ago)}}
        dynamodb.put_item(TableName=TABLE, Item={**item, "specName": {"S": "net"}})

    held_since(5)
    with pytest.raises(BuildInProgress, match="not yet listed"):
        build_lock.acquire("net", None, _execution(sfn, machine, "build-early"))

    held_since(build_lock.UNKNOWN_HOLDER_GRACE_SECONDS + 60)
    me = _execution(sfn, machine, "build-late")
    assert build_lock.acquire("net", None, me)["holder"] == me


def test_only_the_holder_releases_the_lock(clients, caplog):
    dynamodb, sfn, machine = clients
    holder = _execution(sfn, machine, "build-holder")
    lock = build_lock.acquire("net", None, holder)

    assert build_lock.release({"key": lock["key"], "holder": _execution(sfn, machine, "build-other")}) is False
    assert _item(dynamodb, lock["key"])["holder"]["S"] == holder
    [held] = _logged(caplog)
    assert (held.levelname, held.holder) == ("WARNING", holder)  # another build holds it: worth a look

    assert build_lock.release(lock) is True
    assert _item(dynamodb, lock["key"]) is None
    assert build_lock.release(lock) is False  # released already: nothing to do, nothing touched
    # the backstop's normal case (Report Success released it first): no warning on every build
    assert [(e.levelname, e.getMessage()) for e in _logged(caplog)] == [("INFO", "the build lock was already released")]


def _logged(caplog) -> list[logging.LogRecord]:
    """The build lock's log records since the last call (Powertools' logger propagates to caplog)."""
    records = [r for r in caplog.records if "build lock" in r.getMessage()]
    caplog.clear()
    return records


def test_a_lock_table_error_is_build_lock_failed_naming_the_call(clients, monkeypatch):
    _, sfn, machine = clients
    monkeypatch.setenv(build_lock.TABLE_VARIABLE, "no-such-table")

    with pytest.raises(BuildLockFailed, match="PutItem failed with ResourceNotFoundException"):
        build_lock.acquire("net", None, _execution(sfn, machine, "build-1"))


def test_without_its_table_variable_the_lock_says_what_is_missing(monkeypatch):
    monkeypatch.delenv(build_lock.TABLE_VARIABLE, raising=False)
    with pytest.raises(BuildLockFailed, match=build_lock.TABLE_VARIABLE):
        build_lock.table_name()


# -- conditional writes are one step ----------------------------------------------------------


def test_the_patched_moto_code_is_the_code_the_patch_was_written_for():
    assert source_fingerprints(list(conditional_writes.PINNED_SOURCES)) == conditional_writes.PINNED_SOURCES


def _racing_puts(dynamodb, writers: int) -> list[bool]:
    """`writers` threads each PutItem one key if it does not exist; who succeeded."""
    from moto.dynamodb.models.table import Table

    original = Table.get_item
    start = threading.Barrier(writers)

    def slow_get_item(self, *args, **kwargs):  # widen the window between the check and the write
        found = original(self, *args, **kwargs)
        time.sleep(0.05)
        return found

    won = [False] * writers

    def put(n: int) -> None:
        start.wait()
        try:
            dynamodb.put_item(
                TableName=TABLE,
                Item={"lockKey": {"S": "k"}, "holder": {"S": str(n)}},
                ConditionExpression="attribute_not_exists(lockKey)",
            )
            won[n] = True
        except dynamodb.exceptions.ConditionalCheckFailedException:
            pass

    Table.get_item = slow_get_item
    try:
        threads = [threading.Thread(target=put, args=(n,)) for n in range(writers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        Table.get_item = original
    return won


@contextmanager
def _conditional_writes(patched: bool) -> Iterator[None]:
    """moto with (or without) the patch, then as it was (an emulator started earlier installed it)."""

    def put(installed: bool) -> None:
        if installed:
            conditional_writes.install()
        else:
            conditional_writes.uninstall()

    was = conditional_writes.installed()
    put(patched)
    try:
        yield
    finally:
        put(was)


def test_of_writers_racing_on_one_item_exactly_one_wins_as_on_dynamodb(clients):
    dynamodb, _, _ = clients
    with _conditional_writes(patched=True):
        won = _racing_puts(dynamodb, 3)
    assert sum(won) == 1


def test_unpatched_moto_lets_racing_conditional_writers_all_win():
    # What the patch is for: moto checks the condition, then writes, with nothing in between.
    with _conditional_writes(patched=False), mock_aws():
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        dynamodb.create_table(
            TableName=TABLE,
            AttributeDefinitions=[{"AttributeName": "lockKey", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "lockKey", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
        assert sum(_racing_puts(dynamodb, 3)) > 1


# -- the emulator deploys the table as CloudFormation would ------------------------------------


def test_the_emulator_deploys_a_table_with_its_encryption_and_ttl_and_refuses_a_property_it_would_ignore():
    from vpcfactory_tools.emulator.deploy import _create_table
    from vpcfactory_tools.emulator.intrinsics import IntrinsicError

    props = {
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": "lockKey", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "lockKey", "KeyType": "HASH"}],
        "SSESpecification": {"SSEEnabled": True},
        "TimeToLiveSpecification": {"AttributeName": "expiresAt", "Enabled": True},
    }
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        _create_table(dynamodb, "stack-Locks", props, "Locks")
        table = dynamodb.describe_table(TableName="stack-Locks")["Table"]
        assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
        assert table["SSEDescription"]["Status"] == "ENABLED"
        ttl = dynamodb.describe_time_to_live(TableName="stack-Locks")["TimeToLiveDescription"]
        assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expiresAt"}

        with pytest.raises(IntrinsicError, match="StreamSpecification"):
            _create_table(dynamodb, "stack-Other", {**props, "StreamSpecification": {}}, "Other")
